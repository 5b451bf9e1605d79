//! The uploader page: TikTok's posting screen, the upload, and the outcome.
//!
//! Model types with their own `impl` first, then the components. Every rule about what may be
//! chosen comes from [`protocol::screen`]; this file only renders its answers and runs the post.

use crate::api::Api;
use crate::engine::{self, Control};
use crate::post::{self, Context, Phase, Upload};
use crate::storage::{self, FileIdentity, SavedUpload};
use crate::video::{self, ChosenVideo};
use leptos::prelude::*;
use leptos::task::spawn_local;
use protocol::ErrorCode;
use protocol::media::{human_bytes, human_duration};
use protocol::screen::{BRANDED_CONTENT_POLICY_URL, Declaration, MUSIC_USAGE_URL, PostForm};
use protocol::status::PublishStatus;
use protocol::tiktok::PrivacyLevel;
use protocol::wire::{
    CONNECT_ERROR_PARAM, Connection, CreatePost, Creator, PostFields, PostMode, PostState,
};
use protocol::{MAX_CAPTION_UTF16, utf16_len};
use web_sys::{File, HtmlInputElement};

/// The account the page posts to, as far as we know it.
#[derive(Debug, Clone, PartialEq)]
pub enum Account {
    Loading,
    /// Connected, and TikTok described the creator: everything can be posted.
    Ready(Creator),
    /// Connected for drafts only (no `video.publish`): TikTok describes no creator then.
    DraftsOnly,
    /// TikTok says this creator cannot post now (daily cap, ban, the app's user cap).
    Blocked {
        message: String,
    },
    /// No account is connected; `login_url` when the proxy can connect one with a click.
    Disconnected {
        login_url: Option<String>,
        message: String,
    },
    /// The proxy could not tell (unreachable, TikTok down, token refused).
    Unavailable {
        message: String,
    },
}

impl Account {
    /// Asks the proxy about the connection, then TikTok about the creator when it may post.
    async fn load(api: &Api) -> (Self, Option<Connection>) {
        let connection = match api.connection().await {
            Ok(connection) => connection,
            Err(error) => {
                return (
                    Self::Unavailable {
                        message: error.to_string(),
                    },
                    None,
                );
            }
        };
        if !connection.connected {
            let message = connection
                .message
                .clone()
                .unwrap_or_else(|| "No TikTok account is connected.".to_owned());
            let login_url = connection
                .login_url
                .as_deref()
                .map(|path| api.login_url(path));
            return (Self::Disconnected { login_url, message }, Some(connection));
        }
        if !connection.can_direct {
            return (Self::DraftsOnly, Some(connection));
        }
        let account = match api.creator().await {
            Ok(creator) => Self::Ready(creator),
            Err(error)
                if error
                    .code()
                    .is_some_and(|c| ErrorCode::parse(c).blocks_posting()) =>
            {
                Self::Blocked {
                    message: error.to_string(),
                }
            }
            Err(error) if error.code() == Some("reconnect_required") => Self::Disconnected {
                login_url: connection
                    .login_url
                    .as_deref()
                    .map(|path| api.login_url(path)),
                message: error.to_string(),
            },
            Err(error) => Self::Unavailable {
                message: error.to_string(),
            },
        };
        (account, Some(connection))
    }

    fn creator(&self) -> Option<&Creator> {
        match self {
            Self::Ready(creator) => Some(creator),
            _ => None,
        }
    }

    /// Why nothing can be posted in `mode` yet, if so.
    fn blocker(&self, mode: PostMode) -> Option<&'static str> {
        match (self, mode) {
            (Self::Ready(_), _) | (Self::DraftsOnly, PostMode::Inbox) => None,
            (Self::DraftsOnly, PostMode::Direct) => {
                Some("Your TikTok connection allows drafts only.")
            }
            (Self::Loading, _) => Some("Waiting for your TikTok account."),
            (Self::Disconnected { .. }, _) => Some("Connect a TikTok account first."),
            (Self::Blocked { .. } | Self::Unavailable { .. }, _) => {
                Some("Posting is not possible right now; see above.")
            }
        }
    }
}

/// The reason a connect attempt failed, from `?connect_error=…`, removed from the address bar
/// once read so a reload does not show it again.
fn take_connect_error() -> Option<String> {
    let window = web_sys::window()?;
    let search = window.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    let error = params.get(CONNECT_ERROR_PARAM)?;
    if let Ok(history) = window.history() {
        let path = window.location().pathname().unwrap_or_else(|_| "/".into());
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path));
    }
    Some(error)
}

/// The uploader page, talking to the proxy on the page's own origin, with engine options from
/// the page's `<meta name="autoposter:…">` tags (see [`options_from_page`]).
#[component]
pub fn App() -> impl IntoView {
    view! { <Uploader api=Api::default() options=options_from_page()/> }
}

/// Engine options a host page may set: `<meta name="autoposter:retry-delays-ms" content="500,1000">`
/// and `<meta name="autoposter:chunk-timeout-ms" content="60000">`. Anything unreadable keeps
/// the default.
pub fn options_from_page() -> engine::Options {
    let meta = |name: &str| {
        document()
            .query_selector(&format!("meta[name='autoposter:{name}']"))
            .ok()
            .flatten()
            .and_then(|element| element.get_attribute("content"))
    };
    let mut options = engine::Options::default();
    if let Some(delays) = meta("retry-delays-ms").and_then(|text| {
        text.split(',')
            .map(|d| d.trim().parse().ok())
            .collect::<Option<Vec<u32>>>()
    }) {
        options.retry_delays_ms = delays;
    }
    if let Some(timeout) = meta("chunk-timeout-ms").and_then(|text| text.trim().parse().ok()) {
        options.chunk_timeout_ms = timeout;
    }
    options
}

/// TikTok's posting screen and the upload it starts.
#[component]
pub fn Uploader(
    /// The proxy that holds the TikTok token (`Api::default()` for the page's own origin).
    api: Api,
    /// How the upload engine retries and times out.
    #[prop(optional)]
    options: engine::Options,
    /// A caption to start with, e.g. the host site's hashtags; the creator can still edit it.
    #[prop(optional, into)]
    caption: Option<String>,
    /// Post now (the default) or send to TikTok drafts.
    #[prop(optional)]
    mode: Option<PostMode>,
    /// Called when a post starts (Post was pressed, or `remote.start`).
    #[prop(optional, into)]
    on_start: Option<UnsyncCallback<()>>,
    /// Called as bytes leave: `(sent, total)`.
    #[prop(optional, into)]
    on_progress: Option<UnsyncCallback<(u64, u64)>>,
    /// Called with TikTok's final word (`PUBLISH_COMPLETE`, `SEND_TO_USER_INBOX` or `FAILED`).
    #[prop(optional, into)]
    on_complete: Option<UnsyncCallback<PostState>>,
    /// Called when a post stops before TikTok's final word: `(code, message)`, where `code` is
    /// `ERROR` or `CANCELLED` and `message` is what the creator was told.
    #[prop(optional, into)]
    on_error: Option<UnsyncCallback<(String, String)>>,
    /// Lets the host press Post, Cancel and "Post another video" from outside.
    #[prop(optional)]
    remote: Option<Remote>,
) -> impl IntoView {
    let initial = PostForm {
        caption: caption.unwrap_or_default(),
        mode: mode.unwrap_or_default(),
        ..PostForm::default()
    };
    let account = RwSignal::new(Account::Loading);
    let video = RwSignal::new(None::<ChosenVideo>);
    let video_error = RwSignal::new(None::<String>);
    let form = RwSignal::new(initial.clone());
    let phase = RwSignal::new(Phase::Editing);
    let control = RwSignal::new_local(Control::default());
    let unfinished = RwSignal::new(storage::load());

    let connection = RwSignal::new(None::<Connection>);
    let connect_error = RwSignal::new(take_connect_error());
    let account_api = api.clone();
    let load_account = move || {
        let api = account_api.clone();
        account.set(Account::Loading);
        spawn_local(async move {
            let (loaded, connected) = Account::load(&api).await;
            // A drafts-only connection cannot post directly: start in the mode it allows.
            if loaded == Account::DraftsOnly {
                form.update(|f| f.mode = PostMode::Inbox);
            }
            account.set(loaded);
            connection.set(connected);
        });
    };
    load_account();

    let on_file = move |file: File| {
        let max = account.with_untracked(|a| a.creator().map(|c| c.max_video_post_duration_sec));
        video_error.set(None);
        if let Some(old) = video.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&old.preview_url);
        }
        video.set(None);
        phase.set(Phase::Editing);
        spawn_local(async move {
            match video::inspect(file, max).await {
                Ok(chosen) => video.set(Some(chosen)),
                Err(error) => video_error.set(Some(error.to_string())),
            }
        });
    };

    let blocker = move || {
        if let Some(reason) = account.with(|a| a.blocker(form.with(|f| f.mode))) {
            return Some(reason.to_owned());
        }
        form.with(|f| f.blocker(video.with(Option::is_some)))
            .map(|b| b.to_string())
    };
    let post_api = api.clone();
    let post_options = options.clone();
    let on_post = move || {
        let Some(chosen) = video.get_untracked() else {
            return;
        };
        let form = form.get_untracked();
        if phase.with_untracked(Phase::busy)
            || form.blocker(true).is_some()
            || account.with_untracked(|a| a.blocker(form.mode)).is_some()
        {
            return;
        }
        // Drafts take no post details at TikTok; a drafts-only connection has no creator info.
        let post_info = match account.with_untracked(|a| a.creator().cloned()) {
            Some(creator) if form.mode == PostMode::Direct => form.post_fields(&creator),
            _ => PostFields::default(),
        };
        let request = CreatePost {
            mode: form.mode,
            video_size: chosen.size,
            content_type: chosen.content_type.mime().into(),
            file_name: chosen.name.clone(),
            post_info,
        };
        let fresh = Control::default();
        control.set(fresh.clone());
        unfinished.set(None);
        let context = Context {
            api: post_api.clone(),
            file: chosen.file,
            mode: form.mode,
            phase,
            control: fresh,
            options: post_options.clone(),
        };
        spawn_local(post::start(context, request));
        // Bring the progress and the outcome into view: on a phone they are below the fold.
        if let Some(outcome) = document().get_element_by_id("outcome") {
            outcome.scroll_into_view();
        }
    };
    let resume_api = api.clone();
    let on_resume = move |saved: SavedUpload, file: File| {
        let fresh = Control::default();
        control.set(fresh.clone());
        unfinished.set(None);
        let context = Context {
            api: resume_api.clone(),
            file,
            mode: saved.mode,
            phase,
            control: fresh,
            options: options.clone(),
        };
        spawn_local(post::resume(context, saved));
    };
    let reset = move || {
        if phase.with_untracked(Phase::busy) {
            return;
        }
        if let Some(old) = video.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&old.preview_url);
        }
        video.set(None);
        form.set(initial.clone());
        phase.set(Phase::Editing);
    };
    report_to_host(phase, on_start, on_progress, on_complete, on_error);
    if let Some(remote) = remote {
        remote.connect(
            on_post.clone(),
            move || control.get_untracked().cancel(),
            reset.clone(),
        );
    }
    let locked = move || phase.with(Phase::busy);
    let direct = move || form.with(|f| f.mode == PostMode::Direct);

    view! {
        <main class="uploader">
            <header class="masthead">
                <h1>"Post to TikTok"</h1>
                <AccountCard account=account/>
                <ConnectionControls
                    api=api.clone()
                    account=account
                    connection=connection
                    error=connect_error
                    on_change=load_account.clone()
                />
            </header>
            {move || unfinished.get().map(|saved| view! {
                <ResumeOffer saved=saved unfinished=unfinished on_resume=on_resume.clone()/>
            })}
            <fieldset class="card" disabled=locked>
                <legend class="visually-hidden">"Video"</legend>
                <VideoPicker video=video error=video_error on_file=on_file/>
            </fieldset>
            <fieldset class="card" disabled=locked>
                <legend>"Where should it go?"</legend>
                <ModeChoice form=form connection=connection/>
            </fieldset>
            <Show when=direct>
                <fieldset class="card" disabled=locked>
                    <legend>"Post details"</legend>
                    <CaptionField form=form/>
                    <PrivacyField form=form account=account/>
                    <InteractionFields form=form account=account/>
                    <DisclosureFields form=form/>
                </fieldset>
            </Show>
            <section class="card actions" id="outcome">
                <Show when=direct>
                    <ConsentLine form=form/>
                </Show>
                <button
                    type="button"
                    class="primary"
                    data-testid="post-button"
                    disabled=move || locked() || blocker().is_some()
                    title=move || blocker().unwrap_or_default()
                    aria-describedby="post-hint"
                    on:click=move |_| on_post()
                >
                    "Post"
                </button>
                <p id="post-hint" class="hint">{move || blocker().unwrap_or_default()}</p>
                <Outcome phase=phase account=account control=control/>
                <Show when=move || matches!(phase.get(), Phase::Done(_) | Phase::Failed { .. })>
                    <button type="button" class="secondary" on:click={let reset = reset.clone(); move |_| reset()}>"Post another video"</button>
                </Show>
            </section>
        </main>
    }
}

/// Presses Post, Cancel and "Post another video" for a host page (the custom element's
/// `start()`, `cancel()` and `reset()`). Copy it into the component's `remote` prop and call it.
#[derive(Debug, Clone, Copy)]
pub struct Remote {
    start: Trigger,
    cancel: Trigger,
    reset: Trigger,
}

impl Default for Remote {
    fn default() -> Self {
        Self {
            start: Trigger::new(),
            cancel: Trigger::new(),
            reset: Trigger::new(),
        }
    }
}

impl Remote {
    /// Posts, if the form is complete (as pressing Post would).
    pub fn start(&self) {
        self.start.notify();
    }

    /// Cancels the upload under way.
    pub fn cancel(&self) {
        self.cancel.notify();
    }

    /// Clears the form for another video, unless a post is under way.
    pub fn reset(&self) {
        self.reset.notify();
    }

    fn connect(
        self,
        start: impl Fn() + 'static,
        cancel: impl Fn() + 'static,
        reset: impl Fn() + 'static,
    ) {
        for (trigger, action) in [
            (self.start, Box::new(start) as Box<dyn Fn()>),
            (self.cancel, Box::new(cancel)),
            (self.reset, Box::new(reset)),
        ] {
            // The first run only subscribes; every later notify acts.
            Effect::new(move |subscribed: Option<()>| {
                trigger.track();
                if subscribed.is_some() {
                    action();
                }
            });
        }
    }
}

/// Tells the host what happens, through the component's callbacks.
fn report_to_host(
    phase: RwSignal<Phase>,
    on_start: Option<UnsyncCallback<()>>,
    on_progress: Option<UnsyncCallback<(u64, u64)>>,
    on_complete: Option<UnsyncCallback<PostState>>,
    on_error: Option<UnsyncCallback<(String, String)>>,
) {
    Effect::new(move |_| match phase.get() {
        Phase::Starting => {
            if let Some(callback) = on_start {
                callback.run(());
            }
        }
        Phase::Uploading(upload) => {
            if let Some(callback) = on_progress {
                callback.run((upload.progress.sent, upload.progress.total));
            }
        }
        Phase::Done(state) => {
            if let Some(callback) = on_complete {
                callback.run(state);
            }
        }
        failed @ Phase::Failed { .. } => {
            if let Some(callback) = on_error {
                callback.run((failed.raw_status(), failed.text()));
            }
        }
        Phase::Editing | Phase::Processing { .. } => {}
    });
}

/// "Posting as …": the creator's nickname and avatar, or why posting is not possible.
#[component]
fn AccountCard(
    /// The account as loaded from `GET /api/creator`.
    account: RwSignal<Account>,
) -> impl IntoView {
    move || {
        match account.get() {
        Account::Loading => {
            view! { <p class="account muted">"Loading your TikTok account…"</p> }.into_any()
        }
        Account::Ready(creator) => view! {
            <div class="account" data-testid="account">
                <img class="avatar" src=creator.avatar_url.clone() alt="" width="40" height="40"/>
                <p>
                    "Posting as " <strong>{creator.nickname.clone()}</strong>
                    <span class="muted">{format!(" @{}", creator.username)}</span>
                </p>
            </div>
        }
        .into_any(),
        Account::DraftsOnly => view! {
            <p class="account" data-testid="account">
                "Connected to TikTok for drafts: videos go to your TikTok inbox, and you finish them in the app."
            </p>
        }
        .into_any(),
        Account::Blocked { message } => view! {
            <p class="account error" role="alert" data-testid="account">
                "You can't post right now. " {message}
            </p>
        }
        .into_any(),
        Account::Disconnected { message, .. } => view! {
            <p class="account" data-testid="account">{message}</p>
        }
        .into_any(),
        Account::Unavailable { message } => view! {
            <p class="account error" role="alert" data-testid="account">{message}</p>
        }
        .into_any(),
    }
    }
}

/// The file picker with a drop zone, and the preview of the chosen video.
#[component]
fn VideoPicker(
    /// The video that passed the checks, if any.
    video: RwSignal<Option<ChosenVideo>>,
    /// Why the last chosen file was refused.
    error: RwSignal<Option<String>>,
    /// Called with each file the creator picks or drops.
    on_file: impl Fn(File) + Clone + 'static,
) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let pick = on_file.clone();
    let on_change = move |ev: leptos::ev::Event| {
        let input: HtmlInputElement = event_target(&ev);
        if let Some(file) = input.files().and_then(|files| files.get(0)) {
            pick(file);
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
            on_file(file);
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

/// "Post now" or "Send to TikTok drafts", each available when the connection's scopes allow it.
#[component]
fn ModeChoice(
    /// The form the choice belongs to.
    form: RwSignal<PostForm>,
    /// The connection, whose granted scopes decide what is possible.
    connection: RwSignal<Option<Connection>>,
) -> impl IntoView {
    let choice = move |mode: PostMode,
                       id: &'static str,
                       title: &'static str,
                       detail: &'static str| {
        let allowed = move || {
            connection.with(|c| {
                // Scopes only say something once an account is connected.
                c.as_ref().is_none_or(|c| {
                    !c.connected
                        || match mode {
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
                    prop:checked=move || form.with(|f| f.mode == mode)
                    on:change=move |_| form.update(|f| f.mode = mode)
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
fn CaptionField(
    /// The form the caption belongs to.
    form: RwSignal<PostForm>,
) -> impl IntoView {
    let used = move || form.with(|f| utf16_len(&f.caption));
    view! {
        <label for="caption" class="label">"Caption"</label>
        <textarea
            id="caption"
            data-testid="caption"
            rows="3"
            placeholder="Describe your video. #hashtags and @mentions work."
            aria-describedby="caption-count"
            prop:value=move || form.with(|f| f.caption.clone())
            on:input=move |ev| form.update(|f| f.caption = event_target_value(&ev))
        ></textarea>
        <p id="caption-count" class="counter" class:over=move || { used() > MAX_CAPTION_UTF16 } data-testid="caption-count">
            {move || format!("{} / {MAX_CAPTION_UTF16}", used())}
        </p>
    }
}

/// "Who can view this video": only the creator's options, and nothing chosen until they choose.
#[component]
fn PrivacyField(
    /// The form the audience belongs to.
    form: RwSignal<PostForm>,
    /// The creator whose `privacy_level_options` are offered.
    account: RwSignal<Account>,
) -> impl IntoView {
    let choices = move || {
        account
            .with(|a| a.creator().map(|c| form.with(|f| f.privacy_choices(c))))
            .unwrap_or_default()
    };
    let on_change = move |ev| {
        let value = event_target_value(&ev);
        form.update(|f| f.privacy = (!value.is_empty()).then(|| PrivacyLevel::parse(&value)));
    };
    view! {
        <label for="privacy" class="label">"Who can view this video"</label>
        <select
            id="privacy"
            data-testid="privacy"
            required=true
            prop:value=move || form.with(|f| f.privacy.as_ref().map(|p| p.as_str().to_owned()).unwrap_or_default())
            on:change=on_change
        >
            <option value="" disabled=true selected=move || form.with(|f| f.privacy.is_none())>
                "Choose who can view it"
            </option>
            {move || choices().into_iter().map(|choice| view! {
                <option
                    value=choice.level.as_str().to_owned()
                    disabled=!choice.enabled
                    title=choice.hint.unwrap_or_default()
                >
                    {choice.level.label().to_owned()}
                </option>
            }).collect_view()}
        </select>
    }
}

/// Allow comments / Duet / Stitch: off until ticked, greyed out where the creator turned them off.
#[component]
fn InteractionFields(
    /// The form the toggles belong to.
    form: RwSignal<PostForm>,
    /// The creator whose settings may disable them.
    account: RwSignal<Account>,
) -> impl IntoView {
    type Get = fn(&PostForm) -> bool;
    type Set = fn(&mut PostForm, bool);
    type Off = fn(&Creator) -> bool;
    let toggle = move |id: &'static str, label: &'static str, get: Get, set: Set, off: Off| {
        let unavailable = move || account.with(|a| a.creator().is_some_and(off));
        view! {
            <label class="check" for=id class:unavailable=unavailable>
                <input
                    type="checkbox"
                    id=id
                    prop:checked=move || form.with(get) && !unavailable()
                    disabled=unavailable
                    on:change=move |ev| form.update(|f| set(f, event_target_checked(&ev)))
                />
                {label}
                <Show when=unavailable>
                    <span class="muted">" (turned off in your TikTok settings)"</span>
                </Show>
            </label>
        }
    };
    view! {
        <p class="label">"Let viewers"</p>
        <div class="checks">
            {toggle("allow-comment", "Comment", |f| f.allow_comment, |f, v| f.allow_comment = v, |c| c.comment_disabled)}
            {toggle("allow-duet", "Duet", |f| f.allow_duet, |f, v| f.allow_duet = v, |c| c.duet_disabled)}
            {toggle("allow-stitch", "Stitch", |f| f.allow_stitch, |f, v| f.allow_stitch = v, |c| c.stitch_disabled)}
        </div>
    }
}

/// Commercial content disclosure and the AI-generated label.
#[component]
fn DisclosureFields(
    /// The form the disclosure belongs to.
    form: RwSignal<PostForm>,
) -> impl IntoView {
    let disclose = move || form.with(|f| f.disclose);
    let branded_off = move || !form.with(PostForm::branded_content_available);
    view! {
        <label class="check switch" for="disclose">
            <input
                type="checkbox"
                id="disclose"
                role="switch"
                prop:checked=disclose
                on:change=move |ev| form.update(|f| f.disclose = event_target_checked(&ev))
            />
            "Disclose video content"
            <span class="muted">" — this video promotes a brand, product or service"</span>
        </label>
        <Show when=disclose>
            <div class="checks nested">
                <label class="check" for="your-brand">
                    <input
                        type="checkbox"
                        id="your-brand"
                        prop:checked=move || form.with(|f| f.your_brand)
                        on:change=move |ev| form.update(|f| f.your_brand = event_target_checked(&ev))
                    />
                    "Your brand"
                    <span class="muted">" — you are promoting yourself or your own business"</span>
                </label>
                <label
                    class="check"
                    for="branded-content"
                    class:unavailable=branded_off
                    title=move || if branded_off() { protocol::screen::BRANDED_NOT_PRIVATE } else { "" }
                >
                    <input
                        type="checkbox"
                        id="branded-content"
                        prop:checked=move || form.with(|f| f.branded_content)
                        disabled=branded_off
                        on:change=move |ev| form.update(|f| f.branded_content = event_target_checked(&ev))
                    />
                    "Branded content"
                    <span class="muted">" — you are promoting another brand or a third party"</span>
                </label>
                {move || form.with(PostForm::label_notice).map(|notice| view! { <p class="notice">{notice}</p> })}
            </div>
        </Show>
        <label class="check" for="is-aigc">
            <input
                type="checkbox"
                id="is-aigc"
                prop:checked=move || form.with(|f| f.is_aigc)
                on:change=move |ev| form.update(|f| f.is_aigc = event_target_checked(&ev))
            />
            "AI-generated content"
            <span class="muted">" — TikTok labels the video as AI-generated"</span>
        </label>
    }
}

/// The consent line right above the Post button.
#[component]
fn ConsentLine(
    /// The form whose disclosure decides the wording.
    form: RwSignal<PostForm>,
) -> impl IntoView {
    let music = || view! { <a href=MUSIC_USAGE_URL target="_blank" rel="noopener">"Music Usage Confirmation"</a> };
    move || {
        match form.with(PostForm::declaration) {
        Declaration::MusicUsage => view! {
            <p class="consent" data-testid="consent">"By posting, you agree to TikTok's " {music()} "."</p>
        }
        .into_any(),
        Declaration::BrandedContentAndMusicUsage => view! {
            <p class="consent" data-testid="consent">
                "By posting, you agree to TikTok's "
                <a href=BRANDED_CONTENT_POLICY_URL target="_blank" rel="noopener">"Branded Content Policy"</a>
                " and " {music()} "."
            </p>
        }
        .into_any(),
    }
    }
}

/// The progress bar with pause/resume/cancel, and the status line (an `aria-live` region with
/// TikTok's raw status in `data-status`).
#[component]
fn Outcome(
    /// Where the post is.
    phase: RwSignal<Phase>,
    /// The account, for the post link.
    account: RwSignal<Account>,
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
        let username = account.with(|a| a.creator().map(|c| c.username.clone()))?;
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
    view! {
        {move || upload().map(|Upload { progress, paused, relay, note, late }| view! {
            <div class="progress">
                <progress data-testid="progress" max="100" value=progress.whole_percent() aria-label="Upload progress"></progress>
                <p class="muted" data-testid="progress-text">{progress.summary()}</p>
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
        <Show when=move || matches!(phase.get(), Phase::Processing { .. } | Phase::Done(PostState { status: PublishStatus::PublishComplete, .. }))>
            <p class="muted">"TikTok may take a few minutes to process the video before it shows on your profile."</p>
        </Show>
    }
}

/// The offer to continue an upload that a reload or a crash interrupted, within TikTok's hour.
#[component]
fn ResumeOffer(
    /// The upload as it was saved.
    saved: SavedUpload,
    /// Cleared when the offer is taken or discarded.
    unfinished: RwSignal<Option<SavedUpload>>,
    /// Called with the saved upload and the file once the creator picked the same file again.
    on_resume: impl Fn(SavedUpload, File) + Clone + 'static,
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
            on_resume(keep.clone(), file);
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
        unfinished.set(None);
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

/// "Connect TikTok" when no account is connected (and the proxy can connect one), "Disconnect"
/// when one is, and why the last connect attempt failed.
#[component]
fn ConnectionControls(
    /// The proxy, which runs the sign-in and holds the tokens.
    api: Api,
    /// The account, to know whether one is connected.
    account: RwSignal<Account>,
    /// The connection as `GET /api/connection` described it.
    connection: RwSignal<Option<Connection>>,
    /// Why the last connect attempt failed (from `?connect_error=`).
    error: RwSignal<Option<String>>,
    /// Called after disconnecting, to load the account state again.
    on_change: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let notice = RwSignal::new(None::<String>);
    let disconnect = move |_| {
        let (api, on_change) = (api.clone(), on_change.clone());
        busy.set(true);
        spawn_local(async move {
            match api.logout().await {
                Ok(done) => notice.set(Some(done.message)),
                Err(failure) => notice.set(Some(failure.to_string())),
            }
            busy.set(false);
            on_change();
        });
    };
    let login_url = move || match account.get() {
        Account::Disconnected { login_url, .. } => login_url,
        _ => None,
    };
    // Only an OAuth connection can be disconnected from here; a fixed token lives in the config.
    let can_disconnect = move || {
        connection.with(|c| {
            c.as_ref()
                .is_some_and(|c| c.connected && c.login_url.is_some())
        })
    };
    view! {
        {move || error.get().map(|message| view! {
            <p class="error" role="alert" data-testid="connect-error">
                "Connecting TikTok did not work: " {message}
            </p>
        })}
        {move || notice.get().map(|message| view! { <p class="muted" data-testid="connect-notice">{message}</p> })}
        {move || login_url().map(|url| view! {
            <a class="button primary" href=url data-testid="connect-button">"Connect TikTok"</a>
        })}
        <Show when=can_disconnect>
            <button type="button" class="link" data-testid="disconnect-button" disabled=move || busy.get() on:click=disconnect.clone()>
                "Disconnect TikTok"
            </button>
        </Show>
    }
}
