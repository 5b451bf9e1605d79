//! Who may call the API, decided once per request before routing. First the name the call is
//! addressed to (`Host`), against DNS rebinding (`protocol::host`); then the proxy's own page and
//! scripts as always; pages on `AUTOPOSTER_ALLOWED_ORIGINS` with an embed key or a ticket, and
//! with CORS headers on every answer; every other site refused with a 403 that carries no CORS
//! header, so its browser blocks the answer too.
//!
//! The decisions are `protocol::embed`'s; this file reads the headers and the clock, answers
//! preflights and adds the CORS headers. Static files and the connect navigations (`/auth/login`,
//! `/auth/callback`) are not guarded: they are pages, not calls.

use crate::body::{Body, empty_response};
use crate::config::EmbedConfig;
use crate::error::Error;
use hyper::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD,
    AsHeaderName, HOST, HeaderMap, HeaderValue, ORIGIN, VARY,
};
use hyper::{Method, Response, StatusCode};
use protocol::embed::{self, Accepted, Caller, Origin, RequestOrigin};
use protocol::host::{self, HostName};
use std::time::{SystemTime, UNIX_EPOCH};

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
    /// Not a guarded path, or the proxy's own page or a script: routed as always.
    Open,
    /// A CORS preflight from an allowed origin: answered here, without routing.
    Preflight(Origin),
    /// An allowed origin with a valid credential: routed, and answered with CORS headers.
    Embedded(Origin),
    /// Refused. With the origin when it is an allowed one, so its page can read why (an expired
    /// ticket, say); without, for every other site.
    Refused(Error, Option<Origin>),
}

/// Whether `path` is behind the check: the whole API, and the disconnect call.
pub fn is_guarded(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path == "/auth/logout"
}

/// Decides what to do with a request to `path`, addressed to one of `hosts` (or an IP address,
/// or `localhost`).
pub fn check(
    embed: &EmbedConfig,
    hosts: &[HostName],
    method: &Method,
    path: &str,
    headers: &HeaderMap,
) -> Access {
    if !is_guarded(path) {
        return Access::Open;
    }
    // A Host that is not text is no name we answer to.
    let host = headers
        .get(HOST)
        .map(|value| value.to_str().unwrap_or("(unreadable)"));
    if let Err(refusal) = host::check_host(host, hosts) {
        return Access::Refused(Error::Host(refusal), None);
    }
    let request = RequestOrigin {
        // An Origin that is not text is no origin we know: refused like a foreign one.
        origin: headers
            .get(ORIGIN)
            .map(|value| value.to_str().unwrap_or("(unreadable)")),
        host: text(headers, HOST),
        sec_fetch_site: text(headers, "sec-fetch-site"),
    };
    let origin = match embed::caller(&request, &embed.allowed_origins) {
        Ok(Caller::SameOrigin) => return Access::Open,
        Ok(Caller::Embedded(origin)) => origin,
        Err(refusal) => return Access::Refused(Error::Embed(refusal), None),
    };
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
    let checked = embed::check_credential(
        &origin,
        text(headers, embed::KEY_HEADER),
        text(headers, embed::TICKET_HEADER),
        &accepted,
        unix_now(),
    );
    match checked {
        Ok(()) => Access::Embedded(origin),
        Err(refusal) => Access::Refused(Error::Embed(refusal), Some(origin)),
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
