//! The chunk sender: the file is cut with `Blob.slice` exactly as the chunk plan says and each
//! piece is `PUT` with `Content-Type` and `Content-Range` — straight to TikTok's `upload_url`, or
//! through the proxy's relay when the browser may not reach TikTok directly.
//!
//! What to do when a chunk is not accepted is decided in [`protocol::retry`] and carried out by
//! [`crate::engine`]; this file only sends one chunk and names what came back.
//!
//! Only a `Blob` handle crosses into wasm: the browser streams each slice from disk, so memory
//! stays flat whatever the file size. `XMLHttpRequest` is used rather than `fetch` because it
//! reports upload progress within a chunk (a 64 MB chunk would otherwise sit at 0 % for a while).

use js_sys::Promise;
use protocol::chunk::{ChunkPlan, ChunkRange, ContentRange};
use protocol::media::ContentType;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ProgressEvent, XmlHttpRequest};

/// Where a chunk's PUT goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Straight to TikTok's `upload_url` (cross-origin: needs TikTok's CORS consent).
    Direct(String),
    /// Through our proxy's relay, `…/api/posts/{publish_id}/chunk` (same origin).
    Relay(String),
}

impl Target {
    /// The URL the PUT goes to.
    pub fn url(&self) -> &str {
        match self {
            Self::Direct(url) | Self::Relay(url) => url,
        }
    }
}

/// What TikTok's upload host answered to one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkReply {
    /// The HTTP status; 0 when the browser got no answer (network failure, CORS refused,
    /// aborted, or timed out).
    pub status: u16,
    /// The `Content-Range` TikTok reports (`bytes 0-LAST/TOTAL`), if the browser may read it.
    pub content_range: Option<ContentRange>,
    /// Whether the request ran past its time limit (then `status` is 0).
    pub timed_out: bool,
}

/// Why an upload stopped. The text is what the creator reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UploadError {
    #[error(
        "The browser could not reach TikTok's upload server while sending part {} of {total}, even after several tries. Check your connection and post again.",
        chunk + 1
    )]
    Unreachable { chunk: u64, total: u64 },
    #[error("The upload link expired (TikTok allows one hour per upload). Post the video again.")]
    Expired,
    #[error("TikTok no longer has this upload. Post the video again.")]
    NotFound,
    #[error(
        "TikTok's record of the upload does not match what was sent (part {} of {total}). Post the video again.",
        chunk + 1
    )]
    OutOfSync { chunk: u64, total: u64 },
    #[error(
        "TikTok's upload server kept failing (HTTP {status}) on part {} of {total}. Try again in a few minutes.",
        chunk + 1
    )]
    ServerError { chunk: u64, total: u64, status: u16 },
    #[error(
        "TikTok refused part {} of {total} of the video (HTTP {status}). Post the video again.",
        chunk + 1
    )]
    Refused { chunk: u64, total: u64, status: u16 },
    #[error("The browser could not send the file: {0}")]
    Browser(String),
}

/// What the status of a chunk's answer means, given whether it was the last. `Ok` when TikTok
/// accepted the chunk; otherwise the error the upload stops with if nothing else helps.
pub fn judge(reply: &ChunkReply, chunk: &ChunkRange, plan: &ChunkPlan) -> Result<(), UploadError> {
    let (index, total) = (chunk.index, plan.total_chunk_count);
    match (reply.status, chunk.is_last) {
        (206, false) | (201, true) => Ok(()),
        (0, _) => Err(UploadError::Unreachable {
            chunk: index,
            total,
        }),
        (403, _) => Err(UploadError::Expired),
        (404, _) => Err(UploadError::NotFound),
        (416, _) | (201, false) | (206, true) => Err(UploadError::OutOfSync {
            chunk: index,
            total,
        }),
        (status @ 500..=599, _) => Err(UploadError::ServerError {
            chunk: index,
            total,
            status,
        }),
        (status, _) => Err(UploadError::Refused {
            chunk: index,
            total,
            status,
        }),
    }
}

/// The bytes of one chunk as a `Blob`: a view of the file, not a copy.
pub fn chunk_blob(file: &Blob, chunk: &ChunkRange) -> Result<Blob, UploadError> {
    file.slice_with_f64_and_f64(chunk.start as f64, chunk.end as f64)
        .map_err(describe)
}

/// A browser exception as the creator reads it: the exception's own text (`String(e)`), not a
/// Rust debug dump (which would also cost the bundle its formatting machinery).
fn describe(error: JsValue) -> UploadError {
    UploadError::Browser(crate::exception_text(&error))
}

/// One chunk's request, as it will be sent.
#[derive(Debug, Clone, Copy)]
pub struct ChunkRequest<'a> {
    pub file: &'a Blob,
    pub target: &'a Target,
    pub chunk: &'a ChunkRange,
    pub content_type: ContentType,
    /// Give up on the request after this many milliseconds (0: never).
    pub timeout_ms: u32,
    /// The proxy credential header, sent only when `target` is the relay.
    pub credential: Option<(&'a str, &'a str)>,
}

/// One `PUT` of one chunk: `Blob.slice(start, end)` as the body, streamed by the browser.
/// `on_start` gets the request once it is sent, so that it can be aborted (pause, cancel);
/// `on_progress` gets the bytes of this chunk sent so far.
pub async fn put_chunk(
    request: ChunkRequest<'_>,
    on_start: impl FnOnce(&XmlHttpRequest),
    on_progress: impl Fn(u64) + 'static,
) -> Result<ChunkReply, UploadError> {
    let browser = describe;
    let body = chunk_blob(request.file, request.chunk)?;
    let xhr = XmlHttpRequest::new().map_err(browser)?;
    xhr.open_with_async("PUT", request.target.url(), true)
        .map_err(browser)?;
    xhr.set_timeout(request.timeout_ms);
    // Content-Length is set by the browser from the slice's size, which is exactly the chunk.
    xhr.set_request_header("Content-Type", request.content_type.mime())
        .map_err(browser)?;
    xhr.set_request_header("Content-Range", &request.chunk.content_range())
        .map_err(browser)?;
    if let (Target::Relay(_), Some((name, value))) = (request.target, request.credential) {
        // Our proxy's credential goes to our proxy's relay only, never to TikTok.
        xhr.set_request_header(name, value).map_err(browser)?;
    }
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        on_progress(event.loaded() as u64);
    });
    xhr.upload()
        .map_err(browser)?
        .set_onprogress(Some(progress.as_ref().unchecked_ref()));
    let timed_out = Rc::new(Cell::new(false));
    let flag = timed_out.clone();
    let on_timeout = Closure::<dyn FnMut()>::new(move || flag.set(true));
    xhr.set_ontimeout(Some(on_timeout.as_ref().unchecked_ref()));
    // `loadend` fires exactly once, after success, error, abort or timeout alike.
    let finished = Promise::new(&mut |resolve, _reject| xhr.set_onloadend(Some(&resolve)));
    xhr.send_with_opt_blob(Some(&body)).map_err(browser)?;
    on_start(&xhr);
    JsFuture::from(finished).await.map_err(browser)?;
    drop((progress, on_timeout));
    let content_range = xhr
        .get_response_header("Content-Range")
        .ok()
        .flatten()
        .and_then(|value| ContentRange::parse(&value));
    Ok(ChunkReply {
        status: xhr.status().unwrap_or(0),
        content_range,
        timed_out: timed_out.get(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn reply(status: u16) -> ChunkReply {
        ChunkReply {
            status,
            content_range: None,
            timed_out: false,
        }
    }

    #[test]
    fn judges_answers_like_the_media_transfer_guide() {
        let plan = ChunkPlan::validate(50_000_123, 10_000_000, 5).unwrap();
        let middle = plan.chunk(1).unwrap();
        let last = plan.chunk(4).unwrap();
        assert_eq!(judge(&reply(206), &middle, &plan), Ok(()));
        assert_eq!(judge(&reply(201), &last, &plan), Ok(()));
        assert_eq!(
            judge(&reply(201), &middle, &plan),
            Err(UploadError::OutOfSync { chunk: 1, total: 5 })
        );
        assert_eq!(
            judge(&reply(206), &last, &plan),
            Err(UploadError::OutOfSync { chunk: 4, total: 5 })
        );
        assert_eq!(
            judge(&reply(403), &middle, &plan),
            Err(UploadError::Expired)
        );
        assert_eq!(
            judge(&reply(404), &middle, &plan),
            Err(UploadError::NotFound)
        );
        assert_eq!(
            judge(&reply(503), &middle, &plan),
            Err(UploadError::ServerError {
                chunk: 1,
                total: 5,
                status: 503
            })
        );
        assert_eq!(
            judge(&reply(0), &middle, &plan),
            Err(UploadError::Unreachable { chunk: 1, total: 5 })
        );
        assert_eq!(
            judge(&reply(400), &last, &plan),
            Err(UploadError::Refused {
                chunk: 4,
                total: 5,
                status: 400
            })
        );
        assert!(
            UploadError::ServerError {
                chunk: 1,
                total: 5,
                status: 503
            }
            .to_string()
            .contains("part 2 of 5")
        );
    }
}
