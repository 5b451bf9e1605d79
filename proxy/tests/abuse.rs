//! Slow or abusive clients over real TCP (issue 12's attack table): connections that never
//! finish their headers, a full connection cap, oversized headers and bodies, stalled bodies,
//! event spam, the history's pages, and ten thousand malformed requests.

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};
use sim::RateLimits;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use support::{Proxy, sim_options, spawn_proxy, spawn_proxy_in, spawn_proxy_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous for anything that should take milliseconds, on a busy 2-core machine.
const PATIENCE: Duration = Duration::from_secs(5);

fn direct_post(video_size: u64) -> Value {
    json!({
        "mode": "direct",
        "video_size": video_size,
        "content_type": "video/mp4",
        "file_name": "cat.mp4",
        "post_info": {"title": "a #cat", "privacy_level": "SELF_ONLY"},
    })
}

async fn connect(proxy: &Proxy) -> TcpStream {
    TcpStream::connect(proxy.base_url.trim_start_matches("http://"))
        .await
        .expect("the proxy accepts")
}

/// Reads until the proxy closes the connection (or `within` passes); returns what it sent, or
/// `None` if it was still open.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read = tokio::time::timeout(within, async {
        let mut buffer = [0u8; 4096];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| received)
}

/// The status code of a raw HTTP answer, if it has one.
fn status_of(answer: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(answer);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// The first read of an answer on `stream`: its status and text.
async fn first_answer(stream: &mut TcpStream) -> (Option<u16>, String) {
    let mut answer = vec![0u8; 4096];
    let n = tokio::time::timeout(PATIENCE, stream.read(&mut answer))
        .await
        .expect("answered")
        .unwrap();
    (
        status_of(&answer[..n]),
        String::from_utf8_lossy(&answer[..n]).into_owned(),
    )
}

/// Sends `request` as is, half-closes, and reads the answer until the proxy closes.
async fn raw(proxy: &Proxy, request: &[u8]) -> Option<Vec<u8>> {
    let mut stream = connect(proxy).await;
    // The proxy may answer (and close) before reading everything: a failed write is fine.
    let _ = stream.write_all(request).await;
    let _ = stream.shutdown().await;
    read_until_closed(&mut stream, PATIENCE).await
}

/// The start of a request whose headers never end.
fn unfinished_headers(proxy: &Proxy) -> String {
    let host = proxy.base_url.trim_start_matches("http://");
    format!("GET /api/health HTTP/1.1\r\nhost: {host}\r\nx-slow: ")
}

#[tokio::test]
async fn connections_that_never_finish_their_headers_are_closed_after_the_header_timeout() {
    let timeout = Duration::from_millis(500);
    let proxy = spawn_proxy(|config| config.header_read_timeout = timeout).await;
    let started = Instant::now();
    let mut stalled = Vec::new();
    for i in 0..20 {
        let mut stream = connect(&proxy).await;
        if i % 2 == 0 {
            stream
                .write_all(unfinished_headers(&proxy).as_bytes())
                .await
                .unwrap();
        }
        stalled.push(stream);
    }
    for stream in &mut stalled {
        let answer = read_until_closed(stream, timeout + PATIENCE)
            .await
            .expect("closed after the header timeout");
        // hyper closes without a word (no 408): nothing of a request was answered.
        assert!(answer.is_empty(), "{}", String::from_utf8_lossy(&answer));
    }
    assert!(started.elapsed() >= timeout, "not before the timeout");

    // The same timer bounds a kept-alive connection's wait for its next request.
    let mut kept = connect(&proxy).await;
    let host = proxy.base_url.trim_start_matches("http://");
    kept.write_all(format!("GET /api/health HTTP/1.1\r\nhost: {host}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let waited = Instant::now();
    let answer = read_until_closed(&mut kept, timeout + PATIENCE)
        .await
        .expect("an idle kept-alive connection is closed too");
    assert_eq!(status_of(&answer), Some(200));
    assert!(waited.elapsed() >= timeout);
    assert_eq!(proxy.get("/api/health").await.status, 200);
}

#[tokio::test]
async fn a_full_connection_cap_still_answers_a_normal_client_within_a_second() {
    let captured = support::capture_tracing();
    let proxy = spawn_proxy(|config| {
        config.max_connections = 8;
        // Far longer than the test: only the cap can free a place.
        config.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut stalled = Vec::new();
    for _ in 0..8 {
        let mut stream = connect(&proxy).await;
        stream
            .write_all(unfinished_headers(&proxy).as_bytes())
            .await
            .unwrap();
        stalled.push(stream);
    }
    // Let the proxy take all eight in before the normal client comes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    for round in 0..3 {
        let started = Instant::now();
        let reply = proxy
            .send(reqwest::Client::new().get(proxy.url("/api/health")))
            .await;
        assert_eq!(reply.status, 200, "round {round}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "round {round}: {:?}",
            started.elapsed()
        );
        // More stalled connections keep coming; each takes the place of an older one.
        for _ in 0..4 {
            let mut stream = connect(&proxy).await;
            let _ = stream
                .write_all(unfinished_headers(&proxy).as_bytes())
                .await;
            stalled.push(stream);
        }
    }
    // The oldest stalled connection was the one closed to make room.
    assert!(
        read_until_closed(&mut stalled[0], PATIENCE).await.is_some(),
        "the oldest stalled connection is closed"
    );
    let logged = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(logged.contains("connection cap reached"), "{logged}");
    assert!(logged.contains("max_connections=8"), "{logged}");
}

#[tokio::test]
async fn an_oversized_header_gets_431() {
    let proxy = spawn_proxy(|_| {}).await;
    let host = proxy.base_url.trim_start_matches("http://");
    // hyper's read buffer is about 400 KiB: a header larger than that cannot be parsed.
    let request = format!(
        "GET /api/health HTTP/1.1\r\nhost: {host}\r\nx-big: {}\r\n\r\n",
        "a".repeat(512 * 1024)
    );
    let answer = raw(&proxy, request.as_bytes())
        .await
        .expect("answered, then closed");
    assert_eq!(
        status_of(&answer),
        Some(431),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    // Many headers, each small, hit hyper's limit of 100 headers.
    let mut request = format!("GET /api/health HTTP/1.1\r\nhost: {host}\r\n");
    for i in 0..200 {
        request.push_str(&format!("x-{i}: {i}\r\n"));
    }
    request.push_str("\r\n");
    let answer = raw(&proxy, request.as_bytes()).await.expect("closed");
    assert_eq!(
        status_of(&answer),
        Some(431),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );
    assert_eq!(proxy.get("/api/health").await.status, 200);
}

#[tokio::test]
async fn an_oversized_json_body_gets_413() {
    let proxy = spawn_proxy(|_| {}).await;
    let mut body = direct_post(1000);
    body["post_info"]["title"] = json!("x".repeat(proxy::MAX_JSON_BODY));
    let reply = proxy.post_json("/api/posts", &body).await;
    assert_eq!(reply.status, 413, "{}", reply.body);
    assert_eq!(reply.error().error.code, "payload_too_large");
    assert!(proxy.sim.requests().is_empty(), "TikTok was not asked");
}

#[tokio::test]
async fn event_spam_is_refused_with_429_after_the_cap() {
    let proxy = spawn_proxy(|_| {}).await;
    let created = proxy.create(&direct_post(1000)).await;
    let path = format!("/api/posts/{}/events", created.publish_id);
    let event = json!({"kind": "retried", "chunk": 0, "http_status": 503});
    for i in 0..200 {
        let reply = proxy.post_json(&path, &event).await;
        assert_eq!(reply.status, 204, "event {i}: {}", reply.body);
    }
    for _ in 0..3 {
        let reply = proxy.post_json(&path, &event).await;
        assert_eq!(reply.status, 429, "{}", reply.body);
        assert_eq!(reply.error().error.code, "too_many_events");
    }
    let uploads = proxy
        .log_lines()
        .iter()
        .filter(|line| line["event"] == "upload")
        .count();
    assert_eq!(uploads, 200, "nothing past the cap is logged");
}

#[tokio::test]
async fn the_history_pages_with_limit_and_before() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for i in 0..7 {
        log.push_str(&format!(
            r#"{{"ts":"2025-01-01T00:00:0{i}.000Z","event":"post_created","publish_id":"p{i}","mode":"inbox","video_size":10}}"#
        ));
        log.push('\n');
    }
    log.push_str(r#"{"ts":"2025-01-01T00:01:00.000Z","event":"status","publish_id":"p0","status":"SEND_TO_USER_INBOX"}"#);
    log.push('\n');
    std::fs::write(dir.path().join("posts.jsonl"), log).unwrap();
    let proxy = spawn_proxy_in(dir, sim_options(), |_| {}).await;

    let ids = |page: &Value| -> Vec<String> {
        page["posts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|post| post["publish_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let whole = proxy.get("/api/posts").await.json();
    assert_eq!(ids(&whole), ["p6", "p5", "p4", "p3", "p2", "p1", "p0"]);
    assert!(whole.get("next_before").is_none(), "{whole}");
    assert_eq!(whole["posts"][6]["status"], "SEND_TO_USER_INBOX");

    let mut pages = Vec::new();
    let mut query = "/api/posts?limit=3".to_owned();
    loop {
        let reply = proxy.get(&query).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = reply.json();
        pages.push(ids(&page));
        match page["next_before"].as_u64() {
            Some(before) => query = format!("/api/posts?limit=3&before={before}"),
            None => break,
        }
    }
    assert_eq!(
        pages,
        [vec!["p6", "p5", "p4"], vec!["p3", "p2", "p1"], vec!["p0"]]
    );

    for (query, complaint) in [
        ("limit=0", "limit must be a whole number from 1 to 200"),
        ("limit=201", "limit must be a whole number from 1 to 200"),
        ("limit=many", "limit must be"),
        (
            "before=yesterday",
            "before must be the next_before of a previous page",
        ),
        ("before=-1", "before must be"),
    ] {
        let reply = proxy.get(&format!("/api/posts?{query}")).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.body);
        let error = reply.error().error;
        assert_eq!(error.code, "invalid_query", "{query}");
        assert!(
            error.message.contains(complaint),
            "{query}: {}",
            error.message
        );
    }
}

#[tokio::test]
async fn a_stalled_body_gets_408_and_a_slow_steady_one_goes_through() {
    let idle = Duration::from_secs(1);
    let proxy = spawn_proxy(|config| config.body_idle_timeout = idle).await;
    let host = proxy.base_url.trim_start_matches("http://").to_owned();
    let body = direct_post(1000).to_string();
    let head = format!(
        "POST /api/posts HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );

    // Half the body, then nothing.
    let mut stream = connect(&proxy).await;
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
        .write_all(&body.as_bytes()[..body.len() / 2])
        .await
        .unwrap();
    let started = Instant::now();
    let answer = read_until_closed(&mut stream, idle + PATIENCE)
        .await
        .expect("answered after the idle timeout");
    assert!(started.elapsed() >= idle);
    let text = String::from_utf8_lossy(&answer);
    assert_eq!(status_of(&answer), Some(408), "{text}");
    assert!(text.contains("body_timeout"), "{text}");

    // The same body a piece every 200 ms: 1.6 s in all, longer than the idle timeout.
    let mut stream = connect(&proxy).await;
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    for piece in body.as_bytes().chunks(body.len().div_ceil(8)) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        stream.write_all(piece).await.unwrap();
    }
    assert!(started.elapsed() > idle);
    let (status, text) = first_answer(&mut stream).await;
    assert_eq!(status, Some(201), "{text}");
}

#[tokio::test]
async fn a_stalled_relayed_chunk_gets_408() {
    let mut options = sim_options();
    options.cors = false;
    let idle = Duration::from_secs(1);
    let proxy = spawn_proxy_with(options, |config| config.body_idle_timeout = idle).await;
    let created = proxy.create(&direct_post(1000)).await;
    let host = proxy.base_url.trim_start_matches("http://");
    let mut stream = connect(&proxy).await;
    let head = format!(
        "PUT /api/posts/{}/chunk HTTP/1.1\r\nhost: {host}\r\ncontent-type: video/mp4\r\ncontent-range: bytes 0-999/1000\r\ncontent-length: 1000\r\n\r\n",
        created.publish_id
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&[7u8; 400]).await.unwrap();
    let answer = read_until_closed(&mut stream, idle + PATIENCE)
        .await
        .expect("answered after the idle timeout");
    let text = String::from_utf8_lossy(&answer);
    assert_eq!(status_of(&answer), Some(408), "{text}");
    assert!(text.contains("body_timeout"), "{text}");
}

/// A slow uplink through the relay: a chunk whose upload takes longer than the upstream
/// timeout, but never stalls, goes through byte-exact. Only silence is a timeout, in either
/// direction: reqwest's `read_timeout` would count the whole upload (issue 12, 13).
#[tokio::test]
async fn a_slow_steady_relayed_chunk_outlasts_the_upstream_timeout() {
    let mut options = sim_options();
    options.cors = false;
    let stall = Duration::from_secs(1);
    let proxy = spawn_proxy_with(options, |config| {
        config.upstream_timeout = stall;
        config.body_idle_timeout = stall;
    })
    .await;
    let video = support::video_bytes(40_000);
    let created = proxy.create(&direct_post(video.len() as u64)).await;
    let host = proxy.base_url.trim_start_matches("http://");
    let mut stream = connect(&proxy).await;
    let head = format!(
        "PUT /api/posts/{}/chunk HTTP/1.1\r\nhost: {host}\r\ncontent-type: video/mp4\r\ncontent-range: bytes 0-39999/40000\r\ncontent-length: 40000\r\n\r\n",
        created.publish_id
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // Ten pieces, 250 ms apart: 2.5 s in all, each gap well inside the stall timeout.
    for piece in video.chunks(4000) {
        tokio::time::sleep(Duration::from_millis(250)).await;
        stream.write_all(piece).await.unwrap();
    }
    assert!(started.elapsed() > 2 * stall);
    let (status, text) = first_answer(&mut stream).await;
    assert_eq!(status, Some(201), "{text}");
    let upload = proxy.sim.upload(&created.publish_id).unwrap();
    assert_eq!(upload.sha256, Some(support::sha256_hex(&video)));
}

/// An upload host that stops answering is a 504 once it has been silent for the stall
/// timeout after the last byte went out, not after the whole chunk's worth of time.
#[tokio::test]
async fn a_silent_upload_host_is_a_504_after_the_stall_timeout() {
    let mut options = sim_options();
    options.cors = false;
    let stall = Duration::from_secs(1);
    let proxy = spawn_proxy_with(options, |config| config.upstream_timeout = stall).await;
    let created = proxy.create(&direct_post(1000)).await;
    proxy.sim.script(sim::Fault::Hang {
        endpoint: sim::Endpoint::Upload,
        duration: Duration::from_secs(20),
        times: 1,
    });
    let started = Instant::now();
    let reply = proxy
        .send(
            proxy
                .client
                .put(proxy.url(&format!("/api/posts/{}/chunk", created.publish_id)))
                .header("content-type", "video/mp4")
                .header("content-range", "bytes 0-999/1000")
                .body(vec![1u8; 1000]),
        )
        .await;
    assert_eq!(reply.status, 504, "{}", reply.body);
    assert_eq!(reply.error().error.code, "upload_host_timeout");
    let waited = started.elapsed();
    assert!(waited >= stall && waited < stall + PATIENCE, "{waited:?}");
}

#[tokio::test]
async fn shutdown_does_not_hang_on_a_stalled_body_or_headers() {
    let grace = Duration::from_secs(1);
    let proxy = spawn_proxy(|config| {
        config.upstream_timeout = grace;
        config.header_read_timeout = grace;
        config.body_idle_timeout = Duration::from_secs(600);
    })
    .await;
    let host = proxy.base_url.trim_start_matches("http://").to_owned();
    let mut stalled_body = connect(&proxy).await;
    stalled_body
        .write_all(
            format!("POST /api/posts HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"mode\"")
                .as_bytes(),
        )
        .await
        .unwrap();
    let mut stalled_headers = connect(&proxy).await;
    stalled_headers
        .write_all(unfinished_headers(&proxy).as_bytes())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    tokio::time::timeout(grace + PATIENCE, proxy.stop())
        .await
        .expect("run returns after the grace")
        .expect("cleanly");
    assert!(started.elapsed() >= grace, "the grace was given");
    for stream in [&mut stalled_body, &mut stalled_headers] {
        assert!(
            read_until_closed(stream, PATIENCE).await.is_some(),
            "closed"
        );
    }
}

/// Panics anywhere outside this file (the proxy's tasks, hyper), counted by a hook.
static FOREIGN_PANICS: AtomicUsize = AtomicUsize::new(0);

/// One malformed or random request, as bytes on the wire.
fn malformed_request(rng: &mut StdRng, host: &str, token: &str) -> Vec<u8> {
    const METHODS: [&str; 8] = [
        "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "G\0T", "PÖST",
    ];
    const PATHS: [&str; 10] = [
        "/api/health",
        "/api/posts",
        "/api/posts/v_pub_file~v2-1.1",
        "/api/posts/v_pub_file~v2-1.1/chunk",
        "/api/posts/v_pub_file~v2-1.1/events",
        "/api/creator",
        "/auth/callback",
        "/",
        "/../../etc/passwd",
        "*",
    ];
    let random_text = |rng: &mut StdRng, len: usize| -> String {
        (0..len)
            .map(|_| rng.gen_range(b' '..=b'~') as char)
            .collect()
    };
    let method = METHODS[rng.gen_range(0..METHODS.len())];
    let mut path = PATHS[rng.gen_range(0..PATHS.len())].to_owned();
    if rng.gen_bool(0.3) {
        path.push_str(&format!(
            "?limit={}&before={}",
            rng.gen_range(-5..300),
            random_text(rng, 5)
        ));
    }
    if rng.gen_bool(0.2) {
        let len = rng.gen_range(0..200);
        path = format!("/{}", random_text(rng, len).replace(' ', "%20"));
    }
    let body = match rng.gen_range(0..4) {
        0 => Vec::new(),
        1 => direct_post(rng.gen_range(0..100_000_000))
            .to_string()
            .into_bytes(),
        2 => {
            let mut json = json!({"kind": "retried", "chunk": rng.r#gen::<u32>(), "message": random_text(rng, 50)}).to_string().into_bytes();
            json.truncate(rng.gen_range(0..=json.len()));
            json
        }
        _ => (0..rng.gen_range(0..2000))
            .map(|_| rng.r#gen::<u8>())
            .collect(),
    };
    let mut request = format!("{method} {path} HTTP/1.1\r\nhost: {host}\r\n");
    match rng.gen_range(0..10) {
        0 => request.push_str(&format!("content-length: {}\r\n", body.len())),
        1 => request.push_str(&format!(
            "content-length: {}\r\n",
            body.len() + rng.gen_range(1..100)
        )),
        2 => request.push_str("content-length: -1\r\n"),
        3 => request.push_str("content-length: 99999999999999999999999\r\n"),
        4 => request.push_str("content-length: 3\r\ncontent-length: 4\r\n"),
        5 => request.push_str("transfer-encoding: chunked\r\n"),
        6 => request.push_str(&format!(
            "x-big: {}\r\n",
            "b".repeat(rng.gen_range(1..64 * 1024))
        )),
        7 => request.push_str("x-bad\0header: \x7f\r\nbroken line without colon\r\n"),
        _ => request.push_str(&format!("content-length: {}\r\n", body.len())),
    }
    if rng.gen_bool(0.5) {
        request.push_str("content-type: application/json\r\n");
    }
    // Half with the operator's token, so the routes behind the sign-in are reached too; a
    // few with a forged one or a session cookie that is not one.
    match rng.gen_range(0..10) {
        0..5 => request.push_str(&format!("authorization: Bearer {token}\r\n")),
        5 => request.push_str("authorization: Bearer apt_forged\r\n"),
        6 => request.push_str(&format!(
            "cookie: autoposter_session={}\r\n",
            random_text(rng, 64)
        )),
        _ => {}
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(&body);
    match rng.gen_range(0..10) {
        // Pure noise.
        0 => (0..rng.gen_range(0..4000))
            .map(|_| rng.r#gen::<u8>())
            .collect(),
        // Cut anywhere: a truncated request line, headers or body.
        1 | 2 => {
            bytes.truncate(rng.gen_range(0..=bytes.len()));
            bytes
        }
        // A few bytes flipped.
        3 => {
            for _ in 0..rng.gen_range(1..8) {
                let at = rng.gen_range(0..bytes.len());
                bytes[at] = rng.r#gen();
            }
            bytes
        }
        _ => bytes,
    }
}

/// Resident memory of this process (the proxy runs inside it), in KiB.
fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|line| line.starts_with("VmRSS:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_malformed_requests_neither_panic_nor_stop_the_proxy() {
    const REQUESTS: usize = 10_000;
    const AT_ONCE: usize = 16;
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !info
            .location()
            .is_some_and(|location| location.file().ends_with("tests/abuse.rs"))
        {
            FOREIGN_PANICS.fetch_add(1, Ordering::SeqCst);
        }
        previous(info);
    }));
    let options = sim::SimOptions {
        rate_limits: RateLimits::off(),
        ..sim_options()
    };
    // Configured for the network: every call needs the operator (issue 12's attack table).
    let (proxy, token) = support::spawn_operator_proxy_with(options, |config| {
        config.listen = "0.0.0.0:8787".parse().unwrap();
        config.header_read_timeout = Duration::from_secs(2);
        config.body_idle_timeout = Duration::from_secs(2);
    })
    .await;
    let proxy = std::sync::Arc::new(proxy);
    assert_eq!(proxy.get("/api/health").await.status, 200);
    let memory_before = resident_kib();
    let started = Instant::now();
    let host = proxy.base_url.trim_start_matches("http://").to_owned();
    let mut rng = StdRng::seed_from_u64(12);
    let mut requests: Vec<Vec<u8>> = (0..REQUESTS)
        .map(|_| malformed_request(&mut rng, &host, &token))
        .collect();
    // Closed without an answer, 1xx to 5xx, still open.
    let mut answered = [0usize; 7];
    let mut tasks = tokio::task::JoinSet::new();
    while !requests.is_empty() || !tasks.is_empty() {
        while tasks.len() < AT_ONCE
            && let Some(request) = requests.pop()
        {
            let proxy = proxy.clone();
            tasks
                .spawn(async move { raw(&proxy, &request).await.map(|answer| status_of(&answer)) });
        }
        let outcome = tasks.join_next().await.expect("a task").expect("no panic");
        let class = match outcome {
            None => 6,
            Some(None) => 0,
            Some(Some(status)) => usize::from(status / 100).min(5),
        };
        answered[class] += 1;
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "bounded in time"
        );
    }
    println!(
        "{REQUESTS} requests in {:?}: closed without answer {}, 2xx {}, 3xx {}, 4xx {}, 5xx {}, still open {}; memory {} -> {} KiB",
        started.elapsed(),
        answered[0],
        answered[2],
        answered[3],
        answered[4],
        answered[5],
        answered[6],
        memory_before,
        resident_kib()
    );
    assert_eq!(answered[6], 0, "every connection ended");
    assert!(answered[4] > REQUESTS / 2, "{answered:?}");
    assert_eq!(FOREIGN_PANICS.load(Ordering::SeqCst), 0, "nothing panicked");
    assert!(!proxy.task.is_finished(), "the proxy still runs");
    assert_eq!(proxy.get("/api/health").await.status, 200);
    assert!(
        resident_kib().saturating_sub(memory_before) < 256 * 1024,
        "memory stays bounded"
    );
}
