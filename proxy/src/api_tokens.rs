//! Operator API tokens, for scripts and the CLI: `Authorization: Bearer apt_…`. Each is 256
//! random bits shown once when created; the file keeps only its SHA-256 (a token that random
//! needs no slow hash), with an id and a name to revoke it by. `proxy token create|list|revoke`
//! edits the file; the running proxy reads it again whenever it changes, so a revocation takes
//! effect on the next call without a restart.

use crate::atomic_file;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// Every token starts with this, so a leaked one is recognisable (and secret scanners can
/// match it).
pub const TOKEN_PREFIX: &str = "apt_";

/// The token file's name, beside the log unless configured.
pub const DEFAULT_API_TOKENS_FILE_NAME: &str = "api-tokens.json";

/// One token as kept on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    /// `tok_` and 8 hex digits: what logs, post owners and `revoke` name it by.
    pub id: String,
    /// What the operator called it (`ci`, `laptop`).
    pub name: String,
    /// SHA-256 of the whole token, hex.
    pub sha256: String,
    /// RFC 3339.
    pub created: String,
}

/// The file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenList {
    pub tokens: Vec<StoredToken>,
}

/// Why a token command failed; the text is for the operator at a terminal.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path} is not a token file this proxy wrote: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("writing {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("no token has the id or name {0:?} (see `proxy token list`)")]
    NoSuchToken(String),
    #[error("a token name is 1 to 64 letters, digits, '-', '_' or '.'")]
    BadName,
}

/// Reads the token file; a missing file holds no tokens.
pub fn read(path: &Path) -> Result<TokenList, TokenFileError> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(TokenList::default()),
        Err(source) => {
            return Err(TokenFileError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    serde_json::from_slice(&bytes).map_err(|source| TokenFileError::Parse {
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, list: &TokenList) -> Result<(), TokenFileError> {
    let mut bytes = serde_json::to_vec_pretty(list).expect("the token list always serializes");
    bytes.push(b'\n');
    atomic_file::write_atomic(path, &bytes).map_err(|source| TokenFileError::Write {
        path: path.to_owned(),
        source,
    })
}

/// Creates a token named `name`; returns it (the only time it is ever shown) and its entry.
pub fn create(path: &Path, name: &str) -> Result<(String, StoredToken), TokenFileError> {
    let valid_name = (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !valid_name {
        return Err(TokenFileError::BadName);
    }
    let token = format!("{TOKEN_PREFIX}{}", hex::encode(rand::random::<[u8; 32]>()));
    let stored = StoredToken {
        id: format!("tok_{}", hex::encode(rand::random::<[u8; 4]>())),
        name: name.to_owned(),
        sha256: digest(&token),
        created: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
    };
    let mut list = read(path)?;
    list.tokens.push(stored.clone());
    write(path, &list)?;
    Ok((token, stored))
}

/// Removes the token with id or name `which`; returns what was removed.
pub fn revoke(path: &Path, which: &str) -> Result<Vec<StoredToken>, TokenFileError> {
    let mut list = read(path)?;
    let (gone, kept): (Vec<_>, Vec<_>) = list
        .tokens
        .into_iter()
        .partition(|token| token.id == which || token.name == which);
    if gone.is_empty() {
        return Err(TokenFileError::NoSuchToken(which.to_owned()));
    }
    list.tokens = kept;
    write(path, &list)?;
    Ok(gone)
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The running proxy's view of the token file, read again when its modification time or size
/// changes.
#[derive(Debug)]
pub struct ApiTokens {
    path: PathBuf,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    /// The file's (modified, len) when read; `None` before the first read or when missing.
    stamp: Option<(SystemTime, u64)>,
    tokens: Vec<StoredToken>,
}

impl ApiTokens {
    /// Reads `path` now, so a broken file stops the start instead of every call.
    pub fn open(path: PathBuf) -> Result<Self, TokenFileError> {
        let tokens = Self {
            path,
            cache: Mutex::new(Cache::default()),
        };
        tokens.refresh()?;
        Ok(tokens)
    }

    /// Whether any token exists.
    pub fn any(&self) -> bool {
        let _ = self.refresh();
        !self.lock().tokens.is_empty()
    }

    /// The id of the token `presented` is, if it is one.
    pub fn check(&self, presented: &str) -> Option<String> {
        if !presented.starts_with(TOKEN_PREFIX) {
            return None;
        }
        if let Err(error) = self.refresh() {
            // Keep the last good list: a half-edited file must not lock the operator out, nor
            // bring a revoked token back.
            tracing::warn!(%error, "could not read the API token file; using the last good copy");
        }
        let wanted = digest(presented);
        self.lock()
            .tokens
            .iter()
            .find(|token| protocol::oauth::constant_time_eq(&token.sha256, &wanted))
            .map(|token| token.id.clone())
    }

    fn refresh(&self) -> Result<(), TokenFileError> {
        let stamp = std::fs::metadata(&self.path)
            .ok()
            .and_then(|meta| Some((meta.modified().ok()?, meta.len())));
        if self.lock().stamp == stamp && stamp.is_some() {
            return Ok(());
        }
        let list = read(&self.path)?;
        let mut cache = self.lock();
        cache.stamp = stamp;
        cache.tokens = list.tokens;
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        // Replaced whole under the lock: a poisoned cache is still consistent.
        self.cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_tokens_work_until_revoked_without_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api-tokens.json");
        let tokens = ApiTokens::open(path.clone()).unwrap();
        assert!(!tokens.any());
        let (ci, ci_entry) = create(&path, "ci").unwrap();
        let (laptop, _) = create(&path, "laptop").unwrap();
        assert!(ci.starts_with("apt_") && ci.len() == 4 + 64, "{ci}");
        assert_eq!(tokens.check(&ci), Some(ci_entry.id.clone()));
        assert!(tokens.check(&laptop).is_some());
        assert_eq!(tokens.check("apt_0000"), None);
        assert_eq!(tokens.check(&ci[..ci.len() - 1]), None);
        let on_disk = std::fs::read_to_string(&path).unwrap();
        assert!(!on_disk.contains(&ci[4..]), "only hashes are stored");

        let gone = revoke(&path, &ci_entry.id).unwrap();
        assert_eq!(gone, [ci_entry]);
        assert_eq!(
            tokens.check(&ci),
            None,
            "revoked, read again without a restart"
        );
        assert!(tokens.check(&laptop).is_some());
        revoke(&path, "laptop").unwrap();
        assert!(!tokens.any());
        assert!(matches!(
            revoke(&path, "laptop"),
            Err(TokenFileError::NoSuchToken(_))
        ));
        assert!(matches!(create(&path, "a b"), Err(TokenFileError::BadName)));
        assert!(matches!(create(&path, ""), Err(TokenFileError::BadName)));
    }

    #[test]
    fn a_broken_file_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api-tokens.json");
        std::fs::write(&path, "not json").unwrap();
        let error = ApiTokens::open(path).unwrap_err().to_string();
        assert!(error.contains("not a token file"), "{error}");
    }
}
