//! The upload engine: sends a post's chunks in order and keeps every byte right through
//! network failures, 5xx answers, resyncs, pauses, a lost connection and a browser that may not
//! PUT to TikTok directly. Each failure is decided by [`protocol::retry::should_retry`]; this
//! file carries the decision out and tells the page what happened through [`Event`]s.
//!
//! Nothing is ever skipped: the next chunk is always the one that starts at the first byte TikTok
//! has confirmed, so a retry re-sends a chunk TikTok did not accept and a resync moves to where
//! TikTok says it is — never past a byte it does not hold.
//!
//! Nothing waits between chunks that need not: once TikTok confirms a chunk, the next one's PUT
//! is sent first, and only then is the confirmation told to the page ([`Event::Confirmed`], which
//! saves the job and redraws) — TikTok takes one chunk at a time, so every millisecond between
//! an answer and the next `send()` is paid once per chunk on the wire.

use crate::api::Api;
use crate::storage;
use crate::upload::{ChunkRequest, Target, UploadError, judge, put_chunk};
use protocol::chunk::ChunkPlan;
use protocol::media::ContentType;
use protocol::relay::{DirectPut, DirectRecord};
use protocol::retry::{
    ChunkFailure, DEFAULT_RETRY_DELAYS_MS, Decision, resume_offset_from_uploaded, should_retry,
    with_jitter,
};
use protocol::stall::DEFAULT_STALL_TIMEOUT_MS;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use web_sys::{Blob, XmlHttpRequest};

/// How often a paused or offline upload looks again.
const WAIT_STEP_MS: u32 = 250;

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

/// Pause and cancel, from the page. Cloning shares the same switches.
#[derive(Debug, Clone, Default)]
pub struct Control(Rc<Switches>);

#[derive(Debug, Default)]
struct Switches {
    paused: Cell<bool>,
    cancelled: Cell<bool>,
    /// The PUT in flight, so pause and cancel take effect at once.
    request: RefCell<Option<XmlHttpRequest>>,
}

impl Control {
    /// Stops sending; the chunk in flight is abandoned and sent again on resume.
    pub fn pause(&self) {
        self.0.paused.set(true);
        self.abort();
    }

    pub fn resume(&self) {
        self.0.paused.set(false);
    }

    /// Stops for good.
    pub fn cancel(&self) {
        self.0.cancelled.set(true);
        self.abort();
    }

    pub fn is_paused(&self) -> bool {
        self.0.paused.get()
    }

    fn is_cancelled(&self) -> bool {
        self.0.cancelled.get()
    }

    fn abort(&self) {
        if let Some(request) = self.0.request.borrow_mut().take() {
            let _ = request.abort();
        }
    }
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

/// Sends `file` as `job` plans, from `job.confirmed` on, until TikTok holds every byte or
/// nothing more can help. `job` is updated as TikTok confirms bytes.
pub async fn run(
    job: &mut Job,
    file: &Blob,
    api: &Api,
    control: &Control,
    options: &Options,
    on_event: Rc<dyn Fn(Event)>,
) -> End {
    let mut attempt = 0;
    // What the direct PUTs have shown about reaching TikTok (see `protocol::relay`).
    let mut direct = DirectRecord::default();
    // Switched to the relay during this run, not yet proven by a chunk it carried.
    let mut relay_unproven = false;
    // A confirmation not yet told to the page: it is told right after the next chunk is sent.
    let unreported = Cell::new(None::<u64>);
    let report_confirmed = || {
        if let Some(offset) = unreported.take() {
            on_event(Event::Confirmed(offset));
        }
    };
    loop {
        if job.confirmed >= job.plan.video_size {
            report_confirmed();
            return End::Done;
        }
        let Some(chunk) = job.plan.chunk_starting_at(job.confirmed) else {
            report_confirmed();
            let total = job.plan.total_chunk_count;
            return End::Failed(UploadError::OutOfSync { chunk: 0, total });
        };
        if control.is_cancelled() {
            report_confirmed();
            return End::Cancelled;
        }
        if control.is_paused() {
            report_confirmed();
            on_event(Event::Paused);
            wait_while(|| control.is_paused() && !control.is_cancelled()).await;
            if control.is_cancelled() {
                return End::Cancelled;
            }
            on_event(Event::Resumed);
        }
        if !online() {
            report_confirmed();
            on_event(Event::Offline);
            wait_while(|| !online() && !control.is_cancelled()).await;
            continue;
        }

        let target = if job.relay {
            Target::Relay(api.relay_url(&job.publish_id))
        } else {
            Target::Direct(job.upload_url.clone())
        };
        let start = chunk.start;
        let report = on_event.clone();
        let request = ChunkRequest {
            file,
            target: &target,
            chunk: &chunk,
            content_type: job.content_type,
            stall_timeout_ms: options.stall_timeout_ms,
            credential: api.credential_header(),
        };
        let sent = put_chunk(
            request,
            |xhr| {
                *control.0.request.borrow_mut() = Some(xhr.clone());
                // The chunk is on its way: now the page may save the job and redraw.
                report_confirmed();
            },
            move |loaded| report(Event::Sent(start + loaded)),
        )
        .await;
        control.0.request.borrow_mut().take();
        report_confirmed();
        let reply = match sent {
            Ok(reply) => reply,
            Err(error) => return End::Failed(error),
        };
        if control.is_cancelled() {
            return End::Cancelled;
        }
        if reply.status == 0 && control.is_paused() {
            // Aborted by the pause: the same chunk goes again on resume, no attempt spent.
            continue;
        }
        let switch_to_relay = !job.relay
            && direct.note(&DirectPut {
                status: reply.status,
                body_sent: reply.body_sent,
                body_len: chunk.len(),
                abandoned: reply.timed_out,
                online: online(),
            });
        let error = match judge(&reply, &chunk, &job.plan) {
            Ok(()) => {
                job.confirmed = chunk.end;
                attempt = 0;
                if job.relay && relay_unproven {
                    // The relay carried a chunk the direct path could not: remember it for
                    // this browser's next uploads.
                    relay_unproven = false;
                    storage::remember_relay();
                }
                unreported.set(Some(chunk.end));
                continue;
            }
            Err(error) => error,
        };
        attempt += 1;
        if switch_to_relay {
            job.relay = true;
            relay_unproven = true;
            attempt = 0;
            on_event(Event::Relayed);
            continue;
        }
        let failure = if reply.status == 0 {
            ChunkFailure::Network
        } else {
            ChunkFailure::Status {
                status: reply.status,
                reported: reply.content_range,
            }
        };
        match should_retry(&failure, attempt, &options.retry_delays_ms, &job.plan) {
            Decision::RetryAfter { delay_ms } => {
                let delay_ms = with_jitter(delay_ms, js_sys::Math::random());
                on_event(Event::Retrying {
                    chunk: chunk.index,
                    attempt,
                    delay_ms,
                    status: reply.status,
                });
                gloo_timers::future::TimeoutFuture::new(delay_ms).await;
            }
            Decision::ResumeFrom { offset } => {
                job.confirmed = offset;
                on_event(Event::Resynced {
                    offset,
                    status: reply.status,
                });
            }
            Decision::AskStatus => {
                let state = api.post_state(&job.publish_id).await.ok();
                match state
                    .and_then(|s| s.uploaded_bytes)
                    .and_then(|b| resume_offset_from_uploaded(&job.plan, b))
                {
                    Some(offset) => {
                        job.confirmed = offset;
                        on_event(Event::Resynced {
                            offset,
                            status: reply.status,
                        });
                    }
                    None => return End::Reinit(error),
                }
            }
            Decision::Reinit => return End::Reinit(error),
            Decision::Stop => return End::Failed(error),
        }
    }
}

fn online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

async fn wait_while(condition: impl Fn() -> bool) {
    while condition() {
        gloo_timers::future::TimeoutFuture::new(WAIT_STEP_MS).await;
    }
}
