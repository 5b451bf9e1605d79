//! Every TikTok rule the autoposter depends on, written down once.
//!
//! This crate is pure: plain data in, plain data out, no I/O, no async runtime, no UI. The browser
//! app, the proxy and the simulator all call it, so a rule (the chunk plan's floor, the caption's
//! UTF-16 limit, what `spam_risk_too_many_posts` means to a creator) has exactly one definition.
//!
//! - [`tiktok`]: the request and response bodies of TikTok's Content Posting API and OAuth.
//! - [`wire`]: the bodies that cross between the browser and our proxy.
//! - [`chunk`]: the media-transfer plan (`chunk_size`, `total_chunk_count`, byte ranges).
//! - [`codes`], [`status`]: error codes, statuses and fail reasons, with messages for people.
//! - [`oauth`]: Login Kit's rules: scopes, PKCE's hex challenge, the authorize URL, refresh timing.
//! - [`embed`]: embedding the uploader in another site: allowed origins, embed keys, tickets.
//! - [`host`]: which `Host` names the proxy answers to (the DNS-rebinding defence).
//! - [`cookie`]: one cookie from a request's `Cookie` headers.
//! - [`retry`], [`stall`], [`relay`]: what the page does when a chunk is not accepted, when a
//!   chunk's PUT is stalled rather than slow, and when to send through the proxy's relay.
//! - [`screen`]: the posting screen's rules from TikTok's content-sharing guidelines.
//! - [`schedule`], [`limits`]: when a server-side job may start, how long TikTok's upload URL
//!   lives, and which TikTok refusals a job waits out instead of failing.
//! - [`caption`], [`media`], [`post_id`], [`progress`]: small rules with sharp edges.
//! - [`cause`]: how a failure describes itself, its causes in one line (proxy and CLI alike).

pub mod caption;
pub mod cause;
pub mod chunk;
pub mod codes;
pub mod cookie;
pub mod embed;
pub mod host;
pub mod limits;
pub mod media;
pub mod oauth;
pub mod post_id;
pub mod progress;
pub mod relay;
pub mod retry;
pub mod schedule;
pub mod screen;
pub mod stall;
pub mod status;
pub mod tiktok;
pub mod wire;

pub use caption::{CaptionError, MAX_CAPTION_UTF16, utf16_len};
pub use chunk::{ChunkPlan, ChunkRange, PlanError, PlanReading};
pub use codes::ErrorCode;
pub use media::{ContentType, VideoCheck, VideoError};
pub use status::{FailReason, PublishStatus};
pub use tiktok::PrivacyLevel;

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
