//! What the proxy is told at start: where to listen, where TikTok is, the token, the log file.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Loopback only: the proxy holds the creator's token, so it is not exposed to the network
/// unless asked.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 8787));

/// TikTok's API host, without a trailing slash.
pub const DEFAULT_API_BASE: &str = "https://open.tiktokapis.com";

/// The JSONL history, relative to the working directory.
pub const DEFAULT_LOG_PATH: &str = "posts.jsonl";

/// How long one TikTok call may take, connect to last byte. TikTok's JSON calls answer in well
/// under a second; 30 s rides out a slow network yet still answers the page before a person
/// gives up.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one `status/fetch` answer is reused. TikTok allows 30 status calls a minute per
/// token; a page polling every few seconds, or two tabs polling the same post, stay under it.
pub const DEFAULT_STATUS_CACHE_TTL: Duration = Duration::from_secs(2);

/// Everything [`crate::run`] needs, read once by `main` (or built by a test).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where `main` binds; `run` is handed an already bound listener.
    pub listen: SocketAddr,
    /// TikTok's API base, e.g. `https://open.tiktokapis.com` or a simulator's `http://127.0.0.1:…`.
    pub api_base: String,
    /// The creator's access token. Without it the proxy still serves the app and the history,
    /// and every TikTok call answers 503 `not_connected`.
    pub access_token: Option<Secret>,
    /// The JSONL file every result is appended to.
    pub log_path: PathBuf,
    /// The built app (Trunk's `dist/`), served at `/`.
    pub static_dir: Option<PathBuf>,
    /// The longest a single TikTok call may take before the page gets a 504.
    pub upstream_timeout: Duration,
    /// Polls of one `publish_id` within this are answered from the last result.
    pub status_cache_ttl: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            api_base: DEFAULT_API_BASE.to_owned(),
            access_token: None,
            log_path: PathBuf::from(DEFAULT_LOG_PATH),
            static_dir: None,
            upstream_timeout: DEFAULT_UPSTREAM_TIMEOUT,
            status_cache_ttl: DEFAULT_STATUS_CACHE_TTL,
        }
    }
}

/// A value that must never be printed: `Debug` and `Display` show `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("act.top-secret");
        let config = Config {
            access_token: Some(secret.clone()),
            ..Config::default()
        };
        for shown in [
            format!("{secret}"),
            format!("{secret:?}"),
            format!("{config:?}"),
        ] {
            assert!(!shown.contains("top-secret"), "{shown}");
        }
        assert_eq!(secret.expose(), "act.top-secret");
    }
}
