//! The chunk sender: the file is cut with `Blob.slice` exactly as the chunk plan says and each
//! piece is `PUT` with `Content-Type` and `Content-Range` — straight to TikTok's `upload_url`, or
//! through the proxy's relay when the browser may not reach TikTok directly.
//!
//! What to do when a chunk is not accepted is decided in [`protocol::retry`] and carried out by
//! [`crate::engine`]; this file only sends one chunk and says what came back, in the types of
//! [`crate::engine::transport`] (the engine's XHR transport is this function).
//!
//! Only a `Blob` handle crosses into wasm: the browser streams each slice from disk, so memory
//! stays flat whatever the file size. `XMLHttpRequest` is used rather than `fetch` because it
//! reports upload progress within a chunk (a 64 MB chunk would otherwise sit at 0 % for a while),
//! and that progress is also what tells a slow link from a dead one: a PUT is abandoned only
//! when it shows no progress for the stall timeout ([`protocol::stall`]), never for taking long.

pub use crate::engine::transport::{ChunkReply, Target, UploadError, judge};
use futures::future::{Either, select};
use js_sys::Promise;
use protocol::chunk::{ChunkRange, ContentRange};
use protocol::media::ContentType;
use protocol::stall::{answer_timeout_ms, stall_remaining_ms};
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ProgressEvent, XmlHttpRequest};

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
    /// Give up on the request once it has shown no progress for this many milliseconds: no
    /// byte of the body sent, or no answer since the last byte went (0: never).
    pub stall_timeout_ms: u32,
    /// The proxy credential header, sent only when `target` is the relay.
    pub credential: Option<(&'a str, &'a str)>,
}

/// One `PUT` of one chunk: `Blob.slice(start, end)` as the body, streamed by the browser.
/// `on_start` gets the request once it is sent, so that it can be aborted (pause, cancel);
/// `on_progress` gets the bytes of this chunk sent so far. A request that shows no progress for
/// `stall_timeout_ms` is aborted and answers `timed_out` with status 0.
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
    // Content-Length is set by the browser from the slice's size, which is exactly the chunk.
    xhr.set_request_header("Content-Type", request.content_type.mime())
        .map_err(browser)?;
    xhr.set_request_header("Content-Range", &request.chunk.content_range())
        .map_err(browser)?;
    if let (Target::Relay(_), Some((name, value))) = (request.target, request.credential) {
        // Our proxy's credential goes to our proxy's relay only, never to TikTok.
        xhr.set_request_header(name, value).map_err(browser)?;
    }
    // The last sign of life (a body byte leaving, or the body done) and how much went.
    let watch = Rc::new(Watch {
        last_progress_ms: Cell::new(now_ms()),
        body_sent: Cell::new(0),
        timeout_ms: Cell::new(request.stall_timeout_ms),
    });
    let seen = watch.clone();
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        let loaded = event.loaded() as u64;
        seen.moved(loaded);
        on_progress(loaded);
    });
    // Upload `load`: the whole body is out, and the answer is awaited from now on — through
    // the relay, as long as the relay may take to say TikTok went silent.
    let (seen, len) = (watch.clone(), request.chunk.len());
    let answer_ms = answer_timeout_ms(
        request.stall_timeout_ms,
        matches!(request.target, Target::Relay(_)),
    );
    let body_done = Closure::<dyn FnMut()>::new(move || {
        seen.moved(len);
        seen.timeout_ms.set(answer_ms);
    });
    let upload = xhr.upload().map_err(browser)?;
    upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    upload.set_onload(Some(body_done.as_ref().unchecked_ref()));
    // `loadend` fires exactly once, after success, error or abort alike.
    let finished = Promise::new(&mut |resolve, _reject| xhr.set_onloadend(Some(&resolve)));
    xhr.send_with_opt_blob(Some(&body)).map_err(browser)?;
    watch.last_progress_ms.set(now_ms());
    on_start(&xhr);
    let finished = JsFuture::from(finished);
    let stalled = std::pin::pin!(stall(&watch));
    let timed_out = match select(finished, stalled).await {
        Either::Left((ended, _)) => {
            ended.map_err(browser)?;
            false
        }
        Either::Right(((), finished)) => {
            // `abort()` fires `loadend` at once; the answer is status 0.
            xhr.abort().map_err(browser)?;
            finished.await.map_err(browser)?;
            true
        }
    };
    drop((progress, body_done));
    let content_range = xhr
        .get_response_header("Content-Range")
        .ok()
        .flatten()
        .and_then(|value| ContentRange::parse(&value));
    Ok(ChunkReply {
        status: if timed_out {
            0
        } else {
            xhr.status().unwrap_or(0)
        },
        content_range,
        timed_out,
        body_sent: watch.body_sent.get(),
    })
}

/// What one request has shown of life, for its stall timer.
struct Watch {
    last_progress_ms: Cell<f64>,
    body_sent: Cell<u64>,
    /// The stall timeout in force: while sending, then while awaiting the answer.
    timeout_ms: Cell<u32>,
}

impl Watch {
    fn moved(&self, body_sent: u64) {
        self.last_progress_ms.set(now_ms());
        self.body_sent.set(self.body_sent.get().max(body_sent));
    }
}

/// Resolves once `watch` has shown no progress for its timeout (never, for 0). One timer at a
/// time: when it fires early because progress came meanwhile, it waits out only the rest.
async fn stall(watch: &Watch) {
    let mut wait_ms = watch.timeout_ms.get();
    if wait_ms == 0 {
        return std::future::pending().await;
    }
    loop {
        gloo_timers::future::TimeoutFuture::new(wait_ms).await;
        let timeout_ms = watch.timeout_ms.get();
        match stall_remaining_ms(watch.last_progress_ms.get(), now_ms(), timeout_ms) {
            Some(left_ms) => wait_ms = left_ms,
            None => return,
        }
    }
}

/// A monotonic clock in milliseconds (`performance.now()`), so a wall-clock change is no stall.
fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|window| window.performance())
        .map_or_else(js_sys::Date::now, |performance| performance.now())
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    async fn progress_puts_off_the_stall_and_silence_brings_it() {
        let watch = Watch {
            last_progress_ms: Cell::new(now_ms()),
            body_sent: Cell::new(0),
            timeout_ms: Cell::new(200),
        };
        let started = now_ms();
        // Progress every 50 ms for 600 ms (three stall timeouts), then silence.
        let progress = std::pin::pin!(async {
            for step in 1..=12 {
                gloo_timers::future::TimeoutFuture::new(50).await;
                watch.moved(step * 100);
            }
            std::future::pending::<()>().await
        });
        let stalled = std::pin::pin!(stall(&watch));
        let ended = select(progress, stalled).await;
        assert!(matches!(ended, Either::Right(_)), "the stall ends it");
        let took_ms = now_ms() - started;
        assert!(
            (780.0..2_000.0).contains(&took_ms),
            "stalled after {took_ms} ms: 200 ms after the last progress at 600 ms"
        );
        assert_eq!(watch.body_sent.get(), 1_200);
    }
}
