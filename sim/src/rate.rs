//! TikTok's rate limits as a sliding one-minute window of admitted requests.

use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// The span TikTok's "per minute" limits count over.
pub(crate) const WINDOW: Duration = Duration::from_secs(60);

/// The times of the requests admitted in the last minute, for one token and endpoint.
#[derive(Debug, Default)]
pub(crate) struct Window {
    /// Oldest first; entries older than [`WINDOW`] are dropped as time passes.
    admitted: VecDeque<Instant>,
}

impl Window {
    /// Admits a request arriving at `now` if fewer than `limit` were admitted in the minute
    /// before. A refused request is not counted, so a client that waits gets through.
    pub(crate) fn admit(&mut self, now: Instant, limit: u32) -> bool {
        while self
            .admitted
            .front()
            .is_some_and(|&first| now.duration_since(first) >= WINDOW)
        {
            self.admitted.pop_front();
        }
        if self.admitted.len() >= limit as usize {
            return false;
        }
        self.admitted.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_minute() {
        let start = Instant::now();
        let at = |secs: u64| start + Duration::from_secs(secs);
        let mut window = Window::default();
        // Six inits at 0, 10, …, 50 s are admitted; the seventh at 59 s is not.
        for i in 0..6 {
            assert!(window.admit(at(i * 10), 6), "request {i}");
        }
        assert!(!window.admit(at(59), 6));
        // At 60 s the first one has left the window, so one more fits, but only one.
        assert!(window.admit(at(60), 6));
        assert!(!window.admit(at(61), 6));
        assert!(window.admit(at(70), 6));
        // A limit of zero refuses everything.
        assert!(!Window::default().admit(at(0), 0));
    }
}
