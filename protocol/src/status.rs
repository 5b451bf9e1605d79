//! Post statuses and fail reasons from `status/fetch`, with what each means to a creator.
//! Any status TikTok adds later is "still processing", never an error.

use std::fmt;

/// `data.status` of `status/fetch`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PublishStatus {
    ProcessingUpload,
    ProcessingDownload,
    SendToUserInbox,
    PublishComplete,
    Failed,
    /// Undocumented (e.g. `PROCESSING_TRANSCODING`): treated as still processing.
    Other(String),
}

impl PublishStatus {
    /// Parses TikTok's spelling.
    pub fn parse(status: &str) -> Self {
        match status {
            "PROCESSING_UPLOAD" => Self::ProcessingUpload,
            "PROCESSING_DOWNLOAD" => Self::ProcessingDownload,
            "SEND_TO_USER_INBOX" => Self::SendToUserInbox,
            "PUBLISH_COMPLETE" => Self::PublishComplete,
            "FAILED" => Self::Failed,
            other => Self::Other(other.to_owned()),
        }
    }

    /// TikTok's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::ProcessingUpload => "PROCESSING_UPLOAD",
            Self::ProcessingDownload => "PROCESSING_DOWNLOAD",
            Self::SendToUserInbox => "SEND_TO_USER_INBOX",
            Self::PublishComplete => "PUBLISH_COMPLETE",
            Self::Failed => "FAILED",
            Self::Other(status) => status,
        }
    }

    /// Whether polling can stop. `SEND_TO_USER_INBOX` is final for us: the creator finishes in
    /// the TikTok app.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            Self::SendToUserInbox | Self::PublishComplete | Self::Failed
        )
    }

    /// Whether TikTok holds the whole video and has not failed the post: the video went to the
    /// account (the duplicate guard counts it). Past `PROCESSING_UPLOAD` every byte is in, and
    /// an undocumented processing status comes later still.
    pub fn holds_video(&self) -> bool {
        !matches!(self, Self::ProcessingUpload | Self::Failed)
    }

    /// What a creator should read.
    pub fn user_message(&self) -> &'static str {
        match self {
            Self::ProcessingUpload => "TikTok is receiving and processing the video…",
            Self::ProcessingDownload => "TikTok is downloading the video…",
            Self::SendToUserInbox => "Sent to your TikTok inbox — open TikTok to finish the post.",
            Self::PublishComplete => "Posted to TikTok.",
            Self::Failed => "TikTok could not post the video.",
            Self::Other(_) => "TikTok is still processing the video…",
        }
    }
}

impl fmt::Display for PublishStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `data.fail_reason` of `status/fetch`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FailReason(pub String);

impl FailReason {
    /// What went wrong, for a creator, and whether posting again can help.
    pub fn user_message(&self) -> &'static str {
        match self.0.as_str() {
            "file_format_check_failed" => {
                "TikTok could not read the video format. Export it as MP4 (H.264) and try again."
            }
            "duration_check_failed" => {
                "The video is too long or too short for TikTok. Trim it and try again."
            }
            "frame_rate_check_failed" => {
                "The video's frame rate is outside TikTok's 23–60 FPS. Re-export it and try again."
            }
            "picture_size_check_failed" => {
                "The video's resolution or shape is outside TikTok's limits (360–4096 px per side). Re-export it and try again."
            }
            "internal" => "TikTok had a problem processing the video. Try posting it again.",
            "video_pull_failed" | "photo_pull_failed" => {
                "TikTok could not download the media. Check the address and try again."
            }
            "publish_cancelled" => "The post was cancelled.",
            "auth_removed" => {
                "Access to your TikTok account was removed while posting. Reconnect TikTok to post again."
            }
            "spam_risk_too_many_posts" => {
                "You have reached TikTok's daily limit of posts from apps. Try again tomorrow."
            }
            "spam_risk_user_banned_from_posting" => {
                "TikTok does not allow this account to post right now. Try again later."
            }
            "spam_risk_text" => {
                "TikTok flagged the caption. Change the caption before posting again."
            }
            "spam_risk" => "TikTok flagged this post as risky and did not publish it.",
            _ => "TikTok could not post the video, for a reason this app does not recognise.",
        }
    }

    /// Whether posting the same video again may work (only TikTok-side trouble).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.0.as_str(),
            "internal" | "video_pull_failed" | "photo_pull_failed"
        )
    }
}

/// Wait before the first status poll after the last chunk: TikTok usually has news within a
/// second.
pub const FIRST_POLL_MS: u32 = 1_000;
/// Between later polls. The proxy answers repeated polls from its cache, and TikTok allows 30
/// status calls a minute, so a few seconds keeps well inside the budget.
pub const POLL_INTERVAL_MS: u32 = 3_000;
/// Polls that may fail in a row (network, rate limit) before the page gives up.
pub const MAX_POLL_FAILURES: u32 = 10;

/// Whether to poll again after `failures` polls failed in a row.
pub fn keep_polling(failures: u32) -> bool {
    failures <= MAX_POLL_FAILURES
}

impl serde::Serialize for PublishStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for PublishStatus {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(deserializer)?))
    }
}

impl serde::Serialize for FailReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> serde::Deserialize<'de> for FailReason {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self(String::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn statuses() {
        for (text, is_final, holds_video) in [
            ("PROCESSING_UPLOAD", false, false),
            ("PROCESSING_DOWNLOAD", false, true),
            ("SEND_TO_USER_INBOX", true, true),
            ("PUBLISH_COMPLETE", true, true),
            ("FAILED", true, false),
            ("PROCESSING_TRANSCODING", false, true),
        ] {
            let status = PublishStatus::parse(text);
            assert_eq!(status.as_str(), text);
            assert_eq!(status.is_final(), is_final, "{text}");
            assert_eq!(status.holds_video(), holds_video, "{text}");
        }
        assert_eq!(
            PublishStatus::parse("PROCESSING_PUBLISH").user_message(),
            "TikTok is still processing the video…"
        );
    }

    #[test]
    fn polling_gives_up_after_ten_failures_in_a_row() {
        assert!(keep_polling(MAX_POLL_FAILURES));
        assert!(!keep_polling(MAX_POLL_FAILURES + 1));
    }

    #[test]
    fn fail_reasons() {
        assert!(FailReason("internal".into()).is_retryable());
        assert!(!FailReason("auth_removed".into()).is_retryable());
        assert!(
            FailReason("spam_risk_text".into())
                .user_message()
                .contains("caption")
        );
        assert!(
            FailReason("brand_new".into())
                .user_message()
                .contains("does not recognise")
        );
    }
}
