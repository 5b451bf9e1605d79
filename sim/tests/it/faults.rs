//! Each scripted fault, played against a real client.

use crate::support::*;
use protocol::ErrorCode;
use serde_json::json;
use sim::{Endpoint, Fault};
use std::time::{Duration, Instant};

#[tokio::test]
async fn chunk_status_refuses_a_chunk_then_lets_the_retry_through() {
    let harness = start().await;
    let plan = plan(SMALL3);
    let video = video(SMALL3.0, 10);
    let (publish_id, upload_url) = harness
        .init(Endpoint::VideoInit, direct(SMALL3, "SELF_ONLY"))
        .await;
    harness.sim.script(Fault::ChunkStatus {
        chunk: 1,
        status: 503,
        times: 2,
    });
    let mut statuses = Vec::new();
    for chunk in plan.chunks() {
        loop {
            let put = harness
                .put(&upload_url, &video, &PutSpec::chunk(chunk))
                .await;
            statuses.push(put.status);
            if put.status != 503 {
                break;
            }
            assert_eq!(put.content_range, None, "a gateway error says nothing");
        }
    }
    assert_eq!(statuses, [206, 503, 503, 206, 201]);
    let record = harness.sim.upload(&publish_id).unwrap();
    assert_eq!(record.sha256, Some(sha256_hex(&video)));
    assert!(harness.sim.pending_faults().is_empty());
}

#[tokio::test]
async fn drop_connection_cuts_a_chunk_once() {
    let harness = start().await;
    let plan = plan(SMALL3);
    let video = video(SMALL3.0, 11);
    let (publish_id, upload_url) = harness
        .init(Endpoint::VideoInit, direct(SMALL3, "SELF_ONLY"))
        .await;
    harness.sim.script(Fault::DropConnection { chunk: 0 });
    let first = PutSpec::chunk(plan.chunk(0).unwrap());
    let dropped = harness.try_put(&upload_url, &video, &first).await;
    assert!(dropped.is_err(), "{dropped:?}");
    assert_eq!(harness.sim.upload(&publish_id).unwrap().received_bytes, 0);
    let recorded = harness.sim.requests();
    assert_eq!(recorded.last().unwrap().status, 0, "no answer was sent");
    harness.upload_all(&upload_url, &video, &plan).await;
    let record = harness.sim.upload(&publish_id).unwrap();
    assert_eq!(record.sha256, Some(sha256_hex(&video)));
}

#[tokio::test]
async fn lose_answer_accepts_the_chunk_but_the_client_hears_nothing() {
    let harness = start().await;
    let plan = plan(SMALL3);
    let video = video(SMALL3.0, 12);
    let (publish_id, upload_url) = harness
        .init(Endpoint::VideoInit, direct(SMALL3, "SELF_ONLY"))
        .await;
    harness.sim.script(Fault::LoseAnswer { chunk: 0 });
    let first = plan.chunk(0).unwrap();
    let lost = harness
        .try_put(&upload_url, &video, &PutSpec::chunk(first))
        .await;
    assert!(lost.is_err(), "{lost:?}");
    assert_eq!(
        harness.sim.upload(&publish_id).unwrap().received_bytes,
        first.end,
        "TikTok kept it"
    );
    // Sending it again is out of step: TikTok says what it holds, and the client resyncs.
    let again = harness
        .put(&upload_url, &video, &PutSpec::chunk(first))
        .await;
    assert_eq!(again.status, 416);
    assert_eq!(
        again.content_range.as_deref(),
        Some(format!("bytes 0-{}/{}", first.end - 1, plan.video_size).as_str())
    );
    for chunk in plan.chunks().skip(1) {
        harness
            .put(&upload_url, &video, &PutSpec::chunk(chunk))
            .await;
    }
    let record = harness.sim.upload(&publish_id).unwrap();
    assert_eq!(record.sha256, Some(sha256_hex(&video)));
}

/// Waits until every scripted fault has been used.
async fn faults_used(harness: &Harness) {
    while !harness.sim.pending_faults().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn late_store_keeps_a_whole_body_only_after_the_wait_even_if_the_client_leaves() {
    let harness = start().await;
    let plan = plan(SMALL3);
    let video = video(SMALL3.0, 14);
    let (publish_id, upload_url) = harness
        .init(Endpoint::VideoInit, direct(SMALL3, "SELF_ONLY"))
        .await;
    // Long enough for a status call to answer within it on a loaded machine.
    let delay = Duration::from_secs(2);
    let first = plan.chunk(0).unwrap();
    harness.sim.script(Fault::LateStore {
        chunk: 0,
        duration: delay,
    });
    let started = Instant::now();
    let meanwhile = async {
        faults_used(&harness).await;
        harness.status(&publish_id).await
    };
    let spec = PutSpec::chunk(first);
    let (put, meanwhile) = tokio::join!(harness.put(&upload_url, &video, &spec), meanwhile);
    assert_eq!(put.status, 206);
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    assert_eq!(
        meanwhile["uploaded_bytes"], 0,
        "not stored yet: {meanwhile}"
    );
    assert_eq!(
        harness.sim.upload(&publish_id).unwrap().received_bytes,
        first.end
    );

    // A client that leaves once its body is in does not take the chunk back.
    let second = plan.chunk(1).unwrap();
    harness.sim.script(Fault::LateStore {
        chunk: 1,
        duration: delay,
    });
    let spec = PutSpec::chunk(second);
    tokio::select! {
        put = harness.try_put(&upload_url, &video, &spec) => {
            panic!("answered before it was stored: {put:?}")
        }
        () = faults_used(&harness) => {}
    }
    let started = Instant::now();
    while harness.sim.upload(&publish_id).unwrap().received_bytes != second.end {
        assert!(started.elapsed() < delay * 10, "never stored");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn api_errors_as_scripted() {
    let harness = start().await;
    harness.sim.script(Fault::ApiError {
        endpoint: Endpoint::VideoInit,
        code: ErrorCode::RateLimitExceeded,
        http_status: 429,
        times: 1,
    });
    // creator_info's "intentional" HTTP 200 errors.
    harness.sim.script(Fault::ApiError {
        endpoint: Endpoint::CreatorInfo,
        code: ErrorCode::SpamRiskTooManyPosts,
        http_status: 200,
        times: 2,
    });
    harness.sim.script(Fault::ApiError {
        endpoint: Endpoint::Upload,
        code: ErrorCode::InternalError,
        http_status: 500,
        times: 1,
    });
    let body = direct(WHOLE, "SELF_ONLY");
    check(
        &harness.call(Endpoint::VideoInit, body.clone()).await,
        429,
        "rate_limit_exceeded",
    );
    for _ in 0..2 {
        let answer = harness.call(Endpoint::CreatorInfo, json!({})).await;
        check(&answer, 200, "spam_risk_too_many_posts");
    }
    check(
        &harness.call(Endpoint::CreatorInfo, json!({})).await,
        200,
        "ok",
    );
    let (_, upload_url) = harness.init(Endpoint::VideoInit, body).await;
    let video = video(WHOLE.0, 12);
    let spec = PutSpec::chunk(plan(WHOLE).chunk(0).unwrap());
    assert_eq!(harness.put(&upload_url, &video, &spec).await.status, 500);
    assert_eq!(harness.put(&upload_url, &video, &spec).await.status, 201);
    assert!(harness.sim.pending_faults().is_empty());
}

#[tokio::test]
async fn hang_delays_the_answer() {
    let harness = start().await;
    // Long enough that the third call, which is not held, answers well within it even on a
    // loaded machine.
    let delay = Duration::from_secs(2);
    harness.sim.script(Fault::Hang {
        endpoint: Endpoint::StatusFetch,
        duration: delay,
        times: 2,
    });
    let body = json!({"publish_id": "v_pub_file~v2-1.1"});
    // A client with a shorter timeout gives up.
    let impatient = harness
        .http
        .post(harness.url(Endpoint::StatusFetch))
        .bearer_auth(harness.sim.access_token())
        .header("content-type", "application/json")
        .body(body.to_string())
        .timeout(Duration::from_millis(100))
        .send()
        .await;
    assert!(impatient.unwrap_err().is_timeout());
    // A patient one waits and gets the normal answer.
    let started = Instant::now();
    let answer = harness.call(Endpoint::StatusFetch, body.clone()).await;
    assert!(started.elapsed() >= delay, "{:?}", started.elapsed());
    check(&answer, 400, "invalid_publish_id");
    let started = Instant::now();
    harness.call(Endpoint::StatusFetch, body).await;
    assert!(started.elapsed() < delay, "only twice");
}

#[tokio::test]
async fn hang_on_the_upload_host() {
    let harness = start().await;
    let delay = Duration::from_millis(300);
    harness.sim.script(Fault::Hang {
        endpoint: Endpoint::Upload,
        duration: delay,
        times: 1,
    });
    let (_, upload_url) = harness
        .init(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
        .await;
    let started = Instant::now();
    harness
        .upload_all(&upload_url, &video(WHOLE.0, 13), &plan(WHOLE))
        .await;
    assert!(started.elapsed() >= delay);
}

#[tokio::test]
async fn fail_publish_ends_the_next_upload_failed() {
    let harness = start().await;
    harness.sim.script(Fault::FailPublish {
        reason: "duration_check_failed".into(),
    });
    let mut outcomes = Vec::new();
    for seed in [14, 15] {
        let (publish_id, upload_url) = harness
            .init(Endpoint::VideoInit, direct(WHOLE, "PUBLIC_TO_EVERYONE"))
            .await;
        harness
            .upload_all(&upload_url, &video(WHOLE.0, seed), &plan(WHOLE))
            .await;
        outcomes.push(harness.final_status(&publish_id).await.0);
    }
    assert_eq!(
        outcomes[0],
        json!({
            "status": "FAILED",
            "fail_reason": "duration_check_failed",
            "publicaly_available_post_id": [],
            "uploaded_bytes": WHOLE.0,
        })
    );
    assert_eq!(outcomes[1]["status"], "PUBLISH_COMPLETE");
}

#[tokio::test]
async fn expire_upload_urls_applies_to_current_urls_only() {
    let harness = start().await;
    let video = video(WHOLE.0, 16);
    let spec = PutSpec::chunk(plan(WHOLE).chunk(0).unwrap());
    let (_, old) = harness
        .init(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
        .await;
    harness.sim.script(Fault::ExpireUploadUrls);
    let put = harness.put(&old, &video, &spec).await;
    assert_eq!(
        (put.status, put.content_range.as_deref()),
        (403, Some("bytes */1048576"))
    );
    let (_, fresh) = harness
        .init(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
        .await;
    assert_eq!(harness.put(&fresh, &video, &spec).await.status, 201);
}
