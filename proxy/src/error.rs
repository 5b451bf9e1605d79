//! The proxy's one error type, and the one place it becomes a response.
//!
//! Mistakes by the caller get their own code and a message saying what to fix. TikTok's refusals
//! keep TikTok's code and `log_id` and carry [`ErrorCode::user_message`]. Failures on the way to
//! TikTok get a generic message; their detail goes to the tracing log only. No variant ever holds
//! the access token, the refresh token or the client secret: upstream text is scrubbed where it
//! is received, in `tiktok.rs` and `oauth_client.rs`, both through `redact.rs`.

use crate::body::{Body, MAX_JSON_BODY, json_response};
use crate::oauth_client::TokenError;
use hyper::header::{ALLOW, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Response, StatusCode};
use protocol::ErrorCode;
use protocol::chunk::ChunkPlan;
use protocol::embed::Refusal;
use protocol::host::HostRefusal;
use protocol::schedule::ScheduleError;
use protocol::tiktok::{ApiError, OAuthError};
use protocol::wire::{ErrorBody, ErrorDetail, InvalidPost, JobStage, PostMode};
use std::time::Duration;

/// How long to ask callers to wait after a 429 when TikTok does not say: its limits are per
/// minute.
pub const DEFAULT_RETRY_AFTER_SECS: u64 = 60;

/// The post a refused duplicate names: a post the log shows went to TikTok, or a job still on
/// its way there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierPost {
    /// `None` for a job that has not reached TikTok's init yet.
    pub publish_id: Option<String>,
    /// When TikTok took it (its `post_created` line) or, for a job, when the proxy received it;
    /// RFC 3339.
    pub at: String,
    pub caption: Option<String>,
    /// The server-side job that posted it, if one did.
    pub job_id: Option<String>,
}

impl std::fmt::Display for EarlierPost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.publish_id {
            Some(publish_id) => write!(f, "publish_id {publish_id}, sent {}", self.at)?,
            None => write!(f, "not at TikTok yet, received {}", self.at)?,
        }
        if let Some(caption) = &self.caption {
            write!(f, ", caption {caption:?}")?;
        }
        if let Some(job_id) = &self.job_id {
            write!(f, ", job {job_id}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in a request.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No access token is configured, so nothing can be asked of TikTok.
    #[error(
        "No TikTok account is connected. Start the proxy with TIKTOK_ACCESS_TOKEN set (or --access-token)."
    )]
    NotConnected,
    /// Login Kit is configured but no account has been connected yet.
    #[error("{}", protocol::oauth::CONNECT_MESSAGE)]
    NotSignedIn,
    /// TikTok refused the stored refresh token (`invalid_grant`): the person must connect again.
    #[error("{}", protocol::oauth::RECONNECT_MESSAGE)]
    ReconnectRequired,
    /// The granted scopes do not allow a post in this mode.
    #[error("{}", protocol::oauth::scope_refusal(*.0))]
    ScopeNotGranted(PostMode),
    /// A connect or disconnect route, without TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET.
    #[error(
        "Connecting with TikTok needs TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET; see docs/CONNECTING.md."
    )]
    OAuthNotConfigured,
    /// Operator access is on and the call showed no session, API token or embed credential.
    #[error(
        "Sign in first: this proxy needs its operator's password, an API token (Authorization: Bearer …) or an embed credential."
    )]
    SignInRequired,
    /// An `Authorization` header that is not a live API token of this proxy.
    #[error(
        "The API token (Authorization: Bearer …) is not valid here: it is malformed, revoked, or for another proxy."
    )]
    TokenInvalid,
    /// A sign-in with the wrong password.
    #[error("That password is not right.")]
    WrongPassword,
    /// Too many wrong passwords from this address; holds the seconds to wait.
    #[error("Too many wrong passwords. Try again in {0} s.")]
    TooManySignIns(u64),
    /// An init (`POST /api/posts`) past our count of TikTok's per-minute init limit
    /// (`init_limit.rs`), which the server-side jobs share; holds the seconds until a place
    /// frees. Refused before TikTok is asked, so the account's limit is not spent on a sure 429.
    #[error(
        "TikTok lets an account start only a few uploads a minute, and this minute's are taken. Try again in {0} s."
    )]
    TooManyInits(u64),
    /// A sign-in, but no password is set up.
    #[error("Password sign-in is not set up on this proxy (AUTOPOSTER_ADMIN_PASSWORD_HASH).")]
    SignInNotConfigured,
    /// An embedded page asked for something only the operator may do.
    #[error("An embedded uploader may post and follow its own posts, nothing else.")]
    NotForEmbeds,
    /// An embedded page asked about a post it did not start.
    #[error("This post was started by someone else.")]
    NotYourPost,
    /// A state-changing request that did not come from our own page's script.
    #[error("This request must come from the autoposter's own page.")]
    CrossSite,
    /// A call from another site that is not allowed, or without a valid embed key or ticket.
    #[error(transparent)]
    Embed(Refusal),
    /// A call addressed to a name this proxy does not answer to (DNS rebinding, or a name
    /// missing from `AUTOPOSTER_ALLOWED_HOSTS`).
    #[error(transparent)]
    Host(HostRefusal),
    /// TikTok's token endpoint refused for a reason other than a dead refresh token (bad client
    /// credentials, say); holds TikTok's error, already scrubbed, for the log.
    #[error(
        "TikTok refused to renew this app's access ({}). Check TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET.",
        .0.error
    )]
    SignInRefused(OAuthError),
    /// The body is not JSON, or not the JSON this call takes; holds serde's complaint.
    #[error("The request body is not valid JSON for this call: {0}")]
    InvalidJson(String),
    /// The request's `Content-Type` is not `application/json`; holds what it was.
    #[error("Send the request body as application/json, not {0:?}.")]
    UnsupportedMediaType(String),
    /// The body is over [`MAX_JSON_BODY`].
    #[error("The request body is larger than the {} KiB this call accepts.", MAX_JSON_BODY / 1024)]
    PayloadTooLarge,
    /// The body could not be read (the caller went away mid-body, or sent broken framing).
    #[error("The request body could not be read: {0}")]
    BadRequestBody(String),
    /// The request body stopped arriving for the body idle timeout.
    #[error("The request body stopped arriving for {} s. Send it again.", .0.as_secs_f32())]
    BodyTimeout(Duration),
    /// A post's upload-event reports are past [`crate::posts::MAX_EVENTS_PER_POST`].
    #[error(
        "This post has sent the most upload events one post may ({}); further ones are not logged.",
        crate::posts::MAX_EVENTS_PER_POST
    )]
    TooManyEvents,
    /// A query parameter is not one this call understands; holds what is wrong.
    #[error("{0}")]
    BadQuery(String),
    /// The post would be refused by TikTok; caught before asking it.
    #[error(transparent)]
    InvalidPost(#[from] InvalidPost),
    /// The path's `publish_id` cannot be one.
    #[error("That is not a publish_id: expected 1 to 64 letters, digits, '_', '-', '.' or '~'.")]
    InvalidPublishId,
    /// No such route or file.
    #[error("Nothing here.")]
    NotFound,
    /// The route exists with other methods; holds the `Allow` header's value.
    #[error("This address does not take that method; it takes {0}.")]
    MethodNotAllowed(&'static str),
    /// TikTok answered with an error code other than `ok`.
    #[error("TikTok answered {}", .0.api.code)]
    TikTok(TikTokError),
    /// TikTok refused the chunk plan under both readings of its rule (`init.rs`).
    #[error("{0}")]
    PlanRefused(Box<PlanRefusal>),
    /// TikTok did not answer within the configured upstream timeout.
    #[error("TikTok did not answer within {} s. Try again in a moment.", .0.as_secs_f32())]
    Timeout(Duration),
    /// TikTok could not be reached; holds the transport's complaint, for the tracing log.
    #[error("TikTok could not be reached. Check the network connection and try again.")]
    Unreachable(String),
    /// TikTok's answer was not the documented shape; holds what was wrong, for the tracing log.
    #[error("TikTok sent an answer this app cannot read. Try again in a few minutes.")]
    BadResponse(String),
    /// The relay has no upload by that `publish_id` (the proxy restarted, or never started it).
    #[error("This upload is not known to the proxy (it may have restarted). Post the video again.")]
    UnknownUpload,
    /// A relayed chunk's headers do not fit the post's plan; holds what is wrong.
    #[error("This chunk cannot be relayed: {0}.")]
    BadChunk(&'static str),
    /// TikTok's upload host stopped answering mid-chunk.
    #[error("TikTok's upload server stopped answering. The chunk will be sent again.")]
    UploadHostTimeout,
    /// TikTok's upload host could not be reached; holds the transport's complaint.
    #[error("TikTok's upload server could not be reached. The chunk will be sent again.")]
    UploadHostUnreachable(String),
    /// `POST /api/upload`: the video is over TikTok's 4 GB (said by `Content-Length`, or counted
    /// as it arrived).
    #[error(
        "The video is larger than the {} TikTok accepts.",
        protocol::media::human_bytes(protocol::chunk::MAX_VIDEO_SIZE)
    )]
    VideoTooLarge,
    /// `POST /api/upload`: the file's first bytes are not an MP4, QuickTime or WebM video.
    #[error("{}", protocol::VideoError::NotAVideo)]
    NotAVideo,
    /// `POST /api/upload`: the file is empty.
    #[error("{}", protocol::VideoError::Empty)]
    EmptyVideo,
    /// `POST /api/upload`: the uploads directory's disk cannot hold the video. `needed` is the
    /// video's announced size, when it was announced (a raw body's `Content-Length`) and the
    /// refusal came before a byte was written; `None` when the disk filled as it arrived.
    #[error("{}", disk_full_message(*.needed, *.free))]
    DiskFull { needed: Option<u64>, free: u64 },
    /// `POST /api/upload`: the form or query is not what the call takes; holds what is wrong.
    #[error("{0}")]
    BadUpload(String),
    /// `POST /api/upload` with a body that is neither `multipart/form-data` nor a video type.
    #[error(
        "Send the video as multipart/form-data (a \"file\" part) or as the raw body with Content-Type video/mp4, video/quicktime or video/webm, not {0:?}."
    )]
    UnsupportedUpload(String),
    /// `POST /api/upload`: this exact video already went (or is going) to this account; holds
    /// the earlier post.
    #[error("This video was already sent to this account ({0}). Send force=true to post it again.")]
    Duplicate(Box<EarlierPost>),
    /// No job by that id.
    #[error("There is no job by that id.")]
    UnknownJob,
    /// `PATCH /api/jobs/{id}` after the job started; holds its stage.
    #[error(
        "This job has started (stage {}): its post can no longer be changed. Cancel it and post the video again to change it.",
        stage_name(*.0)
    )]
    JobStarted(JobStage),
    /// `DELETE /api/jobs/{id}` once TikTok holds every byte.
    #[error(
        "TikTok already has the whole video and will publish it; it can no longer be cancelled here. Delete the post in the TikTok app if it should not stay."
    )]
    JobUploaded,
    /// `DELETE /api/jobs/{id}` of a finished job; holds its stage.
    #[error("This job is already over (stage {}): there is nothing to cancel.", stage_name(*.0))]
    JobFinished(JobStage),
    /// `publish_at` is unreadable, too far in the past or too far ahead.
    #[error(transparent)]
    BadSchedule(#[from] ScheduleError),
    /// Something failed inside the proxy (the log file could not be written); holds the detail,
    /// for the tracing log.
    #[error("The proxy had a problem on its side; see its log.")]
    Internal(String),
}

/// Both plans `init.rs` tried for one video, each refused by TikTok for its chunk size.
#[derive(Debug)]
pub struct PlanRefusal {
    /// In the order tried.
    pub tried: [PlanAttempt; 2],
}

/// One plan TikTok refused, with TikTok's word on it.
#[derive(Debug)]
pub struct PlanAttempt {
    pub plan: ChunkPlan,
    /// TikTok's request id for this init, for support.
    pub log_id: Option<String>,
    /// TikTok's message (already scrubbed of the token).
    pub message: String,
}

impl PlanAttempt {
    /// `plan`, as TikTok's `refused` answer left it.
    pub fn new(plan: ChunkPlan, refused: TikTokError) -> Self {
        Self {
            plan,
            log_id: refused.api.log_id,
            message: refused.api.message,
        }
    }
}

impl std::fmt::Display for PlanRefusal {
    /// What the creator reads: what was tried, what TikTok said, what still works.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [first, second] = &self.tried;
        write!(
            f,
            "TikTok refused both ways this app knows of cutting this video into chunks: {}, then {}. TikTok said: {} Videos of up to {} bytes go up whole and are not affected; for larger ones, give TikTok's developer support these log_ids.",
            first,
            second,
            second.message.trim(),
            protocol::chunk::MAX_CHUNK_SIZE
        )
    }
}

impl std::fmt::Display for PlanAttempt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} chunks of {} bytes ({}; log_id {})",
            self.plan.total_chunk_count,
            self.plan.chunk_size,
            self.plan.reading().describe(),
            self.log_id.as_deref().unwrap_or("none")
        )
    }
}

/// A TikTok refusal, with what the proxy needs to pass it on.
#[derive(Debug)]
pub struct TikTokError {
    /// TikTok's `error` object; its message is already scrubbed of the token.
    pub api: ApiError,
    /// The HTTP status TikTok sent it with (200 for creator_info's "intentional" errors).
    pub http_status: u16,
    /// TikTok's `Retry-After`, in seconds, when it sent one.
    pub retry_after_secs: Option<u64>,
}

impl Error {
    /// The code scripts match on: TikTok's when TikTok caused it, else ours.
    pub fn code(&self) -> String {
        match self {
            Self::NotConnected | Self::NotSignedIn => "not_connected".into(),
            Self::ReconnectRequired => "reconnect_required".into(),
            Self::ScopeNotGranted(_) => "scope_not_granted".into(),
            Self::OAuthNotConfigured => "oauth_not_configured".into(),
            Self::CrossSite => "cross_site_refused".into(),
            Self::SignInRequired => "sign_in_required".into(),
            Self::TokenInvalid => "api_token_invalid".into(),
            Self::WrongPassword => "wrong_password".into(),
            Self::TooManySignIns(_) => "too_many_sign_ins".into(),
            Self::TooManyInits(_) => "too_many_inits".into(),
            Self::SignInNotConfigured => "sign_in_not_configured".into(),
            Self::NotForEmbeds => "not_for_embeds".into(),
            Self::NotYourPost => "not_your_post".into(),
            Self::Embed(refusal) => refusal.code().into(),
            Self::Host(refusal) => refusal.code().into(),
            Self::SignInRefused(_) => "sign_in_refused".into(),
            Self::InvalidJson(_) => "invalid_json".into(),
            Self::UnsupportedMediaType(_) => "unsupported_media_type".into(),
            Self::PayloadTooLarge => "payload_too_large".into(),
            Self::BadRequestBody(_) => "bad_request".into(),
            Self::BodyTimeout(_) => "body_timeout".into(),
            Self::TooManyEvents => "too_many_events".into(),
            Self::BadQuery(_) => "invalid_query".into(),
            Self::InvalidPost(invalid) => invalid.code().into(),
            Self::InvalidPublishId => "invalid_publish_id".into(),
            Self::NotFound => "not_found".into(),
            Self::MethodNotAllowed(_) => "method_not_allowed".into(),
            Self::TikTok(tiktok) => tiktok.api.code.as_str().into(),
            Self::PlanRefused(_) => "chunk_plan_refused".into(),
            Self::Timeout(_) => "tiktok_timeout".into(),
            Self::Unreachable(_) => "tiktok_unreachable".into(),
            Self::BadResponse(_) => "tiktok_bad_response".into(),
            Self::Internal(_) => "internal".into(),
            Self::UnknownUpload => "unknown_upload".into(),
            Self::BadChunk(_) => "bad_chunk".into(),
            Self::UploadHostTimeout => "upload_host_timeout".into(),
            Self::UploadHostUnreachable(_) => "upload_host_unreachable".into(),
            Self::VideoTooLarge => "video_too_large".into(),
            Self::NotAVideo => "not_a_video".into(),
            Self::EmptyVideo => "empty_video".into(),
            Self::DiskFull { .. } => "disk_full".into(),
            Self::BadUpload(_) => "invalid_upload".into(),
            Self::UnsupportedUpload(_) => "unsupported_media_type".into(),
            Self::Duplicate(..) => "duplicate_video".into(),
            Self::UnknownJob => "unknown_job".into(),
            Self::JobStarted(_) => "job_started".into(),
            Self::JobUploaded => "job_uploaded".into(),
            Self::JobFinished(_) => "job_finished".into(),
            Self::BadSchedule(_) => "invalid_publish_at".into(),
        }
    }

    /// The HTTP status the caller gets.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotConnected | Self::NotSignedIn => StatusCode::SERVICE_UNAVAILABLE,
            Self::ReconnectRequired => StatusCode::UNAUTHORIZED,
            Self::ScopeNotGranted(_) | Self::CrossSite => StatusCode::FORBIDDEN,
            Self::SignInRequired | Self::TokenInvalid | Self::WrongPassword => {
                StatusCode::UNAUTHORIZED
            }
            Self::TooManySignIns(_) | Self::TooManyInits(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::SignInNotConfigured => StatusCode::NOT_FOUND,
            Self::NotForEmbeds | Self::NotYourPost => StatusCode::FORBIDDEN,
            // The site itself may not call: no credential would change that.
            Self::Embed(Refusal::OriginNotAllowed(_)) => StatusCode::FORBIDDEN,
            Self::Embed(_) => StatusCode::UNAUTHORIZED,
            // No credential makes a foreign name ours.
            Self::Host(_) => StatusCode::FORBIDDEN,
            Self::OAuthNotConfigured => StatusCode::NOT_FOUND,
            Self::SignInRefused(_) => StatusCode::BAD_GATEWAY,
            Self::InvalidJson(_)
            | Self::BadRequestBody(_)
            | Self::BadQuery(_)
            | Self::InvalidPost(_)
            | Self::InvalidPublishId => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::TooManyEvents => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Self::TikTok(tiktok) => tiktok_status(&tiktok.api.code, tiktok.http_status),
            // TikTok's own status for the refusal: nothing to retry as it is.
            Self::PlanRefused(_) => StatusCode::BAD_REQUEST,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::Unreachable(_) | Self::BadResponse(_) => StatusCode::BAD_GATEWAY,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::UnknownUpload => StatusCode::NOT_FOUND,
            Self::BadChunk(_) => StatusCode::BAD_REQUEST,
            Self::UploadHostTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::UploadHostUnreachable(_) => StatusCode::BAD_GATEWAY,
            Self::VideoTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotAVideo | Self::UnsupportedUpload(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::EmptyVideo | Self::BadUpload(_) => StatusCode::BAD_REQUEST,
            Self::DiskFull { .. } => StatusCode::INSUFFICIENT_STORAGE,
            Self::Duplicate(..) => StatusCode::CONFLICT,
            Self::UnknownJob => StatusCode::NOT_FOUND,
            Self::JobStarted(_) | Self::JobUploaded | Self::JobFinished(_) => StatusCode::CONFLICT,
            Self::BadSchedule(_) => StatusCode::BAD_REQUEST,
        }
    }

    /// The one place an error becomes a response: `ErrorBody` JSON, plus `Allow` on 405 and
    /// `Retry-After` on 429. Detail the caller should not see is logged here instead.
    pub fn into_response(self) -> Response<Body> {
        let status = self.status();
        match &self {
            Self::Unreachable(detail)
            | Self::BadResponse(detail)
            | Self::UploadHostUnreachable(detail) => {
                tracing::warn!(code = %self.code(), %detail, "TikTok call failed");
            }
            Self::Internal(detail) => tracing::error!(%detail, "internal error"),
            Self::SignInRefused(refused) => tracing::warn!(
                error = %refused.error,
                description = %refused.error_description,
                log_id = refused.log_id.as_deref().unwrap_or(""),
                "TikTok's token endpoint refused"
            ),
            Self::Embed(refusal) => {
                tracing::info!(code = refusal.code(), %refusal, "cross-origin call refused");
            }
            Self::Host(refusal) => {
                tracing::warn!(code = refusal.code(), %refusal, "call to a foreign host name refused");
            }
            Self::TikTok(tiktok) => tracing::info!(
                code = %tiktok.api.code,
                log_id = tiktok.api.log_id.as_deref().unwrap_or(""),
                http_status = tiktok.http_status,
                "TikTok refused"
            ),
            Self::PlanRefused(refusal) => {
                tracing::warn!(%refusal, "TikTok refused both chunk plans")
            }
            _ => {}
        }
        let retry_after_secs = match &self {
            Self::TikTok(tiktok) if status == StatusCode::TOO_MANY_REQUESTS => {
                Some(tiktok.retry_after_secs.unwrap_or(DEFAULT_RETRY_AFTER_SECS))
            }
            Self::TooManySignIns(secs) | Self::TooManyInits(secs) => Some(*secs),
            _ => None,
        };
        let allow = match &self {
            Self::MethodNotAllowed(allow) => Some(*allow),
            _ => None,
        };
        let challenge = matches!(self, Self::SignInRequired | Self::TokenInvalid);
        let detail = ErrorDetail {
            code: self.code(),
            message: self.message(),
            log_id: match self {
                Self::TikTok(tiktok) => tiktok.api.log_id,
                Self::SignInRefused(refused) => refused.log_id,
                // The last refusal's; the message names both.
                Self::PlanRefused(refusal) => {
                    let [_, second] = refusal.tried;
                    second.log_id
                }
                _ => None,
            },
            retry_after_secs,
        };
        let mut response = json_response(status, &ErrorBody { error: detail });
        let headers = response.headers_mut();
        if let Some(secs) = retry_after_secs {
            headers.insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        if let Some(allow) = allow {
            headers.insert(ALLOW, HeaderValue::from_static(allow));
        }
        if challenge {
            // RFC 9110: a 401 names the scheme that would do; scripts use API tokens.
            headers.insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"autoposter\""),
            );
        }
        response
    }

    /// What a person reads. TikTok's own text is added only where it says something our
    /// message cannot (an `invalid_param` detail, or a code we do not know).
    pub fn message(&self) -> String {
        match self {
            Self::TikTok(tiktok) => {
                let api = &tiktok.api;
                let ours = api.code.user_message();
                let adds_detail =
                    matches!(api.code, ErrorCode::InvalidParams | ErrorCode::Other(_));
                if adds_detail && !api.message.is_empty() {
                    format!("{ours} TikTok said: {}", api.message)
                } else {
                    ours.to_owned()
                }
            }
            other => other.to_string(),
        }
    }
}

/// The one mapping of a token-endpoint failure (other than a dead refresh token, which is
/// [`Error::ReconnectRequired`]) to the caller's error.
impl From<TokenError> for Error {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Timeout(timeout) => Self::Timeout(timeout),
            TokenError::Unreachable(detail) => Self::Unreachable(detail),
            TokenError::Http { status, detail } => Self::BadResponse(format!(
                "the token endpoint answered HTTP {status}: {detail}"
            )),
            // Still passing trouble after every retry: TikTok's sign-in service is down.
            TokenError::Refused { error, .. }
                if matches!(
                    error.error.as_str(),
                    "temporarily_unavailable" | "server_error"
                ) =>
            {
                Self::Unreachable(format!("the token endpoint kept refusing: {error}"))
            }
            TokenError::Refused { error, .. } => Self::SignInRefused(error),
        }
    }
}

/// What a person reads when the uploads disk is full: what it would have taken, counting the
/// space always kept free beside the videos (`spool::DISK_RESERVE`).
fn disk_full_message(needed: Option<u64>, free: u64) -> String {
    use protocol::media::human_bytes;
    let reserve = human_bytes(crate::spool::DISK_RESERVE);
    let free = human_bytes(free);
    match needed {
        Some(needed) => format!(
            "The server's disk has no room for this video: it needs {} and keeps {reserve} free for the proxy's own files, but only {free} is free. Free some space and send it again.",
            human_bytes(needed)
        ),
        None => format!(
            "The server's disk filled up while the video arrived ({free} free; the proxy keeps {reserve} free for its own files), so it was not kept. Free some space and send it again."
        ),
    }
}

/// A job stage as the API writes it.
fn stage_name(stage: JobStage) -> String {
    serde_json::to_value(stage)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// TikTok's documented status for a code, kept for the caller when it is the caller's to act on
/// (4xx), and 502 when TikTok itself failed (5xx) or sent a code with no usable status.
fn tiktok_status(code: &ErrorCode, upstream: u16) -> StatusCode {
    if code.blocks_posting() {
        // creator_info sends these with HTTP 200 "intentionally": for us they forbid posting.
        return StatusCode::FORBIDDEN;
    }
    let documented = match code {
        ErrorCode::Other(_) => upstream,
        known => known.http_status(),
    };
    match StatusCode::from_u16(documented) {
        Ok(status) if status.is_client_error() => status,
        _ => StatusCode::BAD_GATEWAY,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiktok_statuses() {
        for (code, upstream, expected) in [
            ("spam_risk_too_many_posts", 200, 403),
            ("reached_active_user_cap", 200, 403),
            ("access_token_invalid", 401, 401),
            ("privacy_level_option_mismatch", 403, 403),
            ("rate_limit_exceeded", 429, 429),
            ("invalid_param", 400, 400),
            ("internal_error", 500, 502),
            ("brand_new_client_error", 409, 409),
            ("brand_new_code", 200, 502),
            ("brand_new_code", 503, 502),
        ] {
            assert_eq!(
                tiktok_status(&ErrorCode::parse(code), upstream).as_u16(),
                expected,
                "{code} {upstream}"
            );
        }
    }
}
