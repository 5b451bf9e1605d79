//! `POST /api/upload`: a video and its post's details in one call, posted server-side as a job
//! (`poster.rs`); and `GET /api/jobs`, `GET /api/jobs/{job_id}` to follow jobs.
//!
//! Two body shapes: `multipart/form-data` with a `file` part and the fields below, or the raw
//! video (`Content-Type: video/mp4`, `video/quicktime`, `video/webm`, for `curl
//! --data-binary`) with the fields in the query string. Fields: `mode` (`direct`, the default,
//! or `inbox`), `caption`, `privacy_level`, `disable_duet`, `disable_stitch`,
//! `disable_comment`, `brand_content_toggle`, `brand_organic_toggle`, `is_aigc`,
//! `video_cover_timestamp_ms`, `file_name`, `force`, `publish_at` (an RFC 3339 time or a delay
//! such as `2h`: the job waits until then, `protocol::schedule`); and `wait=true` in the query to
//! answer only once TikTok's final status is in. The post's rules are `CreatePost::validate`'s,
//! checked before the video is received whenever the fields come first.
//!
//! Until a job starts it may be changed (`PATCH /api/jobs/{job_id}`, [`JobPatch`]) or cancelled
//! (`DELETE /api/jobs/{job_id}`); a cancel after the start abandons the upload (see
//! [`cancel`]).

use crate::body::{Body, idle_body, json_response, read_json};
use crate::error::{EarlierPost, Error};
use crate::idle_body::is_stalled;
use crate::jobs::{self, Job, JobState};
use crate::log::{LogEvent, UploadReported};
use crate::operator::Caller;
use crate::poster;
use crate::routes;
use crate::server::App;
use crate::spool::{Spooled, spool};
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};
use protocol::chunk::MAX_VIDEO_SIZE;
use protocol::schedule::resolve_publish_at;
use protocol::wire::{
    CreatePost, InvalidPost, JobList, JobPatch, PostFields, PostMode, UploadEventKind,
};
use protocol::{ContentType, PrivacyLevel};
use std::sync::Arc;

/// What a multipart body may carry beyond the video: boundaries, part headers and the text
/// fields (a 2,200-character caption is under 9 KB).
const MAX_FORM_OVERHEAD: u64 = 1024 * 1024;

/// The largest text field of a multipart body.
const MAX_FIELD: u64 = 64 * 1024;

/// `POST /api/upload`.
pub async fn upload(
    app: &Arc<App>,
    caller: &Caller,
    request: Request<Incoming>,
) -> Result<Response<Body>, Error> {
    let mut form = Form::default();
    let mut wait = false;
    let query = request.uri().query().unwrap_or("").to_owned();
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name == "wait" {
            wait = flag(&name, &value)?;
        } else {
            form.set(&name, &value)?;
        }
    }
    let header = |name| {
        request
            .headers()
            .get(name)
            .and_then(|value: &hyper::header::HeaderValue| value.to_str().ok())
            .map(str::to_owned)
    };
    if wait && form.publish_at.is_some_and(|at| at > jobs::unix_now()) {
        return Err(Error::BadUpload(
            "wait=true would hold the call until publish_at and beyond: leave one of them out, and follow the job at its status_url.".into(),
        ));
    }
    let content_type = header(CONTENT_TYPE).unwrap_or_default();
    let length: Option<u64> = header(CONTENT_LENGTH).and_then(|value| value.parse().ok());
    let id = jobs::new_id();
    let dir = app.uploads_dir.clone();
    let spooled = if let Ok(boundary) = multer::parse_boundary(&content_type) {
        if length.is_some_and(|length| length > MAX_VIDEO_SIZE + MAX_FORM_OVERHEAD) {
            return Err(Error::VideoTooLarge);
        }
        let limits = multer::Constraints::new().size_limit(
            multer::SizeLimit::new()
                .whole_stream(MAX_VIDEO_SIZE + MAX_FORM_OVERHEAD)
                .per_field(MAX_FIELD)
                .for_field("file", MAX_VIDEO_SIZE),
        );
        let mut multipart =
            multer::Multipart::with_constraints(body_stream(request), boundary, limits);
        let mut spooled: Option<Spooled> = None;
        let read = async {
            while let Some(field) = multipart.next_field().await.map_err(multipart_error)? {
                match field.name() {
                    Some("file") if spooled.is_none() => {
                        if form.file_name.is_empty() {
                            form.file_name = field.file_name().unwrap_or_default().to_owned();
                        }
                        // Fields may still follow the file (curl -F sends them in the order
                        // given): refuse only what is already wrong.
                        form.precheck_partial()?;
                        let pieces = field.map(|piece| piece.map_err(multipart_error));
                        spooled = Some(spool(pieces, &dir, &id, None).await?);
                    }
                    Some("file") => {
                        return Err(Error::BadUpload(
                            "Send one \"file\" part, not several.".into(),
                        ));
                    }
                    Some(name) => {
                        let name = name.to_owned();
                        let value = field.text().await.map_err(multipart_error)?;
                        form.set(&name, &value)?;
                    }
                    None => {}
                }
            }
            Ok(())
        };
        if let Err(error) = read.await {
            discard(spooled.as_ref()).await;
            return Err(error);
        }
        spooled.ok_or_else(|| {
            Error::BadUpload(
                "The form has no \"file\" part: send the video as -F file=@video.mp4.".into(),
            )
        })?
    } else if content_type.starts_with("video/") || ContentType::from_mime(&content_type).is_some()
    {
        form.precheck(app).await?;
        spool(body_stream(request), &dir, &id, length).await?
    } else {
        return Err(Error::UnsupportedUpload(content_type));
    };

    let post = form.post(spooled.size, spooled.content_type);
    let checked = match post.validate() {
        Ok(_) => app.account.check_mode(post.mode).await,
        Err(invalid) => Err(invalid.into()),
    };
    let checked = match checked {
        Ok(()) if !form.force => not_sent_before(app, &spooled.sha256).await,
        other => other,
    };
    if let Err(error) = checked {
        discard(Some(&spooled)).await;
        return Err(error);
    }
    let now = jobs::now_rfc3339();
    let job = Job {
        id: id.clone(),
        file: spooled.path.clone(),
        file_name: post.file_name,
        video_size: spooled.size,
        content_type: spooled.content_type,
        sha256: spooled.sha256.clone(),
        mode: post.mode,
        post_info: post.post_info,
        owner: caller.owner(),
        reinits: 0,
        init_failures: 0,
        publish_at: form.publish_at,
        state: JobState::Queued,
        created_at: now.clone(),
        updated_at: now,
    };
    if let Err(earlier) = app.jobs.add(job.clone(), form.force).await {
        discard(Some(&spooled)).await;
        return Err(duplicate_of(&earlier));
    }
    poster::start(app.clone(), job.clone(), false);
    // The 202 carries the publish_id (init is one quick call) unless the job waits for its
    // time or for TikTok's limits; `wait` holds on to the end.
    let until: fn(&Job) -> bool = if wait {
        Job::is_final
    } else {
        |job| {
            job.publish_id().is_some()
                || job.is_final()
                || job.starts_at().is_some_and(|at| at > jobs::unix_now())
                || matches!(job.state, JobState::Waiting { .. })
        }
    };
    let job = tokio::select! {
        waited = app.jobs.wait_for(&id, until) => waited,
        () = app.stopping.cancelled() => app.jobs.get(&id),
    }
    .unwrap_or(job);
    let status = if job.is_final() {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    Ok(json_response(status, &job.info()))
}

/// The duplicate guard: refuses a video on its way in another job, or that the log shows already
/// went to the connected account. In that order: a job's final status is logged before it is
/// saved final, so a job finishing meanwhile is seen by one or the other. (`Jobs::add` asks the
/// first again, for a copy sent at the same time.)
async fn not_sent_before(app: &App, sha256: &str) -> Result<(), Error> {
    if let Some(earlier) = app.jobs.in_flight(sha256) {
        return Err(duplicate_of(&earlier));
    }
    let open_id = app.account.open_id().await;
    match app.log.earlier_post(sha256, open_id.as_deref()).await {
        Ok(None) => Ok(()),
        Ok(Some(earlier)) => Err(Error::Duplicate(Box::new(earlier))),
        Err(error) => Err(Error::Internal(format!(
            "reading the log for the duplicate guard: {error}"
        ))),
    }
}

/// The refusal naming `earlier`, a job still on its way.
fn duplicate_of(earlier: &Job) -> Error {
    Error::Duplicate(Box::new(EarlierPost {
        publish_id: earlier.publish_id().map(str::to_owned),
        at: earlier.created_at.clone(),
        caption: Some(earlier.post_info.title.clone()).filter(|title| !title.is_empty()),
        job_id: Some(earlier.id.clone()),
    }))
}

/// `GET /api/jobs`: every job, newest first.
pub fn jobs(app: &App) -> Response<Body> {
    let jobs = app.jobs.list().iter().map(Job::info).collect();
    json_response(StatusCode::OK, &JobList { jobs })
}

/// `GET /api/jobs/{job_id}`.
pub fn job(app: &App, id: &str) -> Result<Response<Body>, Error> {
    let job = Some(id)
        .filter(|id| jobs::is_job_id(id))
        .and_then(|id| app.jobs.get(id))
        .ok_or(Error::UnknownJob)?;
    Ok(json_response(StatusCode::OK, &job.info()))
}

/// `PATCH /api/jobs/{job_id}`: changes a job that has not started ([`JobPatch`]); 409
/// `job_started` once it has. The post is validated again as a whole.
pub async fn edit(
    app: &App,
    id: &str,
    request: Request<Incoming>,
) -> Result<Response<Body>, Error> {
    let id = known_id(app, id)?;
    let patch: JobPatch = read_json(request).await?;
    let publish_at = patch
        .publish_at
        .as_deref()
        .map(|text| resolve_publish_at(text, jobs::unix_now()))
        .transpose()?;
    let job = app
        .jobs
        .update(id, |job| {
            if !job.is_pending() {
                return Err(Error::JobStarted(job.info().stage));
            }
            let mut post_info = job.post_info.clone();
            patch.apply(&mut post_info);
            let post = CreatePost {
                mode: job.mode,
                video_size: job.video_size,
                content_type: job.content_type.mime().to_owned(),
                file_name: job.file_name.clone(),
                post_info,
            };
            post.validate()?;
            job.post_info = post.post_info;
            if let Some(publish_at) = publish_at {
                job.publish_at = Some(publish_at);
            }
            Ok(())
        })
        .await?;
    Ok(json_response(StatusCode::OK, &job.info()))
}

/// `DELETE /api/jobs/{job_id}`: cancels a job and removes its video from the server; answers
/// its final [`protocol::wire::JobInfo`] (stage `cancelled`).
///
/// A job that has not started is simply dropped, and so is an init on its way. An upload under
/// way is stopped (a last chunk whose body has all gone is let finish first: TikTok may store
/// it whatever is done here, `stop_switch.rs`), and TikTok is asked whether its last chunk got
/// in first (`Cancelling`, which the duplicate guard counts until TikTok answers): TikTok has
/// no cancel for a file upload, but it posts nothing until the last chunk is in, and the upload
/// URL expires within the hour. Once TikTok holds every byte (stage `uploaded`, or found so by
/// that question) the post is TikTok's to publish: the job goes on to TikTok's final word and
/// the cancel is refused (409 `job_uploaded`: delete it in the TikTok app). A final job answers
/// 409 `job_finished`. A proxy that stops while the cancel waits for TikTok answers 202 with the
/// job still cancelling (stage `uploading`, message "Cancelling: …"); the next start asks again.
pub async fn cancel(app: &App, id: &str) -> Result<Response<Body>, Error> {
    let id = known_id(app, id)?;
    let mut stop = true;
    let job = app
        .jobs
        .update(id, |job| match &job.state {
            JobState::Uploaded { .. } => Err(Error::JobUploaded),
            _ if job.is_final() => Err(Error::JobFinished(job.info().stage)),
            // A second DELETE waits for the first one's answer. It stops nothing: the upload is
            // stopped already, and the task that runs now settles the cancel; stopping it could
            // cut it after it found TikTok holding the video and went on as `Uploaded`, leaving
            // that job polled by nobody until the next start.
            JobState::Cancelling { .. } => {
                stop = false;
                Ok(())
            }
            JobState::Uploading { publish_id, .. } => {
                job.state = JobState::Cancelling {
                    publish_id: publish_id.clone(),
                };
                Ok(())
            }
            _ => {
                job.state = JobState::Cancelled {
                    publish_id: job.publish_id().map(str::to_owned),
                    message: None,
                };
                Ok(())
            }
        })
        .await?;
    if stop {
        app.jobs.stop(id);
    }
    if matches!(job.state, JobState::Cancelling { .. }) {
        // The job's task asks TikTok once its upload is dropped (`poster::start`), logs the
        // cancel and removes the video if it stands.
        let settled = tokio::select! {
            settled = app.jobs.wait_for(id, |job| !matches!(job.state, JobState::Cancelling { .. })) => settled,
            () = app.stopping.cancelled() => None,
        }
        .unwrap_or(job);
        return match settled.state {
            JobState::Cancelled { .. } => {
                tracing::info!(job = %settled.id, "job cancelled");
                Ok(json_response(StatusCode::OK, &settled.info()))
            }
            JobState::Cancelling { .. } => Ok(json_response(StatusCode::ACCEPTED, &settled.info())),
            _ => Err(Error::JobUploaded),
        };
    }
    if let Some(publish_id) = job.publish_id() {
        let event = UploadReported::new(
            publish_id,
            job.mode,
            &job.file_name,
            UploadEventKind::Cancelled,
        );
        routes::append(app, LogEvent::Upload(event)).await;
    }
    match tokio::fs::remove_file(&job.file).await {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => tracing::warn!(job = %job.id, %error, "could not remove a cancelled video"),
    }
    tracing::info!(job = %job.id, "job cancelled");
    Ok(json_response(StatusCode::OK, &job.info()))
}

/// A path's job id, if it names a job.
fn known_id<'a>(app: &App, id: &'a str) -> Result<&'a str, Error> {
    Some(id)
        .filter(|id| jobs::is_job_id(id) && app.jobs.get(id).is_some())
        .ok_or(Error::UnknownJob)
}

/// The post's details as the call gave them.
#[derive(Debug, Default)]
struct Form {
    mode: PostMode,
    file_name: String,
    fields: PostFields,
    force: bool,
    /// When the job may start (Unix seconds), if not at once.
    publish_at: Option<u64>,
}

impl Form {
    /// Takes one field; a name this call does not know is refused, so a typo is not silently
    /// a default.
    fn set(&mut self, name: &str, value: &str) -> Result<(), Error> {
        let fields = &mut self.fields;
        match name {
            "mode" => {
                self.mode = match value {
                    "direct" => PostMode::Direct,
                    "inbox" => PostMode::Inbox,
                    _ => return Err(Error::BadUpload("mode must be direct or inbox.".into())),
                }
            }
            "caption" | "title" => fields.title = value.to_owned(),
            "privacy_level" => {
                fields.privacy_level = Some(value)
                    .filter(|value| !value.is_empty())
                    .map(PrivacyLevel::parse);
            }
            "file_name" => self.file_name = value.to_owned(),
            "video_cover_timestamp_ms" => {
                fields.video_cover_timestamp_ms = Some(value.parse().map_err(|_| {
                    Error::BadUpload("video_cover_timestamp_ms must be a whole number.".into())
                })?);
            }
            "disable_duet" => fields.disable_duet = flag(name, value)?,
            "disable_stitch" => fields.disable_stitch = flag(name, value)?,
            "disable_comment" => fields.disable_comment = flag(name, value)?,
            "brand_content_toggle" => fields.brand_content_toggle = flag(name, value)?,
            "brand_organic_toggle" => fields.brand_organic_toggle = flag(name, value)?,
            "is_aigc" => fields.is_aigc = flag(name, value)?,
            "force" => self.force = flag(name, value)?,
            "publish_at" if value.trim().is_empty() => self.publish_at = None,
            "publish_at" => {
                self.publish_at = Some(resolve_publish_at(value, jobs::unix_now())?);
            }
            other => {
                return Err(Error::BadUpload(format!(
                    "{other:?} is not a field of this call; it takes mode, caption, privacy_level, disable_duet, disable_stitch, disable_comment, brand_content_toggle, brand_organic_toggle, is_aigc, video_cover_timestamp_ms, file_name, force and publish_at."
                )));
            }
        }
        Ok(())
    }

    fn post(&self, video_size: u64, content_type: ContentType) -> CreatePost {
        CreatePost {
            mode: self.mode,
            video_size,
            content_type: content_type.mime().to_owned(),
            file_name: self.file_name.clone(),
            post_info: self.fields.clone(),
        }
    }

    /// What can be refused before the video arrives, all fields known: the post's own rules
    /// (with a stand-in size and type) and a mode the granted scopes do not allow.
    async fn precheck(&self, app: &App) -> Result<(), Error> {
        self.post(1, ContentType::Mp4).validate()?;
        app.account.check_mode(self.mode).await
    }

    /// The same with more fields perhaps to come: a missing choice may still arrive, a wrong
    /// one (a caption too long, branded content kept private) is already wrong.
    fn precheck_partial(&self) -> Result<(), Error> {
        match self.post(1, ContentType::Mp4).validate() {
            Ok(_) | Err(InvalidPost::PrivacyMissing) => Ok(()),
            Err(invalid) => Err(invalid.into()),
        }
    }
}

/// A yes/no field: `true`/`false`, `1`/`0`, `on`/`off`, `yes`/`no`; empty is no.
fn flag(name: &str, value: &str) -> Result<bool, Error> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "on" | "yes" => Ok(true),
        "false" | "0" | "off" | "no" | "" => Ok(false),
        _ => Err(Error::BadUpload(format!("{name} must be true or false."))),
    }
}

/// The request body as a stream of pieces, failing when it stalls (`idle_body.rs`).
fn body_stream(request: Request<Incoming>) -> impl Stream<Item = Result<Bytes, Error>> + Unpin {
    idle_body(request).into_data_stream().map(|piece| {
        piece.map_err(|error| match is_stalled(&*error) {
            Some(idle) => Error::BodyTimeout(idle),
            None => Error::BadRequestBody(error.to_string()),
        })
    })
}

/// multer's complaint as ours: limits are the video's size, a failed read keeps its cause.
fn multipart_error(error: multer::Error) -> Error {
    match error {
        multer::Error::FieldSizeExceeded { field_name, .. }
            if field_name.as_deref() != Some("file") =>
        {
            Error::BadUpload(format!(
                "The field {} is longer than {} KiB.",
                field_name.unwrap_or_default(),
                MAX_FIELD / 1024
            ))
        }
        multer::Error::FieldSizeExceeded { .. } | multer::Error::StreamSizeExceeded { .. } => {
            Error::VideoTooLarge
        }
        multer::Error::StreamReadFailed(cause) => match cause.downcast::<Error>() {
            Ok(ours) => *ours,
            Err(other) => Error::BadRequestBody(other.to_string()),
        },
        other => Error::BadUpload(format!("The multipart body cannot be read: {other}.")),
    }
}

/// Removes a spooled video the call was refused after receiving.
async fn discard(spooled: Option<&Spooled>) {
    if let Some(spooled) = spooled
        && let Err(error) = tokio::fs::remove_file(&spooled.path).await
    {
        tracing::warn!(%error, "could not remove a refused video");
    }
}
