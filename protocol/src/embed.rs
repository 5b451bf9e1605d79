//! Embedding the uploader in another site: which origins may call the proxy, and the two
//! credentials such a call must carry — a long-lived embed key, or a short-lived ticket the host
//! site's backend signs.
//!
//! A ticket is `v1.<expiry>.<mac>`: `expiry` in Unix seconds (plain decimal, no leading zeros),
//! `mac` the lowercase hex HMAC-SHA256, keyed with the secret shared with the proxy, of
//! [`ticket_mac_input`] — `"v1\n<origin>\n<expiry>"`, with the origin as [`Origin`] normalises it.
//! A ticket is good for the one origin it names, until its expiry, and no ticket may be valid
//! for more than [`MAX_TICKET_LIFETIME_SECS`].
//!
//! Everything here is plain data in, plain data out: the proxy reads the headers and the clock
//! and only calls these functions.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// The header an embed key travels in.
pub const KEY_HEADER: &str = "x-autoposter-key";
/// The header a ticket travels in.
pub const TICKET_HEADER: &str = "x-autoposter-ticket";
/// The version tag a ticket starts with and its MAC input's first line.
pub const TICKET_VERSION: &str = "v1";
/// The longest a ticket may be valid into the future: a day. A ticket sits in a page a visitor
/// can read, so it must die soon; a host backend mints one per page view, for minutes or hours.
pub const MAX_TICKET_LIFETIME_SECS: u64 = 24 * 60 * 60;
/// The shortest embed key accepted at start-up: 16 characters of a random string are beyond
/// guessing, and a shorter "key" is a password someone chose.
pub const MIN_EMBED_KEY_LEN: usize = 16;
/// The shortest ticket secret accepted at start-up: HMAC-SHA256's own block of strength
/// (32 bytes, e.g. `openssl rand -hex 32` gives 64 characters).
pub const MIN_TICKET_SECRET_LEN: usize = 32;
/// The longest ticket looked at: `v1.` + 20 digits + `.` + 64 hex digits is 88 characters.
const MAX_TICKET_LEN: usize = 100;
/// The longest `Origin` header looked at; browsers send far shorter ones.
const MAX_ORIGIN_LEN: usize = 300;

/// A web origin, normalised: lowercase `http` or `https`, `://`, the lowercase host, and
/// `:port` only when it is not the scheme's default. No path, no trailing slash. Two spellings
/// of one origin compare equal once parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Origin(String);

/// Why a text is not an origin this proxy can be told to trust. The text is for the person
/// configuring `AUTOPOSTER_ALLOWED_ORIGINS`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OriginError {
    #[error(
        "{0:?}: wildcards are not allowed; list each origin exactly, like https://cms.example.com"
    )]
    Wildcard(String),
    #[error("{0:?}: an origin starts with http:// or https://, like https://cms.example.com")]
    Scheme(String),
    #[error(
        "{0:?}: an origin is scheme://host[:port] only, with no path, query or user, like https://cms.example.com"
    )]
    HasPath(String),
    #[error("{0:?}: the host is missing or has characters a host cannot have")]
    Host(String),
    #[error("{0:?}: the port must be a number from 1 to 65535")]
    Port(String),
}

impl Origin {
    /// Parses and normalises `text` (surrounding whitespace and one trailing `/` are allowed)
    /// the way browsers write origins (the WHATWG URL standard, by the `url` crate): scheme and
    /// host lowercased, an international name in punycode, an IPv6 address in its shortest form
    /// (`[0::1]` is `[::1]`), the scheme's default port dropped.
    pub fn parse(text: &str) -> Result<Self, OriginError> {
        let text = text.trim();
        let raw = || text.chars().take(MAX_ORIGIN_LEN).collect::<String>();
        if text.contains('*') {
            return Err(OriginError::Wildcard(raw()));
        }
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| OriginError::Scheme(raw()))?;
        if !(scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")) {
            return Err(OriginError::Scheme(raw()));
        }
        // Checked on the text, before the URL parser would quietly drop or fold them: a path
        // (also `/.`), a query, a fragment, a user, a backslash, and an empty port (`host:`).
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#', '@', '\\']) {
            return Err(OriginError::HasPath(raw()));
        }
        if text.len() > MAX_ORIGIN_LEN {
            return Err(OriginError::Host(raw()));
        }
        if authority.ends_with(':') {
            return Err(OriginError::Port(raw()));
        }
        let url = url::Url::parse(text).map_err(|error| match error {
            url::ParseError::InvalidPort => OriginError::Port(raw()),
            _ => OriginError::Host(raw()),
        })?;
        if url.port() == Some(0) {
            return Err(OriginError::Port(raw()));
        }
        match url.origin() {
            origin @ url::Origin::Tuple(..) => Ok(Self(origin.ascii_serialization())),
            url::Origin::Opaque(_) => Err(OriginError::Host(raw())),
        }
    }

    /// The normalised text, e.g. `https://cms.example.com` or `http://127.0.0.1:5000`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Origin {
    type Err = OriginError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::parse(text)
    }
}

/// `AUTOPOSTER_ALLOWED_ORIGINS`: comma-separated origins, each parsed; empty entries are
/// skipped and repeats kept once. An empty list allows no other site.
pub fn parse_origin_list(list: &str) -> Result<Vec<Origin>, OriginError> {
    parse_list(list, Origin::parse)
}

/// A comma-separated setting: each non-empty entry parsed by `parse`, repeats kept once, the
/// first bad entry's error returned.
pub(crate) fn parse_list<T: PartialEq, E>(
    list: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, E> {
    let mut items: Vec<T> = Vec::new();
    for entry in list.split(',').filter(|entry| !entry.trim().is_empty()) {
        let item = parse(entry)?;
        if !items.contains(&item) {
            items.push(item);
        }
    }
    Ok(items)
}

/// Why an embed key or ticket secret cannot be used; for the person configuring the proxy.
/// The secret itself is never part of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "each embed key must be at least {MIN_EMBED_KEY_LEN} characters (try `openssl rand -hex 32`)"
    )]
    KeyTooShort,
    #[error(
        "embed keys may hold only visible ASCII characters (no spaces or commas): they travel in a header"
    )]
    KeyCharacters,
    #[error(
        "the ticket secret must be at least {MIN_TICKET_SECRET_LEN} characters (try `openssl rand -hex 32`)"
    )]
    SecretTooShort,
}

/// Whether `key` can be an embed key: long enough, and sendable as a header value.
pub fn check_embed_key(key: &str) -> Result<(), SecretError> {
    if !key.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
        return Err(SecretError::KeyCharacters);
    }
    if key.len() < MIN_EMBED_KEY_LEN {
        return Err(SecretError::KeyTooShort);
    }
    Ok(())
}

/// Whether `secret` is long enough to sign tickets with.
pub fn check_ticket_secret(secret: &str) -> Result<(), SecretError> {
    if secret.len() < MIN_TICKET_SECRET_LEN {
        return Err(SecretError::SecretTooShort);
    }
    Ok(())
}

/// Who is calling, as far as the origin goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The proxy's own page, or a script (no `Origin`): served as always, with no credential.
    SameOrigin,
    /// A page on an allowed origin: it must carry a credential, and gets CORS headers.
    Embedded(Origin),
}

/// The request headers the origin decision reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestOrigin<'a> {
    /// `Origin`, as sent.
    pub origin: Option<&'a str>,
    /// `Host`, as sent: the proxy's own authority as the browser sees it (a reverse proxy in
    /// front must pass it through).
    pub host: Option<&'a str>,
    /// `Sec-Fetch-Site`, which browsers set and scripts on a page cannot.
    pub sec_fetch_site: Option<&'a str>,
}

/// Why a request from another site is refused. `Display` is for the developer of the site that
/// embeds the uploader; [`Refusal::code`] is for its script.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The request comes from a site not in `AUTOPOSTER_ALLOWED_ORIGINS`; holds its origin as
    /// sent, if it sent one.
    #[error(
        "This proxy does not accept requests from {}. Its operator can add the site to AUTOPOSTER_ALLOWED_ORIGINS.",
        .0.as_deref().map_or("another site".to_owned(), |origin| format!("{origin:?}"))
    )]
    OriginNotAllowed(Option<String>),
    /// From an allowed origin, but with neither an embed key nor a ticket.
    #[error(
        "Requests from another site need an embed key (X-Autoposter-Key) or a ticket (X-Autoposter-Ticket)."
    )]
    CredentialMissing,
    /// The embed key is not one of the configured keys.
    #[error("The embed key (X-Autoposter-Key) is not one this proxy accepts.")]
    KeyInvalid,
    /// A ticket, but the proxy has no secret to check tickets with.
    #[error("This proxy does not accept tickets: AUTOPOSTER_TICKET_SECRET is not set.")]
    TicketsNotAccepted,
    /// The ticket is malformed, or its signature does not match (tampered, or another secret).
    #[error(
        "The ticket (X-Autoposter-Ticket) is not valid: it is malformed or was not signed with this proxy's secret."
    )]
    TicketInvalid,
    /// The ticket's expiry has passed.
    #[error("The ticket has expired. Reload the page to get a new one.")]
    TicketExpired,
    /// The ticket was signed for another allowed origin.
    #[error("The ticket was issued for another site, not this one.")]
    TicketWrongOrigin,
    /// The ticket is signed but valid for longer than [`MAX_TICKET_LIFETIME_SECS`].
    #[error(
        "The ticket is valid for more than 24 hours; the site's backend must issue shorter-lived ones."
    )]
    TicketTooLongLived,
}

impl Refusal {
    /// The code scripts match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::OriginNotAllowed(_) => "origin_not_allowed",
            Self::CredentialMissing => "embed_credential_missing",
            Self::KeyInvalid => "embed_key_invalid",
            Self::TicketsNotAccepted => "ticket_not_accepted",
            Self::TicketInvalid => "ticket_invalid",
            Self::TicketExpired => "ticket_expired",
            Self::TicketWrongOrigin => "ticket_wrong_origin",
            Self::TicketTooLongLived => "ticket_too_long_lived",
        }
    }
}

/// Decides who is calling from the origin headers alone.
///
/// Same origin: no `Origin` (scripts, curl, same-origin GETs), an `Origin` equal to the proxy's
/// own as the `Host` header shows it (over http, or https behind a reverse proxy), or
/// `Sec-Fetch-Site: same-origin`. An allowed origin is [`Caller::Embedded`]. Everything else is
/// refused — also a request with no `Origin` that the browser marks as coming from another site
/// (a link, an image or a form elsewhere), which has no business with the API.
pub fn caller(request: &RequestOrigin<'_>, allowed: &[Origin]) -> Result<Caller, Refusal> {
    let fetch_site = request.sec_fetch_site.unwrap_or("").trim();
    let Some(sent) = request.origin else {
        return if fetch_site.eq_ignore_ascii_case("cross-site")
            || fetch_site.eq_ignore_ascii_case("same-site")
        {
            Err(Refusal::OriginNotAllowed(None))
        } else {
            Ok(Caller::SameOrigin)
        };
    };
    let refused =
        || Refusal::OriginNotAllowed(Some(sent.trim().chars().take(MAX_ORIGIN_LEN).collect()));
    let origin = Origin::parse(sent).map_err(|_| refused())?;
    let own = request
        .host
        .is_some_and(|host| is_own_origin(&origin, host));
    if own || fetch_site.eq_ignore_ascii_case("same-origin") {
        return Ok(Caller::SameOrigin);
    }
    if allowed.contains(&origin) {
        Ok(Caller::Embedded(origin))
    } else {
        Err(refused())
    }
}

/// The configured credentials a call from an allowed origin is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Accepted<'a> {
    /// `AUTOPOSTER_EMBED_KEYS`.
    pub keys: &'a [&'a str],
    /// `AUTOPOSTER_TICKET_SECRET`, if tickets are accepted.
    pub ticket_secret: Option<&'a [u8]>,
    /// `AUTOPOSTER_ALLOWED_ORIGINS`, to tell a ticket for another of them from a forged one.
    pub allowed: &'a [Origin],
}

/// Checks the credential of a call from `origin`: the embed key if one is sent (a wrong key is
/// not rescued by a ticket), else the ticket, at `now_secs` (Unix seconds).
pub fn check_credential(
    origin: &Origin,
    key: Option<&str>,
    ticket: Option<&str>,
    accepted: &Accepted<'_>,
    now_secs: u64,
) -> Result<(), Refusal> {
    match (key, ticket) {
        (Some(key), _) => key_matches(key, accepted.keys)
            .then_some(())
            .ok_or(Refusal::KeyInvalid),
        (None, Some(ticket)) => {
            let secret = accepted.ticket_secret.ok_or(Refusal::TicketsNotAccepted)?;
            verify_ticket(secret, ticket, origin, accepted.allowed, now_secs)
        }
        (None, None) => Err(Refusal::CredentialMissing),
    }
}

/// Whether `presented` is one of `keys`, in time that depends on neither: each is hashed to a
/// fixed length first, and every key is compared, without stopping at a match.
pub fn key_matches(presented: &str, keys: &[&str]) -> bool {
    let presented = Sha256::digest(presented.as_bytes());
    keys.iter().fold(false, |found, key| {
        let key = Sha256::digest(key.as_bytes());
        let diff = presented
            .iter()
            .zip(key.iter())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b));
        found | (diff == 0)
    })
}

/// What a ticket's MAC covers: `"v1\n<origin>\n<expiry>"`.
pub fn ticket_mac_input(origin: &Origin, expiry_secs: u64) -> String {
    format!("{TICKET_VERSION}\n{origin}\n{expiry_secs}")
}

/// A ticket for `origin` valid until `expiry_secs`, as a host backend mints it (the proxy only
/// verifies; this is for tests and the documentation's examples).
pub fn mint_ticket(secret: &[u8], origin: &Origin, expiry_secs: u64) -> String {
    let mut mac = hmac_sha256(secret);
    mac.update(ticket_mac_input(origin, expiry_secs).as_bytes());
    let tag = hex::encode(mac.finalize().into_bytes());
    format!("{TICKET_VERSION}.{expiry_secs}.{tag}")
}

/// Checks a ticket presented from `origin` at `now_secs`: well formed, signed with `secret` for
/// this origin (a signature for another of the `allowed` origins is told apart), not expired,
/// and not valid for longer than [`MAX_TICKET_LIFETIME_SECS`]. The signature is compared in
/// constant time.
pub fn verify_ticket(
    secret: &[u8],
    ticket: &str,
    origin: &Origin,
    allowed: &[Origin],
    now_secs: u64,
) -> Result<(), Refusal> {
    let (expiry, tag) = parse_ticket(ticket).ok_or(Refusal::TicketInvalid)?;
    let signed_for = |origin: &Origin| {
        let mut mac = hmac_sha256(secret);
        mac.update(ticket_mac_input(origin, expiry).as_bytes());
        mac.verify_slice(&tag).is_ok()
    };
    if !signed_for(origin) {
        return Err(if allowed.iter().any(signed_for) {
            Refusal::TicketWrongOrigin
        } else {
            Refusal::TicketInvalid
        });
    }
    if expiry <= now_secs {
        return Err(Refusal::TicketExpired);
    }
    if expiry - now_secs > MAX_TICKET_LIFETIME_SECS {
        return Err(Refusal::TicketTooLongLived);
    }
    Ok(())
}

/// A ticket's expiry and MAC, if it has the `v1.<decimal>.<64 hex digits>` shape.
fn parse_ticket(ticket: &str) -> Option<(u64, [u8; 32])> {
    if ticket.len() > MAX_TICKET_LEN {
        return None;
    }
    let mut parts = ticket.trim().split('.');
    let (version, expiry, tag) = (parts.next()?, parts.next()?, parts.next()?);
    if version != TICKET_VERSION || parts.next().is_some() {
        return None;
    }
    // One spelling per expiry: plain digits, no sign, no leading zeros.
    let canonical = !expiry.is_empty()
        && expiry.bytes().all(|b| b.is_ascii_digit())
        && (expiry == "0" || !expiry.starts_with('0'));
    let expiry = canonical.then(|| expiry.parse().ok()).flatten()?;
    let mut bytes = [0u8; 32];
    if tag.len() != 64 {
        return None;
    }
    for (byte, pair) in bytes.iter_mut().zip(tag.as_bytes().chunks(2)) {
        *byte = (hex_digit(pair[0])? << 4) | hex_digit(pair[1])?;
    }
    Some((expiry, bytes))
}

/// One hex digit's value, either case.
fn hex_digit(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|value| u8::try_from(value).ok())
}

/// HMAC-SHA256 keyed with `secret`.
fn hmac_sha256(secret: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes a key of any length")
}

/// Whether `origin` is the proxy itself as addressed by `host`, over http or https.
fn is_own_origin(origin: &Origin, host: &str) -> bool {
    ["http", "https"].iter().any(|scheme| {
        Origin::parse(&format!("{scheme}://{}", host.trim())).is_ok_and(|own| own == *origin)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
    const NOW: u64 = 1_700_000_000;

    fn origin(text: &str) -> Origin {
        Origin::parse(text).unwrap()
    }

    #[test]
    fn origins_parse_and_normalise() {
        for (text, expected) in [
            ("https://cms.example.com", Ok("https://cms.example.com")),
            ("  HTTPS://CMS.Example.COM/ ", Ok("https://cms.example.com")),
            ("https://cms.example.com:443", Ok("https://cms.example.com")),
            ("http://cms.example.com:80", Ok("http://cms.example.com")),
            (
                "http://cms.example.com:443",
                Ok("http://cms.example.com:443"),
            ),
            ("http://127.0.0.1:5000", Ok("http://127.0.0.1:5000")),
            ("http://[::1]:5000", Ok("http://[::1]:5000")),
            ("http://[::1]", Ok("http://[::1]")),
            ("http://localhost", Ok("http://localhost")),
            // As browsers write them (issue 12): one spelling per origin.
            ("http://[0::1]", Ok("http://[::1]")),
            ("http://[0:0:0:0:0:0:0:1]:80", Ok("http://[::1]")),
            (
                "HTTP://[::FFFF:7F00:1]:8080",
                Ok("http://[::ffff:7f00:1]:8080"),
            ),
            (
                "https://Bücher.Example",
                Ok("https://xn--bcher-kva.example"),
            ),
            (
                "https://xn--bcher-kva.example:443/",
                Ok("https://xn--bcher-kva.example"),
            ),
            (
                "https://münchen.de:8443",
                Ok("https://xn--mnchen-3ya.de:8443"),
            ),
            ("http://127.1:5000", Ok("http://127.0.0.1:5000")),
            ("https://cms.example.com/.", Err("HasPath")),
            ("https://cms.example.com\\app", Err("HasPath")),
            ("https://cms.example.com#", Err("HasPath")),
            ("https://cms.exa%6dple.com", Ok("https://cms.example.com")),
            ("https://a%2fb.example", Err("Host")),
            ("https://[::1", Err("Host")),
            ("*", Err("Wildcard")),
            ("https://*.example.com", Err("Wildcard")),
            ("null", Err("Scheme")),
            ("cms.example.com", Err("Scheme")),
            ("ftp://cms.example.com", Err("Scheme")),
            ("https://cms.example.com/app", Err("HasPath")),
            ("https://cms.example.com//", Err("HasPath")),
            ("https://cms.example.com?x=1", Err("HasPath")),
            ("https://user@cms.example.com", Err("HasPath")),
            ("https://", Err("Host")),
            ("https://:8080", Err("Host")),
            ("https://cms example.com", Err("Host")),
            ("https://[zz]:1", Err("Host")),
            ("https://cms.example.com:0", Err("Port")),
            ("https://cms.example.com:65536", Err("Port")),
            ("https://cms.example.com:+80", Err("Port")),
            ("https://cms.example.com:", Err("Port")),
        ] {
            let parsed = Origin::parse(text);
            match expected {
                Ok(normal) => {
                    assert_eq!(parsed.as_ref().map(Origin::as_str), Ok(normal), "{text:?}")
                }
                Err(kind) => {
                    let error = parsed.expect_err(text);
                    assert!(
                        format!("{error:?}").starts_with(kind),
                        "{text:?}: {error:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn origin_lists() {
        let list = parse_origin_list(
            "https://cms.example.com, http://127.0.0.1:5000,,HTTPS://cms.example.com/",
        )
        .unwrap();
        assert_eq!(
            list.iter().map(Origin::as_str).collect::<Vec<_>>(),
            ["https://cms.example.com", "http://127.0.0.1:5000"]
        );
        assert_eq!(parse_origin_list("").unwrap(), []);
        assert_eq!(parse_origin_list(" , ").unwrap(), []);
        let error = parse_origin_list("https://cms.example.com,*").unwrap_err();
        assert_eq!(error, OriginError::Wildcard("*".into()));
        assert!(
            error.to_string().contains("wildcards are not allowed"),
            "{error}"
        );
    }

    #[test]
    fn secrets_at_start_up() {
        for (key, expected) in [
            ("k3y-0123456789ab", Ok(())),
            ("short", Err(SecretError::KeyTooShort)),
            ("has space 0123456789", Err(SecretError::KeyCharacters)),
            ("has,comma0123456789", Err(SecretError::KeyCharacters)),
            ("ünïcode-0123456789", Err(SecretError::KeyCharacters)),
        ] {
            assert_eq!(check_embed_key(key), expected, "{key:?}");
        }
        assert_eq!(check_ticket_secret(&"s".repeat(32)), Ok(()));
        assert_eq!(
            check_ticket_secret(&"s".repeat(31)),
            Err(SecretError::SecretTooShort)
        );
        // The messages never hold the secret.
        assert!(!SecretError::KeyTooShort.to_string().contains("short"));
    }

    #[test]
    fn who_is_calling() {
        let allowed = [
            origin("https://cms.example.com"),
            origin("http://127.0.0.1:5000"),
        ];
        let host = Some("127.0.0.1:8787");
        let embedded = |text| Ok(Caller::Embedded(origin(text)));
        let refused = |text: Option<&str>| Err(Refusal::OriginNotAllowed(text.map(str::to_owned)));
        for (what, origin, host, site, expected) in [
            ("script", None, host, None, Ok(Caller::SameOrigin)),
            (
                "same-origin GET",
                None,
                host,
                Some("same-origin"),
                Ok(Caller::SameOrigin),
            ),
            (
                "typed in the address bar",
                None,
                host,
                Some("none"),
                Ok(Caller::SameOrigin),
            ),
            (
                "link from elsewhere",
                None,
                host,
                Some("cross-site"),
                refused(None),
            ),
            (
                "image from a sibling site",
                None,
                host,
                Some("same-site"),
                refused(None),
            ),
            (
                "own origin",
                Some("http://127.0.0.1:8787"),
                host,
                None,
                Ok(Caller::SameOrigin),
            ),
            (
                "own origin, https behind a reverse proxy",
                Some("https://poster.example.com"),
                Some("poster.example.com"),
                None,
                Ok(Caller::SameOrigin),
            ),
            (
                "own origin, default port spelled out",
                Some("http://poster.example.com"),
                Some("poster.example.com:80"),
                None,
                Ok(Caller::SameOrigin),
            ),
            (
                "a dev server proxying to us",
                Some("http://127.0.0.1:8080"),
                host,
                Some("same-origin"),
                Ok(Caller::SameOrigin),
            ),
            (
                "allowed",
                Some("https://cms.example.com"),
                host,
                Some("cross-site"),
                embedded("https://cms.example.com"),
            ),
            (
                "allowed, another spelling",
                Some("HTTPS://cms.example.com:443"),
                host,
                None,
                embedded("https://cms.example.com"),
            ),
            (
                "allowed, same site other port",
                Some("http://127.0.0.1:5000"),
                host,
                Some("same-site"),
                embedded("http://127.0.0.1:5000"),
            ),
            (
                "not allowed",
                Some("https://evil.example"),
                host,
                Some("cross-site"),
                refused(Some("https://evil.example")),
            ),
            (
                "allowed host, other scheme",
                Some("http://cms.example.com"),
                host,
                None,
                refused(Some("http://cms.example.com")),
            ),
            (
                "opaque",
                Some("null"),
                host,
                Some("cross-site"),
                refused(Some("null")),
            ),
            (
                "no host header",
                Some("http://127.0.0.1:8787"),
                None,
                None,
                refused(Some("http://127.0.0.1:8787")),
            ),
        ] {
            let request = RequestOrigin {
                origin,
                host,
                sec_fetch_site: site,
            };
            assert_eq!(caller(&request, &allowed), expected, "{what}");
        }
    }

    #[test]
    fn credentials() {
        let cms = origin("https://cms.example.com");
        let blog = origin("https://blog.example.com");
        let allowed = [cms.clone(), blog.clone()];
        let keys = ["key-aaaaaaaaaaaaaaaa", "key-bbbbbbbbbbbbbbbb"];
        let with_tickets = Accepted {
            keys: &keys,
            ticket_secret: Some(SECRET),
            allowed: &allowed,
        };
        let no_tickets = Accepted {
            ticket_secret: None,
            ..with_tickets
        };
        let good = mint_ticket(SECRET, &cms, NOW + 3600);
        let for_blog = mint_ticket(SECRET, &blog, NOW + 3600);
        let for_stranger = mint_ticket(SECRET, &origin("https://evil.example"), NOW + 3600);
        let other_secret = mint_ticket(b"another secret, 32 bytes long!!!", &cms, NOW + 3600);
        let expired = mint_ticket(SECRET, &cms, NOW - 1);
        let just_expired = mint_ticket(SECRET, &cms, NOW);
        let a_day = mint_ticket(SECRET, &cms, NOW + MAX_TICKET_LIFETIME_SECS);
        let too_long = mint_ticket(SECRET, &cms, NOW + MAX_TICKET_LIFETIME_SECS + 1);
        let tampered_expiry =
            good.replacen(&(NOW + 3600).to_string(), &(NOW + 7200).to_string(), 1);
        let flipped = {
            let mut bytes = good.clone().into_bytes();
            let last = bytes.len() - 1;
            bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
            String::from_utf8(bytes).unwrap()
        };
        let upper = good.to_ascii_uppercase().replacen("V1", "v1", 1);
        let padded = good.replacen(".", ".0", 1);
        for (what, key, ticket, accepted, expected) in [
            ("first key", Some(keys[0]), None, &with_tickets, Ok(())),
            ("second key", Some(keys[1]), None, &with_tickets, Ok(())),
            (
                "wrong key",
                Some("key-cccccccccccccccc"),
                None,
                &with_tickets,
                Err(Refusal::KeyInvalid),
            ),
            (
                "a key's prefix",
                Some("key-aaaa"),
                None,
                &with_tickets,
                Err(Refusal::KeyInvalid),
            ),
            (
                "wrong key, good ticket",
                Some("nope"),
                Some(good.as_str()),
                &with_tickets,
                Err(Refusal::KeyInvalid),
            ),
            (
                "nothing",
                None,
                None,
                &with_tickets,
                Err(Refusal::CredentialMissing),
            ),
            (
                "good ticket",
                None,
                Some(good.as_str()),
                &with_tickets,
                Ok(()),
            ),
            (
                "hex in capitals",
                None,
                Some(upper.as_str()),
                &with_tickets,
                Ok(()),
            ),
            (
                "valid exactly a day",
                None,
                Some(a_day.as_str()),
                &with_tickets,
                Ok(()),
            ),
            (
                "tickets off",
                None,
                Some(good.as_str()),
                &no_tickets,
                Err(Refusal::TicketsNotAccepted),
            ),
            (
                "another allowed origin's",
                None,
                Some(for_blog.as_str()),
                &with_tickets,
                Err(Refusal::TicketWrongOrigin),
            ),
            (
                "a stranger's",
                None,
                Some(for_stranger.as_str()),
                &with_tickets,
                Err(Refusal::TicketInvalid),
            ),
            (
                "another secret",
                None,
                Some(other_secret.as_str()),
                &with_tickets,
                Err(Refusal::TicketInvalid),
            ),
            (
                "expired",
                None,
                Some(expired.as_str()),
                &with_tickets,
                Err(Refusal::TicketExpired),
            ),
            (
                "expires now",
                None,
                Some(just_expired.as_str()),
                &with_tickets,
                Err(Refusal::TicketExpired),
            ),
            (
                "too long-lived",
                None,
                Some(too_long.as_str()),
                &with_tickets,
                Err(Refusal::TicketTooLongLived),
            ),
            (
                "expiry changed",
                None,
                Some(tampered_expiry.as_str()),
                &with_tickets,
                Err(Refusal::TicketInvalid),
            ),
            (
                "MAC changed",
                None,
                Some(flipped.as_str()),
                &with_tickets,
                Err(Refusal::TicketInvalid),
            ),
            (
                "leading zero",
                None,
                Some(padded.as_str()),
                &with_tickets,
                Err(Refusal::TicketInvalid),
            ),
            (
                "empty",
                None,
                Some(""),
                &with_tickets,
                Err(Refusal::TicketInvalid),
            ),
            (
                "v2",
                None,
                Some(good.replacen("v1", "v2", 1).as_str()),
                &with_tickets,
                Err(Refusal::TicketInvalid),
            ),
            (
                "extra part",
                None,
                Some(format!("{good}.x").as_str()),
                &with_tickets,
                Err(Refusal::TicketInvalid),
            ),
            (
                "short MAC",
                None,
                Some(&good[..good.len() - 2]),
                &with_tickets,
                Err(Refusal::TicketInvalid),
            ),
            (
                "not hex",
                None,
                Some(format!("v1.{}.{}", NOW + 60, "g".repeat(64)).as_str()),
                &with_tickets,
                Err(Refusal::TicketInvalid),
            ),
            (
                "huge expiry",
                None,
                Some(format!("v1.{}.{}", "9".repeat(30), "0".repeat(64)).as_str()),
                &with_tickets,
                Err(Refusal::TicketInvalid),
            ),
        ] {
            assert_eq!(
                check_credential(&cms, key, ticket, accepted, NOW),
                expected,
                "{what}"
            );
        }
    }

    #[test]
    fn known_ticket_vector() {
        // The example in docs/EMBED.md: the Python, Node and openssl snippets there print this.
        let cms = origin("https://cms.example.com");
        let secret = b"an-example-secret-of-32-bytes-or-more";
        assert_eq!(
            ticket_mac_input(&cms, 1_700_000_000),
            "v1\nhttps://cms.example.com\n1700000000"
        );
        assert_eq!(
            mint_ticket(secret, &cms, 1_700_000_000),
            format!("v1.1700000000.{KNOWN_MAC}")
        );
    }

    /// HMAC-SHA256("an-example-secret-of-32-bytes-or-more", "v1\nhttps://cms.example.com\n1700000000"),
    /// as `openssl dgst -sha256 -hmac` computes it.
    const KNOWN_MAC: &str = "552769be327318ce19f9a360c03974bcaadc04ce5b3caa9dc9c0322dde7934b0";

    #[test]
    fn refusal_codes() {
        for (refusal, code) in [
            (Refusal::OriginNotAllowed(None), "origin_not_allowed"),
            (Refusal::CredentialMissing, "embed_credential_missing"),
            (Refusal::KeyInvalid, "embed_key_invalid"),
            (Refusal::TicketsNotAccepted, "ticket_not_accepted"),
            (Refusal::TicketInvalid, "ticket_invalid"),
            (Refusal::TicketExpired, "ticket_expired"),
            (Refusal::TicketWrongOrigin, "ticket_wrong_origin"),
            (Refusal::TicketTooLongLived, "ticket_too_long_lived"),
        ] {
            assert_eq!(refusal.code(), code);
        }
        assert_eq!(
            Refusal::OriginNotAllowed(Some("https://evil.example".into())).to_string(),
            "This proxy does not accept requests from \"https://evil.example\". Its operator can add the site to AUTOPOSTER_ALLOWED_ORIGINS."
        );
    }
}
