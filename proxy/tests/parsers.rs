//! Fuzzing without nightly, through the proxy (issue 12): arbitrary query strings, cookies,
//! `Host`, `Origin`, `Content-Range` headers and JSON bodies sent over HTTP reach every parser
//! on the request path; the proxy answers each without a 500, and stays healthy.
//! (`protocol/tests/request_parsers.rs` feeds the same parsers directly, many more times.)

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};
use proxy::{OAuthConfig, Secret};
use reqwest::header::{HeaderName, HeaderValue};
use support::spawn_proxy;

/// What a header or a query might hold: printable ASCII, weighted to the separators parsers
/// split on.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,60}",
        "[a-z0-9:/.\\[\\]@%#?*=&; ,\\-]{0,40}",
        "bytes [0-9\\- /*]{0,24}",
    ]
}

/// One request: which route, and what is put in its query, headers and body.
#[derive(Debug, Clone)]
struct Probe {
    route: usize,
    query: String,
    cookie: String,
    host: Option<String>,
    origin: Option<String>,
    content_range: String,
    body: Vec<u8>,
}

fn probe() -> impl Strategy<Value = Probe> {
    (
        0..ROUTES.len(),
        field(),
        field(),
        prop::option::of(field()),
        prop::option::of(field()),
        field(),
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..64),
            "\\{\"(mode|kind|video_size|password)\": ?[ -~]{0,20}\\}".prop_map(String::into_bytes),
        ],
    )
        .prop_map(
            |(route, query, cookie, host, origin, content_range, body)| Probe {
                route,
                query,
                cookie,
                host,
                origin,
                content_range,
                body,
            },
        )
}

/// The routes whose handlers parse something from the request.
const ROUTES: [(&str, &str); 7] = [
    ("GET", "/auth/callback"),
    ("GET", "/api/posts"),
    ("POST", "/api/posts"),
    ("POST", "/api/posts/v_pub_file~v2-1.1/events"),
    ("PUT", "/api/posts/v_pub_file~v2-1.1/chunk"),
    ("GET", "/api/connection"),
    ("GET", "/"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn arbitrary_requests_never_break_the_proxy() {
    let proxy = spawn_proxy(|config| {
        config.oauth = Some(OAuthConfig {
            redirect_uri: "http://127.0.0.1:8787/auth/callback".into(),
            ..OAuthConfig::new("sim-client-key", Secret::new("sim-client-secret"))
        });
    })
    .await;
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 256,
        failure_persistence: None,
        ..RunnerConfig::default()
    });
    let handle = tokio::runtime::Handle::current();
    tokio::task::block_in_place(|| {
        let result = runner.run(&probe(), |probe| {
            let status = handle.block_on(send(&proxy, &probe));
            prop_assert!(status != 500 && status != 0, "{probe:?} answered {status}");
            Ok(())
        });
        if let Err(failure) = result {
            panic!("{failure}");
        }
    });
    assert_eq!(proxy.get("/api/health").await.status, 200);
    proxy.stop().await.unwrap();
}

/// Sends `probe`; headers a client could not send at all are left out.
async fn send(proxy: &support::Proxy, probe: &Probe) -> u16 {
    let (method, path) = ROUTES[probe.route];
    let query: String = form_urlencoded::byte_serialize(probe.query.as_bytes()).collect();
    let url = format!(
        "{}?{}",
        proxy.url(path),
        query.replace("%3D", "=").replace("%26", "&")
    );
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = proxy.client.request(method, url).body(probe.body.clone());
    for (name, value) in [
        ("cookie", Some(&probe.cookie)),
        ("host", probe.host.as_ref()),
        ("origin", probe.origin.as_ref()),
        ("content-range", Some(&probe.content_range)),
    ] {
        if let Some(value) = value.and_then(|value| HeaderValue::from_str(value).ok()) {
            request = request.header(HeaderName::from_static(name), value);
        }
    }
    request
        .send()
        .await
        .map_or(0, |reply| reply.status().as_u16())
}
