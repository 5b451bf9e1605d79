//! The one response body type, and helpers to build bodies and read JSON requests.

use crate::error::Error;
use crate::idle_body::{IdleBody, is_stalled};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Every response body the proxy sends.
pub type Body = BoxBody<Bytes, hyper::Error>;

/// The largest JSON request accepted. A `CreatePost` is a few hundred bytes even with a
/// 2200-character caption; anything near this is a mistake or an attack.
pub const MAX_JSON_BODY: usize = 64 * 1024;

/// How long a request body may send nothing (`Config::body_idle_timeout`), put in every
/// request's extensions by the server so that whoever reads a body finds it there.
#[derive(Debug, Clone, Copy)]
pub struct BodyIdleTimeout(pub Duration);

/// The request's body, failing with [`crate::idle_body::BodyStalled`] when it stalls for the
/// configured idle timeout (the default one for a request built without the extension).
pub fn idle_body(request: Request<Incoming>) -> IdleBody<Incoming> {
    let timeout = request
        .extensions()
        .get::<BodyIdleTimeout>()
        .map_or(crate::config::DEFAULT_BODY_IDLE_TIMEOUT, |timeout| {
            timeout.0
        });
    IdleBody::new(request.into_body(), timeout)
}

/// A body holding `chunk` whole.
pub fn full(chunk: impl Into<Bytes>) -> Body {
    Full::new(chunk.into())
        .map_err(|never| match never {})
        .boxed()
}

/// A response with `status` and no body (the relay's answers, like TikTok's upload host's).
pub fn empty_response(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(full(Bytes::new()));
    *response.status_mut() = status;
    response
}

/// A response with `value` as JSON.
pub fn json_response(status: StatusCode, value: &impl Serialize) -> Response<Body> {
    // Serializing our own wire types cannot fail: they hold no maps with non-string keys.
    let bytes = serde_json::to_vec(value).expect("wire types always serialize");
    let mut response = Response::new(full(bytes));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Reads a JSON request body: `application/json` only (415 otherwise), at most
/// [`MAX_JSON_BODY`] bytes (413), arriving without a stall of the body idle timeout (408), and
/// valid for `T` (400 naming serde's complaint).
pub async fn read_json<T: DeserializeOwned>(request: Request<Incoming>) -> Result<T, Error> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !is_json(content_type) {
        return Err(Error::UnsupportedMediaType(content_type.to_owned()));
    }
    let bytes = Limited::new(idle_body(request), MAX_JSON_BODY)
        .collect()
        .await
        .map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                Error::PayloadTooLarge
            } else if let Some(idle) = is_stalled(&*error) {
                Error::BodyTimeout(idle)
            } else {
                Error::BadRequestBody(error.to_string())
            }
        })?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|error| Error::InvalidJson(error.to_string()))
}

/// Whether a `Content-Type` names JSON (`application/json`, with or without parameters).
fn is_json(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        for (value, json) in [
            ("application/json", true),
            ("application/json; charset=UTF-8", true),
            ("Application/JSON", true),
            ("text/plain", false),
            ("application/jsonx", false),
            ("", false),
        ] {
            assert_eq!(is_json(value), json, "{value:?}");
        }
    }
}
