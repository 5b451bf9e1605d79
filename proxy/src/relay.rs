//! The chunk relay, for browsers that may not PUT to TikTok's upload host directly (CORS):
//! `PUT /api/posts/{publish_id}/chunk` streams the body to the `upload_url` that init returned
//! for that post — never to a URL the caller names, so this is no open proxy — and passes back
//! TikTok's status and `Content-Range`. Memory stays at hyper's frame buffers whatever the chunk
//! size: the body flows through, it is never collected.

use crate::body::{Body, empty_response, idle_body};
use crate::error::Error;
use crate::redact::transport_detail;
use crate::server::App;
use crate::upstream_stall::Progress;
use http_body_util::Limited;
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use protocol::chunk::{ContentRange, MAX_FINAL_CHUNK_SIZE};

/// `PUT /api/posts/{publish_id}/chunk`.
pub async fn put_chunk(
    app: &App,
    publish_id: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, Error> {
    let record = app.posts.get(publish_id).ok_or(Error::UnknownUpload)?;
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let range = header(CONTENT_RANGE)
        .and_then(ContentRange::parse)
        .ok_or(Error::BadChunk(
            "Content-Range must be \"bytes FIRST-LAST/TOTAL\"",
        ))?;
    let length: u64 = header(CONTENT_LENGTH)
        .and_then(|v| v.parse().ok())
        .ok_or(Error::BadChunk("Content-Length is required"))?;
    if header(CONTENT_TYPE) != Some(record.content_type.mime()) {
        return Err(Error::BadChunk(
            "Content-Type must be the video's type, as announced at init",
        ));
    }
    // Only the plan's own chunks go through: the relay forwards nothing TikTok did not ask for.
    let chunk = record
        .plan
        .chunk_starting_at(range.first)
        .filter(|chunk| chunk.end == range.last + 1 && range.total == record.plan.video_size)
        .ok_or(Error::BadChunk(
            "Content-Range is not a chunk of this post's plan",
        ))?;
    if length != chunk.len() || length > MAX_FINAL_CHUNK_SIZE {
        return Err(Error::BadChunk(
            "Content-Length must equal the chunk's length",
        ));
    }
    // Idle, not total: a slow uplink's chunk keeps flowing; only a stalled one is cut off.
    let body = Limited::new(
        idle_body(request),
        usize::try_from(length).unwrap_or(usize::MAX),
    );
    // A stall timeout toward TikTok too: the clock runs only while the upload host has the
    // turn (`upstream_stall.rs`), so the answer's wait counts from the last byte sent.
    let progress = Progress::new();
    let send = app
        .uploads
        .put(&record.upload_url)
        .header(CONTENT_TYPE.as_str(), record.content_type.mime())
        .header(CONTENT_RANGE.as_str(), chunk.content_range())
        .header(CONTENT_LENGTH.as_str(), length)
        .body(reqwest::Body::wrap(progress.track(body)))
        .send();
    let answer = tokio::select! {
        answer = send => answer,
        () = progress.stalled(app.upstream_timeout) => return Err(Error::UploadHostTimeout),
    };
    let answer = answer.map_err(|error| {
        if let Some(idle) = crate::idle_body::is_stalled(&error) {
            Error::BodyTimeout(idle)
        } else if error.is_timeout() {
            Error::UploadHostTimeout
        } else {
            Error::UploadHostUnreachable(transport_detail(error))
        }
    })?;
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut response = empty_response(status);
    if let Some(reported) = answer.headers().get(CONTENT_RANGE.as_str())
        && let Ok(value) = HeaderValue::from_bytes(reported.as_bytes())
    {
        response.headers_mut().insert(CONTENT_RANGE, value);
    }
    Ok(response)
}
