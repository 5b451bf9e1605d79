//! Staying connected (issue 6), as a person sees it: the page starts disconnected, "Connect
//! TikTok" runs TikTok's sign-in (the simulator's), a post goes through with the issued token,
//! and "Disconnect TikTok" revokes it once the person confirms (issue 12).

use anyhow::Result;
use tests::{Harness, files};

#[tokio::test(flavor = "multi_thread")]
async fn connect_post_and_disconnect() -> Result<()> {
    let harness = Harness::start_disconnected(Harness::quick_sim()).await?;
    let page = &harness.page;
    page.open().await?;
    assert!(
        page.has("connect-button").await?,
        "a disconnected page offers to connect"
    );
    page.choose_file(&files::clip_mp4()).await?;
    assert!(!page.post_enabled().await?);
    assert_eq!(page.post_hint().await?, "Connect a TikTok account first.");
    page.screenshot("disconnected").await?;

    page.click("connect-button").await?;
    page.wait_for_testid("disconnect-button").await?;
    let account = page.text_of("account").await?;
    assert!(account.starts_with("Posting as Sim Creator"), "{account}");
    assert_eq!(harness.sim.token_calls(), 1, "one code exchange");

    page.choose_file(&files::clip_mp4()).await?;
    page.choose_privacy("Only me").await?;
    page.post().await?;
    let (status, text) = page.final_status().await?;
    assert_eq!(status, "PUBLISH_COMPLETE", "{text}");
    assert_eq!(
        harness.sim.uploads()[0].sha256.as_deref(),
        Some(files::sha256(&files::clip_mp4())?.as_str())
    );

    // Disconnecting asks first (issue 12); keeping the connection changes nothing.
    let question = page.ask_to_disconnect().await?;
    assert!(
        question.starts_with(
            "Disconnect TikTok? The autoposter will stop posting to @sim.creator until you connect again."
        ),
        "{question}"
    );
    page.screenshot_at("disconnect-confirm", "[data-testid=disconnect-confirm]")
        .await?;
    page.click_labelled_button("Keep connected").await?;
    page.wait_for_testid("disconnect-button").await?;
    assert!(!page.has("disconnect-confirm").await?);
    assert!(page.text_of("account").await?.starts_with("Posting as"));

    page.ask_to_disconnect().await?;
    page.click_labelled_button("Disconnect").await?;
    page.wait_for_testid("connect-button").await?;
    let notice = page.text_of("connect-notice").await?;
    assert!(notice.starts_with("You disconnected TikTok."), "{notice}");
    page.screenshot("after-disconnect").await?;

    // The client secret never reaches the page, in any response or in the DOM.
    let secret = harness.sim.client_secret().to_owned();
    for response in page.responses().await? {
        assert!(!response.contains(&secret), "{response}");
    }
    assert!(!page.html().await?.contains(&secret));
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_sign_in_is_explained() -> Result<()> {
    let mut options = Harness::quick_sim();
    // The person grants nothing on TikTok's consent page.
    options.grant_scopes = Some(Vec::new());
    let harness = Harness::start_disconnected(options).await?;
    let page = &harness.page;
    page.open().await?;
    page.click("connect-button").await?;
    page.wait_for_testid("connect-error").await?;
    let error = page.text_of("connect-error").await?;
    assert!(
        error.starts_with("Connecting TikTok did not work: "),
        "{error}"
    );
    assert!(
        error.len() > "Connecting TikTok did not work: ".len() + 10,
        "says why: {error}"
    );
    assert!(page.has("connect-button").await?, "and offers to try again");
    assert!(!page.post_enabled().await?);
    page.screenshot("sign-in-refused").await?;
    harness.stop().await
}
