//! The upload engine: sends a post's chunks in order and keeps every byte right through
//! network failures, 5xx answers, resyncs, pauses, a lost connection and a browser that may not
//! PUT to TikTok directly. Each failure is decided by [`protocol::retry::should_retry`] and the
//! route by [`protocol::relay::Route`]; the engine carries the decisions out and tells the page
//! what happened through [`Event`]s.
//!
//! Nothing is ever skipped: the next chunk is always the one that starts at the first byte TikTok
//! has confirmed, so a retry re-sends a chunk TikTok did not accept and a resync moves to where
//! TikTok says it is — never past a byte it does not hold.
//!
//! Nothing waits between chunks that need not: once TikTok confirms a chunk, the next one's PUT
//! is sent first, and only then is the confirmation told to the page ([`Event::Confirmed`], which
//! saves the job and redraws) — TikTok takes one chunk at a time, so every millisecond between
//! an answer and the next `send()` is paid once per chunk on the wire.
//!
//! - [`transport`]: what the engine needs from outside — one chunk's `PUT` ([`Transport`]) and
//!   timers, the network's state and the proxy ([`Surroundings`]) — and the answer's types;
//!   also the proxy's calls the post's course around the upload makes ([`Proxy`]).
//! - `drive.rs`: the loop itself, [`drive`], over any transport; [`run`] drives it with the
//!   browser's.
//! - `browser.rs`: XHR, `setTimeout`, `navigator.onLine` and the proxy's API as those traits.
//! - `control.rs`: pause and cancel ([`Control`]).
//! - `tests.rs`: the loop run natively against a scripted TikTok, on a clock the test owns.

mod browser;
mod control;
mod drive;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;
pub mod transport;

pub use browser::{Browser, run};
pub use control::Control;
pub use drive::drive;
pub use transport::{Proxy, Surroundings, Transport, UploadError};

use protocol::chunk::ChunkPlan;
use protocol::media::ContentType;
use protocol::retry::DEFAULT_RETRY_DELAYS_MS;
use protocol::stall::DEFAULT_STALL_TIMEOUT_MS;
use serde::{Deserialize, Serialize};

/// How the engine behaves; the defaults suit real networks.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Delays between attempts at one chunk, in milliseconds (jittered ±20 %).
    pub retry_delays_ms: Vec<u32>,
    /// Abandon a chunk's PUT (and retry it) once it has shown no progress for this long,
    /// however long it has been running; 0 never does.
    pub stall_timeout_ms: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            retry_delays_ms: DEFAULT_RETRY_DELAYS_MS.to_vec(),
            stall_timeout_ms: DEFAULT_STALL_TIMEOUT_MS,
        }
    }
}

/// One post's upload: what init returned, and how far TikTok has confirmed. Kept in the
/// browser's storage after every confirmed chunk (once the next one is on its way), so a reload
/// can continue it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub publish_id: String,
    pub upload_url: String,
    pub plan: ChunkPlan,
    pub content_type: ContentType,
    /// Chunks go through the proxy's relay rather than straight to TikTok.
    pub relay: bool,
    /// Every byte before this offset is confirmed by TikTok; always a chunk boundary.
    pub confirmed: u64,
}

/// What happened, for the page to show and to report to the proxy's log.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Bytes sent so far, counting the chunk in flight.
    Sent(u64),
    /// TikTok confirmed every byte before this offset.
    Confirmed(u64),
    /// Chunk `chunk` will be sent again in `delay_ms` (`status` 0: no answer came).
    Retrying {
        chunk: u64,
        attempt: u32,
        delay_ms: u32,
        status: u16,
    },
    /// TikTok's record differed; sending continues from `offset`.
    Resynced {
        offset: u64,
        status: u16,
    },
    /// The browser may not PUT to TikTok directly; chunks now go through the relay.
    Relayed,
    /// The browser is offline; the upload waits for the network.
    Offline,
    Paused,
    Resumed,
}

/// How an upload ended.
#[derive(Debug, Clone, PartialEq)]
pub enum End {
    /// TikTok holds every byte.
    Done,
    Cancelled,
    /// The upload URL is dead (expired, or the task is gone): only a fresh init can help.
    Reinit(UploadError),
    /// Nothing more can help.
    Failed(UploadError),
}
