//! The proxy's one error type, and the one place it becomes a response.
//!
//! Mistakes by the caller get their own code and a message saying what to fix. TikTok's refusals
//! keep TikTok's code and `log_id` and carry [`ErrorCode::user_message`]. Failures on the way to
//! TikTok get a generic message; their detail goes to the tracing log only. No variant ever holds
//! the access token: upstream text is scrubbed where it is received, in `tiktok.rs`.

use crate::body::{Body, MAX_JSON_BODY, json_response};
use hyper::header::{ALLOW, HeaderValue, RETRY_AFTER};
use hyper::{Response, StatusCode};
use protocol::ErrorCode;
use protocol::tiktok::ApiError;
use protocol::wire::{ErrorBody, ErrorDetail, InvalidPost};
use std::time::Duration;

/// How long to ask callers to wait after a 429 when TikTok does not say: its limits are per
/// minute.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 60;

/// Everything that can go wrong in a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No access token is configured, so nothing can be asked of TikTok.
    #[error(
        "No TikTok account is connected. Start the proxy with TIKTOK_ACCESS_TOKEN set (or --access-token)."
    )]
    NotConnected,
    /// The body is not JSON, or not the JSON this call takes; holds serde's complaint.
    #[error("The request body is not valid JSON for this call: {0}")]
    InvalidJson(String),
    /// The request's `Content-Type` is not `application/json`; holds what it was.
    #[error("Send the request body as application/json, not {0:?}.")]
    UnsupportedMediaType(String),
    /// The body is over [`MAX_JSON_BODY`].
    #[error("The request body is larger than the {} KiB this call accepts.", MAX_JSON_BODY / 1024)]
    PayloadTooLarge,
    /// The body could not be read (the caller went away mid-body, or sent broken framing).
    #[error("The request body could not be read: {0}")]
    BadRequestBody(String),
    /// The post would be refused by TikTok; caught before asking it.
    #[error(transparent)]
    InvalidPost(#[from] InvalidPost),
    /// The path's `publish_id` cannot be one.
    #[error("That is not a publish_id: expected 1 to 64 letters, digits, '_', '-', '.' or '~'.")]
    InvalidPublishId,
    /// No such route or file.
    #[error("Nothing here.")]
    NotFound,
    /// The route exists with other methods; holds the `Allow` header's value.
    #[error("This address does not take that method; it takes {0}.")]
    MethodNotAllowed(&'static str),
    /// TikTok answered with an error code other than `ok`.
    #[error("TikTok answered {}", .0.api.code)]
    TikTok(TikTokError),
    /// TikTok did not answer within the configured upstream timeout.
    #[error("TikTok did not answer within {} s. Try again in a moment.", .0.as_secs_f32())]
    Timeout(Duration),
    /// TikTok could not be reached; holds the transport's complaint, for the tracing log.
    #[error("TikTok could not be reached. Check the network connection and try again.")]
    Unreachable(String),
    /// TikTok's answer was not the documented shape; holds what was wrong, for the tracing log.
    #[error("TikTok sent an answer this app cannot read. Try again in a few minutes.")]
    BadResponse(String),
    /// Something failed inside the proxy (the log file could not be written); holds the detail,
    /// for the tracing log.
    #[error("The proxy had a problem on its side; see its log.")]
    Internal(String),
}

/// A TikTok refusal, with what the proxy needs to pass it on.
#[derive(Debug)]
pub struct TikTokError {
    /// TikTok's `error` object; its message is already scrubbed of the token.
    pub api: ApiError,
    /// The HTTP status TikTok sent it with (200 for creator_info's "intentional" errors).
    pub http_status: u16,
    /// TikTok's `Retry-After`, in seconds, when it sent one.
    pub retry_after_secs: Option<u64>,
}

impl Error {
    /// The code scripts match on: TikTok's when TikTok caused it, else ours.
    pub fn code(&self) -> String {
        match self {
            Self::NotConnected => "not_connected".into(),
            Self::InvalidJson(_) => "invalid_json".into(),
            Self::UnsupportedMediaType(_) => "unsupported_media_type".into(),
            Self::PayloadTooLarge => "payload_too_large".into(),
            Self::BadRequestBody(_) => "bad_request".into(),
            Self::InvalidPost(invalid) => invalid.code().into(),
            Self::InvalidPublishId => "invalid_publish_id".into(),
            Self::NotFound => "not_found".into(),
            Self::MethodNotAllowed(_) => "method_not_allowed".into(),
            Self::TikTok(tiktok) => tiktok.api.code.as_str().into(),
            Self::Timeout(_) => "tiktok_timeout".into(),
            Self::Unreachable(_) => "tiktok_unreachable".into(),
            Self::BadResponse(_) => "tiktok_bad_response".into(),
            Self::Internal(_) => "internal".into(),
        }
    }

    /// The HTTP status the caller gets.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotConnected => StatusCode::SERVICE_UNAVAILABLE,
            Self::InvalidJson(_)
            | Self::BadRequestBody(_)
            | Self::InvalidPost(_)
            | Self::InvalidPublishId => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TikTok(tiktok) => tiktok_status(&tiktok.api.code, tiktok.http_status),
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Unreachable(_) | Self::BadResponse(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The one place an error becomes a response: `ErrorBody` JSON, plus `Allow` on 405 and
    /// `Retry-After` on 429. Detail the caller should not see is logged here instead.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        match &self {
            Self::Unreachable(detail) | Self::BadResponse(detail) => {
                tracing::warn!(code = %self.code(), %detail, "TikTok call failed");
            }
            Self::Internal(detail) => tracing::error!(%detail, "internal error"),
            Self::TikTok(tiktok) => tracing::info!(
                code = %tiktok.api.code,
                log_id = tiktok.api.log_id.as_deref().unwrap_or(""),
                http_status = tiktok.http_status,
                "TikTok refused"
            ),
            _ => {}
        }
        let retry_after_secs = match &self {
            Self::TikTok(tiktok) if status == StatusCode::TOO_MANY_REQUESTS => {
                Some(tiktok.retry_after_secs.unwrap_or(DEFAULT_RETRY_AFTER_SECS))
            }
            _ => None,
        };
        let allow = match &self {
            Self::MethodNotAllowed(allow) => Some(*allow),
            _ => None,
        };
        let detail = ErrorDetail {
            code: self.code(),
            message: self.message(),
            log_id: match self {
                Self::TikTok(tiktok) => tiktok.api.log_id,
                _ => None,
            },
            retry_after_secs,
        };
        let mut response = json_response(status, &ErrorBody { error: detail });
        let headers = response.headers_mut();
        if let Some(secs) = retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(allow) = allow {
            headers.insert(ALLOW, HeaderValue::from_static(allow));
        }
        response
    }

    /// What a person reads. TikTok's own text is added only where it says something our
    /// message cannot (an `invalid_param` detail, or a code we do not know).
    fn message(&self) -> String {
        match self {
            Self::TikTok(tiktok) => {
                let api = &tiktok.api;
                let ours = api.code.user_message();
                let adds_detail =
                    matches!(api.code, ErrorCode::InvalidParams | ErrorCode::Other(_));
                if adds_detail && !api.message.is_empty() {
                    format!("{ours} TikTok said: {}", api.message)
                } else {
                    ours.to_owned()
                }
            }
            other => other.to_string(),
        }
    }
}

/// TikTok's documented status for a code, kept for the caller when it is the caller's to act on
/// (4xx), and 502 when TikTok itself failed (5xx) or sent a code with no usable status.
fn tiktok_status(code: &ErrorCode, upstream: u16) -> StatusCode {
    if code.blocks_posting() {
        // creator_info sends these with HTTP 200 "intentionally": for us they forbid posting.
        return StatusCode::FORBIDDEN;
    }
    let documented = match code {
        ErrorCode::Other(_) => upstream,
        known => known.http_status(),
    };
    match StatusCode::from_u16(documented) {
        Ok(status) if status.is_client_error() => status,
        _ => StatusCode::BAD_GATEWAY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiktok_statuses() {
        for (code, upstream, expected) in [
            ("spam_risk_too_many_posts", 200, 403),
            ("reached_active_user_cap", 200, 403),
            ("access_token_invalid", 401, 401),
            ("privacy_level_option_mismatch", 403, 403),
            ("rate_limit_exceeded", 429, 429),
            ("invalid_param", 400, 400),
            ("internal_error", 500, 502),
            ("brand_new_client_error", 409, 409),
            ("brand_new_code", 200, 502),
            ("brand_new_code", 503, 502),
        ] {
            assert_eq!(
                tiktok_status(&ErrorCode::parse(code), upstream).as_u16(),
                expected,
                "{code} {upstream}"
            );
        }
    }
}
