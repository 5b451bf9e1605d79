//! Uploads that survive the real world (issue 5): for each fault the simulator can play, the
//! upload either completes with the simulator holding exactly the file's bytes, each chunk
//! accepted once, or stops with a specific message; the log says what happened.

use anyhow::Result;
use protocol::ErrorCode;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tests::{Harness, PageOptions, files};

/// 70 MB: six 10 MiB chunks, the last one larger.
const LARGE: u64 = 70_000_000;

fn large_video(dir: &Path) -> Result<PathBuf> {
    files::large_mp4(dir, "long-take.mp4", LARGE)
}

/// How long the first chunk hangs at TikTok in the pause, cancel and offline tests: the
/// test's browser steps while it is in flight (a few WebDriver calls, which take seconds on a
/// loaded machine) fit in it many times over.
const HELD: Duration = Duration::from_secs(10);

/// Past the end of [`HELD`]: a PUT the page did not really abandon would have landed by then.
const PAST_HELD: Duration = Duration::from_secs(11);

/// Posts a large video whose first chunk hangs for [`HELD`]: time to act while it is in
/// flight.
async fn post_with_first_chunk_hanging(harness: &Harness, dir: &Path) -> Result<PathBuf> {
    harness.sim.script(sim::Fault::Hang {
        endpoint: sim::Endpoint::Upload,
        duration: HELD,
        times: 1,
    });
    let video = large_video(dir)?;
    harness.page.post_privately(&video).await?;
    Ok(video)
}

/// The log's upload events, as `(upload_event, chunk)`.
fn upload_events(harness: &Harness) -> Result<Vec<(String, Option<u64>)>> {
    Ok(harness
        .log()?
        .iter()
        .filter(|line| line["event"] == "upload")
        .map(|line| {
            (
                line["upload_event"].as_str().unwrap_or("").to_owned(),
                line["chunk"].as_u64(),
            )
        })
        .collect())
}

async fn finishes_posted(harness: &Harness) -> Result<()> {
    let (status, text) = harness.page.final_status().await?;
    assert_eq!(status, "PUBLISH_COMPLETE", "{text}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_5xx_on_a_chunk_is_retried_until_it_goes_through() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    harness.sim.script(sim::Fault::ChunkStatus {
        chunk: 2,
        status: 503,
        times: 3,
    });
    let dir = tempfile::tempdir()?;
    let video = large_video(dir.path())?;
    harness.page.post_privately(&video).await?;
    finishes_posted(&harness).await?;
    harness.assert_byte_exact(&video)?;
    let retried: Vec<_> = upload_events(&harness)?
        .into_iter()
        .filter(|(kind, _)| kind == "retried")
        .collect();
    assert_eq!(retried, vec![("retried".to_owned(), Some(2)); 3]);
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_dropped_mid_chunk_loses_nothing() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    harness.sim.script(sim::Fault::DropConnection { chunk: 3 });
    let dir = tempfile::tempdir()?;
    let video = large_video(dir.path())?;
    harness.page.post_privately(&video).await?;
    finishes_posted(&harness).await?;
    harness.assert_byte_exact(&video)?;
    // The cut connection reached the simulator; whether the page or Chromium itself (PUT is
    // idempotent, so Chromium may re-send on a reset connection) sent chunk 3 again, it went once.
    let chunk3 = format!("bytes {}-", 3 * 10 * 1024 * 1024);
    let puts: Vec<u16> = harness
        .sim
        .requests()
        .iter()
        .filter(|r| {
            r.method == "PUT"
                && r.header("content-range")
                    .is_some_and(|v| v.starts_with(&chunk3))
        })
        .map(|r| r.status)
        .collect();
    assert_eq!(puts, [0, 206], "dropped, then accepted");
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_answer_resyncs_from_tiktoks_content_range() -> Result<()> {
    // TikTok keeps chunk 1 but its 206 never arrives: the retry gets 416 with TikTok's range,
    // and the upload continues from chunk 2 rather than sending chunk 1 twice.
    let harness = Harness::start(Harness::quick_sim()).await?;
    harness.sim.script(sim::Fault::LoseAnswer { chunk: 1 });
    let dir = tempfile::tempdir()?;
    let video = large_video(dir.path())?;
    harness.page.post_privately(&video).await?;
    finishes_posted(&harness).await?;
    harness.assert_byte_exact(&video)?;
    let events = upload_events(&harness)?;
    assert!(
        events.iter().any(|(kind, _)| kind == "resynced"),
        "{events:?}"
    );
    let refused: Vec<u16> = harness
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "PUT")
        .map(|r| r.status)
        .collect();
    assert!(refused.contains(&416), "{refused:?}");
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_upload_link_starts_a_fresh_upload_and_says_so() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    // TikTok answers 403 once the hour is up; here it happens on chunk 2.
    harness.sim.script(sim::Fault::ChunkStatus {
        chunk: 2,
        status: 403,
        times: 1,
    });
    let dir = tempfile::tempdir()?;
    let video = large_video(dir.path())?;
    harness.page.post_privately(&video).await?;
    finishes_posted(&harness).await?;
    harness.assert_byte_exact(&video)?;
    let uploads = harness.sim.uploads();
    assert_eq!(uploads.len(), 2, "the dead upload and its replacement");
    assert!(!uploads[0].complete);
    let reinit = harness
        .log()?
        .into_iter()
        .find(|line| line["upload_event"] == "reinitialized")
        .expect("logged");
    assert_eq!(reinit["publish_id"], uploads[0].publish_id.as_str());
    assert!(
        reinit["message"]
            .as_str()
            .unwrap()
            .contains("Starting the upload again with a new link")
    );
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_answer_past_the_timeout_is_abandoned_and_retried() -> Result<()> {
    // No answer for longer than the stall timeout after the last byte went: a stall.
    let page = PageOptions {
        stall_timeout_ms: 1_500,
        ..PageOptions::default()
    };
    let harness = Harness::start_with(Harness::quick_sim(), page).await?;
    harness.sim.script(sim::Fault::Hang {
        endpoint: sim::Endpoint::Upload,
        duration: Duration::from_secs(4),
        times: 1,
    });
    harness.page.post_privately(&files::clip_mp4()).await?;
    finishes_posted(&harness).await?;
    harness.assert_byte_exact(&files::clip_mp4())?;
    assert!(upload_events(&harness)?.contains(&("retried".to_owned(), Some(0))));
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_refused_switches_to_the_relay_and_remembers_it() -> Result<()> {
    let mut options = Harness::quick_sim();
    options.cors = false;
    let harness = Harness::start(options).await?;
    let dir = tempfile::tempdir()?;
    let video = large_video(dir.path())?;
    harness.page.post_privately(&video).await?;
    harness.page.wait_for_testid("transport").await?;
    finishes_posted(&harness).await?;
    harness.assert_byte_exact(&video)?;
    assert!(upload_events(&harness)?.contains(&("relayed".to_owned(), None)));
    assert_eq!(
        harness
            .page
            .local_storage("tiktok-autoposter:transport")
            .await?
            .as_deref(),
        Some("relay")
    );
    // Every accepted chunk came through the proxy, with no Origin: the relay, not the browser.
    let accepted: Vec<_> = harness
        .sim
        .requests()
        .into_iter()
        .filter(|r| r.method == "PUT" && (r.status == 206 || r.status == 201))
        .collect();
    assert!(
        accepted.iter().all(|r| r.header("origin").is_none()),
        "{accepted:?}"
    );

    // The next upload starts on the relay at once: no refused direct attempt first.
    harness.page.click_labelled("Post another video").await.ok();
    let before = harness.sim.requests().len();
    harness.page.post_privately(&files::clip_mp4()).await?;
    finishes_posted(&harness).await?;
    let later: Vec<_> = harness.sim.requests()[before..]
        .iter()
        .filter(|r| r.method == "OPTIONS")
        .cloned()
        .collect();
    assert!(
        later.is_empty(),
        "no preflight: the browser did not try TikTok directly again"
    );
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_init_says_to_wait() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    harness.sim.script(sim::Fault::ApiError {
        endpoint: sim::Endpoint::VideoInit,
        code: ErrorCode::RateLimitExceeded,
        http_status: 429,
        times: 1,
    });
    harness.page.post_privately(&files::clip_mp4()).await?;
    let (status, text) = harness.page.final_status().await?;
    assert_eq!(status, "ERROR");
    assert_eq!(text, ErrorCode::RateLimitExceeded.user_message());
    let failed = harness
        .log()?
        .into_iter()
        .find(|line| line["event"] == "post_failed")
        .expect("logged");
    assert_eq!(failed["tiktok_code"], "rate_limit_exceeded");
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn each_fail_reason_is_told_in_words() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    let page = &harness.page;
    page.open().await?;
    for reason in [
        "file_format_check_failed",
        "duration_check_failed",
        "frame_rate_check_failed",
        "picture_size_check_failed",
        "internal",
        "video_pull_failed",
        "publish_cancelled",
        "auth_removed",
        "spam_risk_too_many_posts",
        "spam_risk_user_banned_from_posting",
        "spam_risk_text",
        "spam_risk",
    ] {
        harness.sim.script(sim::Fault::FailPublish {
            reason: reason.into(),
        });
        page.choose_file(&files::clip_mp4()).await?;
        page.choose_privacy("Only me").await?;
        page.post().await?;
        let (status, text) = page.final_status().await?;
        assert_eq!(status, "FAILED", "{reason}");
        let expected = protocol::FailReason(reason.into());
        assert_eq!(
            text,
            format!(
                "TikTok could not post the video: {}",
                expected.user_message()
            ),
            "{reason}"
        );
        page.click_labelled_button("Post another video").await?;
    }
    let failed = harness
        .log()?
        .iter()
        .filter(|line| line["status"] == "FAILED")
        .count();
    assert_eq!(failed, 12);
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn pause_holds_every_byte_and_resume_finishes() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    // The first chunk hangs, so there is time to pause while it is in flight.
    let dir = tempfile::tempdir()?;
    let video = post_with_first_chunk_hanging(&harness, dir.path()).await?;
    let page = &harness.page;
    page.wait_for_status("UPLOADING").await?;
    // Issue 13: a phone that sleeps freezes the tab; the page says so while uploading.
    assert_eq!(
        page.text_of("keep-open").await?,
        "Keep this tab open, and the screen on, until the upload finishes."
    );
    page.wait_for_testid("pause-button").await?;
    page.click("pause-button").await?;
    page.wait_for_status("PAUSED").await?;
    tokio::time::sleep(PAST_HELD).await;
    assert_eq!(page.text_of("pause-button").await?, "Resume");
    assert_eq!(
        harness.sim.uploads()[0].received_bytes,
        0,
        "nothing is sent while paused"
    );
    page.screenshot("paused").await?;
    page.click("pause-button").await?;
    finishes_posted(&harness).await?;
    harness.assert_byte_exact(&video)?;
    let events: Vec<String> = upload_events(&harness)?
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    assert!(
        events.contains(&"paused".into()) && events.contains(&"resumed".into()),
        "{events:?}"
    );
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn cancel_stops_sending_and_is_logged() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    let dir = tempfile::tempdir()?;
    post_with_first_chunk_hanging(&harness, dir.path()).await?;
    let page = &harness.page;
    page.wait_for_testid("cancel-button").await?;
    page.click("cancel-button").await?;
    let (status, text) = page.final_status().await?;
    assert_eq!(status, "CANCELLED");
    assert!(
        text.contains("discarded when the upload link expires, within an hour"),
        "{text}"
    );
    tokio::time::sleep(PAST_HELD).await;
    assert!(!harness.sim.uploads()[0].complete);
    assert_eq!(
        harness.sim.uploads()[0].received_bytes,
        0,
        "nothing sent after the cancel"
    );
    let history: Vec<serde_json::Value> = harness.log()?;
    assert!(
        history
            .iter()
            .any(|line| line["upload_event"] == "cancelled")
    );
    assert_eq!(
        page.local_storage("tiktok-autoposter:upload").await?,
        None,
        "nothing left to resume"
    );
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reload_mid_upload_resumes_with_the_same_file_only() -> Result<()> {
    // Chunk 3 fails once and the retry waits long enough to reload the page meanwhile.
    let page_options = PageOptions {
        retry_delays_ms: vec![30_000],
        ..PageOptions::default()
    };
    let harness = Harness::start_with(Harness::quick_sim(), page_options).await?;
    harness.sim.script(sim::Fault::ChunkStatus {
        chunk: 3,
        status: 503,
        times: 1,
    });
    let dir = tempfile::tempdir()?;
    let video = large_video(dir.path())?;
    harness.page.post_privately(&video).await?;
    let page = &harness.page;
    page.wait_for_testid("upload-note").await?;
    assert_eq!(
        harness.sim.uploads()[0].received_bytes,
        3 * 10 * 1024 * 1024
    );
    page.reload().await?;
    page.wait_for_testid("resume-offer").await?;
    assert!(
        page.text_of("resume-offer")
            .await?
            .contains("stopped at 45 %")
    );

    // Another file is refused, with what to pick instead.
    page.resume_with(&files::clip_mp4()).await?;
    page.wait_for_testid("resume-error").await?;
    let refusal = page.text_of("resume-error").await?;
    assert!(
        refusal.starts_with("That is not the same file: you picked clip.mp4"),
        "{refusal}"
    );
    page.screenshot("resume-offer").await?;

    page.resume_with(&video).await?;
    finishes_posted(&harness).await?;
    harness.assert_byte_exact(&video)?;
    assert_eq!(
        harness.sim.uploads().len(),
        1,
        "the same upload continued, no new init"
    );
    assert!(upload_events(&harness)?.contains(&("resumed".to_owned(), None)));
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_waits_for_the_network_and_continues() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    // Chunk 0 hangs, so the browser can go offline while it is in flight.
    let dir = tempfile::tempdir()?;
    let video = post_with_first_chunk_hanging(&harness, dir.path()).await?;
    let page = &harness.page;
    page.wait_for_status("UPLOADING").await?;
    page.set_online(false).await?;
    page.wait_for_testid("upload-note").await?;
    assert_eq!(
        page.text_of("upload-note").await?,
        "You are offline. The upload continues when the network is back."
    );
    let held = harness.sim.uploads()[0].received_bytes;
    tokio::time::sleep(PAST_HELD).await;
    assert_eq!(
        harness.sim.uploads()[0].received_bytes,
        held,
        "nothing is sent while offline"
    );
    page.set_online(true).await?;
    finishes_posted(&harness).await?;
    harness.assert_byte_exact(&video)?;
    harness.stop().await
}

/// Issue 13: a phone or a busy laptop freezes a background tab mid-upload (no script, timer or
/// callback runs) for longer than the stall timeout, while a chunk is in flight; once the tab
/// runs again the upload finishes, TikTok holding every byte once.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_a_tab_frozen_mid_upload_finishes_when_it_runs_again() -> Result<()> {
    let page_options = PageOptions {
        // The first retry waits long enough to script the hang below before it starts.
        retry_delays_ms: vec![2_000, 200, 400, 800, 1_600],
        stall_timeout_ms: 1_500,
    };
    let harness = Harness::start_with(Harness::quick_sim(), page_options).await?;
    harness.sim.script(sim::Fault::ChunkStatus {
        chunk: 2,
        status: 503,
        times: 1,
    });
    let dir = tempfile::tempdir()?;
    let video = large_video(dir.path())?;
    let page = &harness.page;
    page.open().await?;
    page.record_lifecycle().await?;
    page.choose_file(&video).await?;
    page.choose_privacy("Only me").await?;
    page.post().await?;
    page.wait_for_testid("upload-note").await?;
    // Chunks 0 and 1 are in; chunk 2's retry will hang at TikTok for 3 s.
    harness.sim.script(sim::Fault::Hang {
        endpoint: sim::Endpoint::Upload,
        duration: Duration::from_secs(3),
        times: 1,
    });
    let chunk2 = format!("bytes {}-", 2 * 10 * 1024 * 1024);
    let puts_of_chunk2 = || {
        harness
            .sim
            .requests()
            .iter()
            .filter(|r| {
                r.method == "PUT"
                    && r.header("content-range")
                        .is_some_and(|v| v.starts_with(&chunk2))
            })
            .count()
    };
    let started = std::time::Instant::now();
    while puts_of_chunk2() < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "chunk 2 was never sent again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    page.set_frozen(true).await?;
    // Frozen past the stall timeout and past TikTok's late answer.
    tokio::time::sleep(Duration::from_secs(5)).await;
    page.set_frozen(false).await?;

    finishes_posted(&harness).await?;
    harness.assert_byte_exact(&video)?;
    assert_eq!(
        page.lifecycle().await?,
        ["freeze", "resume"],
        "the page was frozen, as a background tab is"
    );
    assert_eq!(
        harness.sim.uploads().len(),
        1,
        "the same upload, no new init"
    );
    harness.stop().await
}
