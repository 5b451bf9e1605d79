//! The token file: what a connection with TikTok leaves behind (access and refresh tokens,
//! their absolute expiry times, `open_id`, granted scopes), read once at start and replaced
//! atomically after every code exchange and refresh.

use crate::atomic_file;
use protocol::oauth::{expires_at_ms, parse_scopes};
use protocol::tiktok::TokenResponse;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The tokens of the connected account, as kept on disk.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTokens {
    /// The bearer token for the API; empty until the first refresh of a seeded refresh token.
    pub access_token: String,
    /// When the access token was obtained (Unix ms): the refresh margin is a share of its life.
    pub access_issued_at_ms: u64,
    /// When the access token stops working (Unix ms), from `expires_in`.
    pub access_expires_at_ms: u64,
    /// Single-use under strict rotation: the one from the latest refresh is the only live one.
    pub refresh_token: String,
    /// When the refresh token stops working (Unix ms), from `refresh_expires_in`; 0 if unknown.
    pub refresh_expires_at_ms: u64,
    /// TikTok's id of the account; empty until known.
    pub open_id: String,
    /// What the person granted.
    pub scopes: Vec<String>,
}

impl StoredTokens {
    /// The tokens of a token-endpoint answer received at `now_ms`.
    pub fn from_reply(reply: TokenResponse, now_ms: u64) -> Self {
        Self {
            access_issued_at_ms: now_ms,
            access_expires_at_ms: expires_at_ms(now_ms, reply.expires_in),
            refresh_expires_at_ms: expires_at_ms(now_ms, reply.refresh_expires_in),
            scopes: parse_scopes(&reply.scope),
            access_token: reply.access_token,
            refresh_token: reply.refresh_token,
            open_id: reply.open_id,
        }
    }

    /// A refresh token obtained elsewhere (`TIKTOK_REFRESH_TOKEN`): no access token yet, so the
    /// first call refreshes, which also tells the scopes and `open_id`.
    pub fn seed(refresh_token: String) -> Self {
        Self {
            access_token: String::new(),
            access_issued_at_ms: 0,
            access_expires_at_ms: 0,
            refresh_token,
            refresh_expires_at_ms: 0,
            open_id: String::new(),
            scopes: Vec::new(),
        }
    }

    /// Whether the refresh token is known to have expired at `now_ms`.
    pub fn refresh_expired(&self, now_ms: u64) -> bool {
        self.refresh_expires_at_ms != 0 && now_ms >= self.refresh_expires_at_ms
    }
}

impl fmt::Debug for StoredTokens {
    /// Never shows a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredTokens")
            .field("access_expires_at_ms", &self.access_expires_at_ms)
            .field("refresh_expires_at_ms", &self.refresh_expires_at_ms)
            .field("open_id", &self.open_id)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// Reads the token file: `None` if there is none. An unreadable one is an error, never
/// silently replaced: it may hold the only live refresh token.
pub fn load(path: &Path) -> io::Result<Option<StoredTokens>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| io::Error::new(io::ErrorKind::InvalidData, error)),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error),
    }
}

/// Replaces the token file atomically (off the async threads).
pub async fn save(path: &Path, tokens: &StoredTokens) -> io::Result<()> {
    let bytes = serde_json::to_vec_pretty(tokens).expect("stored tokens always serialize");
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || atomic_file::write_atomic(&path, &bytes))
        .await
        .map_err(io::Error::other)?
}

/// Deletes the token file (off the async threads).
pub async fn delete(path: &Path) -> io::Result<()> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || atomic_file::remove(&path))
        .await
        .map_err(io::Error::other)?
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn round_trip_without_showing_tokens() {
        let reply = TokenResponse {
            access_token: "act.secret-a".into(),
            expires_in: 7200,
            open_id: "o1".into(),
            refresh_expires_in: 100,
            refresh_token: "rft.secret-r".into(),
            scope: "user.info.basic,video.publish".into(),
            token_type: "Bearer".into(),
        };
        let tokens = StoredTokens::from_reply(reply, 1_000);
        assert_eq!(tokens.access_expires_at_ms, 7_201_000);
        assert_eq!(tokens.scopes, ["user.info.basic", "video.publish"]);
        assert!(!tokens.refresh_expired(100_999));
        assert!(tokens.refresh_expired(101_000));
        assert!(!StoredTokens::seed("r".into()).refresh_expired(u64::MAX));
        let shown = format!("{tokens:?}");
        assert!(!shown.contains("secret"), "{shown}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.json");
        assert_eq!(load(&path).unwrap(), None);
        save(&path, &tokens).await.unwrap();
        assert_eq!(load(&path).unwrap(), Some(tokens));
        std::fs::write(&path, b"{\"access_tok").unwrap();
        assert_eq!(load(&path).unwrap_err().kind(), io::ErrorKind::InvalidData);
        delete(&path).await.unwrap();
        assert_eq!(load(&path).unwrap(), None);
    }
}
