//! Fuzzing without nightly (issue 12): every parser on the proxy's request path gets arbitrary
//! bytes and strings and must answer without panicking; where a parser has a round trip
//! (an origin parses to the text it prints), the round trip holds.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use protocol::chunk::ContentRange;
use protocol::embed::{
    self, Accepted, MAX_TICKET_LIFETIME_SECS, Origin, Refusal, RequestOrigin, caller,
    check_credential, mint_ticket, verify_ticket,
};
use protocol::host::{HostName, check_host};
use protocol::wire::{CreatePost, SignIn, UploadEvent};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const NOW: u64 = 1_700_000_000;

/// Strings a header or a body might hold: any Unicode, and text made mostly of the characters
/// these parsers split on, so the interesting branches are reached often.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9:/.\\[\\]@%#?*\\-_=; ,\"\\\\]{0,40}",
        "(https?|HTTP|ftp)://[a-zA-Z0-9:.\\[\\]%\\-@/]{0,30}",
        "bytes [0-9\\- /*]{0,30}",
        "v1\\.[0-9]{0,21}\\.[0-9a-fA-F]{0,66}",
    ]
}

/// A DNS label as people write them: letters, digits, hyphens inside, sometimes non-ASCII.
fn label() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9]([a-z0-9\\-]{0,10}[a-z0-9])?", "[a-zäöüéß]{1,8}"]
}

/// A well-formed host: a name, an IPv4 address or an IPv6 one in brackets, in any case.
fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(label(), 1..4).prop_map(|labels| labels.join(".")),
        any::<[u8; 4]>().prop_map(|b| format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])),
        any::<[u16; 8]>().prop_map(|w| format!("[{}]", std::net::Ipv6Addr::from(w))),
    ]
    .prop_filter("the last label of a name is not a number", |host| {
        // The URL standard reads a name ending in a decimal or 0x-hex label as an IPv4 address.
        let last = host.rsplit('.').next().unwrap();
        let number = last.bytes().all(|b| b.is_ascii_digit())
            || last
                .strip_prefix("0x")
                .is_some_and(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()));
        host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() || !number
    })
}

/// A well-formed origin, in random case, with or without a port and a trailing slash.
fn origin_text() -> impl Strategy<Value = String> {
    (
        prop_oneof![Just("http"), Just("https"), Just("HTTPS")],
        host(),
        prop::option::of(1u16..),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(scheme, host, port, upper, slash)| {
            let host = if upper {
                host.to_ascii_uppercase()
            } else {
                host
            };
            let port = port.map(|port| format!(":{port}")).unwrap_or_default();
            let slash = if slash { "/" } else { "" };
            format!("{scheme}://{host}{port}{slash}")
        })
}

/// JSON that is well formed but of any shape, to reach serde's type errors rather than its
/// syntax errors.
fn json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        prop_oneof![
            Just("DIRECT_POST".to_owned()),
            Just("video/mp4".to_owned()),
            Just("retried".to_owned()),
            any::<String>()
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("mode".to_owned()),
                    Just("video_size".to_owned()),
                    Just("content_type".to_owned()),
                    Just("post_info".to_owned()),
                    Just("privacy_level".to_owned()),
                    Just("kind".to_owned()),
                    Just("chunk".to_owned()),
                    Just("password".to_owned()),
                    any::<String>()
                ],
                inner,
                0..5
            )
            .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn content_range_never_panics(value in text()) {
        if let Some(range) = ContentRange::parse(&value) {
            prop_assert!(range.first <= range.last && range.last < range.total);
            prop_assert_eq!(ContentRange::parse(&range.to_string()), Some(range));
        }
    }

    #[test]
    fn content_ranges_round_trip(total in 1u64.., a in any::<u64>(), b in any::<u64>()) {
        let (first, last) = (a % total, b % total);
        let (first, last) = (first.min(last), first.max(last));
        let range = ContentRange { first, last, total };
        prop_assert_eq!(ContentRange::parse(&range.to_string()), Some(range));
        prop_assert_eq!(range.len(), last - first + 1);
    }

    #[test]
    fn json_bodies_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), value in json()) {
        let _ = serde_json::from_slice::<CreatePost>(&bytes).map(|post| post.validate());
        let _ = serde_json::from_slice::<UploadEvent>(&bytes);
        let _ = serde_json::from_slice::<SignIn>(&bytes);
        let shaped = serde_json::to_vec(&value).unwrap();
        if let Ok(post) = serde_json::from_slice::<CreatePost>(&shaped) {
            let _ = post.validate();
            let _ = post.post_info();
            let again: CreatePost = serde_json::from_slice(&serde_json::to_vec(&post).unwrap()).unwrap();
            prop_assert_eq!(again, post);
        }
        if let Ok(event) = serde_json::from_slice::<UploadEvent>(&shaped) {
            let again: UploadEvent = serde_json::from_slice(&serde_json::to_vec(&event).unwrap()).unwrap();
            prop_assert_eq!(again, event);
        }
        let _ = serde_json::from_slice::<SignIn>(&shaped);
    }

    #[test]
    fn query_strings_never_panic(query in text(), bytes in prop::collection::vec(any::<u8>(), 0..100)) {
        // The proxy reads its query strings (the OAuth callback's `code` and `state`) as
        // form-URL-encoded pairs.
        for input in [query.as_bytes(), &bytes] {
            let pairs: std::collections::HashMap<String, String> =
                form_urlencoded::parse(input).into_owned().collect();
            let encoded = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish();
            let again: std::collections::HashMap<String, String> =
                form_urlencoded::parse(encoded.as_bytes()).into_owned().collect();
            prop_assert_eq!(again, pairs);
        }
    }

    #[test]
    fn cookies_never_panic_and_are_found_among_others(
        headers in prop::collection::vec(text(), 0..3),
        others in prop::collection::vec(("[a-z_]{1,8}", "[!#-+\\--:<-\\[\\]-~]{0,12}"), 0..5),
        value in "[!#-+\\--:<-\\[\\]-~]{0,40}",
        at in any::<prop::sample::Index>(),
    ) {
        let _ = protocol::cookie::find(headers.iter().map(String::as_str), "autoposter_session");
        let name = "autoposter_session";
        let mut pairs: Vec<String> = others
            .iter()
            .map(|(key, value)| format!("{key}={value}"))
            .collect();
        pairs.insert(at.index(pairs.len() + 1), format!("{name}={value}"));
        let header = pairs.join("; ");
        prop_assert_eq!(protocol::cookie::find([header.as_str()], name), Some(value.as_str()));
    }

    #[test]
    fn tickets_never_panic(ticket in text(), now in any::<u64>()) {
        let origin = Origin::parse("https://cms.example.com").unwrap();
        let allowed = [origin.clone(), Origin::parse("https://other.example").unwrap()];
        prop_assert!(verify_ticket(SECRET, &ticket, &origin, &allowed, now).is_err());
        let accepted = Accepted { keys: &["k3y-0123456789abcdef"], ticket_secret: Some(SECRET), allowed: &allowed };
        let _ = check_credential(&origin, Some(&ticket), None, &accepted, now);
        let _ = check_credential(&origin, None, Some(&ticket), &accepted, now);
    }

    #[test]
    fn minted_tickets_verify_only_where_they_should(
        lifetime in 1..=MAX_TICKET_LIFETIME_SECS,
        flip in any::<prop::sample::Index>(),
    ) {
        let origin = Origin::parse("https://cms.example.com").unwrap();
        let other = Origin::parse("https://other.example").unwrap();
        let allowed = [origin.clone(), other.clone()];
        let ticket = mint_ticket(SECRET, &origin, NOW + lifetime);
        prop_assert_eq!(verify_ticket(SECRET, &ticket, &origin, &allowed, NOW), Ok(()));
        prop_assert_eq!(
            verify_ticket(SECRET, &ticket, &other, &allowed, NOW),
            Err(Refusal::TicketWrongOrigin)
        );
        prop_assert_eq!(
            verify_ticket(SECRET, &ticket, &origin, &allowed, NOW + lifetime),
            Err(Refusal::TicketExpired)
        );
        // Any one character changed is a different ticket, and never a valid one.
        let mut bytes = ticket.clone().into_bytes();
        let i = flip.index(bytes.len());
        bytes[i] = if bytes[i] == b'0' { b'1' } else { b'0' };
        let tampered = String::from_utf8(bytes).unwrap();
        prop_assert!(verify_ticket(SECRET, &tampered, &origin, &allowed, NOW).is_err());
    }

    #[test]
    fn origins_never_panic_and_parse_to_themselves(text in text()) {
        if let Ok(origin) = Origin::parse(&text) {
            prop_assert_eq!(Origin::parse(origin.as_str()), Ok(origin.clone()));
            let shown = origin.as_str();
            prop_assert!(shown.starts_with("http://") || shown.starts_with("https://"), "{}", shown);
            prop_assert!(!shown.ends_with('/'), "{}", shown);
        }
        let _ = embed::parse_origin_list(&text);
    }

    #[test]
    fn well_formed_origins_parse_and_round_trip(text in origin_text()) {
        let origin = Origin::parse(&text).unwrap();
        prop_assert_eq!(Origin::parse(origin.as_str()), Ok(origin.clone()));
        prop_assert_eq!(Origin::parse(&text.to_lowercase()), Ok(origin.clone()));
        prop_assert!(origin.as_str().is_ascii(), "{}", origin);
        prop_assert_eq!(origin.as_str().to_ascii_lowercase(), origin.as_str());
    }

    #[test]
    fn hosts_never_panic(
        host_header in prop::option::of(text()),
        origin in prop::option::of(text()),
        fetch_site in prop::option::of(text()),
        name in text(),
    ) {
        let allowed = protocol::host::parse_host_list("poster.example.com").unwrap();
        let _ = check_host(host_header.as_deref(), &allowed);
        let request = RequestOrigin {
            origin: origin.as_deref(),
            host: host_header.as_deref(),
            sec_fetch_site: fetch_site.as_deref(),
        };
        let allowed_origins = [Origin::parse("https://cms.example.com").unwrap()];
        let _ = caller(&request, &allowed_origins);
        if let Ok(parsed) = HostName::parse(&name) {
            prop_assert_eq!(HostName::parse(parsed.as_str()), Ok(parsed.clone()));
            prop_assert_eq!(check_host(Some(parsed.as_str()), std::slice::from_ref(&parsed)), Ok(()));
        }
    }

    #[test]
    fn an_origin_is_its_own_host(text in origin_text()) {
        // What a browser sends from the proxy's own page: the origin, and its authority as Host.
        let origin = Origin::parse(&text).unwrap();
        let authority = origin.as_str().split_once("://").unwrap().1;
        let request = RequestOrigin { origin: Some(&text), host: Some(authority), sec_fetch_site: None };
        prop_assert_eq!(caller(&request, &[]), Ok(embed::Caller::SameOrigin));
    }
}
