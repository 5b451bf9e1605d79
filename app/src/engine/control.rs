//! Pause and cancel: the page's hold on a running upload.

use super::transport::Abort;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Pause and cancel, from the page. Cloning shares the same switches.
#[derive(Clone, Default)]
pub struct Control(Rc<Switches>);

#[derive(Default)]
struct Switches {
    paused: Cell<bool>,
    cancelled: Cell<bool>,
    /// What aborts the PUT in flight, so pause and cancel take effect at once.
    abort: RefCell<Option<Abort>>,
}

impl std::fmt::Debug for Control {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control")
            .field("paused", &self.0.paused.get())
            .field("cancelled", &self.0.cancelled.get())
            .finish_non_exhaustive()
    }
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

    pub(super) fn is_cancelled(&self) -> bool {
        self.0.cancelled.get()
    }

    /// Keeps what aborts the PUT now in flight.
    pub(super) fn hold(&self, abort: Abort) {
        *self.0.abort.borrow_mut() = Some(abort);
    }

    /// Forgets the PUT that ended.
    pub(super) fn release(&self) {
        self.0.abort.borrow_mut().take();
    }

    fn abort(&self) {
        // Taken out first: aborting runs the request's handlers, which may look at `self`.
        let abort = self.0.abort.borrow_mut().take();
        if let Some(abort) = abort {
            abort();
        }
    }
}
