//! Operator sign-in (issue 12), as a person sees it: a proxy with a password shows the sign-in
//! form instead of the uploader, explains a wrong password, keeps the session in a cookie the
//! page's scripts cannot read, lets the operator connect TikTok and post, and signs out.

use anyhow::Result;
use tests::{Harness, files};

/// The operator's password in these tests (at least `proxy::MIN_PASSWORD_CHARS` long).
const PASSWORD: &str = "correct horse battery staple";

#[tokio::test(flavor = "multi_thread")]
async fn the_operator_signs_in_connects_posts_and_signs_out() -> Result<()> {
    let harness = Harness::start_with_password(Harness::quick_sim(), PASSWORD).await?;
    let page = &harness.page;
    page.open_sign_in().await?;
    assert!(
        !page.has("post-button").await?,
        "no uploader before signing in"
    );
    assert!(!page.has("connect-button").await?);
    page.screenshot_at("sign-in", "[data-testid=sign-in]")
        .await?;

    page.sign_in("not the password at all").await?;
    page.wait_for_testid("sign-in-error").await?;
    assert_eq!(
        page.text_of("sign-in-error").await?,
        "That password is not right."
    );
    assert!(page.cookie(protocol::wire::SESSION_COOKIE).await?.is_none());
    page.screenshot_at("sign-in-refused", "[data-testid=sign-in]")
        .await?;

    page.sign_in(PASSWORD).await?;
    page.wait_for_testid("connect-button").await?;
    assert!(
        page.has("sign-out").await?,
        "a signed-in page offers to sign out"
    );
    let cookie = page
        .cookie(protocol::wire::SESSION_COOKIE)
        .await?
        .expect("the session cookie");
    assert_eq!(cookie.http_only(), Some(true), "{cookie}");
    assert_eq!(
        cookie.same_site().map(|s| s.to_string()).as_deref(),
        Some("Strict"),
        "{cookie}"
    );
    assert!(
        !page
            .script_cookies()
            .await?
            .contains(protocol::wire::SESSION_COOKIE),
        "the page's scripts cannot read the session"
    );

    // Signed in, the operator connects TikTok (a POST from the page) and posts.
    page.click("connect-button").await?;
    page.wait_for_testid("disconnect-button").await?;
    let account = page.text_of("account").await?;
    assert!(account.starts_with("Posting as Sim Creator"), "{account}");
    page.choose_file(&files::clip_mp4()).await?;
    page.choose_privacy("Only me").await?;
    page.post().await?;
    let (status, text) = page.final_status().await?;
    assert_eq!(status, "PUBLISH_COMPLETE", "{text}");
    assert_eq!(
        harness.sim.uploads()[0].sha256.as_deref(),
        Some(files::sha256(&files::clip_mp4())?.as_str())
    );

    // Signing out ends the session; a reload asks for the password again.
    page.click("sign-out").await?;
    page.wait_for_testid("sign-in").await?;
    page.open_sign_in().await?;
    assert!(!page.has("post-button").await?);
    harness.stop().await
}
