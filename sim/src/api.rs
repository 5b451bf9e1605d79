//! The pipeline every JSON API call goes through, in TikTok's order as far as it can be told:
//! read (and record) the body, check the bearer token, play scripted faults, count the rate
//! limit, check the content type, parse the JSON; then the endpoint's handler runs and its
//! result is wrapped in the envelope.

use crate::endpoint::Endpoint;
use crate::handle::Sim;
use crate::ids;
use crate::reply::{self, ApiFailure, Body};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};
use hyper::{Request, Response};
use protocol::ErrorCode;
use protocol::oauth::{SCOPE_VIDEO_PUBLISH, SCOPE_VIDEO_UPLOAD};
use serde_json::Value;
use tokio::time::Instant;

/// The largest JSON body accepted; TikTok's bodies are a few hundred bytes (a 2200-rune title
/// is at most about 9 KB).
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// An endpoint's own logic: the parsed JSON body (if any) in, `data` or a refusal out.
pub(crate) type Handler = fn(&Sim, Option<Value>) -> Result<Value, ApiFailure>;

/// Answers a call to `endpoint`, whose request is recorded at position `record`.
pub(crate) async fn respond(
    sim: &Sim,
    endpoint: Endpoint,
    handler: Handler,
    request: Request<Incoming>,
    record: usize,
) -> Response<Body> {
    let log_id = ids::log_id();
    let result = answer(sim, endpoint, handler, request, record).await;
    if let Err(failure) = &result {
        tracing::debug!(?endpoint, code = %failure.code, message = %failure.message, %log_id, "refused");
    }
    reply::envelope(result, &log_id)
}

async fn answer(
    sim: &Sim,
    endpoint: Endpoint,
    handler: Handler,
    request: Request<Incoming>,
    record: usize,
) -> Result<Value, ApiFailure> {
    let (parts, body) = request.into_parts();
    let body = sim.read_recorded(body, MAX_BODY, record).await;
    check_bearer(sim, endpoint, &parts.headers)?;
    let hang = sim.state().faults.hang(endpoint);
    if let Some(duration) = hang {
        tokio::time::sleep(duration).await;
    }
    let scripted = sim.state().faults.api_error(endpoint);
    if let Some((code, status)) = scripted {
        return Err(ApiFailure {
            status,
            message: format!("{code} (scripted by the simulator)."),
            code,
        });
    }
    if !sim.state().admit(endpoint, Instant::now()) {
        return Err(ApiFailure::new(
            ErrorCode::RateLimitExceeded,
            "API rate limit exceeded: too many requests to this endpoint in the last minute.",
        ));
    }
    let bytes = body.ok_or_else(|| {
        ApiFailure::invalid_param(format!(
            "The request body is larger than {MAX_BODY} bytes or was cut short."
        ))
    })?;
    let json = parse_json(&parts.headers, &bytes)?;
    handler(sim, json)
}

/// Accepts `Authorization: Bearer <token>` with the simulator's fixed token, or with an issued
/// access token that is live and carries the scope `endpoint` needs.
fn check_bearer(sim: &Sim, endpoint: Endpoint, headers: &HeaderMap) -> Result<(), ApiFailure> {
    let invalid = || {
        ApiFailure::new(
            ErrorCode::AccessTokenInvalid,
            "The access token is invalid or not found in the request.",
        )
    };
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(invalid)?;
    if token == sim.access_token() {
        return Ok(());
    }
    let state = sim.state();
    let scopes = state
        .grants
        .access_scopes(token, Instant::now())
        .ok_or_else(invalid)?;
    // Any one of these scopes will do.
    let needed: &[&str] = match endpoint {
        Endpoint::CreatorInfo | Endpoint::VideoInit => &[SCOPE_VIDEO_PUBLISH],
        Endpoint::InboxInit => &[SCOPE_VIDEO_UPLOAD],
        Endpoint::StatusFetch => &[SCOPE_VIDEO_PUBLISH, SCOPE_VIDEO_UPLOAD],
        _ => &[],
    };
    if needed.is_empty() || scopes.iter().any(|scope| needed.contains(&scope.as_str())) {
        Ok(())
    } else {
        Err(ApiFailure::new(
            ErrorCode::ScopeNotAuthorized,
            format!(
                "The user did not authorize the scope required for this endpoint ({}).",
                needed.join(" or ")
            ),
        ))
    }
}

/// The body as JSON: `None` when empty. A body needs `Content-Type: application/json` (a
/// charset parameter is fine), and a declared content type must be JSON even without a body.
fn parse_json(headers: &HeaderMap, bytes: &[u8]) -> Result<Option<Value>, ApiFailure> {
    let content_type = headers.get(CONTENT_TYPE).map(|value| value.to_str());
    let is_json = |value: &str| {
        value
            .split(';')
            .next()
            .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
    };
    let empty = bytes.iter().all(u8::is_ascii_whitespace);
    match content_type {
        Some(Ok(value)) if is_json(value) => {}
        None if empty => {}
        Some(Ok(value)) => {
            return Err(ApiFailure::invalid_param(format!(
                "Content-Type must be application/json, not {value:?}."
            )));
        }
        _ => {
            return Err(ApiFailure::invalid_param(
                "Content-Type must be application/json.",
            ));
        }
    }
    if empty {
        return Ok(None);
    }
    serde_json::from_slice(bytes)
        .map(Some)
        .map_err(|e| ApiFailure::invalid_param(format!("The request body is not valid JSON: {e}.")))
}
