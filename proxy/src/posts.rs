//! What the proxy remembers about each post it started, by `publish_id`, while it runs.

use protocol::ChunkPlan;
use protocol::ContentType;
use protocol::wire::PostMode;
use std::collections::HashMap;
use std::sync::Mutex;

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
}

/// Posts by `publish_id`. Only a few are started per hour (TikTok allows 6 inits a minute),
/// so nothing is ever evicted.
#[derive(Debug, Default)]
pub struct Posts {
    records: Mutex<HashMap<String, PostRecord>>,
}

impl Posts {
    pub fn insert(&self, publish_id: String, record: PostRecord) {
        self.lock().insert(publish_id, record);
    }

    pub fn get(&self, publish_id: &str) -> Option<PostRecord> {
        self.lock().get(publish_id).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, PostRecord>> {
        // A panic while holding this lock leaves the map whole (inserts and clones only), so a
        // poisoned lock is still safe to use.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
