//! What the engine needs from the outside world, as small traits: [`Transport`] sends one
//! chunk and names what came back; [`Surroundings`] is everything else the engine waits on or
//! asks (timers, the network's state, the proxy's record of the upload, the relay's address);
//! [`Proxy`] is what the post's course around the upload ([`crate::post`]) asks the proxy.
//!
//! The browser implements them (`browser.rs`: XHR, `setTimeout`, `navigator.onLine`,
//! the proxy's API); tests script them one request at a time and keep a clock of their own, so
//! the decisions run natively, in no time. Each has one implementation in the wasm, so the
//! generic code compiles to direct calls; the only dynamic call is a chunk's [`Abort`].

use super::Job;
use crate::api::ApiError;
use protocol::chunk::{ChunkPlan, ChunkRange, ContentRange};
use protocol::media::ContentType;
use protocol::wire::{CreatePost, PostState, UploadEvent};
use std::future::Future;

/// Sends one chunk's `PUT`.
pub trait Transport {
    /// Sends `put` and waits for its answer. `started` gets what aborts the request once it is
    /// on its way (pause and cancel call it); `progress` hears the chunk's body bytes sent so
    /// far. `Err` only when the request could not be made at all; a request that got no answer
    /// is an `Ok` reply with status 0.
    fn put<'a>(
        &'a self,
        put: &'a Put,
        started: impl FnOnce(Abort),
        progress: impl Fn(u64) + 'static,
    ) -> impl Future<Output = Result<ChunkReply, UploadError>>;
}

/// Aborts a request in flight; its answer is then status 0.
pub type Abort = Box<dyn FnOnce()>;

/// What the engine waits on or asks besides the chunk's `PUT`.
pub trait Surroundings {
    /// Resolves after `ms` milliseconds.
    fn sleep(&self, ms: u32) -> impl Future<Output = ()>;
    /// Whether the browser believes it is online.
    fn online(&self) -> bool;
    /// A number in `0.0..1.0`, for the retry delays' jitter.
    fn random(&self) -> f64;
    /// TikTok's `uploaded_bytes` for the post, through the proxy's status call; `None` when the
    /// call failed or TikTok did not say.
    fn uploaded_bytes(&self, publish_id: &str) -> impl Future<Output = Option<u64>>;
    /// Where the proxy's relay takes this post's chunks.
    fn relay_url(&self, publish_id: &str) -> String;
    /// Remembers, for this browser's next uploads, that chunks must go through the relay.
    fn remember_relay(&self);
}

/// The proxy's calls around one post's upload.
pub trait Proxy {
    /// `POST /api/posts`: a fresh upload link from TikTok, and the job it starts.
    fn init(&self, request: &CreatePost) -> impl Future<Output = Result<Job, ApiError>>;
    /// TikTok's status of the post, through the proxy.
    fn post_state(&self, publish_id: &str) -> impl Future<Output = Result<PostState, ApiError>>;
    /// Adds `event` to the proxy's log of the upload, without waiting for it.
    fn report(&self, publish_id: &str, event: UploadEvent);
}

/// One chunk's `PUT`, as it will be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Put {
    pub target: Target,
    pub chunk: ChunkRange,
    pub content_type: ContentType,
    /// Give up on the request once it has shown no progress for this many milliseconds: no
    /// byte of the body sent, or no answer since the last byte went (0: never).
    pub stall_timeout_ms: u32,
}

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
    /// Whether the page gave up on the request because it stalled (then `status` is 0).
    pub timed_out: bool,
    /// Bytes of the body the browser reported sent; the whole chunk once it was all sent. With
    /// `status` 0 it tells a CORS refusal's shape from a connection cut mid-body
    /// ([`protocol::relay`]).
    pub body_sent: u64,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn reply(status: u16) -> ChunkReply {
        ChunkReply {
            status,
            content_range: None,
            timed_out: false,
            body_sent: 0,
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
