//! The posting screen's rules, from TikTok's content-sharing guidelines, as plain data: which
//! audiences may be chosen, which toggles are available, what the creator must be told, and
//! what still stands between the form and the Post button. The app only renders these answers.

use crate::caption::{CaptionError, check_caption};
use crate::media::{VideoError, check_duration};
use crate::tiktok::PrivacyLevel;
use crate::wire::{Creator, PostFields, PostMode};

/// TikTok's Music Usage Confirmation, linked from the consent line of every direct post.
pub const MUSIC_USAGE_URL: &str =
    "https://www.tiktok.com/legal/page/global/music-usage-confirmation/en";
/// TikTok's Branded Content Policy, linked when the post is branded content.
pub const BRANDED_CONTENT_POLICY_URL: &str =
    "https://www.tiktok.com/legal/page/global/bc-policy/en";
/// The hover text TikTok prescribes when "Only me" is unavailable because of branded content.
pub const BRANDED_NOT_PRIVATE: &str = "Branded content visibility cannot be set to private.";
/// Shown next to "Branded content" while the audience is "Only me".
pub const BRANDED_NEEDS_AUDIENCE: &str =
    "Branded content visibility cannot be set to private: choose another audience to tick it.";
/// Said instead of posting when TikTok's answer about the creator changed since the screen was
/// shown.
pub const CREATOR_CHANGED: &str = "Your TikTok account's settings changed since this screen was shown, and the details below now follow them. Check them and press Post again.";
/// Said instead of posting when TikTok's latest answer says the creator cannot post now (or
/// could not be had): the account line above says why.
pub const CREATOR_CANNOT_POST: &str =
    "Nothing was posted: TikTok's latest answer about your account is shown above.";
/// The hover text TikTok prescribes for disclosure switched on with nothing ticked.
pub const DISCLOSURE_INCOMPLETE: &str =
    "You need to indicate if your content promotes yourself, a third party, or both.";

/// What an app TikTok has not audited may do, step by step: shown with TikTok's refusal
/// `unaudited_client_can_only_post_to_private_accounts`, which comes for any direct post to a
/// public account until the app passes TikTok's audit.
pub const UNAUDITED_STEPS: [&str; 3] = [
    "In the TikTok app, open your profile, then the menu, Settings and privacy, Privacy, and turn on Private account.",
    "Come back and press Post again with an audience your private account offers (\"Only me\" always works).",
    "Or choose \"Send to TikTok drafts\": drafts have no such limit, and you finish the post in the TikTok app.",
];

/// Whether TikTok's refusal `code` comes with [`UNAUDITED_STEPS`].
pub fn needs_unaudited_steps(code: &str) -> bool {
    crate::ErrorCode::parse(code) == crate::ErrorCode::UnauditedClientCanOnlyPostToPrivateAccounts
}

/// What the creator has chosen so far. Every choice starts off: no audience, no interactions,
/// no disclosure — the guidelines forbid defaults the creator did not pick.
///
/// With the `store` feature (the app's), it is also a Leptos store: `Store<PostForm>` gives each
/// field its own reactive path (`form.caption()`, from `PostFormStoreFields`), while the rules
/// below stay plain methods, called on the whole form.
#[derive(Debug, Clone, Default, PartialEq)]
#[cfg_attr(feature = "store", derive(reactive_stores::Store))]
pub struct PostForm {
    /// Post now (the default) or send to the TikTok inbox as a draft.
    pub mode: PostMode,
    pub caption: String,
    pub privacy: Option<PrivacyLevel>,
    pub allow_comment: bool,
    pub allow_duet: bool,
    pub allow_stitch: bool,
    /// "Disclose video content": reveals the two commercial checkboxes.
    pub disclose: bool,
    /// "Your brand" → `brand_organic_toggle`.
    pub your_brand: bool,
    /// "Branded content" → `brand_content_toggle`.
    pub branded_content: bool,
    /// "AI-generated content" → `is_aigc`.
    pub is_aigc: bool,
    /// The frame TikTok shows as the cover, in milliseconds from the start
    /// (`video_cover_timestamp_ms`); TikTok picks one when none is chosen.
    pub cover_ms: Option<u32>,
}

/// One entry of the "Who can view this video" list.
#[derive(Debug, Clone, PartialEq)]
pub struct PrivacyChoice {
    pub level: PrivacyLevel,
    /// False when the current choices rule it out.
    pub enabled: bool,
    /// Why it is disabled.
    pub hint: Option<&'static str>,
}

/// The consent line shown right above the Post button.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declaration {
    /// "By posting, you agree to TikTok's Music Usage Confirmation."
    MusicUsage,
    /// "By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation."
    BrandedContentAndMusicUsage,
}

/// What stops the Post button, in the order a creator should fix it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Blocker {
    #[error("Choose a video first.")]
    NoVideo,
    #[error(transparent)]
    Video(#[from] VideoError),
    #[error("Choose who can view this video.")]
    NoPrivacy,
    #[error(transparent)]
    Caption(#[from] CaptionError),
    #[error("{DISCLOSURE_INCOMPLETE}")]
    DisclosureIncomplete,
    #[error("{BRANDED_NOT_PRIVATE}")]
    BrandedContentPrivate,
}

impl PostForm {
    /// The audiences to offer: exactly the creator's `privacy_level_options`, with "Only me"
    /// disabled while the post is branded content.
    pub fn privacy_choices(&self, creator: &Creator) -> Vec<PrivacyChoice> {
        creator
            .privacy_level_options
            .iter()
            .map(|level| {
                let blocked = *level == PrivacyLevel::SelfOnly && self.is_branded();
                PrivacyChoice {
                    level: level.clone(),
                    enabled: !blocked,
                    hint: blocked.then_some(BRANDED_NOT_PRIVATE),
                }
            })
            .collect()
    }

    /// Whether "Branded content" may be ticked: not while the audience is "Only me".
    pub fn branded_content_available(&self) -> bool {
        self.privacy != Some(PrivacyLevel::SelfOnly)
    }

    /// Whether "Branded content" shows ticked: a tick made while it was available counts only
    /// while it still is.
    pub fn branded_content_ticked(&self) -> bool {
        self.branded_content && self.branded_content_available()
    }

    /// Chooses the audience. "Only me" takes back a "Branded content" tick (made earlier, maybe
    /// while disclosure was off), so no hidden tick blocks the Post button later.
    pub fn set_privacy(&mut self, privacy: Option<PrivacyLevel>) {
        if privacy == Some(PrivacyLevel::SelfOnly) {
            self.branded_content = false;
        }
        self.privacy = privacy;
    }

    /// The visible note under the audience list: why "Only me" is unavailable, if it is.
    pub fn privacy_note(&self, creator: &Creator) -> Option<&'static str> {
        self.privacy_choices(creator)
            .into_iter()
            .find_map(|choice| choice.hint)
    }

    /// The visible note next to "Branded content": why it cannot be ticked, if so.
    pub fn branded_note(&self) -> Option<&'static str> {
        (self.disclose && !self.branded_content_available()).then_some(BRANDED_NEEDS_AUDIENCE)
    }

    /// The visible note under the disclosure boxes: shown whenever disclosure is on and neither
    /// box is ticked, whatever else is still missing.
    pub fn disclosure_note(&self) -> Option<&'static str> {
        (self.disclose && !self.your_brand && !self.branded_content_ticked())
            .then_some(DISCLOSURE_INCOMPLETE)
    }

    /// Keeps the choices within what `creator` now allows: an audience no longer offered is
    /// chosen again by the creator.
    pub fn fit_to(&mut self, creator: &Creator) {
        if self
            .privacy
            .as_ref()
            .is_some_and(|p| !creator.privacy_level_options.contains(p))
        {
            self.privacy = None;
        }
    }

    /// The label TikTok will put on the video, to tell the creator before posting.
    pub fn label_notice(&self) -> Option<&'static str> {
        if self.is_branded() {
            Some("Your video will be labeled as \"Paid partnership\".")
        } else if self.disclose && self.your_brand {
            Some("Your video will be labeled as \"Promotional content\".")
        } else {
            None
        }
    }

    /// The consent line for a direct post.
    pub fn declaration(&self) -> Declaration {
        if self.is_branded() {
            Declaration::BrandedContentAndMusicUsage
        } else {
            Declaration::MusicUsage
        }
    }

    /// The first thing that keeps the Post button disabled, if any. `video` is `None` until a
    /// video is chosen, then its length if the browser could read it; `creator` is TikTok's
    /// latest answer, whose limit the length is checked against whenever both are known (the
    /// page keeps Post blocked while the creator is still loading).
    pub fn blocker(
        &self,
        video: Option<Option<f64>>,
        creator: Option<&Creator>,
    ) -> Option<Blocker> {
        let Some(duration_secs) = video else {
            return Some(Blocker::NoVideo);
        };
        if self.mode == PostMode::Inbox {
            return None;
        }
        let limit = creator.map(|c| c.max_video_post_duration_sec);
        if let Some(Err(error)) = limit.map(|max| check_duration(duration_secs, max)) {
            return Some(Blocker::Video(error));
        }
        if self.privacy.is_none() {
            return Some(Blocker::NoPrivacy);
        }
        if let Err(error) = check_caption(&self.caption) {
            return Some(Blocker::Caption(error));
        }
        if self.disclosure_note().is_some() {
            return Some(Blocker::DisclosureIncomplete);
        }
        if self.is_branded() && self.privacy == Some(PrivacyLevel::SelfOnly) {
            return Some(Blocker::BrandedContentPrivate);
        }
        None
    }

    /// The post details for `POST /api/posts`. Interactions the creator's settings disable are
    /// sent disabled whatever the form says.
    pub fn post_fields(&self, creator: &Creator) -> PostFields {
        PostFields {
            title: self.caption.clone(),
            privacy_level: self.privacy.clone(),
            disable_comment: !self.allow_comment || creator.comment_disabled,
            disable_duet: !self.allow_duet || creator.duet_disabled,
            disable_stitch: !self.allow_stitch || creator.stitch_disabled,
            video_cover_timestamp_ms: self.cover_ms,
            brand_content_toggle: self.is_branded(),
            brand_organic_toggle: self.disclose && self.your_brand,
            is_aigc: self.is_aigc,
        }
    }

    fn is_branded(&self) -> bool {
        self.disclose && self.branded_content
    }
}

/// Whether TikTok's new answer about the creator changes what the screen offers or allows (the
/// avatar's address expires and changes on every query, so it does not count).
pub fn creator_changed(shown: &Creator, now: &Creator) -> bool {
    let same = Creator {
        avatar_url: shown.avatar_url.clone(),
        ..now.clone()
    };
    &same != shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn creator() -> Creator {
        Creator {
            nickname: "Ada".into(),
            username: "ada".into(),
            avatar_url: String::new(),
            privacy_level_options: vec![
                PrivacyLevel::PublicToEveryone,
                PrivacyLevel::MutualFollowFriends,
                PrivacyLevel::SelfOnly,
            ],
            comment_disabled: true,
            duet_disabled: false,
            stitch_disabled: false,
            max_video_post_duration_sec: 600,
        }
    }

    /// A chosen video whose length the browser read.
    const FIVE_SECONDS: Option<Option<f64>> = Some(Some(5.0));

    fn direct() -> PostForm {
        PostForm::default()
    }

    #[test]
    fn nothing_is_chosen_by_default() {
        let form = PostForm::default();
        assert_eq!(form.privacy, None);
        assert!(!form.allow_comment && !form.allow_duet && !form.allow_stitch && !form.disclose);
        assert_eq!(form.blocker(None, None), Some(Blocker::NoVideo));
        assert_eq!(form.mode, PostMode::Direct);
        assert_eq!(
            form.blocker(FIVE_SECONDS, Some(&creator())),
            Some(Blocker::NoPrivacy)
        );
        let inbox = PostForm {
            mode: PostMode::Inbox,
            ..PostForm::default()
        };
        assert_eq!(inbox.blocker(Some(None), None), None);
    }

    #[test]
    fn disclosure_rules() {
        let mut form = PostForm {
            privacy: Some(PrivacyLevel::PublicToEveryone),
            disclose: true,
            ..direct()
        };
        assert_eq!(
            form.blocker(FIVE_SECONDS, Some(&creator())),
            Some(Blocker::DisclosureIncomplete)
        );
        assert_eq!(
            Blocker::DisclosureIncomplete.to_string(),
            DISCLOSURE_INCOMPLETE
        );
        form.your_brand = true;
        assert_eq!(form.blocker(FIVE_SECONDS, Some(&creator())), None);
        assert_eq!(
            form.label_notice(),
            Some("Your video will be labeled as \"Promotional content\".")
        );
        assert_eq!(form.declaration(), Declaration::MusicUsage);
        form.branded_content = true;
        assert_eq!(
            form.label_notice(),
            Some("Your video will be labeled as \"Paid partnership\".")
        );
        assert_eq!(form.declaration(), Declaration::BrandedContentAndMusicUsage);
        let only_me = form
            .privacy_choices(&creator())
            .into_iter()
            .find(|c| c.level == PrivacyLevel::SelfOnly)
            .unwrap();
        assert!(!only_me.enabled);
        assert_eq!(only_me.hint, Some(BRANDED_NOT_PRIVATE));
        form.privacy = Some(PrivacyLevel::SelfOnly);
        assert!(!form.branded_content_available());
        assert_eq!(
            form.blocker(FIVE_SECONDS, Some(&creator())),
            Some(Blocker::BrandedContentPrivate)
        );
        // Ticked boxes under a closed disclosure count for nothing.
        let closed = PostForm {
            disclose: false,
            branded_content: true,
            your_brand: true,
            ..form
        };
        assert_eq!(closed.label_notice(), None);
        assert!(!closed.post_fields(&creator()).brand_content_toggle);
    }

    #[test]
    fn fields_follow_the_creators_settings() {
        let form = PostForm {
            caption: "hi #fyp".into(),
            privacy: Some(PrivacyLevel::MutualFollowFriends),
            allow_comment: true,
            allow_duet: true,
            is_aigc: true,
            cover_ms: Some(1_500),
            ..direct()
        };
        let fields = form.post_fields(&creator());
        assert_eq!(fields.video_cover_timestamp_ms, Some(1_500));
        assert!(fields.disable_comment, "the creator disabled comments");
        assert!(!fields.disable_duet);
        assert!(fields.disable_stitch, "not allowed by the form");
        assert!(fields.is_aigc);
        assert_eq!(
            fields.privacy_level,
            Some(PrivacyLevel::MutualFollowFriends)
        );
        assert_eq!(form.privacy_choices(&creator()).len(), 3);
    }

    #[test]
    fn the_length_is_checked_whenever_the_creator_is_known() {
        let form = PostForm {
            privacy: Some(PrivacyLevel::SelfOnly),
            ..direct()
        };
        let mut short = creator();
        short.max_video_post_duration_sec = 3;
        // Still loading the creator: the page blocks Post on the account, not here.
        assert_eq!(form.blocker(FIVE_SECONDS, None), None);
        assert!(matches!(
            form.blocker(FIVE_SECONDS, Some(&short)),
            Some(Blocker::Video(VideoError::TooLong { .. }))
        ));
        assert_eq!(
            form.blocker(Some(None), Some(&creator())),
            Some(Blocker::Video(VideoError::UnknownLength { max_secs: 600 }))
        );
        assert!(form.blocker(Some(Some(3.5)), Some(&short)).is_some());
        assert_eq!(form.blocker(Some(Some(3.0)), Some(&short)), None);
        // Drafts are finished in the TikTok app, which checks the length itself.
        let inbox = PostForm {
            mode: PostMode::Inbox,
            ..form
        };
        assert_eq!(inbox.blocker(Some(None), Some(&short)), None);
    }

    #[test]
    fn no_stale_branded_tick() {
        // Tick "Branded content", switch disclosure off, choose "Only me", switch it on again.
        let mut form = PostForm {
            disclose: true,
            branded_content: true,
            ..direct()
        };
        form.disclose = false;
        form.set_privacy(Some(PrivacyLevel::SelfOnly));
        form.disclose = true;
        assert!(!form.branded_content_ticked());
        assert_eq!(form.branded_note(), Some(BRANDED_NEEDS_AUDIENCE));
        assert_eq!(form.disclosure_note(), Some(DISCLOSURE_INCOMPLETE));
        form.your_brand = true;
        assert_eq!(form.blocker(FIVE_SECONDS, Some(&creator())), None);
    }

    #[test]
    fn explanations_are_there_whatever_else_is_missing() {
        let mut form = PostForm {
            disclose: true,
            ..direct()
        };
        // No audience yet, and still the disclosure note shows.
        assert_eq!(form.disclosure_note(), Some(DISCLOSURE_INCOMPLETE));
        form.branded_content = true;
        assert_eq!(form.disclosure_note(), None);
        assert_eq!(form.privacy_note(&creator()), Some(BRANDED_NOT_PRIVATE));
        form.disclose = false;
        assert_eq!(form.privacy_note(&creator()), None);
    }

    #[test]
    fn creator_changes_that_matter() {
        let shown = creator();
        let mut now = creator();
        now.avatar_url = "https://new.example/avatar.jpg".into();
        assert!(!creator_changed(&shown, &now), "avatar addresses expire");
        now.privacy_level_options = vec![PrivacyLevel::SelfOnly];
        assert!(creator_changed(&shown, &now));
        let mut form = PostForm {
            privacy: Some(PrivacyLevel::PublicToEveryone),
            ..direct()
        };
        form.fit_to(&now);
        assert_eq!(form.privacy, None);
        let mut limit = creator();
        limit.max_video_post_duration_sec = 60;
        assert!(creator_changed(&shown, &limit));
    }

    #[test]
    fn the_unaudited_refusal_comes_with_steps() {
        assert!(needs_unaudited_steps(
            "unaudited_client_can_only_post_to_private_accounts"
        ));
        assert!(!needs_unaudited_steps("spam_risk_too_many_posts"));
    }

    #[test]
    fn caption_limit_blocks() {
        let form = PostForm {
            privacy: Some(PrivacyLevel::SelfOnly),
            caption: "a".repeat(2201),
            ..direct()
        };
        assert!(matches!(
            form.blocker(FIVE_SECONDS, Some(&creator())),
            Some(Blocker::Caption(_))
        ));
    }
}
