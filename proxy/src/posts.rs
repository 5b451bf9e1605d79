//! What the proxy remembers about each post it started, by `publish_id`, while it runs.

use crate::error::Error;
use protocol::ChunkPlan;
use protocol::ContentType;
use protocol::wire::PostMode;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How long a post is remembered. Its upload URL works for an hour and TikTok finishes
/// processing within minutes; a day leaves room for a slow inbox without keeping posts forever.
pub const KEEP_POSTS_FOR: Duration = Duration::from_secs(24 * 60 * 60);

/// The most upload events (`POST /api/posts/{id}/events`) one post may log. A real upload
/// reports a handful (a retry or resync per failed chunk, of at most 1,000 chunks rarely
/// failing); past this a page is looping or someone is filling the log.
pub const MAX_EVENTS_PER_POST: u32 = 200;

/// One post started through this proxy.
#[derive(Debug, Clone)]
pub struct PostRecord {
    /// TikTok's upload URL, used whole; valid for one hour.
    pub upload_url: String,
    /// The plan announced to TikTok; every chunk must match it.
    pub plan: ChunkPlan,
    /// Direct post or inbox draft.
    pub mode: PostMode,
    /// The `Content-Type` each chunk is sent with.
    pub content_type: ContentType,
    /// The caller's file name, for the log.
    pub file_name: String,
    /// Who started it (`operator::Caller::owner`): only they or the operator may follow it.
    pub owner: String,
}

/// Posts by `publish_id`, each forgotten [`KEEP_POSTS_FOR`] after it started (TikTok allows six
/// inits a minute, so at most a few thousand are ever held).
#[derive(Debug, Default)]
pub struct Posts {
    records: Mutex<HashMap<String, Entry>>,
}

#[derive(Debug)]
struct Entry {
    started: Instant,
    record: PostRecord,
    /// Upload events logged so far, at most [`MAX_EVENTS_PER_POST`].
    events: u32,
}

impl Posts {
    pub fn insert(&self, publish_id: String, record: PostRecord) {
        let mut records = self.lock();
        records.retain(|_, entry| entry.started.elapsed() < KEEP_POSTS_FOR);
        records.insert(
            publish_id,
            Entry {
                started: Instant::now(),
                record,
                events: 0,
            },
        );
    }

    pub fn get(&self, publish_id: &str) -> Option<PostRecord> {
        self.lock()
            .get(publish_id)
            .filter(|entry| entry.started.elapsed() < KEEP_POSTS_FOR)
            .map(|entry| entry.record.clone())
    }

    /// Counts one upload event for the post and returns its record; `UnknownUpload` for a post
    /// not (or no longer) known, `TooManyEvents` past [`MAX_EVENTS_PER_POST`].
    pub fn count_event(&self, publish_id: &str) -> Result<PostRecord, Error> {
        let mut records = self.lock();
        let entry = records
            .get_mut(publish_id)
            .filter(|entry| entry.started.elapsed() < KEEP_POSTS_FOR)
            .ok_or(Error::UnknownUpload)?;
        if entry.events >= MAX_EVENTS_PER_POST {
            return Err(Error::TooManyEvents);
        }
        entry.events += 1;
        Ok(entry.record.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding this lock leaves the map whole (inserts, removals and clones
        // only), so a poisoned lock is still safe to use.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> PostRecord {
        PostRecord {
            upload_url: "http://127.0.0.1:1/upload".into(),
            plan: ChunkPlan::new(10_000_000).unwrap(),
            mode: PostMode::Inbox,
            content_type: ContentType::Mp4,
            file_name: "a.mp4".into(),
            owner: "local".into(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn posts_are_forgotten_after_a_day() {
        let posts = Posts::default();
        posts.insert("old".into(), record());
        tokio::time::advance(KEEP_POSTS_FOR - Duration::from_secs(1)).await;
        posts.insert("new".into(), record());
        assert!(posts.get("old").is_some(), "still within the day");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(posts.get("old").is_none(), "a day old");
        posts.insert("newer".into(), record());
        assert_eq!(posts.lock().len(), 2, "the old one is gone from memory too");
        assert!(posts.get("new").is_some());
    }

    #[test]
    fn events_are_counted_per_post_up_to_the_cap() {
        let posts = Posts::default();
        posts.insert("a".into(), record());
        posts.insert("b".into(), record());
        for _ in 0..MAX_EVENTS_PER_POST {
            assert!(posts.count_event("a").is_ok());
        }
        assert!(matches!(posts.count_event("a"), Err(Error::TooManyEvents)));
        assert!(
            posts.count_event("b").is_ok(),
            "each post has its own count"
        );
        assert!(matches!(posts.count_event("c"), Err(Error::UnknownUpload)));
    }
}
