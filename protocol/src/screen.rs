//! The posting screen's rules, from TikTok's content-sharing guidelines, as plain data: which
//! audiences may be chosen, which toggles are available, what the creator must be told, and
//! what still stands between the form and the Post button. The app only renders these answers.

use crate::caption::{CaptionError, check_caption};
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
/// The hover text TikTok prescribes for disclosure switched on with nothing ticked.
pub const DISCLOSURE_INCOMPLETE: &str =
    "You need to indicate if your content promotes yourself, a third party, or both.";

/// What the creator has chosen so far. Every choice starts off: no audience, no interactions,
/// no disclosure — the guidelines forbid defaults the creator did not pick.
#[derive(Debug, Clone, Default, PartialEq)]
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

    /// The first thing that keeps the Post button disabled, if any.
    pub fn blocker(&self, has_video: bool) -> Option<Blocker> {
        if !has_video {
            return Some(Blocker::NoVideo);
        }
        if self.mode == PostMode::Inbox {
            return None;
        }
        if self.privacy.is_none() {
            return Some(Blocker::NoPrivacy);
        }
        if let Err(error) = check_caption(&self.caption) {
            return Some(Blocker::Caption(error));
        }
        if self.disclose && !self.your_brand && !self.branded_content {
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
            video_cover_timestamp_ms: None,
            brand_content_toggle: self.is_branded(),
            brand_organic_toggle: self.disclose && self.your_brand,
            is_aigc: self.is_aigc,
        }
    }

    fn is_branded(&self) -> bool {
        self.disclose && self.branded_content
    }
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

    fn direct() -> PostForm {
        PostForm::default()
    }

    #[test]
    fn nothing_is_chosen_by_default() {
        let form = PostForm::default();
        assert_eq!(form.privacy, None);
        assert!(!form.allow_comment && !form.allow_duet && !form.allow_stitch && !form.disclose);
        assert_eq!(form.blocker(false), Some(Blocker::NoVideo));
        assert_eq!(form.mode, PostMode::Direct);
        assert_eq!(form.blocker(true), Some(Blocker::NoPrivacy));
        let inbox = PostForm {
            mode: PostMode::Inbox,
            ..PostForm::default()
        };
        assert_eq!(inbox.blocker(true), None);
    }

    #[test]
    fn disclosure_rules() {
        let mut form = PostForm {
            privacy: Some(PrivacyLevel::PublicToEveryone),
            disclose: true,
            ..direct()
        };
        assert_eq!(form.blocker(true), Some(Blocker::DisclosureIncomplete));
        assert_eq!(
            Blocker::DisclosureIncomplete.to_string(),
            DISCLOSURE_INCOMPLETE
        );
        form.your_brand = true;
        assert_eq!(form.blocker(true), None);
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
        assert_eq!(form.blocker(true), Some(Blocker::BrandedContentPrivate));
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
            ..direct()
        };
        let fields = form.post_fields(&creator());
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
    fn caption_limit_blocks() {
        let form = PostForm {
            privacy: Some(PrivacyLevel::SelfOnly),
            caption: "a".repeat(2201),
            ..direct()
        };
        assert!(matches!(form.blocker(true), Some(Blocker::Caption(_))));
    }
}
