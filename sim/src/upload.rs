//! The upload host: `PUT {upload_url}` chunk by chunk, checked as strictly as TikTok's media
//! transfer guide describes, with the bytes hashed frame by frame as they arrive (never held in
//! memory); and the host's CORS.

use crate::endpoint::Endpoint;
use crate::handle::Sim;
use crate::reply::{self, Body};
use crate::state::State;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response};
use protocol::chunk::{ChunkRange, ContentRange};
use protocol::media::ContentType;
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::Duration;
use tokio::time::Instant;

/// A header naming why a PUT was refused; the body stays empty, as TikTok's does.
pub(crate) const REASON_HEADER: &str = "x-sim-reason";
/// How much of a refused request's body is read and discarded so that the client sees the
/// answer rather than a reset: a little more than TikTok's largest chunk.
const MAX_DRAIN: u64 = 130_000_000;

/// The service error that makes hyper close the connection without answering, which is how
/// [`crate::Fault::DropConnection`] is played.
#[derive(Debug)]
pub(crate) struct ConnectionDropped;

impl fmt::Display for ConnectionDropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("connection dropped on purpose (scripted fault)")
    }
}

impl std::error::Error for ConnectionDropped {}

/// `PUT /upload/?upload_id=…&upload_token=…`.
pub(crate) async fn put(
    sim: &Sim,
    request: Request<Incoming>,
) -> Result<Response<Body>, ConnectionDropped> {
    let hang = sim.state().faults.hang(Endpoint::Upload);
    if let Some(duration) = hang {
        tokio::time::sleep(duration).await;
    }
    let (parts, mut body) = request.into_parts();
    let answer = match admit(sim, &parts) {
        Err(answer) => answer,
        Ok(Admitted::Drop { length }) => {
            read_up_to(&mut body, length / 2).await;
            return Err(ConnectionDropped);
        }
        Ok(Admitted::Receive(pending)) => {
            let lose_answer = pending.lose_answer;
            let late_answer = pending.late_answer;
            if let Some(duration) = pending.hang {
                tokio::time::sleep(duration).await;
            }
            let answer = receive(sim, *pending, &mut body).await;
            let accepted = matches!(answer, Answer::Accepted { .. });
            if lose_answer && accepted {
                return Err(ConnectionDropped);
            }
            if let Some(duration) = late_answer.filter(|_| accepted) {
                tokio::time::sleep(duration).await;
            }
            answer
        }
    };
    read_up_to(&mut body, MAX_DRAIN).await;
    Ok(answer.into_response(sim.shared().cors, &parts.headers))
}

/// `OPTIONS /upload/…`: the CORS preflight a browser sends before its first PUT. Without CORS
/// the answer is a bare 403, so the browser's `fetch` fails with a `TypeError`.
pub(crate) fn preflight(sim: &Sim, request: &Request<Incoming>) -> Response<Body> {
    if !sim.shared().cors {
        return reply::empty(403);
    }
    let mut response = reply::empty(204);
    allow_origin(response.headers_mut(), request.headers());
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("PUT, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type, content-range"),
    );
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// What a PUT's headers allow.
enum Admitted {
    /// Read the body as the upload's next chunk.
    Receive(Box<Pending>),
    /// Cut the connection partway through a body of `length` bytes.
    Drop { length: u64 },
}

/// A chunk whose headers passed, waiting for its bytes.
struct Pending {
    /// The session's position in [`State::sessions`].
    session: usize,
    /// The chunk the plan expects, which the request's `Content-Range` names exactly.
    chunk: ChunkRange,
    /// The session's hash so far; the chunk's bytes go into this copy, which replaces the
    /// session's only if the whole chunk arrives.
    hasher: Sha256,
    /// The request's `Content-Type`.
    content_type: String,
    /// Accept the chunk, then drop the answer ([`crate::Fault::LoseAnswer`]).
    lose_answer: bool,
    /// Wait this long before reading the body ([`crate::Fault::HangChunk`]).
    hang: Option<Duration>,
    /// Accept the chunk, then wait this long to answer ([`crate::Fault::LateAnswer`]).
    late_answer: Option<Duration>,
}

/// The answer to a PUT, and the one place each becomes a response.
#[derive(Debug)]
enum Answer {
    /// 206 for a middle chunk, 201 for the last.
    Accepted { last: bool, progress: String },
    /// 404: no upload task for this URL.
    NotFound,
    /// 403: the URL expired.
    Expired { progress: String },
    /// 400: bad headers, or a body that does not match them.
    BadRequest { reason: String, progress: String },
    /// 416: `Content-Range` does not continue the upload.
    OutOfRange { reason: String, progress: String },
    /// A scripted status with nothing else.
    Scripted { status: u16 },
}

impl Answer {
    fn into_response(self, cors: bool, request: &HeaderMap) -> Response<Body> {
        let (status, progress, reason) = match self {
            Self::Accepted { last, progress } => {
                (if last { 201 } else { 206 }, Some(progress), None)
            }
            Self::NotFound => (404, None, Some("no upload task for this URL".to_owned())),
            Self::Expired { progress } => (
                403,
                Some(progress),
                Some("the upload URL expired".to_owned()),
            ),
            Self::BadRequest { reason, progress } => (400, Some(progress), Some(reason)),
            Self::OutOfRange { reason, progress } => (416, Some(progress), Some(reason)),
            Self::Scripted { status } => (status, None, Some("scripted fault".to_owned())),
        };
        if let Some(reason) = &reason {
            tracing::debug!(status, reason, "upload refused");
        }
        let mut response = reply::empty(status);
        let headers = response.headers_mut();
        if let Some(value) = progress.and_then(|p| HeaderValue::from_str(&p).ok()) {
            headers.insert(header::CONTENT_RANGE, value);
        }
        if let Some(value) = reason.and_then(|r| HeaderValue::from_str(&r).ok()) {
            headers.insert(REASON_HEADER, value);
        }
        if cors {
            allow_origin(headers, request);
            headers.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("Content-Range"),
            );
        }
        response
    }
}

/// Checks a PUT's URL and headers, in this order: the upload task exists (404), its URL has not
/// expired (403), it is not complete (416), `Content-Type` is a video type TikTok takes,
/// `Content-Range` parses and its total is the video's size, `Content-Length` equals the range's
/// length (400); then scripted faults; then the range must be exactly the plan's next chunk
/// (416).
fn admit(sim: &Sim, parts: &Parts) -> Result<Admitted, Answer> {
    let (upload_id, upload_token) = upload_query(parts.uri.query()).ok_or(Answer::NotFound)?;
    let now = Instant::now();
    let mut state = sim.state();
    let index = state
        .upload_index(&upload_id, &upload_token)
        .ok_or(Answer::NotFound)?;
    let State {
        sessions, faults, ..
    } = &mut *state;
    let session = &sessions[index];
    let progress = session.progress();
    let bad = |reason: String| Answer::BadRequest {
        reason,
        progress: session.progress(),
    };
    if session.is_expired(now) {
        return Err(Answer::Expired { progress });
    }
    let Some(next) = session.next_chunk() else {
        return Err(Answer::OutOfRange {
            reason: "the upload is already complete".to_owned(),
            progress,
        });
    };
    let headers = &parts.headers;
    let content_type = header_str(headers, header::CONTENT_TYPE)
        .filter(|value| ContentType::from_mime(value).is_some())
        .ok_or_else(|| {
            bad("Content-Type must be video/mp4, video/quicktime or video/webm".to_owned())
        })?;
    let range = header_str(headers, header::CONTENT_RANGE)
        .and_then(ContentRange::parse)
        .ok_or_else(|| bad("Content-Range must be `bytes FIRST-LAST/TOTAL`".to_owned()))?;
    let video_size = session.record.plan.video_size;
    if range.total != video_size {
        return Err(bad(format!(
            "Content-Range total {} is not the video_size {video_size} given at init",
            range.total
        )));
    }
    let length = header_str(headers, header::CONTENT_LENGTH)
        .and_then(|value| value.parse::<u64>().ok())
        .ok_or_else(|| bad("Content-Length is required".to_owned()))?;
    if length != range.len() {
        return Err(bad(format!(
            "Content-Length {length} does not match Content-Range ({} bytes)",
            range.len()
        )));
    }
    let plan = &session.record.plan;
    let chunk_index = plan.chunk_starting_at(range.first).map(|chunk| chunk.index);
    if let Some((_, status)) = faults.api_error(Endpoint::Upload) {
        return Err(Answer::Scripted { status });
    }
    if let Some(chunk_index) = chunk_index {
        if let Some(status) = faults.chunk_status(chunk_index) {
            return Err(Answer::Scripted { status });
        }
        if faults.drop_connection(chunk_index) {
            return Ok(Admitted::Drop { length });
        }
    }
    if range.first != next.start || range.last + 1 != next.end {
        return Err(Answer::OutOfRange {
            reason: format!(
                "Content-Range {range} does not continue the upload; the next chunk is {}",
                next.content_range()
            ),
            progress,
        });
    }
    Ok(Admitted::Receive(Box::new(Pending {
        session: index,
        chunk: next,
        hasher: session.hasher.clone(),
        content_type: content_type.to_owned(),
        lose_answer: faults.lose_answer(next.index),
        hang: faults.hang_chunk(next.index),
        late_answer: faults.late_answer(next.index),
    })))
}

/// Reads the chunk's body into the hash, then stores it if every byte arrived and no other PUT
/// stored the same chunk meanwhile. A [`crate::Fault::LateStore`] waits in a task of its own:
/// hyper may drop this request's future once its client has left, and a body that arrived
/// whole is TikTok's to store whatever the client does next.
async fn receive(sim: &Sim, pending: Pending, body: &mut Incoming) -> Answer {
    let Pending {
        session,
        chunk,
        mut hasher,
        content_type,
        ..
    } = pending;
    let mut received = 0u64;
    let mut cut_short = false;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            cut_short = true;
            break;
        };
        if let Some(data) = frame.data_ref() {
            received += data.len() as u64;
            hasher.update(data);
        }
    }
    let late_store = {
        let mut state = sim.state();
        if cut_short || received != chunk.len() {
            return Answer::BadRequest {
                reason: format!(
                    "the body carried {received} of the {} bytes declared",
                    chunk.len()
                ),
                progress: state.sessions[session].progress(),
            };
        }
        state.faults.late_store(chunk.index)
    };
    let Some(duration) = late_store else {
        return store(sim, session, chunk, hasher, &content_type);
    };
    let sim = sim.clone();
    tokio::spawn(async move {
        tokio::time::sleep(duration).await;
        store(&sim, session, chunk, hasher, &content_type)
    })
    .await
    .unwrap_or_else(|failed| std::panic::resume_unwind(failed.into_panic()))
}

/// Stores `chunk` (its bytes already in `hasher`) in upload `session`, unless another PUT
/// stored it meanwhile.
fn store(
    sim: &Sim,
    session: usize,
    chunk: ChunkRange,
    hasher: Sha256,
    content_type: &str,
) -> Answer {
    let now = Instant::now();
    let mut state = sim.state();
    let State {
        sessions, faults, ..
    } = &mut *state;
    let session = &mut sessions[session];
    if session.record.received_bytes != chunk.start {
        return Answer::OutOfRange {
            reason: "another request uploaded this chunk meanwhile".to_owned(),
            progress: session.progress(),
        };
    }
    session.commit(chunk, hasher, content_type, now, || faults.fail_publish());
    tracing::info!(
        publish_id = %session.record.publish_id,
        chunk = chunk.index,
        complete = session.record.complete,
        "chunk accepted"
    );
    Answer::Accepted {
        last: chunk.is_last,
        progress: session.progress(),
    }
}

/// Reads and discards up to `limit` bytes of what is left of `body`.
async fn read_up_to(body: &mut Incoming, limit: u64) {
    let mut read = 0u64;
    while read < limit {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |data| data.len() as u64),
            _ => break,
        }
    }
}

/// `upload_id` and `upload_token` from the upload URL's query.
fn upload_query(query: Option<&str>) -> Option<(String, String)> {
    let mut id = None;
    let mut token = None;
    for (key, value) in form_urlencoded::parse(query?.as_bytes()) {
        match key.as_ref() {
            "upload_id" => id = Some(value.into_owned()),
            "upload_token" => token = Some(value.into_owned()),
            _ => {}
        }
    }
    Some((id?, token?))
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// `Access-Control-Allow-Origin`: the request's `Origin`, or `*` without one.
fn allow_origin(headers: &mut HeaderMap, request: &HeaderMap) {
    let origin = request
        .get(header::ORIGIN)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("*"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(header::VARY, HeaderValue::from_static("Origin"));
}
