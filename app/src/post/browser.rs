//! The post's course in the browser: [`start`] and [`resume`] as the page calls them, the page
//! as [`Page`] (the phase in a signal, the job in `localStorage`, the screen kept on while bytes
//! go), and the engine's [`Event`]s turned into what the page shows and the proxy's log. Browser
//! bindings only; the course itself is [`super::upload_and_follow`].

use super::{Page, Phase, Upload, upload_and_follow};
use crate::api::Api;
use crate::engine::{self, Browser, Control, End, Event, Job, Proxy};
use crate::storage::{self, FileIdentity, SavedUpload};
use crate::wake_lock::ScreenLock;
use leptos::prelude::*;
use protocol::progress::Progress;
use protocol::retry::misses_deadline;
use protocol::wire::{CreatePost, PostMode, UploadEvent, UploadEventKind};
use std::rc::Rc;
use web_sys::File;

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

/// Starts a post: init through the proxy, then the upload and the status polls.
pub async fn start(context: Context, request: CreatePost) {
    context.phase.set(Phase::Starting);
    let job = match (Browser { api: &context.api }).init(&request).await {
        Ok(job) => job,
        Err(error) => return context.phase.set(Phase::refused(&error)),
    };
    let tab = Tab::new(context);
    let browser = Browser {
        api: &tab.context.api,
    };
    upload_and_follow(&tab, &browser, job, Some(&request), now_ms()).await;
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
    let tab = Tab::new(context);
    let browser = Browser {
        api: &tab.context.api,
    };
    upload_and_follow(&tab, &browser, saved.job, None, saved.started_at_ms).await;
}

/// The page in this browser tab.
struct Tab {
    context: Context,
    screen: ScreenLock,
}

impl Tab {
    /// The tab, the screen kept on from now: a phone that sleeps freezes the tab. Bytes going
    /// is what it is held for (not a pause); [`Page::finished`] lets go.
    fn new(context: Context) -> Self {
        let screen = ScreenLock::default();
        screen.hold(true);
        Self { context, screen }
    }
}

impl Page for Tab {
    fn show(&self, phase: Phase) {
        self.context.phase.set(phase);
    }

    // `engine::run`'s own future, not an `async` wrapper around it: one state machine less.
    fn upload(&self, job: &mut Job, started_at_ms: f64) -> impl Future<Output = End> {
        let Context {
            api,
            file,
            mode,
            phase,
            control,
            options,
        } = &self.context;
        storage::save(&SavedUpload {
            job: job.clone(),
            file: FileIdentity::of(file),
            mode: *mode,
            started_at_ms,
        });
        let on_event = events(
            api.clone(),
            job.clone(),
            *phase,
            started_at_ms,
            file.clone(),
            *mode,
            self.screen.clone(),
        );
        engine::run(job, file, api, control, options, on_event)
    }

    fn finished(&self) {
        storage::clear();
        self.screen.hold(false);
    }

    fn now_ms(&self) -> f64 {
        now_ms()
    }
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

/// Sends an upload event to the proxy's log without waiting for it.
fn report(
    api: &Api,
    publish_id: &str,
    kind: UploadEventKind,
    chunk: Option<u64>,
    http_status: Option<u16>,
    message: Option<String>,
) {
    let event = UploadEvent {
        kind,
        chunk,
        http_status: http_status.filter(|&s| s != 0),
        message,
    };
    Browser { api }.report(publish_id, event);
}

/// Milliseconds since the epoch (`Date.now()`), comparable across reloads.
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}
