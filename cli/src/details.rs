//! A post's details as the CLI sends them: from flags, from a watched file's sidecar, or both
//! (the sidecar wins), turned into the fields of `POST /api/upload`.

use crate::error::Error;
use protocol::wire::{CreatePost, PostFields, PostMode};
use protocol::{ContentType, PrivacyLevel, VideoCheck, VideoError};
use serde::Deserialize;

/// Who may watch the video, in the words of TikTok's posting screen; TikTok's own spelling
/// (`SELF_ONLY`, as the API and a sidecar write it) is taken too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Privacy {
    /// Everyone (`PUBLIC_TO_EVERYONE`).
    #[value(alias = "PUBLIC_TO_EVERYONE")]
    Public,
    /// Friends: followers the creator follows back (`MUTUAL_FOLLOW_FRIENDS`).
    #[value(alias = "MUTUAL_FOLLOW_FRIENDS")]
    Friends,
    /// Followers (`FOLLOWER_OF_CREATOR`).
    #[value(alias = "FOLLOWER_OF_CREATOR")]
    Followers,
    /// Only the creator (`SELF_ONLY`).
    #[value(alias = "SELF_ONLY")]
    OnlyMe,
}

impl Privacy {
    /// TikTok's `privacy_level` for it.
    pub fn level(self) -> PrivacyLevel {
        match self {
            Self::Public => PrivacyLevel::PublicToEveryone,
            Self::Friends => PrivacyLevel::MutualFollowFriends,
            Self::Followers => PrivacyLevel::FollowerOfCreator,
            Self::OnlyMe => PrivacyLevel::SelfOnly,
        }
    }

    /// Our word (`only-me`) or TikTok's (`SELF_ONLY`), as a sidecar may write either.
    pub fn parse(text: &str) -> Option<PrivacyLevel> {
        use clap::ValueEnum;
        Self::from_str(text, true).ok().map(Self::level)
    }
}

/// The post's details. `None` is "not said": the proxy's default applies (or, for a watched
/// file, the watcher's flags).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostDetails {
    pub mode: Option<PostMode>,
    #[serde(alias = "title")]
    pub caption: Option<String>,
    /// `public`, `friends`, `followers`, `only-me`, or TikTok's own spelling.
    #[serde(deserialize_with = "privacy_level")]
    pub privacy_level: Option<PrivacyLevel>,
    pub disable_comment: Option<bool>,
    pub disable_duet: Option<bool>,
    pub disable_stitch: Option<bool>,
    pub brand_content_toggle: Option<bool>,
    pub brand_organic_toggle: Option<bool>,
    pub is_aigc: Option<bool>,
    /// When to post: RFC 3339 or a delay such as `30m`; the proxy reads it.
    pub publish_at: Option<String>,
    /// Post even if this video was sent before.
    pub force: Option<bool>,
}

impl PostDetails {
    /// `self`, with everything `over` says put over it.
    pub fn overlaid(&self, over: &PostDetails) -> PostDetails {
        fn pick<T: Clone>(over: &Option<T>, under: &Option<T>) -> Option<T> {
            over.clone().or_else(|| under.clone())
        }
        PostDetails {
            mode: pick(&over.mode, &self.mode),
            caption: pick(&over.caption, &self.caption),
            privacy_level: pick(&over.privacy_level, &self.privacy_level),
            disable_comment: pick(&over.disable_comment, &self.disable_comment),
            disable_duet: pick(&over.disable_duet, &self.disable_duet),
            disable_stitch: pick(&over.disable_stitch, &self.disable_stitch),
            brand_content_toggle: pick(&over.brand_content_toggle, &self.brand_content_toggle),
            brand_organic_toggle: pick(&over.brand_organic_toggle, &self.brand_organic_toggle),
            is_aigc: pick(&over.is_aigc, &self.is_aigc),
            publish_at: pick(&over.publish_at, &self.publish_at),
            force: pick(&over.force, &self.force),
        }
    }

    /// The form fields of `POST /api/upload`, only those said, in the order the proxy can
    /// check them before the video arrives (they go ahead of the file part).
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut fields = Vec::new();
        if let Some(mode) = self.mode {
            let mode = match mode {
                PostMode::Direct => "direct",
                PostMode::Inbox => "inbox",
            };
            fields.push(("mode", mode.to_owned()));
        }
        if let Some(caption) = &self.caption {
            fields.push(("caption", caption.clone()));
        }
        if let Some(level) = &self.privacy_level {
            fields.push(("privacy_level", level.as_str().to_owned()));
        }
        let flags = [
            ("disable_comment", self.disable_comment),
            ("disable_duet", self.disable_duet),
            ("disable_stitch", self.disable_stitch),
            ("brand_content_toggle", self.brand_content_toggle),
            ("brand_organic_toggle", self.brand_organic_toggle),
            ("is_aigc", self.is_aigc),
            ("force", self.force),
        ];
        for (name, value) in flags {
            if let Some(value) = value {
                fields.push((name, value.to_string()));
            }
        }
        if let Some(at) = &self.publish_at {
            fields.push(("publish_at", at.clone()));
        }
        fields
    }

    /// What the proxy would refuse before posting, checked here with the same `protocol`
    /// rules so a refused video is not sent at all: a file of `size` bytes starting with
    /// `head` that is no video TikTok takes, or details TikTok would refuse. The error carries
    /// the proxy's code for it.
    /// On success, the container the first bytes show.
    pub fn check(&self, file_name: &str, size: u64, head: &[u8]) -> Result<ContentType, Error> {
        let video = VideoCheck {
            size,
            sniffed: ContentType::sniff(head),
            duration_secs: None,
        };
        let content_type = video.check().map_err(|error| {
            let code = match error {
                // The length is the page's check (against the creator's limit), never this one's.
                VideoError::NotAVideo
                | VideoError::TooLong { .. }
                | VideoError::UnknownLength { .. } => "not_a_video",
                VideoError::Empty => "empty_video",
                VideoError::TooLarge { .. } => "video_too_large",
            };
            Error::Invalid {
                code,
                message: error.to_string(),
            }
        })?;
        let post = CreatePost {
            mode: self.mode.unwrap_or_default(),
            video_size: size,
            content_type: content_type.mime().to_owned(),
            file_name: file_name.to_owned(),
            post_info: PostFields {
                title: self.caption.clone().unwrap_or_default(),
                privacy_level: self.privacy_level.clone(),
                disable_comment: self.disable_comment.unwrap_or_default(),
                disable_duet: self.disable_duet.unwrap_or_default(),
                disable_stitch: self.disable_stitch.unwrap_or_default(),
                video_cover_timestamp_ms: None,
                brand_content_toggle: self.brand_content_toggle.unwrap_or_default(),
                brand_organic_toggle: self.brand_organic_toggle.unwrap_or_default(),
                is_aigc: self.is_aigc.unwrap_or_default(),
            },
        };
        post.validate()
            .map(|_| content_type)
            .map_err(|invalid| Error::Invalid {
                code: invalid.code(),
                message: invalid.to_string(),
            })
    }

    /// A sidecar `NAME.json`: the same fields as the upload form.
    pub fn from_json(text: &str) -> Result<Self, Error> {
        serde_json::from_str(text).map_err(|error| {
            Error::Usage(format!(
                "not the post's details ({error}); it takes mode, caption, privacy_level, \
                 disable_comment, disable_duet, disable_stitch, brand_content_toggle, \
                 brand_organic_toggle, is_aigc, publish_at and force"
            ))
        })
    }
}

fn privacy_level<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<PrivacyLevel>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    text.map(|text| {
        Privacy::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "privacy_level {text:?} is not public, friends, followers or only-me"
            ))
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(json: &str, expected: &[(&str, &str)]) {
        let details = PostDetails::from_json(json).unwrap();
        let fields = details.fields();
        let got: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
        assert_eq!(got, expected, "{json}");
    }

    #[test]
    fn sidecar_fields() {
        check("{}", &[]);
        check(
            r#"{"caption":"hi #fyp","privacy_level":"only-me","disable_duet":true}"#,
            &[
                ("caption", "hi #fyp"),
                ("privacy_level", "SELF_ONLY"),
                ("disable_duet", "true"),
            ],
        );
        check(
            r#"{"mode":"inbox","title":"t","privacy_level":"FOLLOWER_OF_CREATOR","publish_at":"30m","force":false}"#,
            &[
                ("mode", "inbox"),
                ("caption", "t"),
                ("privacy_level", "FOLLOWER_OF_CREATOR"),
                ("force", "false"),
                ("publish_at", "30m"),
            ],
        );
    }

    #[test]
    fn sidecar_mistakes_are_refused() {
        for json in [
            r#"{"captoin":"typo"}"#,
            r#"{"privacy_level":"everyone"}"#,
            r#"{"mode":"draft"}"#,
            "caption as plain text",
        ] {
            assert!(PostDetails::from_json(json).is_err(), "{json}");
        }
    }

    const MP4_HEAD: &[u8] = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";

    #[test]
    fn refused_before_sending() {
        let check = |json: &str, size: u64, head: &[u8], expected: Result<(), &str>| {
            let details = PostDetails::from_json(json).unwrap();
            let got =
                details
                    .check("clip.mp4", size, head)
                    .map(drop)
                    .map_err(|error| match error {
                        Error::Invalid { code, .. } => code,
                        other => panic!("{other:?}"),
                    });
            assert_eq!(got, expected, "{json} {size}");
        };
        let private = r#"{"privacy_level":"only-me"}"#;
        check(private, 1000, MP4_HEAD, Ok(()));
        check(r#"{"mode":"inbox"}"#, 1000, MP4_HEAD, Ok(()));
        check(private, 1000, b"just some text", Err("not_a_video"));
        check(private, 0, b"", Err("empty_video"));
        check(private, 5_000_000_000, MP4_HEAD, Err("video_too_large"));
        check("{}", 1000, MP4_HEAD, Err("privacy_level_missing"));
        check(
            r#"{"privacy_level":"only-me","brand_content_toggle":true}"#,
            1000,
            MP4_HEAD,
            Err("branded_content_private"),
        );
        let long = format!(
            r#"{{"privacy_level":"public","caption":"{}"}}"#,
            "a".repeat(2300)
        );
        check(&long, 1000, MP4_HEAD, Err("caption_too_long"));
    }

    #[test]
    fn privacy_words() {
        assert_eq!(Privacy::Friends.level().as_str(), "MUTUAL_FOLLOW_FRIENDS");
        assert_eq!(Privacy::Public.level().as_str(), "PUBLIC_TO_EVERYONE");
        assert_eq!(Privacy::Followers.level().as_str(), "FOLLOWER_OF_CREATOR");
        assert_eq!(Privacy::parse("only-me"), Some(PrivacyLevel::SelfOnly));
        assert_eq!(Privacy::parse("SELF_ONLY"), Some(PrivacyLevel::SelfOnly));
        assert_eq!(
            Privacy::parse("public_to_everyone"),
            Some(PrivacyLevel::PublicToEveryone)
        );
        assert_eq!(Privacy::parse("nobody"), None);
        // `--privacy` (case-sensitive, as clap parses it) takes TikTok's spelling too.
        let flag = <Privacy as clap::ValueEnum>::from_str("SELF_ONLY", false);
        assert_eq!(flag, Ok(Privacy::OnlyMe));
    }

    #[test]
    fn a_sidecar_wins_over_flags() {
        let flags = PostDetails {
            privacy_level: Some(PrivacyLevel::SelfOnly),
            caption: Some("default".into()),
            disable_comment: Some(true),
            ..PostDetails::default()
        };
        let sidecar =
            PostDetails::from_json(r#"{"caption":"mine","disable_comment":false}"#).unwrap();
        let both = flags.overlaid(&sidecar);
        assert_eq!(both.caption.as_deref(), Some("mine"));
        assert_eq!(both.disable_comment, Some(false));
        assert_eq!(both.privacy_level, Some(PrivacyLevel::SelfOnly));
    }
}
