//! The operator's two lists under the posting screen: the proxy's queue of server-side jobs
//! (`GET /api/jobs`, with cancel and reschedule while a job has not started) and the history of
//! posts (`GET /api/posts`, with a re-check of TikTok's status). Both load together, so one
//! refresh shows a job and the post it became as they are now; they load again whenever the
//! uploader's `version` moves (a post ended, a post was scheduled) and after every request made
//! from here.

use crate::api::{Api, ApiError};
use crate::job::{local_input_to_rfc3339, local_time};
use leptos::prelude::*;
use protocol::wire::{History, HistoryEntry, JobInfo, JobList, JobStage};

/// The queue and the history, as the proxy last answered.
#[derive(Debug, Clone)]
struct Lists {
    jobs: Result<JobList, ApiError>,
    history: Result<History, ApiError>,
}

impl Lists {
    /// `GET /api/jobs` and `GET /api/posts`, side by side.
    async fn load(api: &Api) -> Self {
        let (jobs, history) = futures::join!(api.jobs(), api.history());
        Self { jobs, history }
    }
}

/// What the operator asks of the proxy from the lists.
#[derive(Debug, Clone)]
enum Request {
    /// `DELETE /api/jobs/{job_id}`.
    Cancel(String),
    /// `PATCH /api/jobs/{job_id}` with a new `publish_at` (RFC 3339).
    Reschedule(String, String),
    /// `GET /api/posts/{publish_id}`: ask TikTok's status again.
    Recheck(String),
}

/// The queue (when, caption, stage; cancel and reschedule until a job starts) and the history
/// (status, time, caption, a link once TikTok names the post, re-check).
#[component]
pub(super) fn Panels(
    /// The proxy that runs the jobs and keeps the log.
    api: Api,
    /// Moves whenever the lists may have changed; the lists load again then. Requests made
    /// from here move it too.
    version: RwSignal<u32>,
    /// The creator's username, for links to their posts, once known.
    #[prop(into)]
    username: Signal<Option<String>>,
) -> impl IntoView {
    let api = StoredValue::new(api);
    let lists = LocalResource::new(move || {
        version.track();
        let api = api.get_value();
        async move { Lists::load(&api).await }
    });
    let changed = move || version.update(|v| *v += 1);
    // One action for every request: one pending answer, one error line, and the lists again.
    let request = Action::new_unsync(move |request: &Request| {
        let (api, request) = (api.get_value(), request.clone());
        async move {
            let done = match request {
                Request::Cancel(job_id) => api.cancel_job(&job_id).await,
                Request::Reschedule(job_id, at) => api.reschedule_job(&job_id, at).await,
                Request::Recheck(publish_id) => api.post_state(&publish_id).await.map(|_| ()),
            };
            changed();
            done
        }
    });
    let job_row = move |job: JobInfo| {
        let open = matches!(job.stage, JobStage::Queued | JobStage::Waiting);
        let when = job.publish_at.as_deref().unwrap_or(&job.created_at);
        let new_time = RwSignal::new(String::new());
        let id = job.job_id.clone();
        let controls = open.then(|| {
            let (cancel_id, move_id) = (id.clone(), id.clone());
            let input_id = format!("move-{id}");
            view! {
                <button type="button" class="secondary" on:click=move |_| { request.dispatch(Request::Cancel(cancel_id.clone())); }>"Cancel"</button>
                <label for=input_id.clone()>"New time"</label>
                <input type="datetime-local" id=input_id step="1" bind:value=new_time/>
                <button
                    type="button"
                    class="secondary"
                    on:click=move |_| {
                        if let Some(at) = local_input_to_rfc3339(&new_time.get_untracked()) {
                            request.dispatch(Request::Reschedule(move_id.clone(), at));
                        }
                    }
                >
                    "Reschedule"
                </button>
            }
        });
        view! {
            <li data-testid="job" data-job-id=id data-stage=stage_name(job.stage)>
                <time datetime=when.to_owned()>{local_time(when)}</time>" · "
                <span>{if job.caption.is_empty() { job.file_name.clone() } else { job.caption.clone() }}</span>" · "
                <strong>{stage_name(job.stage)}</strong>
                {job.message.map(|m| view! { <span class="muted">" — "{m}</span> })}
                {controls}
            </li>
        }
    };
    let post_row = move |post: HistoryEntry| {
        let link = post.post_ids.first().cloned().and_then(|id| {
            let user = username.get()?;
            Some(view! {
                <a href=format!("https://www.tiktok.com/@{user}/video/{id}") target="_blank" rel="noopener">"View on TikTok"</a>
            })
        });
        let id = post.publish_id.clone();
        let caption = post
            .caption
            .filter(|c| !c.is_empty())
            .or(post.file_name)
            .unwrap_or_default();
        let (status, when) = (post.status, local_time(&post.updated_at));
        let shown = status.clone();
        view! {
            <li data-testid="history-entry" data-publish-id=post.publish_id data-status=status>
                <time>{when}</time>" · "
                <span>{caption}</span>" · "
                <strong>{shown}</strong>" "
                {link}
                <button type="button" class="secondary" on:click=move |_| { request.dispatch(Request::Recheck(id.clone())); }>"Re-check"</button>
            </li>
        }
    };
    let failed = |error: ApiError| view! { <p class="error">{error.to_string()}</p> }.into_any();
    view! {
        <section class="card lists" aria-label="Queue and history" data-testid="lists">
            <button type="button" class="secondary" on:click=move |_| changed()>"Refresh"</button>
            {move || request.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <Transition>
                {move || lists.get().map(|Lists { jobs, history }| view! {
                    <h2>"Queue"</h2>
                    {match jobs {
                        Ok(list) if list.jobs.is_empty() => view! { <p class="muted">"No scheduled posts."</p> }.into_any(),
                        Ok(list) => view! { <ul data-testid="queue">{list.jobs.into_iter().map(job_row).collect_view()}</ul> }.into_any(),
                        Err(e) => failed(e),
                    }}
                    <h2>"History"</h2>
                    {match history {
                        Ok(page) if page.posts.is_empty() => view! { <p class="muted">"Nothing posted yet."</p> }.into_any(),
                        Ok(page) => view! { <ul data-testid="history">{page.posts.into_iter().map(post_row).collect_view()}</ul> }.into_any(),
                        Err(e) => failed(e),
                    }}
                })}
            </Transition>
        </section>
    }
}

/// A job's stage as the API names it.
fn stage_name(stage: JobStage) -> &'static str {
    match stage {
        JobStage::Queued => "queued",
        JobStage::Waiting => "waiting",
        JobStage::Initialized => "initialized",
        JobStage::Uploading => "uploading",
        JobStage::Uploaded => "uploaded",
        JobStage::Done => "done",
        JobStage::Failed => "failed",
        JobStage::Cancelled => "cancelled",
    }
}
