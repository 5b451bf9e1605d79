//! One post from start to finish, as the page sees it: init through the proxy, the upload (with
//! everything [`crate::engine`] rides out), a fresh init when TikTok's upload link dies, then
//! status polls until TikTok's final word. [`Phase`] is what the page renders.
//!
//! The course is decided here, over the [`Page`] and the engine's [`Proxy`] and
//! [`Surroundings`] (its timers), so it runs natively (`post/tests.rs`); how many fresh inits,
//! the polls' delays and when polling gives up are [`protocol::retry`]'s and
//! [`protocol::status`]'s. `post/browser.rs` is the page's side in the browser: [`start`],
//! [`resume`], and the engine's events turned into what the page shows.

mod browser;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

pub use browser::{Context, now_ms, resume, start};

use crate::api::ApiError;
use crate::engine::{End, Job, Proxy, Surroundings};
use protocol::progress::Progress;
use protocol::retry::may_reinit;
use protocol::status::{FIRST_POLL_MS, FailReason, POLL_INTERVAL_MS, PublishStatus, keep_polling};
use protocol::wire::{CreatePost, PostState, UploadEvent, UploadEventKind};
use std::future::Future;

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

    /// The post stopped because the proxy (or TikTok through it) refused, or could not be asked.
    fn refused(error: &ApiError) -> Self {
        Self::Failed {
            message: error.to_string(),
            status: None,
            code: error.code().map(str::to_owned),
        }
    }

    /// The post stopped with `message`, TikTok having said nothing of it.
    fn failed(message: String) -> Self {
        Self::Failed {
            message,
            status: None,
            code: None,
        }
    }
}

/// What the post's course needs from the page besides the proxy.
pub trait Page {
    /// Shows where the post is.
    fn show(&self, phase: Phase);
    /// Sends `job` from `job.confirmed` on through the engine, keeping it for a reload and
    /// showing its progress; `job` is updated as TikTok confirms bytes.
    fn upload(&self, job: &mut Job, started_at_ms: f64) -> impl Future<Output = End>;
    /// The upload is over, however it ended: forget the saved job, let the screen sleep.
    fn finished(&self);
    /// Milliseconds since the epoch.
    fn now_ms(&self) -> f64;
}

/// What the page says when a post is cancelled.
const CANCELLED: &str = "Upload cancelled. TikTok has no way to cancel a file upload: what was sent is discarded when the upload link expires, within an hour.";

/// The upload (with a fresh init, as [`may_reinit`] allows, if TikTok's link dies and the
/// `request` is known), then status polls until TikTok's final word.
pub async fn upload_and_follow(
    page: &impl Page,
    proxy: &(impl Proxy + Surroundings),
    mut job: Job,
    request: Option<&CreatePost>,
    mut started_at_ms: f64,
) {
    let mut reinits = 0;
    let end = loop {
        match (page.upload(&mut job, started_at_ms).await, request) {
            (End::Reinit(error), Some(request)) if may_reinit(reinits) => {
                reinits += 1;
                let message = format!("{error} Starting the upload again with a new link.");
                proxy.report(
                    &job.publish_id,
                    noted(UploadEventKind::Reinitialized, message),
                );
                page.show(Phase::Starting);
                match proxy.init(request).await {
                    Ok(fresh) => {
                        job = fresh;
                        started_at_ms = page.now_ms();
                    }
                    Err(error) => {
                        page.finished();
                        return page.show(Phase::refused(&error));
                    }
                }
            }
            (end, _) => break end,
        }
    };
    page.finished();
    let (kind, message, phase) = match end {
        End::Done => return follow_status(page, proxy, &job.publish_id).await,
        End::Cancelled => (
            UploadEventKind::Cancelled,
            CANCELLED.to_owned(),
            Phase::Failed {
                message: CANCELLED.into(),
                status: Some(PublishStatus::Other("CANCELLED".into())),
                code: None,
            },
        ),
        End::Reinit(error) | End::Failed(error) => {
            let message = error.to_string();
            (
                UploadEventKind::Failed,
                message.clone(),
                Phase::failed(message),
            )
        }
    };
    proxy.report(&job.publish_id, noted(kind, message));
    page.show(phase);
}

/// An upload event with only a message.
fn noted(kind: UploadEventKind, message: String) -> UploadEvent {
    UploadEvent {
        kind,
        chunk: None,
        http_status: None,
        message: Some(message),
    }
}

/// Polls TikTok's status through the proxy until its final word, showing each: the first
/// [`FIRST_POLL_MS`] after the upload, then every [`POLL_INTERVAL_MS`]; gives up once
/// [`keep_polling`] says so.
async fn follow_status(page: &impl Page, proxy: &(impl Proxy + Surroundings), publish_id: &str) {
    page.show(Phase::Processing { status: None });
    let (mut wait_ms, mut failures) = (FIRST_POLL_MS, 0);
    loop {
        proxy.sleep(wait_ms).await;
        wait_ms = POLL_INTERVAL_MS;
        match proxy.post_state(publish_id).await {
            Ok(state) if state.status.is_final() => return page.show(Phase::Done(state)),
            Ok(state) => {
                failures = 0;
                page.show(Phase::Processing {
                    status: Some(state.status),
                });
            }
            Err(error) => {
                failures += 1;
                if !keep_polling(failures) {
                    return page.show(Phase::failed(format!(
                        "The video was uploaded, but its status could not be read: {error} It may still appear on your TikTok profile."
                    )));
                }
                leptos::logging::warn!("status poll failed ({failures}): {error}");
            }
        }
    }
}
