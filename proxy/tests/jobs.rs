//! Jobs with a time, edited and cancelled: `publish_at` on `POST /api/upload`, `PATCH` and
//! `DELETE /api/jobs/{job_id}`, a scheduled job across a restart, and TikTok's limits turned
//! into waiting.

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use protocol::ErrorCode;
use serde_json::{Value, json};
use sim::{Endpoint, Fault, Persona, SimOptions};
use std::time::Duration;
use support::{Proxy, mp4_video, sha256_hex, spawn_proxy, stage_in};

/// `PATCH /api/jobs/{job_id}` with `body`.
async fn patch(proxy: &Proxy, job_id: &str, body: &Value) -> support::Reply {
    proxy
        .send(
            proxy
                .client
                .patch(proxy.url(&format!("/api/jobs/{job_id}")))
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
}

async fn delete(proxy: &Proxy, job_id: &str) -> support::Reply {
    proxy
        .send(
            proxy
                .client
                .delete(proxy.url(&format!("/api/jobs/{job_id}"))),
        )
        .await
}

/// `reply` is the error `code` with HTTP `status`.
fn check_error(reply: &support::Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.body);
    assert_eq!(reply.error().error.code, code, "{}", reply.body);
}

/// Waits for the job to end, which must be `done`.
async fn until_done(proxy: &Proxy, job_id: &str) -> Value {
    let done = proxy.job_until(job_id, stage_in(&["done", "failed"])).await;
    assert_eq!(done["stage"], "done", "{done}");
    done
}

/// TikTok answers the next `times` inits with a 500.
fn fail_inits(proxy: &Proxy, times: u32) {
    proxy.sim.script(Fault::ApiError {
        endpoint: Endpoint::VideoInit,
        code: ErrorCode::InternalError,
        http_status: 500,
        times,
    });
}

fn uploads(proxy: &Proxy) -> Vec<String> {
    std::fs::read_dir(proxy._dir.path().join("uploads"))
        .unwrap()
        .flatten()
        .filter(|entry| entry.path().is_file())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn a_job_with_publish_at_waits_for_its_time_then_posts() {
    let proxy = spawn_proxy(|_| {}).await;
    let video = mp4_video(300_000);
    let reply = proxy
        .post_video("?privacy_level=SELF_ONLY&publish_at=2s", video.clone())
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let queued = reply.json();
    assert_eq!(queued["stage"], "queued", "{queued}");
    assert!(queued["publish_id"].is_null());
    let publish_at = queued["publish_at"].as_str().unwrap();
    let at = humantime::parse_rfc3339(publish_at).unwrap();
    let ahead = at
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    assert!(ahead <= Duration::from_secs(2), "{publish_at}");
    // Nothing reaches TikTok before its time.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(proxy.sim.uploads().is_empty());

    let job_id = queued["job_id"].as_str().unwrap();
    let done = until_done(&proxy, job_id).await;
    let posted_at = humantime::parse_rfc3339(done["updated_at"].as_str().unwrap()).unwrap();
    assert!(
        posted_at + Duration::from_secs(1) >= at,
        "not before its time"
    );
    let upload = proxy.sim.uploads().pop().unwrap();
    assert_eq!(upload.sha256.unwrap(), sha256_hex(&video));
}

#[tokio::test]
async fn publish_at_in_the_past_or_far_ahead_or_unreadable_is_refused_before_the_video() {
    let proxy = spawn_proxy(|_| {}).await;
    for (publish_at, says) in [
        ("2020-01-01T00:00:00Z", "in the past"),
        ("400d", "ahead"),
        ("tomorrow", "neither a time"),
        ("2030-01-01T00:00:00", "neither a time"),
    ] {
        let reply = proxy
            .post_video(
                &format!("?privacy_level=SELF_ONLY&publish_at={publish_at}"),
                mp4_video(10_000),
            )
            .await;
        assert_eq!(reply.status, 400, "{publish_at}: {}", reply.body);
        let error = reply.error().error;
        assert_eq!(error.code, "invalid_publish_at");
        assert!(
            error.message.contains(says),
            "{publish_at}: {}",
            error.message
        );
    }
    // An offset is honoured: an hour ahead in another zone is accepted as such.
    let in_an_hour = std::time::SystemTime::now() + Duration::from_secs(3600);
    let utc = humantime::format_rfc3339_seconds(in_an_hour).to_string();
    let plus_two = {
        let at =
            humantime::format_rfc3339_seconds(in_an_hour + Duration::from_secs(7200)).to_string();
        at.replace('Z', "+02:00")
    };
    let reply = proxy
        .post_video(
            &format!(
                "?privacy_level=SELF_ONLY&publish_at={}",
                plus_two.replace('+', "%2B")
            ),
            mp4_video(10_000),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.json()["publish_at"], utc);
    // wait=true with a time to come would hang the call for hours.
    let reply = proxy
        .post_video(
            "?privacy_level=SELF_ONLY&publish_at=1h&wait=true",
            mp4_video(20_000),
        )
        .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(proxy.sim.uploads().is_empty());
    assert_eq!(
        uploads(&proxy).len(),
        1,
        "only the accepted job's video is kept"
    );
}

#[tokio::test]
async fn a_queued_job_is_edited_then_started_now_and_refuses_edits_afterwards() {
    let proxy = spawn_proxy(|_| {}).await;
    let reply = proxy
        .post_video(
            "?privacy_level=SELF_ONLY&caption=first&publish_at=1h",
            mp4_video(200_000),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let job_id = reply.json()["job_id"].as_str().unwrap().to_owned();

    // Refused edits change nothing.
    let reply = patch(&proxy, &job_id, &json!({"colour": "red"})).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    let reply = patch(&proxy, &job_id, &json!({"caption": "x".repeat(2201)})).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    let reply = patch(&proxy, &job_id, &json!({"brand_content_toggle": true})).await;
    assert_eq!(
        reply.status, 400,
        "branded content cannot be private: {}",
        reply.body
    );
    let reply = patch(
        &proxy,
        &job_id,
        &json!({"publish_at": "2001-01-01T00:00:00Z"}),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.error().error.code, "invalid_publish_at");
    let reply = patch(&proxy, "job_0123456789abcdef", &json!({})).await;
    assert_eq!(reply.status, 404, "{}", reply.body);

    let reply = patch(
        &proxy,
        &job_id,
        &json!({"caption": "second #edited", "privacy_level": "MUTUAL_FOLLOW_FRIENDS", "disable_comment": true}),
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let edited = reply.json();
    assert_eq!(edited["caption"], "second #edited");
    assert_eq!(edited["privacy_level"], "MUTUAL_FOLLOW_FRIENDS");
    assert_eq!(edited["stage"], "queued");
    assert!(proxy.sim.uploads().is_empty());

    let reply = patch(&proxy, &job_id, &json!({"publish_at": "now"})).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    until_done(&proxy, &job_id).await;
    let post_info = proxy.sim.uploads().pop().unwrap().post_info.unwrap();
    assert_eq!(post_info.title.as_deref(), Some("second #edited"));
    assert_eq!(post_info.privacy_level.as_str(), "MUTUAL_FOLLOW_FRIENDS");
    assert!(post_info.disable_comment);

    let reply = patch(&proxy, &job_id, &json!({"caption": "too late"})).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    let error = reply.error().error;
    assert_eq!(error.code, "job_started");
    assert!(error.message.contains("stage done"), "{}", error.message);
}

#[tokio::test]
async fn cancelling_a_queued_job_removes_it_and_its_video() {
    let proxy = spawn_proxy(|_| {}).await;
    let reply = proxy
        .post_video(
            "?privacy_level=SELF_ONLY&publish_at=30m",
            mp4_video(100_000),
        )
        .await;
    let job_id = reply.json()["job_id"].as_str().unwrap().to_owned();
    assert_eq!(uploads(&proxy).len(), 1);

    let reply = delete(&proxy, &job_id).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["stage"], "cancelled");
    assert!(uploads(&proxy).is_empty(), "the video is removed");
    assert_eq!(
        proxy.get(&format!("/api/jobs/{job_id}")).await.json()["stage"],
        "cancelled"
    );
    let reply = delete(&proxy, &job_id).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(reply.error().error.code, "job_finished");
    let reply = patch(&proxy, &job_id, &json!({"publish_at": "now"})).await;
    assert_eq!(reply.status, 409, "{}", reply.body);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(proxy.sim.uploads().is_empty(), "nothing went to TikTok");
    // The same video may be sent again once its job is cancelled.
    let reply = proxy
        .post_video(
            "?privacy_level=SELF_ONLY&publish_at=30m",
            mp4_video(100_000),
        )
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
}

#[tokio::test]
async fn cancelling_a_running_upload_stops_it_before_tiktok_holds_the_video() {
    let proxy = spawn_proxy(|_| {}).await;
    // The first chunk's PUT hangs, so the job is mid-upload when it is cancelled: seconds
    // between the 202 and the DELETE, even on a loaded machine. The video is far larger than
    // the socket buffers hold while TikTok does not read, so the body is still on its way and
    // the cancel cuts at once; a body already all sent would make it wait for TikTok's answer
    // (issue_16_a_cancel_after_the_last_chunks_body_went_waits_for_tiktoks_answer).
    let held = Duration::from_secs(5);
    proxy.sim.script(Fault::Hang {
        endpoint: Endpoint::Upload,
        duration: held,
        times: 1,
    });
    let reply = proxy
        .post_video("?privacy_level=SELF_ONLY", mp4_video(24_000_000))
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let job_id = reply.json()["job_id"].as_str().unwrap().to_owned();
    let asked = std::time::Instant::now();
    let reply = delete(&proxy, &job_id).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        asked.elapsed() < held,
        "cut at once, not after the hung PUT"
    );
    let cancelled = reply.json();
    assert_eq!(cancelled["stage"], "cancelled");
    assert!(cancelled["message"].is_null(), "{cancelled}");
    let publish_id = cancelled["publish_id"].as_str().unwrap().to_owned();
    // Past the hang: an abandoned PUT that was still sending would have landed by now.
    tokio::time::sleep(held + Duration::from_millis(500)).await;
    let upload = proxy.sim.upload(&publish_id).unwrap();
    assert!(!upload.complete, "an abandoned upload is never posted");
    assert!(upload.chunks_accepted.is_empty());
    assert_eq!(proxy.sim.uploads().len(), 1, "no other init");
    assert_eq!(
        proxy.get(&format!("/api/jobs/{job_id}")).await.json()["stage"],
        "cancelled"
    );
    assert!(uploads(&proxy).is_empty());
    let cancel_line = proxy
        .log_lines()
        .into_iter()
        .find(|line| line["upload_event"] == "cancelled");
    assert!(cancel_line.is_some(), "the log says it was cancelled");
}

#[tokio::test]
async fn a_scheduled_job_whose_time_passed_while_the_proxy_was_down_starts_at_once() {
    let proxy = spawn_proxy(|_| {}).await;
    let reply = proxy
        .post_video("?privacy_level=SELF_ONLY&publish_at=1s", mp4_video(100_000))
        .await;
    let job_id = reply.json()["job_id"].as_str().unwrap().to_owned();
    let Proxy {
        sim,
        shutdown,
        task,
        _dir: dir,
        ..
    } = proxy;
    shutdown.unwrap().send(()).unwrap();
    task.await.unwrap().unwrap();
    assert!(sim.uploads().is_empty(), "stopped before its time");
    // Down past its time.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let proxy = support::spawn_proxy_on(sim.clone(), dir, |_| {}).await;
    until_done(&proxy, &job_id).await;
    assert_eq!(sim.uploads().len(), 1);
}

#[tokio::test]
async fn tiktoks_limits_make_a_job_wait_not_fail() {
    let proxy = spawn_proxy(|config| {
        config.rate_limit_wait = Duration::from_secs(1);
        config.cap_wait = Duration::from_secs(1);
    })
    .await;
    for (endpoint, code, http_status, mode) in [
        (
            Endpoint::VideoInit,
            ErrorCode::RateLimitExceeded,
            429,
            "direct",
        ),
        (
            Endpoint::InboxInit,
            ErrorCode::SpamRiskTooManyPendingShare,
            403,
            "inbox",
        ),
        (
            Endpoint::VideoInit,
            ErrorCode::SpamRiskTooManyPosts,
            403,
            "direct",
        ),
    ] {
        proxy.sim.script(Fault::ApiError {
            endpoint,
            code: code.clone(),
            http_status,
            times: 1,
        });
        let reply = proxy
            .post_video(
                &format!("?mode={mode}&privacy_level=SELF_ONLY&force=true"),
                mp4_video(50_000),
            )
            .await;
        assert_eq!(reply.status, 202, "{}", reply.body);
        let waiting = reply.json();
        assert_eq!(waiting["stage"], "waiting", "{code}: {waiting}");
        assert!(waiting["until"].is_string(), "{waiting}");
        assert!(
            waiting["message"].as_str().unwrap().contains("wait"),
            "{waiting}"
        );
        let job_id = waiting["job_id"].as_str().unwrap();
        let done = proxy.job_until(job_id, stage_in(&["done", "failed"])).await;
        assert_eq!(done["stage"], "done", "{code}: {done}");
    }
    // No failure reached the history.
    assert!(
        proxy
            .log_lines()
            .iter()
            .all(|line| line["event"] != "post_failed"),
        "{:?}",
        proxy.log_lines()
    );
}

/// Posts `video` privately; the job must answer 202 `waiting`. Returns it.
async fn post_waiting(proxy: &Proxy, video: bytes::Bytes) -> Value {
    let reply = proxy.post_video("?privacy_level=SELF_ONLY", video).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let waiting = reply.json();
    assert_eq!(waiting["stage"], "waiting", "{waiting}");
    waiting
}

/// A proxy that counts TikTok's init limit as 2 per `window` (6 a minute, faster).
async fn two_inits_per(window: Duration) -> Proxy {
    spawn_proxy(|config| {
        config.init_limit = 2;
        config.init_window = window;
    })
    .await
}

#[tokio::test]
async fn a_seventh_job_in_the_init_window_waits_for_a_free_place() {
    let proxy = two_inits_per(Duration::from_secs(2)).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        let reply = proxy
            .post_video(
                &format!("?privacy_level=SELF_ONLY&caption=n{n}"),
                mp4_video(20_000 + n),
            )
            .await;
        assert_eq!(reply.status, 202, "{}", reply.body);
        ids.push(reply.json());
    }
    assert!(ids[0]["publish_id"].is_string());
    assert!(ids[1]["publish_id"].is_string());
    assert_eq!(ids[2]["stage"], "waiting", "{}", ids[2]);
    until_done(&proxy, ids[2]["job_id"].as_str().unwrap()).await;
    assert_eq!(
        proxy.sim.uploads().len(),
        3,
        "no init was refused by TikTok"
    );
}

/// The page's inits (`POST /api/posts`) and the jobs' share one count of TikTok's per-minute
/// limit: past it the page hears when to try again, before TikTok is asked, and a job waits.
#[tokio::test]
async fn the_pages_inits_and_the_jobs_share_one_init_limit() {
    let proxy = two_inits_per(Duration::from_secs(3)).await;
    let post = json!({
        "mode": "direct",
        "video_size": 20_000,
        "content_type": "video/mp4",
        "post_info": { "privacy_level": "SELF_ONLY" },
    });
    proxy.create(&post).await;
    proxy.create(&post).await;
    let refused = proxy.post_json("/api/posts", &post).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let error = refused.error().error;
    assert_eq!(error.code, "too_many_inits");
    let secs = error
        .retry_after_secs
        .expect("the page is told when to try again");
    assert!((1..=3).contains(&secs), "{secs}");
    assert_eq!(
        refused.header("retry-after"),
        Some(secs.to_string().as_str())
    );
    assert!(
        error.message.contains(&format!("Try again in {secs} s")),
        "{}",
        error.message
    );
    assert_eq!(
        proxy.sim.uploads().len(),
        2,
        "TikTok was not asked a third time"
    );
    assert_eq!(
        proxy.log_lines().len(),
        2,
        "nothing happened at TikTok, so nothing is logged: {:?}",
        proxy.log_lines()
    );

    // The page's two inits hold the job back too, until the window frees a place.
    let waiting = post_waiting(&proxy, mp4_video(20_000)).await;
    let done = proxy
        .job_until(
            waiting["job_id"].as_str().unwrap(),
            stage_in(&["done", "failed"]),
        )
        .await;
    assert_eq!(done["stage"], "done", "{done}");
    // And the job's init, in the next window, holds the page back in turn.
    let again = proxy.post_json("/api/posts", &post).await;
    assert_eq!(again.status, 201, "a place is free again: {}", again.body);
    let full = proxy.post_json("/api/posts", &post).await;
    assert_eq!(full.status, 429, "{}", full.body);
}

#[tokio::test]
async fn the_daily_cap_keeps_a_job_waiting_until_tiktok_takes_posts_again() {
    let options = SimOptions {
        persona: Persona {
            daily_post_cap: Some(1),
            ..Persona::default()
        },
        ..support::sim_options()
    };
    let proxy = support::spawn_proxy_with(options, |config| {
        config.cap_wait = Duration::from_millis(500);
    })
    .await;
    let reply = proxy
        .post_video("?privacy_level=SELF_ONLY&wait=true", mp4_video(30_000))
        .await;
    assert_eq!(reply.json()["stage"], "done", "{}", reply.body);
    let waiting = post_waiting(&proxy, mp4_video(40_000)).await;
    assert!(
        waiting["message"].as_str().unwrap().contains("daily limit"),
        "{waiting}"
    );
    let job_id = waiting["job_id"].as_str().unwrap();
    // It tries again after each wait, and keeps waiting while the cap holds: its first try
    // and two more (waited for, not counted in a fixed time a loaded machine may overrun).
    let inits = || {
        proxy
            .sim
            .requests()
            .iter()
            .filter(|request| request.path == Endpoint::VideoInit.path())
            .count()
    };
    let started = std::time::Instant::now();
    while inits() < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{} inits",
            inits()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Between a refused init and the job's record of it, the job is briefly mid-init: wait
    // for where it settles, which must be waiting again (the cap still holds).
    let settled = proxy
        .job_until(job_id, stage_in(&["waiting", "done", "failed"]))
        .await;
    assert_eq!(settled["stage"], "waiting", "{settled}");
    proxy.sim.set_persona(Persona {
        daily_post_cap: Some(2),
        ..Persona::default()
    });
    until_done(&proxy, job_id).await;
    assert_eq!(proxy.sim.uploads().iter().filter(|u| u.complete).count(), 2);
}

#[tokio::test]
async fn rate_limited_status_polls_make_a_job_pause_not_fail() {
    let proxy = spawn_proxy(|config| {
        config.rate_limit_wait = Duration::from_millis(50);
    })
    .await;
    // More refusals in a row than the polls a job may lose to errors.
    proxy.sim.script(Fault::ApiError {
        endpoint: Endpoint::StatusFetch,
        code: ErrorCode::RateLimitExceeded,
        http_status: 429,
        times: 15,
    });
    let reply = proxy
        .post_video("?privacy_level=SELF_ONLY&wait=true", mp4_video(30_000))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["stage"], "done", "{}", reply.body);
    assert!(proxy.sim.pending_faults().is_empty());
}

#[tokio::test]
async fn an_init_that_fails_on_the_way_is_tried_again_a_few_times_then_fails() {
    let proxy = spawn_proxy(|config| {
        config.init_retry_delays = vec![Duration::from_millis(10); 2];
    })
    .await;
    fail_inits(&proxy, 2);
    let waiting = post_waiting(&proxy, mp4_video(30_000)).await;
    assert!(
        waiting["message"].as_str().unwrap().contains("tries again"),
        "{waiting}"
    );
    let job_id = waiting["job_id"].as_str().unwrap();
    until_done(&proxy, job_id).await;

    // Once more than the delays allow: the job fails, with TikTok's failure in the history.
    fail_inits(&proxy, 3);
    let reply = proxy
        .post_video("?privacy_level=SELF_ONLY", mp4_video(31_000))
        .await;
    let job_id = reply.json()["job_id"].as_str().unwrap().to_owned();
    let failed = proxy
        .job_until(&job_id, stage_in(&["done", "failed"]))
        .await;
    assert_eq!(failed["stage"], "failed", "{failed}");
    assert!(proxy.sim.pending_faults().is_empty());
    assert!(
        proxy
            .log_lines()
            .iter()
            .any(|line| line["event"] == "post_failed"),
    );
}

/// Posts a one-chunk video whose chunk TikTok takes at once but answers late (`late`), and
/// waits until TikTok holds it while the job still says uploading; the job's id and its
/// `publish_id`.
async fn post_held_but_unanswered(
    proxy: &Proxy,
    video: bytes::Bytes,
    late: Duration,
) -> (String, String) {
    proxy.sim.script(Fault::LateAnswer {
        chunk: 0,
        duration: late,
    });
    let reply = proxy.post_video("?privacy_level=SELF_ONLY", video).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let job = reply.json();
    let job_id = job["job_id"].as_str().unwrap().to_owned();
    let publish_id = job["publish_id"].as_str().unwrap().to_owned();
    for _ in 0..200 {
        if proxy.sim.upload(&publish_id).is_some_and(|u| u.complete) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    (job_id, publish_id)
}

/// The next `status/fetch` answers after `duration`.
fn hang_next_status(proxy: &Proxy, duration: Duration) {
    proxy.sim.script(Fault::Hang {
        endpoint: Endpoint::StatusFetch,
        duration,
        times: 1,
    });
}

/// How many `status/fetch` calls TikTok has had, answered or not.
fn status_calls(proxy: &Proxy) -> usize {
    let requests = proxy.sim.requests();
    requests
        .iter()
        .filter(|request| request.path.contains("status/fetch"))
        .count()
}

/// Waits until job `job_id` is over, and checks TikTok published it, once.
async fn published_once(proxy: &Proxy, job_id: &str) {
    let done = until_done(proxy, job_id).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE", "{done}");
    assert_eq!(proxy.sim.uploads().len(), 1, "one post at TikTok");
}

/// Whether the job shows a cancel waiting for TikTok's word.
fn cancelling(job: &Value) -> bool {
    job["message"]
        .as_str()
        .is_some_and(|message| message.starts_with("Cancelling"))
}

/// A cancel that came too late was refused and the job goes on: TikTok publishes the video, the
/// job says so to the end, the log has its final status, and a copy is refused.
async fn refused_and_published(
    proxy: &Proxy,
    cancel: &support::Reply,
    job_id: &str,
    publish_id: &str,
    video: bytes::Bytes,
) {
    check_error(cancel, 409, "job_uploaded");
    assert!(cancel.body.contains("will publish it"), "{}", cancel.body);
    let done = until_done(proxy, job_id).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE", "{done}");
    assert!(
        proxy.log_lines().iter().any(|line| {
            line["publish_id"] == publish_id && line["status"] == "PUBLISH_COMPLETE"
        })
    );
    assert!(uploads(proxy).is_empty(), "the posted video is removed");
    let copy = proxy.post_video("?privacy_level=SELF_ONLY", video).await;
    check_error(&copy, 409, "duplicate_video");
}

#[tokio::test]
async fn a_cancel_that_comes_after_tiktok_took_the_last_chunk_is_refused_and_the_job_goes_on() {
    let proxy = spawn_proxy(|_| {}).await;
    let video = mp4_video(200_000);
    let (job_id, publish_id) =
        post_held_but_unanswered(&proxy, video.clone(), Duration::from_secs(3)).await;
    let reply = delete(&proxy, &job_id).await;
    refused_and_published(&proxy, &reply, &job_id, &publish_id, video).await;
}

/// Waits until every fault scripted on the simulator has been used.
async fn faults_used(proxy: &Proxy) {
    for _ in 0..500 {
        if proxy.sim.pending_faults().is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("faults never used: {:?}", proxy.sim.pending_faults());
}

/// Issue 16: a cancel that came once the last chunk's body had all gone, but before TikTok
/// stored it, dropped the PUT and asked TikTok at once: TikTok held nothing yet, so the cancel
/// stood (video removed, job cancelled) while TikTok went on to publish the video, and a copy
/// sent later passed the duplicate guard. That PUT is now let finish, and its answer counts.
#[tokio::test]
async fn issue_16_a_cancel_after_the_last_chunks_body_went_waits_for_tiktoks_answer() {
    let proxy = spawn_proxy(|_| {}).await;
    let video = mp4_video(250_000);
    proxy.sim.script(Fault::LateStore {
        chunk: 0,
        duration: Duration::from_secs(3),
    });
    let reply = proxy
        .post_video("?privacy_level=SELF_ONLY", video.clone())
        .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let job = reply.json();
    let job_id = job["job_id"].as_str().unwrap();
    let publish_id = job["publish_id"].as_str().unwrap();
    // The whole body is at TikTok, which has not stored it yet.
    faults_used(&proxy).await;
    assert!(!proxy.sim.upload(publish_id).unwrap().complete);
    let reply = delete(&proxy, job_id).await;
    refused_and_published(&proxy, &reply, job_id, publish_id, video).await;
}

/// A cancel while the last chunk's body is still on its way cuts the PUT at once, even for a
/// video sent in one big chunk: TikTok never holds what it did not wholly receive.
#[tokio::test]
async fn a_cancel_while_the_last_chunks_body_is_on_its_way_stands() {
    let proxy = spawn_proxy(|_| {}).await;
    // Far more than the socket buffers hold while TikTok does not read.
    let video = mp4_video(24_000_000);
    let plan = protocol::ChunkPlan::new(video.len() as u64).unwrap();
    let last = plan.chunk(plan.total_chunk_count - 1).unwrap();
    let held = Duration::from_secs(3);
    proxy.sim.script(Fault::HangChunk {
        chunk: last.index,
        duration: held,
    });
    let reply = proxy.post_video("?privacy_level=SELF_ONLY", video).await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let job_id = reply.json()["job_id"].as_str().unwrap().to_owned();
    faults_used(&proxy).await;
    let reply = delete(&proxy, &job_id).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let cancelled = reply.json();
    assert_eq!(cancelled["stage"], "cancelled", "{cancelled}");
    assert!(cancelled["message"].is_null(), "{cancelled}");
    // Past the hold: the cut body is read and refused.
    tokio::time::sleep(held + Duration::from_millis(500)).await;
    let publish_id = cancelled["publish_id"].as_str().unwrap();
    let upload = proxy.sim.upload(publish_id).unwrap();
    assert!(!upload.complete, "{upload:?}");
    assert_eq!(
        upload.received_bytes, last.start,
        "nothing of the last chunk"
    );
    assert!(uploads(&proxy).is_empty());
}

/// Issue 16: a cancel that came as TikTok took the last chunk used to mark the job cancelled
/// before TikTok was asked, so a copy sent meanwhile passed the duplicate guard although TikTok
/// would publish the first.
#[tokio::test]
async fn issue_16_a_copy_sent_while_a_late_cancel_asks_tiktok_is_refused() {
    let proxy = spawn_proxy(|_| {}).await;
    let video = mp4_video(210_000);
    let (job_id, _) = post_held_but_unanswered(&proxy, video.clone(), Duration::from_secs(8)).await;
    // TikTok is slow to answer the cancel's question: seconds, even on a loaded machine.
    hang_next_status(&proxy, Duration::from_secs(6));
    let copy = async {
        // Once the cancel is recorded, and while it waits for TikTok.
        proxy
            .job_until(&job_id, |job| {
                job["stage"] == "cancelled" || cancelling(job)
            })
            .await;
        proxy.post_video("?privacy_level=SELF_ONLY", video).await
    };
    let (cancel, copy) = tokio::join!(delete(&proxy, &job_id), copy);
    check_error(&copy, 409, "duplicate_video");
    assert!(copy.body.contains(&job_id), "{}", copy.body);
    check_error(&cancel, 409, "job_uploaded");
    until_done(&proxy, &job_id).await;
    assert_eq!(proxy.sim.uploads().len(), 1, "one post at TikTok");
}

/// Posts `video` as in [`post_held_but_unanswered`], cancels it and stops the proxy while the
/// cancel waits for TikTok's word (its status call hangs): the DELETE answers 202 with the job
/// still cancelling. The job's id.
async fn cancel_cut_short_by_a_stop(proxy: &mut Proxy, video: bytes::Bytes) -> String {
    let (job_id, _) = post_held_but_unanswered(proxy, video, Duration::from_secs(8)).await;
    hang_next_status(proxy, Duration::from_secs(8));
    let shutdown = proxy.shutdown.take().unwrap();
    let asked_before = status_calls(proxy);
    let stop_while_cancelling = async {
        let job = proxy.job_until(&job_id, cancelling).await;
        // The cancel asks TikTok once the last chunk's PUT, whose body had all gone, has its
        // answer.
        while status_calls(proxy) == asked_before {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        shutdown.send(()).unwrap();
        job
    };
    let (cancel, cancelling) = tokio::join!(delete(proxy, &job_id), stop_while_cancelling);
    assert_eq!(cancel.status, 202, "{}", cancel.body);
    assert_eq!(cancel.json()["message"], cancelling["message"]);
    job_id
}

#[tokio::test]
async fn a_cancel_cut_short_by_a_stop_asks_tiktok_again_after_the_restart() {
    let mut proxy = spawn_proxy(|_| {}).await;
    let video = mp4_video(220_000);
    let job_id = cancel_cut_short_by_a_stop(&mut proxy, video.clone()).await;

    // The record says the cancel waits for TikTok's word; the next start asks, and TikTok
    // holds the whole video, so the job goes on to be posted.
    let proxy = proxy.restart(|_| {}).await;
    let copy = proxy.post_video("?privacy_level=SELF_ONLY", video).await;
    check_error(&copy, 409, "duplicate_video");
    published_once(&proxy, &job_id).await;
}

/// A second DELETE of a cancel waiting for TikTok's word (here the one a restart settles) waits
/// for the same answer and stops nothing: the question under way is not cut short and asked
/// again, TikTok holds the video, so both say `job_uploaded` and the job is polled to its end.
#[tokio::test]
async fn a_second_cancel_waits_for_the_first_ones_answer() {
    let mut proxy = spawn_proxy(|_| {}).await;
    let job_id = cancel_cut_short_by_a_stop(&mut proxy, mp4_video(230_000)).await;

    // The restart's question hangs; both DELETEs come while it does.
    const HANG: Duration = Duration::from_secs(3);
    hang_next_status(&proxy, HANG);
    let asked = std::time::Instant::now();
    let before = status_calls(&proxy);
    let proxy = proxy.restart(|_| {}).await;
    while status_calls(&proxy) == before {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (first, second) = tokio::join!(delete(&proxy, &job_id), delete(&proxy, &job_id));
    assert!(
        asked.elapsed() >= HANG,
        "the question was cut short and asked again"
    );
    check_error(&first, 409, "job_uploaded");
    check_error(&second, 409, "job_uploaded");
    published_once(&proxy, &job_id).await;
}

/// A cancel that raced the last chunk of a video TikTok then failed stands: the answer is the
/// cancelled job, not `409 job_uploaded`'s "TikTok will publish it".
#[tokio::test]
async fn a_late_cancel_of_a_video_tiktok_failed_stands() {
    let proxy = spawn_proxy(|_| {}).await;
    proxy.sim.script(Fault::FailPublish {
        reason: "file_format_check_failed".into(),
    });
    let (job_id, publish_id) =
        post_held_but_unanswered(&proxy, mp4_video(240_000), Duration::from_secs(4)).await;
    // Past the sim's processing delay: TikTok's status says FAILED.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reply = delete(&proxy, &job_id).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let job = reply.json();
    assert_eq!(job["stage"], "cancelled", "{job}");
    assert!(
        proxy.log_lines().iter().any(|line| {
            line["publish_id"] == publish_id.as_str() && line["status"] == "FAILED"
        })
    );
}
