//! The duplicate guard's reading of the log: the newest post of a video (by SHA-256) to one
//! account that TikTok holds. The log is the truth here, not the job records: a post from an
//! earlier run, or one whose job record is gone, still counts; an attempt that failed or was
//! cancelled before TikTok held the whole video does not.
//!
//! Only posts whose `post_created` line carries the video's hash can match: those made by
//! `POST /api/upload`. The page sends its bytes straight to TikTok and never sees them whole.

use super::{Backwards, LogEvent, LogLine, Peek};
use crate::error::EarlierPost;
use protocol::PublishStatus;
use std::collections::HashMap;
use std::io::{self, Read, Seek};

/// The newest post among a log's first `end` bytes of the video `sha256` to the account
/// `open_id` (`None`: an account the proxy cannot name, a fixed access token's) whose newest
/// status says TikTok holds the video ([`PublishStatus::holds_video`]). Read backwards, so a
/// recent post is found after reading what follows it; a video never sent costs the whole log,
/// each line looked at only for the few fields in [`Peek`].
pub fn earlier_post(
    reader: &mut (impl Read + Seek),
    end: u64,
    sha256: &str,
    open_id: Option<&str>,
) -> io::Result<Option<EarlierPost>> {
    let mut lines = Backwards::new(reader, end);
    // Whether each post's newest status (the first seen, going backwards) holds the video.
    let mut holds: HashMap<String, bool> = HashMap::new();
    while let Some((_, text)) = lines.next_line()? {
        let Ok(peek) = serde_json::from_slice::<Peek>(&text) else {
            continue;
        };
        let Some(publish_id) = peek.publish_id else {
            continue;
        };
        match (&*peek.event, peek.status) {
            ("status", Some(status)) => {
                holds
                    .entry(publish_id.into_owned())
                    .or_insert_with(|| PublishStatus::parse(&status).holds_video());
            }
            ("post_created", _)
                if peek.sha256.as_deref() == Some(sha256)
                    && peek.open_id.as_deref() == open_id
                    && holds.get(&*publish_id) == Some(&true) =>
            {
                let Ok(LogLine {
                    ts,
                    event: LogEvent::PostCreated(created),
                }) = serde_json::from_slice(&text)
                else {
                    continue;
                };
                return Ok(Some(EarlierPost {
                    publish_id: Some(created.publish_id),
                    at: ts,
                    caption: created.post.caption,
                    job_id: created.job_id,
                }));
            }
            _ => {}
        }
    }
    Ok(None)
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

    /// The publish_id the guard names for `HASH` sent to `open_id`, given `log`.
    fn check(log: &[String], open_id: Option<&str>, expected: Option<&str>) {
        let log = log.concat();
        let mut reader = io::Cursor::new(log.as_bytes());
        let found = earlier_post(&mut reader, log.len() as u64, HASH, open_id).unwrap();
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
    fn the_earlier_post_is_named_by_its_line() {
        let log = [created("a", HASH, ""), status("a", "PUBLISH_COMPLETE")].concat();
        let mut reader = io::Cursor::new(log.as_bytes());
        let found = earlier_post(&mut reader, log.len() as u64, HASH, None).unwrap();
        assert_eq!(
            found,
            Some(EarlierPost {
                publish_id: Some("a".into()),
                at: "2026-12-02T03:00:00.000Z".into(),
                caption: Some("c a".into()),
                job_id: Some("job_a".into()),
            })
        );
    }
}
