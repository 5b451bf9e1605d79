//! What a host site uses to drive and hear the uploader: a [`Remote`] for its buttons, and the
//! component's callbacks fed from the post's phases.

use crate::post::Phase;
use leptos::prelude::*;
use protocol::wire::PostState;

/// What a host page may do from outside (the custom element's `start()`, `cancel()` and
/// `reset()`). Copy it into the component's `remote` prop and call it. Nothing here sends a
/// video: TikTok allows content to be sent only after the person explicitly consents, so
/// `start()` only arms Post and the person's own press on it sends the video.
#[derive(Debug, Clone, Copy)]
pub struct Remote {
    start: Trigger,
    cancel: Trigger,
    reset: Trigger,
}

impl Default for Remote {
    fn default() -> Self {
        Self {
            start: Trigger::new(),
            cancel: Trigger::new(),
            reset: Trigger::new(),
        }
    }
}

impl Remote {
    /// Arms Post: moves the focus to it and tells the person to press it. Sends nothing.
    pub fn start(&self) {
        self.start.notify();
    }

    /// Cancels the upload under way.
    pub fn cancel(&self) {
        self.cancel.notify();
    }

    /// Clears the form for another video, unless a post is under way.
    pub fn reset(&self) {
        self.reset.notify();
    }

    pub(super) fn connect(
        self,
        start: impl Fn() + 'static,
        cancel: impl Fn() + 'static,
        reset: impl Fn() + 'static,
    ) {
        for (trigger, action) in [
            (self.start, Box::new(start) as Box<dyn Fn()>),
            (self.cancel, Box::new(cancel)),
            (self.reset, Box::new(reset)),
        ] {
            // The first run only subscribes; every later notify acts.
            Effect::new(move |subscribed: Option<()>| {
                trigger.track();
                if subscribed.is_some() {
                    action();
                }
            });
        }
    }
}

/// Tells the host what happens, through the component's callbacks.
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
