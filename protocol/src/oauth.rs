//! TikTok's Login Kit (OAuth v2) rules as pure functions: the scopes and what each allows, PKCE
//! with TikTok's hex challenge, the authorize URL, the shapes a redirect URI may take, when to
//! refresh, and which token-endpoint failures are worth another try.
//!
//! Randomness comes from the caller (the proxy draws it, the sim draws it): this crate only
//! turns random bytes into the strings TikTok expects.

use crate::wire::PostMode;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Avatar and display name; Login Kit apps always have it.
pub const SCOPE_USER_INFO_BASIC: &str = "user.info.basic";
/// Direct Post and `creator_info/query`.
pub const SCOPE_VIDEO_PUBLISH: &str = "video.publish";
/// Upload to inbox (drafts).
pub const SCOPE_VIDEO_UPLOAD: &str = "video.upload";
/// What the autoposter asks for at authorize, in this order.
pub const REQUESTED_SCOPES: [&str; 3] = [
    SCOPE_USER_INFO_BASIC,
    SCOPE_VIDEO_PUBLISH,
    SCOPE_VIDEO_UPLOAD,
];

/// TikTok's authorize page, relative to the auth base.
pub const AUTHORIZE_PATH: &str = "/v2/auth/authorize/";
/// Where the authorize page lives (the browser goes there; the proxy never calls it).
pub const DEFAULT_AUTH_BASE: &str = "https://www.tiktok.com";

/// The only `code_challenge_method` TikTok supports.
pub const CODE_CHALLENGE_METHOD: &str = "S256";
/// The shortest `code_verifier` TikTok accepts.
pub const MIN_CODE_VERIFIER_LEN: usize = 43;
/// The longest `code_verifier` TikTok accepts.
pub const MAX_CODE_VERIFIER_LEN: usize = 128;

/// Never refresh earlier than this before expiry, however long the token lives.
pub const MAX_REFRESH_MARGIN_MS: u64 = 5 * 60 * 1000;

/// Delays between tries of a token-endpoint call that failed for a passing reason: quick, then
/// patient enough to ride out a short outage. Three retries, about 8 s in all.
pub const DEFAULT_TOKEN_RETRY_DELAYS_MS: [u32; 3] = [500, 2_000, 5_000];

/// What a person reads when TikTok no longer accepts the stored refresh token.
pub const RECONNECT_MESSAGE: &str = "TikTok no longer accepts this app's access to your account (it was revoked or has expired). Click Connect TikTok to sign in again.";
/// What a person reads when an app with a client key has never been connected.
pub const CONNECT_MESSAGE: &str =
    "No TikTok account is connected yet. Click Connect TikTok to sign in.";

/// Which Login Kit platform the app is registered as; it decides PKCE and redirect URI rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum OAuthMode {
    /// An `https` redirect URI on a public host; no PKCE.
    Web,
    /// A `localhost`/`127.0.0.1` redirect URI with a port, and PKCE: the self-hosted default.
    #[default]
    Desktop,
}

impl OAuthMode {
    /// `web` or `desktop`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::Desktop => "desktop",
        }
    }

    /// Whether the authorize request carries a `code_challenge` and the exchange a verifier.
    pub fn uses_pkce(self) -> bool {
        self == Self::Desktop
    }
}

impl fmt::Display for OAuthMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OAuthMode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "web" => Ok(Self::Web),
            "desktop" => Ok(Self::Desktop),
            other => Err(format!(
                "{other:?} is not an OAuth mode; use web or desktop"
            )),
        }
    }
}

/// A `state` or `code_verifier` from caller-drawn random bytes: their lowercase hex. 32 bytes
/// give 64 characters and 256 bits, within PKCE's 43–128 characters of `[A-Za-z0-9-._~]`.
pub fn random_token(random: &[u8]) -> String {
    hex::encode(random)
}

/// Whether `verifier` is a `code_verifier` TikTok accepts: 43 to 128 of `[A-Za-z0-9-._~]`.
pub fn is_code_verifier(verifier: &str) -> bool {
    (MIN_CODE_VERIFIER_LEN..=MAX_CODE_VERIFIER_LEN).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// TikTok's `code_challenge`: the **hex** SHA-256 of the verifier (not RFC 7636's base64url).
pub fn code_challenge(verifier: &str) -> String {
    hex::encode(Sha256::digest(verifier.as_bytes()))
}

/// Whether `verifier` is well formed and hashes to `challenge` (hex, either case).
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    is_code_verifier(verifier)
        && constant_time_eq(&code_challenge(verifier), &challenge.to_ascii_lowercase())
}

/// Compares two secrets in time that depends only on their lengths, so a guesser learns
/// nothing from how long a refusal took.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |diff, (x, y)| diff | (x ^ y))
            == 0
}

/// Why a redirect URI cannot be registered for a mode. The text is for the person configuring.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("a web redirect URI must be an absolute https:// URL, not {0:?}")]
    WebNeedsHttps(String),
    #[error(
        "a desktop redirect URI must be http(s)://localhost:PORT/… or http(s)://127.0.0.1:PORT/…, not {0:?}"
    )]
    DesktopNeedsLoopbackPort(String),
    #[error("a redirect URI takes no query or #fragment: {0:?}")]
    QueryOrFragment(String),
    #[error("a redirect URI must be shorter than 512 characters")]
    TooLong,
}

/// Checks `uri` against TikTok's registration rules for `mode` (Login Kit Web and Desktop).
pub fn check_redirect_uri(mode: OAuthMode, uri: &str) -> Result<(), RedirectUriError> {
    if uri.len() >= 512 {
        return Err(RedirectUriError::TooLong);
    }
    if uri.contains(['?', '#']) {
        return Err(RedirectUriError::QueryOrFragment(uri.to_owned()));
    }
    let (scheme, rest) = uri.split_once("://").unwrap_or(("", ""));
    let authority = rest.split('/').next().unwrap_or("");
    match mode {
        OAuthMode::Web => {
            let host = authority
                .rsplit_once(':')
                .map_or(authority, |(host, _)| host);
            if !scheme.eq_ignore_ascii_case("https") || host.is_empty() || authority.contains('@') {
                return Err(RedirectUriError::WebNeedsHttps(uri.to_owned()));
            }
        }
        OAuthMode::Desktop => {
            let loopback = authority.rsplit_once(':').is_some_and(|(host, port)| {
                matches!(host, "localhost" | "127.0.0.1")
                    && (port == "*" || (!port.is_empty() && port.parse::<u16>().is_ok()))
            });
            let scheme_ok = matches!(scheme, "http" | "https");
            if !(scheme_ok && loopback) {
                return Err(RedirectUriError::DesktopNeedsLoopbackPort(uri.to_owned()));
            }
        }
    }
    Ok(())
}

/// What goes into the authorize URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorize<'a> {
    /// The app's client key (TikTok does not call it `client_id`).
    pub client_key: &'a str,
    /// Joined with commas, as TikTok wants.
    pub scopes: &'a [&'a str],
    /// Exactly as registered, and exactly as sent again at the code exchange.
    pub redirect_uri: &'a str,
    /// The CSRF token TikTok echoes back.
    pub state: &'a str,
    /// The hex challenge, in desktop mode only.
    pub code_challenge: Option<&'a str>,
}

/// `{auth_base}/v2/auth/authorize/?client_key=…&scope=…&redirect_uri=…&state=…&response_type=code&disable_auto_auth=1`
/// (plus `code_challenge` and `code_challenge_method=S256` with PKCE), form-URL-encoded.
/// `disable_auto_auth=1` makes TikTok show its consent page even to a browser already signed
/// in and consenting, so the person always sees which account is being connected.
pub fn authorize_url(auth_base: &str, request: &Authorize<'_>) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("client_key", request.client_key)
        .append_pair("scope", &request.scopes.join(","))
        .append_pair("redirect_uri", request.redirect_uri)
        .append_pair("state", request.state)
        .append_pair("response_type", "code")
        .append_pair("disable_auto_auth", "1");
    if let Some(challenge) = request.code_challenge {
        query
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", CODE_CHALLENGE_METHOD);
    }
    format!(
        "{}{AUTHORIZE_PATH}?{}",
        auth_base.trim_end_matches('/'),
        query.finish()
    )
}

/// A granted scope list (`"user.info.basic,video.publish"`) as its parts: commas or spaces
/// separate, blanks and repeats are dropped, order is kept.
pub fn parse_scopes(list: &str) -> Vec<String> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in list.split([',', ' ']).map(str::trim) {
        if !scope.is_empty() && !scopes.iter().any(|known| known == scope) {
            scopes.push(scope.to_owned());
        }
    }
    scopes
}

/// What a set of granted scopes allows, and what to say when it is not everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grants {
    /// `video.publish` was granted: Direct Post (and `creator_info`) work.
    pub can_direct: bool,
    /// `video.upload` was granted: drafts to the inbox work.
    pub can_inbox: bool,
    /// What is missing and what to re-grant; `None` when both are there.
    pub message: Option<String>,
}

/// Reads granted scopes (`None`: unknown, as with a static access token, so assume both).
pub fn grants(scopes: Option<&[String]>) -> Grants {
    let Some(scopes) = scopes else {
        return Grants {
            can_direct: true,
            can_inbox: true,
            message: None,
        };
    };
    let has = |wanted: &str| scopes.iter().any(|scope| scope == wanted);
    let (can_direct, can_inbox) = (has(SCOPE_VIDEO_PUBLISH), has(SCOPE_VIDEO_UPLOAD));
    let message = match (can_direct, can_inbox) {
        (true, true) => None,
        (false, true) => Some(format!(
            "TikTok was not allowed to publish for you ({SCOPE_VIDEO_PUBLISH}), so only drafts to your TikTok inbox are possible. Click Connect TikTok and allow posting to post directly."
        )),
        (true, false) => Some(format!(
            "TikTok was not allowed to upload drafts ({SCOPE_VIDEO_UPLOAD}), so only direct posts are possible. Click Connect TikTok and allow uploads to send drafts."
        )),
        (false, false) => Some(format!(
            "TikTok was allowed neither to publish ({SCOPE_VIDEO_PUBLISH}) nor to upload drafts ({SCOPE_VIDEO_UPLOAD}). Click Connect TikTok and allow both."
        )),
    };
    Grants {
        can_direct,
        can_inbox,
        message,
    }
}

impl Grants {
    /// Whether a post in `mode` may be started.
    pub fn allows(&self, mode: PostMode) -> bool {
        match mode {
            PostMode::Direct => self.can_direct,
            PostMode::Inbox => self.can_inbox,
        }
    }
}

/// The refusal for a post whose mode the granted scopes do not allow.
pub fn scope_refusal(mode: PostMode) -> String {
    match mode {
        PostMode::Direct => format!(
            "This TikTok connection may not post directly: the {SCOPE_VIDEO_PUBLISH} permission was not granted. Send it as a draft, or click Connect TikTok and allow posting."
        ),
        PostMode::Inbox => format!(
            "This TikTok connection may not upload drafts: the {SCOPE_VIDEO_UPLOAD} permission was not granted. Post it directly, or click Connect TikTok and allow uploads."
        ),
    }
}

/// When a token issued at `issued_at_ms` for `expires_in` seconds stops working (Unix ms).
pub fn expires_at_ms(issued_at_ms: u64, expires_in_secs: u64) -> u64 {
    issued_at_ms.saturating_add(expires_in_secs.saturating_mul(1000))
}

/// How long before expiry to refresh a token that lives `lifetime_ms`: 10 % of the lifetime,
/// at most five minutes (a 24 h or 2 h token refreshes 5 min early, a 2 s one 200 ms early).
pub fn refresh_margin_ms(lifetime_ms: u64) -> u64 {
    (lifetime_ms / 10).min(MAX_REFRESH_MARGIN_MS)
}

/// Whether a token issued at `issued_at_ms` and expiring at `expires_at_ms` should be refreshed
/// at `now_ms` (all Unix ms). An already expired token is due, of course.
pub fn refresh_due(now_ms: u64, issued_at_ms: u64, expires_at_ms: u64) -> bool {
    let margin = refresh_margin_ms(expires_at_ms.saturating_sub(issued_at_ms));
    now_ms.saturating_add(margin) >= expires_at_ms
}

/// How a call to the token (or revoke) endpoint failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenFailure<'a> {
    /// No answer: connection refused or reset, or the call timed out.
    Network,
    /// An HTTP status with no readable OAuth error in the body.
    Http(u16),
    /// TikTok's OAuth `error` (whatever the HTTP status).
    Refused(&'a str),
}

/// What to do about a failed token-endpoint call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAction {
    /// Passing trouble: try again after this many milliseconds. The stored tokens stay.
    RetryAfter { delay_ms: u32 },
    /// The refresh token is dead or revoked: the person must connect again.
    Reconnect,
    /// Trying again cannot help (bad client credentials, or out of retries); tokens stay.
    Stop,
}

/// Decides after `attempt` failed tries (1 for the first) with `delays_ms` between tries.
/// Only `invalid_grant` ever leads to [`TokenAction::Reconnect`].
pub fn after_token_failure(
    failure: TokenFailure<'_>,
    attempt: u32,
    delays_ms: &[u32],
) -> TokenAction {
    let retry = || {
        let index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        delays_ms
            .get(index)
            .map_or(TokenAction::Stop, |&delay_ms| TokenAction::RetryAfter {
                delay_ms,
            })
    };
    match failure {
        TokenFailure::Network | TokenFailure::Http(429 | 500..=599) => retry(),
        TokenFailure::Refused("temporarily_unavailable" | "server_error") => retry(),
        TokenFailure::Refused("invalid_grant") => TokenAction::Reconnect,
        TokenFailure::Http(_) | TokenFailure::Refused(_) => TokenAction::Stop,
    }
}

/// The readable reason shown after a failed connect, from the callback's `error` and
/// `error_description` (or the token endpoint's).
pub fn connect_error_reason(error: &str, description: &str) -> String {
    let ours = match error {
        "access_denied" => "You did not allow the app on TikTok's page.",
        "invalid_scope" => "TikTok refused the permissions the app asked for.",
        "invalid_client" | "unauthorized_client" => {
            "TikTok did not accept the app's client key or secret."
        }
        "invalid_grant" => "TikTok refused the sign-in code; please try again.",
        "temporarily_unavailable" | "server_error" => {
            "TikTok's sign-in is having trouble; try again in a few minutes."
        }
        _ => "TikTok's sign-in did not complete.",
    };
    let description = description.trim();
    if description.is_empty() {
        ours.to_owned()
    } else {
        // TikTok's text can be long; a URL parameter should not be.
        let short: String = description.chars().take(200).collect();
        format!("{ours} TikTok said: {short}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn hex_challenge_known_vector() {
        // The SHA-256 of "abc" (FIPS 180-2), hex-encoded as TikTok wants.
        assert_eq!(
            code_challenge("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let verifier = "a".repeat(43);
        let challenge = code_challenge(&verifier);
        assert_eq!(challenge.len(), 64);
        assert!(pkce_matches(&verifier, &challenge));
        assert!(pkce_matches(&verifier, &challenge.to_ascii_uppercase()));
        assert!(!pkce_matches(&"b".repeat(43), &challenge));
        // "abc" hashes right but is too short to be a verifier.
        assert!(!pkce_matches(
            "abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        ));
    }

    #[test]
    fn code_verifiers() {
        for (verifier, ok) in [
            ("a".repeat(42), false),
            ("a".repeat(43), true),
            ("a".repeat(128), true),
            ("a".repeat(129), false),
            (format!("{}-._~", "Az09".repeat(10)), true),
            (format!("{}+", "a".repeat(43)), false),
            (format!("{}/", "a".repeat(43)), false),
            (format!("{}é", "a".repeat(43)), false),
        ] {
            assert_eq!(is_code_verifier(&verifier), ok, "{verifier:?}");
        }
        let token = random_token(&[0xab; 32]);
        assert_eq!(token.len(), 64);
        assert!(is_code_verifier(&token));
    }

    #[test]
    fn redirect_uris() {
        use OAuthMode::*;
        for (mode, uri, ok) in [
            (Web, "https://example.com/auth/callback", true),
            (Web, "https://example.com:8443/auth/callback", true),
            (Web, "http://example.com/auth/callback", false),
            (Web, "https://example.com/cb?x=1", false),
            (Web, "https://example.com/cb#top", false),
            (Web, "example.com/cb", false),
            (Desktop, "http://localhost:8787/auth/callback", true),
            (Desktop, "http://127.0.0.1:40000/auth/callback", true),
            (Desktop, "https://localhost:*/auth/callback", true),
            (Desktop, "http://localhost/auth/callback", false),
            (Desktop, "http://example.com:8787/auth/callback", false),
            (Desktop, "ftp://localhost:8787/auth/callback", false),
            (Desktop, "http://localhost:99999/cb", false),
        ] {
            assert_eq!(check_redirect_uri(mode, uri).is_ok(), ok, "{mode} {uri}");
        }
        let long = format!("https://example.com/{}", "a".repeat(600));
        assert_eq!(
            check_redirect_uri(Web, &long),
            Err(RedirectUriError::TooLong)
        );
        assert_eq!("Desktop".parse(), Ok(Desktop));
        assert!("mobile".parse::<OAuthMode>().is_err());
    }

    #[test]
    fn authorize_urls() {
        let scopes = REQUESTED_SCOPES;
        let web = Authorize {
            client_key: "ck",
            scopes: &scopes,
            redirect_uri: "https://example.com/auth/callback",
            state: "s1",
            code_challenge: None,
        };
        assert_eq!(
            authorize_url("https://www.tiktok.com/", &web),
            "https://www.tiktok.com/v2/auth/authorize/?client_key=ck&scope=user.info.basic%2Cvideo.publish%2Cvideo.upload&redirect_uri=https%3A%2F%2Fexample.com%2Fauth%2Fcallback&state=s1&response_type=code&disable_auto_auth=1"
        );
        let desktop = Authorize {
            code_challenge: Some("abcd"),
            ..web
        };
        assert!(authorize_url(DEFAULT_AUTH_BASE, &desktop).ends_with(
            "&response_type=code&disable_auto_auth=1&code_challenge=abcd&code_challenge_method=S256"
        ));
    }

    #[test]
    fn scopes_and_what_they_allow() {
        assert_eq!(
            parse_scopes("user.info.basic,video.publish, video.upload,,video.publish"),
            ["user.info.basic", "video.publish", "video.upload"]
        );
        assert_eq!(parse_scopes("a b"), ["a", "b"]);
        assert!(parse_scopes("").is_empty());
        let check = |list: &str, direct: bool, inbox: bool, says: Option<&str>| {
            let scopes = parse_scopes(list);
            let got = grants(Some(&scopes));
            assert_eq!((got.can_direct, got.can_inbox), (direct, inbox), "{list}");
            match says {
                None => assert_eq!(got.message, None, "{list}"),
                Some(word) => assert!(got.message.as_ref().unwrap().contains(word), "{list}"),
            }
            assert_eq!(got.allows(PostMode::Direct), direct);
            assert_eq!(got.allows(PostMode::Inbox), inbox);
        };
        check(
            "user.info.basic,video.publish,video.upload",
            true,
            true,
            None,
        );
        check(
            "user.info.basic,video.upload",
            false,
            true,
            Some("only drafts"),
        );
        check(
            "user.info.basic,video.publish",
            true,
            false,
            Some("only direct"),
        );
        check("user.info.basic", false, false, Some("allow both"));
        let unknown = grants(None);
        assert!(unknown.can_direct && unknown.can_inbox && unknown.message.is_none());
        assert!(scope_refusal(PostMode::Inbox).contains(SCOPE_VIDEO_UPLOAD));
        assert!(scope_refusal(PostMode::Direct).contains(SCOPE_VIDEO_PUBLISH));
    }

    #[test]
    fn refresh_timing() {
        const H: u64 = 3_600_000;
        // (lifetime, time left, due)
        for (lifetime_ms, left_ms, due) in [
            (24 * H, 6 * 60_000, false),
            (24 * H, 5 * 60_000, true),
            (2 * H, 5 * 60_000 + 1, false),
            (2 * H, 4 * 60_000, true),
            (2_000, 201, false),
            (2_000, 200, true),
            (2_000, 0, true),
            (0, 0, true),
        ] {
            let issued = 1_000_000;
            let expires = issued + lifetime_ms;
            let now = expires - left_ms;
            assert_eq!(
                refresh_due(now, issued, expires),
                due,
                "{lifetime_ms} {left_ms}"
            );
        }
        // Long past expiry, and a clock that went backwards, are both fine.
        assert!(refresh_due(u64::MAX, 0, 10));
        assert!(!refresh_due(0, 100, 10_000_000));
        assert_eq!(expires_at_ms(1_000, 86_400), 86_401_000);
        assert_eq!(expires_at_ms(1, u64::MAX), u64::MAX);
    }

    #[test]
    fn token_failures() {
        use TokenAction::*;
        let delays = DEFAULT_TOKEN_RETRY_DELAYS_MS;
        for (failure, attempt, expected) in [
            (TokenFailure::Network, 1, RetryAfter { delay_ms: 500 }),
            (TokenFailure::Network, 3, RetryAfter { delay_ms: 5_000 }),
            (TokenFailure::Network, 4, Stop),
            (TokenFailure::Http(503), 2, RetryAfter { delay_ms: 2_000 }),
            (TokenFailure::Http(429), 1, RetryAfter { delay_ms: 500 }),
            (TokenFailure::Http(404), 1, Stop),
            (
                TokenFailure::Refused("temporarily_unavailable"),
                1,
                RetryAfter { delay_ms: 500 },
            ),
            (
                TokenFailure::Refused("server_error"),
                3,
                RetryAfter { delay_ms: 5_000 },
            ),
            (TokenFailure::Refused("server_error"), 4, Stop),
            (TokenFailure::Refused("invalid_grant"), 1, Reconnect),
            (TokenFailure::Refused("invalid_client"), 1, Stop),
            (TokenFailure::Refused("invalid_request"), 1, Stop),
        ] {
            assert_eq!(
                after_token_failure(failure, attempt, &delays),
                expected,
                "{failure:?} {attempt}"
            );
        }
    }

    #[test]
    fn connect_errors_read_well_and_stay_short() {
        assert_eq!(
            connect_error_reason("access_denied", ""),
            "You did not allow the app on TikTok's page."
        );
        let long = connect_error_reason("whatever", &"x".repeat(1000));
        assert!(long.starts_with("TikTok's sign-in did not complete. TikTok said: xxx"));
        assert!(long.len() < 300);
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "abcd"));
    }
}
