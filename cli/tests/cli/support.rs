//! Test plumbing: a simulator and a proxy with operator access on, running in-process on
//! loopback, and the `autoposter` binary run against them as a script would run it.

use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use proxy::{Config, Secret};
use sim::{Sim, SimOptions};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The simulator and the proxy, on a runtime of their own so the tests can block on the
/// binary like any caller.
pub struct Stack {
    pub sim: Sim,
    /// `http://127.0.0.1:PORT` of the proxy.
    pub url: String,
    /// An API token of this proxy (`apt_…`).
    pub token: String,
    /// Completes the running proxy's shutdown future; `run`'s task.
    proxy: Option<(oneshot::Sender<()>, JoinHandle<anyhow::Result<()>>)>,
    /// The proxy's files, kept across its restarts.
    dir: tempfile::TempDir,
    /// Dropped last: stops the sim's and the proxy's tasks.
    runtime: tokio::runtime::Runtime,
}

impl Stack {
    /// A simulator quick to finish processing, and a proxy configured as if it were on the
    /// network (so every call needs the API token) with one token created.
    pub fn start() -> Self {
        Self::start_with(SimOptions {
            processing_delay: Duration::from_millis(100),
            ..SimOptions::default()
        })
    }

    /// Like [`Stack::start`], with the simulator's options chosen by the caller.
    pub fn start_with(options: SimOptions) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        let dir = tempfile::tempdir().expect("a temporary directory");
        let tokens_file = dir.path().join("api-tokens.json");
        let (token, _) = proxy::api_tokens::create(&tokens_file, "cli-tests").expect("a token");
        let sim = runtime
            .block_on(sim::spawn(options))
            .expect("the simulator starts");
        let mut stack = Self {
            sim,
            url: String::new(),
            token,
            proxy: None,
            dir,
            runtime,
        };
        stack.start_proxy("127.0.0.1:0");
        stack
    }

    /// Stops the proxy (as a deploy would: gracefully) and starts a new one on the same
    /// address, files and simulator.
    pub fn restart_proxy(&mut self) {
        let (shutdown, task) = self.proxy.take().expect("a running proxy");
        let _ = shutdown.send(());
        self.runtime
            .block_on(task)
            .expect("run does not panic")
            .expect("a clean shutdown");
        let address = self.url.trim_start_matches("http://").to_owned();
        self.start_proxy(&address);
    }

    fn start_proxy(&mut self, address: &str) {
        let dir = self.dir.path();
        let config = Config {
            // Only the configuration says so (the listener is on 127.0.0.1): operator access
            // is then required, as on a real server.
            listen: "0.0.0.0:8787".parse().expect("an address"),
            api_base: self.sim.base_url(),
            access_token: Some(Secret::new(self.sim.access_token())),
            log_path: dir.join("posts.jsonl"),
            uploads_dir: dir.join("uploads"),
            // TikTok allows 30 status calls a minute: polled every 20 ms through two seconds of
            // processing, a job meets TikTok's 429s, and the proxy counts those toward failing it.
            job_poll_interval: Duration::from_millis(100),
            upstream_timeout: Duration::from_secs(5),
            status_cache_ttl: Duration::from_millis(10),
            operator: proxy::OperatorConfig {
                api_tokens_file: dir.join("api-tokens.json"),
                ..proxy::OperatorConfig::default()
            },
            ..Config::default()
        };
        let (url, shutdown, task) = self.runtime.block_on(async {
            let listener = TcpListener::bind(address).await.expect("a free port");
            let url = format!("http://{}", listener.local_addr().expect("bound"));
            let (shutdown, stop) = oneshot::channel::<()>();
            let task = tokio::spawn(proxy::run(listener, config, async {
                let _ = stop.await;
            }));
            (url, shutdown, task)
        });
        self.url = url;
        self.proxy = Some((shutdown, task));
    }

    /// The binary, pointed at this proxy with its token through the environment.
    pub fn cli(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_autoposter"));
        command
            .env("AUTOPOSTER_URL", &self.url)
            .env("AUTOPOSTER_TOKEN", &self.token);
        command
    }

    /// Runs the binary with `args` to its end.
    pub fn run(&self, args: &[&str]) -> Run {
        Run::of(self.cli().args(args).output().expect("the binary runs"))
    }

    /// The uploads the simulator holds that are complete.
    pub fn complete_uploads(&self) -> Vec<sim::UploadRecord> {
        self.sim
            .uploads()
            .into_iter()
            .filter(|upload| upload.complete)
            .collect()
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some((shutdown, _)) = self.proxy.take() {
            let _ = shutdown.send(());
        }
        let _inside = self.runtime.enter();
        self.sim.shutdown();
        // Give the proxy's tasks a moment to end before the runtime drops them.
        self.runtime
            .block_on(tokio::time::sleep(Duration::from_millis(50)));
    }
}

/// A finished run: exit code and what it printed.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn of(output: Output) -> Self {
        Self {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Panics with everything printed unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(self.code, code, "exit code\n{self}");
        self
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }
}

/// A binary running in the background. Dropped, it is stopped as `kill` would stop it
/// (SIGTERM), so a failing test leaves no watcher behind and an instrumented build (under
/// `cargo llvm-cov`) writes its coverage profile; SIGKILL if it is still there after
/// [`STOP_GRACE`].
pub struct Background(Option<std::process::Child>);

/// How long a binary told to stop may take: a watcher stops between two looks, once the look
/// in progress (which may be sending a video) is over.
const STOP_GRACE: Duration = Duration::from_secs(30);

impl Background {
    pub fn new(child: std::process::Child) -> Self {
        Self(Some(child))
    }

    /// Kills it now (SIGKILL), as a crash or `kill -9` would: no last write.
    pub fn kill(mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops it as `kill` would (SIGTERM, see [`Background`]), and what it printed.
    pub fn terminate(mut self) -> Run {
        let mut child = self.0.take().expect("not finished yet");
        stop(&mut child);
        Run::of(child.wait_with_output().expect("the binary ended"))
    }

    /// Waits for it to end by itself, and what it printed.
    pub fn finish(mut self) -> Run {
        let child = self.0.take().expect("not finished yet");
        Run::of(child.wait_with_output().expect("the binary ends"))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            stop(&mut child);
        }
    }
}

/// SIGTERM, then SIGKILL if `child` is still there after [`STOP_GRACE`].
fn stop(child: &mut std::process::Child) {
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("a pid fits an i32"));
    if signal::kill(pid, Signal::SIGTERM).is_ok() {
        let start = Instant::now();
        while start.elapsed() < STOP_GRACE && matches!(child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The real 5-second clip the e2e tests use (82 KB, H.264 in MP4).
pub fn clip() -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/clip.mp4"))
        .expect("tests/fixtures/clip.mp4")
}

/// The clip with `tag` appended, grown to at least `len` bytes: a different video to the
/// duplicate guard, still an MP4 by its first bytes.
pub fn clip_variant(tag: &str, len: usize) -> Vec<u8> {
    let mut bytes = clip();
    bytes.extend_from_slice(tag.as_bytes());
    let mut state: u32 = tag
        .bytes()
        .fold(0x9e37_79b9, |s, b| s.rotate_left(5) ^ u32::from(b));
    while bytes.len() < len {
        // xorshift32: cheap filler that differs per tag.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        bytes.push(state as u8);
    }
    bytes
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Waits up to `limit` for `done` to hold, looking every 50 ms.
pub fn eventually(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The names in `dir`, sorted; empty when it does not exist.
pub fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|listing| {
            listing
                .flatten()
                .map(|item| item.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}
