//! The uploader page: TikTok's posting screen, the upload, and the outcome.
//!
//! Model types with their own `impl` first, then the page's top components; the parts live in
//! `account`, `fields`, `outcome`, `resume` and `sign_in`. Every rule about what may be chosen
//! comes from [`protocol::screen`]; these files only render its answers.

mod account;
mod fields;
mod host;
mod outcome;
mod panels;
mod resume;
mod sign_in;

use account::{AccountCard, ConnectionControls};
use fields::{
    CaptionField, ConsentLine, CoverPicker, DisclosureFields, InteractionFields, ModeChoice,
    PrivacyField, VideoPicker,
};
pub use host::Remote;
use host::report_to_host;
use outcome::Outcome;
use panels::{Lists, Panels};
use resume::ResumeOffer;
pub use sign_in::Gate;
use sign_in::{SignIn, SignOut, TokensOnly};

use crate::api::{Api, ApiError};
use crate::engine::{self, Control};
use crate::job::{self, LaterPost, local_input_to_rfc3339, local_time};
use crate::post::{self, Context, Phase};
use crate::storage::{self, SavedUpload};
use crate::video::{self, ChosenVideo};
use leptos::prelude::*;
use leptos::task::spawn_local;
use protocol::ErrorCode;
use protocol::media::{check_duration, human_bytes};
use protocol::screen::{CREATOR_CANNOT_POST, CREATOR_CHANGED, PostForm, creator_changed};
use protocol::wire::{
    CONNECT_ERROR_PARAM, Connection, CreatePost, Creator, PostFields, PostMode, PostState,
};
use web_sys::File;

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
    /// No account is connected; `can_connect` when the proxy can connect one with a click.
    Disconnected {
        can_connect: bool,
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
            let can_connect = connection.login_url.is_some();
            return (
                Self::Disconnected {
                    can_connect,
                    message,
                },
                Some(connection),
            );
        }
        if !connection.can_direct {
            return (Self::DraftsOnly, Some(connection));
        }
        let account = Self::from_creator(api.creator().await, connection.login_url.is_some());
        (account, Some(connection))
    }

    /// The account as TikTok's answer about the creator describes it.
    fn from_creator(answer: Result<Creator, ApiError>, can_connect: bool) -> Self {
        match answer {
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
                can_connect,
                message: error.to_string(),
            },
            Err(error) => Self::Unavailable {
                message: error.to_string(),
            },
        }
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

/// Why Post stays disabled after a successful post: one click must not post the same video twice.
const POSTED: &str =
    "Posted. To post again, choose another video or press \u{201c}Post another video\u{201d}.";

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

/// Our own page, talking to the proxy on its own origin: the sign-in form when the proxy needs
/// an operator and this browser is not one yet ([`Gate`]), else the uploader, with engine
/// options from the page's `<meta name="autoposter:…">` tags (see [`options_from_page`]).
#[component]
pub fn App() -> impl IntoView {
    let api = StoredValue::new(Api::default());
    let options = StoredValue::new(options_from_page());
    let access = LocalResource::new(move || {
        let api = api.get_value();
        async move { api.access().await }
    });
    // Signing in or out changes what the proxy says; the screen follows its new answer.
    let recheck = Callback::new(move |()| access.refetch());
    view! {
        <Transition>
            {move || access.get().map(|answer| match Gate::of(answer.ok()) {
                Gate::SignIn => view! { <SignIn api=api.get_value() on_signed_in=recheck/> }.into_any(),
                Gate::TokensOnly => view! { <TokensOnly/> }.into_any(),
                Gate::Uploader { signed_in } => view! {
                    {signed_in.then(|| view! { <SignOut api=api.get_value() on_signed_out=recheck/> })}
                    <Uploader api=api.get_value() options=options.get_value()/>
                }
                .into_any(),
            })}
        </Transition>
    }
}

/// Engine options a host page may set: `<meta name="autoposter:retry-delays-ms" content="500,1000">`
/// and `<meta name="autoposter:stall-timeout-ms" content="30000">` (a chunk's PUT that shows no
/// progress for that long is abandoned and retried). Anything unreadable keeps the default.
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
    if let Some(timeout) = meta("stall-timeout-ms").and_then(|text| text.trim().parse().ok()) {
        options.stall_timeout_ms = timeout;
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
    /// Called when a post starts (the person pressed Post).
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
    /// Lets the host arm Post (the person still presses it), cancel and reset from outside.
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
    // An embedding site's uploader neither connects TikTok nor owns the host page's address.
    let embedded = api.embedded();
    let connect_error = RwSignal::new(if embedded { None } else { take_connect_error() });
    let account_api = api.clone();
    // Asks again in place: the screen keeps what it shows until TikTok's new answer arrives
    // (Post re-checks right before init anyway), so a return to the screen does not blank it.
    let load_account = move || {
        let api = account_api.clone();
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
        video_error.set(None);
        if let Some(old) = video.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&old.preview_url);
        }
        video.set(None);
        // A frame of the last video means nothing for this one.
        form.update(|f| f.cover_ms = None);
        phase.set(Phase::Editing);
        spawn_local(async move {
            match video::inspect(file).await {
                Ok(chosen) => video.set(Some(chosen)),
                Err(error) => video_error.set(Some(error.to_string())),
            }
        });
    };

    // The video's length against the creator's limit, checked whenever both are known (the
    // creator may still be loading when the file is picked, or change on a later query).
    let length_problem = Memo::new(move |_| {
        let length = video.with(|v| v.as_ref().map(|c| c.duration_secs))?;
        let max = account.with(|a| a.creator().map(|c| c.max_video_post_duration_sec))?;
        if form.with(|f| f.mode) != PostMode::Direct {
            return None;
        }
        check_duration(length, max).err().map(|e| e.to_string())
    });
    // What keeps Post disabled, first thing first.
    let blocker = Memo::new(move |_| {
        if phase.with(|p| matches!(p, Phase::Done(_))) {
            return Some(POSTED.to_owned());
        }
        if let Some(reason) = account.with(|a| a.blocker(form.with(|f| f.mode))) {
            return Some(reason.to_owned());
        }
        let length = video.with(|v| v.as_ref().map(|c| c.duration_secs));
        account
            .with(|a| form.with(|f| f.blocker(length, a.creator())))
            .map(|b| b.to_string())
    });
    // "Post later": the chosen time as the `datetime-local` input holds it (empty: post now).
    let later = RwSignal::new(String::new());
    // The proxy's queue, which a scheduled post joins, and its history; an embed sees neither.
    let lists = (!embedded).then(|| {
        let api = api.clone();
        LocalResource::new(move || {
            let api = api.clone();
            async move { Lists::load(&api).await }
        })
    });
    // Bytes of a scheduled post sent to the proxy so far, and of how many.
    let sent = RwSignal::new((0_u64, 0_u64));
    let schedule_api = api.clone();
    // Sending the video to the proxy, which posts it at the chosen time.
    let schedule = Action::new_unsync(move |post: &LaterPost| {
        let (api, post) = (schedule_api.clone(), post.clone());
        async move {
            sent.set((0, post.file.size() as u64));
            let job = job::send(&api, &post, move |done, total| sent.set((done, total))).await;
            if let (Ok(_), Some(lists)) = (&job, lists) {
                lists.refetch();
            }
            job
        }
    });
    let scheduling = schedule.pending();
    let can_connect =
        move || connection.with_untracked(|c| c.as_ref().is_some_and(|c| c.login_url.is_some()));
    let post_api = api.clone();
    let post_options = options.clone();
    // Pressing Post. TikTok is asked about the creator once more right before init; when its
    // answer changes what the screen offers or allows, the screen follows it and says so
    // instead of posting. The action's value is that notice.
    let post = Action::new_unsync(move |_: &()| {
        let api = post_api.clone();
        let options = post_options.clone();
        async move {
            let shown = account.with_untracked(|a| a.creator().cloned());
            if let (Some(shown), PostMode::Direct) = (shown, form.with_untracked(|f| f.mode)) {
                let now = Account::from_creator(api.creator().await, can_connect());
                let notice = match &now {
                    Account::Ready(creator) => {
                        form.update(|f| f.fit_to(creator));
                        creator_changed(&shown, creator).then_some(CREATOR_CHANGED)
                    }
                    _ => Some(CREATOR_CANNOT_POST),
                };
                account.set(now);
                if notice.is_some() {
                    return notice;
                }
            }
            let chosen = video.get_untracked()?;
            if phase.with_untracked(Phase::busy) || blocker.get_untracked().is_some() {
                return None;
            }
            let form = form.get_untracked();
            // Drafts take no post details at TikTok; a drafts-only connection has no creator.
            let post_info = match account.with_untracked(|a| a.creator().cloned()) {
                Some(creator) if form.mode == PostMode::Direct => form.post_fields(&creator),
                _ => PostFields::default(),
            };
            if let Some(publish_at) = later.with_untracked(|t| local_input_to_rfc3339(t)) {
                schedule.dispatch(LaterPost {
                    file: chosen.file,
                    mode: form.mode,
                    fields: post_info,
                    publish_at,
                });
                return None;
            }
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
                api,
                file: chosen.file,
                mode: form.mode,
                phase,
                control: fresh,
                options,
            };
            spawn_local(post::start(context, request));
            // Bring the progress and the outcome into view: on a phone they are below the fold.
            if let Some(outcome) = document().get_element_by_id("outcome") {
                outcome.scroll_into_view();
            }
            None
        }
    });
    let checking = post.pending();
    // A host's `start()` only arms the post: the person's own press on Post sends it.
    let armed = RwSignal::new(false);
    let post_button = NodeRef::<leptos::html::Button>::new();
    let on_post = move || {
        armed.set(false);
        post.dispatch(());
    };
    let arm = move || {
        armed.set(true);
        if let Some(button) = post_button.get_untracked() {
            let _ = button.focus();
        }
    };
    let hint = Memo::new(move |_| {
        if checking.get() {
            Some("Checking your TikTok account…".to_owned())
        } else if scheduling.get() {
            Some("Sending the video to your autoposter…".to_owned())
        } else {
            blocker.get()
        }
    });
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
    let reload_account = load_account.clone();
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
        armed.set(false);
        post.value().set(None);
        later.set(String::new());
        schedule.value().set(None);
        // TikTok says to query the creator each time the posting screen is shown.
        reload_account();
    };
    report_to_host(phase, on_start, on_progress, on_complete, on_error);
    if let Some(remote) = remote {
        remote.connect(arm, move || control.get_untracked().cancel(), reset.clone());
    }
    let locked = move || phase.with(Phase::busy) || scheduling.get();
    let schedule_note = move || {
        if scheduling.get() {
            let (done, total) = sent.get();
            return format!(
                "Sending to your autoposter: {} of {}.",
                human_bytes(done),
                human_bytes(total)
            );
        }
        match schedule.value().get() {
            Some(Ok(job)) => format!(
                "Scheduled for {}: see the queue below.",
                job.publish_at
                    .as_deref()
                    .map_or_else(String::new, local_time)
            ),
            Some(Err(error)) => error.to_string(),
            None => String::new(),
        }
    };
    let direct = move || form.with(|f| f.mode == PostMode::Direct);

    view! {
        <main class="uploader">
            <header class="masthead">
                <h1>"Post to TikTok"</h1>
                <AccountCard account=account/>
                {(!embedded).then(|| view! {
                    <ConnectionControls
                        api=api.clone()
                        account=account
                        connection=connection
                        error=connect_error
                        on_change=load_account.clone()
                    />
                })}
            </header>
            {move || unfinished.get().map(|saved| view! {
                <ResumeOffer saved=saved unfinished=unfinished on_resume=on_resume.clone()/>
            })}
            <fieldset class="card" disabled=locked>
                <legend class="visually-hidden">"Video"</legend>
                <VideoPicker video=video error=video_error length_problem=length_problem on_file=on_file/>
            </fieldset>
            <fieldset class="card" disabled=locked>
                <legend>"Where should it go?"</legend>
                <ModeChoice form=form connection=connection/>
            </fieldset>
            <Show when=direct>
                <fieldset class="card" disabled=locked>
                    <legend>"Post details"</legend>
                    <CaptionField form=form/>
                    <CoverPicker form=form video=video/>
                    <PrivacyField form=form account=account/>
                    <InteractionFields form=form account=account/>
                    <DisclosureFields form=form/>
                </fieldset>
            </Show>
            <section class="card actions" id="outcome">
                <Show when=direct>
                    <ConsentLine form=form/>
                </Show>
                {move || post.value().get().flatten().map(|notice| view! {
                    <p class="notice" role="alert" data-testid="post-notice">{notice}</p>
                })}
                {move || (armed.get() && hint.with(Option::is_none)).then(|| view! {
                    <p class="notice" data-testid="armed">"Ready to post: press Post to send this video to TikTok."</p>
                })}
                <button
                    type="button"
                    class="primary"
                    data-testid="post-button"
                    node_ref=post_button
                    disabled=move || locked() || hint.with(Option::is_some)
                    aria-describedby="post-hint"
                    on:click=move |_| on_post()
                >
                    {move || if later.with(String::is_empty) { "Post" } else { "Post later" }}
                </button>
                <p id="post-hint" class="hint" aria-live="polite" data-testid="post-hint">{move || hint.get().unwrap_or_default()}</p>
                {(!embedded).then(|| view! {
                    <label for="post-at" class="label">"Post later"</label>
                    <input type="datetime-local" id="post-at" step="1" data-testid="post-at" aria-describedby="post-at-note" bind:value=later/>
                    <p id="post-at-note" class="muted">"Leave empty to post now. With a time, the video goes to your autoposter, which posts it then."</p>
                    <p role="status" data-testid="schedule-status">{schedule_note}</p>
                })}
                <Outcome phase=phase account=account control=control/>
                <Show when=move || matches!(phase.get(), Phase::Done(_) | Phase::Failed { .. })>
                    <button type="button" class="secondary" on:click={let reset = reset.clone(); move |_| reset()}>"Post another video"</button>
                </Show>
            </section>
            {lists.map(|lists| view! {
                <Panels
                    api=api.clone()
                    lists=lists
                    username=Signal::derive(move || account.with(|a| a.creator().map(|c| c.username.clone())))
                />
            })}
        </main>
    }
}
