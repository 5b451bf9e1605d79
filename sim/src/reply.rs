//! Building responses: one body type, TikTok's JSON envelope, and the one error type of the API
//! endpoints with the one place that turns it into a response.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use protocol::ErrorCode;
use protocol::tiktok::{ApiError, Envelope, JSON_CONTENT_TYPE};
use serde_json::{Value, json};

/// Every response body: small and already in memory.
pub(crate) type Body = Full<Bytes>;

/// The header TikTok repeats the `log_id` in.
pub(crate) const LOG_ID_HEADER: &str = "x-tt-logid";

/// Why an API call is refused: TikTok's code, the HTTP status it comes with, and a message.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiFailure {
    /// Usually `code.http_status()`; scripted faults may pick another (such as 200).
    pub(crate) status: u16,
    /// `error.code`.
    pub(crate) code: ErrorCode,
    /// `error.message`, naming the problem the way TikTok's messages do.
    pub(crate) message: String,
}

impl ApiFailure {
    /// `code` with the HTTP status TikTok sends with it.
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: code.http_status(),
            code,
            message: message.into(),
        }
    }

    /// 400 `invalid_param`.
    pub(crate) fn invalid_param(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParams, message)
    }
}

/// An empty response with `status`.
pub(crate) fn empty(status: u16) -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = status_code(status);
    response
}

/// TikTok's envelope around `result`: `{"data":{…},"error":{"code":"ok","message":"",
/// "log_id":…}}`, with `data` `{}` on error, the JSON content type and `x-tt-logid`.
pub(crate) fn envelope(result: Result<Value, ApiFailure>, log_id: &str) -> Response<Body> {
    let (status, data, code, message) = match result {
        Ok(data) => (200, data, ErrorCode::Ok, String::new()),
        Err(failure) => (failure.status, json!({}), failure.code, failure.message),
    };
    let body = Envelope {
        data: Some(data),
        error: ApiError {
            code,
            message,
            log_id: Some(log_id.to_owned()),
        },
    };
    let bytes = serde_json::to_vec(&body).expect("a JSON value with string keys always serializes");
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = status_code(status);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_CONTENT_TYPE));
    if let Ok(value) = HeaderValue::from_str(log_id) {
        headers.insert(LOG_ID_HEADER, value);
    }
    response
}

/// `status` as a `StatusCode`; a scripted status outside 100..=999 becomes 500.
fn status_code(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
