//! When TikTok is stricter than its documentation (issue 13, DayMoonDevelopment/post-for-me#327):
//! a documented chunk plan refused with `400 invalid_params` "The chunk size is invalid" is tried
//! once more under the other reading of the rule; the accepted reading is logged and the next
//! upload — after a restart too — starts with it; if both are refused, the caller is told what
//! was tried and TikTok's `log_id`, and nothing else is logged.

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use protocol::ErrorCode;
use protocol::chunk::{ChunkPlan, PlanReading};
use protocol::tiktok::paths;
use protocol::wire::CreatedPost;
use serde_json::{Value, json};
use sim::{ChunkRule, Endpoint, Fault, RateLimits, SimOptions};
use support::{Proxy, sha256_hex, sim_options, spawn_proxy_with, upload, video_bytes};

/// Over 64 MB, so the plan has several chunks: six of 10 MiB as documented, the last larger.
const VIDEO_SIZE: u64 = 70_000_000;

fn inbox_post(video_size: u64) -> Value {
    json!({
        "mode": "inbox",
        "video_size": video_size,
        "content_type": "video/mp4",
        "file_name": "long.mp4",
    })
}

/// A simulator playing `rule`, without rate limits (a refused plan costs a second init).
fn ruled(rule: ChunkRule) -> SimOptions {
    SimOptions {
        chunk_rule: rule,
        rate_limits: RateLimits::off(),
        ..sim_options()
    }
}

/// The `(chunk_size, total_chunk_count)` of every inbox init the simulator received, in order.
fn inits(proxy: &Proxy) -> Vec<(u64, u64)> {
    proxy
        .sim
        .requests()
        .iter()
        .filter(|request| request.path == paths::INBOX_VIDEO_INIT)
        .map(|request| {
            let body: Value = serde_json::from_slice(request.body.as_ref().unwrap()).unwrap();
            let source = &body["source_info"];
            (
                source["chunk_size"].as_u64().unwrap(),
                source["total_chunk_count"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn numbers(plan: ChunkPlan) -> (u64, u64) {
    (plan.chunk_size, plan.total_chunk_count)
}

fn plan_of(reading: PlanReading) -> ChunkPlan {
    ChunkPlan::for_reading(VIDEO_SIZE, reading).unwrap()
}

/// The log's lines of one event kind.
fn logged(proxy: &Proxy, event: &str) -> Vec<Value> {
    proxy
        .log_lines()
        .into_iter()
        .filter(|line| line["event"] == event)
        .collect()
}

#[tokio::test]
async fn a_refused_documented_plan_is_tried_once_the_other_way_and_remembered() {
    let documented = plan_of(PlanReading::Documented);
    let smaller_last = plan_of(PlanReading::SmallerLastChunk);
    let proxy = spawn_proxy_with(ruled(ChunkRule::SmallerLastChunk), |_| {}).await;

    let created = proxy.create(&inbox_post(VIDEO_SIZE)).await;
    assert_eq!(inits(&proxy), [numbers(documented), numbers(smaller_last)]);
    assert_eq!(
        (created.chunk_size, created.total_chunk_count),
        numbers(smaller_last)
    );
    // The upload host takes the accepted plan's smaller last chunk, byte-exact.
    let video = video_bytes(VIDEO_SIZE as usize);
    let statuses = upload(&created, &video, "video/mp4").await;
    assert_eq!(statuses.len() as u64, smaller_last.total_chunk_count);
    assert_eq!(statuses.last(), Some(&201));
    let at_sim = proxy.sim.upload(&created.publish_id).unwrap();
    assert_eq!(at_sim.sha256, Some(sha256_hex(&video)));
    // One post_created line, recording the accepted plan; no failure logged.
    let created_lines = logged(&proxy, "post_created");
    assert_eq!(created_lines.len(), 1);
    let line = &created_lines[0];
    assert_eq!(line["chunk_reading"], "smaller_last_chunk");
    assert_eq!(line["chunk_size"], smaller_last.chunk_size);
    assert_eq!(line["total_chunk_count"], smaller_last.total_chunk_count);
    assert!(logged(&proxy, "post_failed").is_empty());

    // The next post starts with the accepted reading: one init.
    let next = proxy.create(&inbox_post(VIDEO_SIZE)).await;
    assert_eq!(inits(&proxy).len(), 3);
    assert_eq!(
        (next.chunk_size, next.total_chunk_count),
        numbers(smaller_last)
    );

    // A restarted proxy reads it back from the log.
    let proxy = proxy.restart(|_| {}).await;
    let after_restart: CreatedPost = proxy.create(&inbox_post(VIDEO_SIZE)).await;
    assert_eq!(inits(&proxy).len(), 4);
    assert_eq!(
        (after_restart.chunk_size, after_restart.total_chunk_count),
        numbers(smaller_last)
    );

    // Should TikTok go back to its documentation, the remembered reading is refused ("The
    // total_chunk_count is invalid") and the documented one is tried, and remembered, again.
    proxy.sim.set_chunk_rule(ChunkRule::Documented);
    let back = proxy.create(&inbox_post(VIDEO_SIZE)).await;
    assert_eq!(
        &inits(&proxy)[4..],
        [numbers(smaller_last), numbers(documented)]
    );
    assert_eq!(
        (back.chunk_size, back.total_chunk_count),
        numbers(documented)
    );
    proxy.create(&inbox_post(VIDEO_SIZE)).await;
    assert_eq!(inits(&proxy).len(), 7);
    let last = logged(&proxy, "post_created").pop().unwrap();
    assert_eq!(last["chunk_reading"], "documented");
    // Whole uploads record no reading: they say nothing about the chunk rule.
    proxy.create(&inbox_post(1_000_000)).await;
    let whole = logged(&proxy, "post_created").pop().unwrap();
    assert_eq!(whole["chunk_reading"], Value::Null);
    assert_eq!(whole["total_chunk_count"], 1);
}

#[tokio::test]
async fn both_readings_refused_is_a_clear_error_with_both_plans_and_the_log_id() {
    let documented = plan_of(PlanReading::Documented);
    let smaller_last = plan_of(PlanReading::SmallerLastChunk);
    let proxy = spawn_proxy_with(ruled(ChunkRule::WholeOnly), |_| {}).await;

    let reply = proxy.post_json("/api/posts", &inbox_post(VIDEO_SIZE)).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    let error = reply.error().error;
    assert_eq!(error.code, "chunk_plan_refused");
    let log_id = error.log_id.expect("TikTok's log_id");
    assert!(!log_id.is_empty());
    for plan in [documented, smaller_last] {
        let tried = format!(
            "{} chunks of {} bytes",
            plan.total_chunk_count, plan.chunk_size
        );
        assert!(error.message.contains(&tried), "{tried}: {}", error.message);
    }
    assert!(error.message.contains(&log_id), "{}", error.message);
    assert!(
        error.message.contains("The chunk size is invalid"),
        "{}",
        error.message
    );
    assert_eq!(inits(&proxy), [numbers(documented), numbers(smaller_last)]);

    // Nothing half-logged: one failure with the code, log_id and what was tried; no post.
    assert!(logged(&proxy, "post_created").is_empty());
    let failed = logged(&proxy, "post_failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["code"], "chunk_plan_refused");
    assert_eq!(failed[0]["log_id"], log_id.as_str());
    assert_eq!(failed[0]["message"], error.message.as_str());
    let history = proxy.get("/api/posts").await.json();
    assert_eq!(history["posts"], json!([]));

    // Nothing remembered either: the next try starts with the documented plan again, and a
    // whole upload still goes.
    let reply = proxy.post_json("/api/posts", &inbox_post(VIDEO_SIZE)).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(inits(&proxy)[2], numbers(documented));
    proxy.create(&inbox_post(1_000_000)).await;
}

#[tokio::test]
async fn a_documented_tiktok_gets_the_documented_plan_once() {
    let documented = plan_of(PlanReading::Documented);
    let proxy = spawn_proxy_with(sim_options(), |_| {}).await;
    let created = proxy.create(&inbox_post(VIDEO_SIZE)).await;
    assert_eq!(inits(&proxy), [numbers(documented)]);
    assert_eq!(
        (created.chunk_size, created.total_chunk_count),
        (10 * 1024 * 1024, 6)
    );
    let line = logged(&proxy, "post_created").pop().unwrap();
    assert_eq!(line["chunk_reading"], "documented");

    // Any other invalid_params is passed on as it is, with no second init.
    proxy.sim.script(Fault::ApiError {
        endpoint: Endpoint::InboxInit,
        code: ErrorCode::InvalidParams,
        http_status: 400,
        times: 1,
    });
    let reply = proxy.post_json("/api/posts", &inbox_post(VIDEO_SIZE)).await;
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(reply.error().error.code, "invalid_param");
    assert_eq!(inits(&proxy).len(), 2);
}
