//! The uploader's state: a `Copy` struct of signals, and the four things the page does with it
//! (`choose` a video, `post` it, `resume` an interrupted upload, `reset` for another video).
//! The components in `page/` only render these signals and call these methods.

use super::Account;
use crate::api::Api;
use crate::engine::{self, Control};
use crate::job::{self, LaterPost, local_input_to_rfc3339};
use crate::post::{self, Context, Phase};
use crate::storage::{self, SavedUpload};
use crate::video::{self, ChosenVideo};
use leptos::prelude::*;
use leptos::task::spawn_local;
use protocol::screen::{CREATOR_CANNOT_POST, CREATOR_CHANGED, PostForm, creator_changed};
use protocol::wire::{Connection, CreatePost, Creator, JobInfo, PostFields, PostMode};
use reactive_stores::{Store, Subfield};
use web_sys::File;

/// Why Post stays disabled after a successful post: one click must not post the same video twice.
const POSTED: &str =
    "Posted. To post again, choose another video or press \u{201c}Post another video\u{201d}.";

/// One field of the posting form (`state.form.caption()`): its own reactive path in the form's
/// store, read and written without touching the others, and bound with `bind:`. `Copy`.
pub(super) type FormField<T> = Subfield<Store<PostForm>, PostForm, T>;

/// What the proxy said about the connection, and the account TikTok described through it.
#[derive(Debug, Clone)]
pub(super) struct Linked {
    pub account: Account,
    pub connection: Option<Connection>,
}

/// Everything the uploader shows, as signals; `Copy`, so every closure takes its own.
#[derive(Clone, Copy)]
pub(super) struct UploaderState {
    api: StoredValue<Api>,
    options: StoredValue<engine::Options>,
    /// The form as the host asked it to start (caption, mode), for `reset`.
    initial: StoredValue<PostForm>,
    /// `GET /api/connection` then `GET /api/creator`; `refetch` asks again in place (the screen
    /// keeps what it shows until the new answer). Post's own re-check writes its answer here.
    pub linked: LocalResource<Linked>,
    /// The creator TikTok described, when the account may post directly.
    pub creator: Memo<Option<Creator>>,
    /// The connection as `GET /api/connection` described it.
    pub connection: Memo<Option<Connection>>,
    /// The video that passed the checks, if any.
    pub video: RwSignal<Option<ChosenVideo>>,
    /// Why the last chosen file was refused.
    pub video_error: RwSignal<Option<String>>,
    /// TikTok's posting screen as the creator filled it in: a store, so the caption and the
    /// checkboxes are each their own reactive path ([`FormField`], bound with `bind:`) and a
    /// reader of the caption does not run again when a box is ticked. Everything else goes
    /// through the whole form (`form.with(|f| f.mode)`, `form.update(|f| f.set_privacy(..))`),
    /// which notifies every field.
    pub form: Store<PostForm>,
    /// "Post later": the time as the `datetime-local` input holds it (empty: post now).
    pub later: RwSignal<String>,
    /// Where the post is; written by [`post`] as it goes.
    pub phase: RwSignal<Phase>,
    /// Pause and cancel for the upload under way.
    pub control: RwSignal<Control, LocalStorage>,
    /// An upload a reload or a crash interrupted, offered until taken or discarded.
    pub unfinished: RwSignal<Option<SavedUpload>>,
    /// What Post's re-check of the creator found, when it stopped the post to say so.
    pub notice: RwSignal<Option<&'static str>>,
    /// A host's `start()` armed Post; the person's own press sends the video.
    pub armed: RwSignal<bool>,
    /// The Post button, focused when armed.
    pub post_button: NodeRef<leptos::html::Button>,
    /// Bumped when a post ends or the queue changes: the queue and history panels refetch.
    pub lists_version: RwSignal<u32>,
    /// Bytes of a scheduled post sent to the proxy so far, and of how many.
    pub sent: RwSignal<(u64, u64)>,
    /// Sending the video to the proxy, which posts it at the chosen time.
    pub schedule: Action<LaterPost, Result<JobInfo, crate::api::ApiError>>,
    /// What keeps Post disabled, first thing first.
    pub blocker: Memo<Option<String>>,
}

impl UploaderState {
    /// A fresh screen starting from `initial`, and the first query of the account.
    pub fn new(api: Api, options: engine::Options, initial: PostForm) -> Self {
        let form = Store::new(initial.clone());
        let api = StoredValue::new(api);
        let linked = LocalResource::new(move || {
            let api = api.get_value();
            async move {
                let linked = Account::load(&api).await;
                // A drafts-only connection cannot post directly: start in the mode it allows.
                if linked.account == Account::DraftsOnly {
                    form.update(|f| f.mode = PostMode::Inbox);
                }
                linked
            }
        });
        let creator = Memo::new(move |_| linked.with(|l| l.as_ref()?.account.creator().cloned()));
        let connection = Memo::new(move |_| linked.with(|l| l.as_ref()?.connection.clone()));
        let video = RwSignal::new(None::<ChosenVideo>);
        let phase = RwSignal::new(Phase::Editing);
        let lists_version = RwSignal::new(0);
        let sent = RwSignal::new((0, 0));
        let schedule = Action::new_unsync(move |post: &LaterPost| {
            let (api, post) = (api.get_value(), post.clone());
            async move {
                sent.set((0, post.file.size() as u64));
                let job = job::send(&api, &post, move |done, total| sent.set((done, total))).await;
                if job.is_ok() {
                    lists_version.update(|v| *v += 1);
                }
                job
            }
        });
        let blocker = Memo::new(move |_| {
            if phase.with(|p| matches!(p, Phase::Done(_))) {
                return Some(POSTED.to_owned());
            }
            let mode = form.with(|f| f.mode);
            if let Some(reason) =
                linked.with(|l| Account::blocker(l.as_ref().map(|l| &l.account), mode))
            {
                return Some(reason.to_owned());
            }
            let length = video.with(|v| v.as_ref().map(|c| c.duration_secs));
            creator
                .with(|c| form.with(|f| f.blocker(length, c.as_ref())))
                .map(|b| b.to_string())
        });
        Self {
            api,
            options: StoredValue::new(options),
            initial: StoredValue::new(initial),
            linked,
            creator,
            connection,
            video,
            video_error: RwSignal::new(None),
            form,
            later: RwSignal::new(String::new()),
            phase,
            control: RwSignal::new_local(Control::default()),
            unfinished: RwSignal::new(storage::load()),
            notice: RwSignal::new(None),
            armed: RwSignal::new(false),
            post_button: NodeRef::new(),
            lists_version,
            sent,
            schedule,
            blocker,
        }
    }

    /// The proxy this uploader talks to.
    pub fn api(self) -> Api {
        self.api.get_value()
    }

    /// Whether the proxy can connect an account with a click.
    fn can_connect(self) -> bool {
        self.connection
            .with_untracked(|c| c.as_ref().is_some_and(|c| c.login_url.is_some()))
    }

    /// Whether no account is connected and the proxy can connect one with a click.
    pub fn may_connect(self) -> bool {
        self.linked.with(|l| {
            matches!(
                l.as_ref().map(|l| &l.account),
                Some(Account::Disconnected {
                    can_connect: true,
                    ..
                })
            )
        })
    }

    /// The creator picked or dropped `file`: forget the last video, then check this one.
    pub fn choose(self, file: File) {
        self.video_error.set(None);
        self.forget_video();
        // A frame of the last video means nothing for this one.
        self.form.update(|f| f.cover_ms = None);
        self.phase.set(Phase::Editing);
        spawn_local(async move {
            match video::inspect(file).await {
                Ok(chosen) => self.video.set(Some(chosen)),
                Err(error) => self.video_error.set(Some(error.to_string())),
            }
        });
    }

    /// Pressing Post. TikTok is asked about the creator once more right before init; when its
    /// answer changes what the screen offers or allows, the screen follows it and says so (in
    /// [`Self::notice`]) instead of posting. With a time under "Post later", the video goes to
    /// the proxy's queue instead.
    pub async fn post(self) {
        self.armed.set(false);
        let notice = self.check_then_send().await;
        self.notice.set(notice);
    }

    /// [`Self::post`]'s work; the notice to show, if the re-check stopped it.
    async fn check_then_send(self) -> Option<&'static str> {
        let api = self.api();
        let shown = self.creator.get_untracked();
        if let (Some(shown), PostMode::Direct) = (shown, self.form.with_untracked(|f| f.mode)) {
            let now = Account::from_creator(api.creator().await, self.can_connect());
            let notice = match &now {
                Account::Ready(creator) => {
                    self.form.update(|f| f.fit_to(creator));
                    creator_changed(&shown, creator).then_some(CREATOR_CHANGED)
                }
                _ => Some(CREATOR_CANNOT_POST),
            };
            self.linked.update(|linked| {
                if let Some(linked) = linked {
                    linked.account = now;
                }
            });
            if notice.is_some() {
                return notice;
            }
        }
        let chosen = self.video.get_untracked()?;
        if self.phase.with_untracked(Phase::busy) || self.blocker.get_untracked().is_some() {
            return None;
        }
        let form = self.form.get_untracked();
        // Drafts take no post details at TikTok; a drafts-only connection has no creator.
        let post_info = match self.creator.get_untracked() {
            Some(creator) if form.mode == PostMode::Direct => form.post_fields(&creator),
            _ => PostFields::default(),
        };
        if let Some(publish_at) = self.later.with_untracked(|t| local_input_to_rfc3339(t)) {
            self.schedule.dispatch(LaterPost {
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
        let context = self.context(chosen.file, form.mode);
        self.run(post::start(context, request));
        // Bring the progress and the outcome into view: on a phone they are below the fold.
        if let Some(outcome) = document().get_element_by_id("outcome") {
            outcome.scroll_into_view();
        }
        None
    }

    /// Continues `saved` with `file`, which the creator picked again.
    pub fn resume(self, saved: SavedUpload, file: File) {
        let context = self.context(file, saved.mode);
        self.run(post::resume(context, saved));
    }

    /// Clears the screen for another video, unless a post is under way.
    pub fn reset(self) {
        if self.phase.with_untracked(Phase::busy) {
            return;
        }
        self.forget_video();
        self.form.set(self.initial.get_value());
        self.phase.set(Phase::Editing);
        self.armed.set(false);
        self.notice.set(None);
        self.later.set(String::new());
        self.schedule.value().set(None);
        // TikTok says to query the creator each time the posting screen is shown.
        self.linked.refetch();
    }

    /// Arms Post for a host's `start()`: the focus moves to it and the person is told to press.
    pub fn arm(self) {
        self.armed.set(true);
        if let Some(button) = self.post_button.get_untracked() {
            let _ = button.focus();
        }
    }

    /// Cancels the upload under way.
    pub fn cancel(self) {
        self.control.get_untracked().cancel();
    }

    /// What one upload needs, with a fresh pause/cancel control; the saved offer is gone.
    fn context(self, file: File, mode: PostMode) -> Context {
        let control = Control::default();
        self.control.set(control.clone());
        self.unfinished.set(None);
        Context {
            api: self.api(),
            file,
            mode,
            phase: self.phase,
            control,
            options: self.options.get_value(),
        }
    }

    /// Runs one post to its end, then has the history show it.
    fn run(self, post: impl Future<Output = ()> + 'static) {
        spawn_local(async move {
            post.await;
            self.lists_version.update(|v| *v += 1);
        });
    }

    /// Drops the chosen video and the object URL of its preview.
    fn forget_video(self) {
        if let Some(old) = self.video.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&old.preview_url);
        }
        self.video.set(None);
    }
}
