//! The happy paths: a chunked Direct Post, a private post, an inbox share, creator info, and
//! what the simulator records.

use crate::support::*;
use serde_json::json;
use sim::{Endpoint, Mode, SimOptions};
use std::time::Duration;

#[tokio::test]
async fn three_chunk_direct_post_publishes_with_an_exact_post_id() {
    // Processing lasts long enough to see PROCESSING_UPLOAD after the last chunk, even on a
    // busy machine.
    let harness = start_with(SimOptions {
        processing_delay: Duration::from_millis(800),
        ..fast()
    })
    .await;
    let sizes = (3 * 10 * MIB + 12345, 10 * MIB, 3);
    let plan = plan(sizes);
    let video = video(sizes.0, 7);

    let (publish_id, upload_url) = harness
        .init(Endpoint::VideoInit, direct(sizes, "PUBLIC_TO_EVERYONE"))
        .await;
    assert!(publish_id.starts_with("v_pub_file~v2-1."), "{publish_id}");
    let upload_prefix = format!("{}/upload/?upload_id=", harness.sim.base_url());
    assert!(upload_url.starts_with(&upload_prefix), "{upload_url}");
    assert!(upload_url.contains("&upload_token="), "{upload_url}");

    let before = harness.status(&publish_id).await;
    assert_eq!(
        before,
        json!({"status": "PROCESSING_UPLOAD", "uploaded_bytes": 0})
    );

    let mut answers = Vec::new();
    for chunk in plan.chunks() {
        let put = harness
            .put(&upload_url, &video, &PutSpec::chunk(chunk))
            .await;
        answers.push((put.status, put.content_range.unwrap()));
    }
    assert_eq!(
        answers,
        [
            (206, "bytes 0-10485759/31469625".to_owned()),
            (206, "bytes 0-20971519/31469625".to_owned()),
            (201, "bytes 0-31469624/31469625".to_owned()),
        ]
    );

    let processing = harness.status(&publish_id).await;
    assert_eq!(processing["status"], "PROCESSING_UPLOAD");
    assert_eq!(processing["uploaded_bytes"], sizes.0);

    let (done, raw) = harness.final_status(&publish_id).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE", "{raw}");
    let ids = done["publicaly_available_post_id"].as_array().unwrap();
    assert_eq!(ids.len(), 1, "{raw}");
    let id = ids[0].as_u64().expect("a JSON integer, not a string");
    assert_eq!(id.to_string().len(), 19);
    assert!(
        id > 1 << 53,
        "above 2^53, so JavaScript numbers would lose it"
    );
    assert!(
        raw.contains(&format!("\"publicaly_available_post_id\":[{id}]")),
        "the id is a raw JSON number: {raw}"
    );

    let record = harness.sim.upload(&publish_id).unwrap();
    assert!(record.complete);
    assert_eq!(record.mode, Mode::Direct);
    assert_eq!(record.received_bytes, sizes.0);
    assert_eq!(record.plan, plan);
    assert_eq!(record.chunks_accepted, plan.chunks().collect::<Vec<_>>());
    assert_eq!(record.content_type.as_deref(), Some("video/mp4"));
    assert_eq!(record.sha256, Some(sha256_hex(&video)));
    assert_eq!(record.upload_url, upload_url);
    let title = record.post_info.unwrap().title;
    assert_eq!(title.as_deref(), Some("a funny #cat video"));
}

#[tokio::test]
async fn private_post_completes_without_a_public_id() {
    let harness = start().await;
    let video = video(WHOLE.0, 1);
    let (publish_id, upload_url) = harness
        .init(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
        .await;
    harness.upload_all(&upload_url, &video, &plan(WHOLE)).await;
    let (done, raw) = harness.final_status(&publish_id).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE", "{raw}");
    assert_eq!(done["publicaly_available_post_id"], json!([]));
}

#[tokio::test]
async fn inbox_share_ends_in_the_user_inbox() {
    let harness = start().await;
    let video = video(SMALL3.0, 2);
    // A title is not documented for drafts; it is accepted and ignored.
    let mut body = inbox(SMALL3);
    body["post_info"] = json!({"title": "ignored"});
    let (publish_id, upload_url) = harness.init(Endpoint::InboxInit, body).await;
    assert!(publish_id.starts_with("v_inbox_file~v2."), "{publish_id}");
    harness.upload_all(&upload_url, &video, &plan(SMALL3)).await;
    let (done, raw) = harness.final_status(&publish_id).await;
    assert_eq!(done["status"], "SEND_TO_USER_INBOX", "{raw}");
    assert_eq!(done["uploaded_bytes"], SMALL3.0);
    let record = harness.sim.upload(&publish_id).unwrap();
    assert_eq!(record.mode, Mode::Inbox);
    assert_eq!(record.post_info, None);
    assert_eq!(record.sha256, Some(sha256_hex(&video)));
}

#[tokio::test]
async fn creator_info_and_tiktoks_envelope() {
    let harness = start().await;
    // TikTok's clients send no body or `{}`: both work.
    let empty = harness
        .http
        .post(harness.url(Endpoint::CreatorInfo))
        .bearer_auth(harness.sim.access_token());
    let answers = [
        reply(empty).await,
        harness.call(Endpoint::CreatorInfo, json!({})).await,
    ];
    for answer in &answers {
        check(answer, 200, "ok");
        assert_eq!(
            answer.data(),
            &json!({
                "creator_avatar_url": harness.sim.persona().avatar_url,
                "creator_username": "sim.creator",
                "creator_nickname": "Sim Creator",
                "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
                "comment_disabled": false,
                "duet_disabled": false,
                "stitch_disabled": false,
                "max_video_post_duration_sec": 300,
            })
        );
        let error = &answer.json["error"];
        assert_eq!(error["message"], "");
        let log_id = error["log_id"].as_str().unwrap();
        assert_eq!(log_id.len(), 34, "{log_id}");
        assert!(log_id.starts_with("20"), "{log_id}");
        assert!(
            log_id
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        );
        assert_eq!(
            header(&answer.headers, "x-tt-logid").as_deref(),
            Some(log_id)
        );
        assert_eq!(
            header(&answer.headers, "content-type").as_deref(),
            Some("application/json; charset=UTF-8")
        );
    }
    assert_ne!(
        answers[0].json["error"]["log_id"],
        answers[1].json["error"]["log_id"]
    );
}

#[tokio::test]
async fn requests_are_recorded_without_upload_bytes() {
    let harness = start().await;
    let video = video(WHOLE.0, 3);
    let body = direct(WHOLE, "SELF_ONLY");
    let (_, upload_url) = harness.init(Endpoint::VideoInit, body.clone()).await;
    harness.upload_all(&upload_url, &video, &plan(WHOLE)).await;
    let requests = harness.sim.requests();
    assert_eq!(requests.len(), 2);
    let (init, put) = (&requests[0], &requests[1]);
    assert_eq!(
        (init.method.as_str(), init.path.as_str(), init.status),
        ("POST", "/v2/post/publish/video/init/", 200)
    );
    let sent: serde_json::Value = serde_json::from_slice(init.body.as_ref().unwrap()).unwrap();
    assert_eq!(sent, body);
    let bearer = format!("Bearer {}", harness.sim.access_token());
    assert_eq!(init.header("authorization"), Some(bearer.as_str()));
    assert_eq!((put.method.as_str(), put.status), ("PUT", 201));
    assert_eq!(put.body, None, "upload bytes are never recorded");
    assert!(put.query.as_deref().unwrap().starts_with("upload_id="));
    assert_eq!(put.header("content-range"), Some("bytes 0-1048575/1048576"));
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let harness = start().await;
    check(
        &harness.call(Endpoint::CreatorInfo, json!({})).await,
        200,
        "ok",
    );
    harness.sim.shutdown();
    // The accept loop notices at once; give the task a moment to drop the listener.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let refused = reqwest::Client::new()
        .post(harness.url(Endpoint::CreatorInfo))
        .send()
        .await;
    assert!(refused.is_err(), "{refused:?}");
}
