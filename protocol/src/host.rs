//! Which names the proxy answers to: the defence against DNS rebinding.
//!
//! A page on `evil.example` can make its own name resolve to 127.0.0.1 a moment after it loads.
//! Its calls then reach the proxy on loopback, and to the browser they are same-origin: no CORS,
//! no `Origin` check, would stop them from reading `/api/creator` or starting a post. What gives
//! them away is the `Host` header, which still says `evil.example`. So API calls are answered
//! only for a `Host` that cannot be rebound: an IP address (a page can only be served from an IP
//! it is really on), `localhost` (which browsers resolve to loopback themselves), or a name the
//! proxy is told is its own (`AUTOPOSTER_ALLOWED_HOSTS`, and the OAuth redirect URI's host).

use crate::embed::parse_list;

/// Longest host name kept in a refusal (DNS names are at most 253 characters).
const MAX_NAME_LEN: usize = 253;
/// The longest `Host` header looked at: a longest name, a port and some slack.
const MAX_HOST_HEADER_LEN: usize = 300;

/// A host name the proxy answers to, normalised: lowercase, without a trailing dot or a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostName(String);

impl HostName {
    /// Parses a name for `AUTOPOSTER_ALLOWED_HOSTS`: a DNS name, without scheme, port or path,
    /// normalised as browsers send it in `Host` (lowercase, international names in punycode,
    /// no trailing dot).
    pub fn parse(text: &str) -> Result<Self, HostNameError> {
        let raw = || text.trim().chars().take(MAX_NAME_LEN).collect::<String>();
        let name = text.trim().trim_end_matches('.');
        if name.contains('*') {
            return Err(HostNameError::Wildcard(raw()));
        }
        if name.contains(['/', ':', '@', '[', ']', '\\', '?', '#', '%']) {
            return Err(HostNameError::NotAName(raw()));
        }
        let name = match url::Host::parse(name) {
            Ok(url::Host::Domain(name)) => name,
            Ok(url::Host::Ipv4(address)) => return Ok(Self(address.to_string())),
            _ => return Err(HostNameError::NotAName(raw())),
        };
        let labels_ok = !name.is_empty()
            && name.len() <= MAX_NAME_LEN
            && name.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            });
        if !labels_ok {
            return Err(HostNameError::NotAName(raw()));
        }
        Ok(Self(name))
    }

    /// The normalised name, e.g. `poster.example.com`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Why a text cannot be one of the proxy's names; for the person configuring it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostNameError {
    #[error("{0:?}: wildcards are not allowed; list each name exactly, like poster.example.com")]
    Wildcard(String),
    #[error("{0:?}: give a host name only, with no scheme, port or path, like poster.example.com")]
    NotAName(String),
}

/// `AUTOPOSTER_ALLOWED_HOSTS`: comma-separated names, each parsed; empty entries skipped and
/// repeats kept once.
pub fn parse_host_list(list: &str) -> Result<Vec<HostName>, HostNameError> {
    parse_list(list, HostName::parse)
}

/// An API call refused for the name it was addressed to. The text is for the person who set
/// the proxy up: it names the setting that would allow the name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HostRefusal {
    #[error(
        "This server does not answer to the name {0:?}. If that is its real name, add it to AUTOPOSTER_ALLOWED_HOSTS."
    )]
    NotAllowed(String),
    #[error("The request's Host header is not a host name or address.")]
    Unreadable,
}

impl HostRefusal {
    /// The code scripts match on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAllowed(_) => "host_not_allowed",
            Self::Unreadable => "host_unreadable",
        }
    }
}

/// Whether a call addressed to `host` (the `Host` header, port and all) may be answered.
/// No `Host` at all is an HTTP/1.0 script, never a browser: allowed. The header is read as a
/// URL's authority, the way the browser wrote it.
pub fn check_host(host: Option<&str>, allowed: &[HostName]) -> Result<(), HostRefusal> {
    let Some(host) = host else {
        return Ok(());
    };
    let host = host.trim();
    // Anything past a host and port is not a `Host` header a browser sends.
    if host.is_empty()
        || host.len() > MAX_HOST_HEADER_LEN
        || host.contains(['/', '?', '#', '@', '\\'])
    {
        return Err(HostRefusal::Unreadable);
    }
    let url = url::Url::parse(&format!("http://{host}")).map_err(|_| HostRefusal::Unreadable)?;
    let name = match url.host() {
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => return Ok(()),
        Some(url::Host::Domain(name)) => name.trim_end_matches('.'),
        None => return Err(HostRefusal::Unreadable),
    };
    if name == "localhost" || allowed.iter().any(|allowed| allowed.0 == name) {
        return Ok(());
    }
    Err(HostRefusal::NotAllowed(
        name.chars().take(MAX_NAME_LEN).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn names(list: &str) -> Vec<HostName> {
        parse_host_list(list).unwrap()
    }

    #[test]
    fn addresses_and_localhost_are_always_answered() {
        for host in [
            "127.0.0.1:8787",
            "127.0.0.1",
            "192.168.1.20:8787",
            "[::1]:8787",
            "[::1]",
            "localhost:8787",
            "LOCALHOST",
            "localhost.:8080",
            "[0::1]:8787",
            "[::ffff:127.0.0.1]",
            "127.1:8787",
        ] {
            assert_eq!(check_host(Some(host), &[]), Ok(()), "{host}");
        }
        assert_eq!(check_host(None, &[]), Ok(()), "no Host: not a browser");
    }

    #[test]
    fn other_names_only_when_configured() {
        let allowed = names(" Poster.Example.com. ,, poster.example.com,tv.local");
        assert_eq!(allowed.len(), 2);
        for host in [
            "poster.example.com",
            "POSTER.example.com:443",
            "tv.local:8787",
        ] {
            assert_eq!(check_host(Some(host), &allowed), Ok(()), "{host}");
        }
        for (host, name) in [
            ("evil.example:8787", "evil.example"),
            (
                "poster.example.com.evil.example",
                "poster.example.com.evil.example",
            ),
            ("localhost.evil.example", "localhost.evil.example"),
            ("127.0.0.1.nip.io:8787", "127.0.0.1.nip.io"),
        ] {
            let refusal = check_host(Some(host), &allowed).unwrap_err();
            assert_eq!(refusal, HostRefusal::NotAllowed(name.into()), "{host}");
            assert_eq!(refusal.code(), "host_not_allowed");
            assert!(refusal.to_string().contains("AUTOPOSTER_ALLOWED_HOSTS"));
        }
    }

    #[test]
    fn international_names_match_in_punycode() {
        let allowed = names("Bücher.Example, xn--mnchen-3ya.de");
        assert_eq!(
            allowed.iter().map(HostName::as_str).collect::<Vec<_>>(),
            ["xn--bcher-kva.example", "xn--mnchen-3ya.de"]
        );
        assert_eq!(names("münchen.de"), names("XN--MNCHEN-3YA.DE."));
        for host in [
            "xn--bcher-kva.example:8787",
            "XN--BCHER-KVA.EXAMPLE",
            "münchen.de",
        ] {
            assert_eq!(check_host(Some(host), &allowed), Ok(()), "{host}");
        }
        assert_eq!(
            check_host(Some("bucher.example"), &allowed),
            Err(HostRefusal::NotAllowed("bucher.example".into()))
        );
    }

    #[test]
    fn unreadable_hosts_are_refused() {
        for host in [
            "",
            "evil example",
            "[::1",
            "[zz::1]:80",
            "a/b",
            "user@127.0.0.1",
            "127.0.0.1:99999",
            "1.2.3.4.5",
            "a.example?x",
        ] {
            assert_eq!(
                check_host(Some(host), &[]),
                Err(HostRefusal::Unreadable),
                "{host:?}"
            );
        }
    }

    #[test]
    fn configured_names_must_be_plain_names() {
        for (text, kind) in [
            ("*.example.com", "Wildcard"),
            ("https://poster.example.com", "NotAName"),
            ("poster.example.com:8787", "NotAName"),
            ("poster.example.com/", "NotAName"),
            ("-poster.example.com", "NotAName"),
            ("poster..example.com", "NotAName"),
            ("[::1]", "NotAName"),
            ("poster%2eexample.com", "NotAName"),
            ("poster example.com", "NotAName"),
        ] {
            let error = HostName::parse(text).unwrap_err();
            assert!(format!("{error:?}").starts_with(kind), "{text}: {error:?}");
            assert!(error.to_string().contains("poster.example.com"), "{error}");
        }
        assert_eq!(parse_host_list("").unwrap(), []);
    }
}
