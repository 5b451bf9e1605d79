//! One test per thing a creator can see the uploader do, in real headless Chromium against the
//! real proxy and the TikTok simulator.

use anyhow::Result;
use protocol::ErrorCode;
use protocol::PrivacyLevel;
use tests::{Harness, files};

/// The page must never receive the token, in any response or in its DOM.
async fn assert_token_never_reached_the_page(harness: &Harness) -> Result<()> {
    let token = harness.sim.access_token().to_owned();
    let responses = harness.page.responses().await?;
    assert!(!responses.is_empty(), "the recorder saw no responses");
    for response in &responses {
        assert!(
            !response.contains(&token),
            "a response carried the token:\n{response}"
        );
    }
    assert!(!harness.page.html().await?.contains(&token));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn posts_a_short_video_directly() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    let page = &harness.page;
    page.open().await?;
    assert!(page.account_text().await?.contains("Posting as"));
    page.choose_file(&files::clip_mp4()).await?;
    page.type_caption("First post from the autoposter #fyp 😀")
        .await?;
    page.choose_privacy("Everyone").await?;
    page.click_labelled("Comment").await?;
    assert!(page.post_enabled().await?);
    page.post().await?;

    let (status, text) = page.final_status().await?;
    assert_eq!(status, "PUBLISH_COMPLETE", "{text}");
    assert_eq!(text, "Posted to TikTok.");
    assert!(
        page.has("post-link").await?,
        "a public post links to TikTok"
    );
    page.screenshot("direct-post").await?;

    let uploads = harness.sim.uploads();
    assert_eq!(uploads.len(), 1);
    let upload = &uploads[0];
    assert_eq!(
        upload.sha256.as_deref(),
        Some(files::sha256(&files::clip_mp4())?.as_str())
    );
    assert_eq!(upload.chunks_accepted.len(), 1);
    assert_eq!(upload.content_type.as_deref(), Some("video/mp4"));
    let post_info = upload
        .post_info
        .as_ref()
        .expect("a direct post has post_info");
    assert_eq!(post_info.privacy_level, PrivacyLevel::PublicToEveryone);
    assert_eq!(
        post_info.title.as_deref(),
        Some("First post from the autoposter #fyp 😀")
    );
    assert!(!post_info.disable_comment && post_info.disable_duet && post_info.disable_stitch);

    let log = harness.log()?;
    assert!(
        log.iter()
            .any(|line| line["publish_id"] == upload.publish_id.as_str())
    );
    assert!(!std::fs::read_to_string(&harness.log_path)?.contains(harness.sim.access_token()));
    assert_token_never_reached_the_page(&harness).await?;
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn posts_a_video_over_64_mb_in_planned_chunks() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    let dir = tempfile::tempdir()?;
    let video = files::large_mp4(dir.path(), "long-take.mp4", 70_000_000)?;
    let page = &harness.page;
    page.open().await?;
    page.choose_file(&video).await?;
    page.choose_privacy("Only me").await?;
    page.post().await?;

    let (status, text) = page.final_status().await?;
    assert_eq!(status, "PUBLISH_COMPLETE", "{text}");
    let upload = &harness.sim.uploads()[0];
    let plan = protocol::ChunkPlan::new(70_000_000)?;
    assert_eq!(upload.plan, plan);
    assert_eq!(upload.chunks_accepted.len(), 6);
    assert_eq!(upload.chunks_accepted, plan.chunks().collect::<Vec<_>>());
    assert_eq!(
        upload.sha256.as_deref(),
        Some(files::sha256(&video)?.as_str())
    );
    assert!(
        !page.has("post-link").await?,
        "a private post has no public id"
    );
    harness.stop().await
}

/// Issue 13: TikTok refusing documented multi-chunk plans with "The chunk size is invalid"
/// (post-for-me#327). The proxy's second reading (a smaller last chunk) is accepted, and the page
/// cuts the file exactly so. The smallest video that must be chunked: 64,000,001 bytes.
#[tokio::test(flavor = "multi_thread")]
async fn issue_13_posts_in_chunks_when_tiktok_refuses_the_documented_plan() -> Result<()> {
    let size = protocol::chunk::MAX_CHUNK_SIZE + 1;
    let harness = Harness::start(sim::SimOptions {
        chunk_rule: sim::ChunkRule::SmallerLastChunk,
        ..Harness::quick_sim()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let video = files::large_mp4(dir.path(), "strict-tiktok.mp4", size)?;
    let page = &harness.page;
    page.open().await?;
    page.choose_file(&video).await?;
    page.choose_privacy("Only me").await?;
    page.post().await?;

    let (status, text) = page.final_status().await?;
    assert_eq!(status, "PUBLISH_COMPLETE", "{text}");
    let uploads = harness.sim.uploads();
    assert_eq!(uploads.len(), 1, "the refused init opened no upload");
    let upload = &uploads[0];
    let plan = protocol::ChunkPlan::for_reading(size, protocol::PlanReading::SmallerLastChunk)?;
    assert_eq!(upload.plan, plan);
    assert!(plan.final_chunk_size() < plan.chunk_size);
    assert_eq!(upload.chunks_accepted, plan.chunks().collect::<Vec<_>>());
    assert_eq!(
        upload.sha256.as_deref(),
        Some(files::sha256(&video)?.as_str())
    );
    let created: Vec<_> = harness
        .log()?
        .into_iter()
        .filter(|line| line["event"] == "post_created")
        .collect();
    assert_eq!(created.len(), 1);
    assert_eq!(created[0]["chunk_reading"], "smaller_last_chunk");
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn sends_a_webm_to_the_tiktok_inbox() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    let page = &harness.page;
    page.open().await?;
    page.choose_file(&files::clip_webm()).await?;
    page.click_labelled("Send to TikTok drafts").await?;
    assert!(page.post_enabled().await?, "drafts need no audience");
    page.post().await?;

    let (status, text) = page.final_status().await?;
    assert_eq!(status, "SEND_TO_USER_INBOX");
    assert_eq!(text, "Sent to your TikTok inbox — open TikTok to finish.");
    page.screenshot("inbox").await?;
    let upload = &harness.sim.uploads()[0];
    assert_eq!(upload.mode, protocol::wire::PostMode::Inbox);
    assert_eq!(upload.content_type.as_deref(), Some("video/webm"));
    assert_eq!(
        upload.sha256.as_deref(),
        Some(files::sha256(&files::clip_webm())?.as_str())
    );
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_a_file_that_is_not_a_video() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    let dir = tempfile::tempdir()?;
    let fake = dir.path().join("holiday.mp4");
    std::fs::write(&fake, "this is a text file with a video's name")?;
    let page = &harness.page;
    page.open().await?;
    page.choose_file(&fake).await?;
    assert_eq!(
        page.video_error().await?,
        "This file is not a video TikTok accepts. Choose an MP4, MOV or WebM video."
    );
    assert!(!page.post_enabled().await?);
    assert!(harness.sim.uploads().is_empty());
    page.screenshot("refused-file").await?;
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn refuses_a_video_longer_than_the_creator_may_post() -> Result<()> {
    let mut options = Harness::quick_sim();
    options.persona.max_video_post_duration_sec = 3;
    let harness = Harness::start(options).await?;
    let page = &harness.page;
    page.open().await?;
    page.choose_file(&files::clip_mp4()).await?;
    assert_eq!(
        page.video_error().await?,
        "The video is 0:05 long; your account can post videos of up to 0:03. Trim it and try again."
    );
    assert!(!page.post_enabled().await?);
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn post_stays_disabled_until_an_audience_is_chosen() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    let page = &harness.page;
    page.open().await?;
    assert_eq!(page.post_hint().await?, "Choose a video first.");
    page.choose_file(&files::clip_mp4()).await?;
    assert!(!page.post_enabled().await?);
    assert_eq!(page.post_hint().await?, "Choose who can view this video.");
    page.choose_privacy("Friends").await?;
    assert!(page.post_enabled().await?);
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_creator_who_cannot_post_now_is_told_why() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    // TikTok sends this one with HTTP 200 "(intentional)".
    harness.sim.script(sim::Fault::ApiError {
        endpoint: sim::Endpoint::CreatorInfo,
        code: ErrorCode::SpamRiskTooManyPosts,
        http_status: 200,
        times: 1,
    });
    let page = &harness.page;
    page.open().await?;
    let account = page.account_text().await?;
    assert!(
        account.starts_with("You can't post right now."),
        "{account}"
    );
    assert!(
        account.contains(ErrorCode::SpamRiskTooManyPosts.user_message()),
        "{account}"
    );
    page.choose_file(&files::clip_mp4()).await?;
    assert!(!page.post_enabled().await?);
    harness.stop().await
}
