//! One request in: record it, route it with a plain `match (method, endpoint)`, record the
//! status that went out.

use crate::api;
use crate::endpoint::Endpoint;
use crate::handle::Sim;
use crate::ids;
use crate::oauth;
use crate::posting;
use crate::record::RecordedRequest;
use crate::reply::{self, ApiFailure, Body};
use crate::upload::{self, ConnectionDropped};
use hyper::body::Incoming;
use hyper::header::{ALLOW, HeaderValue};
use hyper::{Method, Request, Response};
use protocol::ErrorCode;

/// Answers one request. An `Err` makes hyper close the connection without an answer.
pub(crate) async fn route(
    sim: Sim,
    request: Request<Incoming>,
) -> Result<Response<Body>, ConnectionDropped> {
    let record = record_arrival(&sim, &request);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let result = match (&method, Endpoint::from_path(&path)) {
        (&Method::POST, Some(Endpoint::CreatorInfo)) => Ok(api::respond(
            &sim,
            Endpoint::CreatorInfo,
            posting::creator_info,
            request,
            record,
        )
        .await),
        (&Method::POST, Some(Endpoint::VideoInit)) => Ok(api::respond(
            &sim,
            Endpoint::VideoInit,
            posting::video_init,
            request,
            record,
        )
        .await),
        (&Method::POST, Some(Endpoint::InboxInit)) => Ok(api::respond(
            &sim,
            Endpoint::InboxInit,
            posting::inbox_init,
            request,
            record,
        )
        .await),
        (&Method::POST, Some(Endpoint::StatusFetch)) => Ok(api::respond(
            &sim,
            Endpoint::StatusFetch,
            posting::status_fetch,
            request,
            record,
        )
        .await),
        (&Method::PUT, Some(Endpoint::Upload)) => upload::put(&sim, request).await,
        (&Method::OPTIONS, Some(Endpoint::Upload)) => Ok(upload::preflight(&sim, &request)),
        (&Method::GET, Some(Endpoint::Authorize)) => {
            Ok(oauth::authorize(&sim, request.uri().query()))
        }
        (&Method::POST, Some(Endpoint::OAuthToken)) => {
            Ok(oauth::token(&sim, request, record).await)
        }
        (&Method::POST, Some(Endpoint::OAuthRevoke)) => {
            Ok(oauth::revoke(&sim, request, record).await)
        }
        (_, Some(endpoint)) => Ok(method_not_allowed(endpoint, &method)),
        (_, None) => Ok(not_found(&method, &path)),
    };
    match &result {
        Ok(response) => {
            let status = response.status().as_u16();
            sim.state().requests[record].status = status;
            tracing::info!(%method, %path, status, "answered");
        }
        Err(dropped) => tracing::info!(%method, %path, "{dropped}"),
    }
    result
}

/// Records the request's method, path, query and headers; the body and status come later.
fn record_arrival(sim: &Sim, request: &Request<Incoming>) -> usize {
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let recorded = RecordedRequest {
        method: request.method().as_str().to_owned(),
        path: request.uri().path().to_owned(),
        query: request.uri().query().map(str::to_owned),
        headers,
        body: None,
        status: 0,
    };
    let mut state = sim.state();
    state.requests.push(recorded);
    state.requests.len() - 1
}

/// 404 in the envelope, for any path TikTok does not serve.
fn not_found(method: &Method, path: &str) -> Response<Body> {
    let failure = ApiFailure {
        status: 404,
        code: ErrorCode::Other("not_found".to_owned()),
        message: format!("There is no endpoint {method} {path}."),
    };
    reply::envelope(Err(failure), &ids::log_id())
}

/// 405 in the envelope, with `Allow`, for a known path called with the wrong method.
fn method_not_allowed(endpoint: Endpoint, method: &Method) -> Response<Body> {
    let allowed = match endpoint {
        Endpoint::Upload => "PUT, OPTIONS",
        Endpoint::Authorize => "GET",
        _ => "POST",
    };
    let failure = ApiFailure {
        status: 405,
        code: ErrorCode::Other("method_not_allowed".to_owned()),
        message: format!("{} takes {allowed}, not {method}.", endpoint.path()),
    };
    let mut response = reply::envelope(Err(failure), &ids::log_id());
    response
        .headers_mut()
        .insert(ALLOW, HeaderValue::from_static(allowed));
    response
}
