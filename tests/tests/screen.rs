//! The posting screen as TikTok's auditors read it (issue 15): one test per row of the Content
//! Sharing Guidelines, reading what Chromium renders — text, enabled or disabled, link targets —
//! never the model. In every state they pass through, axe-core finds no serious or critical
//! violation and nothing is wider than the viewport at 390 px and at 1280 px; a screenshot of
//! each state at both widths is kept in `target/e2e-artifacts/screen-*.png`.

use anyhow::Result;
use fantoccini::key::Key;
use protocol::ErrorCode;
use protocol::screen::{
    BRANDED_CONTENT_POLICY_URL, BRANDED_NEEDS_AUDIENCE, BRANDED_NOT_PRIVATE, CREATOR_CANNOT_POST,
    CREATOR_CHANGED, DISCLOSURE_INCOMPLETE, MUSIC_USAGE_URL,
};
use std::time::{Duration, Instant};
use tests::{Harness, UploaderPage, files};

/// The widths the screen is checked at: a phone and a laptop.
const WIDTHS: [u32; 2] = [390, 1280];

/// Checks the page as it is now at each width (axe-core, nothing wider than the viewport) and
/// keeps a screenshot of each, named after the state.
async fn audit(page: &UploaderPage, state: &str) -> Result<()> {
    for width in WIDTHS {
        let inner = page.set_width(width).await?;
        assert_eq!(inner, width, "the viewport did not take {width} px");
        let wide = page.wider_than_viewport().await?;
        assert!(wide.is_empty(), "{state} at {width} px: {wide:#?}");
        page.screenshot_page(&format!("screen-{state}-{width}"))
            .await?;
        let violations = page.accessibility_violations().await?;
        assert!(
            violations.is_empty(),
            "{state} at {width} px: {violations:#?}"
        );
    }
    Ok(())
}

/// How many times the proxy asked TikTok about the creator.
fn creator_queries(harness: &Harness) -> usize {
    harness
        .sim
        .requests()
        .iter()
        .filter(|r| r.path == sim::Endpoint::CreatorInfo.path())
        .count()
}

/// Waits until `check` holds, for at most 20 s.
async fn eventually<F, Fut>(what: &str, check: F) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let started = Instant::now();
    while !check().await? {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(20),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// §7.1 and §7.2: whose account it is, and nothing chosen for the creator.
#[tokio::test(flavor = "multi_thread")]
async fn shows_the_creator_and_chooses_nothing_for_them() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    let page = &harness.page;
    page.open().await?;
    let persona = harness.sim.persona();
    let account = page.account_text().await?;
    assert!(
        account.contains(&format!("Posting as {}", persona.nickname)),
        "{account}"
    );
    assert_eq!(page.avatar().await?, persona.avatar_url);

    page.choose_file(&files::clip_mp4()).await?;
    // Only TikTok's options, none chosen: the prompt is shown and cannot be picked back.
    let options = page.privacy_options().await?;
    let labels: Vec<&str> = options.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(
        labels,
        ["Choose who can view it", "Everyone", "Friends", "Only me"]
    );
    assert!(!options[0].1, "the prompt is not an audience");
    assert_eq!(page.chosen_privacy().await?, "");
    assert!(!page.post_enabled().await?);
    assert_eq!(page.post_hint().await?, "Choose who can view this video.");
    for label in ["Comment", "Duet", "Stitch"] {
        assert_eq!(page.checkbox(label).await?, (false, true), "{label}");
    }
    assert_eq!(
        page.checkbox("Disclose video content").await?,
        (false, true)
    );
    assert_eq!(page.text_if_any("disclosure-note").await?, "");
    audit(page, "fresh").await?;
    harness.stop().await
}

/// §7.3 and §7.4: the disclosure switch, both labels, the consent line and its links for each
/// case, and "Only me" against branded content with every explanation visible.
#[tokio::test(flavor = "multi_thread")]
async fn disclosure_labels_consent_and_only_me() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    let page = &harness.page;
    page.open().await?;
    page.choose_file(&files::clip_mp4()).await?;
    let (text, links) = page.consent().await?;
    assert_eq!(
        text,
        "By posting, you agree to TikTok's Music Usage Confirmation."
    );
    assert_eq!(
        links,
        [(
            "Music Usage Confirmation".to_owned(),
            MUSIC_USAGE_URL.to_owned()
        )]
    );

    // Switched on with nothing ticked: the reason shows at once, before an audience is chosen.
    page.click_labelled("Disclose video content").await?;
    assert_eq!(
        page.text_if_any("disclosure-note").await?,
        DISCLOSURE_INCOMPLETE
    );
    page.choose_privacy("Everyone").await?;
    assert!(!page.post_enabled().await?);
    assert_eq!(page.post_hint().await?, DISCLOSURE_INCOMPLETE);
    audit(page, "disclosure-incomplete").await?;

    page.click_labelled("Your brand").await?;
    assert_eq!(page.text_if_any("disclosure-note").await?, "");
    assert!(
        page.html()
            .await?
            .contains("labeled as \"Promotional content\"")
    );
    assert_eq!(page.consent().await?.1.len(), 1, "music usage only");
    assert!(page.post_enabled().await?);

    page.click_labelled("Branded content").await?;
    assert!(
        page.html()
            .await?
            .contains("labeled as \"Paid partnership\"")
    );
    let (text, links) = page.consent().await?;
    assert_eq!(
        text,
        "By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation."
    );
    assert_eq!(
        links,
        [
            (
                "Branded Content Policy".to_owned(),
                BRANDED_CONTENT_POLICY_URL.to_owned()
            ),
            (
                "Music Usage Confirmation".to_owned(),
                MUSIC_USAGE_URL.to_owned()
            )
        ]
    );
    // "Only me" is disabled, and why is said in words next to the list and read with it.
    let only_me = page.privacy_options().await?.into_iter().last();
    assert_eq!(only_me, Some(("Only me".to_owned(), false)));
    assert_eq!(
        page.description_of("Who can view this video").await?,
        BRANDED_NOT_PRIVATE
    );
    audit(page, "paid-partnership").await?;

    // The stale tick: branded ticked, disclosure off, "Only me", disclosure on again.
    page.click_labelled("Disclose video content").await?;
    page.choose_privacy("Only me").await?;
    page.click_labelled("Disclose video content").await?;
    assert_eq!(page.checkbox("Branded content").await?, (false, false));
    assert_eq!(
        page.description_of("Branded content").await?,
        BRANDED_NEEDS_AUDIENCE
    );
    assert_eq!(page.checkbox("Your brand").await?, (true, true));
    assert!(page.post_enabled().await?, "{}", page.post_hint().await?);
    audit(page, "only-me").await?;
    harness.stop().await
}

/// §7.1: the length is checked against the creator's limit even when the file is picked
/// before TikTok has described the creator; a length nobody can read does not pass.
#[tokio::test(flavor = "multi_thread")]
async fn checks_the_length_even_while_the_creator_loads() -> Result<()> {
    let mut options = Harness::quick_sim();
    options.persona.max_video_post_duration_sec = 3;
    let harness = Harness::start(options).await?;
    harness.sim.script(sim::Fault::Hang {
        endpoint: sim::Endpoint::CreatorInfo,
        duration: Duration::from_secs(3),
        times: 1,
    });
    let page = &harness.page;
    page.open_without_waiting().await?;
    page.choose_file(&files::clip_mp4()).await?;
    assert!(!page.post_enabled().await?);
    assert_eq!(page.post_hint().await?, "Waiting for your TikTok account.");
    eventually("the creator's limit to apply", || async {
        Ok(page
            .text_if_any("video-error")
            .await?
            .contains("up to 0:03"))
    })
    .await?;
    assert_eq!(
        page.video_error().await?,
        "The video is 0:05 long; your account can post videos of up to 0:03. Trim it and try again."
    );
    page.choose_privacy("Only me").await?;
    assert!(!page.post_enabled().await?);
    audit(page, "too-long").await?;

    // An MP4 whose header the browser cannot read: its length is unknown, so it cannot pass.
    let dir = tempfile::tempdir()?;
    let unreadable = dir.path().join("unreadable.mp4");
    let mut bytes = std::fs::read(files::clip_mp4())?[..32].to_vec();
    bytes.extend(std::iter::repeat_n(0u8, 4096));
    std::fs::write(&unreadable, bytes)?;
    page.choose_file(&unreadable).await?;
    eventually("the unknown length to be refused", || async {
        Ok(page
            .text_if_any("video-error")
            .await?
            .contains("could not read"))
    })
    .await?;
    assert!(!page.post_enabled().await?);
    assert!(harness.sim.uploads().is_empty());
    harness.stop().await
}

/// §7.5 with a keyboard only: Tab, arrows, Space and Enter choose a cover frame and post the
/// video (the frame sent as `video_cover_timestamp_ms`); the processing notice
/// shows; the same file cannot be posted again with one click; "Post another video" asks TikTok
/// about the creator again; and the drafts choice says where the video goes.
#[tokio::test(flavor = "multi_thread")]
async fn keyboard_only_post_then_drafts() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    let page = &harness.page;
    page.open().await?;
    // Only the operating system's file dialog is out of reach; WebDriver types the path.
    page.choose_file(&files::clip_mp4()).await?;
    page.focus_testid("file-input").await?;
    page.tab_to("caption").await?;
    page.type_into_focused("by keyboard").await?;
    // The cover frame: the slider moves a tenth of a second per arrow press.
    page.tab_to("cover").await?;
    for _ in 0..15 {
        page.press(Key::Right).await?;
    }
    assert_eq!(
        page.text_of("cover-at").await?,
        "Cover: the frame at 0:01.5."
    );
    page.tab_to("privacy").await?;
    page.press(Key::Down).await?;
    assert_eq!(page.chosen_privacy().await?, "Everyone");
    page.tab_to("allow-comment").await?;
    page.press(Key::Space).await?;
    assert_eq!(page.checkbox("Comment").await?, (true, true));
    page.tab_to("post-button").await?;
    page.press(Key::Enter).await?;
    let (status, text) = page.final_status().await?;
    assert_eq!(status, "PUBLISH_COMPLETE", "{text}");
    assert!(
        page.html()
            .await?
            .contains("TikTok may take a few minutes to process the video")
    );
    let post_info = harness.sim.uploads()[0].post_info.clone().expect("direct");
    assert_eq!(post_info.title.as_deref(), Some("by keyboard"));
    assert!(!post_info.disable_comment);
    assert_eq!(post_info.video_cover_timestamp_ms, Some(1_500));
    // One click must not post the same video twice.
    assert!(!page.post_enabled().await?);
    audit(page, "posted").await?;

    let queried = creator_queries(&harness);
    page.click_labelled_button("Post another video").await?;
    eventually("creator info to be asked again", || async {
        Ok(creator_queries(&harness) > queried)
    })
    .await?;
    page.wait_for_testid("account").await?;
    page.click_labelled("Send to TikTok drafts").await?;
    assert!(
        page.html()
            .await?
            .contains("Finish the post in the TikTok app")
    );
    page.choose_file(&files::clip_webm()).await?;
    page.post().await?;
    let (status, text) = page.final_status().await?;
    assert_eq!(status, "SEND_TO_USER_INBOX", "{text}");
    audit(page, "drafts").await?;
    harness.stop().await
}

/// §7.7 and §7.8: a private account is offered only its own audiences with Duet and Stitch
/// greyed; when TikTok's answer changes before init the screen follows it and says so instead
/// of posting; an unaudited app posting to a public account is told what it may do.
#[tokio::test(flavor = "multi_thread")]
async fn private_account_and_an_unaudited_app() -> Result<()> {
    let mut options = Harness::quick_sim();
    options.persona = sim::Persona {
        audited: false,
        ..sim::Persona::private()
    };
    let harness = Harness::start(options).await?;
    let page = &harness.page;
    page.open().await?;
    page.choose_file(&files::clip_mp4()).await?;
    let labels: Vec<String> = page
        .privacy_options()
        .await?
        .into_iter()
        .skip(1)
        .map(|(label, _)| label)
        .collect();
    assert_eq!(labels, ["Followers", "Friends", "Only me"]);
    for label in ["Duet", "Stitch"] {
        assert_eq!(page.checkbox(label).await?, (false, false), "{label}");
    }
    assert!(
        page.html()
            .await?
            .contains("(turned off in your TikTok settings)")
    );
    audit(page, "private").await?;

    // The account turns public before Post is pressed: the screen follows TikTok's new answer.
    page.choose_privacy("Followers").await?;
    harness.sim.set_persona(sim::Persona {
        audited: false,
        ..sim::Persona::default()
    });
    page.post().await?;
    page.wait_for_testid("post-notice").await?;
    assert_eq!(page.text_of("post-notice").await?, CREATOR_CHANGED);
    assert!(harness.sim.uploads().is_empty(), "nothing was sent");
    assert_eq!(page.chosen_privacy().await?, "", "Followers is gone");
    page.choose_privacy("Everyone").await?;
    page.post().await?;
    let (status, text) = page.final_status().await?;
    assert_eq!(status, "ERROR");
    assert!(
        text.contains(ErrorCode::UnauditedClientCanOnlyPostToPrivateAccounts.user_message()),
        "{text}"
    );
    let help = page.text_of("unaudited-help").await?;
    for step in protocol::screen::UNAUDITED_STEPS {
        assert!(help.contains(step), "{help}");
    }
    audit(page, "unaudited").await?;

    // TikTok now says this account cannot post: asked right before init, the page says so,
    // tells to try again later, and sends nothing.
    harness.sim.script(sim::Fault::ApiError {
        endpoint: sim::Endpoint::CreatorInfo,
        code: ErrorCode::SpamRiskUserBannedFromPosting,
        http_status: 200,
        times: 1,
    });
    page.post().await?;
    page.wait_for_testid("post-notice").await?;
    assert_eq!(page.text_of("post-notice").await?, CREATOR_CANNOT_POST);
    let account = page.account_text().await?;
    assert!(account.ends_with("Try again later."), "{account}");
    assert!(!page.post_enabled().await?);
    assert!(harness.sim.uploads().is_empty());
    harness.stop().await
}
