//! The JSONL history: one event per line, appended by one writer at a time, folded into
//! `History` on read. A line torn by a crash is skipped and reported, never fatal.

use protocol::wire::{History, HistoryEntry, PostMode};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::Mutex;

/// The status a post has in the history between `post_created` and its first poll: what
/// TikTok itself answers right after init.
pub const STATUS_AFTER_CREATE: &str = "PROCESSING_UPLOAD";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// An init call succeeded: TikTok handed out a `publish_id` and an upload URL.
    PostCreated,
    /// An init call failed; `tiktok_code` or `code` says why.
    PostFailed,
    /// A poll saw a status different from the last one seen.
    Status,
    /// The browser reported something that happened to the upload; `upload_event` says what.
    Upload,
    /// An event written by a later version; kept out of the history.
    #[serde(other)]
    Unknown,
}

/// One line of the log. Absent fields are left out of the line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogEvent {
    /// RFC 3339, UTC, milliseconds.
    pub ts: String,
    pub event: EventKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PostMode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_size: Option<u64>,
    /// Who started the post (`post_created`): `local`, `session:…`, `token:tok_…`,
    /// `embed-key:…` or `ticket:ORIGIN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// The title sent to TikTok (direct posts only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    /// Exact decimal strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_ids: Vec<String>,
    /// TikTok's `error.code`, when TikTok refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiktok_code: Option<String>,
    /// Our code, when the failure was on the way to TikTok (`tiktok_timeout`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// TikTok's request id, for support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_id: Option<String>,
    /// What happened to the upload (events of kind `upload`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_event: Option<protocol::wire::UploadEventKind>,
    /// The 0-based chunk an upload event concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u64>,
    /// The HTTP status the upload host answered, for upload events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// What the creator was told, for upload events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl LogEvent {
    /// An event of `kind`, stamped now, with every other field empty.
    pub fn now(kind: EventKind) -> Self {
        Self {
            ts: humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
            event: kind,
            publish_id: None,
            mode: None,
            file_name: None,
            video_size: None,
            by: None,
            caption: None,
            status: None,
            fail_reason: None,
            post_ids: Vec::new(),
            tiktok_code: None,
            code: None,
            log_id: None,
            upload_event: None,
            chunk: None,
            http_status: None,
            message: None,
        }
    }
}

/// The log file and its single writer.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    /// Held for a whole line's write (and for reads, so a read never sees half a line).
    writer: Mutex<Writer>,
}

#[derive(Debug)]
struct Writer {
    file: File,
    /// The file does not end with `\n` (a torn line from a crash, or a failed write): the next
    /// line must start on a fresh one.
    needs_newline: bool,
}

impl Log {
    /// Opens (creating) the log for appending.
    pub async fn open(path: &Path) -> io::Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .await?;
        let len = file.metadata().await?.len();
        let needs_newline = if len == 0 {
            false
        } else {
            file.seek(io::SeekFrom::Start(len - 1)).await?;
            let mut last = [0u8; 1];
            file.read_exact(&mut last).await?;
            last[0] != b'\n'
        };
        Ok(Self {
            path: path.to_owned(),
            writer: Mutex::new(Writer {
                file,
                needs_newline,
            }),
        })
    }

    /// Appends one line: the whole line in a single write, then a flush.
    pub async fn append(&self, event: &LogEvent) -> io::Result<()> {
        let mut writer = self.writer.lock().await;
        let mut line = Vec::with_capacity(256);
        if writer.needs_newline {
            line.push(b'\n');
        }
        serde_json::to_writer(&mut line, event)?;
        line.push(b'\n');
        let written = async {
            writer.file.write_all(&line).await?;
            writer.file.flush().await
        }
        .await;
        // After a failed write the file may end mid-line; after a good one it ends with '\n'.
        writer.needs_newline = written.is_err();
        written
    }

    /// Reads the whole log and folds it into the history.
    pub async fn history(&self) -> io::Result<History> {
        let text = {
            let _writer = self.writer.lock().await;
            tokio::fs::read(&self.path).await?
        };
        let (history, skipped) = fold(&text);
        if skipped > 0 {
            tracing::warn!(
                skipped,
                path = %self.path.display(),
                "skipped unreadable log lines (torn by a crash or edited by hand)"
            );
        }
        Ok(history)
    }
}

/// Folds log lines into one entry per `publish_id`, newest first, each with its latest status.
/// Also returns how many lines could not be read; they are skipped.
pub fn fold(text: &[u8]) -> (History, usize) {
    let mut posts: Vec<HistoryEntry> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut skipped = 0;
    for line in text.split(|&byte| byte == b'\n') {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let Ok(event) = serde_json::from_slice::<LogEvent>(line) else {
            skipped += 1;
            continue;
        };
        let Some(publish_id) = event.publish_id.clone() else {
            continue;
        };
        let upload_status = event
            .upload_event
            .and_then(protocol::wire::UploadEventKind::final_status);
        let counts = match event.event {
            EventKind::PostCreated | EventKind::Status => true,
            EventKind::Upload => upload_status.is_some(),
            EventKind::PostFailed | EventKind::Unknown => false,
        };
        if !counts {
            continue;
        }
        let at = *index.entry(publish_id.clone()).or_insert_with(|| {
            posts.push(HistoryEntry {
                publish_id,
                mode: None,
                file_name: None,
                video_size: None,
                caption: None,
                status: STATUS_AFTER_CREATE.to_owned(),
                fail_reason: None,
                post_ids: Vec::new(),
                created_at: event.ts.clone(),
                updated_at: event.ts.clone(),
            });
            posts.len() - 1
        });
        let entry = &mut posts[at];
        entry.mode = event.mode.or(entry.mode);
        entry.file_name = event.file_name.or(entry.file_name.take());
        entry.video_size = event.video_size.or(entry.video_size);
        entry.caption = event.caption.or(entry.caption.take());
        if let Some(status) = upload_status {
            entry.status = status.to_owned();
            entry.fail_reason = event.message.clone();
        }
        if event.event == EventKind::Status {
            if let Some(status) = event.status {
                entry.status = status;
            }
            entry.fail_reason = event.fail_reason;
            entry.post_ids = event.post_ids;
        }
        entry.updated_at = event.ts;
    }
    // Posts appear in the log in the order they were started.
    posts.reverse();
    (History { posts }, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_latest_status_newest_first_and_skips_torn_lines() {
        let log = concat!(
            r#"{"ts":"2025-01-01T00:00:00.000Z","event":"post_created","publish_id":"a","mode":"direct","file_name":"a.mp4","video_size":10,"caption":"hi"}"#,
            "\n",
            r#"{"ts":"2025-01-01T00:00:01.000Z","event":"post_failed","tiktok_code":"rate_limit_exceeded"}"#,
            "\n",
            r#"{"ts":"2025-01-01T00:00:02.000Z","event":"post_created","publish_id":"b","mode":"inbox","video_size":20}"#,
            "\n",
            r#"{"ts":"2025-01-01T00:00:03.000Z","event":"status","publish_id":"a","status":"PUBLISH_COMPLETE","post_ids":["7303974455139846443"]}"#,
            "\n",
            r#"{"ts":"2025-01-01T00:00:04.000Z","event":"from_the_future","publish_id":"c"}"#,
            "\n",
            r#"{"ts":"2025-01-01T00:00:05.000Z","event":"status","publish_id":"b","status":"FAI"#,
        );
        let (history, skipped) = fold(log.as_bytes());
        assert_eq!(skipped, 1);
        let ids: Vec<_> = history
            .posts
            .iter()
            .map(|p| p.publish_id.as_str())
            .collect();
        assert_eq!(ids, ["b", "a"]);
        let a = &history.posts[1];
        assert_eq!(a.status, "PUBLISH_COMPLETE");
        assert_eq!(a.post_ids, ["7303974455139846443"]);
        assert_eq!(a.caption.as_deref(), Some("hi"));
        assert_eq!(a.created_at, "2025-01-01T00:00:00.000Z");
        assert_eq!(a.updated_at, "2025-01-01T00:00:03.000Z");
        assert_eq!(history.posts[0].status, STATUS_AFTER_CREATE);
    }

    #[test]
    fn absent_fields_are_left_out() {
        let mut event = LogEvent::now(EventKind::PostFailed);
        event.code = Some("tiktok_timeout".into());
        let line = serde_json::to_value(&event).unwrap();
        let keys: Vec<_> = line.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["code", "event", "ts"]);
        assert!(humantime::parse_rfc3339(line["ts"].as_str().unwrap()).is_ok());
    }
}
