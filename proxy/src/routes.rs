//! Every route, in one `match (method, path)`, and the handler behind each.

use crate::access::{self, Access};
use crate::body::{Body, json_response, read_json};
use crate::error::Error;
use crate::init;
use crate::log::{AboutPost, LogEvent, LogLine, Page, PostDetails, StatusSeen, UploadReported};
use crate::login;
use crate::operator::{Caller, Client};
use crate::posts::PostRecord;
use crate::relay;
use crate::server::App;
use crate::session;
use crate::statics;
use crate::upload;
use hyper::body::Incoming;
use hyper::header::ACCEPT_ENCODING;
use hyper::{Method, Request, Response, StatusCode};
use protocol::tiktok::is_publish_id;
use protocol::wire::{
    ACCESS_PATH, Access as AccessState, CreatePost, CreatedPost, Creator, Health, JOBS_PATH,
    LOGIN_PATH, MAX_UPLOAD_EVENT_MESSAGE, PostState, SESSION_PATH, UPLOAD_PATH, UploadEvent,
};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::time::Instant;

/// The prefix of `GET /api/posts/{publish_id}`.
const POST_PREFIX: &str = "/api/posts/";

/// The prefix of `GET /api/jobs/{job_id}`.
const JOBS_PREFIX: &str = "/api/jobs/";

/// The service behind every connection: checks who is calling (`access.rs`), routes, turns
/// errors into responses, and logs one tracing line per request (method, path without query,
/// status, latency; never a header).
pub async fn handle(
    app: Arc<App>,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let client = Client::of(peer, request.headers());
    let access = access::check(&app, &method, &path, request.headers());
    let mut response = match access {
        Access::Open => route(&app, &Caller::Anonymous, client, request)
            .await
            .unwrap_or_else(Error::into_response),
        Access::Preflight(origin) => access::preflight(&origin),
        Access::Allowed { caller, origin } => {
            let mut response = route(&app, &caller, client, request)
                .await
                .unwrap_or_else(Error::into_response);
            if let Some(origin) = origin {
                access::allow(&mut response, &origin);
            }
            response
        }
        Access::Refused(error, origin) => {
            let mut response = error.into_response();
            if let Some(origin) = origin {
                access::allow(&mut response, &origin);
            }
            response
        }
    };
    if access::is_guarded(&path) {
        access::vary(&mut response);
    }
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    Ok(response)
}

async fn route(
    app: &Arc<App>,
    caller: &Caller,
    client: Client,
    request: Request<Incoming>,
) -> Result<Response<Body>, Error> {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    match (&method, path.as_str()) {
        (&Method::GET, "/api/health") => Ok(health(app)),
        (&Method::GET, ACCESS_PATH) => Ok(access_state(app, caller)),
        (_, ACCESS_PATH) => Err(Error::MethodNotAllowed("GET")),
        (&Method::POST, SESSION_PATH) => session::sign_in(app, client, request).await,
        (&Method::DELETE, SESSION_PATH) => Ok(session::sign_out(app, client, &request)),
        (_, SESSION_PATH) => Err(Error::MethodNotAllowed("POST, DELETE")),
        (&Method::GET, "/api/connection") => Ok(connection(app, caller).await),
        (_, "/api/connection") => Err(Error::MethodNotAllowed("GET")),
        (&Method::POST, LOGIN_PATH) => login::login(app, caller, &request),
        (_, LOGIN_PATH) => Err(Error::MethodNotAllowed("POST")),
        (&Method::GET, access::CALLBACK_PATH) => login::callback(app, &request).await,
        (_, access::CALLBACK_PATH) => Err(Error::MethodNotAllowed("GET")),
        (&Method::POST, "/auth/logout") => login::logout(app, &request).await,
        (_, "/auth/logout") => Err(Error::MethodNotAllowed("POST")),
        (&Method::GET, "/api/creator") => creator(app).await,
        (_, "/api/health" | "/api/creator") => Err(Error::MethodNotAllowed("GET")),
        (&Method::GET, "/api/posts") => history(app, request.uri().query()).await,
        (&Method::POST, "/api/posts") => create_post(app, caller, request).await,
        (_, "/api/posts") => Err(Error::MethodNotAllowed("GET, POST")),
        (&Method::POST, UPLOAD_PATH) => upload::upload(app, caller, request).await,
        (_, UPLOAD_PATH) => Err(Error::MethodNotAllowed("POST")),
        (&Method::GET, JOBS_PATH) => Ok(upload::jobs(app)),
        (_, JOBS_PATH) => Err(Error::MethodNotAllowed("GET")),
        (&Method::GET, path) if path.starts_with(JOBS_PREFIX) => {
            upload::job(app, &path[JOBS_PREFIX.len()..])
        }
        (&Method::PATCH, path) if path.starts_with(JOBS_PREFIX) => {
            upload::edit(app, &path[JOBS_PREFIX.len()..], request).await
        }
        (&Method::DELETE, path) if path.starts_with(JOBS_PREFIX) => {
            upload::cancel(app, &path[JOBS_PREFIX.len()..]).await
        }
        (_, path) if path.starts_with(JOBS_PREFIX) => {
            Err(Error::MethodNotAllowed("GET, PATCH, DELETE"))
        }
        (method, path) if path.starts_with(POST_PREFIX) => {
            let rest = &path[POST_PREFIX.len()..];
            match (method, rest.split_once('/')) {
                (&Method::GET, None) => post_status(app, caller, rest).await,
                (_, None) => Err(Error::MethodNotAllowed("GET")),
                (&Method::PUT, Some((id, "chunk"))) => {
                    let id = owned_publish_id(app, caller, id)?;
                    relay::put_chunk(app, id, request).await
                }
                (_, Some((_, "chunk"))) => Err(Error::MethodNotAllowed("PUT")),
                (&Method::POST, Some((id, "events"))) => {
                    let id = owned_publish_id(app, caller, id)?;
                    upload_event(app, id, request).await
                }
                (_, Some((_, "events"))) => Err(Error::MethodNotAllowed("POST")),
                (_, Some(_)) => Err(Error::NotFound),
            }
        }
        (_, path) if access::is_guarded(path) => Err(Error::NotFound),
        (&Method::GET | &Method::HEAD, path) => {
            let accept = request
                .headers()
                .get(ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok());
            let head = method == Method::HEAD;
            statics::serve(&app.statics, path, head, accept).await
        }
        _ => Err(Error::MethodNotAllowed("GET, HEAD")),
    }
}

/// `GET /api/health`.
fn health(app: &App) -> Response<Body> {
    let health = Health {
        ok: true,
        connected: app.tiktok.is_connected(),
    };
    json_response(StatusCode::OK, &health)
}

/// `GET /api/session`: whether this proxy needs an operator, and whether this caller is one.
fn access_state(app: &App, caller: &Caller) -> Response<Body> {
    let state = AccessState {
        sign_in_required: app.operator.required(),
        password_sign_in: app.operator.password_sign_in(),
        operator: caller.is_operator(),
    };
    json_response(StatusCode::OK, &state)
}

/// `GET /api/connection`: whether TikTok is connected, and what the connection allows. Only
/// the operator is told where to connect.
async fn connection(app: &App, caller: &Caller) -> Response<Body> {
    let mut connection = app.account.connection().await;
    if !caller.is_operator() {
        connection.login_url = None;
    }
    json_response(StatusCode::OK, &connection)
}

/// `GET /api/creator`: `creator_info/query`, as the page needs it.
async fn creator(app: &App) -> Result<Response<Body>, Error> {
    let info = app.tiktok.creator_info().await?;
    Ok(json_response(StatusCode::OK, &Creator::from(info)))
}

/// `GET /api/posts?limit=&before=`: one page of the log, folded.
async fn history(app: &App, query: Option<&str>) -> Result<Response<Body>, Error> {
    let page = Page::from_query(query).map_err(Error::BadQuery)?;
    let history = app
        .log
        .page(page)
        .await
        .map_err(|error| Error::Internal(format!("reading the log: {error}")))?;
    Ok(json_response(StatusCode::OK, &history))
}

/// `POST /api/posts`: validate, init at TikTok (`init.rs`: the chunk plan TikTok accepts),
/// remember and log the post.
async fn create_post(
    app: &App,
    caller: &Caller,
    request: Request<Incoming>,
) -> Result<Response<Body>, Error> {
    let post: CreatePost = read_json(request).await?;
    let (_, content_type) = post.validate()?;
    // A mode the granted scopes do not allow is refused here, before TikTok is asked.
    app.account.check_mode(post.mode).await?;
    let details = PostDetails::of(&post, caller.owner());
    let started = match init::start(app, &post, false).await {
        Ok(started) => started,
        // Nothing was asked of TikTok: nothing to log.
        Err(error @ (Error::NotConnected | Error::TooManyInits(_))) => return Err(error),
        Err(error) => {
            let failed = init::failed(details, &error);
            append(app, LogEvent::PostFailed(failed)).await;
            return Err(error);
        }
    };
    let created = init::created(details, &started);
    let init::Started {
        plan,
        publish_id,
        upload_url,
        ..
    } = started;

    app.posts.insert(
        publish_id.clone(),
        PostRecord {
            upload_url: upload_url.clone(),
            plan,
            mode: post.mode,
            content_type,
            file_name: post.file_name,
            owner: caller.owner(),
        },
    );
    append(app, LogEvent::PostCreated(created)).await;
    let created = CreatedPost {
        publish_id,
        upload_url,
        chunk_size: plan.chunk_size,
        total_chunk_count: plan.total_chunk_count,
    };
    Ok(json_response(StatusCode::CREATED, &created))
}

/// A path's `publish_id`, if it can be one.
fn checked_publish_id(publish_id: &str) -> Result<&str, Error> {
    is_publish_id(publish_id)
        .then_some(publish_id)
        .ok_or(Error::InvalidPublishId)
}

/// A path's `publish_id`, if `caller` may act on that post: the operator on any, an embedded
/// page only on one it started (and which this proxy therefore still knows).
fn owned_publish_id<'a>(app: &App, caller: &Caller, publish_id: &'a str) -> Result<&'a str, Error> {
    let publish_id = checked_publish_id(publish_id)?;
    if caller.is_operator() {
        return Ok(publish_id);
    }
    match app.posts.get(publish_id) {
        Some(record) if caller.may_touch(&record.owner) => Ok(publish_id),
        _ => Err(Error::NotYourPost),
    }
}

/// `POST /api/posts/{publish_id}/events`: the browser's account of the upload, for the log.
async fn upload_event(
    app: &App,
    publish_id: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, Error> {
    let report: UploadEvent = read_json(request).await?;
    // Counted only once the body is a valid report; past the cap nothing more is logged.
    let record = app.posts.count_event(publish_id)?;
    let mut event = UploadReported::new(publish_id, record.mode, &record.file_name, report.kind);
    event.chunk = report.chunk;
    event.http_status = report.http_status;
    event.message = report.message.map(|mut message| {
        if message.len() > MAX_UPLOAD_EVENT_MESSAGE {
            let mut end = MAX_UPLOAD_EVENT_MESSAGE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
        }
        message
    });
    append(app, LogEvent::Upload(event)).await;
    Ok(crate::body::empty_response(StatusCode::NO_CONTENT))
}

/// `GET /api/posts/{publish_id}`: `status/fetch`, cached briefly; a change is logged.
async fn post_status(
    app: &App,
    caller: &Caller,
    publish_id: &str,
) -> Result<Response<Body>, Error> {
    let publish_id = owned_publish_id(app, caller, publish_id)?;
    let state = poll(app, publish_id).await?;
    Ok(json_response(StatusCode::OK, &state))
}

/// `status/fetch` through the status cache, logging a change; the page's polls and the
/// server-side jobs' go through here alike.
pub(crate) async fn poll(app: &App, publish_id: &str) -> Result<PostState, Error> {
    let fetch = async {
        let data = app.tiktok.fetch_status(publish_id).await?;
        Ok(PostState {
            publish_id: publish_id.to_owned(),
            status: data.status,
            fail_reason: data.fail_reason,
            post_ids: data.publicaly_available_post_id,
            uploaded_bytes: data.uploaded_bytes,
        })
    };
    let polled = app.statuses.get_or_fetch(publish_id, fetch).await?;
    if polled.changed {
        let state = &polled.state;
        let record = app.posts.get(publish_id);
        let seen = StatusSeen {
            post: AboutPost::new(
                publish_id,
                record.as_ref().map(|record| record.mode),
                record.as_ref().map_or("", |record| &record.file_name),
            ),
            status: state.status.to_string(),
            fail_reason: state.fail_reason.as_ref().map(|reason| reason.0.clone()),
            post_ids: state.post_ids.clone(),
        };
        append(app, LogEvent::Status(seen)).await;
    }
    Ok(polled.state)
}

/// Appends to the log. A failed append is reported but does not fail the request: the post
/// exists at TikTok either way, and the creator needs its `publish_id`.
pub(crate) async fn append(app: &App, event: LogEvent) {
    let line = LogLine::now(event);
    if let Err(error) = app.log.append(&line).await {
        tracing::error!(%error, event = line.event.name(), "could not append to the log");
    }
}
