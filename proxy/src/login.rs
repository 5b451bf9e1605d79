//! Connect and disconnect: `POST /auth/login` (the operator, from the page's script) answers
//! where TikTok's authorize page is, `GET /auth/callback` takes the person back and exchanges
//! the code, `POST /auth/logout` revokes.
//!
//! Each login gets a random `state` (256 bits) that is single-use, expires after ten minutes,
//! and is bound three times over: to the browser by an `HttpOnly; SameSite=Lax; Path=/auth`
//! cookie, to the server by a set it is removed from on first use (with the PKCE verifier, in
//! desktop mode), and to the operator's session that started it, which must still be live when
//! TikTok sends the person back. (The session cookie itself is `SameSite=Strict`, so the browser
//! does not send it on TikTok's redirect: the binding is made at the start instead.) Whoever
//! cannot start a login cannot finish one, so nobody can slip their own TikTok account in.

use crate::account::Connected;
use crate::body::{Body, full, json_response};
use crate::config::OAuthConfig;
use crate::error::Error;
use crate::operator::{Caller, cookie};
use crate::server::App;
use crate::sessions::SessionKey;
use hyper::body::Incoming;
use hyper::header::{
    CACHE_CONTROL, CONTENT_TYPE, HOST, HeaderMap, HeaderValue, LOCATION, ORIGIN, SET_COOKIE,
};
use hyper::{Request, Response, StatusCode};
use protocol::oauth::{
    self, Authorize, OAuthMode, REQUESTED_SCOPES, connect_error_reason, constant_time_eq,
    random_token,
};
use protocol::wire::{CONNECT_ERROR_PARAM, ConnectStart};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How long a person has on TikTok's page before the `state` expires.
pub const STATE_TTL: Duration = Duration::from_secs(10 * 60);

/// Why a connect replaced nothing: TikTok signed the person in as another account.
pub const OTHER_ACCOUNT_MESSAGE: &str = "TikTok signed you in as a different account than the one this autoposter posts to, so nothing was changed. To switch accounts, click Disconnect TikTok first, then connect the other account.";

/// The cookie that binds a login's `state` to the browser that started it.
pub const STATE_COOKIE: &str = "autoposter_oauth_state";

/// The most logins that may be pending at once; older ones are dropped first. Plenty for a
/// person, and a bound on memory whoever keeps hitting `/auth/login`.
const MAX_PENDING: usize = 64;

/// What the login routes need besides the account: the app's key and how to redirect.
#[derive(Debug)]
pub struct Logins {
    client_key: String,
    mode: OAuthMode,
    redirect_uri: String,
    auth_base: String,
    /// Pending `state`s, each with its PKCE verifier (desktop) and expiry.
    pending: Mutex<HashMap<String, Pending>>,
}

#[derive(Debug)]
struct Pending {
    code_verifier: Option<String>,
    expires: Instant,
    /// The operator session that started it; `None` when operator access is off.
    started_by: Option<SessionKey>,
}

impl Logins {
    pub fn new(oauth: &OAuthConfig) -> Self {
        Self {
            client_key: oauth.client_key.clone(),
            mode: oauth.mode,
            redirect_uri: oauth.redirect_uri.clone(),
            auth_base: oauth.auth_base.clone(),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// Remembers a new login; returns its `state` and PKCE verifier.
    fn start(&self, now: Instant, started_by: Option<SessionKey>) -> (String, Option<String>) {
        let state = random_token(&rand::random::<[u8; 32]>());
        let verifier = self
            .mode
            .uses_pkce()
            .then(|| random_token(&rand::random::<[u8; 32]>()));
        let mut pending = self.pending();
        pending.retain(|_, login| login.expires > now);
        while pending.len() >= MAX_PENDING {
            let oldest = pending
                .iter()
                .min_by_key(|(_, login)| login.expires)
                .map(|(state, _)| state.clone())
                .expect("a full map has an oldest entry");
            pending.remove(&oldest);
        }
        pending.insert(
            state.clone(),
            Pending {
                code_verifier: verifier.clone(),
                expires: now + STATE_TTL,
                started_by,
            },
        );
        (state, verifier)
    }

    /// Uses up `state` if it is pending and live; returns its verifier and who started it.
    fn finish(&self, state: &str, now: Instant) -> Option<(Option<String>, Option<SessionKey>)> {
        self.pending()
            .remove(state)
            .filter(|login| login.expires > now)
            .map(|login| (login.code_verifier, login.started_by))
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        // Holding the lock never panics midway; a poisoned map is still consistent.
        self.pending
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `POST /auth/login`: where TikTok's authorize page is for a new login, with the state cookie.
/// Only the operator, from the page's own script (access.rs lets no one else this far).
pub fn login(
    app: &App,
    caller: &Caller,
    request: &Request<Incoming>,
) -> Result<Response<Body>, Error> {
    let logins = app.logins.as_ref().ok_or(Error::OAuthNotConfigured)?;
    if !caller.is_operator() {
        return Err(Error::NotForEmbeds);
    }
    if !is_same_origin_script(request.headers()) {
        return Err(Error::CrossSite);
    }
    let started_by = match caller {
        Caller::Session(key) => Some(key.clone()),
        _ => None,
    };
    let (state, verifier) = logins.start(Instant::now(), started_by);
    let challenge = verifier.as_deref().map(oauth::code_challenge);
    let url = oauth::authorize_url(
        &logins.auth_base,
        &Authorize {
            client_key: &logins.client_key,
            scopes: &REQUESTED_SCOPES,
            redirect_uri: &logins.redirect_uri,
            state: &state,
            code_challenge: challenge.as_deref(),
        },
    );
    let cookie = state_cookie(logins, &state, STATE_TTL.as_secs());
    let mut response = json_response(StatusCode::OK, &ConnectStart { authorize_url: url });
    let headers = response.headers_mut();
    headers.insert(SET_COOKIE, cookie);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `GET /auth/callback?code=…&state=…&scopes=…` (or `error=…`): checks the state, exchanges
/// the code, stores the tokens, and sends the person back to `/` (303), with
/// `?connect_error=…` when something went wrong.
pub async fn callback(app: &App, request: &Request<Incoming>) -> Result<Response<Body>, Error> {
    let logins = app.logins.as_ref().ok_or(Error::OAuthNotConfigured)?;
    let query: HashMap<String, String> =
        form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let get = |key: &str| query.get(key).map_or("", String::as_str);
    let outcome = async {
        let state = get("state");
        let cookie = cookie(request.headers(), STATE_COOKIE).unwrap_or_default();
        if state.is_empty() || cookie.is_empty() || !constant_time_eq(state, &cookie) {
            return Err(
                "The sign-in could not be matched to this browser. Click Connect TikTok again."
                    .to_owned(),
            );
        }
        let (verifier, started_by) = logins.finish(state, Instant::now()).ok_or_else(|| {
            "The sign-in expired or was already used. Click Connect TikTok again.".to_owned()
        })?;
        if let Some(session) = started_by
            && !app.operator.sessions.is_live(&session)
        {
            return Err(
                "You signed out of the autoposter while TikTok was asking. Sign in and click Connect TikTok again."
                    .to_owned(),
            );
        }
        if !get("error").is_empty() {
            return Err(connect_error_reason(get("error"), get("error_description")));
        }
        let code = get("code");
        if code.is_empty() {
            return Err("TikTok sent no sign-in code. Click Connect TikTok again.".to_owned());
        }
        let connected = app
            .account
            .connect(code, &logins.redirect_uri, verifier.as_deref())
            .await
            .map_err(|error| {
                tracing::warn!(%error, "the code exchange failed");
                match error {
                    crate::oauth_client::TokenError::Refused { error, .. } => {
                        connect_error_reason(&error.error, &error.error_description)
                    }
                    _ => connect_error_reason("temporarily_unavailable", ""),
                }
            })?;
        match connected {
            Connected::Stored => Ok(()),
            Connected::OtherAccount => Err(OTHER_ACCOUNT_MESSAGE.to_owned()),
        }
    }
    .await;
    let location = match outcome {
        Ok(()) => {
            tracing::info!("TikTok connected");
            "/".to_owned()
        }
        Err(reason) => {
            tracing::info!(%reason, "TikTok connect failed");
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair(CONNECT_ERROR_PARAM, &reason)
                .finish();
            format!("/?{query}")
        }
    };
    let mut response = redirect(StatusCode::SEE_OTHER, &location);
    // The state is spent either way: clear the cookie.
    response
        .headers_mut()
        .insert(SET_COOKIE, state_cookie(logins, "", 0));
    Ok(response)
}

/// `POST /auth/logout` (from the page, with fetch): revokes and deletes the tokens.
pub async fn logout(app: &App, request: &Request<Incoming>) -> Result<Response<Body>, Error> {
    if app.logins.is_none() {
        return Err(Error::OAuthNotConfigured);
    }
    if !is_same_origin_script(request.headers()) {
        return Err(Error::CrossSite);
    }
    let logged_out = app.account.disconnect().await?;
    Ok(json_response(StatusCode::OK, &logged_out))
}

/// Whether a state-changing request comes from our own page's script: it must carry a JSON
/// content type or `X-Requested-With` (which a cross-site form cannot send without a CORS
/// preflight we never grant), must not be marked cross-site by the browser, and any `Origin`
/// must be this host.
pub fn is_same_origin_script(headers: &HeaderMap) -> bool {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    };
    let json = text(CONTENT_TYPE.as_str())
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    let scripted = json || headers.contains_key("x-requested-with");
    let cross_site = text("sec-fetch-site").eq_ignore_ascii_case("cross-site");
    let origin_ok = match headers.get(ORIGIN) {
        None => true,
        Some(origin) => {
            let origin = origin.to_str().unwrap_or("");
            let authority = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            authority.is_some_and(|authority| authority.eq_ignore_ascii_case(text(HOST.as_str())))
        }
    };
    scripted && !cross_site && origin_ok
}

/// The state cookie: `HttpOnly; SameSite=Lax; Path=/auth`, `Secure` when the redirect is https.
fn state_cookie(logins: &Logins, value: &str, max_age_secs: u64) -> HeaderValue {
    let secure = if logins.redirect_uri.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{STATE_COOKIE}={value}; Max-Age={max_age_secs}; Path=/auth; HttpOnly; SameSite=Lax{secure}"
    );
    HeaderValue::from_str(&cookie).expect("the state is hex, so the cookie is a valid header")
}

/// A redirect to `location`, never cached.
fn redirect(status: StatusCode, location: &str) -> Response<Body> {
    let mut response = Response::new(full(""));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        LOCATION,
        HeaderValue::from_str(location)
            .expect("locations are built from URL-encoded parts and never hold control bytes"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::test_headers as headers;

    #[test]
    fn logout_needs_a_same_origin_script() {
        let host = ("host", "127.0.0.1:8787");
        for (what, pairs, ok) in [
            (
                "fetch with JSON",
                vec![host, ("content-type", "application/json")],
                true,
            ),
            (
                "custom header",
                vec![host, ("x-requested-with", "fetch")],
                true,
            ),
            (
                "same origin",
                vec![
                    host,
                    ("x-requested-with", "fetch"),
                    ("origin", "http://127.0.0.1:8787"),
                    ("sec-fetch-site", "same-origin"),
                ],
                true,
            ),
            (
                "plain form",
                vec![host, ("content-type", "application/x-www-form-urlencoded")],
                false,
            ),
            ("nothing", vec![host], false),
            (
                "other origin",
                vec![
                    host,
                    ("x-requested-with", "fetch"),
                    ("origin", "https://evil.example"),
                ],
                false,
            ),
            (
                "null origin",
                vec![
                    host,
                    ("content-type", "application/json"),
                    ("origin", "null"),
                ],
                false,
            ),
            (
                "cross-site",
                vec![
                    host,
                    ("content-type", "application/json"),
                    ("sec-fetch-site", "cross-site"),
                ],
                false,
            ),
        ] {
            assert_eq!(is_same_origin_script(&headers(&pairs)), ok, "{what}");
        }
    }

    #[test]
    fn states_are_single_use_expire_and_stay_bounded() {
        let logins = Logins::new(&OAuthConfig::new("ck", crate::config::Secret::new("cs")));
        let now = Instant::now();
        let (state, verifier) = logins.start(now, None);
        assert_eq!(state.len(), 64);
        assert!(oauth::is_code_verifier(verifier.as_deref().unwrap()));
        assert_eq!(logins.finish(&state, now), Some((verifier, None)));
        assert_eq!(logins.finish(&state, now), None, "single use");
        let (state, _) = logins.start(now, None);
        assert_eq!(logins.finish(&state, now + STATE_TTL), None, "expired");
        for _ in 0..MAX_PENDING * 2 {
            logins.start(now, None);
        }
        assert_eq!(logins.pending().len(), MAX_PENDING);
    }
}
