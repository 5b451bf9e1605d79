//! How a simulator is set up: the token it accepts, the creator it plays, TikTok's rate limits,
//! and the timings that tests shorten.

use crate::endpoint::Endpoint;
use protocol::PrivacyLevel;
use std::time::Duration;

/// The bearer token a default simulator accepts.
pub const DEFAULT_ACCESS_TOKEN: &str = "sim-access-token";
/// The client key the OAuth endpoints accept by default.
pub const DEFAULT_CLIENT_KEY: &str = "sim-client-key";
/// The client secret the token and revoke endpoints accept by default.
pub const DEFAULT_CLIENT_SECRET: &str = "sim-client-secret";
/// How long an access token from the token endpoint works: the 2 hours of TikTok's newer docs.
pub const DEFAULT_ACCESS_TOKEN_TTL: Duration = Duration::from_secs(2 * 60 * 60);
/// How long a refresh token works if unused: the 180 days of TikTok's newer docs.
pub const DEFAULT_REFRESH_TOKEN_TTL: Duration = Duration::from_secs(180 * 24 * 60 * 60);
/// How long "processing" lasts after the final chunk: long enough to see `PROCESSING_UPLOAD` in
/// the demo, short enough not to bore anyone.
pub const DEFAULT_PROCESSING_DELAY: Duration = Duration::from_secs(2);
/// TikTok's `upload_url` lifetime: the whole upload must finish within an hour of init.
pub const DEFAULT_UPLOAD_URL_TTL: Duration =
    Duration::from_secs(protocol::limits::UPLOAD_URL_LIFETIME_SECS);
/// TikTok's limit on `creator_info/query`, per access token per minute.
pub const CREATOR_INFO_PER_MINUTE: u32 = 20;
/// TikTok's limit on each init endpoint, per access token per minute.
pub const INIT_PER_MINUTE: u32 = 6;
/// TikTok's limit on `status/fetch`, per access token per minute.
pub const STATUS_PER_MINUTE: u32 = 30;
/// The longest video a default creator may post: the doc example's five minutes.
pub const DEFAULT_MAX_DURATION_SEC: u32 = 300;

/// A small pink avatar as a `data:` URL, so showing it never leaves the machine.
const DEFAULT_AVATAR_URL: &str = "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 64 64'%3E%3Ccircle cx='32' cy='32' r='32' fill='%23fe2c55'/%3E%3Ctext x='32' y='42' font-size='28' text-anchor='middle' fill='white' font-family='sans-serif'%3ES%3C/text%3E%3C/svg%3E";

/// Everything a simulator is started with. `Default` is TikTok as documented.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// A bearer token the API endpoints always accept (with every scope), besides the access
    /// tokens the token endpoint issues.
    pub access_token: String,
    /// The app's client key: the authorize page, token and revoke endpoints check it.
    pub client_key: String,
    /// The app's client secret: the token and revoke endpoints check it.
    pub client_secret: String,
    /// The lifetime of issued access tokens (`expires_in`, in whole seconds, rounded up); after
    /// it the API answers 401 `access_token_invalid`.
    pub access_token_ttl: Duration,
    /// The lifetime of issued refresh tokens (`refresh_expires_in`); each is also single-use.
    pub refresh_token_ttl: Duration,
    /// The scopes the stand-in person grants at authorize: the requested ones that are also in
    /// this list. `None` grants everything requested; an empty list denies (`access_denied`).
    pub grant_scopes: Option<Vec<String>>,
    /// The creator `creator_info/query` describes and whose rules init enforces.
    pub persona: Persona,
    /// Per token, per endpoint, per sliding minute; `None` disables a limit.
    pub rate_limits: RateLimits,
    /// Whether the upload host answers CORS preflights, so a browser may PUT chunks directly.
    pub cors: bool,
    /// After the final chunk, how long status/fetch keeps saying `PROCESSING_UPLOAD`.
    pub processing_delay: Duration,
    /// How long an `upload_url` works after init; later PUTs answer 403.
    pub upload_url_ttl: Duration,
    /// Which multi-chunk plans init accepts: as documented, or as TikTok was seen to behave.
    pub chunk_rule: ChunkRule,
}

impl Default for SimOptions {
    fn default() -> Self {
        Self {
            access_token: DEFAULT_ACCESS_TOKEN.to_owned(),
            client_key: DEFAULT_CLIENT_KEY.to_owned(),
            client_secret: DEFAULT_CLIENT_SECRET.to_owned(),
            access_token_ttl: DEFAULT_ACCESS_TOKEN_TTL,
            refresh_token_ttl: DEFAULT_REFRESH_TOKEN_TTL,
            grant_scopes: None,
            persona: Persona::default(),
            rate_limits: RateLimits::default(),
            cors: true,
            processing_delay: DEFAULT_PROCESSING_DELAY,
            upload_url_ttl: DEFAULT_UPLOAD_URL_TTL,
            chunk_rule: ChunkRule::Documented,
        }
    }
}

/// The message TikTok was seen to refuse multi-chunk plans with (DayMoonDevelopment/
/// post-for-me#327), under HTTP 400 and the code `invalid_params`.
pub const CHUNK_SIZE_INVALID: &str = "The chunk size is invalid";

/// Which multi-chunk plans `video/init` and `inbox/video/init` accept. Whole uploads (one chunk
/// of at most 64,000,000 bytes) are checked as documented under every rule: the field report
/// says they kept working.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChunkRule {
    /// TikTok's documented rule: `ChunkPlan::validate`.
    #[default]
    Documented,
    /// Stricter than documented, as one guess at the rule behind the field report: a
    /// multi-chunk plan must follow `PlanReading::SmallerLastChunk`, and a documented plan whose
    /// last chunk is larger than the others gets 400 `invalid_params` [`CHUNK_SIZE_INVALID`].
    SmallerLastChunk,
    /// The field report as seen from outside: every multi-chunk plan gets 400 `invalid_params`
    /// [`CHUNK_SIZE_INVALID`], whichever reading it follows.
    WholeOnly,
}

impl ChunkRule {
    /// Every rule, with the name [`ChunkRule::parse`] reads.
    pub const NAMES: [(&str, Self); 3] = [
        ("documented", Self::Documented),
        ("smaller-last", Self::SmallerLastChunk),
        ("whole-only", Self::WholeOnly),
    ];

    /// `documented`, `smaller-last` or `whole-only`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::NAMES
            .iter()
            .find(|(known, _)| *known == name)
            .map(|(_, rule)| *rule)
    }
}

/// The creator behind the access token, as `creator_info/query` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Persona {
    /// `creator_nickname`: the posting page must show it.
    pub nickname: String,
    /// `creator_username`: the creator's handle.
    pub username: String,
    /// `creator_avatar_url`.
    pub avatar_url: String,
    /// The audiences a direct post may choose; anything else is `privacy_level_option_mismatch`.
    pub privacy_level_options: Vec<PrivacyLevel>,
    /// The creator set comments to "No one".
    pub comment_disabled: bool,
    /// Duet is off (always for a private account).
    pub duet_disabled: bool,
    /// Stitch is off (always for a private account).
    pub stitch_disabled: bool,
    /// The longest video this creator may post, in seconds.
    pub max_video_post_duration_sec: u32,
    /// Whether the app passed TikTok's audit. An unaudited app may direct-post only to a private
    /// account: otherwise init answers 403 `unaudited_client_can_only_post_to_private_accounts`.
    pub audited: bool,
    /// Whether the creator's account is private.
    pub private_account: bool,
    /// TikTok's daily cap on this account's Direct Posts through the API ("typically around
    /// 15", and it varies by creator): past it, `video/init` answers 403
    /// `spam_risk_too_many_posts`. Counts completed direct uploads of the last 24 hours. `None`
    /// (the default) leaves it out, so long demos and test runs are not capped.
    pub daily_post_cap: Option<u32>,
}

impl Default for Persona {
    /// A public account of an audited app, offered every public audience.
    fn default() -> Self {
        Self {
            nickname: "Sim Creator".to_owned(),
            username: "sim.creator".to_owned(),
            avatar_url: DEFAULT_AVATAR_URL.to_owned(),
            privacy_level_options: Self::privacy_options_for(false),
            comment_disabled: false,
            duet_disabled: false,
            stitch_disabled: false,
            max_video_post_duration_sec: DEFAULT_MAX_DURATION_SEC,
            audited: true,
            private_account: false,
            daily_post_cap: None,
        }
    }
}

impl Persona {
    /// A private account, as TikTok describes one: followers, friends or only me, with Duet and
    /// Stitch forced off.
    pub fn private() -> Self {
        Self {
            privacy_level_options: Self::privacy_options_for(true),
            duet_disabled: true,
            stitch_disabled: true,
            private_account: true,
            ..Self::default()
        }
    }

    /// The `privacy_level_options` TikTok offers a public or a private account.
    pub fn privacy_options_for(private_account: bool) -> Vec<PrivacyLevel> {
        let widest = if private_account {
            PrivacyLevel::FollowerOfCreator
        } else {
            PrivacyLevel::PublicToEveryone
        };
        vec![
            widest,
            PrivacyLevel::MutualFollowFriends,
            PrivacyLevel::SelfOnly,
        ]
    }
}

/// Requests allowed per access token, per endpoint, in any sliding minute. `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// `creator_info/query`; TikTok allows 20.
    pub creator_info: Option<u32>,
    /// Each of `video/init` and `inbox/video/init`, counted separately; TikTok allows 6.
    pub init: Option<u32>,
    /// `status/fetch`; TikTok allows 30.
    pub status: Option<u32>,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            creator_info: Some(CREATOR_INFO_PER_MINUTE),
            init: Some(INIT_PER_MINUTE),
            status: Some(STATUS_PER_MINUTE),
        }
    }
}

impl RateLimits {
    /// No limits at all, for demos that click fast.
    pub fn off() -> Self {
        Self {
            creator_info: None,
            init: None,
            status: None,
        }
    }

    /// The limit that applies to `endpoint` (uploads and OAuth are never limited).
    pub(crate) fn for_endpoint(&self, endpoint: Endpoint) -> Option<u32> {
        match endpoint {
            Endpoint::CreatorInfo => self.creator_info,
            Endpoint::VideoInit | Endpoint::InboxInit => self.init,
            Endpoint::StatusFetch => self.status,
            Endpoint::Upload
            | Endpoint::Authorize
            | Endpoint::OAuthToken
            | Endpoint::OAuthRevoke => None,
        }
    }
}
