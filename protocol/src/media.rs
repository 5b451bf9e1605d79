//! Which files TikTok takes: MP4, QuickTime and WebM, recognised by their first bytes (not the
//! name), and the checks a video must pass before anything is sent.

use crate::chunk::{MAX_VIDEO_SIZE, PlanError};
use std::fmt;

/// How many leading bytes [`ContentType::sniff`] wants to see.
pub const SNIFF_LEN: usize = 64;

/// A container TikTok accepts, named by the `Content-Type` its upload host requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ContentType {
    #[serde(rename = "video/mp4")]
    Mp4,
    #[serde(rename = "video/quicktime")]
    Quicktime,
    #[serde(rename = "video/webm")]
    Webm,
}

impl ContentType {
    /// The MIME type sent as `Content-Type` on every chunk.
    pub fn mime(self) -> &'static str {
        match self {
            Self::Mp4 => "video/mp4",
            Self::Quicktime => "video/quicktime",
            Self::Webm => "video/webm",
        }
    }

    /// Parses one of the three MIME types TikTok's upload host accepts (parameters ignored).
    pub fn from_mime(mime: &str) -> Option<Self> {
        let essence = mime.split(';').next()?.trim().to_ascii_lowercase();
        match essence.as_str() {
            "video/mp4" => Some(Self::Mp4),
            "video/quicktime" => Some(Self::Quicktime),
            "video/webm" => Some(Self::Webm),
            _ => None,
        }
    }

    /// The type a file name suggests; only a hint, [`ContentType::sniff`] decides.
    pub fn from_file_name(name: &str) -> Option<Self> {
        let (_, extension) = name.rsplit_once('.')?;
        match extension.to_ascii_lowercase().as_str() {
            "mp4" | "m4v" => Some(Self::Mp4),
            "mov" | "qt" => Some(Self::Quicktime),
            "webm" => Some(Self::Webm),
            _ => None,
        }
    }

    /// Recognises a container by its first bytes: an ISO-BMFF `ftyp` box (brand `qt  ` is
    /// QuickTime), a classic QuickTime atom, or an EBML header whose DocType is `webm`.
    pub fn sniff(head: &[u8]) -> Option<Self> {
        if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
            // Matroska (.mkv) shares the EBML header; TikTok takes only the WebM DocType.
            let window = &head[..head.len().min(SNIFF_LEN)];
            return window
                .windows(4)
                .any(|w| w == b"webm")
                .then_some(Self::Webm);
        }
        let kind = head.get(4..8)?;
        match kind {
            b"ftyp" => match head.get(8..12)? {
                b"qt  " => Some(Self::Quicktime),
                _ => Some(Self::Mp4),
            },
            b"moov" | b"mdat" | b"wide" | b"free" | b"skip" | b"pnot" => Some(Self::Quicktime),
            _ => None,
        }
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mime())
    }
}

/// Why a chosen video cannot be posted. The text is what the creator reads.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum VideoError {
    #[error("This file is not a video TikTok accepts. Choose an MP4, MOV or WebM video.")]
    NotAVideo,
    #[error("The file is empty.")]
    Empty,
    #[error("The video is {} — TikTok accepts at most 4 GB.", human_bytes(*size))]
    TooLarge { size: u64 },
    #[error(
        "The video is {} long; your account can post videos of up to {}. Trim it and try again.",
        human_duration(*duration_secs), human_duration(*max_secs as f64)
    )]
    TooLong { duration_secs: f64, max_secs: u32 },
    #[error(
        "This browser could not read how long the video is, so it cannot be checked against your account's limit of {}. Choose an MP4 (H.264) or WebM video, or send it to your drafts.",
        human_duration(*max_secs as f64)
    )]
    UnknownLength { max_secs: u32 },
}

/// Checks a video's length against the creator's `max_video_post_duration_sec`. TikTok says
/// to check it, so a length the browser could not read is refused rather than waved through,
/// and there is no slack: a video a fraction of a second too long is too long.
pub fn check_duration(duration_secs: Option<f64>, max_secs: u32) -> Result<(), VideoError> {
    match duration_secs {
        None => Err(VideoError::UnknownLength { max_secs }),
        Some(duration_secs) if duration_secs > f64::from(max_secs) => Err(VideoError::TooLong {
            duration_secs,
            max_secs,
        }),
        Some(_) => Ok(()),
    }
}

/// What is known about a chosen file before upload.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoCheck {
    /// The file's size in bytes.
    pub size: u64,
    /// The container recognised from the file's first bytes, if any.
    pub sniffed: Option<ContentType>,
    /// The duration the browser read from the file's metadata, if it could.
    pub duration_secs: Option<f64>,
}

impl VideoCheck {
    /// Accepts a file TikTok will take as a video, returning its content type. Its length is
    /// checked apart, by [`check_duration`], once the creator's limit is known.
    pub fn check(&self) -> Result<ContentType, VideoError> {
        match crate::chunk::ChunkPlan::new(self.size) {
            Err(PlanError::Empty) => return Err(VideoError::Empty),
            Err(PlanError::TooLarge { size }) => return Err(VideoError::TooLarge { size }),
            _ => {}
        }
        let content_type = self.sniffed.ok_or(VideoError::NotAVideo)?;
        debug_assert!(self.size <= MAX_VIDEO_SIZE);
        Ok(content_type)
    }
}

/// `1.5 GB`, `12.3 MB`, `800 KB`, `12 bytes`: sizes for people (decimal units, like TikTok's).
/// Integer arithmetic only, in `u64`: float formatting would cost the browser bundle ~10 KB, and
/// `u128` its own printer and division (1 KB).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000)];
    for (unit, scale) in UNITS {
        if bytes >= scale {
            // Tenths of the unit, rounded half up; whole units and the remainder apart, so that
            // nothing overflows (the remainder times ten is below 10¹⁰).
            let tenths = bytes / scale * 10 + ((bytes % scale) * 10 + scale / 2) / scale;
            return if tenths >= 1000 {
                format!("{} {unit}", (tenths + 5) / 10)
            } else {
                format!("{}.{} {unit}", tenths / 10, tenths % 10)
            };
        }
    }
    if bytes == 1 {
        "1 byte".into()
    } else {
        format!("{bytes} bytes")
    }
}

/// `0:01.5`, `2:05.0`: a moment in a video to a tenth of a second, for people (the cover frame).
/// Integer arithmetic only, like [`human_bytes`].
pub fn human_timestamp(ms: u32) -> String {
    let tenths = (ms + 50) / 100;
    let (minutes, seconds, tenth) = (tenths / 600, tenths / 10 % 60, tenths % 10);
    format!("{minutes}:{seconds:02}.{tenth}")
}

/// `2:05`, `1:02:03`, `0:07`: durations for people.
pub fn human_duration(secs: f64) -> String {
    let total = secs.max(0.0).round() as u64;
    let (hours, minutes, seconds) = (total / 3600, total / 60 % 60, total % 60);
    if hours > 0 {
        format!("{hours}:{minutes:02}:{seconds:02}")
    } else {
        format!("{minutes}:{seconds:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn check(head: &[u8], expected: Option<ContentType>) {
        assert_eq!(ContentType::sniff(head), expected, "{head:?}");
    }

    #[test]
    fn sniffs_containers() {
        check(
            b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41",
            Some(ContentType::Mp4),
        );
        check(
            b"\0\0\0\x18ftypmp42\0\0\0\0mp42isom",
            Some(ContentType::Mp4),
        );
        check(
            b"\0\0\0\x14ftypqt  \0\0\x02\0qt  ",
            Some(ContentType::Quicktime),
        );
        check(b"\0\0\0\x08wide\0\0\0\0mdat", Some(ContentType::Quicktime));
        check(
            b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm\x42\x87",
            Some(ContentType::Webm),
        );
        check(
            b"\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\x82\x88matroska",
            None,
        );
        check(b"GIF89a", None);
        check(b"", None);
        check(b"\0\0\0\x20ftyp", None);
        check(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", None);
    }

    #[test]
    fn mime_and_names() {
        assert_eq!(ContentType::from_mime("video/mp4"), Some(ContentType::Mp4));
        assert_eq!(
            ContentType::from_mime("Video/WebM; codecs=vp8"),
            Some(ContentType::Webm)
        );
        assert_eq!(ContentType::from_mime("video/x-matroska"), None);
        assert_eq!(
            ContentType::from_file_name("Clip.MOV"),
            Some(ContentType::Quicktime)
        );
        assert_eq!(ContentType::from_file_name("clip"), None);
        assert_eq!(
            serde_json::to_string(&ContentType::Quicktime).unwrap(),
            "\"video/quicktime\""
        );
    }

    #[test]
    fn video_checks() {
        let ok = VideoCheck {
            size: 80_000,
            sniffed: Some(ContentType::Mp4),
            duration_secs: Some(5.0),
        };
        assert_eq!(ok.check(), Ok(ContentType::Mp4));
        let empty = VideoCheck {
            size: 0,
            ..ok.clone()
        };
        assert_eq!(empty.check(), Err(VideoError::Empty));
        let huge = VideoCheck {
            size: 5_000_000_000,
            ..ok.clone()
        };
        assert_eq!(
            huge.check().unwrap_err().to_string(),
            "The video is 5.0 GB — TikTok accepts at most 4 GB."
        );
        let text = VideoCheck {
            sniffed: None,
            ..ok
        };
        assert_eq!(text.check(), Err(VideoError::NotAVideo));
    }

    #[test]
    fn duration_checks() {
        assert_eq!(check_duration(Some(5.0), 300), Ok(()));
        assert_eq!(check_duration(Some(3.0), 3), Ok(()));
        // No slack: half a second over is over.
        assert_eq!(
            check_duration(Some(3.5), 3),
            Err(VideoError::TooLong {
                duration_secs: 3.5,
                max_secs: 3
            })
        );
        assert_eq!(
            check_duration(Some(5.0), 3).unwrap_err().to_string(),
            "The video is 0:05 long; your account can post videos of up to 0:03. Trim it and try again."
        );
        // A length nobody could read is not a pass.
        assert_eq!(
            check_duration(None, 600),
            Err(VideoError::UnknownLength { max_secs: 600 })
        );
    }

    #[test]
    fn video_checks_leave_length_apart() {
        let ok = VideoCheck {
            size: 80_000,
            sniffed: Some(ContentType::Mp4),
            duration_secs: None,
        };
        assert_eq!(ok.check(), Ok(ContentType::Mp4));
    }

    #[test]
    fn timestamps() {
        assert_eq!(human_timestamp(0), "0:00.0");
        assert_eq!(human_timestamp(1_549), "0:01.5");
        assert_eq!(human_timestamp(125_000), "2:05.0");
        assert_eq!(human_timestamp(59_960), "1:00.0");
    }

    #[test]
    fn human_units() {
        assert_eq!(human_bytes(0), "0 bytes");
        assert_eq!(human_bytes(1), "1 byte");
        assert_eq!(human_bytes(80_123), "80.1 KB");
        assert_eq!(human_bytes(64_000_000), "64.0 MB");
        assert_eq!(human_bytes(1_073_741_824), "1.1 GB");
        assert_eq!(human_bytes(250_000_000), "250 MB");
        assert_eq!(human_bytes(99_949), "99.9 KB");
        assert_eq!(human_bytes(99_950), "100 KB");
        assert_eq!(human_bytes(4_000_000_000), "4.0 GB");
        assert_eq!(human_bytes(u64::MAX), "18446744074 GB");
        assert_eq!(human_duration(5.2), "0:05");
        assert_eq!(human_duration(600.0), "10:00");
        assert_eq!(human_duration(3723.0), "1:02:03");
    }
}
