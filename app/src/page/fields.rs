//! TikTok's posting screen, field by field: the video, where it goes, the caption, the
//! audience, interactions, disclosure and the consent line. Each renders `protocol::screen`'s
//! answers; none decides a rule itself. An input bound with `bind:` takes its field
//! ([`FormField`]); every other component takes the form's store, reads it with `form.with` and
//! writes it with `form.update` (a field type read or written on its own path would add a copy of
//! the store's generic code to the bundle).

use super::state::FormField;
use crate::video::ChosenVideo;
use leptos::prelude::*;
use protocol::media::{human_bytes, human_duration, human_timestamp};
use protocol::screen::{
    BRANDED_CONTENT_POLICY_URL, Declaration, MUSIC_USAGE_URL, PostForm, PostFormStoreFields,
};
use protocol::tiktok::PrivacyLevel;
use protocol::wire::{Connection, Creator, PostMode};
use protocol::{MAX_CAPTION_UTF16, utf16_len};
use reactive_stores::Store;
use web_sys::{File, HtmlInputElement};

/// The file picker with a drop zone, and the preview of the chosen video.
#[component]
pub(super) fn VideoPicker(
    /// The video that passed the checks, if any.
    #[prop(into)]
    video: Signal<Option<ChosenVideo>>,
    /// Why the last chosen file was refused.
    #[prop(into)]
    error: Signal<Option<String>>,
    /// Why the chosen video's length rules it out for this creator, once both are known.
    #[prop(into)]
    length_problem: Signal<Option<String>>,
    /// Called with each file the creator picks or drops.
    on_file: Callback<File>,
) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let on_change = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|files| files.get(0)) {
            on_file.run(file);
        }
        // Forget the choice, so picking the same file again (after "Post another video") is a
        // change the page hears.
        input.set_value("");
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(file) = ev
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|f| f.get(0))
        {
            on_file.run(file);
        }
    };
    view! {
        <label
            class="dropzone"
            class:dragging=move || dragging.get()
            for="video-file"
            on:dragover=move |ev: leptos::ev::DragEvent| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
        >
            <span class="label">"Video file"</span>
            <span class="muted">"Choose or drop an MP4, MOV or WebM video (up to 4 GB)."</span>
            <input
                id="video-file"
                type="file"
                accept="video/mp4,video/quicktime,video/webm,.mp4,.mov,.webm"
                data-testid="file-input"
                on:change=on_change
            />
        </label>
        {move || error.get().map(|message| view! {
            <p class="error" role="alert" data-testid="video-error">{message}</p>
        })}
        {move || length_problem.get().map(|message| view! {
            <p class="error" role="alert" data-testid="video-error">{message}</p>
        })}
        {move || video.get().map(|chosen| view! {
            <div class="preview">
                <video src=chosen.preview_url.clone() controls=true muted=true preload="metadata"></video>
                <dl data-testid="video-facts">
                    <dt>"File"</dt><dd>{chosen.name.clone()}</dd>
                    <dt>"Size"</dt><dd>{human_bytes(chosen.size)}</dd>
                    <dt>"Type"</dt><dd>{chosen.content_type.mime()}</dd>
                    <dt>"Length"</dt>
                    <dd>{chosen.duration_secs.map_or("unknown".to_owned(), human_duration)}</dd>
                </dl>
            </div>
        })}
    }
}

/// The cover frame: a slider over the video's length, with the frame it points at shown as a
/// thumbnail (a small `<video>` of the same file, seeked there) and sent as
/// `video_cover_timestamp_ms`. Shown once the browser knows the video's length.
#[component]
pub(super) fn CoverPicker(
    /// The form, whose `cover_ms` is the chosen frame in milliseconds from the start (none:
    /// TikTok picks).
    form: Store<PostForm>,
    /// The chosen video, whose length bounds the slider.
    #[prop(into)]
    video: Signal<Option<ChosenVideo>>,
) -> impl IntoView {
    let thumb = NodeRef::<leptos::html::Video>::new();
    // Not `bind:value`: the slider's text is a number of milliseconds, and moving it also seeks
    // the thumbnail.
    let on_input = move |ev| {
        let ms = event_target_value(&ev).parse::<u32>().ok();
        form.update(|f| f.cover_ms = ms);
        if let (Some(ms), Some(thumb)) = (ms, thumb.get_untracked()) {
            thumb.set_current_time(f64::from(ms) / 1000.0);
        }
    };
    move || {
        let (url, length_ms) = video.with(|v| {
            let chosen = v.as_ref()?;
            Some((chosen.preview_url.clone(), chosen.duration_secs? * 1000.0))
        })?;
        Some(view! {
            <label for="cover" class="label">"Cover frame"</label>
            <div class="cover">
                <video class="thumb" node_ref=thumb src=url muted=true preload="auto" aria-hidden="true" data-testid="cover-thumb"></video>
                <div>
                    <input
                        type="range"
                        id="cover"
                        min="0"
                        max=(length_ms as u32).to_string()
                        step="100"
                        aria-describedby="cover-at"
                        prop:value=move || form.with(|f| f.cover_ms).unwrap_or(0).to_string()
                        on:input=on_input
                    />
                    <p id="cover-at" class="muted" data-testid="cover-at">
                        {move || form.with(|f| f.cover_ms).map_or_else(
                            || "TikTok picks the cover unless you choose a frame.".to_owned(),
                            |ms| format!("Cover: the frame at {}.", human_timestamp(ms)),
                        )}
                    </p>
                </div>
            </div>
        })
    }
}

/// "Post now" or "Send to TikTok drafts", each available when the connection's scopes allow it.
#[component]
pub(super) fn ModeChoice(
    /// The form, whose `mode` is where the video goes.
    form: Store<PostForm>,
    /// The connection, whose granted scopes decide what is possible.
    #[prop(into)]
    connection: Signal<Option<Connection>>,
) -> impl IntoView {
    let choice = move |this: PostMode,
                       id: &'static str,
                       title: &'static str,
                       detail: &'static str| {
        let allowed = move || {
            connection.with(|c| {
                // Scopes only say something once an account is connected.
                c.as_ref().is_none_or(|c| {
                    !c.connected
                        || match this {
                            PostMode::Direct => c.can_direct,
                            PostMode::Inbox => c.can_inbox,
                        }
                })
            })
        };
        view! {
            <label class="choice" for=id class:unavailable=move || !allowed()>
                <input
                    type="radio"
                    id=id
                    name="mode"
                    value=id
                    disabled=move || !allowed()
                    // Not `bind:group`, which binds a string (the checked radio's `value`): the
                    // mode is an enum.
                    prop:checked=move || form.with(|f| f.mode) == this
                    on:change=move |_| form.update(|f| f.mode = this)
                />
                <span>
                    <strong>{title}</strong>
                    <span class="muted">{detail}</span>
                    <Show when=move || !allowed()>
                        <span class="muted">
                            "Not allowed by your TikTok connection: reconnect and grant this permission."
                        </span>
                    </Show>
                </span>
            </label>
        }
    };
    view! {
        {choice(PostMode::Direct, "mode-direct", "Post now", "Publish straight to your profile with the details below.")}
        {choice(PostMode::Inbox, "mode-inbox", "Send to TikTok drafts", "Finish the post in the TikTok app: caption, sound and audience are set there.")}
    }
}

/// The caption with a live counter in UTF-16 units, as TikTok counts.
#[component]
pub(super) fn CaptionField(
    /// The form's caption.
    caption: FormField<String>,
) -> impl IntoView {
    let used = move || caption.with(|c| utf16_len(c));
    view! {
        <label for="caption" class="label">"Caption"</label>
        <textarea
            id="caption"
            data-testid="caption"
            rows="3"
            placeholder="Describe your video. #hashtags and @mentions work."
            aria-describedby="caption-count"
            bind:value=caption
        ></textarea>
        <p id="caption-count" class="counter" class:over=move || { used() > MAX_CAPTION_UTF16 } data-testid="caption-count">
            {move || format!("{} / {MAX_CAPTION_UTF16}", used())}
        </p>
    }
}

/// "Who can view this video": only the creator's options, and nothing chosen until they choose.
#[component]
pub(super) fn PrivacyField(
    /// The form the audience belongs to: the list depends on its disclosure, and choosing runs
    /// `PostForm::set_privacy`.
    form: Store<PostForm>,
    /// The creator whose `privacy_level_options` are offered.
    #[prop(into)]
    creator: Signal<Option<Creator>>,
) -> impl IntoView {
    let choices = move || {
        creator
            .with(|c| c.as_ref().map(|c| form.with(|f| f.privacy_choices(c))))
            .unwrap_or_default()
    };
    let note = move || {
        creator
            .with(|c| c.as_ref().and_then(|c| form.with(|f| f.privacy_note(c))))
            .unwrap_or_default()
    };
    // Not `bind:value`: choosing "Only me" takes back a "Branded content" tick (protocol's rule).
    let on_change = move |ev| {
        let value = event_target_value(&ev);
        form.update(|f| f.set_privacy((!value.is_empty()).then(|| PrivacyLevel::parse(&value))));
    };
    let privacy = form.privacy();
    view! {
        <label for="privacy" class="label">"Who can view this video"</label>
        <select
            id="privacy"
            data-testid="privacy"
            required=true
            aria-describedby="privacy-note"
            prop:value=move || privacy.with(|p| p.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default())
            on:change=on_change
        >
            <option value="" disabled=true selected=move || privacy.with(Option::is_none)>
                "Choose who can view it"
            </option>
            {move || choices().into_iter().map(|choice| view! {
                <option
                    value=choice.level.as_str().to_owned()
                    disabled=!choice.enabled
                >
                    {choice.level.label().to_owned()}
                </option>
            }).collect_view()}
        </select>
        // Visible, not a tooltip: a disabled <option>'s title is never shown by most browsers.
        <p id="privacy-note" class="note" aria-live="polite" data-testid="privacy-note">{note}</p>
    }
}

/// Allow comments / Duet / Stitch: off until ticked, greyed out where the creator turned them off.
#[component]
pub(super) fn InteractionFields(
    /// The form the toggles belong to.
    form: Store<PostForm>,
    /// The creator whose settings may disable them.
    #[prop(into)]
    creator: Signal<Option<Creator>>,
) -> impl IntoView {
    type Off = fn(&Creator) -> bool;
    let toggle = move |id: &'static str, label: &'static str, field: FormField<bool>, off: Off| {
        let unavailable = Signal::derive(move || creator.with(|c| c.as_ref().is_some_and(off)));
        view! {
            <label class="check" for=id class:unavailable=move || unavailable.get()>
                <FormCheck field=field id=id disabled=unavailable/>
                {label}
                <Show when=move || unavailable.get()>
                    <span class="muted">" (turned off in your TikTok settings)"</span>
                </Show>
            </label>
        }
    };
    view! {
        <p class="label">"Let viewers"</p>
        <div class="checks">
            {toggle("allow-comment", "Comment", form.allow_comment(), |c| c.comment_disabled)}
            {toggle("allow-duet", "Duet", form.allow_duet(), |c| c.duet_disabled)}
            {toggle("allow-stitch", "Stitch", form.allow_stitch(), |c| c.stitch_disabled)}
        </div>
    }
}

/// Commercial content disclosure and the AI-generated label.
#[component]
pub(super) fn DisclosureFields(
    /// The form the disclosure belongs to: its notes are rules of the whole form.
    form: Store<PostForm>,
) -> impl IntoView {
    let disclose = form.disclose();
    let branded_off = Signal::derive(move || !form.with(PostForm::branded_content_available));
    view! {
        <label class="check switch" for="disclose">
            <FormCheck field=disclose id="disclose" role="switch"/>
            "Disclose video content"
            <span class="muted">" — this video promotes a brand, product or service"</span>
        </label>
        <Show when=move || disclose.get()>
            <div class="checks nested">
                <label class="check" for="your-brand">
                    <FormCheck field=form.your_brand() id="your-brand"/>
                    "Your brand"
                    <span class="muted">" — you are promoting yourself or your own business"</span>
                </label>
                <label
                    class="check"
                    for="branded-content"
                    class:unavailable=move || branded_off.get()
                >
                    <FormCheck
                        field=form.branded_content()
                        id="branded-content"
                        disabled=branded_off
                        describedby="branded-note"
                    />
                    "Branded content"
                    <span class="muted">" — you are promoting another brand or a third party"</span>
                </label>
                <p id="branded-note" class="note" aria-live="polite" data-testid="branded-note">
                    {move || form.with(PostForm::branded_note).unwrap_or_default()}
                </p>
                {move || form.with(PostForm::label_notice).map(|notice| view! { <p class="notice">{notice}</p> })}
            </div>
        </Show>
        // Always in the page, so screen readers announce it when it appears.
        <p class="note" aria-live="polite" data-testid="disclosure-note">
            {move || form.with(PostForm::disclosure_note).unwrap_or_default()}
        </p>
        <label class="check" for="is-aigc">
            <FormCheck field=form.is_aigc() id="is-aigc"/>
            "AI-generated content"
            <span class="muted">" — TikTok labels the video as AI-generated"</span>
        </label>
    }
}

/// The consent line right above the Post button.
#[component]
pub(super) fn ConsentLine(
    /// The form whose disclosure decides the wording.
    form: Store<PostForm>,
) -> impl IntoView {
    let music = || {
        view! { <a href=MUSIC_USAGE_URL target="_blank" rel="noopener">"Music Usage Confirmation"</a> }
    };
    // Runs again at every change of the form; the same wording rebuilds in place and changes no
    // node, so a memo of the declaration (+682 B gzip) would save nothing the page shows.
    move || match form.with(PostForm::declaration) {
        Declaration::MusicUsage => view! {
            <p class="consent" data-testid="consent">
                "By posting, you agree to TikTok's " {music()} "."
            </p>
        }
        .into_any(),
        Declaration::BrandedContentAndMusicUsage => view! {
            <p class="consent" data-testid="consent">
                "By posting, you agree to TikTok's "
                <a href=BRANDED_CONTENT_POLICY_URL target="_blank" rel="noopener">
                    "Branded Content Policy"
                </a>
                " and " {music()} "."
            </p>
        }
        .into_any(),
    }
}

/// One yes/no field of the form as a checkbox, bound to it. Its `<label>` is the caller's,
/// which wraps it.
#[component]
fn FormCheck(
    /// The field it shows and sets.
    field: FormField<bool>,
    /// The input's id, which its label names.
    id: &'static str,
    /// Greyed out and shown unticked, e.g. where the creator turned the option off. The field
    /// keeps its tick, which counts again if the option comes back (the post sends what the
    /// creator's settings allow, whatever the field holds).
    #[prop(optional, into)]
    disabled: Signal<bool>,
    /// `switch` for an on/off setting rather than a choice.
    #[prop(optional)]
    role: Option<&'static str>,
    /// The id of the note that explains it.
    #[prop(optional)]
    describedby: Option<&'static str>,
) -> impl IntoView {
    let shown = Signal::derive(move || field.get() && !disabled.get());
    view! {
        <input
            type="checkbox"
            id=id
            role=role
            aria-describedby=describedby
            bind:checked=(shown, field)
            disabled=move || disabled.get()
        />
    }
}

#[cfg(test)]
mod tests;
