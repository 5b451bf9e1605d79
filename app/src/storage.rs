//! What the page keeps in the browser's `localStorage`: the upload in progress (so a reload or a
//! crash can continue it within TikTok's hour) and whether this browser needs the relay.

use crate::engine::Job;
use protocol::limits::UPLOAD_URL_LIFETIME_SECS;
use protocol::wire::PostMode;
use serde::{Deserialize, Serialize};
use web_sys::{File, Storage};

const UPLOAD_KEY: &str = "tiktok-autoposter:upload";
const TRANSPORT_KEY: &str = "tiktok-autoposter:transport";

/// Which file an upload was of: the only way to know the creator picked the same one again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileIdentity {
    pub name: String,
    pub size: u64,
    /// `File.lastModified`, milliseconds since the epoch.
    pub last_modified: f64,
}

impl FileIdentity {
    pub fn of(file: &File) -> Self {
        Self {
            name: file.name(),
            size: file.size() as u64,
            last_modified: file.last_modified(),
        }
    }
}

/// An upload that was under way.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedUpload {
    pub job: Job,
    pub file: FileIdentity,
    pub mode: PostMode,
    /// When init returned (`Date.now()`); the upload URL dies an hour later.
    pub started_at_ms: f64,
}

impl SavedUpload {
    /// Whether TikTok's upload URL still works.
    pub fn is_fresh(&self, now_ms: f64) -> bool {
        now_ms - self.started_at_ms < UPLOAD_URL_LIFETIME_SECS as f64 * 1000.0
    }
}

pub fn save(upload: &SavedUpload) {
    if let (Some(storage), Ok(json)) = (storage(), crate::json::to_string(upload)) {
        let _ = storage.set_item(UPLOAD_KEY, &json);
    }
}

pub fn load() -> Option<SavedUpload> {
    let json = storage()?.get_item(UPLOAD_KEY).ok()??;
    crate::json::from_str(&json).ok()
}

pub fn clear() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(UPLOAD_KEY);
    }
}

/// Remembers that this browser may not PUT to TikTok directly.
pub fn remember_relay() {
    if let Some(storage) = storage() {
        let _ = storage.set_item(TRANSPORT_KEY, "relay");
    }
}

/// Whether an earlier upload found that this browser needs the relay.
pub fn relay_remembered() -> bool {
    storage()
        .and_then(|s| s.get_item(TRANSPORT_KEY).ok().flatten())
        .is_some_and(|value| value == "relay")
}

fn storage() -> Option<Storage> {
    web_sys::window()?.local_storage().ok()?
}
