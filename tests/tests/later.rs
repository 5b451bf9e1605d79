//! "Post later" (issue 14): the page sends the video to the proxy's `POST /api/upload` with a
//! time, the job waits in the queue panel, the proxy posts it then, and the history shows it;
//! a second scheduled job is rescheduled, then cancelled from the queue before it starts.

use anyhow::Result;
use std::time::{Duration, Instant};
use tests::{Harness, files};

#[tokio::test(flavor = "multi_thread")]
async fn posts_a_scheduled_video_at_its_time_then_reschedules_and_cancels_another() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    let page = &harness.page;
    page.open().await?;
    let video = files::clip_mp4();
    page.choose_file(&video).await?;
    page.type_caption("Later, from the page #autoposter")
        .await?;
    page.choose_privacy("Only me").await?;
    page.choose_post_time(Duration::from_secs(8)).await?;
    let pressed = Instant::now();
    page.post().await?;
    let scheduled = page.wait_until_scheduled().await?;
    assert!(scheduled.contains("see the queue below"), "{scheduled}");

    // The job is in the queue, waiting for its time; nothing has reached TikTok yet.
    let jobs = page.jobs().await?;
    assert_eq!(jobs.len(), 1, "{jobs:#?}");
    let (first, stage, text) = &jobs[0];
    assert_eq!(stage, "queued", "{text}");
    assert!(text.contains("Later, from the page #autoposter"), "{text}");
    assert!(harness.sim.uploads().is_empty(), "posted before its time");

    // At its time the proxy posts it, byte for byte.
    page.refresh_until("queue", |jobs| {
        jobs.iter()
            .any(|(id, stage, _)| id == first && stage == "done")
    })
    .await?;
    assert!(
        pressed.elapsed() >= Duration::from_secs(7),
        "posted {:?} after Post, before its time",
        pressed.elapsed()
    );
    harness.assert_byte_exact(&video)?;
    let history = page
        .refresh_until("history", |posts| {
            posts.iter().any(|(_, status, text)| {
                status == "PUBLISH_COMPLETE" && text.contains("Later, from the page")
            })
        })
        .await?;
    assert!(!history.is_empty());

    // A second video, an hour ahead, cancelled from the queue before it starts.
    page.choose_file(&files::clip_webm()).await?;
    page.choose_post_time(Duration::from_secs(3600)).await?;
    page.post().await?;
    page.wait_until_scheduled().await?;
    let jobs = page
        .refresh_until("queue", |jobs| {
            jobs.iter()
                .any(|(id, stage, _)| id != first && stage == "queued")
        })
        .await?;
    let (second, _, _) = jobs
        .iter()
        .find(|(id, _, _)| id != first)
        .expect("the second job is listed");
    // Moved an hour later first (the queue loads again by itself), then cancelled.
    let before = page.job_time(second).await?;
    page.reschedule_job(second, Duration::from_secs(7200))
        .await?;
    let started = Instant::now();
    let mut after = before.clone();
    while after == before {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the reschedule never showed: still {before}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        after = page.job_time(second).await?;
    }
    // The proxy writes both in UTC (`…Z`), which sorts as text.
    assert!(after > before, "rescheduled from {before} to {after}");
    page.click_in_job(second, "Cancel").await?;
    page.refresh_until("queue", |jobs| {
        jobs.iter()
            .any(|(id, stage, _)| id == second && stage == "cancelled")
    })
    .await?;
    page.screenshot("post-later").await?;
    // Still exactly the first video at TikTok.
    harness.assert_byte_exact(&video)?;
    harness.stop().await
}
