//! DNS rebinding in a real browser: Chromium resolves `evil.example` to 127.0.0.1 (as a page's
//! own DNS would after rebinding), so the uploader page loads from the proxy under that name and
//! its calls are same-origin to the browser. The proxy answers them with `host_not_allowed`:
//! the page says why, cannot post, and nothing reaches TikTok or the log.

use anyhow::Result;
use tests::browser::{Browser, Options};
use tests::{Harness, UploaderPage, files};

#[tokio::test(flavor = "multi_thread")]
async fn a_rebound_name_gets_the_page_but_not_the_account() -> Result<()> {
    let harness = Harness::start(Harness::quick_sim()).await?;
    let scratch = tempfile::tempdir()?;
    let browser = Browser::start_with(
        scratch.path(),
        &Options {
            extra_args: vec!["--host-resolver-rules=MAP evil.example 127.0.0.1".into()],
            ..Options::default()
        },
    )
    .await?;
    let port = harness
        .url
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .to_owned();
    let page = UploaderPage::new(browser, format!("http://evil.example:{port}/"));
    page.open().await?;
    let account = page.account_text().await?;
    assert!(
        account.contains("does not answer to the name \"evil.example\"")
            && account.contains("AUTOPOSTER_ALLOWED_HOSTS"),
        "{account}"
    );
    page.choose_file(&files::clip_mp4()).await?;
    assert!(!page.post_enabled().await?, "nothing can be posted");
    page.screenshot("rebound-name").await?;
    page.close().await?;

    assert!(harness.sim.requests().is_empty(), "nothing went to TikTok");
    assert!(harness.log()?.is_empty(), "nothing was logged");

    // The same proxy, addressed by its address, is the creator's as always.
    harness.page.open().await?;
    assert!(harness.page.account_text().await?.contains("Posting as"));
    harness.stop().await
}
