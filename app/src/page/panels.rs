//! The operator's two lists under the posting screen: the proxy's queue of server-side jobs
//! (`GET /api/jobs`, with cancel and reschedule while a job has not started) and the history of
//! posts (`GET /api/posts`, with a re-check of TikTok's status).

use crate::api::{Api, ApiError};
use crate::job::{local_input_to_rfc3339, local_time};
use leptos::prelude::*;
use protocol::wire::{History, HistoryEntry, JobInfo, JobList, JobStage};

/// What the operator asks of a job that has not started, by its `job_id`.
#[derive(Debug, Clone)]
enum JobChange {
    /// `DELETE /api/jobs/{job_id}`.
    Cancel(String),
    /// `PATCH /api/jobs/{job_id}` with a new `publish_at` (RFC 3339).
    Reschedule(String, String),
}

/// A list the proxy answers with, loaded in the browser.
pub(super) type Listing<T> = LocalResource<Result<T, ApiError>>;

/// The queue of server-side jobs: when, caption, stage; cancel and reschedule until it starts.
#[component]
pub(super) fn QueuePanel(
    /// The proxy that runs the jobs.
    api: Api,
    /// `GET /api/jobs`, shared with Post so a scheduled post shows up at once.
    jobs: Listing<JobList>,
) -> impl IntoView {
    // Cancel and reschedule are one action: one pending answer, one error line.
    let change = Action::new_unsync(move |change: &JobChange| {
        let (api, change) = (api.clone(), change.clone());
        async move {
            let done = match change {
                JobChange::Cancel(job_id) => api.cancel_job(&job_id).await,
                JobChange::Reschedule(job_id, at) => api.reschedule_job(&job_id, at).await,
            };
            jobs.refetch();
            done
        }
    });
    let error = move || {
        change
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })
    };
    let row = move |job: JobInfo| {
        let open = matches!(job.stage, JobStage::Queued | JobStage::Waiting);
        let when = job.publish_at.as_deref().unwrap_or(&job.created_at);
        let new_time = RwSignal::new(String::new());
        let id = job.job_id.clone();
        let controls = open.then(|| {
            let (cancel_id, move_id) = (id.clone(), id.clone());
            let input_id = format!("move-{id}");
            view! {
                <button type="button" class="secondary" on:click=move |_| { change.dispatch(JobChange::Cancel(cancel_id.clone())); }>"Cancel"</button>
                <label for=input_id.clone()>"New time"</label>
                <input type="datetime-local" id=input_id step="1" bind:value=new_time/>
                <button
                    type="button"
                    class="secondary"
                    disabled=move || new_time.with(|t| local_input_to_rfc3339(t).is_none())
                    on:click=move |_| {
                        if let Some(at) = local_input_to_rfc3339(&new_time.get_untracked()) {
                            change.dispatch(JobChange::Reschedule(move_id.clone(), at));
                        }
                    }
                >
                    "Reschedule"
                </button>
            }
        });
        view! {
            <li data-testid="job" data-job-id=id data-stage=stage_name(job.stage)>
                <time>{local_time(when)}</time>" · "
                <span>{if job.caption.is_empty() { job.file_name.clone() } else { job.caption.clone() }}</span>" · "
                <strong>{stage_name(job.stage)}</strong>
                {job.message.map(|m| view! { <span class="muted">" — "{m}</span> })}
                {controls}
            </li>
        }
    };
    view! {
        <section class="card" aria-labelledby="queue-title" data-testid="queue">
            <h2 id="queue-title">"Queue"</h2>
            <button type="button" class="secondary" aria-label="Refresh the queue" on:click=move |_| jobs.refetch()>"Refresh"</button>
            {error}
            <Transition>
                {move || jobs.get().map(|answer| match answer {
                    Ok(list) if list.jobs.is_empty() => view! { <p class="muted">"No scheduled posts."</p> }.into_any(),
                    Ok(list) => view! { <ul>{list.jobs.into_iter().map(row).collect_view()}</ul> }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The posts in the proxy's log: status, time, caption, a link once TikTok names the post, and a
/// re-check that asks TikTok's status again.
#[component]
pub(super) fn HistoryPanel(
    /// The proxy that keeps the log.
    api: Api,
    /// The creator's username, for links to their posts, once known.
    #[prop(into)]
    username: Signal<Option<String>>,
) -> impl IntoView {
    let list_api = api.clone();
    let history: Listing<History> = LocalResource::new(move || {
        let api = list_api.clone();
        async move { api.history().await }
    });
    let recheck = Action::new_unsync(move |publish_id: &String| {
        let (api, publish_id) = (api.clone(), publish_id.clone());
        async move {
            let answer = api.post_state(&publish_id).await.map(|_| ());
            history.refetch();
            answer
        }
    });
    let row = move |post: HistoryEntry| {
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
                <button type="button" class="secondary" on:click=move |_| { recheck.dispatch(id.clone()); }>"Re-check"</button>
            </li>
        }
    };
    view! {
        <section class="card" aria-labelledby="history-title" data-testid="history">
            <h2 id="history-title">"History"</h2>
            <button type="button" class="secondary" aria-label="Refresh the history" on:click=move |_| history.refetch()>"Refresh"</button>
            {move || recheck.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{e.to_string()}</p> })}
            <Transition>
                {move || history.get().map(|answer| match answer {
                    Ok(page) if page.posts.is_empty() => view! { <p class="muted">"Nothing posted yet."</p> }.into_any(),
                    Ok(page) => view! { <ul>{page.posts.into_iter().map(row).collect_view()}</ul> }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
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
