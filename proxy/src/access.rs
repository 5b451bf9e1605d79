//! Who may call the API, decided once per request before routing. First the name the call is
//! addressed to (`Host`), against DNS rebinding (`protocol::host`). Then the origin: the proxy's
//! own page and scripts are the operator — or, with operator access on, must show a session or
//! an API token (`operator.rs`); pages on `AUTOPOSTER_ALLOWED_ORIGINS` must show an embed key or
//! a ticket, may call only what an uploader needs, and get CORS headers on every answer; every
//! other site is refused with a 403 that carries no CORS header, so its browser blocks the
//! answer too.
//!
//! The origin and credential decisions are `protocol::embed`'s; this file reads the headers and
//! the clock, answers preflights and adds the CORS headers. Only the page's static files are not
//! guarded; TikTok's redirect back (`/auth/callback`) is checked by its `state` in `login.rs`.

use crate::body::{Body, empty_response};
use crate::error::Error;
use crate::operator::Caller;
use crate::server::App;
use hyper::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD,
    AsHeaderName, HOST, HeaderMap, HeaderValue, ORIGIN, VARY,
};
use hyper::{Method, Response, StatusCode};
use protocol::embed::{self, Accepted, Origin, RequestOrigin};
use protocol::host;
use protocol::wire::{ACCESS_PATH, SESSION_PATH};
use sha2::{Digest, Sha256};
use std::time::{SystemTime, UNIX_EPOCH};

/// TikTok's redirect back after the person agreed (or not).
pub const CALLBACK_PATH: &str = "/auth/callback";

/// The methods the uploader uses: reads, `POST /api/posts` and events, the relay's `PUT`.
pub const ALLOWED_METHODS: &str = "GET, POST, PUT";
/// The request headers the uploader sends: JSON and chunk headers, and its credential.
pub const ALLOWED_HEADERS: &str =
    "content-type, content-range, x-autoposter-key, x-autoposter-ticket";
/// The response header the uploader reads: the relay's `Content-Range`.
pub const EXPOSED_HEADERS: &str = "content-range";
/// How long a browser may reuse a preflight's answer. Ten minutes spares a preflight per chunk
/// and per poll, yet a removed origin stops working soon.
pub const PREFLIGHT_MAX_AGE_SECS: u64 = 600;

/// What to do with a request, from its method, path and headers alone.
#[derive(Debug)]
pub enum Access {
    /// Not a guarded path (the page's static files): served to anyone.
    Open,
    /// A CORS preflight from an allowed origin: answered here, without routing.
    Preflight(Origin),
    /// Routed, on behalf of `caller`; with CORS headers for `origin` when embedded.
    Allowed {
        caller: Caller,
        origin: Option<Origin>,
    },
    /// Refused. With the origin when it is an allowed one, so its page can read why (an expired
    /// ticket, say); without, for every other site.
    Refused(Error, Option<Origin>),
}

/// Whether `path` is behind the check: the whole API and every `/auth/` route.
pub fn is_guarded(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path.starts_with("/auth/")
}

/// The calls anyone may make, even with operator access on: what access this caller has, and
/// signing in and out.
fn needs_no_credential(method: &Method, path: &str) -> bool {
    matches!(
        (method, path),
        (&Method::GET, ACCESS_PATH) | (&Method::POST | &Method::DELETE, SESSION_PATH)
    )
}

/// What an embedded page may call: its own posts, and what the posting screen shows. Not the
/// history of other posts, not connecting or disconnecting TikTok.
fn embed_may(method: &Method, path: &str) -> bool {
    match (method, path) {
        (&Method::GET, ACCESS_PATH | "/api/connection" | "/api/creator" | "/api/health") => true,
        (&Method::POST, "/api/posts") => true,
        (method, path) => match path.strip_prefix("/api/posts/") {
            Some(rest) => match rest.split_once('/') {
                None => method == Method::GET,
                Some((_, "chunk")) => method == Method::PUT,
                Some((_, "events")) => method == Method::POST,
                Some(_) => false,
            },
            None => false,
        },
    }
}

/// Decides what to do with a request to `path`.
pub fn check(app: &App, method: &Method, path: &str, headers: &HeaderMap) -> Access {
    if !is_guarded(path) {
        return Access::Open;
    }
    // A Host that is not text is no name we answer to.
    let host = headers
        .get(HOST)
        .map(|value| value.to_str().unwrap_or("(unreadable)"));
    if let Err(refusal) = host::check_host(host, &app.hosts) {
        return Access::Refused(Error::Host(refusal), None);
    }
    if path == CALLBACK_PATH {
        // TikTok's redirect back: a cross-site navigation that carries no credential of ours.
        // The login's `state` proves it (bound to this browser and to the operator who started
        // it, `login.rs`).
        return Access::Allowed {
            caller: Caller::Anonymous,
            origin: None,
        };
    }
    let request = RequestOrigin {
        // An Origin that is not text is no origin we know: refused like a foreign one.
        origin: headers
            .get(ORIGIN)
            .map(|value| value.to_str().unwrap_or("(unreadable)")),
        host: text(headers, HOST),
        sec_fetch_site: text(headers, "sec-fetch-site"),
    };
    match embed::caller(&request, &app.embed.allowed_origins) {
        Ok(embed::Caller::SameOrigin) => operator_call(app, method, path, headers),
        Ok(embed::Caller::Embedded(origin)) => embedded_call(app, method, path, headers, origin),
        Err(refusal) => Access::Refused(Error::Embed(refusal), None),
    }
}

/// The proxy's own page, or a script: the operator, or someone who must become one.
fn operator_call(app: &App, method: &Method, path: &str, headers: &HeaderMap) -> Access {
    let caller = match app.operator.identify(headers) {
        Ok(caller) => caller,
        Err(error) => return Access::Refused(error, None),
    };
    if caller == Caller::Anonymous && !needs_no_credential(method, path) {
        return Access::Refused(Error::SignInRequired, None);
    }
    Access::Allowed {
        caller,
        origin: None,
    }
}

/// A page on an allowed origin: its embed key or ticket, and only what embeds may do.
fn embedded_call(
    app: &App,
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    origin: Origin,
) -> Access {
    let embed = &app.embed;
    if method == Method::OPTIONS && headers.contains_key(ACCESS_CONTROL_REQUEST_METHOD) {
        // Preflights never carry credentials: the browser asks before it sends them.
        return Access::Preflight(origin);
    }
    let keys: Vec<&str> = embed.embed_keys.iter().map(|key| key.expose()).collect();
    let accepted = Accepted {
        keys: &keys,
        ticket_secret: embed
            .ticket_secret
            .as_ref()
            .map(|secret| secret.expose().as_bytes()),
        allowed: &embed.allowed_origins,
    };
    let key = text(headers, embed::KEY_HEADER);
    let checked = embed::check_credential(
        &origin,
        key,
        text(headers, embed::TICKET_HEADER),
        &accepted,
        unix_now(),
    );
    if let Err(refusal) = checked {
        return Access::Refused(Error::Embed(refusal), Some(origin));
    }
    if !embed_may(method, path) {
        return Access::Refused(Error::NotForEmbeds, Some(origin));
    }
    let caller = match key {
        // Named by a hash prefix: enough to tell keys apart, useless to anyone reading the log.
        Some(key) => Caller::EmbedKey(hex::encode(&Sha256::digest(key.as_bytes())[..4])),
        None => Caller::Ticket(origin.clone()),
    };
    Access::Allowed {
        caller,
        origin: Some(origin),
    }
}

/// The answer to an allowed origin's preflight: 204 with what the uploader may send.
pub fn preflight(origin: &Origin) -> Response<Body> {
    let mut response = empty_response(StatusCode::NO_CONTENT);
    allow(&mut response, origin);
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    headers.insert(
        ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static(ALLOWED_HEADERS),
    );
    headers.insert(
        ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from(PREFLIGHT_MAX_AGE_SECS),
    );
    response
}

/// Lets `origin`'s page read `response`: `Access-Control-Allow-Origin` for that origin alone,
/// and the relay's `Content-Range`. No `Allow-Credentials`: the credential is a header, never a
/// cookie.
pub fn allow(response: &mut Response<Body>, origin: &Origin) {
    let headers = response.headers_mut();
    headers.insert(
        ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_str(origin.as_str())
            .expect("a parsed origin holds only letters, digits and :/.[]-"),
    );
    headers.insert(
        ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(EXPOSED_HEADERS),
    );
}

/// Marks a guarded answer as depending on `Origin`, so no cache hands one site's answer (with
/// or without CORS headers) to another.
pub fn vary(response: &mut Response<Body>) {
    response
        .headers_mut()
        .append(VARY, HeaderValue::from_static("Origin"));
}

/// A header's value, if it is text.
fn text(headers: &HeaderMap, name: impl AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Seconds since the Unix epoch, as tickets count them.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}
