//! The eight things the simulator answers, named once for routing, rate limits and faults.

use protocol::tiktok::paths;

/// The path of the upload host; `upload_url` is `{base_url}/upload/?upload_id=…&upload_token=…`.
pub const UPLOAD_PATH: &str = "/upload/";

/// One endpoint of the simulated TikTok.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `POST /v2/post/publish/creator_info/query/`.
    CreatorInfo,
    /// `POST /v2/post/publish/video/init/` (Direct Post).
    VideoInit,
    /// `POST /v2/post/publish/inbox/video/init/` (upload to inbox).
    InboxInit,
    /// `POST /v2/post/publish/status/fetch/`.
    StatusFetch,
    /// `PUT /upload/?upload_id=…&upload_token=…` (the upload host).
    Upload,
    /// `GET /v2/auth/authorize/`: a stand-in for TikTok's consent page that agrees at once.
    Authorize,
    /// `POST /v2/oauth/token/`: the code exchange and the refresh.
    OAuthToken,
    /// `POST /v2/oauth/revoke/`.
    OAuthRevoke,
}

impl Endpoint {
    /// Every endpoint, in the order a post uses them, then OAuth's.
    pub const ALL: [Endpoint; 8] = [
        Self::CreatorInfo,
        Self::VideoInit,
        Self::InboxInit,
        Self::StatusFetch,
        Self::Upload,
        Self::Authorize,
        Self::OAuthToken,
        Self::OAuthRevoke,
    ];

    /// The path the endpoint is served on.
    pub fn path(self) -> &'static str {
        match self {
            Self::CreatorInfo => paths::CREATOR_INFO,
            Self::VideoInit => paths::VIDEO_INIT,
            Self::InboxInit => paths::INBOX_VIDEO_INIT,
            Self::StatusFetch => paths::STATUS_FETCH,
            Self::Upload => UPLOAD_PATH,
            Self::Authorize => protocol::oauth::AUTHORIZE_PATH,
            Self::OAuthToken => paths::OAUTH_TOKEN,
            Self::OAuthRevoke => paths::OAUTH_REVOKE,
        }
    }

    /// The endpoint served on `path`, matched exactly (TikTok's paths end with a slash).
    pub fn from_path(path: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|endpoint| endpoint.path() == path)
    }
}
