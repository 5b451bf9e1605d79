//! One post from start to finish, as the page sees it: init through the proxy, the upload (with
//! everything [`crate::engine`] rides out), a fresh init when TikTok's upload link dies, then
//! status polls until TikTok's final word. [`Phase`] is what the page renders.

use crate::api::{Api, ApiError};
use crate::engine::{self, Control, End, Event, Job};
use crate::storage::{self, FileIdentity, SavedUpload};
use crate::upload::UploadError;
use crate::wake_lock::ScreenLock;
use leptos::prelude::*;
use protocol::progress::Progress;
use protocol::retry::misses_deadline;
use protocol::status::{FailReason, PublishStatus};
use protocol::wire::{CreatePost, PostMode, PostState, UploadEvent, UploadEventKind};
use std::rc::Rc;
use web_sys::File;

/// Wait before the first status poll: TikTok usually has news within a second of the last chunk.
const FIRST_POLL_MS: u32 = 1_000;
/// Between later polls. The proxy answers repeated polls from its cache, and TikTok allows 30
/// status calls a minute, so a few seconds keeps well inside the budget.
const POLL_INTERVAL_MS: u32 = 3_000;
/// Polls that may fail in a row (network, rate limit) before the page gives up.
const MAX_POLL_FAILURES: u32 = 10;
/// Fresh inits after a dead upload link, per post; more would loop on a deeper problem.
const MAX_REINITS: u32 = 1;

/// The upload as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Upload {
    pub progress: Progress,
    pub paused: bool,
    /// Chunks go through the proxy's relay.
    pub relay: bool,
    /// What the engine is riding out right now ("Part 3 of 7 failed…"), if anything.
    pub note: Option<String>,
    /// At this speed the upload will not finish within TikTok's hour.
    pub late: bool,
}

/// Where the post is.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Editing,
    Starting,
    Uploading(Upload),
    Processing {
        status: Option<PublishStatus>,
    },
    Done(PostState),
    /// Stopped; `status` is TikTok's (or `CANCELLED`) when there is one.
    Failed {
        message: String,
        status: Option<PublishStatus>,
        /// TikTok's or the proxy's error code when the post was refused before any byte left,
        /// for the help some codes come with.
        code: Option<String>,
    },
}

impl Phase {
    /// Whether a post is under way (the form is locked).
    pub fn busy(&self) -> bool {
        matches!(
            self,
            Self::Starting | Self::Uploading(_) | Self::Processing { .. }
        )
    }

    /// TikTok's raw status, for scripts and host pages (`data-status`); our own words
    /// (`UPLOADING`, `PAUSED`, `CANCELLED`, `ERROR`) where TikTok has none yet.
    pub fn raw_status(&self) -> String {
        match self {
            Self::Editing => String::new(),
            Self::Starting => "UPLOADING".into(),
            Self::Uploading(upload) if upload.paused => "PAUSED".into(),
            Self::Uploading(_) => "UPLOADING".into(),
            Self::Processing { status } => status
                .as_ref()
                .map_or(
                    PublishStatus::ProcessingUpload.as_str(),
                    PublishStatus::as_str,
                )
                .into(),
            Self::Done(state) => state.status.as_str().into(),
            Self::Failed { status, .. } => status
                .as_ref()
                .map_or("ERROR", PublishStatus::as_str)
                .into(),
        }
    }

    /// What the creator reads in the status line.
    pub fn text(&self) -> String {
        match self {
            Self::Editing => String::new(),
            Self::Starting => "Asking TikTok for an upload link…".into(),
            Self::Uploading(upload) if upload.paused => {
                format!(
                    "Paused at {} %. Resume within the hour TikTok allows.",
                    upload.progress.whole_percent()
                )
            }
            Self::Uploading(upload) => format!("Uploading — {} %", upload.progress.whole_percent()),
            Self::Processing { status } => status
                .as_ref()
                .unwrap_or(&PublishStatus::ProcessingUpload)
                .user_message()
                .into(),
            Self::Done(state) => match &state.status {
                PublishStatus::PublishComplete => "Posted to TikTok.".into(),
                PublishStatus::SendToUserInbox => {
                    "Sent to your TikTok inbox — open TikTok to finish.".into()
                }
                PublishStatus::Failed => format!(
                    "TikTok could not post the video: {}",
                    state
                        .fail_reason
                        .as_ref()
                        .map_or("no reason was given.", FailReason::user_message)
                ),
                other => other.user_message().into(),
            },
            Self::Failed { message, .. } => message.clone(),
        }
    }
}

/// Everything one upload needs besides the job.
#[derive(Clone)]
pub struct Context {
    pub api: Api,
    pub file: File,
    pub mode: PostMode,
    pub phase: RwSignal<Phase>,
    pub control: Control,
    pub options: engine::Options,
}

/// Starts a post: init through the proxy, then [`upload_and_follow`].
pub async fn start(context: Context, request: CreatePost) {
    context.phase.set(Phase::Starting);
    let job = match init(&context.api, &request).await {
        Ok(job) => job,
        Err(error) => {
            return context.phase.set(Phase::Failed {
                message: error.to_string(),
                status: None,
                code: error.code().map(str::to_owned),
            });
        }
    };
    upload_and_follow(context, job, Some(request), now_ms()).await;
}

/// Continues an upload saved before a reload, with the file the creator picked again.
pub async fn resume(context: Context, saved: SavedUpload) {
    report(
        &context.api,
        &saved.job.publish_id,
        UploadEventKind::Resumed,
        None,
        None,
        None,
    );
    upload_and_follow(context, saved.job, None, saved.started_at_ms).await;
}

/// The upload (re-initialising once if TikTok's link dies and the request is known), then polls.
async fn upload_and_follow(
    context: Context,
    mut job: Job,
    request: Option<CreatePost>,
    mut started_at_ms: f64,
) {
    let Context {
        api,
        file,
        mode,
        phase,
        control,
        options,
    } = context;
    let mut reinits = 0;
    // The screen stays on while bytes are going (not while paused): a phone that sleeps freezes
    // the tab. Let go when this function returns, however the upload ends.
    let screen = ScreenLock::default();
    screen.hold(true);
    loop {
        let saved = |job: &Job| {
            storage::save(&SavedUpload {
                job: job.clone(),
                file: FileIdentity::of(&file),
                mode,
                started_at_ms,
            })
        };
        saved(&job);
        let end = {
            let on_event = events(
                api.clone(),
                job.clone(),
                phase,
                started_at_ms,
                file.clone(),
                mode,
                screen.clone(),
            );
            engine::run(&mut job, &file, &api, &control, &options, on_event).await
        };
        match end {
            End::Done => break,
            End::Cancelled => {
                storage::clear();
                let message = "Upload cancelled. TikTok has no way to cancel a file upload: what was sent is discarded when the upload link expires, within an hour.";
                report(
                    &api,
                    &job.publish_id,
                    UploadEventKind::Cancelled,
                    None,
                    None,
                    Some(message.into()),
                );
                return phase.set(Phase::Failed {
                    message: message.into(),
                    status: Some(PublishStatus::Other("CANCELLED".into())),
                    code: None,
                });
            }
            End::Reinit(error) if reinits < MAX_REINITS && request.is_some() => {
                reinits += 1;
                let message = format!("{error} Starting the upload again with a new link.");
                report(
                    &api,
                    &job.publish_id,
                    UploadEventKind::Reinitialized,
                    None,
                    None,
                    Some(message.clone()),
                );
                phase.set(Phase::Starting);
                let request = request.as_ref().expect("checked in the match guard");
                match init(&api, request).await {
                    Ok(fresh) => {
                        job = fresh;
                        started_at_ms = now_ms();
                    }
                    Err(error) => {
                        storage::clear();
                        return phase.set(Phase::Failed {
                            message: error.to_string(),
                            status: None,
                            code: error.code().map(str::to_owned),
                        });
                    }
                }
            }
            End::Reinit(error) | End::Failed(error) => return fail(&api, &job, phase, error),
        }
    }
    storage::clear();
    drop(screen);
    follow_status(&api, &job.publish_id, phase).await;
}

/// `POST /api/posts` and the job it starts.
async fn init(api: &Api, request: &CreatePost) -> Result<Job, ApiError> {
    let created = api.create_post(request).await?;
    Ok(Job {
        plan: created.plan(request.video_size),
        publish_id: created.publish_id,
        upload_url: created.upload_url,
        content_type: protocol::ContentType::from_mime(&request.content_type)
            .expect("the request's content type came from a sniffed ContentType"),
        relay: storage::relay_remembered(),
        confirmed: 0,
    })
}

fn fail(api: &Api, job: &Job, phase: RwSignal<Phase>, error: UploadError) {
    storage::clear();
    let message = error.to_string();
    report(
        api,
        &job.publish_id,
        UploadEventKind::Failed,
        None,
        None,
        Some(message.clone()),
    );
    phase.set(Phase::Failed {
        message,
        status: None,
        code: None,
    });
}

/// Turns the engine's events into what the page shows, what storage keeps, log lines, and
/// whether the screen is kept on.
fn events(
    api: Api,
    job: Job,
    phase: RwSignal<Phase>,
    started_at_ms: f64,
    file: File,
    mode: PostMode,
    screen: ScreenLock,
) -> Rc<dyn Fn(Event)> {
    let session_start = now_ms();
    let resumed_from = job.confirmed;
    let total = job.plan.video_size;
    let chunks = job.plan.total_chunk_count;
    let id = job.publish_id.clone();
    // The page's view of the upload lives in `phase` alone; each event edits it in place.
    phase.set(Phase::Uploading(Upload {
        progress: Progress {
            sent: resumed_from,
            total,
            resumed_from,
            elapsed_secs: 0.0,
        },
        paused: false,
        relay: job.relay,
        note: None,
        late: false,
    }));
    let job = std::cell::RefCell::new(job);
    Rc::new(move |event: Event| {
        phase.update(|phase| {
            let Phase::Uploading(upload) = phase else {
                return;
            };
        match event {
            Event::Sent(sent) => {
                upload.progress.sent = sent;
                upload.progress.elapsed_secs = (now_ms() - session_start) / 1000.0;
                let elapsed_since_init = (now_ms() - started_at_ms) / 1000.0;
                upload.late = upload
                    .progress
                    .eta_secs()
                    .is_some_and(|eta| misses_deadline(elapsed_since_init, eta));
            }
            Event::Confirmed(offset) => {
                upload.progress.sent = offset;
                upload.note = None;
                let mut job = job.borrow_mut();
                job.confirmed = offset;
                storage::save(&SavedUpload {
                    job: job.clone(),
                    file: FileIdentity::of(&file),
                    mode,
                    started_at_ms,
                });
            }
            Event::Retrying {
                chunk,
                attempt,
                delay_ms,
                status,
            } => {
                let answer = if status == 0 {
                    "no answer came".to_owned()
                } else {
                    format!("TikTok answered {status}")
                };
                upload.note = Some(format!(
                    "Part {} of {chunks} did not go through ({answer}); trying again in {}.{} s (attempt {}).",
                    chunk + 1,
                    delay_ms / 1000,
                    delay_ms % 1000 / 100,
                    attempt + 1
                ));
                report(
                    &api,
                    &id,
                    UploadEventKind::Retried,
                    Some(chunk),
                    Some(status),
                    upload.note.clone(),
                );
            }
            Event::Resynced { offset, status } => {
                upload.progress.sent = offset;
                upload.note = Some(
                    "TikTok already had part of the video; continuing from where it is.".into(),
                );
                job.borrow_mut().confirmed = offset;
                let message = format!("continuing from byte {offset}");
                report(
                    &api,
                    &id,
                    UploadEventKind::Resynced,
                    None,
                    Some(status),
                    Some(message),
                );
            }
            Event::Relayed => {
                upload.relay = true;
                job.borrow_mut().relay = true;
                upload.note = Some("This browser may not send to TikTok directly; sending through your server instead.".into());
                report(&api, &id, UploadEventKind::Relayed, None, None, None);
            }
            Event::Offline => {
                upload.note =
                    Some("You are offline. The upload continues when the network is back.".into())
            }
            Event::Paused => {
                upload.paused = true;
                screen.hold(false);
                report(&api, &id, UploadEventKind::Paused, None, None, None);
            }
            Event::Resumed => {
                upload.paused = false;
                screen.hold(true);
                report(&api, &id, UploadEventKind::Resumed, None, None, None);
            }
        }
        });
    })
}

/// Polls until TikTok's final status.
async fn follow_status(api: &Api, publish_id: &str, phase: RwSignal<Phase>) {
    phase.set(Phase::Processing { status: None });
    let mut wait = FIRST_POLL_MS;
    let mut failures = 0;
    loop {
        gloo_timers::future::TimeoutFuture::new(wait).await;
        wait = POLL_INTERVAL_MS;
        match api.post_state(publish_id).await {
            Ok(state) if state.status.is_final() => return phase.set(Phase::Done(state)),
            Ok(state) => {
                failures = 0;
                phase.set(Phase::Processing {
                    status: Some(state.status),
                });
            }
            Err(error) if failures < MAX_POLL_FAILURES => {
                failures += 1;
                leptos::logging::warn!("status poll failed ({failures}): {error}");
            }
            Err(error) => {
                let message = format!(
                    "The video was uploaded, but its status could not be read: {error} It may still appear on your TikTok profile."
                );
                return phase.set(Phase::Failed {
                    message,
                    status: None,
                    code: None,
                });
            }
        }
    }
}

/// Sends an upload event to the proxy's log without waiting for it.
fn report(
    api: &Api,
    publish_id: &str,
    kind: UploadEventKind,
    chunk: Option<u64>,
    http_status: Option<u16>,
    message: Option<String>,
) {
    let (api, publish_id) = (api.clone(), publish_id.to_owned());
    let event = UploadEvent {
        kind,
        chunk,
        http_status: http_status.filter(|&s| s != 0),
        message,
    };
    leptos::task::spawn_local(async move { api.report(&publish_id, &event).await });
}

/// Milliseconds since the epoch (`Date.now()`), comparable across reloads.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}
