//! Checks made once before the proxy serves anything, and before it binds or says it listens:
//! a proxy reachable beyond loopback without operator access, and settings that would publish a
//! secret or send one in clear, stop it with a message naming the setting to change; a token
//! file others can read is narrowed to its owner.

use crate::config::Config;
use std::path::{Path, PathBuf};

/// Why the proxy refuses to start. The text is for the person starting it: it names the
/// setting to change and never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StartupError {
    #[error(
        "{setting} ({file}) lies inside AUTOPOSTER_STATIC_DIR ({dir}), which is published to anyone who can reach the proxy: move one of them, so that the static directory holds only the built app"
    )]
    PrivateFileServed {
        setting: &'static str,
        file: String,
        dir: String,
    },
    #[error(
        "{setting} is {base}, plain http to a host that is not this machine: {what} would travel in clear. Use https, or a loopback address (127.0.0.1, [::1], localhost) for a simulator"
    )]
    CleartextBase {
        setting: &'static str,
        base: String,
        what: &'static str,
    },
    #[error("{setting} is {base:?}, which is not an http:// or https:// URL")]
    BadBase { setting: &'static str, base: String },
    #[error(
        "the token file {file} (AUTOPOSTER_TOKEN_FILE) can be read by other users, and narrowing it to its owner failed ({reason}): run `chmod 600` on it, or point AUTOPOSTER_TOKEN_FILE elsewhere"
    )]
    TokenFileOpen { file: String, reason: String },
    #[error(
        "this proxy is reachable beyond loopback ({reason}), so it needs operator access, and none is set up. \
         Set AUTOPOSTER_ADMIN_PASSWORD_HASH (make one with `proxy hash-password`) for sign-in from a browser, \
         and/or create an API token for scripts with `proxy token create NAME`. \
         To keep it local instead, listen on 127.0.0.1 without AUTOPOSTER_ALLOWED_HOSTS."
    )]
    NoOperatorAccess { reason: String },
    #[error("the API token file (AUTOPOSTER_API_TOKENS) cannot be used: {reason}")]
    ApiTokenFile { reason: String },
}

impl Config {
    /// Every start-up check ([`check`]): `main` runs it before binding, so a refused start
    /// never announces an address; [`crate::run`] runs it again for callers of the library.
    pub fn check(&self) -> Result<(), StartupError> {
        check(self)
    }
}

/// Runs every check on `config`; the first failure stops the start.
pub fn check(config: &Config) -> Result<(), StartupError> {
    check_operator_access(config)?;
    check_bases(config)?;
    if let Some(dir) = &config.static_dir {
        check_private_files(config, dir)?;
    }
    if let Some(oauth) = &config.oauth {
        narrow_token_file(&oauth.token_file)?;
    }
    Ok(())
}

/// Refuses a proxy reachable beyond loopback ([`Config::exposure`]) that nobody could operate:
/// no password hash and no API token.
fn check_operator_access(config: &Config) -> Result<(), StartupError> {
    let Some(reason) = config.exposure() else {
        return Ok(());
    };
    if config.operator.password_hash.is_some() {
        return Ok(());
    }
    let tokens = crate::api_tokens::read(&config.operator.api_tokens_file).map_err(|error| {
        StartupError::ApiTokenFile {
            reason: error.to_string(),
        }
    })?;
    if tokens.tokens.is_empty() {
        return Err(StartupError::NoOperatorAccess { reason });
    }
    Ok(())
}

/// The files the proxy keeps secrets or history in, with the setting that names each.
fn private_files(config: &Config) -> Vec<(&'static str, &Path)> {
    let mut files = vec![
        ("AUTOPOSTER_LOG", config.log_path.as_path()),
        ("AUTOPOSTER_UPLOADS_DIR", config.uploads_dir.as_path()),
        (
            "AUTOPOSTER_API_TOKENS",
            config.operator.api_tokens_file.as_path(),
        ),
    ];
    if let Some(oauth) = &config.oauth {
        files.push(("AUTOPOSTER_TOKEN_FILE", oauth.token_file.as_path()));
    }
    files
}

/// Refuses a private file inside the static directory, comparing real paths (symlinks and
/// `..` resolved); a file not made yet counts by the directory it will be made in.
fn check_private_files(config: &Config, dir: &Path) -> Result<(), StartupError> {
    let Ok(static_dir) = dir.canonicalize() else {
        // A static directory that does not exist publishes nothing.
        return Ok(());
    };
    for (setting, file) in private_files(config) {
        if real_path(file).starts_with(&static_dir) {
            return Err(StartupError::PrivateFileServed {
                setting,
                file: file.display().to_string(),
                dir: dir.display().to_string(),
            });
        }
    }
    Ok(())
}

/// `path` with its longest existing ancestor canonicalized and the rest appended: where the
/// file is, or will be once made.
fn real_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |path, part| path.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

/// Refuses TikTok bases over plain http to anywhere but this machine.
fn check_bases(config: &Config) -> Result<(), StartupError> {
    let mut bases = vec![(
        "TIKTOK_API_BASE",
        config.api_base.as_str(),
        "the bearer token (and, with Login Kit, the client secret and refresh token)",
    )];
    if let Some(oauth) = &config.oauth {
        bases.push((
            "TIKTOK_AUTH_BASE",
            oauth.auth_base.as_str(),
            "the sign-in at TikTok and the authorization code",
        ));
    }
    for (setting, base, what) in bases {
        let bad = || StartupError::BadBase {
            setting,
            base: base.chars().take(200).collect(),
        };
        let url = url::Url::parse(base).map_err(|_| bad())?;
        match url.scheme() {
            "https" => {}
            "http" if url.host().is_some_and(is_loopback) => {}
            "http" => {
                return Err(StartupError::CleartextBase {
                    setting,
                    base: url.origin().ascii_serialization(),
                    what,
                });
            }
            _ => return Err(bad()),
        }
    }
    Ok(())
}

/// Whether `host` is this machine: 127.0.0.0/8, `::1` or `localhost`.
fn is_loopback(host: url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(address) => address.is_loopback(),
        url::Host::Ipv6(address) => address.is_loopback(),
        url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
    }
}

/// Narrows a token file that group or others may read to 0600, with a warning; a file that
/// cannot be narrowed stops the start. A missing file is made 0600 when first written.
#[cfg(unix)]
fn narrow_token_file(file: &Path) -> Result<(), StartupError> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(metadata) = std::fs::metadata(file) else {
        return Ok(());
    };
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return Ok(());
    }
    std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).map_err(|error| {
        StartupError::TokenFileOpen {
            file: file.display().to_string(),
            reason: error.to_string(),
        }
    })?;
    tracing::warn!(
        file = %file.display(),
        was = format!("{mode:o}"),
        "the token file could be read by other users; it is now 600 (owner only)"
    );
    Ok(())
}

/// Elsewhere the token file's access is left to the system.
#[cfg(not(unix))]
fn narrow_token_file(_file: &Path) -> Result<(), StartupError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{OAuthConfig, Secret};

    fn oauth_config(dir: &Path) -> Config {
        Config {
            log_path: dir.join("state/posts.jsonl"),
            oauth: Some(OAuthConfig {
                token_file: dir.join("state/tokens.json"),
                ..OAuthConfig::new("ck", Secret::new("client-secret-value"))
            }),
            ..Config::default()
        }
    }

    #[test]
    fn private_files_inside_the_static_dir_are_refused() {
        let root = tempfile::tempdir().unwrap();
        let root = root.path();
        std::fs::create_dir_all(root.join("dist/sub")).unwrap();
        std::fs::create_dir_all(root.join("state")).unwrap();
        let mut config = oauth_config(root);
        config.static_dir = Some(root.join("dist"));
        assert_eq!(check(&config), Ok(()), "beside the static dir");

        // The log inside, not made yet; then the token file, made, reached through `..`.
        config.log_path = root.join("dist/sub/posts.jsonl");
        let error = check(&config).unwrap_err();
        assert!(
            matches!(
                error,
                StartupError::PrivateFileServed {
                    setting: "AUTOPOSTER_LOG",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(
            error.to_string().contains("AUTOPOSTER_STATIC_DIR"),
            "{error}"
        );
        config.log_path = root.join("state/posts.jsonl");
        config.operator.api_tokens_file = root.join("dist/api-tokens.json");
        assert!(
            matches!(
                check(&config),
                Err(StartupError::PrivateFileServed {
                    setting: "AUTOPOSTER_API_TOKENS",
                    ..
                })
            ),
            "the API token file"
        );
        config.operator.api_tokens_file = root.join("state/api-tokens.json");
        config.log_path = root.join("state/posts.jsonl");
        let token_file = root.join("dist/tokens.json");
        std::fs::write(&token_file, "{}").unwrap();
        config.oauth.as_mut().unwrap().token_file = root.join("state/../dist/tokens.json");
        let error = check(&config).unwrap_err();
        assert!(
            matches!(
                error,
                StartupError::PrivateFileServed {
                    setting: "AUTOPOSTER_TOKEN_FILE",
                    ..
                }
            ),
            "{error:?}"
        );

        // `--static-dir .` with the default relative paths.
        let cwd = Config {
            static_dir: Some(PathBuf::from(".")),
            ..Config::default()
        };
        assert!(matches!(
            check(&cwd),
            Err(StartupError::PrivateFileServed { .. })
        ));
        // A static dir reached through a symlink is the same dir.
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("dist"), root.join("link")).unwrap();
            config.oauth.as_mut().unwrap().token_file = root.join("state/tokens.json");
            config.static_dir = Some(root.join("link"));
            config.log_path = root.join("dist/posts.jsonl");
            assert!(check(&config).is_err());
        }
    }

    #[test]
    fn cleartext_bases_are_refused_beyond_loopback() {
        let root = tempfile::tempdir().unwrap();
        for (api_base, auth_base, expected) in [
            (
                "https://open.tiktokapis.com",
                "https://www.tiktok.com",
                None,
            ),
            ("http://127.0.0.1:4567", "http://127.0.0.1:4567", None),
            ("http://127.8.9.10", "http://localhost:1", None),
            ("http://[::1]:80", "http://LOCALHOST", None),
            ("http://[0::1]:80", "https://www.tiktok.com", None),
            (
                "http://open.tiktokapis.com",
                "https://www.tiktok.com",
                Some("TIKTOK_API_BASE"),
            ),
            (
                "http://10.0.0.2:4567",
                "https://www.tiktok.com",
                Some("TIKTOK_API_BASE"),
            ),
            (
                "http://localhost.evil.example",
                "https://www.tiktok.com",
                Some("TIKTOK_API_BASE"),
            ),
            (
                "https://open.tiktokapis.com",
                "http://www.tiktok.com",
                Some("TIKTOK_AUTH_BASE"),
            ),
            (
                "ftp://127.0.0.1",
                "https://www.tiktok.com",
                Some("TIKTOK_API_BASE"),
            ),
            (
                "127.0.0.1:4567",
                "https://www.tiktok.com",
                Some("TIKTOK_API_BASE"),
            ),
        ] {
            let mut config = oauth_config(root.path());
            config.api_base = api_base.into();
            config.oauth.as_mut().unwrap().auth_base = auth_base.into();
            match (check(&config), expected) {
                (Ok(()), None) => {}
                (Err(error), Some(setting)) => {
                    let text = error.to_string();
                    assert!(text.starts_with(setting), "{api_base} {auth_base}: {text}");
                    if text.contains("clear") {
                        assert!(text.contains("https"), "{text}");
                    }
                    assert!(!text.contains("client-secret-value"), "{text}");
                }
                (got, expected) => panic!("{api_base} {auth_base}: {got:?}, {expected:?}"),
            }
        }
        let error = check(&Config {
            api_base: "http://tiktok.example".into(),
            ..Config::default()
        })
        .unwrap_err();
        assert!(error.to_string().contains("bearer token"), "{error}");
    }

    #[test]
    fn exposed_without_access_refuses_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config {
            listen: "0.0.0.0:8787".parse().unwrap(),
            log_path: dir.path().join("posts.jsonl"),
            ..Config::default()
        };
        config.operator.api_tokens_file = dir.path().join("api-tokens.json");
        let error = check(&config).unwrap_err();
        assert!(
            matches!(error, StartupError::NoOperatorAccess { .. }),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(text.contains("AUTOPOSTER_ADMIN_PASSWORD_HASH"), "{text}");
        assert!(text.contains("proxy token create"), "{text}");
        assert!(text.contains("0.0.0.0:8787"), "{text}");

        let local = Config {
            listen: "127.0.0.1:8787".parse().unwrap(),
            ..config.clone()
        };
        assert_eq!(check(&local), Ok(()), "loopback needs no access");
        crate::api_tokens::create(&config.operator.api_tokens_file, "ci").unwrap();
        assert_eq!(check(&config), Ok(()), "an API token is access");
        std::fs::write(&config.operator.api_tokens_file, "not json").unwrap();
        let error = check(&config).unwrap_err();
        assert!(
            matches!(error, StartupError::ApiTokenFile { .. }),
            "{error:?}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_token_file_others_can_read_is_narrowed() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("state")).unwrap();
        let config = oauth_config(root.path());
        let file = root.path().join("state/tokens.json");
        assert_eq!(check(&config), Ok(()), "no token file yet");
        std::fs::write(&file, "{}").unwrap();
        for mode in [0o644, 0o640, 0o604, 0o600, 0o400] {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            assert_eq!(check(&config), Ok(()), "{mode:o}");
            let now = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
            let expected = if mode & 0o077 == 0 { mode } else { 0o600 };
            assert_eq!(now, expected, "{mode:o}");
        }
    }
}
