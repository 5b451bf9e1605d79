//! The upload and its outcome: progress with pause/resume/cancel, and the status line.

use crate::engine::Control;
use crate::post::{Phase, Upload};
use leptos::prelude::*;
use protocol::screen::{UNAUDITED_STEPS, needs_unaudited_steps};
use protocol::status::PublishStatus;
use protocol::wire::{Creator, PostState};

/// The progress bar with pause/resume/cancel, and the status line (an `aria-live` region with
/// TikTok's raw status in `data-status`).
#[component]
pub(super) fn Outcome(
    /// Where the post is.
    phase: RwSignal<Phase>,
    /// The creator, whose username the post link needs.
    #[prop(into)]
    creator: Signal<Option<Creator>>,
    /// Pause and cancel for the upload under way.
    control: RwSignal<Control, LocalStorage>,
) -> impl IntoView {
    let upload = move || match phase.get() {
        Phase::Uploading(upload) => Some(upload),
        _ => None,
    };
    let post_link = move || {
        let Phase::Done(state) = phase.get() else {
            return None;
        };
        let id = state.post_ids.first()?.clone();
        let username = creator.with(|c| c.as_ref().map(|c| c.username.clone()))?;
        Some(view! {
            <a data-testid="post-link" href=format!("https://www.tiktok.com/@{username}/video/{id}") target="_blank" rel="noopener">
                "View the post on TikTok"
            </a>
        })
    };
    let toggle_pause = move |_| {
        let control = control.get_untracked();
        if control.is_paused() {
            control.resume();
        } else {
            control.pause();
        }
        // The engine reports the pause once the chunk in flight is abandoned; show it at once.
        phase.update(|p| {
            if let Phase::Uploading(upload) = p {
                upload.paused = control.is_paused();
            }
        });
    };
    let cancel = move |_| control.get_untracked().cancel();
    let unaudited = move || {
        phase.with(
            |p| matches!(p, Phase::Failed { code: Some(code), .. } if needs_unaudited_steps(code)),
        )
    };
    view! {
        {move || upload().map(|Upload { progress, paused, relay, note, late }| view! {
            <div class="progress">
                <progress data-testid="progress" max="100" value=progress.whole_percent() aria-label="Upload progress"></progress>
                <p class="muted" data-testid="progress-text">{progress.summary()}</p>
                <p class="muted" data-testid="keep-open">"Keep this tab open, and the screen on, until the upload finishes."</p>
                <p class="muted" data-testid="transport">
                    {if relay {
                        "Sending through your server (this browser may not send to TikTok directly)."
                    } else {
                        "Sending straight to TikTok."
                    }}
                </p>
                {note.map(|note| view! { <p class="notice" data-testid="upload-note">{note}</p> })}
                {late.then(|| view! {
                    <p class="error" role="alert">"At this speed the upload will not finish within the hour TikTok allows. Try a faster connection or a smaller file."</p>
                })}
                <div class="buttons">
                    <button type="button" class="secondary" data-testid="pause-button" on:click=toggle_pause>
                        {if paused { "Resume" } else { "Pause" }}
                    </button>
                    <button type="button" class="secondary" data-testid="cancel-button" on:click=cancel>"Cancel"</button>
                </div>
            </div>
        })}
        <p
            class="status"
            class:error=move || matches!(phase.get(), Phase::Failed { .. }) || phase.with(|p| p.raw_status() == "FAILED")
            data-testid="status"
            data-status=move || phase.with(Phase::raw_status)
            role="status"
            aria-live="polite"
        >
            {move || phase.with(Phase::text)}
        </p>
        {post_link}
        {move || unaudited().then(|| view! {
            <div class="notice" data-testid="unaudited-help">
                <p>"What this app may do until TikTok approves it:"</p>
                <ol>{UNAUDITED_STEPS.iter().map(|step| view! { <li>{*step}</li> }).collect_view()}</ol>
            </div>
        })}
        <Show when=move || matches!(phase.get(), Phase::Processing { .. } | Phase::Done(PostState { status: PublishStatus::PublishComplete, .. }))>
            <p class="muted">"TikTok may take a few minutes to process the video before it shows on your profile."</p>
        </Show>
    }
}
