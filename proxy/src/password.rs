//! The operator's password: an argon2id hash in PHC form (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`),
//! made by `proxy hash-password` and checked on every sign-in. The password itself is never
//! stored, logged or kept after the check.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2};
use std::fmt;

/// The shortest password `proxy hash-password` accepts: the sign-in limit slows guessing, a
/// short password still falls to it over days.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A configured password hash, checked at start to be an argon2id PHC string.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHashConfig(String);

/// Why `AUTOPOSTER_ADMIN_PASSWORD_HASH` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordHashError {
    #[error(
        "AUTOPOSTER_ADMIN_PASSWORD_HASH is not a PHC string ($argon2id$v=19$m=…); make one with `proxy hash-password`"
    )]
    NotPhc,
    #[error(
        "AUTOPOSTER_ADMIN_PASSWORD_HASH must be an argon2id hash, not {0}; make one with `proxy hash-password`"
    )]
    NotArgon2id(String),
}

impl PasswordHashConfig {
    /// Checks that `phc` is an argon2id hash this build can verify.
    pub fn parse(phc: &str) -> Result<Self, PasswordHashError> {
        let phc = phc.trim();
        let parsed = PasswordHash::new(phc).map_err(|_| PasswordHashError::NotPhc)?;
        if parsed.algorithm != Algorithm::Argon2id.ident() {
            return Err(PasswordHashError::NotArgon2id(parsed.algorithm.to_string()));
        }
        // Parameters out of argon2's range would fail every sign-in: refuse them now.
        argon2::Params::try_from(&parsed).map_err(|_| PasswordHashError::NotPhc)?;
        if parsed.hash.is_none() {
            return Err(PasswordHashError::NotPhc);
        }
        Ok(Self(phc.to_owned()))
    }

    /// Whether `password` is the one hashed. Slow on purpose (tens of milliseconds and about
    /// 19 MiB): call it off the async threads.
    pub fn verify(&self, password: &str) -> bool {
        let parsed =
            PasswordHash::new(&self.0).expect("checked to parse in PasswordHashConfig::parse");
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    }
}

impl fmt::Debug for PasswordHashConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not a secret like a token, but an offline guessing target: keep it out of logs.
        f.write_str("PasswordHashConfig([redacted])")
    }
}

/// Hashes `password` with argon2id at the crate's recommended parameters (OWASP's: 19 MiB,
/// two passes) and a random salt.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2's default parameters and a generated salt are always valid")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse battery staple");
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        let config = PasswordHashConfig::parse(&hash).unwrap();
        assert!(config.verify("correct horse battery staple"));
        assert!(!config.verify("correct horse battery stapler"));
        assert!(!config.verify(""));
        assert!(!format!("{config:?}").contains("argon2id"));
    }

    #[test]
    fn only_argon2id_phc_strings_are_accepted() {
        for (input, expected) in [
            ("", "not a PHC string"),
            ("hunter2", "not a PHC string"),
            (
                "$argon2i$v=19$m=16,t=2,p=1$c2FsdHNhbHQ$hZuRnaXjZPSdFSBdqH2vqQ",
                "not argon2i",
            ),
            (
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ",
                "not a PHC string",
            ),
        ] {
            let error = PasswordHashConfig::parse(input).unwrap_err().to_string();
            assert!(error.contains(expected), "{input}: {error}");
        }
    }
}
