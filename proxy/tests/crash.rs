//! Exactly once across crashes: the real `proxy` binary, killed with SIGKILL at each point of a
//! job (its init on the way, after init, mid-upload, right after TikTok took the last chunk,
//! while polling), then started again on the same files. The simulator (in this process, so it
//! outlives the proxy) must end with exactly one complete post, byte-exact, no chunk accepted
//! twice, and no second init while the upload URL lived.
//!
//! Each kill point is reached deterministically: a scripted fault holds the proxy at that point
//! (a hung PUT or status call), and the test waits until the simulator sees it there. One more
//! test restarts the proxy after the upload URL died: one fresh init, still one post.

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use bytes::Bytes;
use nix::sys::signal::{self, Signal};
use nix::unistd::Pid;
use protocol::ChunkPlan;
use serde_json::Value;
use sim::{Endpoint, Fault, Sim, SimOptions};
use std::io::BufRead;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use support::{mp4_video, sha256_hex};

/// Over 64,000,000 bytes, so it goes in chunks (six of 10 MiB, the last one larger).
const MULTI_CHUNK: usize = 64_000_001;

/// How long a held request stays held: longer than any test needs to kill the proxy.
const HOLD: Duration = Duration::from_secs(20);

/// How long a proxy told to stop (SIGTERM) may take before it is killed: its shutdown grace,
/// with room for a loaded machine.
const STOP_GRACE: Duration = Duration::from_secs(15);

/// The proxy binary, running on loopback against the simulator, with its files in a directory
/// that outlives it. Stopped when dropped, so a failing test leaves nothing running.
struct Running {
    child: Child,
    base_url: String,
    client: reqwest::Client,
}

impl Running {
    /// Starts the binary and waits for the address it printed.
    async fn start(sim: &Sim, dir: &Path) -> Self {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("proxy.stderr"))
            .unwrap();
        let mut child = support::proxy_binary()
            .env("TIKTOK_ACCESS_TOKEN", sim.access_token())
            .env("RUST_LOG", "info")
            .args(["--listen", "127.0.0.1:0", "--api-base", &sim.base_url()])
            .arg("--log")
            .arg(dir.join("posts.jsonl"))
            .arg("--uploads-dir")
            .arg(dir.join("uploads"))
            .args([
                "--job-poll-interval",
                "200ms",
                "--status-cache-ttl",
                "10ms",
                "--upstream-timeout",
                "5s",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the proxy binary starts");
        let stdout = child.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufReader::new(stdout)
                .read_line(&mut line)
                .unwrap();
            line
        })
        .await
        .unwrap();
        let base_url = line
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|url| url.strip_suffix('/'))
            .unwrap_or_else(|| panic!("no address in {line:?}"))
            .to_owned();
        Self {
            child,
            base_url,
            client: reqwest::Client::new(),
        }
    }

    /// Starts the binary and posts `video` privately; the job's first answer and its id.
    async fn start_posting(sim: &Sim, dir: &Path, video: &Bytes) -> (Self, Value, String) {
        let proxy = Self::start(sim, dir).await;
        let job = proxy.post("?privacy_level=SELF_ONLY", video.clone()).await;
        let job_id = job["job_id"].as_str().unwrap().to_owned();
        (proxy, job, job_id)
    }

    /// Kills the binary (SIGKILL), starts it again on the same files and waits for the job,
    /// which must end done.
    async fn kill_and_finish(self, sim: &Sim, dir: &Path, job_id: &str) -> Value {
        self.kill();
        Self::restart_until_done(sim, dir, job_id).await
    }

    /// Starts the binary again on the same files and waits for the job, which must end done.
    async fn restart_until_done(sim: &Sim, dir: &Path, job_id: &str) -> Value {
        let proxy = Self::start(sim, dir).await;
        let done = proxy.job_until_final(job_id).await;
        assert_eq!(done["stage"], "done", "{done}");
        done
    }

    /// SIGKILL: no shutdown, no last write.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    async fn post(&self, query: &str, video: Bytes) -> Value {
        let reply = self
            .client
            .post(format!("{}/api/upload{query}", self.base_url))
            .header("content-type", "video/mp4")
            .body(video)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 202);
        serde_json::from_str(&reply.text().await.unwrap()).unwrap()
    }

    async fn job(&self, job_id: &str) -> Value {
        let reply = self
            .client
            .get(format!("{}/api/jobs/{job_id}", self.base_url))
            .send()
            .await
            .unwrap();
        serde_json::from_str(&reply.text().await.unwrap()).unwrap()
    }

    /// Polls the job until it is final (at most a minute).
    async fn job_until_final(&self, job_id: &str) -> Value {
        let mut job = Value::Null;
        for _ in 0..600 {
            job = self.job(job_id).await;
            if ["done", "failed", "cancelled"].contains(&job["stage"].as_str().unwrap_or("")) {
                return job;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{job_id} never finished: {job}");
    }
}

impl Drop for Running {
    /// SIGTERM, as a deploy would stop it: the proxy shuts down cleanly, and an instrumented
    /// build writes its coverage profile. SIGKILL if it is still there after [`STOP_GRACE`].
    fn drop(&mut self) {
        // A child already waited for (after `kill`) has given up its pid: signal only a live one.
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("a pid fits an i32"));
        let live = matches!(self.child.try_wait(), Ok(None));
        if live && signal::kill(pid, Signal::SIGTERM).is_ok() {
            let deadline = Instant::now() + STOP_GRACE;
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits (at most 30 s) until `what` holds.
async fn until(what: &str, holds: impl Fn() -> bool) {
    for _ in 0..1500 {
        if holds() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("never: {what}");
}

/// The job's record as on disk.
fn record(dir: &Path, job_id: &str) -> Value {
    let path = dir.join("uploads/jobs").join(format!("{job_id}.json"));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn puts(sim: &Sim) -> usize {
    sim.requests().iter().filter(|r| r.method == "PUT").count()
}

fn inits(sim: &Sim) -> usize {
    sim.requests()
        .iter()
        .filter(|request| {
            request.path == Endpoint::VideoInit.path() || request.path == Endpoint::InboxInit.path()
        })
        .count()
}

/// Whether the simulator has received a PUT of the chunk starting at `start`.
fn put_seen(sim: &Sim, start: u64) -> bool {
    sim.requests().iter().any(|request| {
        request.method == "PUT"
            && request
                .header("content-range")
                .is_some_and(|range| range.starts_with(&format!("bytes {start}-")))
    })
}

/// The simulator holds exactly one complete post of `video`, each chunk of its plan accepted
/// once and in order, from `expected_inits` inits.
fn assert_posted_once(sim: &Sim, video: &[u8], expected_inits: usize) {
    let complete: Vec<_> = sim.uploads().into_iter().filter(|u| u.complete).collect();
    assert_eq!(complete.len(), 1, "exactly one post: {:?}", sim.uploads());
    let upload = &complete[0];
    assert_eq!(
        upload.sha256.as_deref(),
        Some(sha256_hex(video).as_str()),
        "byte-exact"
    );
    let plan = ChunkPlan::new(video.len() as u64).unwrap();
    let planned: Vec<_> = plan.chunks().collect();
    assert_eq!(
        upload.chunks_accepted, planned,
        "every chunk once, in order"
    );
    assert_eq!(inits(sim), expected_inits, "inits made");
}

/// The simulator holds the PUT of chunk `index` (without answering) for [`HOLD`].
fn hold_chunk(sim: &Sim, index: u64) {
    sim.script(Fault::HangChunk {
        chunk: index,
        duration: HOLD,
    });
}

async fn sim() -> Sim {
    sim::spawn(SimOptions {
        processing_delay: Duration::from_millis(300),
        ..SimOptions::default()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_init_before_any_chunk_the_job_resumes_without_a_second_init() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let video = mp4_video(3_000_000);
    hold_chunk(&sim, 0);
    let (proxy, job, job_id) = Running::start_posting(&sim, dir.path(), &video).await;
    until("the first PUT is at TikTok", || put_seen(&sim, 0)).await;
    let saved = record(dir.path(), &job_id);
    assert_eq!(saved["state"]["stage"], "uploading", "{saved}");
    assert_eq!(saved["state"]["confirmed"], 0);
    let done = proxy.kill_and_finish(&sim, dir.path(), &job_id).await;
    assert_eq!(done["publish_id"], job["publish_id"]);
    assert_posted_once(&sim, &video, 1);
    assert_eq!(puts(&sim), 2, "the held PUT, then the same chunk once more");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_upload_the_job_resyncs_from_tiktok_and_sends_only_the_rest() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let video = mp4_video(MULTI_CHUNK);
    let plan = ChunkPlan::new(MULTI_CHUNK as u64).unwrap();
    let third = plan.chunk(2).unwrap();
    hold_chunk(&sim, 2);
    let (proxy, job, job_id) = Running::start_posting(&sim, dir.path(), &video).await;
    until("the third chunk's PUT is at TikTok", || {
        put_seen(&sim, third.start)
    })
    .await;
    // The record holds the upload URL; its progress may lag (it is written at most once a
    // second), never lead: TikTok's status tells the restart where to go on.
    let saved = record(dir.path(), &job_id);
    assert_eq!(saved["state"]["stage"], "uploading", "{saved}");
    assert_eq!(saved["state"]["publish_id"], job["publish_id"]);
    assert!(
        saved["state"]["confirmed"].as_u64().unwrap() <= third.start,
        "{saved}"
    );
    proxy.kill_and_finish(&sim, dir.path(), &job_id).await;
    assert_posted_once(&sim, &video, 1);
    // The first two chunks went once: after the restart the PUTs start at the third.
    let puts_of_first = sim
        .requests()
        .iter()
        .filter(|r| {
            r.method == "PUT"
                && r.header("content-range")
                    .is_some_and(|c| c.starts_with("bytes 0-"))
        })
        .count();
    assert_eq!(puts_of_first, 1);
    assert_eq!(
        puts(&sim),
        plan.total_chunk_count as usize + 1,
        "each chunk once, and the held one again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_tiktok_took_the_last_chunk_unanswered_the_job_learns_it_from_tiktok() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let video = mp4_video(MULTI_CHUNK);
    let plan = ChunkPlan::new(MULTI_CHUNK as u64).unwrap();
    let last = plan.chunk(plan.total_chunk_count - 1).unwrap();
    sim.script(Fault::LateAnswer {
        chunk: last.index,
        duration: HOLD,
    });
    let (proxy, job, job_id) = Running::start_posting(&sim, dir.path(), &video).await;
    let publish_id = job["publish_id"].as_str().unwrap().to_owned();
    until("TikTok holds every byte", || {
        sim.upload(&publish_id)
            .is_some_and(|upload| upload.complete)
    })
    .await;
    // The proxy does not know yet: its record still waits for the last chunk's answer.
    let saved = record(dir.path(), &job_id);
    assert_eq!(saved["state"]["stage"], "uploading", "{saved}");
    assert!(
        saved["state"]["confirmed"].as_u64().unwrap() <= last.start,
        "{saved}"
    );
    let done = proxy.kill_and_finish(&sim, dir.path(), &job_id).await;
    assert_eq!(done["status"], "PUBLISH_COMPLETE");
    assert_posted_once(&sim, &video, 1);
    assert_eq!(
        puts(&sim),
        plan.total_chunk_count as usize,
        "nothing sent again: TikTok's status said it held every byte"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_last_chunk_before_any_status_the_job_polls_on() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let video = mp4_video(3_000_000);
    sim.script(Fault::Hang {
        endpoint: Endpoint::StatusFetch,
        duration: HOLD,
        times: 1,
    });
    let (proxy, _, job_id) = Running::start_posting(&sim, dir.path(), &video).await;
    until("the first status call is at TikTok", || {
        sim.requests()
            .iter()
            .any(|r| r.path == Endpoint::StatusFetch.path())
    })
    .await;
    assert_eq!(record(dir.path(), &job_id)["state"]["stage"], "uploaded");
    proxy.kill_and_finish(&sim, dir.path(), &job_id).await;
    assert_posted_once(&sim, &video, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_polling_the_job_polls_on_to_tiktoks_final_word() {
    let sim = sim::spawn(SimOptions {
        processing_delay: Duration::from_secs(3),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let video = mp4_video(3_000_000);
    let (proxy, _, job_id) = Running::start_posting(&sim, dir.path(), &video).await;
    until("a few status polls were answered PROCESSING_UPLOAD", || {
        sim.requests()
            .iter()
            .filter(|r| r.path == Endpoint::StatusFetch.path() && r.status == 200)
            .count()
            >= 2
    })
    .await;
    assert_eq!(record(dir.path(), &job_id)["state"]["stage"], "uploaded");
    proxy.kill_and_finish(&sim, dir.path(), &job_id).await;
    assert_posted_once(&sim, &video, 1);
}

/// The one gap: killed while TikTok's init answer is on its way back, the record says only
/// that an init was sent (`initializing`). TikTok has no way to look an init up, so the next
/// start inits again. Still exactly one post: the first init, if TikTok made it, never gets a
/// byte and expires with its upload URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_while_init_is_on_its_way_a_fresh_init_still_makes_exactly_one_post() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let video = mp4_video(3_000_000);
    sim.script(Fault::Hang {
        endpoint: Endpoint::VideoInit,
        duration: Duration::from_secs(2),
        times: 1,
    });
    let proxy = Running::start(&sim, dir.path()).await;
    let job_id = {
        // The 202 waits for the publish_id; the job id is in the records meanwhile.
        let post = proxy.post("?privacy_level=SELF_ONLY", video.clone());
        let watch = async {
            until("the init is at TikTok", || inits(&sim) == 1).await;
            let jobs = std::fs::read_dir(dir.path().join("uploads/jobs"))
                .unwrap()
                .flatten()
                .find(|entry| entry.path().extension().is_some_and(|ext| ext == "json"))
                .unwrap();
            jobs.path()
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        };
        tokio::select! {
            job_id = watch => job_id,
            _ = post => panic!("the init answered before the kill"),
        }
    };
    assert_eq!(
        record(dir.path(), &job_id)["state"]["stage"],
        "initializing"
    );
    proxy.kill_and_finish(&sim, dir.path(), &job_id).await;
    // Let the held init finish at TikTok: it may open a session, which stays empty.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let complete: Vec<_> = sim.uploads().into_iter().filter(|u| u.complete).collect();
    assert_eq!(complete.len(), 1, "{:?}", sim.uploads());
    assert_eq!(
        complete[0].sha256.as_deref(),
        Some(sha256_hex(&video).as_str())
    );
    assert!(
        sim.uploads()
            .iter()
            .all(|u| u.complete || u.received_bytes == 0)
    );
    assert_eq!(inits(&sim), 2, "the one documented second init");
}

/// Killed after init and started again once the upload URL has died: the one fresh init the
/// job may make, and still exactly one post.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_after_the_upload_url_died_the_job_makes_one_fresh_init() {
    let sim = sim::spawn(SimOptions {
        processing_delay: Duration::from_millis(300),
        upload_url_ttl: Duration::from_secs(2),
        ..SimOptions::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let video = mp4_video(3_000_000);
    hold_chunk(&sim, 0);
    let (proxy, job, job_id) = Running::start_posting(&sim, dir.path(), &video).await;
    until("the first PUT is at TikTok", || put_seen(&sim, 0)).await;
    proxy.kill();
    // Down until the upload URL is dead.
    tokio::time::sleep(Duration::from_millis(2500)).await;

    let done = Running::restart_until_done(&sim, dir.path(), &job_id).await;
    assert_ne!(done["publish_id"], job["publish_id"], "a new upload");
    assert_posted_once(&sim, &video, 2);
    let first = sim.upload(job["publish_id"].as_str().unwrap()).unwrap();
    assert_eq!(first.received_bytes, 0, "the dead upload got nothing");
}
