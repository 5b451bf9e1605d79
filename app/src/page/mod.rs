//! The uploader page: TikTok's posting screen, the upload, and the outcome.
//!
//! Model types with their own `impl` first, then the page's top components. The uploader's state
//! and what it does live in `state` (`UploaderState`); the parts it renders in
//! `account`, `fields`, `outcome`, `panels`, `resume` and `sign_in`. Every rule about what may
//! be chosen comes from [`protocol::screen`]; these files only render its answers.

mod account;
mod fields;
mod host;
mod options;
mod outcome;
mod panels;
mod resume;
mod sign_in;
mod state;

use account::{AccountCard, ConnectionControls};
use fields::{
    CaptionField, ConsentLine, CoverPicker, DisclosureFields, InteractionFields, ModeChoice,
    PrivacyField, VideoPicker,
};
pub use host::Remote;
use host::report_to_host;
pub use options::{options_from, options_from_page};
use outcome::Outcome;
use panels::Panels;
use resume::ResumeOffer;
pub use sign_in::Gate;
use sign_in::{SignIn, SignOut, TokensOnly};
use state::{Linked, UploaderState};

use crate::api::{Api, ApiError};
use crate::engine;
use crate::job::local_time;
use crate::post::Phase;
use leptos::prelude::*;
use protocol::ErrorCode;
use protocol::media::{check_duration, human_bytes};
use protocol::screen::{PostForm, PostFormStoreFields};
use protocol::wire::{CONNECT_ERROR_PARAM, Creator, PostMode, PostState};

/// The account the page posts to, as far as we know it.
#[derive(Debug, Clone, PartialEq)]
pub enum Account {
    /// Connected, and TikTok described the creator: everything can be posted.
    Ready(Creator),
    /// Connected for drafts only (no `video.publish`): TikTok describes no creator then.
    DraftsOnly,
    /// TikTok says this creator cannot post now (daily cap, ban, the app's user cap).
    Blocked { message: String },
    /// No account is connected; `can_connect` when the proxy can connect one with a click.
    Disconnected { can_connect: bool, message: String },
    /// The proxy could not tell (unreachable, TikTok down, token refused).
    Unavailable { message: String },
}

impl Account {
    /// Asks the proxy about the connection, then TikTok about the creator when it may post.
    async fn load(api: &Api) -> Linked {
        let connection = match api.connection().await {
            Ok(connection) => connection,
            Err(error) => {
                return Linked {
                    account: Self::Unavailable {
                        message: error.to_string(),
                    },
                    connection: None,
                };
            }
        };
        if !connection.connected {
            let message = connection
                .message
                .clone()
                .unwrap_or_else(|| "No TikTok account is connected.".to_owned());
            let can_connect = connection.login_url.is_some();
            return Linked {
                account: Self::Disconnected {
                    can_connect,
                    message,
                },
                connection: Some(connection),
            };
        }
        if !connection.can_direct {
            return Linked {
                account: Self::DraftsOnly,
                connection: Some(connection),
            };
        }
        let account = Self::from_creator(api.creator().await, connection.login_url.is_some());
        Linked {
            account,
            connection: Some(connection),
        }
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

    /// Why nothing can be posted in `mode` yet with `account` (`None`: still loading), if so.
    fn blocker(account: Option<&Self>, mode: PostMode) -> Option<&'static str> {
        match (account, mode) {
            (Some(Self::Ready(_)), _) | (Some(Self::DraftsOnly), PostMode::Inbox) => None,
            (Some(Self::DraftsOnly), PostMode::Direct) => {
                Some("Your TikTok connection allows drafts only.")
            }
            (None, _) => Some("Waiting for your TikTok account."),
            (Some(Self::Disconnected { .. }), _) => Some("Connect a TikTok account first."),
            (Some(Self::Blocked { .. } | Self::Unavailable { .. }), _) => {
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
    // Signing in or out changes what the proxy says; the screen follows its new answer. While
    // the proxy answers again, the resource keeps its last answer, so the screen stays.
    let recheck = Callback::new(move |()| access.refetch());
    // Read outside any `Suspense`: under one, the uploader's own `LocalResource` (the account)
    // would hold the whole screen until TikTok answers, where only the account line waits.
    let gate =
        Memo::new(move |_| access.with(|answer| answer.as_ref().map(|a| Gate::of(a.clone().ok()))));
    view! {
            {move || gate.get().map(|gate| match gate {
                Gate::SignIn => view! { <SignIn api=api.get_value() on_signed_in=recheck/> }.into_any(),
                Gate::TokensOnly => view! { <TokensOnly/> }.into_any(),
                Gate::Uploader { signed_in } => view! {
                    {signed_in.then(|| view! { <SignOut api=api.get_value() on_signed_out=recheck/> })}
                    <Uploader api=api.get_value() options=options.get_value()/>
                }
                .into_any(),
            })}
    }
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
    // An embedding site's uploader neither connects TikTok nor owns the host page's address,
    // and sees neither the proxy's queue nor its history.
    let embedded = api.embedded();
    let initial = PostForm {
        caption: caption.unwrap_or_default(),
        mode: mode.unwrap_or_default(),
        ..PostForm::default()
    };
    let state = UploaderState::new(api, options, initial);
    report_to_host(state.phase, on_start, on_progress, on_complete, on_error);
    if let Some(remote) = remote {
        remote.connect(state);
    }
    let post = Action::new_unsync(move |_: &()| state.post());
    let (checking, scheduling) = (post.pending(), state.schedule.pending());
    // The video's length against the creator's limit, checked whenever both are known (the
    // creator may still be loading when the file is picked, or change on a later query).
    let length_problem = Memo::new(move |_| {
        let length = state.video.with(|v| v.as_ref().map(|c| c.duration_secs))?;
        let max = state
            .creator
            .with(|c| c.as_ref().map(|c| c.max_video_post_duration_sec))?;
        if state.form.with(|f| f.mode) != PostMode::Direct {
            return None;
        }
        check_duration(length, max).err().map(|e| e.to_string())
    });
    let hint = Memo::new(move |_| {
        if checking.get() {
            Some("Checking your TikTok account…".to_owned())
        } else if scheduling.get() {
            Some("Sending the video to your autoposter…".to_owned())
        } else {
            state.blocker.get()
        }
    });
    let locked = move || state.phase.with(Phase::busy) || scheduling.get();
    let direct = move || state.form.with(|f| f.mode) == PostMode::Direct;
    let creator: Signal<Option<Creator>> = state.creator.into();
    view! {
        <main class="uploader">
            <header class="masthead">
                <h1>"Post to TikTok"</h1>
                <Transition fallback=|| view! { <p class="account muted">"Loading your TikTok account…"</p> }>
                    {move || state.linked.get().map(|linked| view! { <AccountCard account=linked.account/> })}
                </Transition>
                {(!embedded).then(|| view! {
                    <ConnectionControls
                        api=state.api()
                        creator=creator
                        can_connect=Signal::derive(move || state.may_connect())
                        connection=state.connection
                        error=take_connect_error()
                        on_change=Callback::new(move |()| state.linked.refetch())
                    />
                })}
            </header>
            {move || state.unfinished.get().map(|saved| view! {
                <ResumeOffer
                    saved=saved
                    on_resume=Callback::new(move |(saved, file)| state.resume(saved, file))
                    on_discard=Callback::new(move |()| state.unfinished.set(None))
                />
            })}
            <fieldset class="card" disabled=locked>
                <legend class="visually-hidden">"Video"</legend>
                <VideoPicker
                    video=state.video
                    error=state.video_error
                    length_problem=length_problem
                    on_file=Callback::new(move |file| state.choose(file))
                />
            </fieldset>
            <fieldset class="card" disabled=locked>
                <legend>"Where should it go?"</legend>
                <ModeChoice form=state.form connection=state.connection/>
            </fieldset>
            <Show when=direct>
                <fieldset class="card" disabled=locked>
                    <legend>"Post details"</legend>
                    <CaptionField caption=state.form.caption()/>
                    <CoverPicker form=state.form video=state.video/>
                    <PrivacyField form=state.form creator=creator/>
                    <InteractionFields form=state.form creator=creator/>
                    <DisclosureFields form=state.form/>
                </fieldset>
            </Show>
            <section class="card actions" id="outcome">
                <Show when=direct>
                    <ConsentLine form=state.form/>
                </Show>
                {move || state.notice.get().map(|notice| view! {
                    <p class="notice" role="alert" data-testid="post-notice">{notice}</p>
                })}
                {move || (state.armed.get() && hint.with(Option::is_none)).then(|| view! {
                    <p class="notice" data-testid="armed">"Ready to post: press Post to send this video to TikTok."</p>
                })}
                <button
                    type="button"
                    class="primary"
                    data-testid="post-button"
                    node_ref=state.post_button
                    disabled=move || locked() || hint.with(Option::is_some)
                    aria-describedby="post-hint"
                    on:click=move |_| { post.dispatch(()); }
                >
                    {move || if state.later.with(String::is_empty) { "Post" } else { "Post later" }}
                </button>
                <p id="post-hint" class="hint" aria-live="polite" data-testid="post-hint">{move || hint.get().unwrap_or_default()}</p>
                {(!embedded).then(|| view! { <LaterField state=state/> })}
                <Outcome phase=state.phase creator=creator control=state.control/>
                <Show when=move || matches!(state.phase.get(), Phase::Done(_) | Phase::Failed { .. })>
                    <button type="button" class="secondary" on:click=move |_| state.reset()>"Post another video"</button>
                </Show>
            </section>
            {(!embedded).then(|| view! {
                <Panels
                    api=state.api()
                    version=state.lists_version
                    username=Signal::derive(move || creator.with(|c| c.as_ref().map(|c| c.username.clone())))
                />
            })}
        </main>
    }
}

/// "Post later": the time a post should go out, and how sending it to the proxy went.
#[component]
fn LaterField(
    /// The uploader whose time and scheduled post these are.
    state: UploaderState,
) -> impl IntoView {
    let schedule = state.schedule;
    let note = move || {
        if schedule.pending().get() {
            let (done, total) = state.sent.get();
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
    view! {
        <label for="post-at" class="label">"Post later"</label>
        <input type="datetime-local" id="post-at" step="1" data-testid="post-at" aria-describedby="post-at-note" bind:value=state.later/>
        <p id="post-at-note" class="muted later-note">"Leave empty to post now. With a time, the video goes to your autoposter, which posts it then."</p>
        <p role="status" class="later-status" data-testid="schedule-status">{note}</p>
    }
}
