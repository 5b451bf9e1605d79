//! What one line of the log says: a [`LogLine`] is a time and a [`LogEvent`], and each kind of
//! event carries exactly its own fields. On disk a line is one JSON object, the event's kind in
//! its `event` field (`post_created`, `post_failed`, `status`, `upload`) and absent fields left
//! out; the history (`GET /api/posts`), the duplicate guard and the next start-up read them back.

use protocol::chunk::PlanReading;
use protocol::wire::{CreatePost, PostMode, UploadEventKind};
use serde::{Deserialize, Serialize};
use std::time::SystemTime;

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    /// RFC 3339, UTC, milliseconds.
    pub ts: String,
    #[serde(flatten)]
    pub event: LogEvent,
}

impl LogLine {
    /// `event`, stamped now.
    pub fn now(event: LogEvent) -> Self {
        Self {
            ts: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            event,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum LogEvent {
    /// An init call succeeded: TikTok handed out a `publish_id` and an upload URL.
    PostCreated(PostCreated),
    /// An init call failed; `tiktok_code` or `code` says why.
    PostFailed(PostFailed),
    /// A poll saw a status different from the last one seen.
    Status(StatusSeen),
    /// Something happened to the upload, as the browser (or the server-side poster) tells it.
    Upload(UploadReported),
    /// An event written by a later version; kept out of the history.
    #[serde(other)]
    Unknown,
}

impl LogEvent {
    /// The event's name on disk, for diagnostics.
    pub fn name(&self) -> &'static str {
        match self {
            Self::PostCreated(_) => "post_created",
            Self::PostFailed(_) => "post_failed",
            Self::Status(_) => "status",
            Self::Upload(_) => "upload",
            Self::Unknown => "unknown",
        }
    }
}

/// The post an init asked for, as both its outcomes record it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostDetails {
    /// Always written; a line without one reads as a post of unknown mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PostMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Always written; a line without one reads as a post of unknown size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_size: Option<u64>,
    /// Who started the post: `local`, `session:…`, `token:tok_…`, `embed-key:…`,
    /// `ticket:ORIGIN`, or a job's sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The title sent to TikTok (direct posts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

impl PostDetails {
    /// What the log records of `post` (already validated), started by `by`.
    pub fn of(post: &CreatePost, by: String) -> Self {
        Self {
            mode: Some(post.mode),
            file_name: Some(post.file_name.clone()).filter(|name| !name.is_empty()),
            video_size: Some(post.video_size),
            by: Some(by),
            // Inbox drafts take no title at TikTok, so none is recorded for them.
            caption: Some(post.post_info.title.clone())
                .filter(|title| post.mode == PostMode::Direct && !title.is_empty()),
        }
    }
}

/// `post_created`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostCreated {
    pub publish_id: String,
    #[serde(flatten)]
    pub post: PostDetails,
    /// The accepted plan's chunk size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_size: Option<u64>,
    /// The accepted plan's chunk count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_chunk_count: Option<u64>,
    /// Which reading of TikTok's chunk rule the accepted plan follows (multi-chunk posts only);
    /// the newest one is where the next upload starts, also after a restart
    /// ([`super::Log::last_chunk_reading`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk_reading: Option<PlanReading>,
    /// The TikTok account the post went to, when the proxy knows it (Login Kit tells it; a
    /// fixed access token does not): the duplicate guard's key with `sha256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_id: Option<String>,
    /// Hex SHA-256 of the video, when the proxy received it (`POST /api/upload`); the page
    /// sends its bytes straight to TikTok, so its posts have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The server-side job that made the post, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
}

/// `post_failed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostFailed {
    #[serde(flatten)]
    pub post: PostDetails,
    /// TikTok's `error.code`, when TikTok refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiktok_code: Option<String>,
    /// Our code, when the failure was on the way to TikTok (`tiktok_timeout`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// TikTok's request id, for support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_id: Option<String>,
    /// What the creator was told, for a refused chunk plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The post a `status` or `upload` line is about, with what this proxy remembers of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AboutPost {
    pub publish_id: String,
    /// Known while this proxy remembers the post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PostMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
}

impl AboutPost {
    /// `publish_id`, a post of `mode` (if known) sent as `file_name` (empty: unnamed).
    pub fn new(publish_id: &str, mode: Option<PostMode>, file_name: &str) -> Self {
        Self {
            publish_id: publish_id.to_owned(),
            mode,
            file_name: Some(file_name.to_owned()).filter(|name| !name.is_empty()),
        }
    }
}

/// `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusSeen {
    #[serde(flatten)]
    pub post: AboutPost,
    /// TikTok's spelling (`PUBLISH_COMPLETE`, …).
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    /// Exact decimal strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_ids: Vec<String>,
}

/// `upload`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadReported {
    #[serde(flatten)]
    pub post: AboutPost,
    /// What happened to the upload.
    pub upload_event: UploadEventKind,
    /// The 0-based chunk it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u64>,
    /// The HTTP status the upload host answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// What the creator was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl UploadReported {
    /// An `upload_event` about `publish_id`, a post of `mode` sent as `file_name`, with no
    /// detail yet.
    pub fn new(publish_id: &str, mode: PostMode, file_name: &str, kind: UploadEventKind) -> Self {
        Self {
            post: AboutPost::new(publish_id, Some(mode), file_name),
            upload_event: kind,
            chunk: None,
            http_status: None,
            message: None,
        }
    }
}
