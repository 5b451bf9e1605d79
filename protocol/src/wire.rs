//! The JSON that crosses between the browser (or a script) and our proxy. Only these types and
//! TikTok's own cross a wire; the access token is in none of them.

use crate::caption::{CaptionError, check_caption};
use crate::chunk::{ChunkPlan, PlanError};
use crate::media::ContentType;
use crate::status::{FailReason, PublishStatus};
use crate::tiktok::{PostInfo, PrivacyLevel};
use serde::{Deserialize, Serialize};

/// Where a video goes: straight onto the profile, or into the creator's TikTok inbox as a draft.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PostMode {
    /// Direct Post (`video/init`, scope `video.publish`).
    #[default]
    Direct,
    /// Upload to inbox (`inbox/video/init`, scope `video.upload`); finished in the TikTok app.
    Inbox,
}

/// `GET /api/creator`: the account the page posts to, from `creator_info/query`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Creator {
    pub nickname: String,
    pub username: String,
    /// Expires two hours after it was fetched.
    pub avatar_url: String,
    pub privacy_level_options: Vec<PrivacyLevel>,
    pub comment_disabled: bool,
    pub duet_disabled: bool,
    pub stitch_disabled: bool,
    pub max_video_post_duration_sec: u32,
}

impl From<crate::tiktok::CreatorInfo> for Creator {
    fn from(info: crate::tiktok::CreatorInfo) -> Self {
        Self {
            nickname: info.creator_nickname,
            username: info.creator_username,
            avatar_url: info.creator_avatar_url,
            privacy_level_options: info.privacy_level_options,
            comment_disabled: info.comment_disabled,
            duet_disabled: info.duet_disabled,
            stitch_disabled: info.stitch_disabled,
            max_video_post_duration_sec: info.max_video_post_duration_sec,
        }
    }
}

/// The post's details as the creator chose them. `privacy_level` has no default: the creator
/// picks it by hand, and a direct post without one is refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PostFields {
    pub title: String,
    pub privacy_level: Option<PrivacyLevel>,
    pub disable_comment: bool,
    pub disable_duet: bool,
    pub disable_stitch: bool,
    pub video_cover_timestamp_ms: Option<u32>,
    pub brand_content_toggle: bool,
    pub brand_organic_toggle: bool,
    pub is_aigc: bool,
}

/// `POST /api/posts`: start a post of a file the caller holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatePost {
    pub mode: PostMode,
    pub video_size: u64,
    pub content_type: String,
    /// For the history only; never sent to TikTok.
    #[serde(default)]
    pub file_name: String,
    #[serde(default)]
    pub post_info: PostFields,
}

/// Why a [`CreatePost`] is refused before TikTok is asked. The text is for people.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvalidPost {
    #[error(transparent)]
    Size(#[from] PlanError),
    #[error(
        "{0:?} is not a video type TikTok accepts; use video/mp4, video/quicktime or video/webm."
    )]
    ContentType(String),
    #[error(transparent)]
    Caption(#[from] CaptionError),
    #[error("Choose who can view this video before posting.")]
    PrivacyMissing,
    #[error("Branded content cannot be private: choose who can view it other than \"Only me\".")]
    BrandedContentPrivate,
    #[error(
        "The file name is longer than {MAX_FILE_NAME_BYTES} bytes; rename the file and try again."
    )]
    FileNameTooLong,
}

impl InvalidPost {
    /// A stable code for scripts.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Size(_) => "invalid_video_size",
            Self::ContentType(_) => "unsupported_content_type",
            Self::Caption(_) => "caption_too_long",
            Self::PrivacyMissing => "privacy_level_missing",
            Self::BrandedContentPrivate => "branded_content_private",
            Self::FileNameTooLong => "file_name_too_long",
        }
    }
}

impl CreatePost {
    /// Everything TikTok would refuse that can be known without asking it; on success, the
    /// chunk plan and the content type.
    pub fn validate(&self) -> Result<(ChunkPlan, ContentType), InvalidPost> {
        if self.file_name.len() > MAX_FILE_NAME_BYTES {
            return Err(InvalidPost::FileNameTooLong);
        }
        let plan = ChunkPlan::new(self.video_size)?;
        let content_type = ContentType::from_mime(&self.content_type)
            .ok_or_else(|| InvalidPost::ContentType(self.content_type.clone()))?;
        if self.mode == PostMode::Direct {
            check_caption(&self.post_info.title)?;
            let privacy = self
                .post_info
                .privacy_level
                .as_ref()
                .ok_or(InvalidPost::PrivacyMissing)?;
            if self.post_info.brand_content_toggle && *privacy == PrivacyLevel::SelfOnly {
                return Err(InvalidPost::BrandedContentPrivate);
            }
        }
        Ok((plan, content_type))
    }

    /// TikTok's `post_info` for a direct post; `None` without a privacy level.
    pub fn post_info(&self) -> Option<PostInfo> {
        let fields = &self.post_info;
        Some(PostInfo {
            title: Some(fields.title.clone()).filter(|t| !t.is_empty()),
            privacy_level: fields.privacy_level.clone()?,
            disable_duet: fields.disable_duet,
            disable_stitch: fields.disable_stitch,
            disable_comment: fields.disable_comment,
            video_cover_timestamp_ms: fields.video_cover_timestamp_ms,
            brand_content_toggle: fields.brand_content_toggle,
            brand_organic_toggle: fields.brand_organic_toggle,
            is_aigc: fields.is_aigc,
        })
    }
}

/// `201` to `POST /api/posts`: where and how to send the bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedPost {
    pub publish_id: String,
    /// TikTok's upload URL, used whole; valid for one hour.
    pub upload_url: String,
    pub chunk_size: u64,
    pub total_chunk_count: u64,
}

impl CreatedPost {
    /// The plan the proxy announced to TikTok, rebuilt for slicing. The three numbers say how
    /// to cut under either `PlanReading`: chunk `i` starts at `i * chunk_size`, the last ends at
    /// `video_size`.
    pub fn plan(&self, video_size: u64) -> ChunkPlan {
        ChunkPlan {
            video_size,
            chunk_size: self.chunk_size,
            total_chunk_count: self.total_chunk_count,
        }
    }
}

/// `GET /api/posts/{publish_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PostState {
    pub publish_id: String,
    pub status: PublishStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<FailReason>,
    /// Exact decimal strings.
    #[serde(default)]
    pub post_ids: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_bytes: Option<u64>,
}

impl PostState {
    /// Whether TikTok holds the whole video of `video_size` bytes and has not failed it: past
    /// `PROCESSING_UPLOAD` ([`PublishStatus::holds_video`]), or still there with every byte
    /// counted. What decides a cancel that raced the last chunk: such a video TikTok will try
    /// to publish, whatever the client does now; a failed one it will not.
    pub fn holds_whole_video(&self, video_size: u64) -> bool {
        self.status.holds_video()
            || (self.status == PublishStatus::ProcessingUpload
                && self.uploaded_bytes == Some(video_size))
    }
}

/// Whether a cancel of an upload under way came too late, so TikTok will publish the video of
/// `video_size` bytes whatever is done here. `last_chunk_taken`: TikTok answered 2xx to the
/// last chunk's PUT (a cancel lets that PUT finish once its body has all gone, as TikTok may
/// store it; it cuts any other, and TikTok discards a body cut short). `state`: TikTok's status
/// asked after the upload stopped, when it could be read. Too late when that status holds the
/// whole video ([`PostState::holds_whole_video`]) or TikTok took the last chunk, unless TikTok
/// has failed the video: then nothing will be published and the cancel stands.
pub fn cancel_came_too_late(
    last_chunk_taken: bool,
    state: Option<&PostState>,
    video_size: u64,
) -> bool {
    match state {
        Some(state) if state.status == PublishStatus::Failed => false,
        Some(state) => last_chunk_taken || state.holds_whole_video(video_size),
        None => last_chunk_taken,
    }
}

/// One post in `GET /api/posts`, folded from the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub publish_id: String,
    pub mode: Option<PostMode>,
    pub file_name: Option<String>,
    pub video_size: Option<u64>,
    pub caption: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    #[serde(default)]
    pub post_ids: Vec<String>,
    /// RFC 3339, when the post was started.
    pub created_at: String,
    /// RFC 3339, when its latest event was logged.
    pub updated_at: String,
}

/// How many posts one page of `GET /api/posts` holds when `limit` is not given.
pub const DEFAULT_HISTORY_LIMIT: usize = 50;

/// The largest `limit` `GET /api/posts` accepts: a page stays small whatever the log's size.
pub const MAX_HISTORY_LIMIT: usize = 200;

/// `GET /api/posts?limit=&before=`: one page of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Newest first.
    pub posts: Vec<HistoryEntry>,
    /// Present when older posts exist: pass it as `before=` for the next page. An opaque
    /// cursor (where the oldest post of this page starts in the log), not a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<u64>,
}

/// `GET /api/health`: the proxy is up, and whether it holds a TikTok access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// Always `true` when the proxy answers.
    pub ok: bool,
    /// Whether an access token is configured; without one every TikTok call answers 503.
    pub connected: bool,
}

/// Something that happened to an upload in the browser, reported so the log tells the whole
/// story (`POST /api/posts/{publish_id}/events`). TikTok has no cancel for file uploads: a
/// cancelled upload's URL simply expires within the hour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadEventKind {
    /// A chunk was sent again after a network error or a 5xx.
    Retried,
    /// TikTok's record differed from ours; the upload continued from TikTok's offset.
    Resynced,
    /// The upload URL died (403/404); a fresh init replaced this post.
    Reinitialized,
    /// The browser could not PUT to TikTok directly (CORS); chunks now go through the relay.
    Relayed,
    /// The creator paused the upload.
    Paused,
    /// The creator resumed the upload (also after a reload).
    Resumed,
    /// The creator cancelled the upload.
    Cancelled,
    /// The upload stopped for good; `message` says why.
    Failed,
}

impl UploadEventKind {
    /// The status the history shows after this event, if it ends the upload.
    pub fn final_status(self) -> Option<&'static str> {
        match self {
            Self::Cancelled => Some("CANCELLED"),
            Self::Failed => Some("UPLOAD_FAILED"),
            Self::Reinitialized => Some("UPLOAD_EXPIRED"),
            _ => None,
        }
    }
}

/// The longest `message` an [`UploadEvent`] may carry, in bytes.
pub const MAX_UPLOAD_EVENT_MESSAGE: usize = 1000;

/// `POST /api/posts/{publish_id}/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UploadEvent {
    pub kind: UploadEventKind,
    /// The 0-based chunk it concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u64>,
    /// The HTTP status TikTok answered, if one came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// What the creator was told.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where the page starts connecting TikTok: `POST` with fetch (JSON, from the signed-in page),
/// answered with [`ConnectStart`]; the page then navigates to TikTok's authorize page.
pub const LOGIN_PATH: &str = "/auth/login";
/// Operator sign-in: `POST` [`SignIn`] as JSON is answered `204` with the session cookie;
/// `DELETE` signs out (`204`, the cookie cleared).
pub const SESSION_PATH: &str = "/auth/session";
/// `GET`: what this caller may do ([`Access`]); answered to anyone, it reveals nothing else.
pub const ACCESS_PATH: &str = "/api/session";
/// The operator's session cookie: `HttpOnly; SameSite=Strict; Path=/`.
pub const SESSION_COOKIE: &str = "autoposter_session";
/// The longest `file_name` a post may carry, in bytes (a file system's own limit).
pub const MAX_FILE_NAME_BYTES: usize = 255;
/// Where the page disconnects TikTok (`POST` with fetch, answered with [`LoggedOut`]).
pub const LOGOUT_PATH: &str = "/auth/logout";
/// The query parameter of `/` that carries why a connect attempt failed, for people.
pub const CONNECT_ERROR_PARAM: &str = "connect_error";

/// `POST /api/upload`: the proxy receives the video and posts it itself, as a job.
pub const UPLOAD_PATH: &str = "/api/upload";
/// `GET /api/jobs` lists the jobs; `GET /api/jobs/{job_id}` is one of them.
pub const JOBS_PATH: &str = "/api/jobs";

/// Where a server-side job is. Only the last three are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStage {
    /// Received and waiting for its init: at once, or at `publish_at`. Until it starts it may be
    /// edited (`PATCH`) or cancelled (`DELETE`).
    Queued,
    /// TikTok said "not now" (a rate limit, 5 pending drafts, the daily cap): the job tries its
    /// init again at `until`; `message` says why. It may still be edited or cancelled.
    Waiting,
    /// The job started: its init is on its way, or TikTok handed out a `publish_id` (then in
    /// `publish_id`); no chunk confirmed yet. It can no longer be edited.
    Initialized,
    /// Chunks are going up; `uploaded_bytes` says how far TikTok has confirmed.
    Uploading,
    /// TikTok holds every byte; its status is being polled.
    Uploaded,
    /// TikTok's final word is in (`status` says which).
    Done,
    /// The job stopped for good; `message` says why. The video is kept on the server.
    Failed,
    /// Cancelled by `DELETE /api/jobs/{job_id}`; the video was removed from the server.
    Cancelled,
}

/// A job as `POST /api/upload` and `GET /api/jobs/{job_id}` show it. The upload URL is not in
/// it: it carries TikTok's upload token, and only the proxy sends bytes to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobInfo {
    pub job_id: String,
    /// Where to follow the job: `/api/jobs/{job_id}`.
    pub status_url: String,
    pub stage: JobStage,
    /// Once TikTok's init has answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_id: Option<String>,
    pub mode: PostMode,
    pub file_name: String,
    pub video_size: u64,
    /// Hex SHA-256 of the whole file, as received.
    pub sha256: String,
    /// Bytes TikTok has confirmed.
    pub uploaded_bytes: u64,
    /// TikTok's final status (`PUBLISH_COMPLETE`, `SEND_TO_USER_INBOX`, `FAILED`), once in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Exact decimal strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub post_ids: Vec<String>,
    /// Why the job failed or waits, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// RFC 3339 (UTC), when the job was asked to start; absent for "at once".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<String>,
    /// RFC 3339 (UTC), when a `waiting` job tries again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    /// The caption (a direct post's title; inbox drafts take none at TikTok).
    #[serde(default)]
    pub caption: String,
    /// The audience of a direct post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_level: Option<PrivacyLevel>,
    /// RFC 3339, when the video was received.
    pub created_at: String,
    /// RFC 3339, when the job last changed.
    pub updated_at: String,
}

/// `PATCH /api/jobs/{job_id}` (JSON): what to change in a job that has not started (stage
/// `queued` or `waiting`); a started one answers 409 `job_started`. Every field is optional;
/// the answer is the job's [`JobInfo`] after the change. The post is checked again as a whole
/// (`CreatePost::validate`), so an edit cannot make it one TikTok would refuse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobPatch {
    /// A new start: RFC 3339, a delay from now (`30m`, `2h`), or `now`
    /// (`protocol::schedule::resolve_publish_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_level: Option<PrivacyLevel>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_comment: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_duet: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_stitch: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_content_toggle: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub brand_organic_toggle: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_aigc: Option<bool>,
}

impl JobPatch {
    /// Applies the post's fields (everything but `publish_at`) to `fields`.
    pub fn apply(&self, fields: &mut PostFields) {
        if let Some(caption) = &self.caption {
            fields.title = caption.clone();
        }
        if let Some(privacy_level) = &self.privacy_level {
            fields.privacy_level = Some(privacy_level.clone());
        }
        let toggles = [
            (self.disable_comment, &mut fields.disable_comment),
            (self.disable_duet, &mut fields.disable_duet),
            (self.disable_stitch, &mut fields.disable_stitch),
            (self.brand_content_toggle, &mut fields.brand_content_toggle),
            (self.brand_organic_toggle, &mut fields.brand_organic_toggle),
            (self.is_aigc, &mut fields.is_aigc),
        ];
        for (new, field) in toggles {
            if let Some(new) = new {
                *field = new;
            }
        }
    }
}

/// `GET /api/jobs`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobList {
    pub jobs: Vec<JobInfo>,
}

/// `GET /api/connection`: whether a TikTok account is connected and what it allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// Whether TikTok calls can be made now (a token is held, or can be refreshed).
    pub connected: bool,
    /// TikTok's id of the connected account, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_id: Option<String>,
    /// The scopes the account granted; empty when unknown (a fixed access token).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Direct Post is allowed (`video.publish`, or unknown scopes).
    pub can_direct: bool,
    /// Drafts to the inbox are allowed (`video.upload`, or unknown scopes).
    pub can_inbox: bool,
    /// Where to send a person to connect; present when the proxy has a client key and secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_url: Option<String>,
    /// Why it is not connected, or what to re-grant, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `200` to `POST /auth/login`: where to send the browser to connect TikTok. The login's
/// `state` is bound to the operator's session that asked, and to this browser by a cookie.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectStart {
    /// TikTok's authorize page, with `state`, scopes and `disable_auto_auth=1`.
    pub authorize_url: String,
}

/// `POST /auth/session`: the operator's password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignIn {
    pub password: String,
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignIn { password: [redacted] }")
    }
}

/// `GET /api/session`: whether this proxy needs an operator, and whether this caller is one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// The proxy is reachable beyond loopback (or a password is set): every call needs a
    /// session, an API token or an embed credential.
    pub sign_in_required: bool,
    /// Password sign-in is possible (`AUTOPOSTER_ADMIN_PASSWORD_HASH` is set).
    pub password_sign_in: bool,
    /// This caller may do everything: signed in, an API token, or no sign-in is required.
    pub operator: bool,
}

/// `200` to `POST /auth/logout`: the stored tokens are gone; whether TikTok heard about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoggedOut {
    /// Whether TikTok confirmed the revocation. The tokens are deleted here either way.
    pub revoked: bool,
    /// What happened, for people.
    pub message: String,
}

/// Every error the proxy answers: `{"error": {…}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

/// What went wrong, for scripts (`code`) and people (`message`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    /// TikTok's code when TikTok caused it, else ours.
    pub code: String,
    /// What happened and what to do.
    pub message: String,
    /// TikTok's request id, for support.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_id: Option<String>,
    /// Seconds to wait before trying again, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn whether_tiktok_holds_the_whole_video() {
        for (status, uploaded_bytes, holds) in [
            ("PROCESSING_UPLOAD", None, false),
            ("PROCESSING_UPLOAD", Some(99), false),
            ("PROCESSING_UPLOAD", Some(100), true),
            ("PROCESSING_DOWNLOAD", Some(99), true),
            ("PUBLISH_COMPLETE", None, true),
            ("SEND_TO_USER_INBOX", Some(100), true),
            ("FAILED", Some(100), false),
            ("FAILED", None, false),
        ] {
            let state = PostState {
                publish_id: "p".into(),
                status: PublishStatus::parse(status),
                fail_reason: None,
                post_ids: Vec::new(),
                uploaded_bytes,
            };
            assert_eq!(
                state.holds_whole_video(100),
                holds,
                "{status} {uploaded_bytes:?}"
            );
        }
    }

    #[test]
    fn whether_a_cancel_came_too_late() {
        let state = |status: &str, uploaded_bytes| PostState {
            publish_id: "p".into(),
            status: PublishStatus::parse(status),
            fail_reason: None,
            post_ids: Vec::new(),
            uploaded_bytes,
        };
        let whole = state("PROCESSING_UPLOAD", Some(100));
        let part = state("PROCESSING_UPLOAD", Some(40));
        let failed = state("FAILED", Some(100));
        for (taken, state, too_late) in [
            (false, None, false),
            (true, None, true),
            (false, Some(&part), false),
            (true, Some(&part), true),
            (false, Some(&whole), true),
            (true, Some(&whole), true),
            (false, Some(&failed), false),
            (true, Some(&failed), false),
        ] {
            assert_eq!(
                cancel_came_too_late(taken, state, 100),
                too_late,
                "{taken} {state:?}"
            );
        }
    }

    fn post(json: &str) -> CreatePost {
        serde_json::from_str(json).unwrap()
    }

    fn check(json: &str, expected: Result<(u64, &str), &str>) {
        let got = post(json)
            .validate()
            .map(|(plan, content_type)| (plan.total_chunk_count, content_type.mime()))
            .map_err(|e| e.code());
        assert_eq!(got, expected, "{json}");
    }

    #[test]
    fn validation() {
        check(
            r#"{"mode":"direct","video_size":100,"content_type":"video/mp4","post_info":{"privacy_level":"SELF_ONLY"}}"#,
            Ok((1, "video/mp4")),
        );
        check(
            r#"{"mode":"inbox","video_size":70000000,"content_type":"video/webm"}"#,
            Ok((6, "video/webm")),
        );
        check(
            r#"{"mode":"direct","video_size":100,"content_type":"video/mp4"}"#,
            Err("privacy_level_missing"),
        );
        check(
            r#"{"mode":"direct","video_size":0,"content_type":"video/mp4","post_info":{"privacy_level":"SELF_ONLY"}}"#,
            Err("invalid_video_size"),
        );
        check(
            r#"{"mode":"inbox","video_size":100,"content_type":"image/png"}"#,
            Err("unsupported_content_type"),
        );
        check(
            r#"{"mode":"direct","video_size":100,"content_type":"video/mp4","post_info":{"privacy_level":"SELF_ONLY","brand_content_toggle":true}}"#,
            Err("branded_content_private"),
        );
        let long = format!(
            r#"{{"mode":"direct","video_size":100,"content_type":"video/mp4","post_info":{{"privacy_level":"SELF_ONLY","title":"{}"}}}}"#,
            "😀".repeat(1101)
        );
        check(&long, Err("caption_too_long"));
        let name = |bytes: usize| {
            format!(
                r#"{{"mode":"inbox","video_size":100,"content_type":"video/mp4","file_name":"{}"}}"#,
                "é".repeat(bytes / 2)
            )
        };
        check(&name(MAX_FILE_NAME_BYTES - 1), Ok((1, "video/mp4")));
        check(&name(MAX_FILE_NAME_BYTES + 1), Err("file_name_too_long"));
    }

    #[test]
    fn a_password_does_not_print() {
        let sign_in = SignIn {
            password: "hunter2-secret".into(),
        };
        assert!(!format!("{sign_in:?}").contains("hunter2"));
    }

    #[test]
    fn health_shape() {
        let health = Health {
            ok: true,
            connected: false,
        };
        assert_eq!(
            serde_json::to_string(&health).unwrap(),
            r#"{"ok":true,"connected":false}"#
        );
    }

    #[test]
    fn connection_shape() {
        let static_token = Connection {
            connected: true,
            open_id: None,
            scopes: Vec::new(),
            can_direct: true,
            can_inbox: true,
            login_url: None,
            message: None,
        };
        assert_eq!(
            serde_json::to_string(&static_token).unwrap(),
            r#"{"connected":true,"scopes":[],"can_direct":true,"can_inbox":true}"#
        );
        let back: Connection = serde_json::from_str(
            r#"{"connected":false,"can_direct":false,"can_inbox":false,"login_url":"/auth/login"}"#,
        )
        .unwrap();
        assert_eq!(back.login_url.as_deref(), Some(LOGIN_PATH));
        assert!(back.scopes.is_empty());
    }

    #[test]
    fn post_info_leaves_out_an_empty_title() {
        let request = post(
            r#"{"mode":"direct","video_size":100,"content_type":"video/mp4","post_info":{"privacy_level":"SELF_ONLY","is_aigc":true}}"#,
        );
        let info = request.post_info().unwrap();
        assert_eq!(info.title, None);
        assert!(info.is_aigc);
        let json = serde_json::to_value(info).unwrap();
        assert!(json.get("title").is_none());
        assert_eq!(json["brand_organic_toggle"], false);
    }
}
