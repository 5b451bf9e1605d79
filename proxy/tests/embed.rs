//! Embedding the uploader in another site: CORS preflights and headers for the allowed origins
//! only, embed keys and tickets, refusals before anything reaches TikTok, the proxy's own page
//! and scripts unchanged, start-up refusals, and the host-backend snippets of docs/EMBED.md run
//! against the real verifier.

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use protocol::embed::{MAX_TICKET_LIFETIME_SECS, Origin, mint_ticket};
use proxy::{EmbedConfig, Secret};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};
use support::{Proxy, Reply, run_binary, spawn_proxy, spawn_proxy_with, video_bytes};

const CMS: &str = "https://cms.example.com";
const BLOG: &str = "http://127.0.0.1:5000";
const EVIL: &str = "https://evil.example";
const KEY: &str = "embed-key-EMBEDSWEEP-0123456789";
const SECRET: &str = "ticket-secret-EMBEDSWEEP-0123456789abcdef";
const MIB: usize = 1024 * 1024;

/// What a call from another site carries.
#[derive(Clone, Copy)]
enum Credential<'a> {
    None,
    Key(&'a str),
    Ticket(&'a str),
}

fn origin(text: &str) -> Origin {
    Origin::parse(text).unwrap()
}

fn embed_config() -> EmbedConfig {
    EmbedConfig {
        allowed_origins: vec![origin(CMS), origin(BLOG)],
        embed_keys: vec![Secret::new("another-key-0123456789"), Secret::new(KEY)],
        ticket_secret: Some(Secret::new(SECRET)),
    }
}

async fn embedded_proxy() -> Proxy {
    spawn_proxy(|config| config.embed = embed_config()).await
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A ticket for `site`, valid for `ttl_secs` from now (negative: already expired).
fn ticket(site: &str, ttl_secs: i64) -> String {
    let expiry = now().checked_add_signed(ttl_secs).unwrap();
    mint_ticket(SECRET.as_bytes(), &origin(site), expiry)
}

/// `request` as a page on `site` would send it, with `credential`.
fn from_site(
    request: reqwest::RequestBuilder,
    site: &str,
    credential: Credential<'_>,
) -> reqwest::RequestBuilder {
    let request = request
        .header("origin", site)
        .header("sec-fetch-site", "cross-site");
    match credential {
        Credential::None => request,
        Credential::Key(key) => request.header("x-autoposter-key", key),
        Credential::Ticket(ticket) => request.header("x-autoposter-ticket", ticket),
    }
}

async fn get_from(proxy: &Proxy, path: &str, site: &str, credential: Credential<'_>) -> Reply {
    proxy
        .send(from_site(
            proxy.client.get(proxy.url(path)),
            site,
            credential,
        ))
        .await
}

async fn post_from(
    proxy: &Proxy,
    path: &str,
    body: &serde_json::Value,
    site: &str,
    credential: Credential<'_>,
) -> Reply {
    let request = proxy
        .client
        .post(proxy.url(path))
        .header("content-type", "application/json")
        .body(body.to_string());
    proxy.send(from_site(request, site, credential)).await
}

async fn preflight(proxy: &Proxy, path: &str, site: &str, method: &str) -> Reply {
    let request = proxy
        .client
        .request(reqwest::Method::OPTIONS, proxy.url(path))
        .header("origin", site)
        .header("sec-fetch-site", "cross-site")
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "content-type,x-autoposter-key",
        );
    proxy.send(request).await
}

fn inbox_post(video_size: usize) -> serde_json::Value {
    json!({"mode": "inbox", "video_size": video_size, "content_type": "video/mp4", "file_name": "e.mp4"})
}

/// The CORS headers of a reply, sorted, names in lowercase.
fn cors_headers(reply: &Reply) -> Vec<(String, String)> {
    let mut headers: Vec<_> = reply
        .headers
        .iter()
        .filter(|(name, _)| name.starts_with("access-control-"))
        .cloned()
        .collect();
    headers.sort();
    headers
}

fn check_refused(what: &str, reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.body);
    let error = reply.error().error;
    assert_eq!(error.code, code, "{what}");
    assert!(!error.message.is_empty(), "{what}");
}

#[tokio::test]
async fn preflights_are_answered_for_allowed_origins_only() {
    let proxy = embedded_proxy().await;
    let reply = preflight(&proxy, "/api/posts/v_inbox_file~v2.1/chunk", CMS, "PUT").await;
    assert_eq!(reply.status, 204, "{}", reply.body);
    assert_eq!(
        cors_headers(&reply),
        [
            (
                "access-control-allow-headers",
                "content-type, content-range, x-autoposter-key, x-autoposter-ticket"
            ),
            ("access-control-allow-methods", "GET, POST, PUT"),
            ("access-control-allow-origin", CMS),
            ("access-control-expose-headers", "content-range"),
            ("access-control-max-age", "600"),
        ]
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
    );
    assert_eq!(reply.header("vary"), Some("Origin"));
    assert!(reply.body.is_empty());
    // Another spelling of an allowed origin is answered with the spelling the browser compares.
    let spelled = preflight(&proxy, "/api/posts", "HTTPS://cms.example.com:443", "POST").await;
    assert_eq!(
        (
            spelled.status,
            spelled.header("access-control-allow-origin")
        ),
        (204, Some(CMS))
    );

    for site in [
        EVIL,
        "null",
        "http://cms.example.com",
        "https://cms.example.com.evil.example",
    ] {
        let reply = preflight(&proxy, "/api/posts", site, "POST").await;
        check_refused(site, &reply, 403, "origin_not_allowed");
        assert_eq!(cors_headers(&reply), [], "{site}");
    }
    assert!(proxy.sim.requests().is_empty());
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn an_allowed_origin_with_a_key_posts_relays_and_polls() {
    let mut options = support::sim_options();
    // As a real browser would find TikTok's upload host: no CORS, so the relay is the way.
    options.cors = false;
    let proxy = spawn_proxy_with(options, |config| config.embed = embed_config()).await;
    let key = Credential::Key(KEY);
    let allowed = |reply: &Reply| {
        assert_eq!(
            reply.header("access-control-allow-origin"),
            Some(CMS),
            "{}",
            reply.body
        );
        assert_eq!(
            reply.header("access-control-expose-headers"),
            Some("content-range")
        );
        assert_eq!(reply.header("vary"), Some("Origin"));
        assert!(reply.header("access-control-allow-credentials").is_none());
    };

    let health = get_from(&proxy, "/api/health", CMS, key).await;
    assert_eq!(health.status, 200);
    allowed(&health);
    let creator = get_from(&proxy, "/api/creator", CMS, key).await;
    assert_eq!(creator.status, 200, "{}", creator.body);
    allowed(&creator);

    let video = video_bytes(3 * MIB);
    let created = post_from(&proxy, "/api/posts", &inbox_post(video.len()), CMS, key).await;
    assert_eq!(created.status, 201, "{}", created.body);
    allowed(&created);
    let created: protocol::wire::CreatedPost = serde_json::from_str(&created.body).unwrap();
    let plan = created.plan(video.len() as u64);
    let chunk_path = format!("/api/posts/{}/chunk", created.publish_id);
    let mut statuses = Vec::new();
    for chunk in plan.chunks() {
        let request = proxy
            .client
            .put(proxy.url(&chunk_path))
            .header("content-type", "video/mp4")
            .header("content-range", chunk.content_range())
            .body(video.slice(chunk.start as usize..chunk.end as usize));
        let reply = proxy.send(from_site(request, CMS, key)).await;
        allowed(&reply);
        assert_eq!(
            reply.header("content-range"),
            Some(format!("bytes 0-{}/{}", chunk.end - 1, plan.video_size).as_str())
        );
        statuses.push(reply.status);
    }
    let mut expected = vec![206; plan.total_chunk_count as usize - 1];
    expected.push(201);
    assert_eq!(statuses, expected);
    assert_eq!(
        proxy
            .sim
            .upload(&created.publish_id)
            .unwrap()
            .sha256
            .unwrap(),
        support::sha256_hex(&video)
    );

    let event = post_from(
        &proxy,
        &format!("/api/posts/{}/events", created.publish_id),
        &json!({"kind": "retried", "chunk": 0, "http_status": 503}),
        CMS,
        key,
    )
    .await;
    assert_eq!(event.status, 204, "{}", event.body);
    allowed(&event);

    let mut status = String::new();
    for _ in 0..200 {
        let reply = get_from(
            &proxy,
            &format!("/api/posts/{}", created.publish_id),
            CMS,
            key,
        )
        .await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        allowed(&reply);
        status = reply.json()["status"].as_str().unwrap().to_owned();
        if status == "SEND_TO_USER_INBOX" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(status, "SEND_TO_USER_INBOX");
    // Embeds post and follow their own posts, nothing else: not the history of every post.
    // Refusals are readable by the page too.
    let history = get_from(&proxy, "/api/posts", CMS, key).await;
    check_refused("history from an embed", &history, 403, "not_for_embeds");
    allowed(&history);
    // Nor server-side posting: the proxy's disk and its jobs are the operator's.
    for (what, reply) in [
        (
            "an upload from an embed",
            proxy
                .send(from_site(
                    proxy
                        .client
                        .post(proxy.url("/api/upload?mode=inbox"))
                        .header("content-type", "video/mp4")
                        .body(vec![0u8; 1000]),
                    CMS,
                    key,
                ))
                .await,
        ),
        (
            "the jobs from an embed",
            get_from(&proxy, "/api/jobs", CMS, key).await,
        ),
    ] {
        check_refused(what, &reply, 403, "not_for_embeds");
    }
    let not_found = get_from(&proxy, "/api/nope", CMS, key).await;
    check_refused(
        "an unknown route from an embed",
        &not_found,
        403,
        "not_for_embeds",
    );
    allowed(&not_found);
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn other_sites_are_refused_before_anything_happens() {
    let proxy = embedded_proxy().await;
    let text_form = |site: &str, credential| {
        from_site(
            proxy
                .client
                .post(proxy.url("/api/posts"))
                .header("content-type", "text/plain")
                .body(inbox_post(1000).to_string()),
            site,
            credential,
        )
    };
    let mut replies = vec![
        (
            "a cross-site form post",
            proxy.send(text_form(EVIL, Credential::None)).await,
        ),
        (
            "a form post with a stolen key",
            proxy.send(text_form(EVIL, Credential::Key(KEY))).await,
        ),
        (
            "a JSON post with a ticket for another site",
            post_from(
                &proxy,
                "/api/posts",
                &inbox_post(1000),
                EVIL,
                Credential::Ticket(&ticket(CMS, 60)),
            )
            .await,
        ),
        (
            "creator info",
            get_from(&proxy, "/api/creator", EVIL, Credential::Key(KEY)).await,
        ),
        (
            "an opaque origin",
            get_from(&proxy, "/api/creator", "null", Credential::None).await,
        ),
        (
            "an allowed host over another scheme",
            get_from(
                &proxy,
                "/api/creator",
                "http://cms.example.com",
                Credential::Key(KEY),
            )
            .await,
        ),
        (
            "disconnecting",
            post_from(&proxy, "/auth/logout", &json!({}), EVIL, Credential::None).await,
        ),
    ];
    // A link or image on another site: no Origin, but the browser says where it comes from.
    replies.push((
        "a cross-site navigation",
        proxy
            .send(
                proxy
                    .client
                    .get(proxy.url("/api/creator"))
                    .header("sec-fetch-site", "cross-site"),
            )
            .await,
    ));
    for (what, reply) in &replies {
        check_refused(what, reply, 403, "origin_not_allowed");
        assert_eq!(cors_headers(reply), [], "{what}");
    }
    assert!(
        replies[0].1.error().error.message.contains(EVIL),
        "the message names the refused origin"
    );
    assert!(proxy.sim.requests().is_empty(), "nothing went to TikTok");
    assert!(proxy.log_lines().is_empty(), "nothing was logged as a post");

    // Pages are not the API: served as before. Connecting is: another site cannot start it.
    let page = proxy
        .send(from_site(
            proxy.client.get(proxy.url("/")),
            EVIL,
            Credential::None,
        ))
        .await;
    assert_eq!(page.status, 200);
    let login = post_from(&proxy, "/auth/login", &json!({}), EVIL, Credential::None).await;
    check_refused("login from another site", &login, 403, "origin_not_allowed");
    proxy.stop().await.unwrap();
}

#[tokio::test]
async fn allowed_origins_need_a_valid_credential() {
    let proxy = embedded_proxy().await;
    let tampered = {
        let good = ticket(CMS, 600);
        let (rest, mac) = good.rsplit_once('.').unwrap();
        let flipped = if mac.starts_with('0') { "1" } else { "0" };
        format!("{rest}.{flipped}{}", &mac[1..])
    };
    let extended = {
        let good = ticket(CMS, 600);
        let expiry = now() + 600;
        good.replacen(&expiry.to_string(), &(expiry + 3600).to_string(), 1)
    };
    let signed_elsewhere = mint_ticket(
        b"somebody-else's-secret-0123456789abcdef",
        &origin(CMS),
        now() + 600,
    );
    for (what, credential, code) in [
        (
            "no credential",
            Credential::None,
            "embed_credential_missing",
        ),
        (
            "a wrong key",
            Credential::Key("embed-key-WRONG-0123456789"),
            "embed_key_invalid",
        ),
        ("an empty key", Credential::Key(""), "embed_key_invalid"),
        (
            "an expired ticket",
            Credential::Ticket(&ticket(CMS, -1)),
            "ticket_expired",
        ),
        (
            "a ticket for another allowed site",
            Credential::Ticket(&ticket(BLOG, 600)),
            "ticket_wrong_origin",
        ),
        (
            "a tampered ticket",
            Credential::Ticket(&tampered),
            "ticket_invalid",
        ),
        (
            "a ticket with its expiry moved",
            Credential::Ticket(&extended),
            "ticket_invalid",
        ),
        (
            "a ticket signed with another secret",
            Credential::Ticket(&signed_elsewhere),
            "ticket_invalid",
        ),
        (
            "garbage",
            Credential::Ticket("v1.garbage"),
            "ticket_invalid",
        ),
        (
            "a ticket valid for too long",
            Credential::Ticket(&ticket(CMS, (MAX_TICKET_LIFETIME_SECS + 3600) as i64)),
            "ticket_too_long_lived",
        ),
    ] {
        for reply in [
            get_from(&proxy, "/api/creator", CMS, credential).await,
            post_from(&proxy, "/api/posts", &inbox_post(1000), CMS, credential).await,
        ] {
            check_refused(what, &reply, 401, code);
            // The allowed page may read why, to fetch a new ticket, say.
            assert_eq!(
                reply.header("access-control-allow-origin"),
                Some(CMS),
                "{what}"
            );
        }
    }
    assert!(proxy.sim.requests().is_empty(), "nothing went to TikTok");

    // A valid ticket works, from the origin it was minted for.
    let good = ticket(BLOG, 600);
    let creator = get_from(&proxy, "/api/creator", BLOG, Credential::Ticket(&good)).await;
    assert_eq!(creator.status, 200, "{}", creator.body);
    assert_eq!(creator.header("access-control-allow-origin"), Some(BLOG));
    let created = post_from(
        &proxy,
        "/api/posts",
        &inbox_post(1000),
        BLOG,
        Credential::Ticket(&good),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    proxy.stop().await.unwrap();

    // Without a ticket secret, tickets are refused as such, keys still work.
    let keys_only = spawn_proxy(|config| {
        config.embed = EmbedConfig {
            ticket_secret: None,
            ..embed_config()
        }
    })
    .await;
    let reply = get_from(
        &keys_only,
        "/api/health",
        CMS,
        Credential::Ticket(&ticket(CMS, 600)),
    )
    .await;
    check_refused("tickets off", &reply, 401, "ticket_not_accepted");
    let reply = get_from(&keys_only, "/api/health", CMS, Credential::Key(KEY)).await;
    assert_eq!(reply.status, 200);
    keys_only.stop().await.unwrap();
}

#[tokio::test]
async fn the_own_page_and_scripts_need_no_credential() {
    for embed in [EmbedConfig::default(), embed_config()] {
        let configured = !embed.allowed_origins.is_empty();
        let proxy = spawn_proxy(|config| config.embed = embed).await;
        let own = proxy.base_url.clone();
        let same_origin = |request: reqwest::RequestBuilder| {
            request
                .header("origin", own.as_str())
                .header("sec-fetch-site", "same-origin")
        };
        let replies = [
            ("a script", proxy.get("/api/creator").await),
            (
                "a script posting",
                proxy.post_json("/api/posts", &inbox_post(1000)).await,
            ),
            (
                "the page's GET",
                proxy
                    .send(
                        proxy
                            .client
                            .get(proxy.url("/api/creator"))
                            .header("sec-fetch-site", "same-origin"),
                    )
                    .await,
            ),
            (
                "the page's POST",
                proxy
                    .send(same_origin(
                        proxy
                            .client
                            .post(proxy.url("/api/posts"))
                            .header("content-type", "application/json")
                            .body(inbox_post(1000).to_string()),
                    ))
                    .await,
            ),
            (
                "Origin is the Host, no Sec-Fetch-Site",
                proxy
                    .send(
                        proxy
                            .client
                            .get(proxy.url("/api/creator"))
                            .header("origin", own.as_str()),
                    )
                    .await,
            ),
            (
                "a dev server proxying the page",
                proxy
                    .send(
                        proxy
                            .client
                            .get(proxy.url("/api/creator"))
                            .header("origin", "http://127.0.0.1:8080")
                            .header("sec-fetch-site", "same-origin"),
                    )
                    .await,
            ),
        ];
        for (what, reply) in &replies {
            assert!(
                reply.status == 200 || reply.status == 201,
                "{what} ({configured}): {} {}",
                reply.status,
                reply.body
            );
            assert_eq!(cors_headers(reply), [], "{what}");
        }
        // Unconfigured, no other site gets in, even one that would be allowed.
        if !configured {
            let reply = get_from(&proxy, "/api/creator", CMS, Credential::Key(KEY)).await;
            check_refused("unconfigured", &reply, 403, "origin_not_allowed");
        }
        proxy.stop().await.unwrap();
    }
}

#[tokio::test]
async fn keys_tickets_and_the_secret_appear_in_no_response_or_trace() {
    let captured = support::capture_tracing();
    let proxy = embedded_proxy().await;
    let good = ticket(CMS, 600);
    let wrong_key = "embed-key-EMBEDSWEEP-wrong-98765";
    let mut replies = vec![
        get_from(&proxy, "/api/creator", CMS, Credential::Key(KEY)).await,
        get_from(&proxy, "/api/creator", CMS, Credential::Key(wrong_key)).await,
        get_from(&proxy, "/api/creator", CMS, Credential::Ticket(&good)).await,
        get_from(&proxy, "/api/creator", BLOG, Credential::Ticket(&good)).await,
        get_from(&proxy, "/api/creator", EVIL, Credential::Key(KEY)).await,
        post_from(
            &proxy,
            "/api/posts",
            &inbox_post(1000),
            CMS,
            Credential::Key(KEY),
        )
        .await,
        post_from(
            &proxy,
            "/api/posts",
            &json!({"mode": 1}),
            CMS,
            Credential::Key(KEY),
        )
        .await,
        preflight(&proxy, "/api/posts", CMS, "POST").await,
    ];
    replies.push(proxy.get("/api/health").await);
    proxy.stop().await.unwrap();
    let trace = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        trace.contains("cross-origin call refused"),
        "the sweep saw the proxy's trace: {trace}"
    );
    let (_, good_mac) = good.rsplit_once('.').unwrap();
    for secret in ["EMBEDSWEEP", SECRET, good_mac] {
        assert!(!trace.contains(secret), "{secret} in the trace");
        for reply in &replies {
            assert!(
                !reply.everything().contains(secret),
                "{secret} in {}",
                reply.everything()
            );
        }
    }
}

#[test]
fn bad_embed_settings_stop_the_proxy_at_start_up() {
    for (env, expected) in [
        (
            vec![
                ("AUTOPOSTER_ALLOWED_ORIGINS", "*"),
                ("AUTOPOSTER_EMBED_KEYS", KEY),
            ],
            "AUTOPOSTER_ALLOWED_ORIGINS: \"*\": wildcards are not allowed",
        ),
        (
            vec![
                (
                    "AUTOPOSTER_ALLOWED_ORIGINS",
                    "https://cms.example.com/admin",
                ),
                ("AUTOPOSTER_EMBED_KEYS", KEY),
            ],
            "no path",
        ),
        (
            vec![
                ("AUTOPOSTER_ALLOWED_ORIGINS", CMS),
                ("AUTOPOSTER_EMBED_KEYS", "EMBEDSWEEP"),
            ],
            "AUTOPOSTER_EMBED_KEYS: each embed key must be at least 16 characters",
        ),
        (
            vec![
                ("AUTOPOSTER_ALLOWED_ORIGINS", CMS),
                ("AUTOPOSTER_TICKET_SECRET", "EMBEDSWEEP-short"),
            ],
            "AUTOPOSTER_TICKET_SECRET: the ticket secret must be at least 32 characters",
        ),
        (
            vec![("AUTOPOSTER_ALLOWED_ORIGINS", CMS)],
            "neither AUTOPOSTER_EMBED_KEYS nor AUTOPOSTER_TICKET_SECRET",
        ),
    ] {
        let (status, printed) = run_binary(&env);
        assert!(!status.success(), "{env:?} started");
        assert!(printed.contains(expected), "{env:?}: {printed}");
        assert!(!printed.contains("EMBEDSWEEP"), "{printed}");
    }
    let error = EmbedConfig::parse("https://cms.example.com, *", KEY, "").unwrap_err();
    assert!(
        error.to_string().contains("wildcards are not allowed"),
        "{error}"
    );
}

/// The code block after `<!-- ticket: {language} -->` in docs/EMBED.md.
fn docs_snippet(language: &str) -> String {
    let docs = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/EMBED.md"))
        .expect("docs/EMBED.md exists");
    let marker = format!("<!-- ticket: {language} -->");
    let after = docs
        .split_once(&marker)
        .unwrap_or_else(|| panic!("{marker} in docs/EMBED.md"))
        .1;
    let block = after.split_once("```").unwrap().1;
    let block = block.split_once('\n').unwrap().1;
    block.split_once("```").unwrap().0.to_owned()
}

/// Runs `program` with `args` and the ticket settings in its environment; `None` when the
/// program is not installed here.
fn mint_with(program: &str, args: &[&str], site: &str) -> Option<String> {
    let output = std::process::Command::new(program)
        .args(args)
        .env("AUTOPOSTER_TICKET_SECRET", SECRET)
        .env("EMBED_ORIGIN", site)
        .output();
    match output {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("{program} is not installed: its docs snippet is not checked here");
            None
        }
        Err(error) => panic!("{program}: {error}"),
        Ok(output) => {
            assert!(
                output.status.success(),
                "{program}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            Some(String::from_utf8(output.stdout).unwrap().trim().to_owned())
        }
    }
}

#[tokio::test]
async fn the_documented_host_backend_snippets_mint_tickets_the_proxy_accepts() {
    let python = format!(
        "{}\nimport os\nprint(autoposter_ticket(os.environ[\"AUTOPOSTER_TICKET_SECRET\"], os.environ[\"EMBED_ORIGIN\"]))\n",
        docs_snippet("python")
    );
    let node = format!(
        "{}\nconsole.log(autoposterTicket(process.env.AUTOPOSTER_TICKET_SECRET, process.env.EMBED_ORIGIN));\n",
        docs_snippet("node")
    );
    let shell = docs_snippet("shell");
    let minted = [
        ("python", mint_with("python3", &["-c", &python], CMS)),
        ("node", mint_with("node", &["-e", &node], CMS)),
        ("shell", mint_with("sh", &["-c", &shell], CMS)),
    ];
    let proxy = embedded_proxy().await;
    let mut checked = 0;
    for (language, ticket) in minted {
        let Some(ticket) = ticket else { continue };
        assert!(ticket.starts_with("v1."), "{language}: {ticket}");
        let reply = get_from(&proxy, "/api/health", CMS, Credential::Ticket(&ticket)).await;
        assert_eq!(reply.status, 200, "{language}: {ticket}: {}", reply.body);
        let elsewhere = get_from(&proxy, "/api/health", BLOG, Credential::Ticket(&ticket)).await;
        check_refused(language, &elsewhere, 401, "ticket_wrong_origin");
        checked += 1;
    }
    assert!(
        checked >= 2,
        "python3 and openssl are expected on every machine that builds this"
    );
    proxy.stop().await.unwrap();

    // The worked example in the docs is what the verifier's own definition gives.
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/EMBED.md")).unwrap();
    let example = mint_ticket(
        b"an-example-secret-of-32-bytes-or-more",
        &origin(CMS),
        1_700_000_000,
    );
    assert!(docs.contains(&example), "docs/EMBED.md shows {example}");
}
