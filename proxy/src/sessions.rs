//! Signed-in operators: a random 256-bit session id in an `HttpOnly; SameSite=Strict` cookie,
//! kept here only as its SHA-256 with an expiry. Sessions live in memory: a restart signs
//! everyone out, which is the safe direction.

use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How long a sign-in lasts unless configured: a working day.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 60 * 60);

/// The most sessions held at once; signing in past it ends the oldest. A person has a few
/// browsers; this bounds memory whatever a script does with a valid password.
const MAX_SESSIONS: usize = 256;

/// A live session's name for logs and post owners: the first 12 hex digits of the id's hash,
/// which identify it without letting anyone rebuild the cookie.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SessionKey([u8; 32]);

impl SessionKey {
    fn of(cookie_value: &str) -> Self {
        Self(Sha256::digest(cookie_value.as_bytes()).into())
    }

    /// A short, printable name of the session.
    pub fn label(&self) -> String {
        hex::encode(&self.0[..6])
    }
}

/// The signed-in sessions.
#[derive(Debug)]
pub struct Sessions {
    ttl: Duration,
    live: Mutex<HashMap<SessionKey, Instant>>,
}

impl Sessions {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            live: Mutex::new(HashMap::new()),
        }
    }

    /// How long a new session lasts (the cookie's `Max-Age`).
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts a session; returns the cookie value (64 hex digits) and its key.
    pub fn start(&self) -> (String, SessionKey) {
        let value = hex::encode(rand::random::<[u8; 32]>());
        let key = SessionKey::of(&value);
        let now = Instant::now();
        let mut live = self.lock();
        live.retain(|_, expires| *expires > now);
        while live.len() >= MAX_SESSIONS {
            let oldest = live
                .iter()
                .min_by_key(|(_, expires)| **expires)
                .map(|(key, _)| key.clone())
                .expect("a full map has an oldest entry");
            live.remove(&oldest);
        }
        live.insert(key.clone(), now + self.ttl);
        (value, key)
    }

    /// The session a cookie value names, if it is live.
    pub fn check(&self, cookie_value: &str) -> Option<SessionKey> {
        let key = SessionKey::of(cookie_value);
        let live = self.lock();
        live.get(&key)
            .filter(|expires| **expires > Instant::now())
            .map(|_| key)
    }

    /// Whether the session `key` is still live (a login started by it may finish).
    pub fn is_live(&self, key: &SessionKey) -> bool {
        self.lock()
            .get(key)
            .is_some_and(|expires| *expires > Instant::now())
    }

    /// Ends the session a cookie value names, if any.
    pub fn end(&self, cookie_value: &str) {
        self.lock().remove(&SessionKey::of(cookie_value));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SessionKey, Instant>> {
        // Inserts and removals only: a poisoned map is still consistent.
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn sessions_expire_end_and_stay_bounded() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let (value, key) = sessions.start();
        assert_eq!(value.len(), 64);
        assert_eq!(sessions.check(&value), Some(key.clone()));
        assert!(sessions.is_live(&key));
        assert_eq!(sessions.check("0".repeat(64).as_str()), None);
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(sessions.check(&value), None, "expired");
        assert!(!sessions.is_live(&key));

        let (value, key) = sessions.start();
        sessions.end(&value);
        assert_eq!(sessions.check(&value), None, "signed out");
        assert!(!sessions.is_live(&key));

        let first = sessions.start().0;
        tokio::time::advance(Duration::from_millis(1)).await;
        for _ in 0..MAX_SESSIONS {
            sessions.start();
        }
        assert_eq!(sessions.lock().len(), MAX_SESSIONS);
        assert_eq!(sessions.check(&first), None, "the oldest made room");
    }
}
