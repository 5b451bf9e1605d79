//! The offer to continue an upload that a reload or a crash interrupted.

use crate::post::{self};
use crate::storage::{self, FileIdentity, SavedUpload};
use leptos::prelude::*;
use protocol::media::human_bytes;
use web_sys::{File, HtmlInputElement};

/// The offer to continue an upload that a reload or a crash interrupted, within TikTok's hour.
#[component]
pub(super) fn ResumeOffer(
    /// The upload as it was saved.
    saved: SavedUpload,
    /// Called with the saved upload and the file once the creator picked the same file again.
    on_resume: Callback<(SavedUpload, File)>,
    /// Called once the saved upload is forgotten, to take the offer away.
    on_discard: Callback<()>,
) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let fresh = saved.is_fresh(post::now_ms());
    let total = saved.job.plan.video_size.max(1);
    let percent = (saved.job.confirmed * 100 + total / 2) / total;
    let expected = saved.file.clone();
    let described = format!("{} ({})", expected.name, human_bytes(expected.size));
    let keep = saved.clone();
    let on_change = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        let picked = FileIdentity::of(&file);
        if picked == expected {
            on_resume.run((keep.clone(), file));
        } else {
            input.set_value("");
            error.set(Some(format!(
                "That is not the same file: you picked {} ({}). Choose {} ({}) to continue, or discard the upload.",
                picked.name,
                human_bytes(picked.size),
                expected.name,
                human_bytes(expected.size)
            )));
        }
    };
    let discard = move |_| {
        storage::clear();
        on_discard.run(());
    };
    if !fresh {
        return view! {
            <section class="card notice" data-testid="resume-offer">
                <p>{format!("An earlier upload of {described} stopped and its link has expired (TikTok allows one hour). Post it again.")}</p>
                <button type="button" class="secondary" on:click=discard>"Dismiss"</button>
            </section>
        }
        .into_any();
    }
    view! {
        <section class="card notice" data-testid="resume-offer" role="region" aria-label="Unfinished upload">
            <p>{format!("An upload of {described} stopped at {percent} %. Choose the same file to continue it.")}</p>
            <label for="resume-file" class="label">"Continue with file"</label>
            <input id="resume-file" type="file" data-testid="resume-input" accept="video/mp4,video/quicktime,video/webm" on:change=on_change/>
            {move || error.get().map(|message| view! { <p class="error" role="alert" data-testid="resume-error">{message}</p> })}
            <button type="button" class="secondary" on:click=discard>"Discard it"</button>
        </section>
    }
    .into_any()
}
