//! The duplicate guard's index of the log: for each account, the videos (by SHA-256) it was
//! sent and whether TikTok holds each. The log is the truth here, not the job records: a post
//! from an earlier run, or one whose job record is gone, still counts; an attempt that failed
//! or was cancelled before TikTok held the whole video does not.
//!
//! The index is built in one pass over the log when it is opened ([`Sent::read`]) and then fed
//! every line [`super::Log::append`] writes, under the writer's lock, after the write: it holds
//! exactly what the log's complete lines say, so a question costs a few hash lookups instead of
//! a read of the log, and a restart rebuilds it from the file. It keeps only what the decision
//! needs (about 230 bytes a post, measured: 23 MB for 100,000); the earlier post's details are
//! read from its own line when a refusal names it.
//!
//! Only posts whose `post_created` line carries the video's hash are kept: those made by
//! `POST /api/upload`. The page sends its bytes straight to TikTok and never sees them whole.

use super::{LogEvent, LogLine, Peek};
use crate::error::EarlierPost;
use protocol::PublishStatus;
use std::collections::HashMap;
use std::io::{self, BufRead, Seek};

/// A SHA-256 digest, the index's key for a video.
type Digest = [u8; 32];

/// Posts of a known video, by account and hash.
#[derive(Debug, Default)]
pub struct Sent {
    /// Every post with a hash, in the order the log created them.
    posts: Vec<SentPost>,
    /// Each one's place in `posts`, by `publish_id`: where its status lines land.
    by_publish_id: HashMap<Box<str>, usize>,
    /// By account (`open_id`; `None` for one the proxy cannot name, a fixed access token's),
    /// then by video: places in `posts`, oldest first.
    by_video: HashMap<Option<Box<str>>, HashMap<Digest, Vec<usize>>>,
}

/// One post of a known video.
#[derive(Debug)]
struct SentPost {
    /// Where its `post_created` line starts in the log: what a refusal names is read there.
    line_at: u64,
    /// Whether its newest status says TikTok holds the video ([`PublishStatus::holds_video`]);
    /// false until a status says so.
    holds: bool,
}

/// What the index takes from one line, borrowed from the line.
#[derive(Debug)]
enum Noted<'a> {
    /// A post of a known video started (`post_created` with a `sha256`).
    Created {
        publish_id: &'a str,
        open_id: Option<&'a str>,
        sha256: &'a str,
    },
    /// A post's status changed (`status`).
    Status {
        publish_id: &'a str,
        status: &'a str,
    },
}

impl<'a> Noted<'a> {
    /// What a line of the log tells the index: the few fields it needs, looked at without
    /// building the whole event (the start-up read costs a pass over every line).
    fn of(peek: &'a Peek<'a>) -> Option<Self> {
        let publish_id = peek.publish_id.as_deref()?;
        match &*peek.event {
            "post_created" => Some(Self::Created {
                publish_id,
                open_id: peek.open_id.as_deref(),
                sha256: peek.sha256.as_deref()?,
            }),
            "status" => Some(Self::Status {
                publish_id,
                status: peek.status.as_deref()?,
            }),
            _ => None,
        }
    }
}

impl Sent {
    /// The index of every complete line `log` holds, read once from the start. A line that
    /// cannot be read is skipped, as everywhere; bytes after the last `\n` are a line torn by a
    /// crash, not a line.
    pub fn read(mut log: impl BufRead) -> io::Result<Self> {
        let mut sent = Self::default();
        let mut line = Vec::new();
        let mut line_at = 0;
        loop {
            line.clear();
            let read = log.read_until(b'\n', &mut line)?;
            if read == 0 || line.last() != Some(&b'\n') {
                return Ok(sent);
            }
            sent.note_line(&line, line_at);
            line_at += read as u64;
        }
    }

    /// Takes one complete line of the log, starting at byte `line_at`, in the log's order: the
    /// start-up read and [`super::Log::append`] both feed it the bytes the file holds, so the
    /// index says what a restart would read. A line that cannot be read is skipped.
    pub fn note_line(&mut self, line: &[u8], line_at: u64) {
        if let Ok(peek) = serde_json::from_slice::<Peek>(line)
            && let Some(noted) = Noted::of(&peek)
        {
            self.note(noted, line_at);
        }
    }

    /// Takes what one line says: a post of a known video joins its account's and video's list,
    /// a status line sets whether TikTok holds its post's video.
    fn note(&mut self, noted: Noted<'_>, line_at: u64) {
        match noted {
            Noted::Created {
                publish_id,
                open_id,
                sha256,
            } => {
                // Not a digest: no real video's hash can match it.
                let Some(digest) = digest(sha256) else {
                    return;
                };
                let at = self.posts.len();
                self.posts.push(SentPost {
                    line_at,
                    holds: false,
                });
                self.by_publish_id.insert(publish_id.into(), at);
                self.by_video
                    .entry(open_id.map(Box::from))
                    .or_default()
                    .entry(digest)
                    .or_default()
                    .push(at);
            }
            Noted::Status { publish_id, status } => {
                if let Some(&at) = self.by_publish_id.get(publish_id) {
                    self.posts[at].holds = PublishStatus::parse(status).holds_video();
                }
            }
        }
    }

    /// Where the `post_created` line starts of the newest post of the video `sha256` (hex) to
    /// the account `open_id` whose newest status says TikTok holds the video.
    pub fn earlier_post(&self, sha256: &str, open_id: Option<&str>) -> Option<u64> {
        self.by_video
            .get(&open_id.map(Box::from))?
            .get(&digest(sha256)?)?
            .iter()
            .rev()
            .map(|&at| &self.posts[at])
            .find(|post| post.holds)
            .map(|post| post.line_at)
    }
}

/// The post whose `post_created` line starts at byte `line_at` of `log`, as a refusal names it.
/// Any other line there means the file changed under the proxy (edited or replaced while it
/// ran): an error, so the guard refuses rather than guesses.
pub fn earlier_post_at(log: &mut (impl BufRead + Seek), line_at: u64) -> io::Result<EarlierPost> {
    log.seek(io::SeekFrom::Start(line_at))?;
    let mut line = Vec::new();
    log.read_until(b'\n', &mut line)?;
    match serde_json::from_slice(&line) {
        Ok(LogLine {
            ts,
            event: LogEvent::PostCreated(created),
        }) => Ok(EarlierPost {
            publish_id: Some(created.publish_id),
            at: ts,
            caption: created.post.caption,
            job_id: created.job_id,
        }),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("no post_created line at byte {line_at}: the log changed while the proxy ran"),
        )),
    }
}

/// The digest hex `sha256` spells, if it spells one.
fn digest(sha256: &str) -> Option<Digest> {
    let mut digest = [0; 32];
    hex::decode_to_slice(sha256, &mut digest).ok()?;
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn created(id: &str, hash: &str, account: &str) -> String {
        format!(
            r#"{{"ts":"2026-12-02T03:00:00.000Z","event":"post_created","publish_id":"{id}","mode":"direct","video_size":10,"by":"local","caption":"c {id}"{hash}{account},"job_id":"job_{id}"}}"#,
            hash = if hash.is_empty() {
                String::new()
            } else {
                format!(r#","sha256":"{hash}""#)
            },
            account = if account.is_empty() {
                String::new()
            } else {
                format!(r#","open_id":"{account}""#)
            },
        ) + "\n"
    }

    fn status(id: &str, status: &str) -> String {
        format!(
            r#"{{"ts":"2026-12-02T03:00:01.000Z","event":"status","publish_id":"{id}","status":"{status}"}}"#
        ) + "\n"
    }

    fn cancelled(id: &str) -> String {
        format!(
            r#"{{"ts":"2026-12-02T03:00:01.000Z","event":"upload","publish_id":"{id}","mode":"direct","upload_event":"cancelled"}}"#
        ) + "\n"
    }

    /// The index of `log`, read whole at start-up and fed line by line as `append` feeds it:
    /// the two must agree (each line noted where it starts).
    fn index(log: &str) -> Sent {
        let read = Sent::read(log.as_bytes()).unwrap();
        let mut fed = Sent::default();
        let mut line_at = 0;
        for line in log.split_inclusive('\n') {
            fed.note_line(line.as_bytes(), line_at);
            line_at += line.len() as u64;
        }
        for open_id in [None, Some("o1"), Some("o2")] {
            assert_eq!(
                read.earlier_post(HASH, open_id),
                fed.earlier_post(HASH, open_id),
                "{log}"
            );
        }
        read
    }

    /// The post the guard names for `HASH` sent to `open_id`, given `log`.
    fn named(log: &str, sent: &Sent, open_id: Option<&str>) -> Option<EarlierPost> {
        let line_at = sent.earlier_post(HASH, open_id)?;
        Some(earlier_post_at(&mut io::Cursor::new(log.as_bytes()), line_at).unwrap())
    }

    /// The publish_id the guard names for `HASH` sent to `open_id`, given `log`.
    fn check(log: &[String], open_id: Option<&str>, expected: Option<&str>) {
        let log = log.concat();
        let found = named(&log, &index(&log), open_id);
        assert_eq!(
            found.as_ref().and_then(|post| post.publish_id.as_deref()),
            expected,
            "{log}"
        );
    }

    #[test]
    fn only_a_video_tiktok_holds_for_the_same_account_counts() {
        let other = "0".repeat(64);
        check(&[], None, None);
        check(
            &[created("a", HASH, ""), status("a", "PUBLISH_COMPLETE")],
            None,
            Some("a"),
        );
        check(
            &[created("a", HASH, ""), status("a", "SEND_TO_USER_INBOX")],
            None,
            Some("a"),
        );
        check(
            &[created("a", HASH, ""), status("a", "PROCESSING_DOWNLOAD")],
            None,
            Some("a"),
        );
        // Started but not (yet) held: a crash, a failed or cancelled upload, TikTok's FAILED.
        check(&[created("a", HASH, "")], None, None);
        check(
            &[created("a", HASH, ""), status("a", "PROCESSING_UPLOAD")],
            None,
            None,
        );
        check(
            &[
                created("a", HASH, ""),
                status("a", "PROCESSING_UPLOAD"),
                cancelled("a"),
            ],
            None,
            None,
        );
        check(
            &[
                created("a", HASH, ""),
                status("a", "PROCESSING_DOWNLOAD"),
                status("a", "FAILED"),
            ],
            None,
            None,
        );
        // Another video, another account, or a post without a hash (the page's).
        check(
            &[created("a", &other, ""), status("a", "PUBLISH_COMPLETE")],
            None,
            None,
        );
        check(
            &[created("a", HASH, "o1"), status("a", "PUBLISH_COMPLETE")],
            Some("o2"),
            None,
        );
        check(
            &[created("a", HASH, "o1"), status("a", "PUBLISH_COMPLETE")],
            None,
            None,
        );
        check(
            &[created("a", HASH, "o1"), status("a", "PUBLISH_COMPLETE")],
            Some("o1"),
            Some("a"),
        );
        check(
            &[created("a", "", ""), status("a", "PUBLISH_COMPLETE")],
            None,
            None,
        );
        // The newest that counts is named; a failed retry after it changes nothing.
        check(
            &[
                created("a", HASH, ""),
                status("a", "PUBLISH_COMPLETE"),
                created("b", HASH, ""),
                status("b", "SEND_TO_USER_INBOX"),
                created("c", HASH, ""),
                status("c", "FAILED"),
            ],
            None,
            Some("b"),
        );
    }

    #[test]
    fn lines_that_do_not_count() {
        // A status before its post's start, and a status line torn by a crash.
        let early = [status("a", "PUBLISH_COMPLETE"), created("a", HASH, "")].concat();
        assert_eq!(index(&early).earlier_post(HASH, None), None);
        let held = status("a", "PUBLISH_COMPLETE");
        let torn = created("a", HASH, "") + held.trim_end();
        let sent = Sent::read(torn.as_bytes()).unwrap();
        assert_eq!(sent.earlier_post(HASH, None), None);
        // An unreadable line between them changes nothing.
        let whole = created("a", HASH, "") + "{not json\n" + &held;
        let sent = Sent::read(whole.as_bytes()).unwrap();
        assert_eq!(sent.earlier_post(HASH, None), Some(0));
        // Nor does asking with a hash that is not hex.
        assert_eq!(sent.earlier_post("not a digest", None), None);
    }

    #[test]
    fn the_earlier_post_is_named_by_its_line() {
        let log = [
            status("x", "PUBLISH_COMPLETE"),
            created("a", HASH, ""),
            status("a", "PUBLISH_COMPLETE"),
        ]
        .concat();
        assert_eq!(
            named(&log, &index(&log), None),
            Some(EarlierPost {
                publish_id: Some("a".into()),
                at: "2026-12-02T03:00:00.000Z".into(),
                caption: Some("c a".into()),
                job_id: Some("job_a".into()),
            })
        );
        let mut reader = io::Cursor::new(log.as_bytes());
        assert!(earlier_post_at(&mut reader, 1).is_err(), "mid-line");
    }
}
