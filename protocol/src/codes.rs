//! TikTok's `error.code` values as data: the HTTP status TikTok sends with each, whether trying
//! again can help, and what a creator should read. Unknown codes are kept verbatim, never dropped.

use std::fmt;

/// One `error.code` from TikTok's v2 API (generic and Content Posting codes).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    Ok,
    AccessTokenInvalid,
    ScopeNotAuthorized,
    ScopePermissionMissed,
    /// TikTok spells it `invalid_param` on the posting pages and `invalid_params` in the generic
    /// table: both parse to this.
    InvalidParams,
    InvalidFileUpload,
    RateLimitExceeded,
    InternalError,
    AppVersionCheckFailed,
    SpamRiskTooManyPosts,
    SpamRiskUserBannedFromPosting,
    SpamRiskTooManyPendingShare,
    ReachedActiveUserCap,
    UnauditedClientCanOnlyPostToPrivateAccounts,
    UrlOwnershipUnverified,
    PrivacyLevelOptionMismatch,
    InvalidPublishId,
    TokenNotAuthorizedForSpecifiedPublishId,
    PublishNotCancellable,
    /// A code this crate does not know, kept as TikTok sent it.
    Other(String),
}

/// Every known code with its canonical spelling, HTTP status, retryability and message.
const TABLE: &[(ErrorCode, &str, u16, bool, &str)] = {
    use ErrorCode::*;
    &[
        (Ok, "ok", 200, false, "Done."),
        (
            AccessTokenInvalid,
            "access_token_invalid",
            401,
            false,
            "TikTok no longer accepts this app's access to your account. Reconnect TikTok and try again.",
        ),
        (
            ScopeNotAuthorized,
            "scope_not_authorized",
            401,
            false,
            "Your TikTok account has not allowed this app to post. Reconnect TikTok and grant the posting permission.",
        ),
        (
            ScopePermissionMissed,
            "scope_permission_missed",
            400,
            false,
            "This needs a TikTok permission the account has not granted. Reconnect TikTok and grant it.",
        ),
        (
            InvalidParams,
            "invalid_param",
            400,
            false,
            "TikTok refused the request as invalid. Check the video and the post details, then try again.",
        ),
        (
            InvalidFileUpload,
            "invalid_file_upload",
            400,
            false,
            "TikTok refused the file: it does not meet TikTok's video requirements.",
        ),
        (
            RateLimitExceeded,
            "rate_limit_exceeded",
            429,
            true,
            "TikTok is limiting how often this can be done. Wait a minute and try again.",
        ),
        (
            InternalError,
            "internal_error",
            500,
            true,
            "TikTok had a problem on its side. Try again in a few minutes.",
        ),
        (
            AppVersionCheckFailed,
            "app_version_check_failed",
            400,
            false,
            "Your TikTok app is too old for this. Update the TikTok app and try again.",
        ),
        (
            SpamRiskTooManyPosts,
            "spam_risk_too_many_posts",
            403,
            false,
            "You have reached TikTok's daily limit of posts from apps. Try again tomorrow.",
        ),
        (
            SpamRiskUserBannedFromPosting,
            "spam_risk_user_banned_from_posting",
            403,
            false,
            "TikTok does not allow this account to post right now. Try again later.",
        ),
        (
            SpamRiskTooManyPendingShare,
            "spam_risk_too_many_pending_share",
            403,
            false,
            "You already have 5 drafts waiting in your TikTok inbox from the last 24 hours. Post or delete some in the TikTok app, then try again.",
        ),
        (
            ReachedActiveUserCap,
            "reached_active_user_cap",
            403,
            false,
            "This app has reached TikTok's daily limit of posting accounts. Try again later.",
        ),
        (
            UnauditedClientCanOnlyPostToPrivateAccounts,
            "unaudited_client_can_only_post_to_private_accounts",
            403,
            false,
            "This app is not yet approved by TikTok, so it can only post to a private account. Make your TikTok account private (Settings > Privacy) and choose \"Only me\", or send the video to your drafts instead.",
        ),
        (
            UrlOwnershipUnverified,
            "url_ownership_unverified",
            403,
            false,
            "TikTok cannot pull the video from that address: its domain is not verified for this app.",
        ),
        (
            PrivacyLevelOptionMismatch,
            "privacy_level_option_mismatch",
            403,
            false,
            "That audience is not available for your account right now. Reload the page and choose who can view the video again.",
        ),
        (
            InvalidPublishId,
            "invalid_publish_id",
            400,
            false,
            "TikTok does not know this post. It may be from another account or too old.",
        ),
        (
            TokenNotAuthorizedForSpecifiedPublishId,
            "token_not_authorized_for_specified_publish_id",
            400,
            false,
            "This post belongs to a different TikTok account than the one connected.",
        ),
        (
            PublishNotCancellable,
            "publish_not_cancellable",
            400,
            false,
            "This post is already finished and can no longer be cancelled.",
        ),
    ]
};

impl ErrorCode {
    /// Parses TikTok's spelling; unknown codes become [`ErrorCode::Other`].
    pub fn parse(code: &str) -> Self {
        if code == "invalid_params" {
            return Self::InvalidParams;
        }
        TABLE
            .iter()
            .find(|(_, name, ..)| *name == code)
            .map(|(known, ..)| known.clone())
            .unwrap_or_else(|| Self::Other(code.to_owned()))
    }

    /// The spelling TikTok's posting endpoints use.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(code) => code,
            known => entry(known).map_or("unknown", |(_, name, ..)| name),
        }
    }

    /// The HTTP status TikTok sends with this code (500 for unknown codes).
    pub fn http_status(&self) -> u16 {
        entry(self).map_or(500, |(_, _, status, ..)| *status)
    }

    /// Whether the same request may succeed later without anything changing.
    pub fn is_retryable(&self) -> bool {
        entry(self).is_some_and(|(_, _, _, retry, _)| *retry)
    }

    /// Whether this is the success code.
    pub fn is_ok(&self) -> bool {
        matches!(self, Self::Ok)
    }

    /// Whether it says the creator cannot post now (creator_info's "intentional" HTTP 200 codes).
    pub fn blocks_posting(&self) -> bool {
        matches!(
            self,
            Self::SpamRiskTooManyPosts
                | Self::SpamRiskUserBannedFromPosting
                | Self::ReachedActiveUserCap
        )
    }

    /// What a creator should read.
    pub fn user_message(&self) -> &'static str {
        entry(self).map_or(
            "TikTok refused the request for a reason this app does not recognise.",
            |(.., message)| message,
        )
    }

    /// Every known code, for tests and documentation.
    pub fn known() -> impl Iterator<Item = &'static ErrorCode> {
        TABLE.iter().map(|(code, ..)| code)
    }
}

fn entry(code: &ErrorCode) -> Option<&'static (ErrorCode, &'static str, u16, bool, &'static str)> {
    TABLE.iter().find(|(known, ..)| known == code)
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for ErrorCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Ok(Self::parse(&code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn check(code: &str, status: u16, retryable: bool) {
        let parsed = ErrorCode::parse(code);
        assert_eq!(parsed.http_status(), status, "{code}");
        assert_eq!(parsed.is_retryable(), retryable, "{code}");
        assert!(!parsed.user_message().is_empty());
    }

    #[test]
    fn codes_as_documented() {
        check("ok", 200, false);
        check("access_token_invalid", 401, false);
        check("scope_not_authorized", 401, false);
        check("scope_permission_missed", 400, false);
        check("invalid_param", 400, false);
        check("invalid_params", 400, false);
        check("invalid_file_upload", 400, false);
        check("rate_limit_exceeded", 429, true);
        check("internal_error", 500, true);
        check("app_version_check_failed", 400, false);
        check("spam_risk_too_many_posts", 403, false);
        check("spam_risk_user_banned_from_posting", 403, false);
        check("spam_risk_too_many_pending_share", 403, false);
        check("reached_active_user_cap", 403, false);
        check(
            "unaudited_client_can_only_post_to_private_accounts",
            403,
            false,
        );
        check("url_ownership_unverified", 403, false);
        check("privacy_level_option_mismatch", 403, false);
        check("invalid_publish_id", 400, false);
        check("token_not_authorized_for_specified_publish_id", 400, false);
        check("publish_not_cancellable", 400, false);
    }

    #[test]
    fn spellings_round_trip_and_unknown_codes_are_kept() {
        assert_eq!(ErrorCode::parse("invalid_params"), ErrorCode::InvalidParams);
        assert_eq!(ErrorCode::parse("invalid_param"), ErrorCode::InvalidParams);
        for code in ErrorCode::known() {
            assert_eq!(&ErrorCode::parse(code.as_str()), code);
        }
        let odd = ErrorCode::parse("brand_new_code");
        assert_eq!(odd, ErrorCode::Other("brand_new_code".into()));
        assert_eq!(odd.as_str(), "brand_new_code");
        assert_eq!(serde_json::to_string(&odd).unwrap(), "\"brand_new_code\"");
    }

    #[test]
    fn creator_info_blocking_codes() {
        assert!(ErrorCode::SpamRiskTooManyPosts.blocks_posting());
        assert!(ErrorCode::ReachedActiveUserCap.blocks_posting());
        assert!(!ErrorCode::RateLimitExceeded.blocks_posting());
    }
}
