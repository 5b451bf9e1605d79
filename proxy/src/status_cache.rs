//! Reuses one `status/fetch` answer per `publish_id` for a short time, and lets only one fetch
//! per post run at once, so pages polling fast (or several tabs) stay inside TikTok's 30 calls a
//! minute.

use crate::error::Error;
use protocol::wire::PostState;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// How many slots may accumulate before idle ones are swept out.
const SWEEP_AT: usize = 256;

/// How long after its last answer a post's slot is kept. Posts are polled for minutes; a slot
/// idle this long is not coming back, and dropping a live one would only log its status again.
const IDLE_SLOT: Duration = Duration::from_secs(60 * 60);

/// The latest answer per post.
#[derive(Debug)]
pub struct StatusCache {
    /// How long an answer is reused.
    ttl: Duration,
    /// One slot per `publish_id`. The slot's async lock is held across a fetch, so a second poll
    /// of the same post waits for the first and then reuses its answer.
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Cached>>>>>,
}

#[derive(Debug)]
struct Cached {
    fetched_at: Instant,
    state: PostState,
}

/// A state, and whether it differs from the one before it (a status change worth logging).
#[derive(Debug)]
pub struct Polled {
    pub state: PostState,
    pub changed: bool,
}

impl StatusCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// The cached state if younger than the ttl, else `fetch`'s answer (which is then cached).
    /// Errors are not cached: the next poll asks again.
    pub async fn get_or_fetch<F>(&self, publish_id: &str, fetch: F) -> Result<Polled, Error>
    where
        F: Future<Output = Result<PostState, Error>>,
    {
        let slot = self.slot(publish_id);
        let mut cached = slot.lock().await;
        if let Some(hit) = cached.as_ref()
            && hit.fetched_at.elapsed() < self.ttl
        {
            return Ok(Polled {
                state: hit.state.clone(),
                changed: false,
            });
        }
        let state = fetch.await?;
        let changed = cached.as_ref().is_none_or(|previous| {
            let before = &previous.state;
            (&before.status, &before.fail_reason, &before.post_ids)
                != (&state.status, &state.fail_reason, &state.post_ids)
        });
        *cached = Some(Cached {
            fetched_at: Instant::now(),
            state: state.clone(),
        });
        Ok(Polled { state, changed })
    }

    fn slot(&self, publish_id: &str) -> Arc<tokio::sync::Mutex<Option<Cached>>> {
        // Only inserts, removals and clones happen under this lock, so a poisoned one is still
        // whole.
        let mut slots = self
            .slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.len() >= SWEEP_AT && !slots.contains_key(publish_id) {
            slots.retain(|_, slot| !is_idle(slot));
        }
        slots.entry(publish_id.to_owned()).or_default().clone()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().map_or(0, |slots| slots.len())
    }
}

/// Whether nobody is using `slot` and it holds nothing worth keeping: no answer (only errors
/// so far, e.g. for a `publish_id` TikTok does not know) or one older than [`IDLE_SLOT`].
fn is_idle(slot: &Arc<tokio::sync::Mutex<Option<Cached>>>) -> bool {
    Arc::strong_count(slot) == 1
        && slot.try_lock().is_ok_and(|cached| {
            cached
                .as_ref()
                .is_none_or(|hit| hit.fetched_at.elapsed() >= IDLE_SLOT)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::PublishStatus;

    fn state(status: PublishStatus) -> PostState {
        PostState {
            publish_id: "p".into(),
            status,
            fail_reason: None,
            post_ids: vec![],
            uploaded_bytes: None,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn reuses_within_the_ttl_and_reports_changes() {
        let cache = StatusCache::new(Duration::from_secs(2));
        let poll = |status: PublishStatus| {
            let cache = &cache;
            async move {
                let polled = cache
                    .get_or_fetch("p", async { Ok(state(status)) })
                    .await
                    .unwrap();
                (polled.state.status, polled.changed)
            }
        };
        use PublishStatus::*;
        assert_eq!(poll(ProcessingUpload).await, (ProcessingUpload, true));
        // Within the ttl the fetch is not run: its answer is ignored.
        assert_eq!(poll(PublishComplete).await, (ProcessingUpload, false));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(poll(ProcessingUpload).await, (ProcessingUpload, false));
        tokio::time::advance(Duration::from_secs(2)).await;
        assert_eq!(poll(PublishComplete).await, (PublishComplete, true));
    }

    #[tokio::test(start_paused = true)]
    async fn idle_slots_are_swept_and_live_ones_kept() {
        let cache = StatusCache::new(Duration::from_secs(2));
        let answer = |id: &str| {
            let mut answer = state(PublishStatus::ProcessingUpload);
            answer.publish_id = id.into();
            answer
        };
        cache
            .get_or_fetch("live", async { Ok(answer("live")) })
            .await
            .unwrap();
        // Polls of unknown posts: errors, never cached, but each left a slot.
        for n in 1..SWEEP_AT {
            let _ = cache
                .get_or_fetch(&format!("unknown-{n}"), async {
                    Err(Error::InvalidPublishId)
                })
                .await;
        }
        assert_eq!(
            cache.len(),
            SWEEP_AT,
            "swept only when a new slot is needed"
        );
        cache
            .get_or_fetch("another", async { Ok(answer("another")) })
            .await
            .unwrap();
        assert_eq!(cache.len(), 2, "the error-only slots are gone");
        let polled = cache
            .get_or_fetch("live", async { Ok(answer("live")) })
            .await
            .unwrap();
        assert!(!polled.changed, "the live post kept its last answer");

        tokio::time::advance(IDLE_SLOT).await;
        for n in 0..SWEEP_AT {
            let _ = cache
                .get_or_fetch(&format!("unknown-{n}"), async {
                    Err(Error::InvalidPublishId)
                })
                .await;
        }
        let polled = cache
            .get_or_fetch("live", async { Ok(answer("live")) })
            .await
            .unwrap();
        assert!(polled.changed, "an answer an hour old was swept too");
    }
}
