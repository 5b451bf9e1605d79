//! The Content Posting endpoints' own rules: creator info, the two inits and status fetch. Each
//! takes the parsed body and returns `data` or the refusal TikTok documents.

use crate::handle::Sim;
use crate::options::{CHUNK_SIZE_INVALID, ChunkRule};
use crate::reply::ApiFailure;
use crate::session::Session;
use crate::state::{MAX_PENDING_INBOX_SHARES, State};
use protocol::ErrorCode;
use protocol::caption::check_caption;
use protocol::chunk::{ChunkPlan, PlanReading};
use protocol::tiktok::{
    CreatorInfo, DirectPostInit, InboxInit, InitData, PostInfo, SourceInfo, StatusRequest,
};
use protocol::wire::PostMode;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::time::Instant;

/// `creator_info/query`: the persona. Any body is ignored.
pub(crate) fn creator_info(sim: &Sim, _body: Option<Value>) -> Result<Value, ApiFailure> {
    let persona = sim.persona();
    let info = CreatorInfo {
        creator_avatar_url: persona.avatar_url,
        creator_username: persona.username,
        creator_nickname: persona.nickname,
        privacy_level_options: persona.privacy_level_options,
        comment_disabled: persona.comment_disabled,
        duet_disabled: persona.duet_disabled,
        stitch_disabled: persona.stitch_disabled,
        max_video_post_duration_sec: persona.max_video_post_duration_sec,
    };
    Ok(to_data(&info))
}

/// `video/init` (Direct Post): the privacy level must be one the creator is offered, the title
/// at most 2200 UTF-16 units, an unaudited app may only post to a private account, and the
/// chunk plan must pass TikTok's check. `PULL_FROM_URL` is refused: the simulator has no
/// verified domains.
pub(crate) fn video_init(sim: &Sim, body: Option<Value>) -> Result<Value, ApiFailure> {
    // TikTok treats a missing privacy_level like a wrong one, so look before parsing.
    let privacy_missing = body
        .as_ref()
        .and_then(|body| body.get("post_info"))
        .is_some_and(|info| info.get("privacy_level").is_none_or(Value::is_null));
    if privacy_missing {
        return Err(ApiFailure::new(
            ErrorCode::PrivacyLevelOptionMismatch,
            "post_info.privacy_level is required and must be one of the creator's privacy_level_options.",
        ));
    }
    let init: DirectPostInit = parse(body)?;
    let persona = sim.persona();
    let privacy = &init.post_info.privacy_level;
    if !persona.privacy_level_options.contains(privacy) {
        let offered: Vec<&str> = persona
            .privacy_level_options
            .iter()
            .map(|level| level.as_str())
            .collect();
        return Err(ApiFailure::new(
            ErrorCode::PrivacyLevelOptionMismatch,
            format!(
                "The privacy_level {privacy} is not one of the creator's privacy_level_options ({}).",
                offered.join(", ")
            ),
        ));
    }
    if let Some(title) = &init.post_info.title {
        check_caption(title).map_err(|e| ApiFailure::invalid_param(e.to_string()))?;
    }
    if !persona.audited && !persona.private_account {
        return Err(ApiFailure::new(
            ErrorCode::UnauditedClientCanOnlyPostToPrivateAccounts,
            "Unaudited clients can only post to private accounts.",
        ));
    }
    let plan = file_plan(sim, &init.source_info)?;
    open(sim, PostMode::Direct, plan, Some(init.post_info), |state| {
        let Some(cap) = persona.daily_post_cap else {
            return Ok(());
        };
        let posted = state.direct_posts_today(Instant::now());
        if posted >= cap as usize {
            return Err(ApiFailure::new(
                ErrorCode::SpamRiskTooManyPosts,
                format!("The user has made {posted} posts in the last 24 hours; the cap is {cap}."),
            ));
        }
        Ok(())
    })
}

/// `inbox/video/init`: only `source_info` counts (a `post_info` is accepted and ignored), and
/// at most 5 shares may be pending (see [`crate::state::State::pending_inbox_shares`]).
pub(crate) fn inbox_init(sim: &Sim, body: Option<Value>) -> Result<Value, ApiFailure> {
    let init: InboxInit = parse(body)?;
    let plan = file_plan(sim, &init.source_info)?;
    open(sim, PostMode::Inbox, plan, None, |state| {
        let pending = state.pending_inbox_shares(Instant::now());
        if pending >= MAX_PENDING_INBOX_SHARES {
            return Err(ApiFailure::new(
                ErrorCode::SpamRiskTooManyPendingShare,
                format!(
                    "The user has {pending} pending shares; at most {MAX_PENDING_INBOX_SHARES} are allowed in 24 hours."
                ),
            ));
        }
        Ok(())
    })
}

/// `status/fetch`: the status of a known `publish_id`.
pub(crate) fn status_fetch(sim: &Sim, body: Option<Value>) -> Result<Value, ApiFailure> {
    let request: StatusRequest = parse(body)?;
    let delay = sim.shared().processing_delay;
    let state = sim.state();
    let session = state.session(&request.publish_id).ok_or_else(|| {
        ApiFailure::new(
            ErrorCode::InvalidPublishId,
            format!("The publish_id {:?} does not exist.", request.publish_id),
        )
    })?;
    Ok(session.status(Instant::now(), delay))
}

/// The plan of a `FILE_UPLOAD`, checked exactly as TikTok checks it, under the simulator's
/// [`ChunkRule`].
fn file_plan(sim: &Sim, source: &SourceInfo) -> Result<ChunkPlan, ApiFailure> {
    match source {
        SourceInfo::FileUpload {
            video_size,
            chunk_size,
            total_chunk_count,
        } => {
            let (size, chunk, count) = (*video_size, *chunk_size, *total_chunk_count);
            let documented = ChunkPlan::validate(size, chunk, count);
            let smaller_last =
                ChunkPlan::validate_as(PlanReading::SmallerLastChunk, size, chunk, count);
            let plan = match sim.state().chunk_rule {
                ChunkRule::Documented => documented,
                // A documented plan whose last chunk absorbed a remainder is what was refused.
                ChunkRule::SmallerLastChunk if smaller_last.is_err() && documented.is_ok() => {
                    return Err(chunk_size_invalid());
                }
                ChunkRule::SmallerLastChunk => smaller_last,
                // Any plan that would pass under either reading, unless it is a whole upload.
                ChunkRule::WholeOnly => match (documented, smaller_last) {
                    (Ok(plan), _) | (_, Ok(plan)) if plan.total_chunk_count == 1 => Ok(plan),
                    (Ok(_), _) | (_, Ok(_)) => return Err(chunk_size_invalid()),
                    (Err(error), Err(_)) => Err(error),
                },
            };
            plan.map_err(|error| ApiFailure::invalid_param(error.to_string()))
        }
        SourceInfo::PullFromUrl { video_url } => Err(ApiFailure::new(
            ErrorCode::UrlOwnershipUnverified,
            format!(
                "The domain or URL prefix of {video_url:?} is not verified for this app (the simulator verifies none)."
            ),
        )),
    }
}

/// The refusal of the field report: HTTP 400, `invalid_params` spelled as reported (TikTok's
/// generic spelling; the posting pages say `invalid_param`), [`CHUNK_SIZE_INVALID`].
fn chunk_size_invalid() -> ApiFailure {
    ApiFailure {
        status: 400,
        code: ErrorCode::Other("invalid_params".to_owned()),
        message: CHUNK_SIZE_INVALID.to_owned(),
    }
}

/// Starts an upload session and returns init's `data`, unless `allowed` (run under the same
/// lock that adds the session, so concurrent inits cannot both squeeze under a cap) refuses.
fn open(
    sim: &Sim,
    mode: PostMode,
    plan: ChunkPlan,
    post_info: Option<PostInfo>,
    allowed: impl FnOnce(&State) -> Result<(), ApiFailure>,
) -> Result<Value, ApiFailure> {
    let shared = sim.shared();
    let session = Session::open(
        mode,
        plan,
        post_info,
        &shared.base_url,
        Instant::now(),
        shared.upload_url_ttl,
    );
    let data = InitData {
        publish_id: session.record.publish_id.clone(),
        upload_url: Some(session.record.upload_url.clone()),
    };
    let mut state = sim.state();
    allowed(&state)?;
    tracing::info!(publish_id = %data.publish_id, ?mode, ?plan, "upload opened");
    state.sessions.push(session);
    Ok(to_data(&data))
}

/// Reads a required body into TikTok's request type; the message names what is wrong.
fn parse<T: DeserializeOwned>(body: Option<Value>) -> Result<T, ApiFailure> {
    let body = body.ok_or_else(|| ApiFailure::invalid_param("The request body is empty."))?;
    serde_json::from_value(body)
        .map_err(|e| ApiFailure::invalid_param(format!("The request body is invalid: {e}.")))
}

fn to_data<T: serde::Serialize>(data: &T) -> Value {
    serde_json::to_value(data).expect("TikTok's response types serialize to JSON objects")
}
