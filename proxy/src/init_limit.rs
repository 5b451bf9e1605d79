//! Our own count of TikTok's init limit (6 a minute per account, `protocol::limits`), shared by
//! every init the proxy makes, so none is spent on a sure 429: a server-side job waits its turn,
//! and the page's `POST /api/posts` is answered 429 `too_many_inits` with the seconds until a
//! place frees (`init::start`).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Inits made in the last window, oldest first.
#[derive(Debug)]
pub struct InitLimit {
    limit: u32,
    window: Duration,
    made: Mutex<VecDeque<Instant>>,
}

impl InitLimit {
    /// At most `limit` inits in any `window`.
    pub fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            window,
            made: Mutex::new(VecDeque::new()),
        }
    }

    /// Counts an init about to be made now, if the window has room; otherwise how long until
    /// it will.
    pub fn reserve(&self) -> Result<(), Duration> {
        let now = Instant::now();
        let mut made = self.lock(now);
        if made.len() < self.limit as usize {
            made.push_back(now);
            return Ok(());
        }
        let oldest = made
            .get(made.len() - self.limit as usize)
            .copied()
            .unwrap_or(now);
        Err((oldest + self.window).saturating_duration_since(now))
    }

    /// Counts an init made now whether or not the window had room: the second reading of the
    /// chunk rule, which belongs to the init whose place was already taken.
    pub fn note(&self) {
        let now = Instant::now();
        self.lock(now).push_back(now);
    }

    /// The window, with what left it dropped.
    fn lock(&self, now: Instant) -> std::sync::MutexGuard<'_, VecDeque<Instant>> {
        // Pushes and pops only: a poisoned queue is still whole.
        let mut made = self
            .made
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while made
            .front()
            .is_some_and(|&first| now.duration_since(first) >= self.window)
        {
            made.pop_front();
        }
        made
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn six_a_minute_then_the_oldest_slot_frees() {
        let limit = InitLimit::new(6, Duration::from_secs(60));
        for _ in 0..5 {
            limit.reserve().unwrap();
            tokio::time::advance(Duration::from_secs(10)).await;
        }
        // The second reading of a refused plan counts too.
        limit.note();
        // At 50 s the window holds six: the first leaves it at 60 s.
        assert_eq!(limit.reserve(), Err(Duration::from_secs(10)));
        tokio::time::advance(Duration::from_secs(10)).await;
        limit.reserve().unwrap();
        assert_eq!(limit.reserve(), Err(Duration::from_secs(10)));
        // A second reading past the limit is counted, and pushes the next turn back.
        limit.note();
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(limit.reserve(), Err(Duration::from_secs(10)));
        tokio::time::advance(Duration::from_secs(10)).await;
        limit.reserve().unwrap();
    }
}
