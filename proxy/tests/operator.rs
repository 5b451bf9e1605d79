//! Operator access on a proxy configured for the network: nobody without a session, an API
//! token or an embed credential gets anything but the sign-in; sessions and tokens work as a
//! browser and a script use them; embeds reach only their own posts; and the binary refuses to
//! start exposed without access, hashes passwords and manages tokens.

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use protocol::embed::{Origin, mint_ticket};
use proxy::{Config, EmbedConfig, PasswordHashConfig, Secret};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};
use support::{Proxy, Reply, spawn_operator_proxy, upload, video_bytes};

const PASSWORD: &str = "correct horse battery staple";
const CMS: &str = "https://cms.example.com";
const KEY: &str = "embed-key-OPERATORTEST-0123456789";
const SECRET: &str = "ticket-secret-OPERATORTEST-0123456789abcdef";

/// A proxy as it is put on the network: listening beyond loopback (the test's listener is on
/// 127.0.0.1, but the configuration says otherwise), a password, an API token, and one site
/// allowed to embed it with a key or tickets.
async fn exposed() -> (Proxy, String) {
    spawn_operator_proxy(|config: &mut Config| {
        config.listen = "0.0.0.0:8787".parse().unwrap();
        config.operator.password_hash =
            Some(PasswordHashConfig::parse(&proxy::hash_password(PASSWORD)).unwrap());
        config.embed = EmbedConfig {
            allowed_origins: vec![Origin::parse(CMS).unwrap()],
            embed_keys: vec![Secret::new(KEY)],
            ticket_secret: Some(Secret::new(SECRET)),
        };
    })
    .await
}

/// A client with no credential at all, as an attacker's `curl` is.
fn anonymous() -> reqwest::Client {
    reqwest::Client::new()
}

fn inbox_post(size: usize) -> Value {
    json!({"mode": "inbox", "video_size": size, "content_type": "video/mp4", "file_name": "a.mp4"})
}

fn check_refused(what: &str, reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    assert_eq!(reply.error().error.code, code, "{what}: {}", reply.body);
}

async fn sign_in(proxy: &Proxy, password: &str, extra: &[(&str, &str)]) -> Reply {
    let mut request = anonymous()
        .post(proxy.url("/auth/session"))
        .header("content-type", "application/json")
        .body(json!({ "password": password }).to_string());
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    proxy.send(request).await
}

/// The `name=value` part of a reply's `Set-Cookie`.
fn cookie_pair(reply: &Reply) -> String {
    reply
        .header("set-cookie")
        .expect("a cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn every_route_refuses_a_caller_without_credentials() {
    let (proxy, _token) = exposed().await;
    let created = proxy.create(&inbox_post(1000)).await;
    let id = &created.publish_id;
    let json_body = |body: Value| (Some("application/json"), body.to_string().into_bytes());
    let routes: Vec<(&str, String, Option<&str>, Vec<u8>)> = vec![
        ("GET", "/api/health".into(), None, vec![]),
        ("GET", "/api/connection".into(), None, vec![]),
        ("GET", "/api/creator".into(), None, vec![]),
        ("GET", "/api/posts".into(), None, vec![]),
        {
            let (kind, body) = json_body(inbox_post(1000));
            ("POST", "/api/posts".into(), kind, body)
        },
        ("GET", format!("/api/posts/{id}"), None, vec![]),
        (
            "PUT",
            format!("/api/posts/{id}/chunk"),
            Some("video/mp4"),
            vec![0; 1000],
        ),
        {
            let (kind, body) = json_body(json!({"kind": "paused"}));
            ("POST", format!("/api/posts/{id}/events"), kind, body)
        },
        {
            let (kind, body) = json_body(json!({}));
            ("POST", "/auth/login".into(), kind, body)
        },
        ("GET", "/auth/login".into(), None, vec![]),
        {
            let (kind, body) = json_body(json!({}));
            ("POST", "/auth/logout".into(), kind, body)
        },
        ("GET", "/api/nope".into(), None, vec![]),
        ("DELETE", "/api/posts".into(), None, vec![]),
    ];
    let sim_requests_before = proxy.sim.requests().len();
    let log_before = proxy.log_lines().len();
    for (method, path, content_type, body) in routes {
        let mut request = anonymous().request(method.parse().unwrap(), proxy.url(&path));
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        if path.ends_with("/chunk") {
            request = request.header("content-range", "bytes 0-999/1000");
        }
        let reply = proxy.send(request.body(body)).await;
        check_refused(&format!("{method} {path}"), &reply, 401, "sign_in_required");
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|value| value.starts_with("Bearer")),
            "{method} {path}"
        );
        // A bad token is no better than none.
        let reply = proxy
            .send(
                anonymous()
                    .request(method.parse().unwrap(), proxy.url(&path))
                    .header("authorization", "Bearer apt_0123"),
            )
            .await;
        check_refused(
            &format!("{method} {path} (bad token)"),
            &reply,
            401,
            "api_token_invalid",
        );
    }
    assert_eq!(
        proxy.sim.requests().len(),
        sim_requests_before,
        "nothing reached TikTok"
    );
    assert_eq!(proxy.log_lines().len(), log_before, "nothing was logged");

    // What an anonymous caller may ask: whether it must sign in.
    let access = proxy.send(anonymous().get(proxy.url("/api/session"))).await;
    assert_eq!(access.status, 200, "{}", access.body);
    assert_eq!(
        access.json(),
        json!({"sign_in_required": true, "password_sign_in": true, "operator": false})
    );
    // The page itself is served, so it can show the sign-in form.
    let page = proxy.send(anonymous().get(proxy.url("/"))).await;
    assert_ne!(page.status, 401);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn a_signed_in_browser_posts_and_signs_out() {
    let (proxy, _token) = exposed().await;
    let reply = sign_in(&proxy, PASSWORD, &[]).await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    let set_cookie = reply.header("set-cookie").unwrap().to_owned();
    for attribute in [
        "autoposter_session=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/",
        "Max-Age=43200",
    ] {
        assert!(set_cookie.contains(attribute), "{set_cookie}");
    }
    assert!(!set_cookie.contains("Secure"), "plain http: {set_cookie}");
    let cookie = cookie_pair(&reply);

    let with_cookie = |request: reqwest::RequestBuilder| request.header("cookie", cookie.clone());
    let access = proxy
        .send(with_cookie(anonymous().get(proxy.url("/api/session"))))
        .await;
    assert_eq!(access.json()["operator"], true);
    let created = proxy
        .send(with_cookie(
            anonymous()
                .post(proxy.url("/api/posts"))
                .header("content-type", "application/json")
                .body(inbox_post(2000).to_string()),
        ))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let history = proxy
        .send(with_cookie(anonymous().get(proxy.url("/api/posts"))))
        .await;
    assert_eq!(history.status, 200, "{}", history.body);
    let created_line = proxy
        .log_lines()
        .into_iter()
        .find(|line| line["event"] == "post_created")
        .unwrap();
    assert!(
        created_line["by"].as_str().unwrap().starts_with("session:"),
        "{created_line}"
    );

    let out = proxy
        .send(with_cookie(anonymous().delete(proxy.url("/auth/session"))))
        .await;
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = proxy
        .send(with_cookie(anonymous().get(proxy.url("/api/posts"))))
        .await;
    check_refused("after sign-out", &after, 401, "sign_in_required");
    let forged = proxy
        .send(
            anonymous()
                .get(proxy.url("/api/posts"))
                .header("cookie", format!("autoposter_session={}", "a".repeat(64))),
        )
        .await;
    check_refused("a made-up session", &forged, 401, "sign_in_required");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn behind_a_tls_reverse_proxy_the_cookie_is_secure() {
    let (proxy, _token) = exposed().await;
    let reply = sign_in(
        &proxy,
        PASSWORD,
        &[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-for", "203.0.113.5"),
        ],
    )
    .await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert!(reply.header("set-cookie").unwrap().contains("; Secure"));
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn wrong_passwords_are_slowed_per_address() {
    let (proxy, _token) = exposed().await;
    let guesser = [("x-forwarded-for", "203.0.113.66")];
    for attempt in 0..5 {
        let reply = sign_in(&proxy, "wrong password!", &guesser).await;
        check_refused(&format!("attempt {attempt}"), &reply, 401, "wrong_password");
        assert!(reply.header("set-cookie").is_none());
    }
    let blocked = sign_in(&proxy, PASSWORD, &guesser).await;
    check_refused("the sixth, even right", &blocked, 429, "too_many_sign_ins");
    let wait: u64 = blocked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert_eq!(blocked.error().error.retry_after_secs, Some(wait));
    let someone_else = sign_in(&proxy, PASSWORD, &[("x-forwarded-for", "198.51.100.7")]).await;
    assert_eq!(someone_else.status, 204, "{}", someone_else.body);

    // A sign-in form on another site cannot sign this browser in.
    let cross_site = sign_in(
        &proxy,
        PASSWORD,
        &[
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
    )
    .await;
    assert_eq!(cross_site.status, 403, "{}", cross_site.body);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn embeds_reach_only_their_own_posts() {
    let (proxy, _token) = exposed().await;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ticket = mint_ticket(SECRET.as_bytes(), &Origin::parse(CMS).unwrap(), now + 600);
    let from_cms = |request: reqwest::RequestBuilder, credential: (&str, &str)| {
        request
            .header("origin", CMS)
            .header("sec-fetch-site", "cross-site")
            .header(credential.0, credential.1)
    };
    let key = ("x-autoposter-key", KEY);
    let ticket = ("x-autoposter-ticket", ticket.as_str());

    // The key's page posts a video and follows it.
    let video = video_bytes(3000);
    let created = proxy
        .send(from_cms(
            anonymous()
                .post(proxy.url("/api/posts"))
                .header("content-type", "application/json")
                .body(inbox_post(video.len()).to_string()),
            key,
        ))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let created: protocol::wire::CreatedPost = serde_json::from_str(&created.body).unwrap();
    let id = created.publish_id.clone();
    let own = proxy
        .send(from_cms(
            anonymous().get(proxy.url(&format!("/api/posts/{id}"))),
            key,
        ))
        .await;
    assert_eq!(own.status, 200, "{}", own.body);

    // A ticket for the same site is another caller: it may not read, relay or report on it.
    let read = proxy
        .send(from_cms(
            anonymous().get(proxy.url(&format!("/api/posts/{id}"))),
            ticket,
        ))
        .await;
    check_refused("status of another's post", &read, 403, "not_your_post");
    let relay = proxy
        .send(from_cms(
            anonymous()
                .put(proxy.url(&format!("/api/posts/{id}/chunk")))
                .header("content-type", "video/mp4")
                .header("content-range", "bytes 0-2999/3000")
                .body(video.clone()),
            ticket,
        ))
        .await;
    check_refused("relay into another's post", &relay, 403, "not_your_post");
    let event = proxy
        .send(from_cms(
            anonymous()
                .post(proxy.url(&format!("/api/posts/{id}/events")))
                .header("content-type", "application/json")
                .body(json!({"kind": "cancelled"}).to_string()),
            ticket,
        ))
        .await;
    check_refused("events on another's post", &event, 403, "not_your_post");
    // Nor the history, nor connecting or disconnecting.
    for (method, path) in [
        ("GET", "/api/posts"),
        ("POST", "/auth/login"),
        ("POST", "/auth/logout"),
    ] {
        let reply = proxy
            .send(from_cms(
                anonymous()
                    .request(method.parse().unwrap(), proxy.url(path))
                    .header("content-type", "application/json")
                    .body("{}"),
                key,
            ))
            .await;
        check_refused(path, &reply, 403, "not_for_embeds");
    }
    // An embed is not told where to connect TikTok.
    let connection = proxy
        .send(from_cms(
            anonymous().get(proxy.url("/api/connection")),
            ticket,
        ))
        .await;
    assert_eq!(connection.status, 200, "{}", connection.body);
    assert!(connection.json().get("login_url").is_none());

    // The operator (an API token) may follow any post; the upload itself goes to TikTok.
    assert_eq!(
        upload(&created, &video, "video/mp4").await.last(),
        Some(&201)
    );
    let state = proxy.poll_until_final(&id).await;
    assert_eq!(state["status"], "SEND_TO_USER_INBOX");
    let created_line = proxy
        .log_lines()
        .into_iter()
        .find(|line| line["event"] == "post_created")
        .unwrap();
    assert!(
        created_line["by"]
            .as_str()
            .unwrap()
            .starts_with("embed-key:"),
        "{created_line}"
    );
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn api_tokens_work_until_revoked_by_the_command() {
    let (proxy, token) = exposed().await;
    let tokens_file = proxy.log_path.with_file_name("api-tokens.json");
    assert_eq!(proxy.get("/api/posts").await.status, 200);
    let access = proxy.get("/api/session").await;
    assert_eq!(access.json()["operator"], true);

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_proxy"))
        .args(["token", "revoke", "tests"])
        .env("AUTOPOSTER_API_TOKENS", &tokens_file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let reply = proxy.get("/api/posts").await;
    check_refused("revoked", &reply, 401, "api_token_invalid");
    assert!(!reply.everything().contains(&token));
    proxy.stop().await.unwrap();
}

#[test]
fn the_binary_refuses_to_start_exposed_without_access() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("posts.jsonl");
    let log = log.to_str().unwrap();
    for env in [
        vec![("AUTOPOSTER_LISTEN", "0.0.0.0:0"), ("AUTOPOSTER_LOG", log)],
        vec![
            ("AUTOPOSTER_LISTEN", "127.0.0.1:0"),
            ("AUTOPOSTER_ALLOWED_HOSTS", "poster.example.com"),
            ("AUTOPOSTER_LOG", log),
        ],
    ] {
        let output = support::proxy_binary()
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{env:?} started");
        assert!(
            printed.contains("AUTOPOSTER_ADMIN_PASSWORD_HASH")
                && printed.contains("proxy token create"),
            "{printed}"
        );
        // Refused before it binds: nothing says it listens or started (issue 16).
        let everything = format!("{}{printed}", String::from_utf8_lossy(&output.stdout));
        for claim in ["listening", "started"] {
            assert!(!everything.contains(claim), "{env:?}: {everything}");
        }
    }
    let output = support::proxy_binary()
        .env("AUTOPOSTER_LISTEN", "0.0.0.0:0")
        .env("AUTOPOSTER_ADMIN_PASSWORD_HASH", "hunter2")
        .env("AUTOPOSTER_LOG", log)
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(printed.contains("proxy hash-password"), "{printed}");
    assert!(!printed.contains("hunter2"), "{printed}");
}

#[test]
fn hash_password_and_token_commands() {
    use std::io::Write;
    let run = |args: &[&str], stdin: &str, env: &[(&str, &std::path::Path)]| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_proxy"))
            .args(args)
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let hashed = run(&["hash-password"], &format!("{PASSWORD}\n"), &[]);
    assert!(hashed.status.success(), "{hashed:?}");
    let hash = String::from_utf8(hashed.stdout).unwrap();
    let config = PasswordHashConfig::parse(hash.trim()).unwrap();
    assert!(
        config.verify(PASSWORD),
        "the trailing newline is not part of it"
    );
    let short = run(&["hash-password"], "short\n", &[]);
    assert!(!short.status.success());
    assert!(String::from_utf8_lossy(&short.stderr).contains("at least 12"));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("api-tokens.json");
    let env = [("AUTOPOSTER_API_TOKENS", file.as_path())];
    let created = run(&["token", "create", "ci"], "", &env);
    assert!(created.status.success(), "{created:?}");
    let token = String::from_utf8(created.stdout).unwrap();
    assert!(token.trim().starts_with("apt_"), "{token}");
    let listed = run(&["token", "list"], "", &env);
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains("\tci\t") && !listed.contains(token.trim()),
        "{listed}"
    );
    let missing = run(&["token", "revoke", "nope"], "", &env);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no token has the id or name"));
    assert!(run(&["token", "revoke", "ci"], "", &env).status.success());
}
