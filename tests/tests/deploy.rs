//! Proven the way it will run (issue 12): the proxy behind nginx terminating TLS, configured
//! with docs/deploy/nginx.conf — the file docs/DEPLOY.md installs — and a certificate made at
//! start. Chromium reaches it by a DNS name (`poster.test`, resolved to 127.0.0.1 by Chromium
//! itself), connects TikTok (the simulator) in web mode with an https redirect URI, and posts a
//! video that travels through nginx chunk by chunk (the relay), byte-exact.

use anyhow::{Context, Result};
use std::net::SocketAddr;
use tests::{Harness, files};

/// The name the deploy runs under: a real DNS name (not an address, not `localhost`), so the
/// proxy's host check and web-mode OAuth work as on a server.
const NAME: &str = "poster.test";

/// A client for calls through nginx the way a script makes them: `NAME` resolves to nginx on
/// 127.0.0.1, and the test's self-signed certificate is accepted.
fn client(harness: &Harness) -> Result<reqwest::Client> {
    let nginx = harness.nginx.as_ref().context("started behind nginx")?;
    Ok(reqwest::Client::builder()
        .resolve(NAME, SocketAddr::from(([127, 0, 0, 1], nginx.https_port)))
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()?)
}

#[test]
fn deploy_md_shows_the_nginx_config_the_tests_run() {
    let deploy = include_str!("../../docs/DEPLOY.md");
    assert!(
        deploy.contains(&format!("```nginx\n{}```", tests::nginx::SITE_CONFIG)),
        "docs/DEPLOY.md must show docs/deploy/nginx.conf verbatim"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn connects_and_posts_through_nginx_over_tls() -> Result<()> {
    let mut options = Harness::quick_sim();
    // TikTok's upload host refuses the browser (CORS), so every chunk takes the relay: through
    // nginx (request body streamed, bigger than nginx's default limit) to the proxy.
    options.cors = false;
    let harness = Harness::start_behind_nginx(options, NAME).await?;
    assert!(
        harness.url.starts_with("https://poster.test:"),
        "{}",
        harness.url
    );
    let page = &harness.page;

    page.open_and_sign_in(tests::OPERATOR_PASSWORD).await?;

    page.click("connect-button").await?;
    page.wait_for_testid("disconnect-button").await?;
    assert_eq!(harness.sim.token_calls(), 1, "one code exchange");
    let account = page.text_of("account").await?;
    assert!(account.starts_with("Posting as Sim Creator"), "{account}");

    let dir = tempfile::tempdir()?;
    let size = 24_000_000;
    let video = files::large_mp4(dir.path(), "from-the-server.mp4", size)?;
    page.choose_file(&video).await?;
    page.choose_privacy("Only me").await?;
    page.post().await?;
    let (status, text) = page.final_status().await?;
    assert_eq!(status, "PUBLISH_COMPLETE", "{text}");
    page.screenshot("behind-nginx").await?;

    let upload = &harness.sim.uploads()[0];
    let plan = protocol::ChunkPlan::new(size)?;
    assert_eq!(upload.chunks_accepted, plan.chunks().collect::<Vec<_>>());
    assert_eq!(
        upload.sha256.as_deref(),
        Some(files::sha256(&video)?.as_str()),
        "byte-exact through nginx and the relay"
    );
    let nginx = harness.nginx.as_ref().context("behind nginx")?;
    let relayed = nginx
        .access_log()
        .lines()
        .filter(|line| line.contains("\"PUT /api/posts/") && line.contains("/chunk HTTP/"))
        .count();
    assert!(
        relayed >= plan.chunks().count(),
        "every chunk went through nginx:\n{}",
        nginx.access_log()
    );

    {
        // The browser keeps the session cookie Secure: the proxy believed nginx's
        // X-Forwarded-Proto (from loopback), and the browser only sends it back over https.
        let cookies = page.cookies().await?;
        let session = cookies
            .iter()
            .find(|cookie| cookie.name() == protocol::wire::SESSION_COOKIE)
            .with_context(|| format!("no session cookie in {cookies:?}"))?;
        assert_eq!(session.secure(), Some(true), "{session:?}");
        assert_eq!(session.http_only(), Some(true), "{session:?}");
        assert!(
            session
                .same_site()
                .is_some_and(|same_site| same_site.is_strict()),
            "{session:?}"
        );
    }
    harness.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn nginx_serves_only_its_name_and_only_over_tls() -> Result<()> {
    let harness = Harness::start_behind_nginx(Harness::quick_sim(), NAME).await?;
    let nginx = harness.nginx.as_ref().context("behind nginx")?;
    let client = client(&harness)?;

    // The page, over TLS, by its name.
    let page = client.get(format!("{}/", harness.url)).send().await?;
    assert_eq!(page.status(), 200);
    assert!(page.text().await?.contains("data-tiktok-autoposter"));

    // Plain http only redirects to https.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .get(format!("http://127.0.0.1:{}/api/posts", nginx.http_port))
        .header("host", NAME)
        .send()
        .await?;
    assert_eq!(plain.status(), 301);
    assert_eq!(
        plain.headers()["location"],
        "https://poster.test/api/posts",
        "to the same path, over https"
    );

    // By address (no name in the TLS handshake), nginx presents no certificate at all.
    let by_address = client
        .get(format!("https://127.0.0.1:{}/", nginx.https_port))
        .send()
        .await;
    assert!(by_address.is_err(), "{by_address:?}");

    // Another name inside a TLS connection made for ours gets nothing either.
    let other_name = client
        .get(format!("{}/", harness.url))
        .header("host", "evil.example")
        .send()
        .await;
    assert!(
        other_name.is_err() || other_name.as_ref().is_ok_and(|r| r.status() != 200),
        "{other_name:?}"
    );
    assert!(harness.sim.requests().is_empty(), "nothing went to TikTok");
    harness.stop().await
}

/// Every `/api/*` and `/auth/*` route (proxy/src/routes.rs), with a body where it takes one:
/// without a session, an API token or an embed credential, each is refused before routing.
const GUARDED_ROUTES: &[(&str, &str)] = &[
    ("GET", "/api/health"),
    ("GET", "/api/connection"),
    ("GET", "/api/creator"),
    ("GET", "/api/posts"),
    ("GET", "/api/posts?limit=10"),
    ("POST", "/api/posts"),
    ("GET", "/api/posts/v_pub_file~v2-1.7434256189712345678"),
    (
        "PUT",
        "/api/posts/v_pub_file~v2-1.7434256189712345678/chunk",
    ),
    (
        "POST",
        "/api/posts/v_pub_file~v2-1.7434256189712345678/events",
    ),
    ("POST", "/auth/login"),
    ("GET", "/auth/login"),
    ("POST", "/auth/logout"),
    // Unknown routes and wrong methods are refused before anyone learns they are unknown.
    ("GET", "/api/nothing-here"),
    ("DELETE", "/api/posts"),
    ("PATCH", "/api/connection"),
];

#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_caller_through_nginx_is_refused_on_every_route() -> Result<()> {
    use protocol::wire::{Access, SESSION_COOKIE};
    let harness = Harness::start_behind_nginx(Harness::quick_sim(), NAME).await?;
    let client = client(&harness)?;

    for &(method, path) in GUARDED_ROUTES {
        let request = client
            .request(method.parse()?, format!("{}{path}", harness.url))
            .header("content-type", "application/json");
        let request = match (method, path.ends_with("/chunk")) {
            ("PUT", true) => request
                .header("content-type", "video/mp4")
                .header("content-range", "bytes 0-9/10")
                .body(vec![0u8; 10]),
            ("POST", _) => request.body("{}"),
            _ => request,
        };
        let response = request.send().await?;
        let status = response.status();
        let body: serde_json::Value =
            serde_json::from_str(&response.text().await?).unwrap_or_default();
        assert_eq!(status, 401, "{method} {path}: {body}");
        assert_eq!(body["error"]["code"], "sign_in_required", "{method} {path}");
    }

    // Anyone may ask what access they have: a sign-in is required, and they are not signed in.
    let access: Access = serde_json::from_str(
        &client
            .get(format!("{}/api/session", harness.url))
            .send()
            .await?
            .text()
            .await?,
    )?;
    assert!(access.sign_in_required && access.password_sign_in && !access.operator);

    // A wrong password is refused; the right one sets a Secure session cookie through nginx.
    let sign_in = |password: &str| {
        client
            .post(format!("{}/auth/session", harness.url))
            .header("content-type", "application/json")
            .body(serde_json::json!({ "password": password }).to_string())
            .send()
    };
    let wrong = sign_in("not the password").await?;
    assert_eq!(wrong.status(), 401);
    let signed_in = sign_in(tests::OPERATOR_PASSWORD).await?;
    assert_eq!(signed_in.status(), 204);
    let cookie = signed_in
        .headers()
        .get("set-cookie")
        .context("a session cookie")?
        .to_str()?
        .to_owned();
    assert!(
        cookie.starts_with(&format!("{SESSION_COOKIE}=")),
        "{cookie}"
    );
    for flag in ["; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    let session = cookie.split(';').next().unwrap_or_default().to_owned();
    let access: Access = serde_json::from_str(
        &client
            .get(format!("{}/api/session", harness.url))
            .header("cookie", &session)
            .send()
            .await?
            .text()
            .await?,
    )?;
    assert!(access.operator, "the cookie makes the operator");

    assert!(harness.sim.requests().is_empty(), "nothing went to TikTok");
    assert!(harness.log()?.is_empty(), "nothing was logged");
    harness.stop().await
}
