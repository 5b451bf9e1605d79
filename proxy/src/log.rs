//! The JSONL history: one event per line, appended by one writer at a time, folded into
//! `History` on read. A line torn by a crash is skipped and reported, never fatal.
//!
//! Reading takes no lock: a page is read through its own file handle, backwards from the end,
//! and only lines that end with `\n` count (a line being written is not one yet). So a page
//! costs about what lies between the end of the log and that page, never the whole log, and
//! appends never wait for a reader.
//!
//! The duplicate guard is the exception: it asks an index of the log kept in memory
//! (`log/sent.rs`), built from the file at open and fed each line as it is appended.

mod event;
mod sent;

pub use event::{
    AboutPost, LogEvent, LogLine, PostCreated, PostDetails, PostFailed, StatusSeen, UploadReported,
};

use protocol::chunk::PlanReading;
use protocol::wire::{History, HistoryEntry, MAX_HISTORY_LIMIT};
use sent::Sent;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::{self, Read, Seek};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::Mutex;

/// The status a post has in the history between `post_created` and its first poll: what
/// TikTok itself answers right after init.
pub const STATUS_AFTER_CREATE: &str = "PROCESSING_UPLOAD";

/// The log file and its single writer.
#[derive(Debug)]
pub struct Log {
    path: PathBuf,
    /// Held for a whole line's write and the index's update after it; readers do not take it.
    writer: Arc<Mutex<Writer>>,
    /// The duplicate guard's index: what the log's complete lines say about videos sent, fed
    /// by [`Log::append`] under `writer` after each write, so it never disagrees with the file.
    sent: Arc<std::sync::Mutex<Sent>>,
}

#[derive(Debug)]
struct Writer {
    file: File,
    /// The file does not end with `\n` (a torn line from a crash, or a failed write): the next
    /// line must start on a fresh one.
    needs_newline: bool,
}

impl Writer {
    /// Writes `line` (ending in `\n`) at the end of the file, on a line of its own, in a single
    /// write, then flushes; returns where the line starts.
    async fn write(&mut self, line: &[u8]) -> io::Result<u64> {
        let newline = u64::from(self.needs_newline);
        let bytes: Cow<'_, [u8]> = if self.needs_newline {
            [b"\n", line].concat().into()
        } else {
            line.into()
        };
        let written = async {
            // Appends go to the end, so this is where the bytes start.
            let end = self.file.seek(io::SeekFrom::End(0)).await?;
            self.file.write_all(&bytes).await?;
            self.file.flush().await?;
            Ok(end + newline)
        }
        .await;
        // After a failed write the file may end mid-line; after a good one it ends with '\n'.
        self.needs_newline = written.is_err();
        written
    }
}

/// The index behind `sent`, however a panic left it: its changes are pushes and flag changes
/// only, so a poisoned index is still whole.
fn lock_index(sent: &std::sync::Mutex<Sent>) -> std::sync::MutexGuard<'_, Sent> {
    sent.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Log {
    /// Opens (creating) the log for appending, and reads it once whole for the duplicate
    /// guard's index (`log/sent.rs`; under 2 s for 100,000 posts in a debug build).
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
        let read_from = path.to_owned();
        let sent = tokio::task::spawn_blocking(move || {
            Sent::read(io::BufReader::new(std::fs::File::open(read_from)?))
        })
        .await
        .map_err(io::Error::other)??;
        Ok(Self {
            path: path.to_owned(),
            writer: Arc::new(Mutex::new(Writer {
                file,
                needs_newline,
            })),
            sent: Arc::new(std::sync::Mutex::new(sent)),
        })
    }

    /// Appends one line: the whole line in a single write, then a flush, then the index.
    ///
    /// Once the writer's lock is taken this runs to its end in a task of its own: a caller that
    /// stops waiting (a request whose client went away, a job task being stopped) drops only
    /// its wait, never the write between its bytes reaching the file and the index noting them.
    pub async fn append(&self, event: &LogLine) -> io::Result<()> {
        let mut line = Vec::with_capacity(256);
        serde_json::to_writer(&mut line, event)?;
        line.push(b'\n');
        let mut writer = Arc::clone(&self.writer).lock_owned().await;
        let sent = Arc::clone(&self.sent);
        tokio::spawn(async move {
            let line_at = writer.write(&line).await?;
            lock_index(&sent).note_line(&line, line_at);
            Ok(())
        })
        .await
        .map_err(io::Error::other)?
    }

    /// The chunk-rule reading of the newest `post_created` line that records one, read backwards
    /// from the log's end (so it costs what lies after that line). `None` if no multi-chunk
    /// post was ever created. Called once, at start-up.
    pub async fn last_chunk_reading(&self) -> io::Result<Option<PlanReading>> {
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut file = std::fs::File::open(&path)?;
            let end = file.metadata()?.len();
            last_chunk_reading(&mut file, end)
        })
        .await
        .map_err(io::Error::other)?
    }

    /// The newest post of the video `sha256` to account `open_id` that TikTok holds, for the
    /// duplicate guard: decided by the index (`log/sent.rs`), then named from its own line.
    pub async fn earlier_post(
        &self,
        sha256: &str,
        open_id: Option<&str>,
    ) -> io::Result<Option<crate::error::EarlierPost>> {
        let Some(line_at) = self.sent().earlier_post(sha256, open_id) else {
            return Ok(None);
        };
        let path = self.path.clone();
        tokio::task::spawn_blocking(move || {
            let mut file = io::BufReader::new(std::fs::File::open(&path)?);
            sent::earlier_post_at(&mut file, line_at).map(Some)
        })
        .await
        .map_err(io::Error::other)?
    }

    fn sent(&self) -> std::sync::MutexGuard<'_, Sent> {
        lock_index(&self.sent)
    }

    /// One page of the history: up to `page.limit` posts, newest first, that started before
    /// `page.before`. Read without the writer's lock (see the module's comment).
    pub async fn page(&self, page: Page) -> io::Result<History> {
        let path = self.path.clone();
        let (history, skipped) = tokio::task::spawn_blocking(move || {
            let mut file = std::fs::File::open(&path)?;
            let end = file.metadata()?.len();
            read_page(&mut file, end, page)
        })
        .await
        .map_err(io::Error::other)??;
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

/// Which page of the history to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// At most this many posts (1 to [`MAX_HISTORY_LIMIT`]).
    pub limit: usize,
    /// Only posts whose `post_created` line starts before this byte of the log: a previous
    /// page's `next_before`. `None`: from the newest.
    pub before: Option<u64>,
}

impl Page {
    /// Reads `?limit=&before=`; other parameters are ignored. The error says which value is
    /// wrong and what is expected, for the caller.
    pub fn from_query(query: Option<&str>) -> Result<Self, String> {
        let mut page = Self {
            limit: protocol::wire::DEFAULT_HISTORY_LIMIT,
            before: None,
        };
        for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*name {
                "limit" => {
                    page.limit = value
                        .parse()
                        .ok()
                        .filter(|limit| (1..=MAX_HISTORY_LIMIT).contains(limit))
                        .ok_or_else(|| {
                            format!("limit must be a whole number from 1 to {MAX_HISTORY_LIMIT}.")
                        })?;
                }
                "before" => {
                    page.before = Some(value.parse().map_err(|_| {
                        "before must be the next_before of a previous page (a whole number)."
                            .to_owned()
                    })?);
                }
                _ => {}
            }
        }
        Ok(page)
    }
}

/// One page of the log's first `end` bytes, read backwards from `end`; also how many lines could
/// not be read (they are skipped). A post's entry starts at its `post_created` line and gathers
/// every later line about it, exactly as [`fold`] does for the whole log.
pub fn read_page(
    reader: &mut (impl Read + Seek),
    end: u64,
    page: Page,
) -> io::Result<(History, usize)> {
    let mut lines = Backwards::new(reader, end);
    // Events seen for posts whose `post_created` line is not reached yet, newest first.
    let mut open: HashMap<String, Vec<LogLine>> = HashMap::new();
    let mut posts = Vec::new();
    let mut oldest = None;
    let mut next_before = None;
    let mut skipped = 0;
    while let Some((offset, line)) = lines.next_line()? {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let Ok(line) = serde_json::from_slice::<LogLine>(&line) else {
            skipped += 1;
            continue;
        };
        let Some(publish_id) = shaped_post(&line.event).map(str::to_owned) else {
            continue;
        };
        let started = matches!(line.event, LogEvent::PostCreated(_));
        open.entry(publish_id.clone()).or_default().push(line);
        if !started {
            continue;
        }
        let mut events = open.remove(&publish_id).expect("just pushed");
        if page.before.is_some_and(|before| offset >= before) {
            continue;
        }
        if posts.len() == page.limit {
            next_before = oldest;
            break;
        }
        events.reverse();
        let mut events = events.into_iter();
        let first = events.next().expect("the post_created line at least");
        let mut entry = new_entry(&first);
        apply(&mut entry, first);
        events.for_each(|event| apply(&mut entry, event));
        posts.push(entry);
        oldest = Some(offset);
    }
    Ok((History { posts, next_before }, skipped))
}

/// The newest `chunk_reading` among the `post_created` lines of a log's first `end` bytes;
/// unreadable lines are skipped, as everywhere.
fn last_chunk_reading(
    reader: &mut (impl Read + Seek),
    end: u64,
) -> io::Result<Option<PlanReading>> {
    let mut lines = Backwards::new(reader, end);
    while let Some((_, line)) = lines.next_line()? {
        if let Ok(Peek {
            event,
            chunk_reading: Some(reading),
            ..
        }) = serde_json::from_slice(&line)
            && event == "post_created"
        {
            return Ok(Some(reading));
        }
    }
    Ok(None)
}

/// The whole log folded at once: one entry per post that has a `post_created` line, newest
/// first. What reading every page in turn must give.
#[cfg(test)]
pub fn fold(text: &[u8]) -> (History, usize) {
    let mut posts: Vec<HistoryEntry> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut skipped = 0;
    for line in text.split(|&byte| byte == b'\n') {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let Ok(line) = serde_json::from_slice::<LogLine>(line) else {
            skipped += 1;
            continue;
        };
        let Some(publish_id) = shaped_post(&line.event).map(str::to_owned) else {
            continue;
        };
        let at = match (index.get(&publish_id), &line.event) {
            (Some(&at), _) => at,
            (None, LogEvent::PostCreated(_)) => {
                posts.push(new_entry(&line));
                index.insert(publish_id, posts.len() - 1);
                posts.len() - 1
            }
            // A post this log never saw start (its log was replaced): not listed.
            (None, _) => continue,
        };
        apply(&mut posts[at], line);
    }
    // Posts appear in the log in the order they were started.
    posts.reverse();
    (
        History {
            posts,
            next_before: None,
        },
        skipped,
    )
}

/// The post whose history entry `event` changes, if it changes one: starts, statuses and final
/// upload outcomes do; failed inits, retries and events from later versions do not.
fn shaped_post(event: &LogEvent) -> Option<&str> {
    match event {
        LogEvent::PostCreated(created) => Some(&created.publish_id),
        LogEvent::Status(seen) => Some(&seen.post.publish_id),
        LogEvent::Upload(upload) if upload.upload_event.final_status().is_some() => {
            Some(&upload.post.publish_id)
        }
        LogEvent::Upload(_) | LogEvent::PostFailed(_) | LogEvent::Unknown => None,
    }
}

/// An entry as its first line leaves it, before [`apply`]ing that line.
fn new_entry(first: &LogLine) -> HistoryEntry {
    let publish_id = shaped_post(&first.event).unwrap_or_default();
    HistoryEntry {
        publish_id: publish_id.to_owned(),
        mode: None,
        file_name: None,
        video_size: None,
        caption: None,
        status: STATUS_AFTER_CREATE.to_owned(),
        fail_reason: None,
        post_ids: Vec::new(),
        created_at: first.ts.clone(),
        updated_at: first.ts.clone(),
    }
}

/// Folds one line (of an event [`shaped_post`] names) into its post's entry.
fn apply(entry: &mut HistoryEntry, line: LogLine) {
    match line.event {
        LogEvent::PostCreated(PostCreated { post, .. }) => {
            entry.mode = post.mode.or(entry.mode);
            entry.file_name = post.file_name.or(entry.file_name.take());
            entry.video_size = post.video_size.or(entry.video_size);
            entry.caption = post.caption.or(entry.caption.take());
        }
        LogEvent::Status(seen) => {
            note_about(entry, seen.post);
            entry.status = seen.status;
            entry.fail_reason = seen.fail_reason;
            entry.post_ids = seen.post_ids;
        }
        LogEvent::Upload(upload) => {
            note_about(entry, upload.post);
            if let Some(status) = upload.upload_event.final_status() {
                entry.status = status.to_owned();
                entry.fail_reason = upload.message;
            }
        }
        LogEvent::PostFailed(_) | LogEvent::Unknown => return,
    }
    entry.updated_at = line.ts;
}

/// What a later line knows of its post's mode and file name fills what its entry lacks.
fn note_about(entry: &mut HistoryEntry, about: AboutPost) {
    entry.mode = about.mode.or(entry.mode);
    entry.file_name = about.file_name.or(entry.file_name.take());
}

/// The few fields of a line that start-up and the duplicate guard decide on, borrowed where the
/// text allows: a scan of a long log this way skips building every event whole.
#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow)]
    event: Cow<'a, str>,
    #[serde(borrow, default)]
    publish_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    sha256: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    open_id: Option<Cow<'a, str>>,
    #[serde(default)]
    chunk_reading: Option<PlanReading>,
}

/// How much of the log is read at a time, going backwards.
const BLOCK: u64 = 64 * 1024;

/// The complete lines of a log's first `end` bytes, last first, each with the offset it starts
/// at. Bytes after the last `\n` are a line still being written (or torn): not a line yet.
struct Backwards<'a, R> {
    reader: &'a mut R,
    /// Where the bytes in `buffer` start in the file.
    pos: u64,
    /// Read but not yet returned; once `tail_dropped`, it ends where a line ends.
    buffer: Vec<u8>,
    /// The bytes after the last `\n` have been dropped.
    tail_dropped: bool,
}

impl<'a, R: Read + Seek> Backwards<'a, R> {
    fn new(reader: &'a mut R, end: u64) -> Self {
        Self {
            reader,
            pos: end,
            buffer: Vec::new(),
            tail_dropped: false,
        }
    }

    fn next_line(&mut self) -> io::Result<Option<(u64, Vec<u8>)>> {
        loop {
            if let Some(newline) = self.buffer.iter().rposition(|&byte| byte == b'\n') {
                let line = self.buffer.split_off(newline + 1);
                self.buffer.truncate(newline);
                if !self.tail_dropped {
                    self.tail_dropped = true;
                    continue;
                }
                return Ok(Some((self.pos + newline as u64 + 1, line)));
            }
            if self.pos == 0 {
                if !self.tail_dropped || self.buffer.is_empty() {
                    return Ok(None);
                }
                return Ok(Some((0, std::mem::take(&mut self.buffer))));
            }
            let read = self.pos.min(BLOCK);
            self.pos -= read;
            let mut block = vec![0; usize::try_from(read).expect("a block fits in memory")];
            self.reader.seek(io::SeekFrom::Start(self.pos))?;
            self.reader.read_exact(&mut block)?;
            block.extend_from_slice(&self.buffer);
            self.buffer = block;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::wire::PostMode;

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

    /// Lines as the proxy wrote them before `LogEvent` was an enum: the `post_created`,
    /// `status` and `upload` lines were copied from test runs of that build (`upload.rs`,
    /// `api.rs`), the `post_failed` and final `upload` lines follow its field order.
    const LOG_BEFORE_THE_ENUM: &str = concat!(
        r#"{"ts":"2026-12-02T03:30:57.653Z","event":"post_created","publish_id":"v_pub_file~v2-1.7028245190732220586","mode":"direct","file_name":"cat.mp4","video_size":70000000,"by":"local","caption":"a #cat","chunk_size":10485760,"total_chunk_count":6,"chunk_reading":"documented"}"#,
        "\n",
        r#"{"ts":"2026-12-02T03:30:58.001Z","event":"post_failed","mode":"inbox","file_name":"b.mp4","video_size":50000,"by":"token:tok_1","tiktok_code":"spam_risk_too_many_pending_share","log_id":"20261202033058ABC"}"#,
        "\n",
        r#"{"ts":"2026-12-02T03:31:02.970Z","event":"status","publish_id":"v_pub_file~v2-1.7028245190732220586","mode":"direct","file_name":"cat.mp4","status":"PROCESSING_UPLOAD"}"#,
        "\n",
        r#"{"ts":"2026-12-02T03:31:13.992Z","event":"post_created","publish_id":"v_inbox_file~v2.1047533987013016589","mode":"inbox","video_size":50000,"by":"local","chunk_size":50000,"total_chunk_count":1}"#,
        "\n",
        r#"{"ts":"2026-12-02T03:31:14.145Z","event":"status","publish_id":"v_inbox_file~v2.1047533987013016589","mode":"inbox","status":"FAILED","fail_reason":"frame_rate_check_failed"}"#,
        "\n",
        r#"{"ts":"2026-12-02T03:30:33.924Z","event":"post_created","publish_id":"v_inbox_file~v2.5117607623357394913","mode":"inbox","video_size":64000001,"by":"local","chunk_size":10485760,"total_chunk_count":6,"chunk_reading":"documented"}"#,
        "\n",
        r#"{"ts":"2026-12-02T03:30:34.810Z","event":"upload","publish_id":"v_inbox_file~v2.5117607623357394913","mode":"inbox","upload_event":"retried","chunk":1}"#,
        "\n",
        r#"{"ts":"2026-12-02T03:30:35.100Z","event":"upload","publish_id":"v_inbox_file~v2.5117607623357394913","mode":"inbox","upload_event":"failed","chunk":2,"http_status":403,"message":"TikTok's upload address expired."}"#,
        "\n",
        r#"{"ts":"2026-12-02T03:31:20.000Z","event":"post_created","publish_id":"v_pub_file~v2-1.1","mode":"direct","video_size":10,"by":"local"}"#,
        "\n",
        r#"{"ts":"2026-12-02T03:31:21.000Z","event":"status","publish_id":"v_pub_file~v2-1.1","status":"PUBLISH_COMPLETE","post_ids":["7303974455139846443"]}"#,
        "\n",
    );

    #[test]
    fn lines_written_before_the_enum_read_back_and_write_again_byte_for_byte() {
        for text in LOG_BEFORE_THE_ENUM.lines() {
            let line: LogLine =
                serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
            assert_ne!(line.event, LogEvent::Unknown, "{text}");
            assert_eq!(serde_json::to_string(&line).unwrap(), text);
        }
        let (history, skipped) = fold(LOG_BEFORE_THE_ENUM.as_bytes());
        assert_eq!(skipped, 0);
        let summary: Vec<_> = history
            .posts
            .iter()
            .map(|post| {
                (
                    post.publish_id.as_str(),
                    post.status.as_str(),
                    post.fail_reason.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("v_pub_file~v2-1.1", "PUBLISH_COMPLETE", None),
                (
                    "v_inbox_file~v2.5117607623357394913",
                    "UPLOAD_FAILED",
                    Some("TikTok's upload address expired.")
                ),
                (
                    "v_inbox_file~v2.1047533987013016589",
                    "FAILED",
                    Some("frame_rate_check_failed")
                ),
                (
                    "v_pub_file~v2-1.7028245190732220586",
                    "PROCESSING_UPLOAD",
                    None
                ),
            ]
        );
        let cat = &history.posts[3];
        assert_eq!(
            (
                cat.mode,
                cat.file_name.as_deref(),
                cat.video_size,
                cat.caption.as_deref()
            ),
            (
                Some(PostMode::Direct),
                Some("cat.mp4"),
                Some(70_000_000),
                Some("a #cat")
            )
        );
        assert_eq!(history.posts[0].post_ids, ["7303974455139846443"]);
        let mut reader = io::Cursor::new(LOG_BEFORE_THE_ENUM.as_bytes());
        let reading = last_chunk_reading(&mut reader, LOG_BEFORE_THE_ENUM.len() as u64).unwrap();
        assert_eq!(reading, Some(PlanReading::Documented));
    }

    /// A log of `posts` posts whose statuses interleave with later posts' starts, with a torn
    /// line in the middle and one at the end; larger than a [`BLOCK`].
    fn long_log(posts: usize) -> String {
        let mut log = String::new();
        for i in 0..posts {
            log.push_str(&format!(
                r#"{{"ts":"2025-01-01T00:00:{:02}.000Z","event":"post_created","publish_id":"p{i}","mode":"direct","video_size":{i},"caption":"{}"}}"#,
                i % 60,
                "#long ".repeat(i % 40)
            ));
            log.push('\n');
            if i >= 3 {
                log.push_str(&format!(
                    r#"{{"ts":"2025-01-01T00:01:00.000Z","event":"status","publish_id":"p{}","status":"PUBLISH_COMPLETE"}}"#,
                    i - 3
                ));
                log.push('\n');
            }
            if i == posts / 2 {
                log.push_str(r#"{"ts":"2025-01-01T00:00:00.000Z","event":"status","publ"#);
                log.push('\n');
                log.push_str(r#"{"ts":"2025-01-01T00:00:00.000Z","event":"status","publish_id":"never-created","status":"FAILED"}"#);
                log.push('\n');
            }
        }
        log.push_str(
            r#"{"ts":"2025-01-01T00:02:00.000Z","event":"status","publish_id":"p1","status":"FAI"#,
        );
        log
    }

    fn page_of(log: &str, limit: usize, before: Option<u64>) -> (History, usize) {
        let mut reader = io::Cursor::new(log.as_bytes());
        read_page(&mut reader, log.len() as u64, Page { limit, before }).unwrap()
    }

    #[test]
    fn pages_in_turn_are_the_whole_history() {
        let log = long_log(400);
        assert!(log.len() as u64 > 2 * BLOCK, "{}", log.len());
        let (whole, skipped) = fold(log.as_bytes());
        assert_eq!((whole.posts.len(), skipped), (400, 2));
        assert_eq!(
            whole.posts[399].status, "PUBLISH_COMPLETE",
            "p0's status applies"
        );
        assert_eq!(
            whole.posts[1].status, STATUS_AFTER_CREATE,
            "p398 was not polled"
        );
        for limit in [5, 50, 200] {
            let mut paged = Vec::new();
            let mut before = None;
            loop {
                let (page, _) = page_of(&log, limit, before);
                assert!(page.posts.len() <= limit);
                paged.extend(page.posts);
                match page.next_before {
                    Some(next) => before = Some(next),
                    None => break,
                }
            }
            assert!(
                paged == whole.posts,
                "limit {limit}: pages differ from the whole"
            );
        }
        let (first, skipped) = page_of(&log, 400, None);
        assert_eq!(first.next_before, None);
        assert!(first.posts == whole.posts, "one page of all posts");
        assert_eq!(
            skipped, 1,
            "the torn last line is not a line yet, not an error"
        );
    }

    #[test]
    fn only_complete_lines_count() {
        let line = r#"{"ts":"2025-01-01T00:00:00.000Z","event":"post_created","publish_id":"a"}"#;
        for (log, expected) in [
            (String::new(), 0),
            (line.to_owned(), 0),
            (format!("{line}\n"), 1),
            (format!("\n\n{line}\n\n"), 1),
            (format!("{line}\n{}", &line[..20]), 1),
        ] {
            let (page, skipped) = page_of(&log, 10, None);
            assert_eq!((page.posts.len(), skipped), (expected, 0), "{log:?}");
        }
    }

    #[test]
    fn page_queries() {
        let page = |query| Page::from_query(query);
        assert_eq!(
            page(None),
            Ok(Page {
                limit: 50,
                before: None
            })
        );
        assert_eq!(
            page(Some("limit=200&before=123&other=x")),
            Ok(Page {
                limit: 200,
                before: Some(123)
            })
        );
        assert_eq!(page(Some("limit=%31")).map(|p| p.limit), Ok(1));
        for (query, complaint) in [
            ("limit=0", "limit must be"),
            ("limit=201", "limit must be"),
            ("limit=ten", "limit must be"),
            ("limit=", "limit must be"),
            ("limit=-1", "limit must be"),
            ("before=yesterday", "before must be"),
            ("before=-5", "before must be"),
            ("before=99999999999999999999999", "before must be"),
        ] {
            let error = page(Some(query)).expect_err(query);
            assert!(error.starts_with(complaint), "{query}: {error}");
        }
    }

    #[test]
    fn absent_fields_are_left_out() {
        let event = LogLine::now(LogEvent::PostFailed(PostFailed {
            post: PostDetails {
                mode: None,
                file_name: None,
                video_size: None,
                by: None,
                caption: None,
            },
            tiktok_code: None,
            code: Some("tiktok_timeout".into()),
            log_id: None,
            message: None,
        }));
        let line = serde_json::to_value(&event).unwrap();
        let keys: Vec<_> = line.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["code", "event", "ts"]);
        assert!(humantime::parse_rfc3339(line["ts"].as_str().unwrap()).is_ok());
    }

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    /// The `post_created` line of a post of the video `HASH` to account `open_id`.
    fn created_with_hash(publish_id: &str, open_id: &str) -> LogLine {
        LogLine::now(LogEvent::PostCreated(PostCreated {
            publish_id: publish_id.into(),
            post: PostDetails {
                mode: Some(PostMode::Direct),
                file_name: None,
                video_size: Some(10),
                by: Some("local".into()),
                caption: Some(format!("caption {publish_id}")),
            },
            chunk_size: None,
            total_chunk_count: None,
            chunk_reading: None,
            open_id: Some(open_id.into()),
            sha256: Some(HASH.into()),
            job_id: None,
        }))
    }

    /// The line of `status` seen for post `publish_id`.
    fn status_seen(publish_id: &str, status: &str) -> LogLine {
        LogLine::now(LogEvent::Status(StatusSeen {
            post: AboutPost::new(publish_id, None, ""),
            status: status.into(),
            fail_reason: None,
            post_ids: Vec::new(),
        }))
    }

    /// The publish_id the duplicate guard names for `HASH` sent to `open_id`.
    async fn guard_names(log: &Log, open_id: &str) -> Option<String> {
        let found = log.earlier_post(HASH, Some(open_id)).await.unwrap();
        found.and_then(|post| post.publish_id)
    }

    /// The duplicate guard's index follows every append, and a reopen (a restart) rebuilds the
    /// same from the file, also after a line torn by a crash.
    #[tokio::test]
    async fn the_guard_follows_appends_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("posts.jsonl");
        std::fs::write(&path, r#"{"ts":"2025-01-01T00:00:00.000Z","event":"sta"#).unwrap();
        let log = Log::open(&path).await.unwrap();
        log.append(&created_with_hash("a", "o1")).await.unwrap();
        assert_eq!(guard_names(&log, "o1").await, None, "not held yet");
        log.append(&status_seen("a", "PROCESSING_DOWNLOAD"))
            .await
            .unwrap();
        assert_eq!(guard_names(&log, "o1").await.as_deref(), Some("a"));
        assert_eq!(guard_names(&log, "o2").await, None, "another account");
        log.append(&created_with_hash("b", "o2")).await.unwrap();
        log.append(&status_seen("b", "SEND_TO_USER_INBOX"))
            .await
            .unwrap();
        log.append(&status_seen("a", "FAILED")).await.unwrap();
        assert_eq!(
            guard_names(&log, "o1").await,
            None,
            "TikTok failed it after all"
        );
        assert_eq!(guard_names(&log, "o2").await.as_deref(), Some("b"));
        drop(log);

        let reopened = Log::open(&path).await.unwrap();
        assert_eq!(guard_names(&reopened, "o1").await, None);
        assert_eq!(guard_names(&reopened, "o2").await.as_deref(), Some("b"));
        let earlier = reopened.earlier_post(HASH, Some("o2")).await.unwrap();
        assert_eq!(earlier.unwrap().caption.as_deref(), Some("caption b"));
    }

    /// A caller that stops waiting for an append it started (a request whose client went away,
    /// a stopped job task) cannot leave a line in the file that the guard's index lacks: the
    /// append runs to its end, file and index both.
    #[tokio::test]
    async fn an_append_whose_caller_stops_waiting_still_lands_and_is_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("posts.jsonl");
        let log = Log::open(&path).await.unwrap();
        log.append(&created_with_hash("a", "o1")).await.unwrap();
        // Polled once, then dropped.
        let held = status_seen("a", "PUBLISH_COMPLETE");
        let under_way = tokio::select! {
            biased;
            _ = log.append(&held) => false,
            () = std::future::ready(()) => true,
        };
        assert!(under_way, "the append was still under way when dropped");
        // The next append waits for the dropped one's write.
        log.append(&status_seen("x", "FAILED")).await.unwrap();
        assert_eq!(guard_names(&log, "o1").await.as_deref(), Some("a"));
        let reopened = Log::open(&path).await.unwrap();
        assert_eq!(guard_names(&reopened, "o1").await.as_deref(), Some("a"));
    }

    #[test]
    fn the_newest_recorded_chunk_reading_wins() {
        let created = |id: &str, reading: &str| {
            format!(
                r#"{{"ts":"2025-01-01T00:00:00.000Z","event":"post_created","publish_id":"{id}"{reading}}}"#
            ) + "\n"
        };
        let check = |log: &str, expected: Option<PlanReading>| {
            let mut reader = io::Cursor::new(log.as_bytes());
            let got = last_chunk_reading(&mut reader, log.len() as u64).unwrap();
            assert_eq!(got, expected, "{log}");
        };
        check("", None);
        check(&created("a", ""), None);
        let smaller = created("a", r#","chunk_reading":"smaller_last_chunk""#);
        let documented = created("b", r#","chunk_reading":"documented""#);
        check(&smaller, Some(PlanReading::SmallerLastChunk));
        check(
            &(smaller.clone() + &documented),
            Some(PlanReading::Documented),
        );
        // Whole uploads, failures, torn lines and later events do not change it.
        let after = [
            created("c", ""),
            r#"{"ts":"2025-01-01T00:00:00.000Z","event":"post_failed","code":"chunk_plan_refused","chunk_reading":"documented"}"#.to_owned() + "\n",
            r#"{"ts":"2025-01-01T00:00:00.000Z","event":"post_crea"#.to_owned() + "\n",
            r#"{"ts":"2025-01-01T00:00:00.000Z","event":"post_created","chunk_reading":"documented""#.to_owned(),
        ]
        .concat();
        check(&(smaller + &after), Some(PlanReading::SmallerLastChunk));
    }
}
