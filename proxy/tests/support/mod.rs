//! Test plumbing: a simulator and a proxy wired together on loopback, and small HTTP helpers.

pub mod tmpfs;

use bytes::Bytes;
use protocol::wire::{CreatedPost, ErrorBody};
use proxy::{Config, Secret};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sim::{Sim, SimOptions};
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running simulator and a proxy pointed at it, with its log in a temporary directory.
pub struct Proxy {
    pub sim: Sim,
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub base_url: String,
    pub log_path: PathBuf,
    pub client: reqwest::Client,
    /// Completes the proxy's shutdown future.
    pub shutdown: Option<oneshot::Sender<()>>,
    /// `run`'s task; its result says whether shutdown was clean.
    pub task: JoinHandle<anyhow::Result<()>>,
    /// Keeps the log's directory alive.
    pub _dir: tempfile::TempDir,
}

/// The simulator's options for tests: TikTok as documented, but quick to finish processing.
pub fn sim_options() -> SimOptions {
    SimOptions {
        processing_delay: Duration::from_millis(100),
        ..SimOptions::default()
    }
}

/// A simulator with default test options, and a proxy with the token it accepts, configured
/// by `tweak`.
pub async fn spawn_proxy(tweak: impl FnOnce(&mut Config)) -> Proxy {
    spawn_proxy_with(sim_options(), tweak).await
}

/// Like [`spawn_proxy`], with the simulator's options chosen by the caller.
pub async fn spawn_proxy_with(options: SimOptions, tweak: impl FnOnce(&mut Config)) -> Proxy {
    let dir = tempfile::tempdir().expect("a temporary directory");
    spawn_proxy_in(dir, options, tweak).await
}

/// A proxy with operator access on (an API token in its token file), configured by `tweak`;
/// its `client` sends that token with every request, as a script would. `anonymous` is a
/// client without it.
pub async fn spawn_operator_proxy(tweak: impl FnOnce(&mut Config)) -> (Proxy, String) {
    spawn_operator_proxy_with(sim_options(), tweak).await
}

/// Like [`spawn_operator_proxy`], with the simulator's options chosen by the caller.
pub async fn spawn_operator_proxy_with(
    options: SimOptions,
    tweak: impl FnOnce(&mut Config),
) -> (Proxy, String) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let tokens_file = dir.path().join("api-tokens.json");
    let (token, _) = proxy::api_tokens::create(&tokens_file, "tests").expect("a token");
    let mut proxy = spawn_proxy_in(dir, options, |config| {
        config.operator.api_tokens_file = tokens_file;
        tweak(config);
    })
    .await;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    proxy.client = reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap();
    (proxy, token)
}

/// Like [`spawn_proxy_with`], in a directory the caller prepared (a log already there).
pub async fn spawn_proxy_in(
    dir: tempfile::TempDir,
    options: SimOptions,
    tweak: impl FnOnce(&mut Config),
) -> Proxy {
    let sim = sim::spawn(options).await.expect("the simulator starts");
    spawn_proxy_on(sim, dir, tweak).await
}

/// A proxy on a running simulator, with its files in `dir` (a log already there is kept).
pub async fn spawn_proxy_on(
    sim: Sim,
    dir: tempfile::TempDir,
    tweak: impl FnOnce(&mut Config),
) -> Proxy {
    let log_path = dir.path().join("posts.jsonl");
    let mut config = Config {
        api_base: sim.base_url(),
        access_token: Some(Secret::new(sim.access_token())),
        log_path: log_path.clone(),
        uploads_dir: dir.path().join("uploads"),
        job_poll_interval: Duration::from_millis(20),
        upstream_timeout: Duration::from_secs(5),
        status_cache_ttl: Duration::from_millis(10),
        operator: proxy::OperatorConfig {
            api_tokens_file: dir.path().join("api-tokens.json"),
            ..proxy::OperatorConfig::default()
        },
        ..Config::default()
    };
    tweak(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("a free port");
    let base_url = format!("http://{}", listener.local_addr().unwrap());
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

/// A response read whole: status, headers as text, body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn error(&self) -> ErrorBody {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// Everything the caller received, as one string, for "never contains" checks.
    pub fn everything(&self) -> String {
        let mut all = format!("{}\n", self.status);
        for (name, value) in &self.headers {
            all.push_str(&format!("{name}: {value}\n"));
        }
        all.push_str(&self.body);
        all
    }
}

impl Proxy {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("the proxy answers");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.text().await.expect("a readable body");
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> Reply {
        self.send(self.json_request(path, body)).await
    }

    /// `POST path` with `body` as JSON, for the caller to add headers to.
    pub fn json_request(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_string())
    }

    /// `POST /api/posts` that must succeed.
    pub async fn create(&self, body: &Value) -> CreatedPost {
        let reply = self.post_json("/api/posts", body).await;
        assert_eq!(reply.status, 201, "{}", reply.body);
        serde_json::from_str(&reply.body).unwrap()
    }

    /// Polls `GET /api/posts/{id}` until the status is final; returns the last body.
    pub async fn poll_until_final(&self, publish_id: &str) -> Value {
        for _ in 0..200 {
            let reply = self.get(&format!("/api/posts/{publish_id}")).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let state = reply.json();
            let status = state["status"].as_str().unwrap().to_owned();
            if ["PUBLISH_COMPLETE", "SEND_TO_USER_INBOX", "FAILED"].contains(&status.as_str()) {
                return state;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{publish_id} never reached a final status");
    }

    /// The log's lines, each parsed (panics on any unreadable line).
    pub fn log_lines(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        text.lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
            .collect()
    }

    /// Stops the proxy and starts a new one on the same simulator, log and directory,
    /// configured by `tweak` as a fresh start would be.
    pub async fn restart(self, tweak: impl FnOnce(&mut Config)) -> Proxy {
        let Proxy {
            sim,
            shutdown,
            task,
            _dir: dir,
            ..
        } = self;
        if let Some(shutdown) = shutdown {
            let _ = shutdown.send(());
        }
        task.await
            .expect("run does not panic")
            .expect("a clean shutdown");
        spawn_proxy_on(sim, dir, tweak).await
    }

    /// Stops the proxy and waits for `run` to return.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        self.task.await.expect("run does not panic")
    }
}

/// `len` deterministic, non-repeating-looking bytes.
pub fn video_bytes(len: usize) -> Bytes {
    let mut state: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            // xorshift32: cheap, deterministic, and not a pattern a bug could accidentally match.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect::<Vec<u8>>()
        .into()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// PUTs `video` to `created.upload_url` in the announced chunks, as the browser would; returns
/// the status of each PUT.
pub async fn upload(created: &CreatedPost, video: &Bytes, content_type: &str) -> Vec<u16> {
    let client = reqwest::Client::new();
    let plan = created.plan(video.len() as u64);
    let mut statuses = Vec::new();
    for chunk in plan.chunks() {
        let body = video.slice(chunk.start as usize..chunk.end as usize);
        let response = client
            .put(&created.upload_url)
            .header("content-type", content_type)
            .header("content-range", chunk.content_range())
            .body(body)
            .send()
            .await
            .expect("the upload host answers");
        statuses.push(response.status().as_u16());
    }
    statuses
}

/// A fake upstream that answers every request with `response` (raw HTTP/1.1), for answers no
/// real TikTok (nor the simulator) gives. Returns its base URL.
pub async fn fake_upstream(response: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = stream.read(&mut buffer).await;
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    base
}

/// Sends `GET {path}` exactly as written (no URL normalisation, unlike reqwest) and returns the
/// status code.
pub async fn raw_get_status(base_url: &str, path: &str) -> u16 {
    let address = base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nhost: {address}\r\nconnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"))
}

/// Collects every tracing line the proxy writes, for the secret sweeps.
#[derive(Clone, Default)]
pub struct Captured(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The proxy's tracing output (every level) from the moment this is first called, for the whole
/// test binary (so the other tests' requests are swept too). Global: a thread-local subscriber
/// misses callsites other tests' threads registered first.
pub fn capture_tracing() -> Captured {
    static CAPTURED: std::sync::OnceLock<Captured> = std::sync::OnceLock::new();
    CAPTURED
        .get_or_init(|| {
            let captured = Captured::default();
            let writer = captured.clone();
            tracing_subscriber::fmt()
                .with_env_filter(tracing_subscriber::EnvFilter::new("proxy=trace"))
                .with_writer(move || writer.clone())
                .with_ansi(false)
                .init();
            captured
        })
        .clone()
}

/// The proxy binary with an empty environment, but for where an instrumented build (under
/// `cargo llvm-cov`) writes its coverage profile: `LLVM_PROFILE_FILE`, when set.
pub fn proxy_binary() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_proxy"));
    command.env_clear();
    if let Some(profile) = std::env::var_os("LLVM_PROFILE_FILE") {
        command.env("LLVM_PROFILE_FILE", profile);
    }
    command
}

/// Runs the proxy binary with `env` only (and a free loopback port), and returns its exit
/// status and everything it printed.
pub fn run_binary(env: &[(&str, &str)]) -> (std::process::ExitStatus, String) {
    let output = proxy_binary()
        .envs(env.iter().copied())
        .env("AUTOPOSTER_LISTEN", "127.0.0.1:0")
        .output()
        .expect("the proxy binary runs");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status, printed)
}

/// An ISO-BMFF `ftyp` box: what makes the bytes after it sniff as MP4.
const MP4_HEAD: &[u8] = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";

/// `len` deterministic bytes that sniff as an MP4.
pub fn mp4_video(len: usize) -> Bytes {
    let mut bytes = video_bytes(len).to_vec();
    bytes[..MP4_HEAD.len()].copy_from_slice(MP4_HEAD);
    bytes.into()
}

impl Proxy {
    /// `POST /api/upload{query}` with `video` as the raw body (`video/mp4`).
    pub async fn post_video(&self, query: &str, video: Bytes) -> Reply {
        self.send(
            self.client
                .post(self.url(&format!("/api/upload{query}")))
                .header("content-type", "video/mp4")
                .body(video),
        )
        .await
    }

    /// `POST /api/upload{query}` (with `wait=true`) that must answer 200 with TikTok's `status`;
    /// the job.
    pub async fn post_video_to(&self, query: &str, video: Bytes, status: &str) -> Value {
        let reply = self.post_video(query, video).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let job = reply.json();
        assert_eq!(job["status"], status, "{job}");
        job
    }

    /// Polls `GET /api/jobs/{job_id}` until `done` holds (at most about 30 s); returns the job.
    pub async fn job_until(&self, job_id: &str, done: impl Fn(&Value) -> bool) -> Value {
        let mut job = Value::Null;
        for _ in 0..600 {
            let reply = self.get(&format!("/api/jobs/{job_id}")).await;
            assert_eq!(reply.status, 200, "{}", reply.body);
            job = reply.json();
            if done(&job) {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{job_id} never got there: {job}");
    }
}

/// Whether a job's stage is one of `stages`.
pub fn stage_in<'a>(stages: &'a [&'a str]) -> impl Fn(&Value) -> bool + 'a {
    move |job| stages.contains(&job["stage"].as_str().unwrap_or(""))
}
