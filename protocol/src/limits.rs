//! TikTok's posting limits: how long an upload URL lives, and, as a server-side job meets them,
//! which refusals mean "not now" rather than "never", so the job waits and tries again instead
//! of failing.

use crate::ErrorCode;

/// How long TikTok's `upload_url` (from a `FILE_UPLOAD` init) accepts chunks: one hour.
pub const UPLOAD_URL_LIFETIME_SECS: u64 = 3600;

/// TikTok's limit on each init endpoint, per access token, per sliding minute.
pub const INIT_PER_MINUTE: u32 = 6;

/// How long a job waits before trying its init again after a failure on the way (TikTok
/// unreachable or silent, or its own 5xx), one entry per attempt, in seconds: a scheduled post
/// should not be lost to a minute's outage, nor retried forever. Past the last, the job fails.
pub const INIT_RETRY_DELAYS_SECS: [u64; 5] = [10, 30, 60, 300, 900];

/// A limit that passes with time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// 429 `rate_limit_exceeded`: too many calls this minute.
    RateLimited,
    /// `spam_risk_too_many_pending_share`: five drafts in the inbox not yet posted in 24 h.
    /// Slots come back as the creator posts (or TikTok forgets) drafts.
    PendingShares,
    /// `spam_risk_too_many_posts`: the account's daily cap of API posts (shared by every app).
    DailyCap,
    /// `reached_active_user_cap`: this app's daily quota of posting creators is used up.
    ActiveUserCap,
}

impl Limit {
    /// The limit a TikTok refusal reports, if it is one that passes; `None` for every other
    /// code (a ban, a wrong privacy level, a bad plan: waiting would not help).
    pub fn of(code: &ErrorCode) -> Option<Self> {
        match code {
            ErrorCode::RateLimitExceeded => Some(Self::RateLimited),
            ErrorCode::SpamRiskTooManyPendingShare => Some(Self::PendingShares),
            ErrorCode::SpamRiskTooManyPosts => Some(Self::DailyCap),
            ErrorCode::ReachedActiveUserCap => Some(Self::ActiveUserCap),
            _ => None,
        }
    }

    /// Why a job waits, for people.
    pub fn reason(self) -> &'static str {
        match self {
            Self::RateLimited => {
                "TikTok allows only a few uploads to start each minute; this one waits its turn."
            }
            Self::PendingShares => {
                "The TikTok inbox holds 5 drafts not yet posted (TikTok's limit in 24 hours); this one waits until a slot frees. Posting or deleting a draft in the TikTok app frees one."
            }
            Self::DailyCap => {
                "This account reached TikTok's daily limit of posts from apps; this one waits and tries again."
            }
            Self::ActiveUserCap => {
                "This app reached TikTok's daily limit of posting accounts; this one waits and tries again."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_refusals_wait() {
        for (code, limit) in [
            ("rate_limit_exceeded", Some(Limit::RateLimited)),
            (
                "spam_risk_too_many_pending_share",
                Some(Limit::PendingShares),
            ),
            ("spam_risk_too_many_posts", Some(Limit::DailyCap)),
            ("reached_active_user_cap", Some(Limit::ActiveUserCap)),
            ("spam_risk_user_banned_from_posting", None),
            ("privacy_level_option_mismatch", None),
            ("invalid_param", None),
            ("internal_error", None),
        ] {
            assert_eq!(Limit::of(&ErrorCode::parse(code)), limit, "{code}");
        }
    }
}
