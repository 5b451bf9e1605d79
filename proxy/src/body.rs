//! The one response body type, and helpers to build bodies and read JSON requests.

use crate::error::Error;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited, combinators::BoxBody};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Every response body the proxy sends.
pub type Body = BoxBody<Bytes, hyper::Error>;

/// The largest JSON request accepted. A `CreatePost` is a few hundred bytes even with a
/// 2200-character caption; anything near this is a mistake or an attack.
pub const MAX_JSON_BODY: usize = 64 * 1024;

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
/// [`MAX_JSON_BODY`] bytes (413), and valid for `T` (400 naming serde's complaint).
pub async fn read_json<T: DeserializeOwned>(request: Request<Incoming>) -> Result<T, Error> {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    if !is_json(content_type) {
        return Err(Error::UnsupportedMediaType(content_type.to_owned()));
    }
    let bytes = Limited::new(request.into_body(), MAX_JSON_BODY)
        .collect()
        .await
        .map_err(|error| {
            if error.is::<http_body_util::LengthLimitError>() {
                Error::PayloadTooLarge
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
