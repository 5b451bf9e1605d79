//! The chunk relay (`PUT /api/posts/{id}/chunk`) and the upload events
//! (`POST /api/posts/{id}/events`), against the simulator with CORS off — the case the relay
//! exists for.

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use serde_json::json;
use sha2::{Digest, Sha256};
use support::{Proxy, spawn_proxy_with, video_bytes};

const MIB: usize = 1024 * 1024;

async fn relayed_put(
    proxy: &Proxy,
    publish_id: &str,
    range: &str,
    content_type: &str,
    body: Vec<u8>,
) -> support::Reply {
    proxy
        .send(
            proxy
                .client
                .put(proxy.url(&format!("/api/posts/{publish_id}/chunk")))
                .header("content-type", content_type)
                .header("content-range", range)
                .body(body),
        )
        .await
}

#[tokio::test]
async fn relays_a_multi_chunk_upload_byte_exact() {
    let mut options = support::sim_options();
    options.cors = false;
    let proxy = spawn_proxy_with(options, |_| {}).await;
    let video = video_bytes(64_000_000 + 5 * MIB);
    let created = proxy
        .create(&json!({"mode": "inbox", "video_size": video.len(), "content_type": "video/mp4", "file_name": "v.mp4"}))
        .await;
    let plan = created.plan(video.len() as u64);
    let mut statuses = Vec::new();
    for chunk in plan.chunks() {
        let body = video[chunk.start as usize..chunk.end as usize].to_vec();
        let reply = relayed_put(
            &proxy,
            &created.publish_id,
            &chunk.content_range(),
            "video/mp4",
            body,
        )
        .await;
        assert_eq!(
            reply.header("content-range"),
            Some(format!("bytes 0-{}/{}", chunk.end - 1, plan.video_size).as_str())
        );
        statuses.push(reply.status);
    }
    let mut expected = vec![206; plan.total_chunk_count as usize - 1];
    expected.push(201);
    assert_eq!(statuses, expected);
    let upload = proxy.sim.upload(&created.publish_id).unwrap();
    assert_eq!(upload.sha256.unwrap(), hex::encode(Sha256::digest(&video)));
    // The upload host saw exactly TikTok's headers and no token.
    let put = proxy
        .sim
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(put.header("content-type"), Some("video/mp4"));
    assert!(put.header("authorization").is_none());
    assert!(put.header("cookie").is_none());
    // TikTok's own answers come back too: a chunk sent again is out of step.
    let first = plan.chunk(0).unwrap();
    let again = relayed_put(
        &proxy,
        &created.publish_id,
        &first.content_range(),
        "video/mp4",
        video[..first.end as usize].to_vec(),
    )
    .await;
    assert_eq!(again.status, 416);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn refuses_what_is_not_a_chunk_of_the_plan() {
    let proxy = spawn_proxy_with(support::sim_options(), |_| {}).await;
    let video = video_bytes(1000);
    let created = proxy
        .create(&json!({"mode": "inbox", "video_size": 1000, "content_type": "video/webm"}))
        .await;
    let id = created.publish_id.as_str();
    for (range, content_type, body, status, code) in [
        (
            "bytes 0-999/1000",
            "video/mp4",
            video.to_vec(),
            400,
            "bad_chunk",
        ),
        (
            "bytes 0-499/1000",
            "video/webm",
            video[..500].to_vec(),
            400,
            "bad_chunk",
        ),
        (
            "bytes 0-999/2000",
            "video/webm",
            video.to_vec(),
            400,
            "bad_chunk",
        ),
        ("0-999", "video/webm", video.to_vec(), 400, "bad_chunk"),
    ] {
        let reply = relayed_put(&proxy, id, range, content_type, body).await;
        assert_eq!(
            (reply.status, reply.error().error.code.as_str()),
            (status, code),
            "{range} {content_type}"
        );
    }
    let unknown = relayed_put(
        &proxy,
        "v_inbox_file~v2.1",
        "bytes 0-999/1000",
        "video/webm",
        video.to_vec(),
    )
    .await;
    assert_eq!(
        (unknown.status, unknown.error().error.code.as_str()),
        (404, "unknown_upload")
    );
    let bad_id = relayed_put(
        &proxy,
        "not%20an%20id",
        "bytes 0-999/1000",
        "video/webm",
        video.to_vec(),
    )
    .await;
    assert_eq!(bad_id.status, 400);
    let wrong_method = proxy.get(&format!("/api/posts/{id}/chunk")).await;
    assert_eq!(
        (wrong_method.status, wrong_method.header("allow")),
        (405, Some("PUT"))
    );
    assert!(
        proxy.sim.requests().iter().all(|r| r.method != "PUT"),
        "nothing was forwarded"
    );
    // A correct chunk still goes through afterwards.
    let reply = relayed_put(&proxy, id, "bytes 0-999/1000", "video/webm", video.to_vec()).await;
    assert_eq!(reply.status, 201);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn upload_events_are_logged_and_end_the_history_entry() {
    let proxy = spawn_proxy_with(support::sim_options(), |_| {}).await;
    let created = proxy
        .create(&json!({"mode": "inbox", "video_size": 1000, "content_type": "video/webm", "file_name": "a.webm"}))
        .await;
    let path = format!("/api/posts/{}/events", created.publish_id);
    let retried = proxy
        .post_json(
            &path,
            &json!({"kind": "retried", "chunk": 0, "http_status": 503}),
        )
        .await;
    assert_eq!(retried.status, 204);
    let long = "x".repeat(5000);
    let cancelled = proxy
        .post_json(&path, &json!({"kind": "cancelled", "message": long}))
        .await;
    assert_eq!(cancelled.status, 204);
    let lines = proxy.log_lines();
    let upload_lines: Vec<_> = lines.iter().filter(|l| l["event"] == "upload").collect();
    assert_eq!(upload_lines.len(), 2);
    assert_eq!(upload_lines[0]["upload_event"], "retried");
    assert_eq!(upload_lines[0]["http_status"], 503);
    assert_eq!(upload_lines[0]["file_name"], "a.webm");
    assert_eq!(upload_lines[1]["message"].as_str().unwrap().len(), 1000);
    let history = proxy.get("/api/posts").await.json();
    assert_eq!(history["posts"][0]["status"], "CANCELLED");

    let bad = proxy.post_json(&path, &json!({"kind": "exploded"})).await;
    assert_eq!(
        (bad.status, bad.error().error.code.as_str()),
        (400, "invalid_json")
    );
    let unknown = proxy
        .post_json("/api/posts/v_x/events", &json!({"kind": "paused"}))
        .await;
    assert_eq!(unknown.status, 404);
    proxy.stop().await.unwrap();
}
