//! The chunk sender: the file is cut with `Blob.slice` exactly as the chunk plan says and each
//! piece is `PUT` to TikTok's `upload_url` with `Content-Type` and `Content-Range`, in order.
//!
//! Only a `Blob` handle crosses into wasm: the browser streams each slice from disk, so memory
//! stays flat whatever the file size. `XMLHttpRequest` is used rather than `fetch` because it
//! reports upload progress within a chunk (a 64 MB chunk would otherwise sit at 0 % for a while).

use js_sys::Promise;
use protocol::chunk::{ChunkPlan, ChunkRange, ContentRange};
use protocol::media::ContentType;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ProgressEvent, XmlHttpRequest};

/// What TikTok's upload host answered to one chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkReply {
    /// The HTTP status; 0 when the browser got no answer (network failure, or CORS refused).
    pub status: u16,
    /// The `Content-Range` TikTok reports (`bytes 0-LAST/TOTAL`), if the browser may read it.
    pub content_range: Option<ContentRange>,
}

/// Why an upload stopped. The text is what the creator reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UploadError {
    #[error(
        "The browser could not reach TikTok's upload server while sending part {} of {total} (a network problem, or the server refused this page's request). Check your connection and post again.",
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
        "TikTok's upload server had a problem (HTTP {status}) with part {} of {total}. Try again in a few minutes.",
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

/// What the status of a chunk's answer means, given whether it was the last.
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

/// Sends every chunk of `file` in order, calling `on_progress(bytes_sent)` as bytes leave.
/// Stops at the first chunk TikTok does not accept.
pub async fn send_file(
    file: &Blob,
    upload_url: &str,
    plan: &ChunkPlan,
    content_type: ContentType,
    on_progress: impl Fn(u64) + Clone + 'static,
) -> Result<(), UploadError> {
    for chunk in plan.chunks() {
        let before = chunk.start;
        let report = on_progress.clone();
        let reply = put_chunk(file, upload_url, &chunk, content_type, move |loaded| {
            report(before + loaded)
        })
        .await?;
        judge(&reply, &chunk, plan)?;
        on_progress(chunk.end);
    }
    Ok(())
}

/// The bytes of one chunk as a `Blob`: a view of the file, not a copy.
pub fn chunk_blob(file: &Blob, chunk: &ChunkRange) -> Result<Blob, UploadError> {
    file.slice_with_f64_and_f64(chunk.start as f64, chunk.end as f64)
        .map_err(|e| UploadError::Browser(format!("{e:?}")))
}

/// One `PUT` of one chunk: `Blob.slice(start, end)` as the body, streamed by the browser.
pub async fn put_chunk(
    file: &Blob,
    upload_url: &str,
    chunk: &ChunkRange,
    content_type: ContentType,
    on_progress: impl Fn(u64) + 'static,
) -> Result<ChunkReply, UploadError> {
    let browser = |e: JsValue| UploadError::Browser(format!("{e:?}"));
    let body = chunk_blob(file, chunk)?;
    let xhr = XmlHttpRequest::new().map_err(browser)?;
    xhr.open_with_async("PUT", upload_url, true)
        .map_err(browser)?;
    // Content-Length is set by the browser from the slice's size, which is exactly the chunk.
    xhr.set_request_header("Content-Type", content_type.mime())
        .map_err(browser)?;
    xhr.set_request_header("Content-Range", &chunk.content_range())
        .map_err(browser)?;
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        on_progress(event.loaded() as u64);
    });
    xhr.upload()
        .map_err(browser)?
        .set_onprogress(Some(progress.as_ref().unchecked_ref()));
    // `loadend` fires exactly once, after success, error, abort or timeout alike.
    let finished = Promise::new(&mut |resolve, _reject| xhr.set_onloadend(Some(&resolve)));
    xhr.send_with_opt_blob(Some(&body)).map_err(browser)?;
    JsFuture::from(finished).await.map_err(browser)?;
    drop(progress);
    let content_range = xhr
        .get_response_header("Content-Range")
        .ok()
        .flatten()
        .and_then(|value| ContentRange::parse(&value));
    Ok(ChunkReply {
        status: xhr.status().unwrap_or(0),
        content_range,
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
