//! The server-side poster: runs one job from its record to TikTok's final word with the same
//! rules the page follows — the init path of `POST /api/posts` (`routes::init`), the chunks of
//! `protocol::chunk` PUT in order from the spooled file, each failure decided by
//! `protocol::retry::should_retry` (retry, resync from TikTok's record, one fresh init when the
//! upload URL died), then `status/fetch` through the same cache and log as the page's polls.
//!
//! Every change of stage is saved (`jobs.rs`) before the next step — the init's `publish_id`
//! and upload URL before the first PUT — so a restart continues from the record: within the
//! upload URL's hour it asks TikTok how much it holds and never inits again; after it, a fresh
//! init replaces the dead URL. Progress within the upload is TikTok's to tell a restart, so it
//! is kept in memory after each chunk and written to disk at most once per
//! [`PROGRESS_SAVE_INTERVAL`]: a save costs two `fsync`s, as long as a 10 MiB PUT on loopback.
//! Bytes stream from disk: one chunk is never read into memory whole.

use crate::init;
use crate::jobs::{Job, JobState, unix_now};
use crate::log::{LogEvent, PostDetails, UploadReported};
use crate::posts::PostRecord;
use crate::routes;
use crate::server::App;
use crate::stop_switch::StopSwitch;
use crate::upstream_stall::Progress;
use futures_util::StreamExt;
use http_body_util::StreamBody;
use hyper::body::Frame;
use hyper::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE};
use protocol::chunk::{ChunkRange, ContentRange};
use protocol::limits::{Limit, UPLOAD_URL_LIFETIME_SECS};
use protocol::retry::{
    ChunkFailure, DEFAULT_RETRY_DELAYS_MS, Decision, resume_offset_from_uploaded, should_retry,
    with_jitter,
};
use protocol::wire::{CreatePost, PostState, UploadEventKind, cancel_came_too_late};
use protocol::{ChunkPlan, PublishStatus};
use std::io::SeekFrom;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::time::Instant;
use tokio_util::io::ReaderStream;

/// An upload URL this close to its hour's end is treated as dead: a chunk started now might
/// not finish in time, and a fresh init is cheaper than a failure at the last chunk.
const UPLOAD_URL_MARGIN_SECS: u64 = 120;

/// The longest an upload's progress goes unwritten to its job record (it is in memory after
/// every chunk). A restart resyncs from TikTok's status whatever the record says, so this only
/// keeps the record from lagging far behind on a slow uplink, where a chunk takes seconds.
const PROGRESS_SAVE_INTERVAL: Duration = Duration::from_secs(1);

/// How many fresh inits one job may make after its upload URL died, as the page allows.
const MAX_REINITS: u32 = 1;

/// How many status polls in a row may fail before the job gives up on TikTok's answer.
const MAX_POLL_ERRORS: u32 = 10;

/// The longest a scheduled job sleeps before it reads the wall clock again.
const WALL_CLOCK_RECHECK: Duration = Duration::from_secs(60);

/// How much of the file is read per piece sent: big enough for few system calls, small enough
/// that memory does not notice.
const READ_BUFFER: usize = 256 * 1024;

/// Runs `job` in a task of its own (work that outlives the request that brought it), until
/// it is final, cancelled (`Jobs::stop`) or the proxy stops. `recovering`: the record was read
/// at start-up, so TikTok's own record decides where the upload continues.
///
/// A cancel of an upload under way (`Cancelling`) is settled by this same task once its upload
/// is dropped, so nothing more is sent while TikTok is asked, and one task at a time runs a
/// job. A PUT cut off mid-body is discarded by TikTok; the last chunk's PUT, once its body has
/// all gone, is let finish before the upload is dropped (`stop_switch.rs`), so TikTok's answer
/// to it counts too.
pub fn start(app: Arc<App>, job: Job, recovering: bool) {
    let id = job.id.clone();
    let switch = app.jobs.track(&id, &app.stopping);
    tokio::spawn(async move {
        tokio::select! {
            () = run(&app, job, recovering, &switch) => {}
            // The record on disk says where it was: the next start continues from there, and a
            // cancel already wrote its own state.
            () = switch.cut() => {}
        }
        app.jobs.untrack(&id);
        if let Some(job) = app.jobs.get(&id)
            && matches!(job.state, JobState::Cancelling { .. })
        {
            tokio::select! {
                () = run(&app, job, false, &switch) => {}
                // A restart asks TikTok again.
                () = app.stopping.cancelled() => {}
            }
        }
    });
}

/// `switch`: the task's own, which the upload's PUTs report to.
async fn run(app: &App, mut job: Job, mut recovering: bool, switch: &StopSwitch) {
    loop {
        let next = match job.state.clone() {
            JobState::Queued | JobState::Waiting { .. } => match begin(app, &job.id).await {
                Some(started) => {
                    job = started;
                    continue;
                }
                // Cancelled while it waited.
                None => return,
            },
            JobState::Initializing => {
                if recovering {
                    tracing::warn!(job = %job.id, "the proxy stopped while this job's init was on its way: TikTok cannot be asked whether it arrived, so it inits again (an init that did arrive holds no bytes and expires within the hour)");
                }
                initialize(app, &mut job).await
            }
            JobState::Uploading { .. } => upload(app, &mut job, recovering, switch).await,
            JobState::Uploaded { publish_id } => settle(app, &publish_id).await,
            JobState::Cancelling { publish_id } => {
                let settled =
                    settle_cancel(app, &job, &publish_id, switch.last_chunk_taken()).await;
                if matches!(settled, JobState::Cancelled { .. }) {
                    // Logged before the record says so, as a final status is.
                    log_upload(
                        app,
                        &job,
                        &publish_id,
                        UploadEventKind::Cancelled,
                        None,
                        None,
                        None,
                    )
                    .await;
                }
                job.state = settled;
                // Only a cancel's end may overwrite it (`Jobs::save` would not).
                if !app.jobs.settle_cancel(&mut job).await {
                    return;
                }
                continue;
            }
            JobState::Done { .. } | JobState::Failed { .. } | JobState::Cancelled { .. } => break,
        };
        recovering = false;
        // An upload that stopped is told to the log as the page tells it; a post TikTok
        // itself failed is already there as its status.
        if let (
            JobState::Uploading { .. },
            JobState::Failed {
                publish_id: Some(publish_id),
                message,
            },
        ) = (&job.state, &next)
        {
            log_upload(
                app,
                &job,
                publish_id,
                UploadEventKind::Failed,
                None,
                None,
                Some(message),
            )
            .await;
            tracing::warn!(job = %job.id, %publish_id, %message, "job failed");
        }
        job.state = next;
        if !app.jobs.save(&mut job).await {
            // Cancelled meanwhile: the cancel has the last word.
            return;
        }
    }
    let remove = match job.state {
        JobState::Done { .. } | JobState::Cancelled { .. } => true,
        JobState::Failed { .. } => !app.keep_failed,
        _ => false,
    };
    if remove && let Err(error) = tokio::fs::remove_file(&job.file).await {
        tracing::warn!(job = %job.id, %error, "could not remove a finished job's video");
    }
}

/// Waits until pending job `id` may start — its `publish_at`, a waiting job's `until`, and a
/// free place in our count of TikTok's init limit — re-reading the record after every change
/// (a `PATCH` may move the time), then marks it started (`Initializing`) in the same write
/// that a `PATCH` or `DELETE` would need. `None` when it was cancelled (or vanished).
async fn begin(app: &App, id: &str) -> Option<Job> {
    let mut changed = app.jobs.subscribe();
    loop {
        changed.borrow_and_update();
        let job = app.jobs.get(id)?;
        let starts_at = job.starts_at()?;
        let now = unix_now();
        if starts_at <= now {
            match app.init_limit.reserve() {
                Ok(()) => {
                    let claimed = app
                        .jobs
                        .update(id, |job| {
                            if !job.is_pending() {
                                return Err(crate::error::Error::UnknownJob);
                            }
                            job.state = JobState::Initializing;
                            Ok(())
                        })
                        .await;
                    match claimed {
                        Ok(job) => return Some(job),
                        // Cancelled (or started elsewhere) in between: look again.
                        Err(_) => continue,
                    }
                }
                Err(free_in) => {
                    let until = now + free_in.as_secs_f64().ceil() as u64;
                    let message = protocol::limits::Limit::RateLimited.reason().to_owned();
                    let _ = app
                        .jobs
                        .update(id, |job| {
                            if job.is_pending() {
                                job.state = JobState::Waiting { until, message };
                            }
                            Ok(())
                        })
                        .await;
                    continue;
                }
            }
        }
        // The wall clock decides, and it can jump (a suspended laptop, NTP) while a monotonic
        // timer sleeps: look again at least every minute.
        let wait = Duration::from_secs(starts_at - now).min(WALL_CLOCK_RECHECK);
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            changed = changed.changed() => changed.ok()?,
        }
    }
}

/// The post as `POST /api/posts` would have described it, so the same validation and init
/// apply.
fn create_post(job: &Job) -> CreatePost {
    CreatePost {
        mode: job.mode,
        video_size: job.video_size,
        content_type: job.content_type.mime().to_owned(),
        file_name: job.file_name.clone(),
        post_info: job.post_info.clone(),
    }
}

/// Init at TikTok (direct or inbox), logged as the page's posts are. A refusal that passes
/// with time (`protocol::limits`) makes the job wait, unlogged: it is not a failure.
async fn initialize(app: &App, job: &mut Job) -> JobState {
    let post = create_post(job);
    if let Err(invalid) = post.validate() {
        return failed(None, invalid.to_string());
    }
    if let Err(error) = app.account.check_mode(job.mode).await {
        return failed(None, error.message());
    }
    let details = PostDetails::of(&post, job.owner.clone());
    // The same init as the page's posts, with its fallback to the other chunk-rule reading.
    match init::start(app, &post, true).await {
        Ok(started) => {
            let mut created = init::created(details, &started);
            created.sha256 = Some(job.sha256.clone());
            created.job_id = Some(job.id.clone());
            routes::append(app, LogEvent::PostCreated(created)).await;
            let init::Started {
                plan,
                publish_id,
                upload_url,
                ..
            } = started;
            remember(app, job, &publish_id, &upload_url, plan);
            JobState::Uploading {
                publish_id,
                upload_url,
                plan,
                at: unix_now(),
                confirmed: 0,
            }
        }
        Err(crate::error::Error::TikTok(refused))
            if let Some(limit) = Limit::of(&refused.api.code) =>
        {
            let wait = match (limit, refused.retry_after_secs) {
                (Limit::RateLimited, Some(secs)) => Duration::from_secs(secs),
                (Limit::RateLimited, None) => app.rate_limit_wait,
                _ => app.cap_wait,
            };
            let until = unix_now() + wait.as_secs_f64().ceil().max(1.0) as u64;
            tracing::info!(job = %job.id, code = %refused.api.code, log_id = refused.api.log_id.as_deref().unwrap_or(""), until, "TikTok said not now: the job waits");
            JobState::Waiting {
                until,
                message: limit.reason().to_owned(),
            }
        }
        Err(error)
            if on_the_way(&error) && (job.init_failures as usize) < app.init_retry_delays.len() =>
        {
            let wait = app.init_retry_delays[job.init_failures as usize];
            job.init_failures += 1;
            let until = unix_now() + wait.as_secs_f64().ceil().max(1.0) as u64;
            tracing::warn!(job = %job.id, code = %error.code(), attempt = job.init_failures, until, "init failed on the way: the job tries again");
            JobState::Waiting {
                until,
                message: format!("{} The job tries again.", error.message()),
            }
        }
        Err(error) => {
            routes::append(app, LogEvent::PostFailed(init::failed(details, &error))).await;
            failed(None, error.message())
        }
    }
}

/// Whether an init failed on the way rather than being refused: TikTok unreachable, silent,
/// unreadable, or failing itself (5xx). The same call may work a little later. (A silent
/// TikTok may have made the init: trying again then costs one unused init, as a crash does.)
fn on_the_way(error: &crate::error::Error) -> bool {
    use crate::error::Error;
    match error {
        Error::Timeout(_) | Error::Unreachable(_) | Error::BadResponse(_) => true,
        Error::TikTok(refused) => refused.http_status >= 500 || refused.api.code.is_retryable(),
        _ => false,
    }
}

/// Makes the post known to `GET /api/posts/{publish_id}` (and the log's mode and file name).
fn remember(app: &App, job: &Job, publish_id: &str, upload_url: &str, plan: ChunkPlan) {
    app.posts.insert(
        publish_id.to_owned(),
        PostRecord {
            upload_url: upload_url.to_owned(),
            plan,
            mode: job.mode,
            content_type: job.content_type,
            file_name: job.file_name.clone(),
            owner: job.owner.clone(),
        },
    );
}

/// PUTs the chunks TikTok does not hold yet, noting each confirmation (on disk at most once per
/// [`PROGRESS_SAVE_INTERVAL`]).
async fn upload(app: &App, job: &mut Job, recovering: bool, switch: &StopSwitch) -> JobState {
    let JobState::Uploading {
        publish_id,
        upload_url,
        plan,
        at,
        confirmed,
    } = job.state.clone()
    else {
        unreachable!("upload runs only for an uploading job");
    };
    if unix_now().saturating_sub(at) >= UPLOAD_URL_LIFETIME_SECS - UPLOAD_URL_MARGIN_SECS {
        return reinit(app, job, &publish_id, None).await;
    }
    let mut offset = confirmed;
    if recovering {
        remember(app, job, &publish_id, &upload_url, plan);
        // Chunks may have gone up after the record was saved: TikTok's record decides.
        match routes::poll(app, &publish_id).await {
            Ok(state) if state.status != PublishStatus::ProcessingUpload => {
                return JobState::Uploaded { publish_id };
            }
            Ok(state) => match state
                .uploaded_bytes
                .map(|held| resume_offset_from_uploaded(&plan, held))
            {
                Some(Some(held)) => offset = held,
                Some(None) => return reinit(app, job, &publish_id, None).await,
                // No figure: our record stands, and a 416 would correct it.
                None => {}
            },
            Err(error) => {
                tracing::warn!(job = %job.id, code = %error.code(), "no status to resync from; continuing from the record");
            }
        }
    }
    let mut attempt = 0;
    // The `Uploading` state is on disk as this step starts.
    let mut saved_at = Instant::now();
    while offset < plan.video_size {
        let chunk = plan
            .chunk_starting_at(offset)
            .expect("the offset is always a chunk start: ours, or checked by protocol::retry");
        let failure = match put_chunk(app, job, &upload_url, chunk, switch).await {
            Ok(()) => {
                offset = chunk.end;
                attempt = 0;
                job.state = JobState::Uploading {
                    publish_id: publish_id.clone(),
                    upload_url: upload_url.clone(),
                    plan,
                    at,
                    confirmed: offset,
                };
                let kept = if saved_at.elapsed() >= PROGRESS_SAVE_INTERVAL {
                    saved_at = Instant::now();
                    app.jobs.save(job).await
                } else {
                    app.jobs.note(job).await
                };
                if !kept {
                    // Cancelled: stop sending (the task is being stopped too).
                    return job.state.clone();
                }
                continue;
            }
            Err(PutError::File(detail)) => {
                return failed(
                    Some(publish_id),
                    format!("The video's file on the server could not be read: {detail}"),
                );
            }
            Err(PutError::Failed(failure)) => failure,
        };
        attempt += 1;
        let http_status = match failure {
            ChunkFailure::Status { status, .. } => Some(status),
            ChunkFailure::Network => None,
        };
        // Where TikTok says the upload stands, when it said so.
        let resync = match should_retry(&failure, attempt, &DEFAULT_RETRY_DELAYS_MS, &plan) {
            Decision::RetryAfter { delay_ms } => {
                log_upload(
                    app,
                    job,
                    &publish_id,
                    UploadEventKind::Retried,
                    Some(chunk.index),
                    http_status,
                    None,
                )
                .await;
                let delay = with_jitter(delay_ms, rand::random());
                tokio::time::sleep(Duration::from_millis(delay.into())).await;
                None
            }
            Decision::ResumeFrom { offset: held } => Some(held),
            Decision::AskStatus => {
                let held = routes::poll(app, &publish_id)
                    .await
                    .ok()
                    .and_then(|state| state.uploaded_bytes)
                    .and_then(|held| resume_offset_from_uploaded(&plan, held));
                if held.is_none() {
                    return reinit(app, job, &publish_id, http_status).await;
                }
                held
            }
            Decision::Reinit => return reinit(app, job, &publish_id, http_status).await,
            Decision::Stop => {
                let message = match http_status {
                    Some(status) => format!(
                        "TikTok's upload server refused chunk {} of {} (HTTP {status}).",
                        chunk.index + 1,
                        plan.total_chunk_count
                    ),
                    None => format!(
                        "TikTok's upload server could not be reached for chunk {} of {} after {} tries.",
                        chunk.index + 1,
                        plan.total_chunk_count,
                        attempt
                    ),
                };
                return failed(Some(publish_id), message);
            }
        };
        if let Some(held) = resync {
            log_upload(
                app,
                job,
                &publish_id,
                UploadEventKind::Resynced,
                Some(chunk.index),
                http_status,
                None,
            )
            .await;
            offset = held;
        }
    }
    JobState::Uploaded { publish_id }
}

/// The upload URL died (or its hour is nearly over): a fresh init, once per job.
async fn reinit(app: &App, job: &mut Job, publish_id: &str, http_status: Option<u16>) -> JobState {
    if job.reinits >= MAX_REINITS {
        return failed(
            Some(publish_id.to_owned()),
            "TikTok's upload address expired again after a fresh start. Post the video again."
                .to_owned(),
        );
    }
    job.reinits += 1;
    log_upload(
        app,
        job,
        publish_id,
        UploadEventKind::Reinitialized,
        None,
        http_status,
        None,
    )
    .await;
    JobState::Queued
}

/// Polls `status/fetch` until TikTok's final word.
async fn settle(app: &App, publish_id: &str) -> JobState {
    match poll_until(app, publish_id, |state| state.status.is_final()).await {
        Ok(state) if state.status == PublishStatus::Failed => {
            let message = state.fail_reason.as_ref().map_or_else(
                || PublishStatus::Failed.user_message().to_owned(),
                |reason| reason.user_message().to_owned(),
            );
            failed(Some(publish_id.to_owned()), message)
        }
        Ok(state) => JobState::Done {
            publish_id: publish_id.to_owned(),
            status: state.status.to_string(),
            post_ids: state.post_ids,
        },
        Err(error) => failed(
            Some(publish_id.to_owned()),
            format!(
                "TikTok has the video, but its status could not be read: {}",
                error.message()
            ),
        ),
    }
}

/// How a cancel of an upload under way ends, once the upload is stopped: whether TikTok took
/// the last chunk's PUT (`last_chunk_taken`, one the cancel let finish) and TikTok's status say
/// whether it came too late ([`cancel_came_too_late`]). If it did, TikTok will publish the
/// video whatever is done here, so the job goes on as `Uploaded` (and is polled to its end,
/// logged as every post); if not, or if TikTok already failed it, the cancel stands. A status
/// that cannot be read is asked again, as [`settle`] does; then the PUT's answer alone decides,
/// and a cancel that stands says what is not known.
async fn settle_cancel(app: &App, job: &Job, publish_id: &str, last_chunk_taken: bool) -> JobState {
    let publish_id = publish_id.to_owned();
    let asked = poll_until(app, &publish_id, |_| true).await;
    if cancel_came_too_late(last_chunk_taken, asked.as_ref().ok(), job.video_size) {
        tracing::warn!(job = %job.id, %publish_id, "cancelled too late: TikTok already had the whole video");
        return JobState::Uploaded { publish_id };
    }
    JobState::Cancelled {
        publish_id: Some(publish_id),
        message: asked.err().map(|error| {
            format!(
                "The upload was stopped, but TikTok could not be asked whether it already had the whole video ({}). If it had, it will publish it: look in the TikTok app.",
                error.message()
            )
        }),
    }
}

/// Polls `status/fetch` every `job_poll_interval` until a state satisfies `done`. TikTok's 30
/// status calls a minute are a pause, not a failure; [`MAX_POLL_ERRORS`] failures in a row give
/// up with the last one.
async fn poll_until(
    app: &App,
    publish_id: &str,
    done: impl Fn(&PostState) -> bool,
) -> Result<PostState, crate::error::Error> {
    let mut errors = 0;
    loop {
        match routes::poll(app, publish_id).await {
            Ok(state) if done(&state) => return Ok(state),
            Ok(_) => errors = 0,
            Err(crate::error::Error::TikTok(refused))
                if Limit::of(&refused.api.code) == Some(Limit::RateLimited) =>
            {
                let wait = refused
                    .retry_after_secs
                    .map_or(app.rate_limit_wait, Duration::from_secs);
                tracing::info!(%publish_id, ?wait, "status polls rate-limited: waiting");
                tokio::time::sleep(wait).await;
                continue;
            }
            Err(error) => {
                errors += 1;
                tracing::warn!(%publish_id, code = %error.code(), errors, "status poll failed");
                if errors >= MAX_POLL_ERRORS {
                    return Err(error);
                }
            }
        }
        tokio::time::sleep(app.job_poll_interval).await;
    }
}

fn failed(publish_id: Option<String>, message: String) -> JobState {
    JobState::Failed {
        publish_id,
        message,
    }
}

/// An upload event in the log, as the page reports its own.
async fn log_upload(
    app: &App,
    job: &Job,
    publish_id: &str,
    kind: UploadEventKind,
    chunk: Option<u64>,
    http_status: Option<u16>,
    message: Option<&str>,
) {
    let mut event = UploadReported::new(publish_id, job.mode, &job.file_name, kind);
    event.chunk = chunk;
    event.http_status = http_status;
    event.message = message.map(str::to_owned);
    routes::append(app, LogEvent::Upload(event)).await;
}

/// Why one chunk's PUT did not go through.
enum PutError {
    /// The spooled file could not be read: no retry helps.
    File(String),
    /// TikTok's answer, or none: `should_retry` decides.
    Failed(ChunkFailure),
}

/// PUTs one chunk from the file: `Content-Type`, `Content-Range`, `Content-Length`, the bytes
/// read from disk as they are sent (through `switch`, which a cancel stops), and a stall timeout
/// (not a total) on the upload host.
async fn put_chunk(
    app: &App,
    job: &Job,
    upload_url: &str,
    chunk: ChunkRange,
    switch: &StopSwitch,
) -> Result<(), PutError> {
    let answer = send_chunk(app, job, upload_url, chunk, switch).await;
    if chunk.is_last {
        switch.last_chunk_ended(answer.is_ok());
    }
    answer
}

async fn send_chunk(
    app: &App,
    job: &Job,
    upload_url: &str,
    chunk: ChunkRange,
    switch: &StopSwitch,
) -> Result<(), PutError> {
    let file_error = |error: std::io::Error| PutError::File(error.to_string());
    let mut file = tokio::fs::File::open(&job.file).await.map_err(file_error)?;
    file.seek(SeekFrom::Start(chunk.start))
        .await
        .map_err(file_error)?;
    let pieces = ReaderStream::with_capacity(file.take(chunk.len()), READ_BUFFER);
    let pieces = switch
        .body(pieces, chunk)
        .map(|piece| piece.map(Frame::data));
    // The clock runs only while the upload host has the turn (`upstream_stall.rs`).
    let progress = Progress::new();
    let send = app
        .uploads
        .put(upload_url)
        .header(CONTENT_TYPE.as_str(), job.content_type.mime())
        .header(CONTENT_RANGE.as_str(), chunk.content_range())
        .header(CONTENT_LENGTH.as_str(), chunk.len())
        .body(reqwest::Body::wrap(progress.track(StreamBody::new(pieces))))
        .send();
    let answer = tokio::select! {
        answer = send => answer,
        () = progress.stalled(app.upstream_timeout) => {
            return Err(PutError::Failed(ChunkFailure::Network));
        }
    };
    let answer = match answer {
        Ok(answer) => answer,
        Err(error) => {
            tracing::info!(error = %error.without_url(), chunk = chunk.index, "chunk PUT failed");
            return Err(PutError::Failed(ChunkFailure::Network));
        }
    };
    let status = answer.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let reported = answer
        .headers()
        .get(CONTENT_RANGE.as_str())
        .and_then(|value| value.to_str().ok())
        .and_then(ContentRange::parse);
    Err(PutError::Failed(ChunkFailure::Status { status, reported }))
}
