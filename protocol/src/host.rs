//! Which names the proxy answers to: the defence against DNS rebinding.
//!
//! A page on `evil.example` can make its own name resolve to 127.0.0.1 a moment after it loads.
//! Its calls then reach the proxy on loopback, and to the browser they are same-origin: no CORS,
//! no `Origin` check, would stop them from reading `/api/creator` or starting a post. What gives
//! them away is the `Host` header, which still says `evil.example`. So API calls are answered
//! only for a `Host` that cannot be rebound: an IP address (a page can only be served from an IP
//! it is really on), `localhost` (which browsers resolve to loopback themselves), or a name the
//! proxy is told is its own (`AUTOPOSTER_ALLOWED_HOSTS`, and the OAuth redirect URI's host).

use crate::embed::{parse_list, split_host_port};
use std::net::{Ipv4Addr, Ipv6Addr};

/// Longest host name kept in a refusal (DNS names are at most 253 characters).
const MAX_NAME_LEN: usize = 253;

/// A host name the proxy answers to, normalised: lowercase, without a trailing dot or a port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HostName(String);

impl HostName {
    /// Parses a name for `AUTOPOSTER_ALLOWED_HOSTS`: a DNS name, without scheme, port or path.
    pub fn parse(text: &str) -> Result<Self, HostNameError> {
        let raw = || text.trim().chars().take(MAX_NAME_LEN).collect::<String>();
        let name = text.trim().trim_end_matches('.').to_ascii_lowercase();
        if name.contains('*') {
            return Err(HostNameError::Wildcard(raw()));
        }
        if name.contains(['/', ':', '@', '[', ']']) {
            return Err(HostNameError::NotAName(raw()));
        }
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
/// No `Host` at all is an HTTP/1.0 script, never a browser: allowed.
pub fn check_host(host: Option<&str>, allowed: &[HostName]) -> Result<(), HostRefusal> {
    let Some(host) = host else {
        return Ok(());
    };
    let (name, _port) = split_host_port(host.trim()).ok_or(HostRefusal::Unreadable)?;
    if let Some(v6) = name.strip_prefix('[') {
        return v6
            .trim_end_matches(']')
            .parse::<Ipv6Addr>()
            .map(|_| ())
            .map_err(|_| HostRefusal::Unreadable);
    }
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    if name.parse::<Ipv4Addr>().is_ok() || name == "localhost" {
        return Ok(());
    }
    if allowed.iter().any(|allowed| allowed.0 == name) {
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
    fn unreadable_hosts_are_refused() {
        for host in [
            "",
            "evil example",
            "[::1",
            "[zz::1]:80",
            "a/b",
            "user@127.0.0.1",
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
        ] {
            let error = HostName::parse(text).unwrap_err();
            assert!(format!("{error:?}").starts_with(kind), "{text}: {error:?}");
            assert!(error.to_string().contains("poster.example.com"), "{error}");
        }
        assert_eq!(parse_host_list("").unwrap(), []);
    }
}
