//! Receiving a video onto disk for `POST /api/upload`: the bytes go straight to a file in the
//! uploads directory, hashed (SHA-256) and sniffed (magic bytes) as they arrive, and refused as
//! early as possible — when too big for TikTok, not a video, or when the disk cannot hold them.
//! Memory stays at one write buffer whatever the video's size.

use crate::error::Error;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use protocol::ContentType;
use protocol::chunk::MAX_VIDEO_SIZE;
use protocol::media::SNIFF_LEN;
use sha2::{Digest, Sha256};
use std::io;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncWriteExt, BufWriter};

/// Free space left on the uploads disk after a video, so a spool never fills it to the last
/// byte (the log and the job records live beside it).
pub const DISK_RESERVE: u64 = 64 * 1024 * 1024;

/// How often, in bytes written, the free space is looked at again while a video arrives
/// (another writer may be filling the same disk).
const SPACE_CHECK_EVERY: u64 = 32 * 1024 * 1024;

/// How much is gathered before each write to the file: few system calls, flat memory.
const WRITE_BUFFER: usize = 1024 * 1024;

/// A video received whole.
#[derive(Debug, Clone)]
pub struct Spooled {
    /// `{uploads}/{job_id}.{mp4|mov|webm}`.
    pub path: PathBuf,
    pub size: u64,
    /// Hex SHA-256 of every byte.
    pub sha256: String,
    /// What the first bytes say the file is.
    pub content_type: ContentType,
}

/// Writes `body` to `{dir}/{name}.part`, then renames it to its sniffed extension. `expected` is
/// the size announced beforehand, if any, so a disk too small refuses before a byte is written.
/// On any error the partial file is removed.
pub async fn spool<S>(
    body: S,
    dir: &Path,
    name: &str,
    expected: Option<u64>,
) -> Result<Spooled, Error>
where
    S: Stream<Item = Result<Bytes, Error>> + Unpin,
{
    if expected.is_some_and(|size| size > MAX_VIDEO_SIZE) {
        return Err(Error::VideoTooLarge);
    }
    check_space(dir, expected)?;
    let partial = dir.join(format!("{name}.part"));
    let received = receive(body, dir, &partial).await;
    let (size, sha256, content_type) = match received {
        Ok(received) => received,
        Err(error) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(error);
        }
    };
    let extension = match content_type {
        ContentType::Mp4 => "mp4",
        ContentType::Quicktime => "mov",
        ContentType::Webm => "webm",
    };
    let path = dir.join(format!("{name}.{extension}"));
    tokio::fs::rename(&partial, &path)
        .await
        .map_err(|error| internal("naming the spooled video", &error))?;
    Ok(Spooled {
        path,
        size,
        sha256,
        content_type,
    })
}

async fn receive<S>(
    mut body: S,
    dir: &Path,
    partial: &Path,
) -> Result<(u64, String, ContentType), Error>
where
    S: Stream<Item = Result<Bytes, Error>> + Unpin,
{
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(partial)
        .await
        .map_err(|error| internal("creating the spool file", &error))?;
    let mut file = BufWriter::with_capacity(WRITE_BUFFER, file);
    let mut hasher = Sha256::new();
    let mut head = Vec::with_capacity(SNIFF_LEN);
    let mut sniffed = None;
    let mut size: u64 = 0;
    let mut next_space_check = SPACE_CHECK_EVERY;
    while let Some(piece) = body.next().await {
        let piece = piece?;
        size += piece.len() as u64;
        if size > MAX_VIDEO_SIZE {
            return Err(Error::VideoTooLarge);
        }
        if sniffed.is_none() {
            let wanted = SNIFF_LEN - head.len();
            head.extend_from_slice(&piece[..piece.len().min(wanted)]);
            if head.len() == SNIFF_LEN {
                sniffed = Some(ContentType::sniff(&head).ok_or(Error::NotAVideo)?);
            }
        }
        hasher.update(&piece);
        file.write_all(&piece).await.map_err(write_error(dir))?;
        if size >= next_space_check {
            next_space_check = size + SPACE_CHECK_EVERY;
            check_space(dir, None)?;
        }
    }
    if size == 0 {
        return Err(Error::EmptyVideo);
    }
    let content_type = match sniffed {
        Some(sniffed) => sniffed,
        None => ContentType::sniff(&head).ok_or(Error::NotAVideo)?,
    };
    file.flush().await.map_err(write_error(dir))?;
    // On disk before the job that names it is.
    file.get_ref().sync_all().await.map_err(write_error(dir))?;
    Ok((size, hex::encode(hasher.finalize()), content_type))
}

/// Removes what a crash left half-received (`*.part`): nobody can finish those.
pub fn remove_partials(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.flatten().map(|entry| entry.path()) {
        if path.extension().is_some_and(|ext| ext == "part")
            && let Err(error) = std::fs::remove_file(&path)
        {
            tracing::warn!(path = %path.display(), %error, "could not remove a partial upload");
        }
    }
}

/// Refuses when the disk holding `dir` has less than `needed` (the video's announced size, if
/// known and not yet written) plus [`DISK_RESERVE`] free.
fn check_space(dir: &Path, needed: Option<u64>) -> Result<(), Error> {
    let free =
        fs4::available_space(dir).map_err(|error| internal("reading the free space", &error))?;
    if free < needed.unwrap_or(0).saturating_add(DISK_RESERVE) {
        return Err(Error::DiskFull { needed, free });
    }
    Ok(())
}

/// A write error: a full disk (ENOSPC) or quota (EDQUOT) is the caller's to know about, the
/// rest is ours.
fn write_error(dir: &Path) -> impl Fn(io::Error) -> Error + '_ {
    move |error| {
        if matches!(
            error.kind(),
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
        ) {
            Error::DiskFull {
                needed: None,
                free: fs4::available_space(dir).unwrap_or(0),
            }
        } else {
            internal("writing the spool file", &error)
        }
    }
}

fn internal(doing: &str, error: &io::Error) -> Error {
    Error::Internal(format!("{doing}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pieces(pieces: Vec<&'static [u8]>) -> impl Stream<Item = Result<Bytes, Error>> + Unpin {
        futures_util::stream::iter(pieces.into_iter().map(|p| Ok(Bytes::from_static(p))))
    }

    const MP4_HEAD: &[u8] = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";

    #[tokio::test]
    async fn a_video_is_written_hashed_and_named_by_its_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let tail: &'static [u8] = &[7u8; 100];
        let spooled = spool(pieces(vec![MP4_HEAD, tail]), dir.path(), "job_a", None)
            .await
            .unwrap();
        let mut whole = MP4_HEAD.to_vec();
        whole.extend_from_slice(tail);
        assert_eq!(spooled.size, whole.len() as u64);
        assert_eq!(spooled.sha256, hex::encode(Sha256::digest(&whole)));
        assert_eq!(spooled.content_type, ContentType::Mp4);
        assert_eq!(spooled.path, dir.path().join("job_a.mp4"));
        assert_eq!(std::fs::read(&spooled.path).unwrap(), whole);
    }

    #[tokio::test]
    async fn refusals_leave_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let gif: &'static [u8] = &[b'G'; 200];
        let refused = spool(pieces(vec![gif]), dir.path(), "job_b", None).await;
        assert!(matches!(refused, Err(Error::NotAVideo)), "{refused:?}");
        let empty = spool(pieces(vec![]), dir.path(), "job_c", None).await;
        assert!(matches!(empty, Err(Error::EmptyVideo)), "{empty:?}");
        let big = spool(
            pieces(vec![]),
            dir.path(),
            "job_d",
            Some(MAX_VIDEO_SIZE + 1),
        )
        .await;
        assert!(matches!(big, Err(Error::VideoTooLarge)), "{big:?}");
        let huge = spool(pieces(vec![]), dir.path(), "job_e", Some(u64::MAX / 4)).await;
        assert!(matches!(huge, Err(Error::VideoTooLarge)), "{huge:?}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
