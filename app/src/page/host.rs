//! What a host site uses to drive and hear the uploader: a [`Remote`] for its buttons, and the
//! component's callbacks fed from the post's phases.

use super::state::UploaderState;
use crate::post::Phase;
use leptos::prelude::*;
use protocol::wire::PostState;

/// What a host page may do from outside (the custom element's `start()`, `cancel()` and
/// `reset()`). Copy it into the component's `remote` prop and call it. Nothing here sends a
/// video: TikTok allows content to be sent only after the person explicitly consents, so
/// `start()` only arms Post and the person's own press on it sends the video.
#[derive(Clone, Copy)]
pub struct Remote {
    /// The uploader it drives, once mounted; calls before that do nothing.
    uploader: StoredValue<Option<UploaderState>, LocalStorage>,
}

impl Default for Remote {
    fn default() -> Self {
        Self {
            uploader: StoredValue::new_local(None),
        }
    }
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Remote")
    }
}

impl Remote {
    /// Arms Post: moves the focus to it and tells the person to press it. Sends nothing.
    pub fn start(&self) {
        self.with(UploaderState::arm);
    }

    /// Cancels the upload under way.
    pub fn cancel(&self) {
        self.with(UploaderState::cancel);
    }

    /// Clears the form for another video, unless a post is under way.
    pub fn reset(&self) {
        self.with(UploaderState::reset);
    }

    /// Makes this remote drive `uploader` until the uploader is unmounted.
    pub(super) fn connect(self, uploader: UploaderState) {
        self.uploader.set_value(Some(uploader));
        on_cleanup(move || {
            self.uploader.try_update_value(|mounted| *mounted = None);
        });
    }

    fn with(self, act: fn(UploaderState)) {
        if let Some(uploader) = self.uploader.try_get_value().flatten() {
            act(uploader);
        }
    }
}

/// Tells the host what happens, through the component's callbacks: an Effect, because the
/// callbacks reach outside the page's reactive graph.
pub(super) fn report_to_host(
    phase: RwSignal<Phase>,
    on_start: Option<UnsyncCallback<()>>,
    on_progress: Option<UnsyncCallback<(u64, u64)>>,
    on_complete: Option<UnsyncCallback<PostState>>,
    on_error: Option<UnsyncCallback<(String, String)>>,
) {
    Effect::new(move |_| match phase.get() {
        Phase::Starting => {
            if let Some(callback) = on_start {
                callback.run(());
            }
        }
        Phase::Uploading(upload) => {
            if let Some(callback) = on_progress {
                callback.run((upload.progress.sent, upload.progress.total));
            }
        }
        Phase::Done(state) => {
            if let Some(callback) = on_complete {
                callback.run(state);
            }
        }
        failed @ Phase::Failed { .. } => {
            if let Some(callback) = on_error {
                callback.run((failed.raw_status(), failed.text()));
            }
        }
        Phase::Editing | Phase::Processing { .. } => {}
    });
}
