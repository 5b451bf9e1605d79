//! Every wrong request refused as TikTok refuses it, as tables of cases.

use crate::support::*;
use reqwest::Method;
use serde_json::{Value, json};
use sim::{Endpoint, Persona, RateLimits, SimOptions};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Starts a simulator without rate limits, for tables that make many calls.
async fn unlimited() -> Harness {
    start_with(SimOptions {
        rate_limits: RateLimits::off(),
        ..fast()
    })
    .await
}

#[tokio::test]
async fn init_refusals() {
    let harness = unlimited().await;
    let mut long_title = direct(WHOLE, "SELF_ONLY");
    long_title["post_info"]["title"] = json!("😀".repeat(1100) + "a");
    let mut no_privacy = direct(WHOLE, "SELF_ONLY");
    no_privacy["post_info"]
        .as_object_mut()
        .unwrap()
        .remove("privacy_level");
    let mut pull = direct(WHOLE, "SELF_ONLY");
    pull["source_info"] =
        json!({"source": "PULL_FROM_URL", "video_url": "https://example.com/v.mp4"});
    let mut no_size = direct(WHOLE, "SELF_ONLY");
    no_size["source_info"]
        .as_object_mut()
        .unwrap()
        .remove("video_size");
    let cases: Vec<(&str, Endpoint, Value, u16, &str, &str)> = vec![
        (
            "ceil-based total_chunk_count",
            Endpoint::VideoInit,
            direct((50_000_123, 10_000_000, 6), "SELF_ONLY"),
            400,
            "invalid_param",
            "The total_chunk_count is invalid",
        ),
        (
            "4 MiB chunks for a 100 MiB video",
            Endpoint::VideoInit,
            direct((100 * MIB, 4 * MIB, 25), "SELF_ONLY"),
            400,
            "invalid_param",
            "chunk size",
        ),
        (
            "a small video in chunks",
            Endpoint::InboxInit,
            inbox((4 * MIB, 2 * MIB, 2)),
            400,
            "invalid_param",
            "whole",
        ),
        (
            "privacy level not offered",
            Endpoint::VideoInit,
            direct(WHOLE, "FOLLOWER_OF_CREATOR"),
            403,
            "privacy_level_option_mismatch",
            "FOLLOWER_OF_CREATOR",
        ),
        (
            "privacy level missing",
            Endpoint::VideoInit,
            no_privacy,
            403,
            "privacy_level_option_mismatch",
            "privacy_level",
        ),
        (
            "title over 2200 UTF-16 units",
            Endpoint::VideoInit,
            long_title,
            400,
            "invalid_param",
            "2200",
        ),
        (
            "pull from an unverified URL",
            Endpoint::VideoInit,
            pull.clone(),
            403,
            "url_ownership_unverified",
            "example.com",
        ),
        (
            "inbox pull from an unverified URL",
            Endpoint::InboxInit,
            json!({"source_info": pull["source_info"]}),
            403,
            "url_ownership_unverified",
            "",
        ),
        (
            "video_size missing",
            Endpoint::VideoInit,
            no_size,
            400,
            "invalid_param",
            "video_size",
        ),
        (
            "source_info missing",
            Endpoint::InboxInit,
            json!({}),
            400,
            "invalid_param",
            "source_info",
        ),
        (
            "publish_id unknown",
            Endpoint::StatusFetch,
            json!({"publish_id": "v_pub_file~v2-1.123"}),
            400,
            "invalid_publish_id",
            "",
        ),
        (
            "publish_id missing",
            Endpoint::StatusFetch,
            json!({}),
            400,
            "invalid_param",
            "publish_id",
        ),
    ];
    for (what, endpoint, body, status, code, message) in cases {
        let answer = harness.call(endpoint, body).await;
        check(&answer, status, code);
        assert!(
            answer.message().contains(message),
            "{what}: {}",
            answer.text
        );
    }
    assert!(harness.sim.uploads().is_empty(), "nothing was created");
}

#[tokio::test]
async fn unaudited_apps_post_only_to_private_accounts() {
    let unaudited = Persona {
        audited: false,
        ..Persona::default()
    };
    let harness = start_with(SimOptions {
        persona: unaudited,
        ..fast()
    })
    .await;
    let answer = harness
        .call(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
        .await;
    check(
        &answer,
        403,
        "unaudited_client_can_only_post_to_private_accounts",
    );
    // Drafts are not restricted.
    harness.init(Endpoint::InboxInit, inbox(WHOLE)).await;
    harness.sim.set_persona(Persona {
        audited: false,
        ..Persona::private()
    });
    harness
        .init(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
        .await;
}

/// One API request, spelled out header by header, and the answer TikTok gives it.
#[derive(Debug, Clone)]
struct Raw {
    what: &'static str,
    method: Method,
    path: &'static str,
    authorization: Option<String>,
    content_type: Option<&'static str>,
    body: String,
    expect: (u16, &'static str),
}

#[tokio::test]
async fn auth_and_format_refusals() {
    let harness = unlimited().await;
    let token = harness.sim.access_token().to_owned();
    // A correct Direct Post init; each case changes one thing.
    let good = Raw {
        what: "a correct init",
        method: Method::POST,
        path: Endpoint::VideoInit.path(),
        authorization: Some(format!("Bearer {token}")),
        content_type: Some("application/json; charset=UTF-8"),
        body: direct(WHOLE, "SELF_ONLY").to_string(),
        expect: (200, "ok"),
    };
    let cases = [
        good.clone(),
        Raw {
            what: "no token",
            authorization: None,
            expect: (401, "access_token_invalid"),
            ..good.clone()
        },
        Raw {
            what: "wrong token",
            authorization: Some("Bearer act.wrong".into()),
            expect: (401, "access_token_invalid"),
            ..good.clone()
        },
        Raw {
            what: "token without the Bearer scheme",
            authorization: Some(token.clone()),
            expect: (401, "access_token_invalid"),
            ..good.clone()
        },
        Raw {
            what: "text/plain body",
            content_type: Some("text/plain"),
            expect: (400, "invalid_param"),
            ..good.clone()
        },
        Raw {
            what: "no content type",
            content_type: None,
            expect: (400, "invalid_param"),
            ..good.clone()
        },
        Raw {
            what: "plain application/json is fine",
            content_type: Some("application/json"),
            ..good.clone()
        },
        Raw {
            what: "malformed JSON",
            body: "{\"post_info\":".into(),
            expect: (400, "invalid_param"),
            ..good.clone()
        },
        Raw {
            what: "body over 64 KiB",
            path: Endpoint::StatusFetch.path(),
            body: format!("{{\"pad\":\"{}\"}}", "x".repeat(70_000)),
            expect: (400, "invalid_param"),
            ..good.clone()
        },
        Raw {
            what: "unknown path",
            path: "/v2/post/publish/nope/",
            expect: (404, "not_found"),
            ..good.clone()
        },
        Raw {
            what: "path without the trailing slash",
            path: "/v2/post/publish/video/init",
            expect: (404, "not_found"),
            ..good.clone()
        },
        Raw {
            what: "GET on init",
            method: Method::GET,
            content_type: None,
            body: String::new(),
            expect: (405, "method_not_allowed"),
            ..good.clone()
        },
    ];
    for case in cases {
        let url = format!("{}{}", harness.sim.base_url(), case.path);
        let mut request = harness.http.request(case.method, url).body(case.body);
        if let Some(authorization) = case.authorization {
            request = request.header("authorization", authorization);
        }
        if let Some(content_type) = case.content_type {
            request = request.header("content-type", content_type);
        }
        let answer = reply(request).await;
        assert_eq!(
            answer.status, case.expect.0,
            "{}: {}",
            case.what, answer.text
        );
        check(&answer, case.expect.0, case.expect.1);
    }
}

#[tokio::test]
async fn seventh_init_in_a_minute_is_rate_limited() {
    let harness = start().await;
    for _ in 0..6 {
        harness
            .init(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
            .await;
    }
    let seventh = harness
        .call(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
        .await;
    check(&seventh, 429, "rate_limit_exceeded");
    // The inbox init counts separately.
    harness.init(Endpoint::InboxInit, inbox(WHOLE)).await;
    harness.sim.set_rate_limits(RateLimits::off());
    harness
        .init(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
        .await;
}

#[tokio::test]
async fn status_and_creator_info_limits() {
    let harness = start_with(SimOptions {
        rate_limits: RateLimits {
            creator_info: Some(2),
            init: None,
            status: Some(1),
        },
        ..fast()
    })
    .await;
    let status = json!({"publish_id": "v_pub_file~v2-1.1"});
    check(
        &harness.call(Endpoint::StatusFetch, status.clone()).await,
        400,
        "invalid_publish_id",
    );
    check(
        &harness.call(Endpoint::StatusFetch, status).await,
        429,
        "rate_limit_exceeded",
    );
    for expected in [(200, "ok"), (200, "ok"), (429, "rate_limit_exceeded")] {
        let answer = harness.call(Endpoint::CreatorInfo, json!({})).await;
        check(&answer, expected.0, expected.1);
    }
}

#[tokio::test]
async fn at_most_five_pending_inbox_shares() {
    let harness = unlimited().await;
    let mut urls = Vec::new();
    for _ in 0..5 {
        urls.push(harness.init(Endpoint::InboxInit, inbox(WHOLE)).await.1);
    }
    let sixth = harness.call(Endpoint::InboxInit, inbox(WHOLE)).await;
    check(&sixth, 403, "spam_risk_too_many_pending_share");
    // Finishing one upload frees a place.
    harness
        .upload_all(&urls[0], &video(WHOLE.0, 4), &plan(WHOLE))
        .await;
    harness.init(Endpoint::InboxInit, inbox(WHOLE)).await;
}

#[tokio::test]
async fn upload_refusals() {
    let harness = unlimited().await;
    let plan = plan(SMALL3);
    let video = video(SMALL3.0, 5);
    let total = SMALL3.0;
    let [first, second, third] = [0, 1, 2].map(|i| plan.chunk(i).unwrap());
    let with = |content_type, content_range: Option<String>, body| PutSpec {
        content_type,
        content_range,
        body,
    };
    let mp4 = Some("video/mp4");
    // (what, chunks sent first, the PUT, expected status, expected Content-Range)
    let cases: Vec<(&str, u64, PutSpec, u16, Option<String>)> = vec![
        (
            "a gap: chunk 1 before chunk 0",
            0,
            PutSpec::chunk(second),
            416,
            Some(format!("bytes */{total}")),
        ),
        (
            "an overlap: chunk 0 again",
            1,
            PutSpec::chunk(first),
            416,
            Some(progress(first.end, total)),
        ),
        (
            "a gap after progress: chunk 2 after chunk 0",
            1,
            PutSpec::chunk(third),
            416,
            Some(progress(first.end, total)),
        ),
        (
            "the right start but the wrong length",
            0,
            with(mp4, Some(format!("bytes 0-{}/{total}", MIB - 1)), (0, MIB)),
            416,
            Some(format!("bytes */{total}")),
        ),
        (
            "Content-Type image/png",
            0,
            with(
                Some("image/png"),
                Some(first.content_range()),
                (0, first.end),
            ),
            400,
            Some(format!("bytes */{total}")),
        ),
        (
            "no Content-Type",
            0,
            with(None, Some(first.content_range()), (0, first.end)),
            400,
            Some(format!("bytes */{total}")),
        ),
        (
            "no Content-Range",
            0,
            with(mp4, None, (0, first.end)),
            400,
            Some(format!("bytes */{total}")),
        ),
        (
            "a malformed Content-Range",
            0,
            with(mp4, Some(format!("bytes 0-/{total}")), (0, first.end)),
            400,
            Some(format!("bytes */{total}")),
        ),
        (
            "a Content-Range total that is not video_size",
            0,
            with(
                mp4,
                Some(format!("bytes 0-{}/{}", first.end - 1, total + 1)),
                (0, first.end),
            ),
            400,
            Some(format!("bytes */{total}")),
        ),
        (
            "a body shorter than its Content-Range",
            0,
            with(mp4, Some(first.content_range()), (0, first.end - 1)),
            400,
            Some(format!("bytes */{total}")),
        ),
        (
            "a PUT after the upload completed",
            3,
            PutSpec::chunk(third),
            416,
            Some(progress(total, total)),
        ),
    ];
    for (what, sent_before, spec, status, content_range) in cases {
        let (publish_id, upload_url) = harness
            .init(Endpoint::VideoInit, direct(SMALL3, "SELF_ONLY"))
            .await;
        for chunk in plan.chunks().take(sent_before as usize) {
            let put = harness
                .put(&upload_url, &video, &PutSpec::chunk(chunk))
                .await;
            assert!(put.status == 206 || put.status == 201, "{what}: {put:?}");
        }
        let put = harness.put(&upload_url, &video, &spec).await;
        assert_eq!(
            (put.status, &put.content_range),
            (status, &content_range),
            "{what}: {put:?}"
        );
        let record = harness.sim.upload(&publish_id).unwrap();
        let accepted = plan.chunks().take(sent_before as usize).collect::<Vec<_>>();
        assert_eq!(
            record.chunks_accepted, accepted,
            "{what}: nothing more accepted"
        );
    }
}

#[tokio::test]
async fn unknown_and_expired_upload_urls() {
    let harness = start_with(SimOptions {
        upload_url_ttl: Duration::from_millis(300),
        ..fast()
    })
    .await;
    let video = video(WHOLE.0, 6);
    let spec = PutSpec::chunk(plan(WHOLE).chunk(0).unwrap());
    let (_, upload_url) = harness
        .init(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
        .await;
    let (base, query) = upload_url.split_once('?').unwrap();
    let (id, token) = query.split_once('&').unwrap();
    let unknown = [
        format!("{base}?upload_id=1234567890123456789&{token}"),
        format!("{base}?{id}&upload_token=0"),
        format!("{base}?{id}"),
        base.to_owned(),
    ];
    for url in unknown {
        let put = harness.put(&url, &video, &spec).await;
        assert_eq!((put.status, put.content_range), (404, None), "{url}");
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let put = harness.put(&upload_url, &video, &spec).await;
    assert_eq!(put.status, 403, "the URL expired");
}

/// A body that ends before its `Content-Length` (the client closes its side early) is refused
/// with 400 and none of it is accepted.
#[tokio::test]
async fn a_body_cut_short_is_refused() {
    let harness = start().await;
    let (publish_id, upload_url) = harness
        .init(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
        .await;
    let target = upload_url
        .strip_prefix(&harness.sim.base_url())
        .unwrap()
        .to_owned();
    let mut stream = tokio::net::TcpStream::connect(harness.sim.addr())
        .await
        .unwrap();
    let head = format!(
        "PUT {target} HTTP/1.1\r\nhost: {}\r\ncontent-type: video/mp4\r\ncontent-range: bytes 0-{}/{}\r\ncontent-length: {}\r\n\r\n",
        harness.sim.addr(),
        WHOLE.0 - 1,
        WHOLE.0,
        WHOLE.0
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
        .write_all(&video(WHOLE.0 / 2, 9))
        .await
        .expect("half the body");
    stream.shutdown().await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let record = harness.sim.upload(&publish_id).unwrap();
    assert_eq!(record.received_bytes, 0);
    assert!(record.chunks_accepted.is_empty());
    // The whole chunk, sent properly, is then accepted from byte 0.
    harness
        .upload_all(&upload_url, &video(WHOLE.0, 9), &plan(WHOLE))
        .await;
}
