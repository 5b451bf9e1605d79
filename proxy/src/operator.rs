//! Operator access: who may do everything with this proxy, and how they prove it.
//!
//! On loopback with nothing configured, whoever reaches the proxy is the operator (a person on
//! their own machine). Reachable beyond loopback, or with a password set, every call must show
//! a session (password sign-in, `SESSION_COOKIE`) or an API token (`Authorization: Bearer`);
//! embedded pages show their embed key or ticket instead (`access.rs`), and may do less.

use crate::api_tokens::{ApiTokens, DEFAULT_API_TOKENS_FILE_NAME, TokenFileError};
use crate::error::Error;
use crate::password::PasswordHashConfig;
use crate::sessions::{DEFAULT_SESSION_TTL, SessionKey, Sessions};
use crate::sign_in_limit::SignInLimit;
use hyper::header::{AUTHORIZATION, COOKIE, HeaderMap, HeaderValue};
use protocol::embed::Origin;
use protocol::wire::SESSION_COOKIE;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// How many password checks may run at once. Each takes about 19 MiB and tens of milliseconds
/// on a blocking thread; a flood of sign-ins queues here instead of exhausting memory.
const CONCURRENT_PASSWORD_CHECKS: usize = 2;

/// How the operator proves who they are; part of [`crate::Config`].
#[derive(Debug, Clone)]
pub struct OperatorConfig {
    /// `AUTOPOSTER_ADMIN_PASSWORD_HASH`: password sign-in for people. Setting it turns operator
    /// access on, also on loopback.
    pub password_hash: Option<PasswordHashConfig>,
    /// `AUTOPOSTER_API_TOKENS`: the API token file (`proxy token create`).
    pub api_tokens_file: PathBuf,
    /// `AUTOPOSTER_SESSION_TTL`: how long a sign-in lasts.
    pub session_ttl: Duration,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        Self {
            password_hash: None,
            api_tokens_file: PathBuf::from(DEFAULT_API_TOKENS_FILE_NAME),
            session_ttl: DEFAULT_SESSION_TTL,
        }
    }
}

/// Where the API token file goes when not configured: beside the log.
pub fn default_api_tokens_file(log_path: &Path) -> PathBuf {
    log_path
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(DEFAULT_API_TOKENS_FILE_NAME)
}

/// Who is calling, once [`crate::access`] has checked the credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Loopback with operator access off: the person at this machine.
    Local,
    /// Signed in with the password.
    Session(SessionKey),
    /// An API token, by its id.
    Token(String),
    /// An embedded page with an embed key, named by the key's hash prefix.
    EmbedKey(String),
    /// An embedded page with a ticket signed for this origin.
    Ticket(Origin),
    /// No credential: only the routes that need none (sign-in, the callback, `/api/session`).
    Anonymous,
}

impl Caller {
    /// Whether this caller may do everything: every post, the history, connect and disconnect.
    pub fn is_operator(&self) -> bool {
        matches!(self, Self::Local | Self::Session(_) | Self::Token(_))
    }

    /// Who started a post, as kept with it and written to the log: `local`,
    /// `session:3fa2…`, `token:tok_…`, `embed-key:9c1e…` or `ticket:https://…`.
    pub fn owner(&self) -> String {
        match self {
            Self::Local => "local".to_owned(),
            Self::Session(key) => format!("session:{}", key.label()),
            Self::Token(id) => format!("token:{id}"),
            Self::EmbedKey(label) => format!("embed-key:{label}"),
            Self::Ticket(origin) => format!("ticket:{}", origin.as_str()),
            Self::Anonymous => "anonymous".to_owned(),
        }
    }

    /// Whether this caller may follow, relay or report on a post `owner` started.
    pub fn may_touch(&self, owner: &str) -> bool {
        self.is_operator() || self.owner() == owner
    }
}

/// Where a request came from: the client's address and whether it used https, as this proxy
/// saw them or, from a reverse proxy on loopback, as it says (`X-Forwarded-For`'s last entry,
/// `X-Forwarded-Proto`). Forwarding headers from any other peer are ignored: anyone could send
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client {
    pub address: IpAddr,
    pub https: bool,
}

impl Client {
    pub fn of(peer: SocketAddr, headers: &HeaderMap) -> Self {
        let peer_ip = peer.ip().to_canonical();
        if !peer_ip.is_loopback() {
            return Self {
                address: peer_ip,
                https: false,
            };
        }
        let text = |name: &str| {
            headers
                .get_all(name)
                .iter()
                .filter_map(|value| value.to_str().ok())
                .collect::<Vec<_>>()
                .join(",")
        };
        // The last hop is the one our reverse proxy added; earlier ones the client could forge.
        let forwarded_for = text("x-forwarded-for");
        let address = forwarded_for
            .rsplit(',')
            .next()
            .and_then(|last| last.trim().parse::<IpAddr>().ok())
            .map_or(peer_ip, |ip| ip.to_canonical());
        let https = text("x-forwarded-proto")
            .rsplit(',')
            .next()
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"));
        Self { address, https }
    }
}

/// The running proxy's operator access.
#[derive(Debug)]
pub struct Operator {
    required: bool,
    password: Option<PasswordHashConfig>,
    pub sessions: Sessions,
    limit: SignInLimit,
    tokens: ApiTokens,
    checks: Arc<Semaphore>,
}

impl Operator {
    /// Operator access for a proxy that is `exposed` (reachable beyond loopback). That such a
    /// proxy has some access set up was checked at start-up (`startup.rs`).
    pub fn new(config: &OperatorConfig, exposed: bool) -> Result<Self, TokenFileError> {
        let tokens = ApiTokens::open(config.api_tokens_file.clone())?;
        let required = exposed || config.password_hash.is_some();
        Ok(Self {
            required,
            password: config.password_hash.clone(),
            sessions: Sessions::new(config.session_ttl),
            limit: SignInLimit::default(),
            tokens,
            checks: Arc::new(Semaphore::new(CONCURRENT_PASSWORD_CHECKS)),
        })
    }

    /// Whether every call must show a credential.
    pub fn required(&self) -> bool {
        self.required
    }

    /// Whether password sign-in is set up.
    pub fn password_sign_in(&self) -> bool {
        self.password.is_some()
    }

    /// Who a same-origin (or script) call is: [`Caller::Local`] when access is off, else the
    /// operator its API token or session cookie shows, else [`Caller::Anonymous`]. A wrong
    /// token is an error rather than anonymous, so a script learns its token is bad.
    pub fn identify(&self, headers: &HeaderMap) -> Result<Caller, Error> {
        if !self.required {
            // Local use needs no credential, so none is judged (a dev server may pass a
            // browser's own `Authorization` through).
            return Ok(Caller::Local);
        }
        if let Some(authorization) = headers.get(AUTHORIZATION) {
            let token = authorization
                .to_str()
                .ok()
                .and_then(|value| value.strip_prefix("Bearer "))
                .map(str::trim)
                .ok_or(Error::TokenInvalid)?;
            return self
                .tokens
                .check(token)
                .map(Caller::Token)
                .ok_or(Error::TokenInvalid);
        }
        Ok(session_cookie(headers)
            .and_then(|value| self.sessions.check(&value))
            .map_or(Caller::Anonymous, Caller::Session))
    }

    /// Checks a sign-in from `client`; on success, the new session's cookie value.
    pub async fn sign_in(&self, client: IpAddr, password: String) -> Result<String, Error> {
        let hash = self.password.clone().ok_or(Error::SignInNotConfigured)?;
        self.limit
            .check(client)
            .map_err(|wait| Error::TooManySignIns(wait.as_secs().max(1)))?;
        let permit = self
            .checks
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let right = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            hash.verify(&password)
        })
        .await
        .map_err(|error| Error::Internal(format!("the password check failed: {error}")))?;
        if !right {
            self.limit.failed(client);
            tracing::warn!(%client, "wrong operator password");
            return Err(Error::WrongPassword);
        }
        tracing::info!(%client, "operator signed in");
        Ok(self.sessions.start().0)
    }

    /// Ends the session the request's cookie names, if any.
    pub fn sign_out(&self, headers: &HeaderMap) {
        if let Some(value) = session_cookie(headers) {
            self.sessions.end(&value);
        }
    }
}

/// The session cookie for `value` (empty with `max_age_secs` 0 clears it).
pub fn session_set_cookie(value: &str, max_age_secs: u64, https: bool) -> HeaderValue {
    let secure = if https { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Max-Age={max_age_secs}; Path=/; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("a session id is hex, so the cookie is a valid header")
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, SESSION_COOKIE)
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    let values = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok());
    protocol::cookie::find(values, name).map(str::to_owned)
}

/// A header map from name/value pairs, for unit tests that read request headers.
#[cfg(test)]
pub(crate) fn test_headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_static(value));
    }
    map
}

#[cfg(test)]
mod tests {
    use super::*;
    use test_headers as headers;

    #[test]
    fn forwarding_headers_count_only_from_loopback() {
        let forwarded = headers(&[
            ("x-forwarded-for", "6.6.6.6, 203.0.113.7"),
            ("x-forwarded-proto", "https"),
        ]);
        let via_proxy = Client::of("127.0.0.1:50000".parse().unwrap(), &forwarded);
        assert_eq!(via_proxy.address, "203.0.113.7".parse::<IpAddr>().unwrap());
        assert!(via_proxy.https);
        let direct = Client::of("198.51.100.4:50000".parse().unwrap(), &forwarded);
        assert_eq!(direct.address, "198.51.100.4".parse::<IpAddr>().unwrap());
        assert!(!direct.https, "anyone can claim https");
        let mapped = Client::of("[::ffff:127.0.0.1]:1".parse().unwrap(), &headers(&[]));
        assert_eq!(mapped.address, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert!(!mapped.https);
        let garbage = Client::of(
            "127.0.0.1:1".parse().unwrap(),
            &headers(&[("x-forwarded-for", "not an address")]),
        );
        assert_eq!(garbage.address, "127.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn cookies_are_found_among_others() {
        let map = headers(&[("cookie", "a=1; autoposter_session=abc"), ("cookie", "b=2")]);
        assert_eq!(cookie(&map, SESSION_COOKIE).as_deref(), Some("abc"));
        assert_eq!(cookie(&map, "c"), None);
    }

    #[test]
    fn owners_and_who_may_touch_a_post() {
        let ticket = Caller::Ticket(Origin::parse("https://cms.example").unwrap());
        assert_eq!(ticket.owner(), "ticket:https://cms.example");
        assert!(ticket.may_touch("ticket:https://cms.example"));
        assert!(!ticket.may_touch("ticket:https://other.example"));
        assert!(!Caller::EmbedKey("ab".into()).may_touch("local"));
        assert!(Caller::Token("tok_1".into()).may_touch("embed-key:ab"));
        assert!(Caller::Local.may_touch("ticket:https://cms.example"));
        assert!(!Caller::Anonymous.may_touch("local"));
    }

    /// The refusal of an exposed proxy without access is `startup.rs`'s; tested there.
    #[test]
    fn local_access_and_api_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let config = OperatorConfig {
            api_tokens_file: dir.path().join("api-tokens.json"),
            ..OperatorConfig::default()
        };
        let local = Operator::new(&config, false).unwrap();
        assert!(!local.required());
        assert_eq!(local.identify(&headers(&[])).unwrap(), Caller::Local);
        assert_eq!(
            local
                .identify(&headers(&[("authorization", "Bearer whatever")]))
                .unwrap(),
            Caller::Local
        );
        let (token, stored) = crate::api_tokens::create(&config.api_tokens_file, "ci").unwrap();
        let tokens_only = Operator::new(&config, true).unwrap();
        assert!(tokens_only.required() && !tokens_only.password_sign_in());
        assert_eq!(
            tokens_only.identify(&headers(&[])).unwrap(),
            Caller::Anonymous
        );
        assert!(matches!(
            tokens_only.identify(&headers(&[("authorization", "Bearer apt_nope")])),
            Err(Error::TokenInvalid)
        ));
        let mut bearer = HeaderMap::new();
        bearer.insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        assert_eq!(
            tokens_only.identify(&bearer).unwrap(),
            Caller::Token(stored.id)
        );
    }
}
