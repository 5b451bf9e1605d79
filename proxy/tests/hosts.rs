//! DNS rebinding: a page on a name the attacker controls, re-pointed at 127.0.0.1, is
//! same-origin to its browser, so only the `Host` header tells it apart. API calls are answered
//! for IP addresses, `localhost` and the configured names only, and refused before anything
//! reaches TikTok or the log.

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use protocol::host::HostName;
use serde_json::json;
use support::{Proxy, Reply, run_binary, spawn_operator_proxy, spawn_proxy};

/// A call as a page served from `host` makes it: same-origin to the browser, whatever address
/// the name resolved to.
fn as_page_on(request: reqwest::RequestBuilder, host: &str) -> reqwest::RequestBuilder {
    request
        .header("host", host)
        .header("origin", format!("http://{host}"))
        .header("sec-fetch-site", "same-origin")
}

async fn creator_from(proxy: &Proxy, host: &str) -> Reply {
    proxy
        .send(as_page_on(
            proxy.client.get(proxy.url("/api/creator")),
            host,
        ))
        .await
}

fn port(proxy: &Proxy) -> &str {
    proxy.base_url.rsplit(':').next().unwrap()
}

#[tokio::test]
async fn a_rebound_name_is_refused_before_anything_happens() {
    let proxy = spawn_proxy(|_| {}).await;
    let evil = format!("evil.example:{}", port(&proxy));
    let post = proxy
        .send(as_page_on(
            proxy.json_request(
                "/api/posts",
                &json!({"mode": "inbox", "video_size": 1000, "content_type": "video/mp4"}),
            ),
            &evil,
        ))
        .await;
    let creator = creator_from(&proxy, &evil).await;
    let logout = proxy
        .send(as_page_on(
            proxy.json_request("/auth/logout", &json!({})),
            &evil,
        ))
        .await;
    for (what, reply) in [("post", &post), ("creator", &creator), ("logout", &logout)] {
        assert_eq!(reply.status, 403, "{what}: {}", reply.body);
        let error = reply.error().error;
        assert_eq!(error.code, "host_not_allowed", "{what}");
        assert!(
            error.message.contains("\"evil.example\"")
                && error.message.contains("AUTOPOSTER_ALLOWED_HOSTS"),
            "{what}: {}",
            error.message
        );
        assert_eq!(reply.header("access-control-allow-origin"), None, "{what}");
    }
    // A Host that is not a name at all.
    let odd = creator_from(&proxy, "evil example").await;
    assert_eq!(odd.status, 403, "{}", odd.body);
    assert_eq!(odd.error().error.code, "host_unreadable");
    assert!(proxy.sim.requests().is_empty(), "nothing went to TikTok");
    assert!(proxy.log_lines().is_empty(), "nothing was logged");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn addresses_localhost_and_configured_names_are_answered() {
    // A proxy reached by a name is on the network: it needs operator access.
    let (proxy, _token) = spawn_operator_proxy(|config| {
        config.allowed_hosts = vec![HostName::parse("poster.example.com").unwrap()];
    })
    .await;
    let port = port(&proxy).to_owned();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("LocalHost.:{port}"),
        format!("[::1]:{port}"),
        format!("192.168.1.20:{port}"),
        format!("poster.example.com:{port}"),
        "POSTER.example.com".to_owned(),
    ] {
        let reply = creator_from(&proxy, &host).await;
        assert_eq!(reply.status, 200, "{host}: {}", reply.body);
    }
    // A name that only starts like an allowed one is another name.
    let lookalike = creator_from(&proxy, "poster.example.com.evil.example").await;
    assert_eq!(lookalike.status, 403, "{}", lookalike.body);
    // The page itself is served to any name, so a wrong name shows the message in the page.
    let page = proxy
        .send(as_page_on(proxy.client.get(proxy.url("/")), "evil.example"))
        .await;
    assert_ne!(page.status, 403, "{}", page.body);
    proxy.stop().await.unwrap();
}

#[test]
fn bad_allowed_hosts_stop_the_proxy_at_start_up() {
    for (value, expected) in [
        (
            "https://poster.example.com",
            "AUTOPOSTER_ALLOWED_HOSTS: \"https://poster.example.com\": give a host name only",
        ),
        (
            "*.example.com",
            "AUTOPOSTER_ALLOWED_HOSTS: \"*.example.com\": wildcards are not allowed",
        ),
    ] {
        let (status, printed) = run_binary(&[("AUTOPOSTER_ALLOWED_HOSTS", value)]);
        assert!(!status.success(), "{value} started");
        assert!(printed.contains(expected), "{value}: {printed}");
    }
}
