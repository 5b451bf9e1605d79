//! "Stay connected": the proxy connecting TikTok with a click (Login Kit against the sim's
//! stand-in consent page), refreshing its own tokens (single-flight, strictly rotating,
//! retried through passing trouble), and disconnecting — all over real HTTP on loopback,
//! following redirects by hand.

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use protocol::ErrorCode;
use protocol::oauth::{self, RECONNECT_MESSAGE};
use protocol::tiktok::paths;
use protocol::wire::Connection;
use proxy::{Config, OAuthConfig, STATE_COOKIE, Secret};
use serde_json::{Value, json};
use sim::{Endpoint, Fault, RateLimits, SimOptions};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Proxy, Reply, mp4_video, spawn_proxy, upload, video_bytes};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The sim for these tests: quick processing, no rate limits (twenty calls at once), and
/// issued access tokens living `ttl`.
fn sim_with_ttl(ttl: Duration) -> SimOptions {
    SimOptions {
        processing_delay: Duration::from_millis(100),
        rate_limits: RateLimits::off(),
        access_token_ttl: ttl,
        ..SimOptions::default()
    }
}

/// Long enough that only a test's own doing expires a token.
const LONG: Duration = Duration::from_secs(3600);

/// Access tokens a test outlives on purpose. The proxy refreshes one 10 % before it expires
/// (at 4.5 s), so a test that counts refreshes has seconds, not milliseconds, for the work on
/// either side of the refresh: enough for a loaded two-core machine.
const SHORT: Duration = Duration::from_secs(5);

/// Sleeps until a token issued before `issued` (with a [`SHORT`] life) has expired at TikTok.
async fn until_expired(issued: Instant) {
    tokio::time::sleep_until((issued + SHORT + Duration::from_millis(100)).into()).await;
}

/// A sim and a proxy with Login Kit pointed at it (desktop mode, redirect to the proxy's own
/// `/auth/callback`), keeping its tokens in `dir`. Retries wait milliseconds, not seconds.
async fn spawn_oauth_in(
    dir: tempfile::TempDir,
    options: SimOptions,
    tweak: impl FnOnce(&sim::Sim, &mut Config),
) -> Proxy {
    let sim = sim::spawn(options).await.expect("the simulator starts");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let log_path = dir.path().join("posts.jsonl");
    let oauth = OAuthConfig {
        redirect_uri: format!("{base_url}/auth/callback"),
        auth_base: sim.base_url(),
        token_file: dir.path().join("tokens.json"),
        retry_delays: vec![Duration::from_millis(10), Duration::from_millis(20)],
        ..OAuthConfig::new(sim.client_key(), Secret::new(sim.client_secret()))
    };
    let mut config = Config {
        api_base: sim.base_url(),
        oauth: Some(oauth),
        log_path: log_path.clone(),
        upstream_timeout: Duration::from_secs(2),
        status_cache_ttl: Duration::from_millis(10),
        operator: proxy::OperatorConfig {
            api_tokens_file: dir.path().join("api-tokens.json"),
            ..proxy::OperatorConfig::default()
        },
        ..Config::default()
    };
    tweak(&sim, &mut config);
    let (shutdown, stop) = oneshot::channel::<()>();
    let task = tokio::spawn(proxy::run(listener, config, async {
        let _ = stop.await;
    }));
    Proxy {
        sim,
        base_url,
        log_path,
        client: reqwest::Client::new(),
        shutdown: Some(shutdown),
        task,
        _dir: dir,
    }
}

async fn spawn_oauth(options: SimOptions) -> Proxy {
    spawn_oauth_in(tempfile::tempdir().unwrap(), options, |_, _| {}).await
}

fn token_file(proxy: &Proxy) -> PathBuf {
    proxy.log_path.with_file_name("tokens.json")
}

fn stored(proxy: &Proxy) -> Value {
    serde_json::from_slice(&std::fs::read(token_file(proxy)).expect("a token file")).unwrap()
}

/// A client that sends an operator API token with every request.
fn bearer(token: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn send(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_owned()))
        .collect();
    let body = response.text().await.unwrap();
    Reply {
        status,
        headers,
        body,
    }
}

/// The steps of one connect, as a browser would take them.
struct Steps {
    /// `/auth/login`'s answer.
    login: Reply,
    /// The `state` cookie's value.
    cookie: String,
    /// Where the sim's consent page sent the browser: the proxy's callback with the query.
    callback_url: String,
}

/// `POST /auth/login` from the page's script, as `http` (which may carry a credential).
async fn start_login(proxy: &Proxy, http: &reqwest::Client) -> Reply {
    send(
        http.post(proxy.url("/auth/login"))
            .header("content-type", "application/json")
            .body("{}"),
    )
    .await
}

/// Where a login's answer sends the browser: TikTok's authorize page.
fn authorize_url(login: &Reply) -> String {
    login.json()["authorize_url"]
        .as_str()
        .expect("an authorize_url")
        .to_owned()
}

/// `/auth/login`, then TikTok's (the sim's) page; stops before the callback.
async fn begin(proxy: &Proxy) -> Steps {
    let http = no_redirects();
    let login = start_login(proxy, &http).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let set_cookie = login
        .header("set-cookie")
        .expect("a state cookie")
        .to_owned();
    let cookie = set_cookie
        .split(';')
        .next()
        .and_then(|pair| pair.strip_prefix(&format!("{STATE_COOKIE}=")))
        .expect("the state cookie")
        .to_owned();
    let authorize = authorize_url(&login);
    assert_eq!(query_of(&authorize)["disable_auto_auth"], "1");
    let consent = send(http.get(&authorize)).await;
    assert_eq!(consent.status, 302, "{}", consent.body);
    let callback_url = consent.header("location").unwrap().to_owned();
    assert!(
        callback_url.starts_with(&proxy.url("/auth/callback?")),
        "{callback_url}"
    );
    Steps {
        login,
        cookie,
        callback_url,
    }
}

/// The callback with `cookie`; returns where the proxy sent the browser.
async fn finish(url: &str, cookie: Option<&str>) -> (Reply, String) {
    let mut request = no_redirects().get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", format!("{STATE_COOKIE}={cookie}"));
    }
    let reply = send(request).await;
    assert_eq!(reply.status, 303, "{}", reply.body);
    let location = reply.header("location").unwrap().to_owned();
    (reply, location)
}

/// A whole connect that must succeed.
async fn connect(proxy: &Proxy) {
    let steps = begin(proxy).await;
    let (_, location) = finish(&steps.callback_url, Some(&steps.cookie)).await;
    assert_eq!(location, "/");
}

/// The `connect_error` of a redirect to `/?connect_error=…`.
fn connect_error(location: &str) -> String {
    let query = location
        .strip_prefix("/?")
        .unwrap_or_else(|| panic!("{location}"));
    let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    params["connect_error"].clone()
}

fn query_of(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map_or("", |(_, query)| query);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

async fn connection(proxy: &Proxy) -> Connection {
    let reply = proxy.get("/api/connection").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    serde_json::from_str(&reply.body).unwrap()
}

fn check_error(what: &str, reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    assert_eq!(reply.error().error.code, code, "{what}: {}", reply.body);
}

/// The bearer tokens the sim's API endpoints received, in order, with their answers.
fn api_calls(proxy: &Proxy, path: &str) -> Vec<(String, u16)> {
    proxy
        .sim
        .requests()
        .into_iter()
        .filter(|request| request.path == path)
        .map(|request| {
            let bearer = request.header("authorization").unwrap_or("").to_owned();
            (bearer, request.status)
        })
        .collect()
}

fn inbox_post(video_size: u64) -> Value {
    json!({"mode": "inbox", "video_size": video_size, "content_type": "video/mp4"})
}

fn direct_post(video_size: u64) -> Value {
    json!({
        "mode": "direct",
        "video_size": video_size,
        "content_type": "video/mp4",
        "post_info": {"privacy_level": "SELF_ONLY"},
    })
}

#[tokio::test]
async fn connect_end_to_end_with_pkce() {
    let proxy = spawn_oauth(sim_with_ttl(LONG)).await;
    let before = connection(&proxy).await;
    assert!(!before.connected);
    assert_eq!(before.login_url.as_deref(), Some("/auth/login"));
    assert_eq!(before.message.as_deref(), Some(oauth::CONNECT_MESSAGE));
    check_error(
        "before",
        &proxy.get("/api/creator").await,
        503,
        "not_connected",
    );
    assert!(
        !proxy.get("/api/health").await.json()["connected"]
            .as_bool()
            .unwrap()
    );

    let steps = begin(&proxy).await;
    let set_cookie = steps.login.header("set-cookie").unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/auth", "Max-Age=600"] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    let authorize = query_of(&authorize_url(&steps.login));
    assert_eq!(authorize["client_key"], proxy.sim.client_key());
    assert_eq!(
        authorize["scope"],
        "user.info.basic,video.publish,video.upload"
    );
    assert_eq!(authorize["response_type"], "code");
    assert_eq!(authorize["code_challenge_method"], "S256");
    assert_eq!(authorize["state"], steps.cookie);
    assert_eq!(authorize["state"].len(), 64, "256 bits of state");
    assert_eq!(authorize["redirect_uri"], proxy.url("/auth/callback"));
    let challenge = authorize["code_challenge"].clone();

    let (_, location) = finish(&steps.callback_url, Some(&steps.cookie)).await;
    assert_eq!(location, "/");

    // The exchange was the documented form, and its verifier hashes (hex) to the challenge.
    let exchange = proxy
        .sim
        .requests()
        .into_iter()
        .find(|request| request.path == paths::OAUTH_TOKEN)
        .unwrap();
    assert_eq!(exchange.status, 200);
    assert_eq!(
        exchange.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(exchange.header("cache-control"), Some("no-cache"));
    let form: HashMap<String, String> = form_urlencoded::parse(&exchange.body.unwrap())
        .into_owned()
        .collect();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["redirect_uri"], proxy.url("/auth/callback"));
    assert_eq!(oauth::code_challenge(&form["code_verifier"]), challenge);

    let after = connection(&proxy).await;
    assert!(
        after.connected && after.can_direct && after.can_inbox,
        "{after:?}"
    );
    assert_eq!(after.scopes, oauth::REQUESTED_SCOPES);
    assert_eq!(after.open_id.as_deref(), Some("sim-open-id-0001"));
    assert_eq!(after.message, None);
    let creator = proxy.get("/api/creator").await;
    assert_eq!(creator.status, 200, "{}", creator.body);
    assert!(
        proxy.get("/api/health").await.json()["connected"]
            .as_bool()
            .unwrap()
    );

    let file = stored(&proxy);
    assert!(file["refresh_token"].as_str().unwrap().starts_with("rft."));
    assert_eq!(file["open_id"], "sim-open-id-0001");
    assert!(
        file["access_expires_at_ms"].as_u64().unwrap()
            > file["access_issued_at_ms"].as_u64().unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(token_file(&proxy))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The access token TikTok issued is the one the API call carried.
    let calls = api_calls(&proxy, paths::CREATOR_INFO);
    assert_eq!(
        calls,
        [(
            format!("Bearer {}", file["access_token"].as_str().unwrap()),
            200
        )]
    );
}

#[tokio::test]
async fn a_bad_missing_or_reused_state_is_refused() {
    let proxy = spawn_oauth(sim_with_ttl(LONG)).await;
    let steps = begin(&proxy).await;
    let state = query_of(&steps.callback_url)["state"].clone();

    // No cookie, a cookie from another login, no state at all, a state we never issued.
    let (_, location) = finish(&steps.callback_url, None).await;
    assert!(
        connect_error(&location).contains("could not be matched"),
        "{location}"
    );
    let (_, location) = finish(&steps.callback_url, Some(&"0".repeat(64))).await;
    assert!(connect_error(&location).contains("could not be matched"));
    let no_state = steps.callback_url.replace(&format!("state={state}"), "");
    let (_, location) = finish(&no_state, Some(&steps.cookie)).await;
    assert!(connect_error(&location).contains("could not be matched"));
    let forged = "f".repeat(64);
    let forged_url = steps.callback_url.replace(&state, &forged);
    let (_, location) = finish(&forged_url, Some(&forged)).await;
    assert!(
        connect_error(&location).contains("expired or was already used"),
        "{location}"
    );

    // None of those used the login up: the real one still works, once.
    let (reply, location) = finish(&steps.callback_url, Some(&steps.cookie)).await;
    assert_eq!(location, "/");
    assert!(reply.header("set-cookie").unwrap().contains("Max-Age=0"));
    let (_, location) = finish(&steps.callback_url, Some(&steps.cookie)).await;
    assert!(connect_error(&location).contains("expired or was already used"));
    assert_eq!(
        proxy.sim.token_calls(),
        1,
        "refused callbacks never reach TikTok"
    );
}

#[tokio::test]
async fn a_denied_consent_comes_back_readable() {
    let proxy = spawn_oauth(SimOptions {
        grant_scopes: Some(Vec::new()),
        ..sim_with_ttl(LONG)
    })
    .await;
    let steps = begin(&proxy).await;
    let (_, location) = finish(&steps.callback_url, Some(&steps.cookie)).await;
    let reason = connect_error(&location);
    assert!(reason.starts_with("You did not allow the app"), "{reason}");
    assert!(!connection(&proxy).await.connected);
    assert_eq!(proxy.sim.token_calls(), 0);
}

#[tokio::test]
async fn granted_scopes_decide_what_may_be_posted() {
    let proxy = spawn_oauth(SimOptions {
        grant_scopes: Some(vec!["user.info.basic".into(), "video.upload".into()]),
        ..sim_with_ttl(LONG)
    })
    .await;
    connect(&proxy).await;
    let state = connection(&proxy).await;
    assert!(
        state.connected && !state.can_direct && state.can_inbox,
        "{state:?}"
    );
    assert!(state.message.unwrap().contains("only drafts"));

    let refused = proxy.post_json("/api/posts", &direct_post(1000)).await;
    check_error(
        "direct without video.publish",
        &refused,
        403,
        "scope_not_granted",
    );
    assert!(refused.error().error.message.contains("video.publish"));
    assert!(
        api_calls(&proxy, paths::VIDEO_INIT).is_empty(),
        "TikTok was not asked"
    );
    let created = proxy.post_json("/api/posts", &inbox_post(1000)).await;
    assert_eq!(created.status, 201, "{}", created.body);
}

#[tokio::test]
async fn an_expiry_during_an_upload_is_refreshed_and_nothing_fails() {
    let proxy = spawn_oauth(sim_with_ttl(SHORT)).await;
    connect(&proxy).await;
    let issued = Instant::now();
    let first_refresh_token = stored(&proxy)["refresh_token"].clone();
    let created = proxy.create(&direct_post(1000)).await;
    let video = video_bytes(1000);
    assert_eq!(upload(&created, &video, "video/mp4").await, [201]);
    // The access token expires between init and status.
    until_expired(issued).await;
    let state = proxy.poll_until_final(&created.publish_id).await;
    assert_eq!(state["status"], "PUBLISH_COMPLETE", "{state}");
    assert_eq!(proxy.sim.token_calls(), 2, "the exchange and one refresh");
    let rotated = stored(&proxy)["refresh_token"].clone();
    assert_ne!(
        rotated, first_refresh_token,
        "the rotated refresh token was saved"
    );
    assert!(
        api_calls(&proxy, paths::STATUS_FETCH)
            .iter()
            .all(|(_, status)| *status == 200),
        "no call was made with a dead token"
    );
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once_and_the_call_retried() {
    let proxy = spawn_oauth(sim_with_ttl(LONG)).await;
    connect(&proxy).await;
    // TikTok invalidates the token early, whatever expires_in said.
    proxy.sim.expire_access_tokens();
    let reply = proxy.get("/api/creator").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let calls = api_calls(&proxy, paths::CREATOR_INFO);
    assert_eq!(
        calls.iter().map(|(_, s)| *s).collect::<Vec<_>>(),
        [401, 200]
    );
    assert_ne!(calls[0].0, calls[1].0);
    assert_eq!(proxy.sim.token_calls(), 2);
}

#[tokio::test]
async fn twenty_concurrent_calls_at_expiry_make_exactly_one_refresh() {
    let proxy = Arc::new(spawn_oauth(sim_with_ttl(SHORT)).await);
    connect(&proxy).await;
    until_expired(Instant::now()).await;
    let burst = |proxy: Arc<Proxy>| async move {
        let calls: Vec<_> = (0..20)
            .map(|_| {
                let proxy = proxy.clone();
                tokio::spawn(async move { proxy.get("/api/creator").await.status })
            })
            .collect();
        for call in calls {
            assert_eq!(call.await.unwrap(), 200);
        }
    };
    burst(proxy.clone()).await;
    assert_eq!(
        proxy.sim.token_calls(),
        2,
        "the exchange and exactly one refresh"
    );

    // The same when TikTok rejects the token: twenty 401s, one refresh.
    proxy.sim.expire_access_tokens();
    burst(proxy.clone()).await;
    assert_eq!(proxy.sim.token_calls(), 3);
}

#[tokio::test]
async fn invalid_grant_disconnects_with_a_clear_message() {
    let proxy = spawn_oauth(sim_with_ttl(LONG)).await;
    connect(&proxy).await;
    let before = std::fs::read(token_file(&proxy)).unwrap();
    proxy.sim.script(Fault::ApiError {
        endpoint: Endpoint::OAuthToken,
        code: ErrorCode::parse("invalid_grant"),
        http_status: 200,
        times: 1,
    });
    proxy.sim.expire_access_tokens();
    let reply = proxy.get("/api/creator").await;
    check_error("dead refresh token", &reply, 401, "reconnect_required");
    assert!(reply.error().error.message.contains("Click Connect TikTok"));
    assert_eq!(proxy.sim.token_calls(), 2, "invalid_grant is not retried");

    let state = connection(&proxy).await;
    assert!(!state.connected);
    assert_eq!(state.message.as_deref(), Some(RECONNECT_MESSAGE));
    assert_eq!(state.login_url.as_deref(), Some("/auth/login"));
    check_error(
        "after",
        &proxy.get("/api/creator").await,
        401,
        "reconnect_required",
    );
    assert!(
        !proxy.get("/api/health").await.json()["connected"]
            .as_bool()
            .unwrap()
    );
    assert_eq!(
        proxy.sim.token_calls(),
        2,
        "no more calls once disconnected"
    );
    assert_eq!(std::fs::read(token_file(&proxy)).unwrap(), before);

    // Connecting again brings it back.
    connect(&proxy).await;
    assert!(connection(&proxy).await.connected);
    assert_eq!(proxy.get("/api/creator").await.status, 200);
}

#[tokio::test]
async fn temporary_failures_are_retried_and_never_wipe_the_tokens() {
    let proxy = spawn_oauth_in(
        tempfile::tempdir().unwrap(),
        sim_with_ttl(LONG),
        |_, config| {
            config.upstream_timeout = Duration::from_millis(500);
        },
    )
    .await;
    connect(&proxy).await;
    let stored_before = std::fs::read(token_file(&proxy)).unwrap();

    // A 503, a server_error with HTTP 200, then a hang past the timeout: three tries fail and
    // the last one works.
    proxy.sim.script(Fault::ApiError {
        endpoint: Endpoint::OAuthToken,
        code: ErrorCode::parse("temporarily_unavailable"),
        http_status: 503,
        times: 1,
    });
    proxy.sim.script(Fault::Hang {
        endpoint: Endpoint::OAuthToken,
        duration: Duration::from_secs(2),
        times: 1,
    });
    proxy.sim.expire_access_tokens();
    let reply = proxy.get("/api/creator").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(proxy.sim.token_calls(), 1 + 3);
    assert!(proxy.sim.pending_faults().is_empty());

    // More failures than tries: the call fails, the tokens stay, the next call succeeds.
    let stored_now = std::fs::read(token_file(&proxy)).unwrap();
    assert_ne!(stored_now, stored_before);
    proxy.sim.script(Fault::ApiError {
        endpoint: Endpoint::OAuthToken,
        code: ErrorCode::parse("server_error"),
        http_status: 200,
        times: 3,
    });
    proxy.sim.expire_access_tokens();
    let reply = proxy.get("/api/creator").await;
    check_error("out of tries", &reply, 502, "tiktok_unreachable");
    assert_eq!(std::fs::read(token_file(&proxy)).unwrap(), stored_now);
    let state = connection(&proxy).await;
    assert!(state.connected, "{state:?}");
    assert_eq!(proxy.get("/api/creator").await.status, 200);
}

#[tokio::test]
async fn a_seeded_refresh_token_is_used_only_without_a_token_file() {
    let seeded = spawn_oauth_in(
        tempfile::tempdir().unwrap(),
        sim_with_ttl(LONG),
        |sim, config| {
            let seed = sim.issue_tokens(&oauth::REQUESTED_SCOPES).refresh_token;
            config.oauth.as_mut().unwrap().refresh_token = Some(Secret::new(seed));
        },
    )
    .await;
    assert!(connection(&seeded).await.connected);
    assert_eq!(seeded.get("/api/creator").await.status, 200);
    assert_eq!(seeded.sim.token_calls(), 1, "one refresh of the seed");
    let file = stored(&seeded);
    assert_eq!(file["scope"], Value::Null);
    assert_eq!(file["scopes"], json!(oauth::REQUESTED_SCOPES));

    // With a token file in place, the seed is ignored.
    let dir = tempfile::tempdir().unwrap();
    let file_path = dir.path().join("tokens.json");
    let proxy = spawn_oauth_in(dir, sim_with_ttl(LONG), |sim, config| {
        let held = sim.issue_tokens(&oauth::REQUESTED_SCOPES);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let file = json!({
            "access_token": held.access_token,
            "access_issued_at_ms": now,
            "access_expires_at_ms": now + held.expires_in * 1000,
            "refresh_token": held.refresh_token,
            "refresh_expires_at_ms": now + held.refresh_expires_in * 1000,
            "open_id": held.open_id,
            "scopes": ["video.publish"],
        });
        std::fs::write(&file_path, file.to_string()).unwrap();
        let seed = sim.issue_tokens(&oauth::REQUESTED_SCOPES).refresh_token;
        config.oauth.as_mut().unwrap().refresh_token = Some(Secret::new(seed));
    })
    .await;
    let held = stored(&proxy)["access_token"].as_str().unwrap().to_owned();
    assert_eq!(proxy.get("/api/creator").await.status, 200);
    assert_eq!(proxy.sim.token_calls(), 0);
    assert_eq!(
        api_calls(&proxy, paths::CREATOR_INFO),
        [(format!("Bearer {held}"), 200)]
    );
    assert!(
        !connection(&proxy).await.can_inbox,
        "scopes come from the file"
    );

    // An unreadable token file stops the start rather than being overwritten.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tokens.json"), "{\"access_tok").unwrap();
    let broken = spawn_oauth_in(dir, sim_with_ttl(LONG), |_, _| {}).await;
    let error = broken.task.await.unwrap().expect_err("a torn token file");
    assert!(format!("{error:#}").contains("cannot be read"), "{error:#}");
}

#[tokio::test]
async fn logout_revokes_and_deletes_and_refuses_cross_site_requests() {
    let proxy = spawn_oauth(sim_with_ttl(LONG)).await;
    connect(&proxy).await;
    let access_token = stored(&proxy)["access_token"].as_str().unwrap().to_owned();
    let logout = |headers: &[(&str, &str)]| {
        let mut request = proxy.client.post(proxy.url("/auth/logout"));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        proxy.send(request)
    };
    // Another site is refused before routing (`origin_not_allowed`); a same-site request that
    // is not the page's own script, by the logout route itself (`cross_site_refused`).
    for (what, headers, code) in [
        (
            "a plain form post",
            vec![("content-type", "application/x-www-form-urlencoded")],
            "cross_site_refused",
        ),
        (
            "another origin",
            vec![
                ("content-type", "application/json"),
                ("origin", "https://evil.example"),
            ],
            "origin_not_allowed",
        ),
        (
            "cross-site",
            vec![
                ("x-requested-with", "fetch"),
                ("sec-fetch-site", "cross-site"),
            ],
            "origin_not_allowed",
        ),
    ] {
        check_error(what, &logout(&headers).await, 403, code);
    }
    check_error(
        "GET",
        &proxy.get("/auth/logout").await,
        405,
        "method_not_allowed",
    );
    assert!(token_file(&proxy).exists());

    let reply = logout(&[
        ("content-type", "application/json"),
        ("origin", &proxy.base_url),
    ])
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["revoked"], true);
    // Issue 12: the person disconnected, not TikTok, and the page says so.
    let message = reply.json()["message"].as_str().unwrap().to_owned();
    assert!(message.starts_with("You disconnected TikTok."), "{message}");
    assert!(!token_file(&proxy).exists());
    let revoke = proxy
        .sim
        .requests()
        .into_iter()
        .find(|request| request.path == paths::OAUTH_REVOKE)
        .unwrap();
    let form: HashMap<String, String> = form_urlencoded::parse(&revoke.body.unwrap())
        .into_owned()
        .collect();
    assert_eq!(form["token"], access_token);
    // TikTok no longer takes the token, and the proxy no longer has one.
    let direct = proxy
        .client
        .post(format!("{}{}", proxy.sim.base_url(), paths::CREATOR_INFO))
        .bearer_auth(&access_token)
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status().as_u16(), 401);
    check_error(
        "after logout",
        &proxy.get("/api/creator").await,
        503,
        "not_connected",
    );
    assert!(!connection(&proxy).await.connected);

    // When TikTok cannot be told, the tokens are deleted anyway and the page is told so.
    connect(&proxy).await;
    proxy.sim.script(Fault::ApiError {
        endpoint: Endpoint::OAuthRevoke,
        code: ErrorCode::parse("server_error"),
        http_status: 500,
        times: 1,
    });
    let reply = logout(&[("x-requested-with", "fetch")]).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["revoked"], false);
    assert!(
        reply.json()["message"]
            .as_str()
            .unwrap()
            .contains("could not be told")
    );
    assert!(!token_file(&proxy).exists());
}

#[tokio::test]
async fn a_static_token_works_as_before_and_login_needs_credentials() {
    let proxy = spawn_proxy(|_| {}).await;
    let state = connection(&proxy).await;
    assert_eq!(
        state,
        Connection {
            connected: true,
            open_id: None,
            scopes: Vec::new(),
            can_direct: true,
            can_inbox: true,
            login_url: None,
            message: None,
        }
    );
    assert_eq!(proxy.get("/api/creator").await.status, 200);
    check_error(
        "/auth/login",
        &start_login(&proxy, &proxy.client).await,
        404,
        "oauth_not_configured",
    );
    let path = "/auth/callback?code=x&state=y";
    check_error(path, &proxy.get(path).await, 404, "oauth_not_configured");
    check_error(
        "GET /auth/login",
        &proxy.get("/auth/login").await,
        405,
        "method_not_allowed",
    );
    let reply = proxy
        .send(
            proxy
                .client
                .post(proxy.url("/auth/logout"))
                .header("x-requested-with", "fetch"),
        )
        .await;
    check_error("logout", &reply, 404, "oauth_not_configured");

    let none = spawn_proxy(|config| config.access_token = None).await;
    let state = connection(&none).await;
    assert!(!state.connected && state.login_url.is_none());
    assert!(state.message.unwrap().contains("TIKTOK_CLIENT_KEY"));
}

#[tokio::test]
async fn web_mode_sends_no_challenge_and_needs_an_https_redirect() {
    let tokens = tempfile::tempdir().unwrap();
    let tokens_file = tokens.path().join("api-tokens.json");
    let (token, _) = proxy::api_tokens::create(&tokens_file, "tests").unwrap();
    let web = spawn_oauth_in(
        tempfile::tempdir().unwrap(),
        sim_with_ttl(LONG),
        |_, config| {
            let oauth = config.oauth.as_mut().unwrap();
            oauth.mode = oauth::OAuthMode::Web;
            oauth.redirect_uri = "https://autoposter.example/auth/callback".into();
            // Reached by a public name: operator access is required.
            config.operator.api_tokens_file = tokens_file.clone();
        },
    )
    .await;
    let login = start_login(&web, &bearer(&token)).await;
    assert_eq!(login.status, 200, "{}", login.body);
    let authorize = query_of(&authorize_url(&login));
    assert!(!authorize.contains_key("code_challenge"));
    assert!(login.header("set-cookie").unwrap().contains("; Secure"));

    let bad = spawn_oauth_in(
        tempfile::tempdir().unwrap(),
        sim_with_ttl(LONG),
        |_, config| {
            config.oauth.as_mut().unwrap().mode = oauth::OAuthMode::Web;
        },
    )
    .await;
    let error = bad
        .task
        .await
        .unwrap()
        .expect_err("an http redirect in web mode");
    assert!(format!("{error:#}").contains("https"), "{error:#}");
}

/// Connects, refreshes (on schedule, after a 401, through failures), loses the grant, fails a
/// callback, reconnects and logs out, with a recognisable client secret — and looks for the
/// secret and every access and refresh token in every answer, the JSONL log and the trace.
#[tokio::test]
async fn the_refresh_token_and_client_secret_appear_nowhere() {
    const CLIENT_SECRET: &str = "cs.SWEEP-4b3a2f1e0d9c";
    let captured = support::capture_tracing();
    let proxy = spawn_oauth(SimOptions {
        client_secret: CLIENT_SECRET.to_owned(),
        ..sim_with_ttl(Duration::from_secs(1))
    })
    .await;
    let mut replies = Vec::new();
    let mut secrets = vec![CLIENT_SECRET.to_owned()];
    let remember = |proxy: &Proxy, secrets: &mut Vec<String>| {
        if let Ok(bytes) = std::fs::read(token_file(proxy)) {
            let file: Value = serde_json::from_slice(&bytes).unwrap();
            for key in ["access_token", "refresh_token"] {
                secrets.push(file[key].as_str().unwrap().to_owned());
            }
        }
    };

    let steps = begin(&proxy).await;
    replies.push(steps.login);
    replies.push(finish(&steps.callback_url, Some(&steps.cookie)).await.0);
    replies.push(finish(&steps.callback_url, Some(&steps.cookie)).await.0);
    remember(&proxy, &mut secrets);
    replies.push(proxy.get("/api/connection").await);
    replies.push(proxy.get("/api/creator").await);
    replies.push(proxy.post_json("/api/posts", &inbox_post(1000)).await);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    replies.push(proxy.get("/api/creator").await);
    remember(&proxy, &mut secrets);
    proxy.sim.expire_access_tokens();
    replies.push(proxy.get("/api/creator").await);
    remember(&proxy, &mut secrets);
    proxy.sim.script(Fault::ApiError {
        endpoint: Endpoint::OAuthToken,
        code: ErrorCode::parse("invalid_client"),
        http_status: 401,
        times: 1,
    });
    proxy.sim.expire_access_tokens();
    replies.push(proxy.get("/api/creator").await);
    proxy.sim.script(Fault::ApiError {
        endpoint: Endpoint::OAuthToken,
        code: ErrorCode::parse("server_error"),
        http_status: 500,
        times: 3,
    });
    replies.push(proxy.get("/api/connection").await);
    proxy.sim.script(Fault::ApiError {
        endpoint: Endpoint::OAuthToken,
        code: ErrorCode::parse("invalid_grant"),
        http_status: 200,
        times: 1,
    });
    replies.push(proxy.get("/api/creator").await);
    replies.push(proxy.get("/api/connection").await);
    replies.push(proxy.post_json("/api/posts", &direct_post(1000)).await);
    let steps = begin(&proxy).await;
    replies.push(finish(&steps.callback_url, Some(&steps.cookie)).await.0);
    remember(&proxy, &mut secrets);
    replies.push(
        proxy
            .send(proxy.client.post(proxy.url("/auth/logout")))
            .await,
    );
    replies.push(
        proxy
            .send(
                proxy
                    .client
                    .post(proxy.url("/auth/logout"))
                    .header("x-requested-with", "fetch"),
            )
            .await,
    );

    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status).collect();
    for expected in [200, 201, 303, 401, 403, 502] {
        assert!(
            statuses.contains(&expected),
            "{expected} not covered: {statuses:?}"
        );
    }
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() >= 7, "{}", secrets.len());
    for reply in &replies {
        let everything = reply.everything();
        for secret in &secrets {
            assert!(!everything.contains(secret.as_str()), "{everything}");
        }
    }
    let log = std::fs::read_to_string(&proxy.log_path).unwrap();
    assert!(!log.is_empty());
    let traced = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(traced.contains("refreshed"), "tracing was captured");
    for secret in &secrets {
        assert!(!log.contains(secret.as_str()), "{log}");
        assert!(!traced.contains(secret.as_str()), "{traced}");
    }
}

/// The hijack of issue 12, tried exactly: on a proxy configured for the network, someone
/// without a session starts a login (refused), then replays `/auth/callback` with a code for
/// their own TikTok account and a state of their own (refused, nothing stored). A login the
/// operator started cannot be finished after they signed out. Only the operator's own login
/// connects.
#[tokio::test]
async fn nobody_without_a_session_can_connect_their_own_account() {
    const PASSWORD: &str = "correct horse battery staple";
    let proxy = spawn_oauth_in(
        tempfile::tempdir().unwrap(),
        sim_with_ttl(LONG),
        |_, config| {
            config.listen = "0.0.0.0:8787".parse().unwrap();
            config.operator.password_hash =
                Some(proxy::PasswordHashConfig::parse(&proxy::hash_password(PASSWORD)).unwrap());
        },
    )
    .await;
    let attacker = no_redirects();
    for login in [
        start_login(&proxy, &attacker).await,
        send(attacker.get(proxy.url("/auth/login"))).await,
    ] {
        check_error("login without a session", &login, 401, "sign_in_required");
        assert!(login.header("set-cookie").is_none());
    }

    // The attacker's own trip through TikTok's consent page, with a state they made up.
    let attackers_state = "a".repeat(64);
    let verifier = oauth::random_token(&[7; 32]);
    let authorize = oauth::authorize_url(
        &proxy.sim.base_url(),
        &oauth::Authorize {
            client_key: proxy.sim.client_key(),
            scopes: &oauth::REQUESTED_SCOPES,
            redirect_uri: &proxy.url("/auth/callback"),
            state: &attackers_state,
            code_challenge: Some(&oauth::code_challenge(&verifier)),
        },
    );
    let consent = send(attacker.get(&authorize)).await;
    let attackers_callback = consent.header("location").unwrap().to_owned();
    assert!(query_of(&attackers_callback).contains_key("code"));
    let (_, location) = finish(&attackers_callback, Some(&attackers_state)).await;
    assert!(
        connect_error(&location).contains("Connect TikTok again"),
        "{location}"
    );
    assert!(!token_file(&proxy).exists(), "nothing was stored");

    // The operator signs in and starts a login, then signs out before TikTok sends them back.
    let sign_in = |http: reqwest::Client| {
        let url = proxy.url("/auth/session");
        async move {
            let reply = send(
                http.post(url)
                    .header("content-type", "application/json")
                    .body(json!({ "password": PASSWORD }).to_string()),
            )
            .await;
            assert_eq!(reply.status, 204, "{}", reply.body);
            reply
                .header("set-cookie")
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .to_owned()
        }
    };
    let operator_login = |session: String| {
        let url = proxy.url("/auth/login");
        async move {
            let login = send(
                no_redirects()
                    .post(url)
                    .header("cookie", session)
                    .header("content-type", "application/json")
                    .body("{}"),
            )
            .await;
            assert_eq!(login.status, 200, "{}", login.body);
            let state_cookie = login
                .header("set-cookie")
                .unwrap()
                .split(';')
                .next()
                .unwrap()
                .strip_prefix(&format!("{STATE_COOKIE}="))
                .unwrap()
                .to_owned();
            let consent = send(no_redirects().get(authorize_url(&login))).await;
            (consent.header("location").unwrap().to_owned(), state_cookie)
        }
    };
    let session = sign_in(no_redirects()).await;
    let (callback, state_cookie) = operator_login(session.clone()).await;
    let out = send(
        no_redirects()
            .delete(proxy.url("/auth/session"))
            .header("cookie", session),
    )
    .await;
    assert_eq!(out.status, 204);
    let (_, location) = finish(&callback, Some(&state_cookie)).await;
    assert!(
        connect_error(&location).contains("signed out"),
        "{location}"
    );
    assert!(!token_file(&proxy).exists(), "nothing was stored");

    // Signed in, the operator's own login connects.
    let session = sign_in(no_redirects()).await;
    let (callback, state_cookie) = operator_login(session.clone()).await;
    let (_, location) = finish(&callback, Some(&state_cookie)).await;
    assert_eq!(location, "/");
    let connected = stored(&proxy);
    // And the attacker, trying again, still replaces nothing.
    let (_, location) = finish(&attackers_callback, Some(&attackers_state)).await;
    assert!(location.contains("connect_error"), "{location}");
    assert_eq!(stored(&proxy), connected);
    proxy.stop().await.unwrap();
}

/// Connecting must not silently move the autoposter to another TikTok account: signing in as
/// someone else replaces nothing, says so on the page, and revokes the stray grant; after a
/// deliberate disconnect, the other account connects.
#[tokio::test]
async fn connecting_another_account_replaces_nothing_and_says_so() {
    let proxy = spawn_oauth(sim_with_ttl(LONG)).await;
    connect(&proxy).await;
    let first = stored(&proxy);
    let first_open_id = first["open_id"].as_str().unwrap().to_owned();
    assert!(!first_open_id.is_empty());

    proxy.sim.sign_in_as("sim-open-id-someone-else");
    let steps = begin(&proxy).await;
    let (_, location) = finish(&steps.callback_url, Some(&steps.cookie)).await;
    assert_eq!(connect_error(&location), proxy::OTHER_ACCOUNT_MESSAGE);
    assert_eq!(stored(&proxy), first, "the token file is untouched");
    let state = connection(&proxy).await;
    assert!(state.connected);
    assert_eq!(state.open_id.as_deref(), Some(first_open_id.as_str()));
    let revokes = proxy
        .sim
        .requests()
        .iter()
        .filter(|request| request.path == paths::OAUTH_REVOKE)
        .count();
    assert_eq!(revokes, 1, "the stray grant was revoked");

    disconnect(&proxy).await;
    connect(&proxy).await;
    assert_eq!(stored(&proxy)["open_id"], "sim-open-id-someone-else");
    proxy.stop().await.unwrap();
}

/// Issue 14: the duplicate guard is per account. The same video to the connected account twice
/// is refused; once another account is connected, it goes to that one.
#[tokio::test]
async fn the_duplicate_guard_counts_per_account() {
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    let proxy = spawn_oauth_in(dir, sim_with_ttl(LONG), move |_, config| {
        config.uploads_dir = uploads;
    })
    .await;
    connect(&proxy).await;
    let video = mp4_video(200_000);
    let first = proxy
        .post_video("?mode=inbox&wait=true", video.clone())
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = proxy
        .post_video("?mode=inbox&wait=true", video.clone())
        .await;
    assert_eq!(
        (again.status, again.error().error.code.as_str()),
        (409, "duplicate_video")
    );

    disconnect(&proxy).await;
    proxy.sim.sign_in_as("sim-open-id-someone-else");
    connect(&proxy).await;
    proxy
        .post_video_to("?mode=inbox&wait=true", video, "SEND_TO_USER_INBOX")
        .await;
    let created: Vec<_> = proxy
        .log_lines()
        .into_iter()
        .filter(|line| line["event"] == "post_created")
        .map(|line| line["open_id"].clone())
        .collect();
    assert_eq!(created.len(), 2);
    assert_ne!(created[0], created[1], "{created:?}");
    assert_eq!(created[1], "sim-open-id-someone-else");
    proxy.stop().await.unwrap();
}

/// `POST /auth/logout` as the page sends it, which must succeed.
async fn disconnect(proxy: &Proxy) {
    let out = proxy
        .send(
            proxy
                .client
                .post(proxy.url("/auth/logout"))
                .header("x-requested-with", "fetch"),
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
}

/// Issue 12: a refresh finishes, and its rotated refresh token is stored, even when the request
/// that started it goes away mid-way (a closed tab, an aborted poll). Otherwise TikTok has spent
/// the old refresh token, the proxy never stores the new one, and the account ends "reconnect
/// required".
#[tokio::test]
async fn a_refresh_completes_when_the_request_that_started_it_is_dropped() {
    let proxy = spawn_oauth(sim_with_ttl(LONG)).await;
    connect(&proxy).await;
    let before = stored(&proxy)["refresh_token"].clone();
    // TikTok rotates at once but answers only after the client has gone.
    proxy.sim.script(Fault::LateTokenAnswer {
        duration: Duration::from_millis(800),
        times: 1,
    });
    proxy.sim.expire_access_tokens();
    let request = proxy.client.get(proxy.url("/api/creator"));
    let abandoned = tokio::spawn(async move { request.send().await });
    let deadline = Instant::now() + Duration::from_secs(10);
    while proxy.sim.token_calls() < 2 {
        assert!(
            Instant::now() < deadline,
            "the refresh never reached TikTok"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The client goes away while TikTok is still answering: its connection closes.
    abandoned.abort();
    assert!(abandoned.await.unwrap_err().is_cancelled());

    while stored(&proxy)["refresh_token"] == before {
        assert!(
            Instant::now() < deadline,
            "the rotated refresh token was never stored"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let reply = proxy.get("/api/creator").await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(connection(&proxy).await.connected);
    assert_eq!(
        proxy.sim.token_calls(),
        2,
        "the exchange and the one refresh"
    );
}
