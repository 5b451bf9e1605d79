//! What the proxy is told at start: where to listen, where TikTok is, the token (or the app's
//! OAuth credentials and where to keep the tokens they earn), the log file, and which other sites
//! may embed the uploader.

use crate::operator::OperatorConfig;
use crate::password::PasswordHashError;
use protocol::embed::{self, Origin, OriginError, SecretError};
use protocol::host::{HostName, HostNameError};
use protocol::oauth::{DEFAULT_TOKEN_RETRY_DELAYS_MS, OAuthMode, RedirectUriError};
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

/// How long a client may take to send a request's headers, counted from the moment the proxy
/// starts waiting for them. In hyper 1.x this one timer also covers a keep-alive connection's
/// wait for its next request (hyper#3828), so it is the idle timeout too. Browsers send headers
/// in one packet; 10 s leaves room for a slow phone network and closes a slowloris quickly.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request body may go without a single byte arriving before it fails with 408. Only
/// a stall counts, never the total: a 64 MB chunk over a slow uplink takes minutes, but its bytes
/// keep coming.
pub const DEFAULT_BODY_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// How many connections are served at once. Well under a service's usual limit of 1,024 open
/// files (each connection is one, and TikTok calls need their own), yet far more than one
/// creator's browser tabs open (six per host each).
pub const DEFAULT_MAX_CONNECTIONS: usize = 512;

/// Where `POST /api/upload` spools videos and keeps its jobs (`jobs/`), relative to the working
/// directory.
pub const DEFAULT_UPLOADS_DIR: &str = "uploads";

/// Whether a video whose job failed stays in the uploads directory, so it can be looked at or
/// sent again without uploading it twice. Posted videos are always removed, cancelled ones too.
pub const DEFAULT_KEEP_FAILED: bool = true;

/// How often a server-side job asks `status/fetch` while TikTok processes its video. TikTok
/// allows 30 status calls a minute per token and its own guide suggests every 5 to 10 s; 5 s
/// leaves room for the page's polls beside a job's.
pub const DEFAULT_JOB_POLL_INTERVAL: Duration = Duration::from_secs(5);

/// How long a job waits after TikTok's 429 `rate_limit_exceeded` when TikTok names no
/// `Retry-After`: its limits count per minute.
pub const DEFAULT_RATE_LIMIT_WAIT: Duration = Duration::from_secs(60);

/// How long a job waits before trying again after TikTok's caps (5 pending drafts, the daily
/// post cap): they pass in hours, as drafts are posted and the day's posts age out, and a try
/// costs one init of the six a minute.
pub const DEFAULT_CAP_WAIT: Duration = Duration::from_secs(30 * 60);

/// The span of TikTok's per-minute init limit.
pub const DEFAULT_INIT_WINDOW: Duration = Duration::from_secs(60);

/// The redirect URI of the desktop flow when none is configured: the proxy's default address.
pub const DEFAULT_REDIRECT_URI: &str = "http://localhost:8787/auth/callback";

/// The token file's name, beside the log unless configured.
pub const DEFAULT_TOKEN_FILE_NAME: &str = "tokens.json";

/// Where the token file goes when not configured: `tokens.json` in the log's directory.
pub fn default_token_file(log_path: &std::path::Path) -> PathBuf {
    log_path
        .parent()
        .unwrap_or_else(|| std::path::Path::new(""))
        .join(DEFAULT_TOKEN_FILE_NAME)
}

/// Everything [`crate::run`] needs, read once by `main` (or built by a test).
#[derive(Debug, Clone)]
pub struct Config {
    /// Where `main` binds; `run` is handed an already bound listener.
    pub listen: SocketAddr,
    /// TikTok's API base, e.g. `https://open.tiktokapis.com` or a simulator's `http://127.0.0.1:…`.
    pub api_base: String,
    /// The creator's access token. Without it the proxy still serves the app and the history,
    /// and every TikTok call answers 503 `not_connected`. Ignored when `oauth` is set.
    pub access_token: Option<Secret>,
    /// The app's Login Kit credentials: with them the proxy connects with a click, keeps its
    /// tokens in a file and refreshes them itself.
    pub oauth: Option<OAuthConfig>,
    /// The JSONL file every result is appended to.
    pub log_path: PathBuf,
    /// Where `POST /api/upload` spools videos (created at start-up); its `jobs/` keeps the
    /// job records that survive restarts.
    pub uploads_dir: PathBuf,
    /// `AUTOPOSTER_KEEP_FAILED`: whether a failed job's video stays on disk (a posted one is
    /// always removed).
    pub keep_failed: bool,
    /// How often a server-side job polls `status/fetch` until TikTok's final word.
    pub job_poll_interval: Duration,
    /// At most this many inits in `init_window`, the page's and the jobs' together (TikTok
    /// allows 6 a minute per account, `init_limit.rs`).
    pub init_limit: u32,
    /// The window `init_limit` counts over.
    pub init_window: Duration,
    /// How long a job waits after a 429 without `Retry-After`.
    pub rate_limit_wait: Duration,
    /// How long a job waits after a cap (pending drafts, daily posts) before trying again.
    pub cap_wait: Duration,
    /// How long a job waits before each new try of an init that failed on the way (TikTok
    /// unreachable, silent, 5xx); past the last, the job fails.
    pub init_retry_delays: Vec<Duration>,
    /// The built app (Trunk's `dist/`), served at `/`.
    pub static_dir: Option<PathBuf>,
    /// The longest TikTok may stay silent (no byte of an answer; no byte of a relayed chunk
    /// taken) before the page gets a 504: a stall timeout, never a total.
    pub upstream_timeout: Duration,
    /// Polls of one `publish_id` within this are answered from the last result.
    pub status_cache_ttl: Duration,
    /// Which other sites may call the API, and the credentials they must show. Empty: none.
    pub embed: EmbedConfig,
    /// `AUTOPOSTER_ALLOWED_HOSTS`: the DNS names this proxy is reached by, besides IP addresses
    /// and `localhost` (always answered) and the OAuth redirect URI's host. API calls addressed
    /// to any other name are refused: the DNS-rebinding defence (`protocol::host`).
    pub allowed_hosts: Vec<HostName>,
    /// Who may do everything, and how they prove it (`operator.rs`). Required, and checked at
    /// start, when the proxy is reachable beyond loopback ([`Config::exposure`]).
    pub operator: OperatorConfig,
    /// A connection that has not sent a whole request's headers within this is closed; also the
    /// longest a keep-alive connection waits for its next request.
    pub header_read_timeout: Duration,
    /// A request body that sends nothing for this long fails with 408 `body_timeout`.
    pub body_idle_timeout: Duration,
    /// The most connections served at once. Past it, the connection that has waited longest
    /// without a request in flight is closed to make room (`connections.rs`).
    pub max_connections: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN,
            api_base: DEFAULT_API_BASE.to_owned(),
            access_token: None,
            oauth: None,
            log_path: PathBuf::from(DEFAULT_LOG_PATH),
            uploads_dir: PathBuf::from(DEFAULT_UPLOADS_DIR),
            keep_failed: DEFAULT_KEEP_FAILED,
            job_poll_interval: DEFAULT_JOB_POLL_INTERVAL,
            init_limit: protocol::limits::INIT_PER_MINUTE,
            init_window: DEFAULT_INIT_WINDOW,
            rate_limit_wait: DEFAULT_RATE_LIMIT_WAIT,
            cap_wait: DEFAULT_CAP_WAIT,
            init_retry_delays: protocol::limits::INIT_RETRY_DELAYS_SECS
                .iter()
                .map(|secs| Duration::from_secs(*secs))
                .collect(),
            static_dir: None,
            upstream_timeout: DEFAULT_UPSTREAM_TIMEOUT,
            status_cache_ttl: DEFAULT_STATUS_CACHE_TTL,
            embed: EmbedConfig::default(),
            allowed_hosts: Vec::new(),
            operator: OperatorConfig::default(),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_idle_timeout: DEFAULT_BODY_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

impl Config {
    /// Why this proxy is reachable beyond loopback, if it is: it listens on a non-loopback
    /// address, or it is reached by a DNS name (`AUTOPOSTER_ALLOWED_HOSTS`, or a redirect URI
    /// whose host is not `localhost` or a loopback address). Such a proxy needs operator access.
    pub fn exposure(&self) -> Option<String> {
        if !self.listen.ip().to_canonical().is_loopback() {
            return Some(format!("it listens on {}", self.listen));
        }
        self.answered_hosts()
            .into_iter()
            .find(|host| {
                let name = host.as_str();
                let bare = name.trim_start_matches('[').trim_end_matches(']');
                let loopback_ip = bare
                    .parse::<std::net::IpAddr>()
                    .is_ok_and(|ip| ip.to_canonical().is_loopback());
                name != "localhost" && !loopback_ip
            })
            .map(|host| format!("it answers to the name {}", host.as_str()))
    }

    /// The origin of the `upload_url`s TikTok's init answers with, which the page PUTs chunks
    /// to (its CSP's `connect-src`): TikTok's upload host with TikTok's API base, or the API
    /// base's own origin with another one (the simulator serves uploads on its API address).
    pub fn upload_origin(&self) -> String {
        if self.api_base.trim_end_matches('/') == DEFAULT_API_BASE {
            return protocol::tiktok::UPLOAD_ORIGIN.to_owned();
        }
        match url::Url::parse(&self.api_base).map(|base| base.origin()) {
            Ok(origin @ url::Origin::Tuple(..)) => origin.ascii_serialization(),
            // Not a URL TikTok calls could go to either: let the page talk to us only.
            _ => "'self'".to_owned(),
        }
    }

    /// Every DNS name API calls may be addressed to: `allowed_hosts`, and the OAuth redirect
    /// URI's host, which is by definition a name that reaches this proxy.
    pub fn answered_hosts(&self) -> Vec<HostName> {
        let mut hosts = self.allowed_hosts.clone();
        // An address needs no listing: calls addressed to one are always answered.
        let redirect_host = self
            .oauth
            .as_ref()
            .and_then(|oauth| url::Url::parse(&oauth.redirect_uri).ok())
            .and_then(|uri| match uri.host() {
                Some(url::Host::Domain(name)) => HostName::parse(name).ok(),
                _ => None,
            });
        if let Some(host) = redirect_host
            && !hosts.contains(&host)
        {
            hosts.push(host);
        }
        hosts
    }
}

/// Why the proxy's settings cannot be used; the text is for the person starting the proxy and
/// never holds a key or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Embed(#[from] EmbedConfigError),
    #[error("AUTOPOSTER_ALLOWED_HOSTS: {0}")]
    Hosts(#[from] HostNameError),
    #[error(transparent)]
    PasswordHash(#[from] PasswordHashError),
}

/// Embedding the uploader in other sites (docs/EMBED.md). The default allows no other site, and
/// the proxy's own page and scripts need no credential either way.
#[derive(Debug, Clone, Default)]
pub struct EmbedConfig {
    /// `AUTOPOSTER_ALLOWED_ORIGINS`: the pages that may call the API from another origin. Each
    /// must also send a key or a ticket; every other origin is refused.
    pub allowed_origins: Vec<Origin>,
    /// `AUTOPOSTER_EMBED_KEYS`: long-lived keys for pages only trusted people see (a private admin
    /// page), sent as `X-Autoposter-Key`. Never logged or printed.
    pub embed_keys: Vec<Secret>,
    /// `AUTOPOSTER_TICKET_SECRET`: the HMAC key shared with a host site's backend, which signs
    /// short-lived tickets (`X-Autoposter-Ticket`) for pages whose visitors must not see a key.
    pub ticket_secret: Option<Secret>,
}

/// Why the embed settings cannot be used; the text is for the person starting the proxy and
/// never holds a key or the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmbedConfigError {
    #[error("AUTOPOSTER_ALLOWED_ORIGINS: {0}")]
    Origin(OriginError),
    #[error("AUTOPOSTER_EMBED_KEYS: {0}")]
    Key(SecretError),
    #[error("AUTOPOSTER_TICKET_SECRET: {0}")]
    TicketSecret(SecretError),
    #[error(
        "AUTOPOSTER_ALLOWED_ORIGINS is set, but neither AUTOPOSTER_EMBED_KEYS nor AUTOPOSTER_TICKET_SECRET: pages there could not authenticate"
    )]
    NoCredential,
    #[error(
        "AUTOPOSTER_EMBED_KEYS or AUTOPOSTER_TICKET_SECRET is set, but AUTOPOSTER_ALLOWED_ORIGINS is empty: no other site may use them"
    )]
    NoOrigin,
}

impl EmbedConfig {
    /// Parses the three settings as given (comma-separated origins and keys; empty means none)
    /// and checks they make a usable whole.
    pub fn parse(
        allowed_origins: &str,
        embed_keys: &str,
        ticket_secret: &str,
    ) -> Result<Self, EmbedConfigError> {
        let allowed_origins =
            embed::parse_origin_list(allowed_origins).map_err(EmbedConfigError::Origin)?;
        let embed_keys = embed_keys
            .split(',')
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .map(|key| {
                embed::check_embed_key(key)
                    .map(|()| Secret::new(key))
                    .map_err(EmbedConfigError::Key)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ticket_secret = match ticket_secret.trim() {
            "" => None,
            secret => {
                embed::check_ticket_secret(secret).map_err(EmbedConfigError::TicketSecret)?;
                Some(Secret::new(secret))
            }
        };
        let has_credential = !embed_keys.is_empty() || ticket_secret.is_some();
        match (allowed_origins.is_empty(), has_credential) {
            (false, false) => Err(EmbedConfigError::NoCredential),
            (true, true) => Err(EmbedConfigError::NoOrigin),
            _ => Ok(Self {
                allowed_origins,
                embed_keys,
                ticket_secret,
            }),
        }
    }
}

/// Login Kit: the app's credentials, how the person is sent to TikTok and back, and where the
/// tokens are kept.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// `TIKTOK_CLIENT_KEY`.
    pub client_key: String,
    /// `TIKTOK_CLIENT_SECRET`: sent only to TikTok's token and revoke endpoints.
    pub client_secret: Secret,
    /// Web (https redirect, no PKCE) or desktop (localhost redirect with PKCE).
    pub mode: OAuthMode,
    /// Exactly as registered with TikTok; it must reach this proxy's `/auth/callback`.
    pub redirect_uri: String,
    /// Where TikTok's authorize page is (`https://www.tiktok.com`, or the sim in the demo).
    pub auth_base: String,
    /// The token file (created 0600, replaced atomically).
    pub token_file: PathBuf,
    /// A refresh token obtained elsewhere, used only while the token file does not exist.
    pub refresh_token: Option<Secret>,
    /// Waits between tries of a token-endpoint call that failed for a passing reason.
    pub retry_delays: Vec<Duration>,
}

impl OAuthConfig {
    /// Credentials with the documented defaults: desktop mode, the default redirect URI,
    /// TikTok's authorize page, and `tokens.json` in the working directory.
    pub fn new(client_key: impl Into<String>, client_secret: Secret) -> Self {
        Self {
            client_key: client_key.into(),
            client_secret,
            mode: OAuthMode::Desktop,
            redirect_uri: DEFAULT_REDIRECT_URI.to_owned(),
            auth_base: protocol::oauth::DEFAULT_AUTH_BASE.to_owned(),
            token_file: PathBuf::from(DEFAULT_TOKEN_FILE_NAME),
            refresh_token: None,
            retry_delays: DEFAULT_TOKEN_RETRY_DELAYS_MS
                .iter()
                .map(|&ms| Duration::from_millis(u64::from(ms)))
                .collect(),
        }
    }

    /// Whether TikTok would accept `redirect_uri` for `mode`.
    pub fn check(&self) -> Result<(), RedirectUriError> {
        protocol::oauth::check_redirect_uri(self.mode, &self.redirect_uri)
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
    fn the_redirect_uris_host_is_answered_too() {
        let names = |config: &Config| {
            config
                .answered_hosts()
                .iter()
                .map(|host| host.as_str().to_owned())
                .collect::<Vec<_>>()
        };
        let mut config = Config {
            allowed_hosts: protocol::host::parse_host_list("a.example").unwrap(),
            ..Config::default()
        };
        assert_eq!(names(&config), ["a.example"]);
        for (redirect_uri, expected) in [
            (
                "https://Poster.Example.com/auth/callback",
                vec!["a.example", "poster.example.com"],
            ),
            (
                "https://poster.example.com:8443/auth/callback?x=1",
                vec!["a.example", "poster.example.com"],
            ),
            ("https://a.example/auth/callback", vec!["a.example"]),
            (
                "http://localhost:8787/auth/callback",
                vec!["a.example", "localhost"],
            ),
            ("not a uri", vec!["a.example"]),
            (
                "https://Bücher.Example./auth/callback",
                vec!["a.example", "xn--bcher-kva.example"],
            ),
            ("http://[0::1]:8787/auth/callback", vec!["a.example"]),
            ("http://127.0.0.1:8787/auth/callback", vec!["a.example"]),
            (
                "https://user@poster.example.com/auth/callback",
                vec!["a.example", "poster.example.com"],
            ),
        ] {
            config.oauth = Some(OAuthConfig {
                redirect_uri: redirect_uri.into(),
                ..OAuthConfig::new("ck", Secret::new("cs"))
            });
            assert_eq!(names(&config), expected, "{redirect_uri}");
        }
    }

    #[test]
    fn beyond_loopback_is_exposed() {
        let exposure = |listen: &str, hosts: &str, redirect: Option<&str>| {
            Config {
                listen: listen.parse().unwrap(),
                allowed_hosts: protocol::host::parse_host_list(hosts).unwrap(),
                oauth: redirect.map(|uri| OAuthConfig {
                    redirect_uri: uri.into(),
                    ..OAuthConfig::new("ck", Secret::new("cs"))
                }),
                ..Config::default()
            }
            .exposure()
        };
        assert_eq!(exposure("127.0.0.1:8787", "", None), None);
        assert_eq!(exposure("[::1]:8787", "", None), None);
        assert_eq!(
            exposure(
                "127.0.0.1:8787",
                "",
                Some("http://localhost:8787/auth/callback")
            ),
            None
        );
        assert_eq!(
            exposure(
                "127.0.0.1:8787",
                "",
                Some("http://127.0.0.1:8787/auth/callback")
            ),
            None
        );
        assert!(
            exposure("0.0.0.0:8787", "", None)
                .unwrap()
                .contains("0.0.0.0:8787")
        );
        assert!(exposure("[::]:8787", "", None).is_some());
        assert!(exposure("192.0.2.1:8787", "", None).is_some());
        assert!(
            exposure("127.0.0.1:8787", "poster.example.com", None)
                .unwrap()
                .contains("poster.example.com")
        );
        assert!(
            exposure(
                "127.0.0.1:8787",
                "",
                Some("https://poster.example.com/auth/callback")
            )
            .is_some()
        );
    }

    #[test]
    fn the_upload_origin_follows_the_api_base() {
        for (api_base, expected) in [
            (DEFAULT_API_BASE, "https://open-upload.tiktokapis.com"),
            (
                "https://open.tiktokapis.com/",
                "https://open-upload.tiktokapis.com",
            ),
            ("http://127.0.0.1:4567", "http://127.0.0.1:4567"),
            ("http://LOCALHOST:80/v2/", "http://localhost"),
            (
                "https://tiktok-mirror.example:8443/api",
                "https://tiktok-mirror.example:8443",
            ),
            ("not a url", "'self'"),
        ] {
            let config = Config {
                api_base: api_base.into(),
                ..Config::default()
            };
            assert_eq!(config.upload_origin(), expected, "{api_base}");
        }
    }

    #[test]
    fn secrets_do_not_print() {
        let secret = Secret::new("act.top-secret");
        let config = Config {
            access_token: Some(secret.clone()),
            oauth: Some(OAuthConfig::new("ck", Secret::new("top-secret-client"))),
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

    #[test]
    fn embed_settings() {
        let key = "k3y-0123456789abcdef";
        let secret = "s".repeat(32);
        let parsed =
            EmbedConfig::parse("https://CMS.example.com/, http://127.0.0.1:5000", key, "").unwrap();
        assert_eq!(
            parsed.allowed_origins,
            [
                Origin::parse("https://cms.example.com").unwrap(),
                Origin::parse("http://127.0.0.1:5000").unwrap()
            ]
        );
        assert_eq!(parsed.embed_keys, [Secret::new(key)]);
        assert!(parsed.ticket_secret.is_none());
        let empty = EmbedConfig::parse("", " ", "").unwrap();
        assert!(empty.allowed_origins.is_empty() && empty.embed_keys.is_empty());
        for (origins, keys, ticket_secret, expected) in [
            (
                "*",
                key,
                "",
                "AUTOPOSTER_ALLOWED_ORIGINS: \"*\": wildcards are not allowed",
            ),
            (
                "https://a.example,https://*.example",
                key,
                "",
                "wildcards are not allowed",
            ),
            ("https://a.example/path", key, "", "no path"),
            (
                "https://a.example",
                "short",
                "",
                "AUTOPOSTER_EMBED_KEYS: each embed key must be at least 16",
            ),
            (
                "https://a.example",
                "",
                "short-secret",
                "AUTOPOSTER_TICKET_SECRET: the ticket secret must be at least 32",
            ),
            (
                "https://a.example",
                "",
                "",
                "neither AUTOPOSTER_EMBED_KEYS nor AUTOPOSTER_TICKET_SECRET",
            ),
            ("", key, "", "AUTOPOSTER_ALLOWED_ORIGINS is empty"),
            ("", "", &secret, "AUTOPOSTER_ALLOWED_ORIGINS is empty"),
        ] {
            let error = EmbedConfig::parse(origins, keys, ticket_secret)
                .expect_err(origins)
                .to_string();
            assert!(error.contains(expected), "{error}");
            assert!(!error.contains("short-secret"), "{error}");
        }
        let config = Config {
            embed: EmbedConfig::parse(
                "https://a.example",
                "top-secret-embed-key",
                &format!("top-secret{secret}"),
            )
            .unwrap(),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("top-secret"), "{shown}");
        assert!(shown.contains("https://a.example"), "{shown}");
    }

    #[test]
    fn the_token_file_sits_beside_the_log() {
        assert_eq!(
            default_token_file(std::path::Path::new("/var/lib/autoposter/posts.jsonl")),
            PathBuf::from("/var/lib/autoposter/tokens.json")
        );
        assert_eq!(
            default_token_file(std::path::Path::new("posts.jsonl")),
            PathBuf::from("tokens.json")
        );
        let mut oauth = OAuthConfig::new("ck", Secret::new("cs"));
        assert!(
            oauth.check().is_ok(),
            "the defaults are a valid desktop setup"
        );
        oauth.mode = OAuthMode::Web;
        assert!(oauth.check().is_err(), "web mode needs an https redirect");
    }
}
