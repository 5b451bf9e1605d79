//! Starting a `FILE_UPLOAD` at TikTok: the chunk plan, the init call, and one more try with the
//! other reading of the chunk rule when TikTok refuses the plan itself.
//!
//! TikTok has refused documented multi-chunk plans with `400 invalid_params` "The chunk size is
//! invalid" (DayMoonDevelopment/post-for-me#327), with no word on the rule it applies instead.
//! So the first plan follows the reading TikTok last accepted (the documented one until it
//! refuses it), and on exactly that refusal ([`protocol::chunk::refuses_plan`]) the other
//! reading is tried once. If TikTok refuses both, the caller gets [`Error::PlanRefused`], which
//! names both plans and TikTok's `log_id`s. The reading accepted last is kept in [`Readings`]
//! and written on the `post_created` log line; at start-up the proxy reads it back from the log,
//! so the next upload — after a restart too — starts with it and costs one init call.
//!
//! Every route that starts an upload calls [`start`]; only it asks TikTok for an `upload_url`.

use crate::error::{Error, PlanAttempt, PlanRefusal};
use crate::log::{PostCreated, PostDetails, PostFailed};
use crate::server::App;
use protocol::chunk::{ChunkPlan, PlanReading, refuses_plan};
use protocol::tiktok::{DirectPostInit, InboxInit, InitData, SourceInfo, is_publish_id};
use protocol::wire::{CreatePost, InvalidPost, PostMode};
use std::sync::Mutex;

/// An upload TikTok agreed to: the plan it accepted, and where to send the bytes.
#[derive(Debug, Clone)]
pub struct Started {
    /// The plan init accepted; the chunks must be cut exactly so.
    pub plan: ChunkPlan,
    pub publish_id: String,
    /// TikTok's upload URL, valid for an hour.
    pub upload_url: String,
    /// The account the post was made for, when the proxy knows it.
    pub open_id: Option<String>,
}

/// The reading the next multi-chunk plan starts with: the one TikTok accepted last.
#[derive(Debug)]
pub struct Readings(Mutex<PlanReading>);

impl Readings {
    /// Starting with `reading` (from the log), or the documented one.
    pub fn new(reading: Option<PlanReading>) -> Self {
        Self(Mutex::new(reading.unwrap_or(PlanReading::Documented)))
    }

    /// The reading to try first.
    pub fn current(&self) -> PlanReading {
        *self
            .0
            .lock()
            .expect("nothing panics while holding the reading")
    }

    /// Remembers the reading of a plan TikTok accepted. Whole uploads say nothing about the
    /// chunk rule (both readings agree on them), so they change nothing.
    fn accepted(&self, plan: &ChunkPlan) {
        if plan.total_chunk_count > 1 {
            *self
                .0
                .lock()
                .expect("nothing panics while holding the reading") = plan.reading();
        }
    }
}

/// The `post_created` event of an init TikTok accepted: the post, the plan it took and the
/// account it went to.
pub fn created(post: PostDetails, started: &Started) -> PostCreated {
    PostCreated {
        publish_id: started.publish_id.clone(),
        post,
        chunk_size: Some(started.plan.chunk_size),
        total_chunk_count: Some(started.plan.total_chunk_count),
        chunk_reading: logged_reading(&started.plan),
        open_id: started.open_id.clone(),
        sha256: None,
        job_id: None,
    }
}

/// The `post_failed` event of an init that failed with `error`: TikTok's code and `log_id`
/// when TikTok refused, ours otherwise.
pub fn failed(post: PostDetails, error: &Error) -> PostFailed {
    let mut failed = PostFailed {
        post,
        tiktok_code: None,
        code: None,
        log_id: None,
        message: None,
    };
    match error {
        Error::TikTok(tiktok) => {
            failed.tiktok_code = Some(tiktok.api.code.to_string());
            failed.log_id = tiktok.api.log_id.clone();
        }
        Error::PlanRefused(refusal) => {
            // Both plans and both log_ids are in the message.
            failed.code = Some(error.code());
            failed.log_id = refusal.tried[1].log_id.clone();
            failed.message = Some(refusal.to_string());
        }
        other => failed.code = Some(other.code()),
    }
    failed
}

/// The reading a `post_created` log line records for `plan`: its reading when it is chunked,
/// nothing for a whole upload (which says nothing about the rule).
fn logged_reading(plan: &ChunkPlan) -> Option<PlanReading> {
    (plan.total_chunk_count > 1).then(|| plan.reading())
}

/// Inits `post` (already validated) at TikTok: the plan under the remembered reading first; on
/// TikTok's refusal of that plan, the other reading's plan once. Whichever is accepted becomes
/// the remembered reading. Logging is the caller's: it writes the `post_created` line
/// ([`created`]) or the `post_failed` one ([`failed`]).
///
/// Every init call is counted in `app.init_limit`. `reserved` says the caller already holds a
/// place for the first (a job, which waits for its turn with `InitLimit::reserve`); otherwise
/// (the page's `POST /api/posts`) one is taken here, and with none free the call is refused
/// with [`Error::TooManyInits`] before TikTok is asked.
pub async fn start(app: &App, post: &CreatePost, reserved: bool) -> Result<Started, Error> {
    let first = ChunkPlan::for_reading(post.video_size, app.readings.current())
        .map_err(InvalidPost::from)?;
    if !reserved {
        app.init_limit
            .reserve()
            .map_err(|free_in| Error::TooManyInits(free_in.as_secs_f64().ceil().max(1.0) as u64))?;
    }
    let refused = match init(app, post, first).await {
        Err(Error::TikTok(refused))
            if refuses_plan(refused.http_status, &refused.api.code, &refused.api.message) =>
        {
            refused
        }
        result => return result.inspect(|started| app.readings.accepted(&started.plan)),
    };
    // A whole upload has no other reading: TikTok's refusal stands as it is.
    let Some(second) = first.alternative() else {
        return Err(Error::TikTok(refused));
    };
    tracing::warn!(
        video_size = first.video_size,
        refused_chunk_size = first.chunk_size,
        refused_chunk_count = first.total_chunk_count,
        refused_reading = first.reading().as_str(),
        log_id = refused.api.log_id.as_deref().unwrap_or(""),
        message = %refused.api.message,
        trying_reading = second.reading().as_str(),
        "TikTok refused the chunk plan; trying the other reading once"
    );
    app.init_limit.note();
    match init(app, post, second).await {
        Ok(started) => {
            tracing::info!(
                reading = second.reading().as_str(),
                "TikTok accepted the other reading of the chunk rule; later uploads start with it"
            );
            app.readings.accepted(&started.plan);
            Ok(started)
        }
        Err(Error::TikTok(again))
            if refuses_plan(again.http_status, &again.api.code, &again.api.message) =>
        {
            Err(Error::PlanRefused(Box::new(PlanRefusal {
                tried: [
                    PlanAttempt::new(first, refused),
                    PlanAttempt::new(second, again),
                ],
            })))
        }
        Err(other) => Err(other),
    }
}

/// One init call for the post's mode with `plan`; a `publish_id` we could not poll later, or a
/// missing `upload_url`, is TikTok's answer not making sense.
async fn init(app: &App, post: &CreatePost, plan: ChunkPlan) -> Result<Started, Error> {
    let source_info = SourceInfo::file_upload(&plan);
    let data: InitData = match post.mode {
        PostMode::Direct => {
            let body = DirectPostInit {
                post_info: post
                    .post_info()
                    .expect("validate() refuses a direct post without a privacy level"),
                source_info,
            };
            app.tiktok.init_direct(&body).await?
        }
        PostMode::Inbox => app.tiktok.init_inbox(&InboxInit { source_info }).await?,
    };
    if !is_publish_id(&data.publish_id) {
        return Err(Error::BadResponse(format!(
            "init answered a publish_id of unexpected shape ({} characters)",
            data.publish_id.len()
        )));
    }
    let upload_url = data
        .upload_url
        .ok_or_else(|| Error::BadResponse("init answered without an upload_url".into()))?;
    Ok(Started {
        plan,
        publish_id: data.publish_id,
        upload_url,
        open_id: app.account.open_id().await,
    })
}
