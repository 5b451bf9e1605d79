//! The switch that makes init stricter than TikTok's documentation, as TikTok was seen to be
//! (DayMoonDevelopment/post-for-me#327): which plans each rule refuses, and that an accepted
//! plan with a smaller last chunk uploads byte-exact.

use crate::support::*;
use protocol::chunk::{ChunkPlan, PlanReading};
use sim::{CHUNK_SIZE_INVALID, ChunkRule, Endpoint, SimOptions};

/// `SMALL3` counted with ceil: three chunks of 5 MiB + 3 bytes, the last one 5 MiB + 1.
const SMALL3_CEIL: (u64, u64, u64) = (15 * MIB + 7, 5 * MIB + 3, 3);

async fn start_ruled(rule: ChunkRule) -> Harness {
    start_with(SimOptions {
        chunk_rule: rule,
        ..fast()
    })
    .await
}

/// Asserts the field report's refusal, spelled as reported.
#[track_caller]
fn check_chunk_size_invalid(reply: &Reply) {
    check(reply, 400, "invalid_params");
    assert_eq!(reply.message(), CHUNK_SIZE_INVALID);
    assert!(header(&reply.headers, "x-tt-logid").is_some());
}

#[tokio::test]
async fn smaller_last_refuses_the_documented_plan_and_takes_the_ceil_one() {
    let harness = start_ruled(ChunkRule::SmallerLastChunk).await;
    let refused = harness
        .call(Endpoint::VideoInit, direct(SMALL3, "SELF_ONLY"))
        .await;
    check_chunk_size_invalid(&refused);
    let refused = harness.call(Endpoint::InboxInit, inbox(SMALL3)).await;
    check_chunk_size_invalid(&refused);
    // Other mistakes keep their own messages.
    let wrong = harness
        .call(
            Endpoint::VideoInit,
            direct((15 * MIB + 7, 5 * MIB + 3, 4), "SELF_ONLY"),
        )
        .await;
    check(&wrong, 400, "invalid_param");
    assert!(
        wrong.message().contains("ceil of video_size"),
        "{}",
        wrong.text
    );

    let (publish_id, upload_url) = harness
        .init(Endpoint::VideoInit, direct(SMALL3_CEIL, "SELF_ONLY"))
        .await;
    let (size, chunk_size, count) = SMALL3_CEIL;
    let plan =
        ChunkPlan::validate_as(PlanReading::SmallerLastChunk, size, chunk_size, count).unwrap();
    assert_eq!(plan.final_chunk_size(), 5 * MIB + 1);
    let video = video(size, 13);
    harness.upload_all(&upload_url, &video, &plan).await;
    let record = harness.sim.upload(&publish_id).unwrap();
    assert!(record.complete);
    assert_eq!(record.chunks_accepted, plan.chunks().collect::<Vec<_>>());
    assert_eq!(record.sha256, Some(sha256_hex(&video)));

    // Exact divisions and whole uploads are valid under both readings.
    harness
        .init(Endpoint::InboxInit, inbox((15 * MIB, 5 * MIB, 3)))
        .await;
    harness.init(Endpoint::InboxInit, inbox(WHOLE)).await;
}

#[tokio::test]
async fn whole_only_refuses_every_multi_chunk_plan() {
    let harness = start_ruled(ChunkRule::WholeOnly).await;
    for plan in [SMALL3, SMALL3_CEIL, (15 * MIB, 5 * MIB, 3)] {
        let refused = harness.call(Endpoint::InboxInit, inbox(plan)).await;
        check_chunk_size_invalid(&refused);
    }
    // Wrong plans keep their documented refusal; whole uploads still go.
    let wrong = harness
        .call(Endpoint::InboxInit, inbox((4 * MIB, 2 * MIB, 2)))
        .await;
    check(&wrong, 400, "invalid_param");
    harness.init(Endpoint::InboxInit, inbox(WHOLE)).await;
}

#[tokio::test]
async fn the_rule_can_change_mid_run_and_documented_is_the_default() {
    let harness = start().await;
    let refused = harness.call(Endpoint::InboxInit, inbox(SMALL3_CEIL)).await;
    check(&refused, 400, "invalid_param");
    assert!(
        refused.message().contains("total_chunk_count is invalid"),
        "{}",
        refused.text
    );
    harness.init(Endpoint::InboxInit, inbox(SMALL3)).await;
    harness.sim.set_chunk_rule(ChunkRule::SmallerLastChunk);
    check_chunk_size_invalid(&harness.call(Endpoint::InboxInit, inbox(SMALL3)).await);
    assert_eq!(
        ChunkRule::parse("smaller-last"),
        Some(ChunkRule::SmallerLastChunk)
    );
    assert_eq!(ChunkRule::parse("whole-only"), Some(ChunkRule::WholeOnly));
    assert_eq!(ChunkRule::parse("ceil"), None);
}
