//! The bodies of TikTok's Content Posting API (v2) and OAuth token endpoint, as documented.
//! Field names are TikTok's, typos included (`publicaly_available_post_id`).

use crate::codes::ErrorCode;
use crate::post_id::deserialize_post_ids;
use crate::status::{FailReason, PublishStatus};
use serde::{Deserialize, Serialize};
use std::fmt;

/// API paths, relative to the API base (`https://open.tiktokapis.com`).
pub mod paths {
    pub const CREATOR_INFO: &str = "/v2/post/publish/creator_info/query/";
    pub const VIDEO_INIT: &str = "/v2/post/publish/video/init/";
    pub const INBOX_VIDEO_INIT: &str = "/v2/post/publish/inbox/video/init/";
    pub const STATUS_FETCH: &str = "/v2/post/publish/status/fetch/";
    pub const OAUTH_TOKEN: &str = "/v2/oauth/token/";
    pub const OAUTH_REVOKE: &str = "/v2/oauth/revoke/";
}

/// TikTok's upload host, whose `upload_url`s (`https://open-upload.tiktokapis.com/video/?…`)
/// init answers with when the API base is TikTok's own: the page PUTs chunks there.
pub const UPLOAD_ORIGIN: &str = "https://open-upload.tiktokapis.com";

/// The `Content-Type` TikTok documents for every JSON call.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=UTF-8";

/// Who can view a post. TikTok may add levels; unknown ones are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PrivacyLevel {
    PublicToEveryone,
    MutualFollowFriends,
    FollowerOfCreator,
    SelfOnly,
    Other(String),
}

impl PrivacyLevel {
    pub fn parse(level: &str) -> Self {
        match level {
            "PUBLIC_TO_EVERYONE" => Self::PublicToEveryone,
            "MUTUAL_FOLLOW_FRIENDS" => Self::MutualFollowFriends,
            "FOLLOWER_OF_CREATOR" => Self::FollowerOfCreator,
            "SELF_ONLY" => Self::SelfOnly,
            other => Self::Other(other.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::PublicToEveryone => "PUBLIC_TO_EVERYONE",
            Self::MutualFollowFriends => "MUTUAL_FOLLOW_FRIENDS",
            Self::FollowerOfCreator => "FOLLOWER_OF_CREATOR",
            Self::SelfOnly => "SELF_ONLY",
            Self::Other(level) => level,
        }
    }

    /// The words TikTok's own app uses for the level.
    pub fn label(&self) -> &str {
        match self {
            Self::PublicToEveryone => "Everyone",
            Self::MutualFollowFriends => "Friends",
            Self::FollowerOfCreator => "Followers",
            Self::SelfOnly => "Only me",
            Self::Other(level) => level,
        }
    }
}

impl fmt::Display for PrivacyLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for PrivacyLevel {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for PrivacyLevel {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(deserializer)?))
    }
}

/// `error` of every Content Posting response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiError {
    pub code: ErrorCode,
    #[serde(default)]
    pub message: String,
    /// TikTok's request id. The tables say `logid`, the examples `log_id`: both are read.
    #[serde(default, alias = "logid", skip_serializing_if = "Option::is_none")]
    pub log_id: Option<String>,
}

/// The envelope of every Content Posting response: `{"data": …, "error": {…}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// Missing, `{}` or partial when `error.code` is not `ok`.
    #[serde(default = "none", skip_serializing_if = "Option::is_none")]
    pub data: Option<T>,
    pub error: ApiError,
}

fn none<T>() -> Option<T> {
    None
}

/// A response body that did not make sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnvelopeError {
    /// TikTok answered with an error code other than `ok`.
    #[error("TikTok answered {}: {}", .0.code, .0.message)]
    Api(ApiError),
    /// The body is not the documented shape.
    #[error("TikTok's answer could not be read: {0}")]
    Malformed(String),
}

/// Reads an envelope and returns `data` if and only if `error.code` is `ok`. The HTTP status is
/// not consulted: TikTok sends some errors with 200 and that is what matters.
pub fn parse_envelope<T: for<'de> Deserialize<'de>>(
    body: &[u8],
) -> Result<(T, ApiError), EnvelopeError> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        data: serde_json::Value,
        error: ApiError,
    }
    let raw: Raw =
        serde_json::from_slice(body).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    if !raw.error.code.is_ok() {
        return Err(EnvelopeError::Api(raw.error));
    }
    let data =
        serde_json::from_value(raw.data).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
    Ok((data, raw.error))
}

/// `data` of `creator_info/query`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatorInfo {
    /// Expires after two hours: fetch it again rather than storing it.
    #[serde(default)]
    pub creator_avatar_url: String,
    #[serde(default)]
    pub creator_username: String,
    /// The posting screen must show it.
    pub creator_nickname: String,
    pub privacy_level_options: Vec<PrivacyLevel>,
    #[serde(default)]
    pub comment_disabled: bool,
    #[serde(default)]
    pub duet_disabled: bool,
    #[serde(default)]
    pub stitch_disabled: bool,
    pub max_video_post_duration_sec: u32,
}

/// `post_info` of a Direct Post `video/init`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostInfo {
    /// The caption, at most 2200 UTF-16 units. Left out when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Must be one of the creator's current `privacy_level_options`.
    pub privacy_level: PrivacyLevel,
    #[serde(default)]
    pub disable_duet: bool,
    #[serde(default)]
    pub disable_stitch: bool,
    #[serde(default)]
    pub disable_comment: bool,
    /// The cover frame; TikTok uses the first frame when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_cover_timestamp_ms: Option<u32>,
    /// Paid partnership. Marked required in TikTok's table, so always sent.
    #[serde(default)]
    pub brand_content_toggle: bool,
    /// Promotes the creator's own business.
    #[serde(default)]
    pub brand_organic_toggle: bool,
    /// AI-generated content label.
    #[serde(default)]
    pub is_aigc: bool,
}

impl PostInfo {
    /// A post seen by `privacy_level`, with no caption, interactions allowed, no cover frame and
    /// no disclosure — what a script or a benchmark sends when nothing else matters.
    pub fn new(privacy_level: PrivacyLevel) -> Self {
        Self {
            title: None,
            privacy_level,
            disable_duet: false,
            disable_stitch: false,
            disable_comment: false,
            video_cover_timestamp_ms: None,
            brand_content_toggle: false,
            brand_organic_toggle: false,
            is_aigc: false,
        }
    }
}

/// `source_info` of an init call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "source")]
pub enum SourceInfo {
    #[serde(rename = "FILE_UPLOAD")]
    FileUpload {
        video_size: u64,
        chunk_size: u64,
        total_chunk_count: u64,
    },
    #[serde(rename = "PULL_FROM_URL")]
    PullFromUrl { video_url: String },
}

impl SourceInfo {
    /// The `FILE_UPLOAD` source for a chunk plan.
    pub fn file_upload(plan: &crate::ChunkPlan) -> Self {
        Self::FileUpload {
            video_size: plan.video_size,
            chunk_size: plan.chunk_size,
            total_chunk_count: plan.total_chunk_count,
        }
    }
}

/// Body of `video/init` (Direct Post).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectPostInit {
    pub post_info: PostInfo,
    pub source_info: SourceInfo,
}

/// Body of `inbox/video/init` (draft upload): only `source_info` is documented.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxInit {
    pub source_info: SourceInfo,
}

/// `data` of either init call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InitData {
    /// At most 64 characters.
    pub publish_id: String,
    /// Only for `FILE_UPLOAD`; valid for one hour; used whole, query included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_url: Option<String>,
}

/// The longest `publish_id` TikTok documents.
pub const MAX_PUBLISH_ID_LEN: usize = 64;

/// Whether `id` can be a `publish_id` (`v_pub_file~v2-1.123456789`): 1 to 64 ASCII letters,
/// digits and `_ - . ~`. Anything else is refused before TikTok is asked, so a path segment can
/// never smuggle other text into a request.
pub fn is_publish_id(id: &str) -> bool {
    (1..=MAX_PUBLISH_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'~'))
}

/// Body of `status/fetch`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusRequest {
    pub publish_id: String,
}

/// `data` of `status/fetch`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct StatusData {
    pub status: PublishStatus,
    #[serde(default)]
    pub fail_reason: Option<FailReason>,
    /// Exact decimal strings; TikTok sends 19-digit numbers.
    #[serde(
        default,
        alias = "publicly_available_post_id",
        deserialize_with = "deserialize_post_ids"
    )]
    pub publicaly_available_post_id: Vec<String>,
    #[serde(default)]
    pub uploaded_bytes: Option<u64>,
    #[serde(default)]
    pub downloaded_bytes: Option<u64>,
}

/// A successful OAuth token response (top level, not wrapped in `data`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    /// Seconds; schedule the refresh from this, never from a hard-coded lifetime.
    pub expires_in: u64,
    pub open_id: String,
    pub refresh_expires_in: u64,
    /// May differ from the one sent: always keep the newest.
    pub refresh_token: String,
    /// Comma-separated granted scopes.
    pub scope: String,
    pub token_type: String,
}

impl fmt::Display for TokenResponse {
    /// Never shows a token.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tokens for {} (scope {})", self.open_id, self.scope)
    }
}

/// An OAuth error: `{"error","error_description","log_id"}`, sometimes sent with HTTP 200.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("TikTok's sign-in refused the request: {error} ({error_description})")]
pub struct OAuthError {
    pub error: String,
    #[serde(default)]
    pub error_description: String,
    #[serde(default, alias = "logid")]
    pub log_id: Option<String>,
}

/// Reads a token endpoint body, whatever the HTTP status: an `error` field means failure.
pub fn parse_token_reply(body: &[u8]) -> Result<TokenResponse, OAuthError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| OAuthError {
        error: "invalid_response".into(),
        error_description: format!("unreadable token response: {e}"),
        log_id: None,
    })?;
    if value
        .get("error")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|e| !e.is_empty())
    {
        return Err(
            serde_json::from_value::<OAuthError>(value).unwrap_or_else(|e| OAuthError {
                error: "invalid_response".into(),
                error_description: e.to_string(),
                log_id: None,
            }),
        );
    }
    serde_json::from_value(value).map_err(|e| OAuthError {
        error: "invalid_response".into(),
        error_description: format!("unexpected token response: {e}"),
        log_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn creator_info_doc_example() {
        let body = br#"{"data":{"creator_avatar_url":"https://lf16-tt4d.tiktokcdn.com/obj/x","creator_username":"tiktok","creator_nickname":"TikTok Official",
 "privacy_level_options":["PUBLIC_TO_EVERYONE","MUTUAL_FOLLOW_FRIENDS","SELF_ONLY"],
 "comment_disabled":false,"duet_disabled":false,"stitch_disabled":true,"max_video_post_duration_sec":300},
 "error":{"code":"ok","message":"","log_id":"202210112248442CB9319E1FB30C1073F3"}}"#;
        let (info, error): (CreatorInfo, _) = parse_envelope(body).unwrap();
        assert_eq!(info.creator_nickname, "TikTok Official");
        assert_eq!(info.privacy_level_options[2], PrivacyLevel::SelfOnly);
        assert!(info.stitch_disabled);
        assert_eq!(info.max_video_post_duration_sec, 300);
        assert_eq!(
            error.log_id.as_deref(),
            Some("202210112248442CB9319E1FB30C1073F3")
        );
    }

    #[test]
    fn errors_with_http_200_and_either_log_id_spelling() {
        let body = br#"{"data":{},"error":{"code":"spam_risk_too_many_posts","message":"too many","logid":"L1"}}"#;
        match parse_envelope::<CreatorInfo>(body) {
            Err(EnvelopeError::Api(error)) => {
                assert_eq!(error.code, ErrorCode::SpamRiskTooManyPosts);
                assert_eq!(error.log_id.as_deref(), Some("L1"));
            }
            other => panic!("{other:?}"),
        }
        let no_data =
            br#"{"error":{"code":"invalid_params","message":"The total_chunk_count is invalid."}}"#;
        assert!(matches!(
            parse_envelope::<InitData>(no_data),
            Err(EnvelopeError::Api(ApiError {
                code: ErrorCode::InvalidParams,
                ..
            }))
        ));
        assert!(matches!(
            parse_envelope::<InitData>(b"<html>"),
            Err(EnvelopeError::Malformed(_))
        ));
    }

    #[test]
    fn direct_post_init_doc_example() {
        let init = DirectPostInit {
            post_info: PostInfo {
                title: Some("this will be a funny #cat video on your @tiktok #fyp".into()),
                privacy_level: PrivacyLevel::MutualFollowFriends,
                disable_duet: false,
                disable_stitch: false,
                disable_comment: true,
                video_cover_timestamp_ms: Some(1000),
                brand_content_toggle: false,
                brand_organic_toggle: false,
                is_aigc: false,
            },
            source_info: SourceInfo::FileUpload {
                video_size: 50_000_123,
                chunk_size: 10_000_000,
                total_chunk_count: 5,
            },
        };
        let json = serde_json::to_value(&init).unwrap();
        assert_eq!(json["post_info"]["privacy_level"], "MUTUAL_FOLLOW_FRIENDS");
        assert_eq!(json["post_info"]["brand_content_toggle"], false);
        assert_eq!(json["source_info"]["source"], "FILE_UPLOAD");
        assert_eq!(json["source_info"]["total_chunk_count"], 5);
        let back: DirectPostInit = serde_json::from_value(json).unwrap();
        assert_eq!(back, init);
        let inbox = serde_json::to_string(&InboxInit {
            source_info: init.source_info,
        })
        .unwrap();
        assert_eq!(
            inbox,
            r#"{"source_info":{"source":"FILE_UPLOAD","video_size":50000123,"chunk_size":10000000,"total_chunk_count":5}}"#
        );
    }

    #[test]
    fn status_doc_example_and_big_ids() {
        let body = br#"{"data":{"status":"FAILED","fail_reason":"picture_size_check_failed","publicaly_available_post_id":[],"uploaded_bytes":10000},"error":{"code":"ok","message":"","log_id":"x"}}"#;
        let (status, _): (StatusData, _) = parse_envelope(body).unwrap();
        assert_eq!(status.status, PublishStatus::Failed);
        assert_eq!(
            status.fail_reason,
            Some(FailReason("picture_size_check_failed".into()))
        );
        assert_eq!(status.uploaded_bytes, Some(10000));
        let body = br#"{"data":{"status":"PUBLISH_COMPLETE","publicly_available_post_id":[7303974455139846443]},"error":{"code":"ok"}}"#;
        let (status, _): (StatusData, _) = parse_envelope(body).unwrap();
        assert_eq!(status.publicaly_available_post_id, ["7303974455139846443"]);
    }

    #[test]
    fn publish_id_shape() {
        for (id, ok) in [
            ("v_pub_file~v2-1.123456789", true),
            ("v_inbox_url~v2.123456789", true),
            ("", false),
            ("a/b", false),
            ("..%2F", false),
            ("id with space", false),
            ("é", false),
        ] {
            assert_eq!(is_publish_id(id), ok, "{id:?}");
        }
        assert!(is_publish_id(&"x".repeat(MAX_PUBLISH_ID_LEN)));
        assert!(!is_publish_id(&"x".repeat(MAX_PUBLISH_ID_LEN + 1)));
    }

    #[test]
    fn token_replies() {
        let ok = br#"{"access_token":"act.1","expires_in":86400,"open_id":"o","refresh_expires_in":31536000,"refresh_token":"rft.1","scope":"user.info.basic,video.publish","token_type":"Bearer"}"#;
        let tokens = parse_token_reply(ok).unwrap();
        assert_eq!(tokens.expires_in, 86400);
        assert!(!tokens.to_string().contains("act.1"));
        let refused = br#"{"error":"invalid_grant","error_description":"Refresh token is invalid or expired.","log_id":"L"}"#;
        let error = parse_token_reply(refused).unwrap_err();
        assert_eq!(error.error, "invalid_grant", "{error:?}");
        assert_eq!(error.log_id.as_deref(), Some("L"));
        assert_eq!(
            parse_token_reply(b"nope").unwrap_err().error,
            "invalid_response"
        );
    }
}
