//! The proxy's HTTP API end to end: a real proxy on a loopback port, wired to the TikTok
//! simulator, driven over HTTP exactly as the app (or curl) drives it.

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use protocol::ErrorCode;
use protocol::tiktok::{JSON_CONTENT_TYPE, paths};
use serde_json::{Value, json};
use sim::{Endpoint, Fault, Persona, RateLimits, SimOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{
    Proxy, Reply, fake_upstream, raw_get_status, sha256_hex, sim_options, spawn_proxy,
    spawn_proxy_in, spawn_proxy_with, upload, video_bytes,
};

/// Over 64 MB, so the plan has several chunks (six of 10 MiB, the last one larger).
const MULTI_CHUNK_SIZE: usize = 70_000_000;

fn direct_post(video_size: u64, privacy: &str) -> Value {
    json!({
        "mode": "direct",
        "video_size": video_size,
        "content_type": "video/mp4",
        "file_name": "cat.mp4",
        "post_info": {"title": "a #cat", "privacy_level": privacy},
    })
}

fn inbox_post(video_size: u64) -> Value {
    json!({
        "mode": "inbox",
        "video_size": video_size,
        "content_type": "video/webm",
        "file_name": "draft.webm",
    })
}

/// Asserts an error reply: status, code, and a non-empty message.
fn check_error(what: &str, reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    let error = reply.error().error;
    assert_eq!(error.code, code, "{what}: {}", reply.body);
    assert!(!error.message.is_empty(), "{what}");
    assert_eq!(
        reply.header("content-type"),
        Some("application/json"),
        "{what}"
    );
}

#[tokio::test]
async fn health_says_whether_a_token_is_configured() {
    for (token, connected) in [(true, true), (false, false)] {
        let proxy = spawn_proxy(|config| {
            if !token {
                config.access_token = None;
            }
        })
        .await;
        let reply = proxy.get("/api/health").await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json(), json!({"ok": true, "connected": connected}));
    }
}

#[tokio::test]
async fn creator_comes_from_creator_info() {
    let proxy = spawn_proxy(|_| {}).await;
    proxy.sim.set_persona(Persona::private());
    let reply = proxy.get("/api/creator").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let creator: protocol::wire::Creator = serde_json::from_str(&reply.body).unwrap();
    let persona = Persona::private();
    assert_eq!(creator.nickname, persona.nickname);
    assert_eq!(creator.username, persona.username);
    assert_eq!(creator.privacy_level_options, persona.privacy_level_options);
    assert!(creator.duet_disabled && creator.stitch_disabled);
    assert_eq!(
        creator.max_video_post_duration_sec,
        persona.max_video_post_duration_sec
    );
}

#[tokio::test]
async fn whole_posts_go_through_with_the_caller_uploading() {
    let video = video_bytes(MULTI_CHUNK_SIZE);
    let sha256 = sha256_hex(&video);
    for (request, content_type, final_status, has_post_id) in [
        (
            direct_post(MULTI_CHUNK_SIZE as u64, "PUBLIC_TO_EVERYONE"),
            "video/mp4",
            "PUBLISH_COMPLETE",
            true,
        ),
        (
            inbox_post(MULTI_CHUNK_SIZE as u64),
            "video/webm",
            "SEND_TO_USER_INBOX",
            false,
        ),
    ] {
        let proxy = spawn_proxy(|_| {}).await;
        let created = proxy.create(&request).await;
        assert_eq!(created.chunk_size, 10 * 1024 * 1024);
        assert_eq!(created.total_chunk_count, 6);
        assert!(created.upload_url.starts_with(&proxy.sim.base_url()));

        let statuses = upload(&created, &video, content_type).await;
        assert_eq!(statuses, [206, 206, 206, 206, 206, 201]);
        let at_sim = proxy.sim.upload(&created.publish_id).unwrap();
        assert!(at_sim.complete);
        assert_eq!(at_sim.sha256.as_deref(), Some(sha256.as_str()));

        let state = proxy.poll_until_final(&created.publish_id).await;
        assert_eq!(state["status"], final_status, "{state}");
        assert_eq!(state["publish_id"], created.publish_id.as_str());
        let post_ids = state["post_ids"].as_array().unwrap();
        if has_post_id {
            // The 19-digit id travels as an exact string, never as a (rounded) number.
            assert_eq!(post_ids.len(), 1, "{state}");
            let id = post_ids[0].as_str().expect("post ids are strings");
            assert_eq!(id.len(), 19);
            assert!(id.bytes().all(|b| b.is_ascii_digit()));
        } else {
            assert!(post_ids.is_empty(), "{state}");
        }

        // The log: the creation, then one line per status change, ending on the final one.
        let lines = proxy.log_lines();
        assert_eq!(lines[0]["event"], "post_created");
        assert_eq!(lines[0]["publish_id"], created.publish_id.as_str());
        assert_eq!(lines[0]["video_size"], MULTI_CHUNK_SIZE as u64);
        assert_eq!(lines[0]["mode"], request["mode"]);
        assert!(humantime::parse_rfc3339(lines[0]["ts"].as_str().unwrap()).is_ok());
        let statuses: Vec<&str> = lines[1..]
            .iter()
            .map(|line| {
                assert_eq!(line["event"], "status");
                line["status"].as_str().unwrap()
            })
            .collect();
        assert_eq!(statuses.last(), Some(&final_status));
        assert!(
            statuses.windows(2).all(|pair| pair[0] != pair[1]),
            "a status is logged only when it changes: {statuses:?}"
        );
        let logged_ids = lines.last().unwrap().get("post_ids").cloned();
        assert_eq!(logged_ids.unwrap_or(json!([])), state["post_ids"]);

        // The history folds it to one entry with the latest status.
        let history = proxy.get("/api/posts").await.json();
        let posts = history["posts"].as_array().unwrap();
        assert_eq!(posts.len(), 1);
        assert_eq!(posts[0]["publish_id"], created.publish_id.as_str());
        assert_eq!(posts[0]["status"], final_status);
        assert_eq!(posts[0]["post_ids"], state["post_ids"]);
    }
}

#[tokio::test]
async fn requests_to_tiktok_are_exactly_as_documented() {
    let proxy = spawn_proxy(|_| {}).await;
    // Everything a browser might send (here, to the page's dev server, which passes it on);
    // none of it may reach TikTok.
    let browser = |request: reqwest::RequestBuilder| {
        request
            .header("origin", "http://localhost:8080")
            .header("sec-fetch-site", "same-origin")
            .header("referer", "http://localhost:8080/post")
            .header("cookie", "session=browser-cookie")
            .header("user-agent", "Mozilla/5.0 (browser)")
            .header("authorization", "Bearer browser-credential")
            .header("x-forwarded-for", "10.0.0.1")
    };
    let creator = proxy
        .send(browser(proxy.client.get(proxy.url("/api/creator"))))
        .await;
    assert_eq!(creator.status, 200, "{}", creator.body);
    let mut direct = direct_post(1000, "SELF_ONLY");
    direct["post_info"]["is_aigc"] = json!(true);
    let mut created = Vec::new();
    for body in [direct, inbox_post(1000)] {
        let reply = proxy
            .send(browser(proxy.json_request("/api/posts", &body)))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        created.push(reply.json()["publish_id"].as_str().unwrap().to_owned());
    }
    let status = proxy
        .send(browser(
            proxy
                .client
                .get(proxy.url(&format!("/api/posts/{}", created[0]))),
        ))
        .await;
    assert_eq!(status.status, 200, "{}", status.body);

    let source = json!({"source": "FILE_UPLOAD", "video_size": 1000, "chunk_size": 1000, "total_chunk_count": 1});
    let expected = [
        (paths::CREATOR_INFO, json!({})),
        (
            paths::VIDEO_INIT,
            json!({
                "post_info": {
                    "title": "a #cat",
                    "privacy_level": "SELF_ONLY",
                    "disable_duet": false,
                    "disable_stitch": false,
                    "disable_comment": false,
                    "brand_content_toggle": false,
                    "brand_organic_toggle": false,
                    "is_aigc": true,
                },
                "source_info": source,
            }),
        ),
        (paths::INBOX_VIDEO_INIT, json!({"source_info": source})),
        (paths::STATUS_FETCH, json!({"publish_id": created[0]})),
    ];
    let recorded = proxy.sim.requests();
    assert_eq!(recorded.len(), expected.len(), "{recorded:#?}");
    for (request, (path, body)) in recorded.iter().zip(expected) {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, path);
        assert_eq!(request.query, None, "{path}");
        assert_eq!(
            request.header("authorization"),
            Some("Bearer sim-access-token"),
            "{path}"
        );
        assert_eq!(
            request.header("content-type"),
            Some(JSON_CONTENT_TYPE),
            "{path}"
        );
        for (name, value) in &request.headers {
            assert!(
                [
                    "host",
                    "authorization",
                    "content-type",
                    "content-length",
                    "accept"
                ]
                .contains(&name.as_str()),
                "{path}: unexpected header {name}: {value}"
            );
        }
        let sent: Value = serde_json::from_slice(request.body.as_deref().unwrap()).unwrap();
        assert_eq!(sent, body, "{path}");
    }
}

#[tokio::test]
async fn without_a_token_tiktok_calls_answer_503_and_nothing_goes_upstream() {
    let proxy = spawn_proxy(|config| config.access_token = None).await;
    for reply in [
        proxy.get("/api/creator").await,
        proxy
            .post_json("/api/posts", &direct_post(1000, "SELF_ONLY"))
            .await,
        proxy.post_json("/api/posts", &inbox_post(1000)).await,
        proxy.get("/api/posts/v_pub_file~v2-1.123").await,
    ] {
        check_error("no token", &reply, 503, "not_connected");
        assert!(
            reply.error().error.message.contains("TIKTOK_ACCESS_TOKEN"),
            "{}",
            reply.body
        );
    }
    assert!(proxy.sim.requests().is_empty());
    // The history and the health check still work.
    assert_eq!(proxy.get("/api/posts").await.json(), json!({"posts": []}));
    assert_eq!(proxy.get("/api/health").await.status, 200);
}

/// How a TikTok-bound call is made in the error table.
#[derive(Debug, Clone, Copy)]
enum Call {
    Creator,
    Direct(&'static str),
    Inbox,
    Status(&'static str),
}

impl Call {
    async fn make(self, proxy: &Proxy) -> Reply {
        match self {
            Self::Creator => proxy.get("/api/creator").await,
            Self::Direct(privacy) => {
                proxy
                    .post_json("/api/posts", &direct_post(1000, privacy))
                    .await
            }
            Self::Inbox => proxy.post_json("/api/posts", &inbox_post(1000)).await,
            Self::Status(id) => proxy.get(&format!("/api/posts/{id}")).await,
        }
    }

    fn is_init(self) -> bool {
        matches!(self, Self::Direct(_) | Self::Inbox)
    }
}

fn api_error(endpoint: Endpoint, code: ErrorCode, http_status: u16) -> Fault {
    Fault::ApiError {
        endpoint,
        code,
        http_status,
        times: 1,
    }
}

#[tokio::test]
async fn tiktok_errors_are_surfaced_with_their_code() {
    use ErrorCode::*;
    type Setup = Box<dyn Fn(&sim::Sim)>;
    let script = |fault: Fault| -> Setup { Box::new(move |sim| sim.script(fault.clone())) };
    let cases: Vec<(&str, Setup, Call, u16, &str)> = vec![
        (
            "creator_info's HTTP-200 daily cap",
            script(api_error(Endpoint::CreatorInfo, SpamRiskTooManyPosts, 200)),
            Call::Creator,
            403,
            "spam_risk_too_many_posts",
        ),
        (
            "creator_info's HTTP-200 ban",
            script(api_error(
                Endpoint::CreatorInfo,
                SpamRiskUserBannedFromPosting,
                200,
            )),
            Call::Creator,
            403,
            "spam_risk_user_banned_from_posting",
        ),
        (
            "creator_info's HTTP-200 user cap",
            script(api_error(Endpoint::CreatorInfo, ReachedActiveUserCap, 200)),
            Call::Creator,
            403,
            "reached_active_user_cap",
        ),
        (
            "expired token",
            script(api_error(Endpoint::CreatorInfo, AccessTokenInvalid, 401)),
            Call::Creator,
            401,
            "access_token_invalid",
        ),
        (
            "creator_info rate limit",
            script(api_error(Endpoint::CreatorInfo, RateLimitExceeded, 429)),
            Call::Creator,
            429,
            "rate_limit_exceeded",
        ),
        (
            "audience not offered to a private account",
            Box::new(|sim| sim.set_persona(Persona::private())),
            Call::Direct("PUBLIC_TO_EVERYONE"),
            403,
            "privacy_level_option_mismatch",
        ),
        (
            "unaudited app, public account",
            Box::new(|sim| {
                sim.set_persona(Persona {
                    audited: false,
                    ..Persona::default()
                })
            }),
            Call::Direct("SELF_ONLY"),
            403,
            "unaudited_client_can_only_post_to_private_accounts",
        ),
        (
            "init rate limit, as the simulator counts it",
            Box::new(|sim| {
                sim.set_rate_limits(RateLimits {
                    init: Some(0),
                    ..RateLimits::off()
                })
            }),
            Call::Direct("SELF_ONLY"),
            429,
            "rate_limit_exceeded",
        ),
        (
            "inbox full",
            script(api_error(
                Endpoint::InboxInit,
                SpamRiskTooManyPendingShare,
                403,
            )),
            Call::Inbox,
            403,
            "spam_risk_too_many_pending_share",
        ),
        (
            "TikTok's own failure",
            script(api_error(Endpoint::VideoInit, InternalError, 500)),
            Call::Direct("SELF_ONLY"),
            502,
            "internal_error",
        ),
        (
            "status of a post TikTok does not know",
            Box::new(|_| {}),
            Call::Status("v_pub_file~v2-1.1234567890123456789"),
            400,
            "invalid_publish_id",
        ),
        (
            "status rate limit",
            script(api_error(Endpoint::StatusFetch, RateLimitExceeded, 429)),
            Call::Status("v_pub_file~v2-1.1234567890123456789"),
            429,
            "rate_limit_exceeded",
        ),
    ];
    for (what, setup, call, status, code) in cases {
        let proxy = spawn_proxy(|_| {}).await;
        setup(&proxy.sim);
        let reply = call.make(&proxy).await;
        check_error(what, &reply, status, code);
        let error = reply.error().error;
        assert!(
            error
                .message
                .starts_with(ErrorCode::parse(code).user_message()),
            "{what}: {}",
            error.message
        );
        assert!(error.log_id.is_some(), "{what}: TikTok's log_id is kept");
        if status == 429 {
            let secs = error.retry_after_secs.expect("429 says when to retry");
            assert_eq!(
                reply.header("retry-after"),
                Some(secs.to_string().as_str()),
                "{what}"
            );
        } else {
            assert_eq!(error.retry_after_secs, None, "{what}");
        }
        if call.is_init() {
            let lines = proxy.log_lines();
            assert_eq!(lines.len(), 1, "{what}: {lines:?}");
            assert_eq!(lines[0]["event"], "post_failed", "{what}");
            assert_eq!(lines[0]["tiktok_code"], code, "{what}");
            assert_eq!(
                lines[0]["log_id"].as_str(),
                error.log_id.as_deref(),
                "{what}"
            );
        }
    }
}

#[tokio::test]
async fn a_rate_limit_without_retry_after_asks_for_sixty_seconds() {
    let proxy = spawn_proxy(|_| {}).await;
    proxy.sim.script(api_error(
        Endpoint::CreatorInfo,
        ErrorCode::RateLimitExceeded,
        429,
    ));
    let reply = proxy.get("/api/creator").await;
    check_error("429", &reply, 429, "rate_limit_exceeded");
    assert_eq!(reply.error().error.retry_after_secs, Some(60));
    assert_eq!(reply.header("retry-after"), Some("60"));
}

#[tokio::test]
async fn a_wrong_token_is_access_token_invalid() {
    let proxy = spawn_proxy(|config| {
        config.access_token = Some(proxy::Secret::new("not-the-token"));
    })
    .await;
    let reply = proxy
        .post_json("/api/posts", &direct_post(1000, "SELF_ONLY"))
        .await;
    check_error("wrong token", &reply, 401, "access_token_invalid");
    assert_eq!(proxy.log_lines()[0]["tiktok_code"], "access_token_invalid");
}

#[tokio::test]
async fn failures_on_the_way_to_tiktok_are_502_or_504_never_a_hang() {
    let html = "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 6\r\nconnection: close\r\n\r\n<html>";
    let garbage = fake_upstream(html).await;
    let cases = [
        ("hanging TikTok", None, 504, "tiktok_timeout"),
        (
            "nothing listening",
            Some("http://127.0.0.1:1".to_owned()),
            502,
            "tiktok_unreachable",
        ),
        ("an HTML answer", Some(garbage), 502, "tiktok_bad_response"),
    ];
    for (what, api_base, status, code) in cases {
        for call in [Call::Creator, Call::Direct("SELF_ONLY")] {
            let proxy = spawn_proxy(|config| {
                config.upstream_timeout = Duration::from_millis(300);
                if let Some(base) = api_base.clone() {
                    config.api_base = base;
                }
            })
            .await;
            for endpoint in [Endpoint::CreatorInfo, Endpoint::VideoInit] {
                proxy.sim.script(Fault::Hang {
                    endpoint,
                    duration: Duration::from_secs(30),
                    times: 1,
                });
            }
            let started = Instant::now();
            let reply = call.make(&proxy).await;
            check_error(what, &reply, status, code);
            assert!(started.elapsed() < Duration::from_secs(5), "{what}");
            if call.is_init() {
                let lines = proxy.log_lines();
                assert_eq!(lines[0]["event"], "post_failed", "{what}");
                assert_eq!(lines[0]["code"], code, "{what}");
            }
        }
    }
}

#[tokio::test]
async fn bad_requests_are_refused_before_tiktok_is_asked() {
    let proxy = spawn_proxy(|_| {}).await;
    let post = |body: String, content_type: Option<&str>| {
        let mut request = proxy.client.post(proxy.url("/api/posts")).body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request
    };
    let json = Some("application/json");
    let valid = |change: fn(&mut Value)| {
        let mut body = direct_post(1000, "SELF_ONLY");
        change(&mut body);
        body.to_string()
    };
    let long_id = "v".repeat(65);
    let cases: Vec<(&str, reqwest::RequestBuilder, u16, &str, Option<&str>)> = vec![
        (
            "malformed JSON",
            post("{\"mode\":".into(), json),
            400,
            "invalid_json",
            Some("EOF while parsing"),
        ),
        (
            "a missing field",
            post(r#"{"video_size":1}"#.into(), json),
            400,
            "invalid_json",
            Some("missing field `mode`"),
        ),
        (
            "an unknown mode",
            post(valid(|b| b["mode"] = json!("story")), json),
            400,
            "invalid_json",
            Some("unknown variant `story`"),
        ),
        (
            "text/plain",
            post(valid(|_| {}), Some("text/plain")),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "no content type",
            post(valid(|_| {}), None),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            "a huge body",
            post(" ".repeat(100 * 1024), json),
            413,
            "payload_too_large",
            None,
        ),
        (
            "no privacy level",
            post(
                valid(|b| {
                    b["post_info"]
                        .as_object_mut()
                        .unwrap()
                        .remove("privacy_level");
                }),
                json,
            ),
            400,
            "privacy_level_missing",
            Some("who can view"),
        ),
        (
            "an empty video",
            post(valid(|b| b["video_size"] = json!(0)), json),
            400,
            "invalid_video_size",
            None,
        ),
        (
            "an image",
            post(valid(|b| b["content_type"] = json!("image/png")), json),
            400,
            "unsupported_content_type",
            None,
        ),
        (
            "private branded content",
            post(
                valid(|b| b["post_info"]["brand_content_toggle"] = json!(true)),
                json,
            ),
            400,
            "branded_content_private",
            None,
        ),
        (
            "a caption over 2200 UTF-16 units",
            post(
                valid(|b| b["post_info"]["title"] = json!("😀".repeat(1101))),
                json,
            ),
            400,
            "caption_too_long",
            None,
        ),
        (
            "a publish_id with a space",
            proxy.client.get(proxy.url("/api/posts/bad%20id")),
            400,
            "invalid_publish_id",
            None,
        ),
        (
            "a publish_id over 64 characters",
            proxy
                .client
                .get(proxy.url(&format!("/api/posts/{long_id}"))),
            400,
            "invalid_publish_id",
            None,
        ),
        (
            "an empty publish_id",
            proxy.client.get(proxy.url("/api/posts/")),
            400,
            "invalid_publish_id",
            None,
        ),
        (
            "an unknown API route",
            proxy.client.get(proxy.url("/api/nope")),
            404,
            "not_found",
            None,
        ),
        (
            "a missing file",
            proxy.client.get(proxy.url("/nope.js")),
            404,
            "not_found",
            None,
        ),
    ];
    for (what, request, status, code, message) in cases {
        let reply = proxy.send(request).await;
        check_error(what, &reply, status, code);
        if let Some(part) = message {
            let text = reply.error().error.message;
            assert!(text.contains(part), "{what}: {text}");
        }
    }

    let methods = [
        (reqwest::Method::POST, "/api/health", "GET"),
        (reqwest::Method::POST, "/api/creator", "GET"),
        (reqwest::Method::DELETE, "/api/posts", "GET, POST"),
        (reqwest::Method::PUT, "/api/posts/v_pub_file~v2-1.1", "GET"),
        (reqwest::Method::POST, "/", "GET, HEAD"),
    ];
    for (method, path, allow) in methods {
        let reply = proxy
            .send(proxy.client.request(method.clone(), proxy.url(path)))
            .await;
        check_error(path, &reply, 405, "method_not_allowed");
        assert_eq!(reply.header("allow"), Some(allow), "{method} {path}");
    }
    assert!(proxy.sim.requests().is_empty());
    assert!(proxy.log_lines().is_empty());
}

#[tokio::test]
async fn polls_within_the_cache_ttl_make_one_status_call() {
    let proxy = spawn_proxy(|config| config.status_cache_ttl = Duration::from_secs(60)).await;
    let created = proxy.create(&direct_post(1000, "SELF_ONLY")).await;
    let path = format!("/api/posts/{}", created.publish_id);
    let first = proxy.get(&path).await;
    let second = proxy.get(&path).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.body, second.body);
    let status_calls = proxy
        .sim
        .requests()
        .iter()
        .filter(|request| request.path == paths::STATUS_FETCH)
        .count();
    assert_eq!(status_calls, 1);
    let events: Vec<Value> = proxy
        .log_lines()
        .into_iter()
        .map(|line| line["event"].clone())
        .collect();
    assert_eq!(events, ["post_created", "status"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_posts_each_get_one_whole_log_line() {
    let options = SimOptions {
        rate_limits: RateLimits::off(),
        ..sim_options()
    };
    // Twenty inits at once: past TikTok's 6 a minute, so the proxy's count of it is raised too.
    let proxy = Arc::new(spawn_proxy_with(options, |config| config.init_limit = 20).await);
    let tasks: Vec<_> = (0..20u64)
        .map(|i| {
            let proxy = proxy.clone();
            tokio::spawn(async move {
                let mut body = direct_post(1000 + i, "SELF_ONLY");
                body["file_name"] = json!(format!("clip-{i}.mp4"));
                body["post_info"]["title"] = json!(format!("clip {i} {}", "#long ".repeat(300)));
                proxy.create(&body).await.publish_id
            })
        })
        .collect();
    let mut created = Vec::new();
    for task in tasks {
        created.push(task.await.unwrap());
    }
    let lines = proxy.log_lines();
    assert_eq!(lines.len(), 20);
    let mut logged: Vec<String> = lines
        .iter()
        .map(|line| {
            assert_eq!(line["event"], "post_created");
            line["publish_id"].as_str().unwrap().to_owned()
        })
        .collect();
    logged.sort();
    created.sort();
    assert_eq!(logged, created);
    let history = proxy.get("/api/posts").await.json();
    assert_eq!(history["posts"].as_array().unwrap().len(), 20);
}

#[tokio::test]
async fn a_torn_last_line_is_skipped_and_the_next_line_starts_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let good = r#"{"ts":"2025-01-01T00:00:00.000Z","event":"post_created","publish_id":"v_pub_file~v2-1.1","mode":"direct","video_size":10}"#;
    let torn = r#"{"ts":"2025-01-01T00:00:01.000Z","event":"status","publish_id":"v_pub_fi"#;
    std::fs::write(dir.path().join("posts.jsonl"), format!("{good}\n{torn}")).unwrap();
    let proxy = spawn_proxy_in(dir, sim_options(), |_| {}).await;

    let history = proxy.get("/api/posts").await;
    assert_eq!(history.status, 200, "{}", history.body);
    let posts = history.json()["posts"].as_array().unwrap().clone();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["publish_id"], "v_pub_file~v2-1.1");

    let created = proxy.create(&inbox_post(1000)).await;
    let text = std::fs::read_to_string(&proxy.log_path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[0], good);
    assert_eq!(lines[1], torn);
    let appended: Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(appended["publish_id"], created.publish_id.as_str());
    assert!(text.ends_with('\n'));
    let history = proxy.get("/api/posts").await.json();
    assert_eq!(
        history["posts"][0]["publish_id"],
        created.publish_id.as_str()
    );
    assert_eq!(history["posts"][1]["publish_id"], "v_pub_file~v2-1.1");
}

#[tokio::test]
async fn static_files_are_served_safely() {
    let root = tempfile::tempdir().unwrap();
    let dist = root.path().join("dist");
    std::fs::create_dir_all(dist.join("assets")).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>app</title>").unwrap();
    std::fs::write(dist.join("app_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dist.join("assets/app.js"), "export {};").unwrap();
    std::fs::write(root.path().join("secret.txt"), "outside").unwrap();
    let proxy = spawn_proxy(|config| config.static_dir = Some(dist.clone())).await;

    for (path, content_type, body) in [
        (
            "/",
            "text/html; charset=utf-8",
            "<!doctype html><title>app</title>",
        ),
        (
            "/index.html",
            "text/html; charset=utf-8",
            "<!doctype html><title>app</title>",
        ),
        ("/app_bg.wasm", "application/wasm", "\0asm\x01\0\0\0"),
        (
            "/assets/app.js?v=1",
            "text/javascript; charset=utf-8",
            "export {};",
        ),
    ] {
        let reply = proxy.get(path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.header("content-type"), Some(content_type), "{path}");
        assert_eq!(reply.body, body, "{path}");
    }
    let head = proxy
        .send(proxy.client.head(proxy.url("/app_bg.wasm")))
        .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-length"), Some("8"));
    assert!(head.body.is_empty());

    for path in [
        "/missing.js",
        "/../secret.txt",
        "/assets/../../secret.txt",
        "//etc/passwd",
        "/assets/..%2F..%2Fsecret.txt",
        "/assets/",
    ] {
        assert_eq!(raw_get_status(&proxy.base_url, path).await, 404, "{path}");
    }
}

/// Issue 12: only the kinds of file the app is made of, never a dotfile, and pages that carry
/// a CSP (with the hash of each inline script) and refuse to be framed.
#[tokio::test]
async fn only_app_files_are_served_and_pages_carry_a_csp() {
    let dist = tempfile::tempdir().unwrap();
    let inline = "import init from '/app.js'; await init();";
    let page = format!(
        "<!doctype html><link rel=modulepreload href=/app.js><script type=module>{inline}</script>"
    );
    std::fs::write(dist.path().join("index.html"), &page).unwrap();
    std::fs::write(dist.path().join("app.js"), "export {};").unwrap();
    for private in [
        "tokens.json",
        "posts.jsonl",
        ".env",
        "notes.txt",
        "app.js.map",
    ] {
        std::fs::write(dist.path().join(private), "secret").unwrap();
    }
    std::fs::create_dir_all(dist.path().join(".git")).unwrap();
    std::fs::write(dist.path().join(".git/config"), "secret").unwrap();
    std::fs::create_dir_all(dist.path().join(".well-known")).unwrap();
    std::fs::write(dist.path().join(".well-known/app.js"), "secret").unwrap();
    let static_dir = dist.path().to_path_buf();
    let proxy = spawn_proxy(move |config| config.static_dir = Some(static_dir)).await;

    for path in [
        "/tokens.json",
        "/posts.jsonl",
        "/.env",
        "/notes.txt",
        "/app.js.map",
        "/.git/config",
        "/.well-known/app.js",
        "/%2egit/config",
    ] {
        assert_eq!(raw_get_status(&proxy.base_url, path).await, 404, "{path}");
    }

    let hash = {
        use base64::Engine;
        use sha2::Digest;
        base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(inline))
    };
    for path in ["/", "/index.html"] {
        let reply = proxy.get(path).await;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.body, page);
        let csp = reply.header("content-security-policy").expect("a CSP");
        for part in [
            "default-src 'self'".to_owned(),
            format!("script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}';"),
            format!("connect-src 'self' {};", proxy.sim.base_url()),
            "frame-ancestors 'none'".to_owned(),
            "object-src 'none'".to_owned(),
            "base-uri 'none'".to_owned(),
        ] {
            assert!(csp.contains(&part), "{part} in {csp}");
        }
        assert_eq!(reply.header("x-frame-options"), Some("DENY"));
        assert_eq!(reply.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(reply.header("access-control-allow-origin"), None);
    }
    // Scripts other sites import keep their CORS header, and carry no page headers.
    let script = proxy.get("/app.js").await;
    assert_eq!(script.status, 200);
    assert_eq!(script.header("access-control-allow-origin"), Some("*"));
    assert_eq!(script.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(script.header("content-security-policy"), None);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn without_a_static_dir_the_root_says_how_to_build_the_app() {
    let proxy = spawn_proxy(|_| {}).await;
    let reply = proxy.get("/").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert!(reply.body.contains("trunk build"), "{}", reply.body);
    assert!(reply.body.contains("running"), "{}", reply.body);
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    let proxy = spawn_proxy(|_| {}).await;
    proxy.sim.script(Fault::Hang {
        endpoint: Endpoint::CreatorInfo,
        duration: Duration::from_millis(500),
        times: 1,
    });
    let url = proxy.url("/api/creator");
    let client = proxy.client.clone();
    let in_flight = tokio::spawn(async move { client.get(url).send().await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let base_url = proxy.base_url.clone();
    proxy.stop().await.expect("run returns cleanly");
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 200);
    let address = base_url.trim_start_matches("http://");
    assert!(tokio::net::TcpStream::connect(address).await.is_err());
}

/// Runs every endpoint and every error path with a recognisable token and looks for it in
/// every response (status line, headers, body), in the JSONL log and in the tracing output.
#[tokio::test]
async fn the_token_appears_in_no_response_log_or_trace() {
    const TOKEN: &str = "act.SWEEP-9f8e7d6c5b4a";
    const WRONG: &str = "act.SWEEP-wrong-0a1b2c";
    let captured = support::capture_tracing();

    let options = SimOptions {
        access_token: TOKEN.to_owned(),
        ..sim_options()
    };
    // Short enough for the hung init below to time out soon; long enough that the calls that
    // must succeed do so on a loaded machine.
    let proxy = spawn_proxy_with(options.clone(), |config| {
        config.upstream_timeout = Duration::from_secs(2);
    })
    .await;
    let mut replies = Vec::new();

    // Every endpoint, succeeding.
    replies.push(proxy.get("/api/health").await);
    replies.push(proxy.get("/api/creator").await);
    let created = proxy
        .post_json("/api/posts", &direct_post(1000, "SELF_ONLY"))
        .await;
    assert_eq!(created.status, 201);
    let publish_id = created.json()["publish_id"].as_str().unwrap().to_owned();
    replies.push(created);
    replies.push(proxy.post_json("/api/posts", &inbox_post(1000)).await);
    replies.push(proxy.get(&format!("/api/posts/{publish_id}")).await);
    replies.push(proxy.get("/api/posts").await);
    replies.push(proxy.get("/").await);

    // Every error path.
    use ErrorCode::*;
    for (endpoint, code, status) in [
        (Endpoint::CreatorInfo, SpamRiskTooManyPosts, 200),
        (Endpoint::CreatorInfo, AccessTokenInvalid, 401),
        (Endpoint::CreatorInfo, RateLimitExceeded, 429),
        (Endpoint::VideoInit, PrivacyLevelOptionMismatch, 403),
        (Endpoint::VideoInit, InternalError, 500),
        (Endpoint::StatusFetch, Other("brand_new".into()), 418),
    ] {
        proxy.sim.script(api_error(endpoint, code, status));
        let call = match endpoint {
            Endpoint::CreatorInfo => Call::Creator,
            Endpoint::VideoInit => Call::Direct("SELF_ONLY"),
            _ => Call::Status("v_pub_file~v2-1.99"),
        };
        replies.push(call.make(&proxy).await);
    }
    proxy.sim.script(Fault::Hang {
        endpoint: Endpoint::VideoInit,
        duration: Duration::from_secs(5),
        times: 1,
    });
    replies.push(Call::Direct("SELF_ONLY").make(&proxy).await);
    replies.push(proxy.get("/api/posts/v_pub_file~v2-1.1234").await);
    replies.push(proxy.get("/api/posts/bad%20id").await);
    replies.push(proxy.post_json("/api/posts", &json!({"mode": 1})).await);
    replies.push(
        proxy
            .send(proxy.client.post(proxy.url("/api/posts")).body("x"))
            .await,
    );
    replies.push(
        proxy
            .post_json("/api/posts", &json!(" ".repeat(100 * 1024)))
            .await,
    );
    replies.push(
        proxy
            .post_json("/api/posts", &direct_post(0, "SELF_ONLY"))
            .await,
    );
    replies.push(proxy.get("/api/nope").await);
    replies.push(
        proxy
            .send(proxy.client.delete(proxy.url("/api/posts")))
            .await,
    );

    // A proxy whose token TikTok refuses, and ones that cannot reach TikTok.
    let wrong = spawn_proxy_with(options.clone(), |config| {
        config.access_token = Some(proxy::Secret::new(WRONG));
    })
    .await;
    replies.push(wrong.get("/api/creator").await);
    replies.push(
        wrong
            .post_json("/api/posts", &direct_post(1000, "SELF_ONLY"))
            .await,
    );
    let unreachable = spawn_proxy_with(options, |config| {
        config.access_token = Some(proxy::Secret::new(WRONG));
        config.api_base = "http://127.0.0.1:1".into();
    })
    .await;
    replies.push(
        unreachable
            .post_json("/api/posts", &direct_post(1000, "SELF_ONLY"))
            .await,
    );

    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    for expected in [200, 201, 400, 401, 403, 404, 405, 413, 415, 429, 502, 504] {
        assert!(
            statuses.contains(&expected),
            "{expected} not covered: {statuses:?}"
        );
    }
    for reply in &replies {
        let everything = reply.everything();
        for secret in [TOKEN, WRONG] {
            assert!(!everything.contains(secret), "{everything}");
        }
    }
    for proxy in [&proxy, &wrong, &unreachable] {
        let log = std::fs::read_to_string(&proxy.log_path).unwrap();
        assert!(!log.is_empty());
        for secret in [TOKEN, WRONG] {
            assert!(!log.contains(secret), "{log}");
        }
    }
    let traced = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(traced.contains("request"), "tracing was captured");
    for secret in [TOKEN, WRONG] {
        assert!(!traced.contains(secret), "{traced}");
    }
}

#[tokio::test]
async fn static_files_are_sent_precompressed_when_the_client_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.js"), "plain").unwrap();
    std::fs::write(dir.path().join("app.js.br"), "brotli bytes").unwrap();
    std::fs::write(dir.path().join("app.js.gz"), "gzip bytes").unwrap();
    std::fs::write(dir.path().join("style.css"), "no siblings").unwrap();
    let static_dir = dir.path().to_path_buf();
    let proxy = spawn_proxy(move |config| config.static_dir = Some(static_dir)).await;
    for (path, accept, body, encoding) in [
        (
            "/app.js",
            Some("gzip, deflate, br, zstd"),
            "brotli bytes",
            Some("br"),
        ),
        ("/app.js", Some("gzip"), "gzip bytes", Some("gzip")),
        ("/app.js", Some("br;q=0, gzip"), "gzip bytes", Some("gzip")),
        ("/app.js", None, "plain", None),
        ("/app.js", Some("identity"), "plain", None),
        ("/style.css", Some("br, gzip"), "no siblings", None),
    ] {
        let mut request = proxy.client.get(proxy.url(path));
        if let Some(accept) = accept {
            request = request.header("accept-encoding", accept);
        }
        let reply = proxy.send(request).await;
        assert_eq!(reply.status, 200, "{path} {accept:?}");
        assert_eq!(reply.body, body, "{path} {accept:?}");
        assert_eq!(
            reply.header("content-encoding"),
            encoding,
            "{path} {accept:?}"
        );
        assert_eq!(reply.header("vary"), Some("accept-encoding"));
        assert_eq!(
            reply.header("content-type"),
            Some(if path.ends_with(".js") {
                "text/javascript; charset=utf-8"
            } else {
                "text/css; charset=utf-8"
            }),
            "the type of what it decodes to"
        );
    }
    proxy.stop().await.unwrap();
}

/// Issue 12: `--static-dir .` in the folder holding the token file and the log would publish
/// them; the proxy refuses to start, naming the settings.
#[tokio::test]
async fn a_static_dir_holding_the_token_file_or_the_log_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tokens.json"), "{}").unwrap();
    for oauth in [false, true] {
        let config = proxy::Config {
            static_dir: Some(dir.path().to_path_buf()),
            log_path: if oauth {
                std::env::temp_dir().join("elsewhere-posts.jsonl")
            } else {
                dir.path().join("posts.jsonl")
            },
            oauth: oauth.then(|| proxy::OAuthConfig {
                token_file: dir.path().join("tokens.json"),
                ..proxy::OAuthConfig::new("ck", proxy::Secret::new("cs-value"))
            }),
            ..proxy::Config::default()
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let error = proxy::run(listener, config, std::future::pending())
            .await
            .expect_err("refused");
        let text = format!("{error:#}");
        let setting = if oauth {
            "AUTOPOSTER_TOKEN_FILE"
        } else {
            "AUTOPOSTER_LOG"
        };
        assert!(text.contains(setting), "{text}");
        assert!(text.contains("AUTOPOSTER_STATIC_DIR"), "{text}");
        assert!(!text.contains("cs-value"), "{text}");
    }
    assert!(
        !dir.path().join("posts.jsonl").exists(),
        "nothing was written"
    );
}
