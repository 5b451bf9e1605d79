//! Figure 8: the server-side poster (issue 14). `curl` sends a video to
//! `POST /api/upload?wait=true` as a raw `video/mp4` body; the proxy spools it to disk, then posts it to the simulator from
//! the file. Its upload is timed from the proxy's own JSONL log: from the `post_created` event
//! (stamped just before the init call, so after the spooled file is complete) to the first
//! `status` event (the poll made at once after the last chunk was accepted). That span holds
//! the init, every chunk PUT, the job record's saves (after init, at most once a second while
//! the chunks go, once uploaded) and one `status/fetch`: a
//! few loopback calls more than the reference, `curl` PUTting the same chunk plan straight to
//! the simulator. The log stamps milliseconds.
//!
//! Diagnostic: the same post with the proxy's uploads directory on tmpfs (`/dev/shm`), where
//! the spool's write-back and the `fsync`s of the job record's saves cost
//! nothing — the disk's share of the poster's time.
//!
//! Each upload runs on a fresh simulator and proxy, so the proxy's peak RSS (`VmHWM`, read
//! after the call, spool included) belongs to that one video: the 64 MB video and the large one
//! are compared.

use super::proc;
use super::stack::Stack;
use super::throughput::{self, Kind, Video};
use anyhow::{Context, Result, bail};
use protocol::wire::{JobInfo, JobStage, UPLOAD_PATH};
use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// The goals of issue 14: the proxy's peak RSS for the large video within 1.2× of the 64 MB
/// one's, and the poster's throughput at least 0.9× `curl`'s on the same plan.
const RSS_GOAL: f64 = 1.2;
const THROUGHPUT_GOAL: f64 = 0.9;

/// The fewest rounds figure 8 takes, whatever `--rounds` says: the 64 MB upload lasts about a
/// tenth of a second, where another process's time slice shows, and a round costs seconds.
const MIN_ROUNDS: usize = 5;

/// Where the diagnostic puts the proxy's uploads directory: memory, not disk.
const TMPFS: &str = "/dev/shm";

/// Figure 8 as recorded in the report.
#[derive(Debug, Default, Serialize)]
pub struct Figure {
    pub sizes: Vec<SizeFigure>,
    /// Peak proxy RSS for the large video over that for the 64 MB one.
    pub rss_ratio: f64,
}

/// One video: the poster against `curl`, medians of the rounds.
#[derive(Debug, Serialize)]
pub struct SizeFigure {
    pub bytes: u64,
    pub chunks: u64,
    pub chunk_size: u64,
    /// `curl`'s wall time (its start-up included), as in figures 1 and 2.
    pub curl: Timed,
    /// `curl`'s transfers alone: the sum of each chunk's `time_total`.
    pub curl_transfers: Timed,
    /// The poster: `post_created` to the first `status` in the proxy's log.
    pub poster: Timed,
    /// Diagnostic: the poster with its uploads directory on tmpfs; `None` without `/dev/shm`.
    pub poster_tmpfs: Option<Timed>,
    /// Throughput of the poster over `curl`'s (wall time): `curl` secs / poster secs.
    pub poster_vs_curl: f64,
    /// The same against `curl`'s transfers alone (stricter: no start-up on curl's side).
    pub poster_vs_curl_transfers: f64,
    /// The whole `POST /api/upload?wait=true` call, `curl`'s wall time: sending the body (the spool),
    /// init, upload and status.
    pub call: Timed,
    /// The proxy's RSS before the call (the smallest of the rounds) and its peak (`VmHWM`) after
    /// it (the largest of the rounds).
    pub proxy_idle_rss_bytes: u64,
    pub proxy_peak_rss_bytes: u64,
    /// CPU seconds the proxy and the simulator used during the whole call (medians; the proxy's
    /// include the spool).
    pub proxy_cpu_secs: f64,
    pub sim_cpu_secs: f64,
}

/// A median and every value it came from.
#[derive(Debug, Serialize)]
pub struct Timed {
    pub median_secs: f64,
    pub all_secs: Vec<f64>,
    pub mb_per_sec: f64,
}

impl Timed {
    fn of(all_secs: Vec<f64>, bytes: u64) -> Self {
        let median_secs = throughput::percentile(all_secs.clone(), 0.5);
        Self {
            median_secs,
            mb_per_sec: bytes as f64 / median_secs / 1e6,
            all_secs,
        }
    }
}

/// Times `curl` and the poster, alternating, `rounds` times for each video.
pub async fn measure(
    bins: &Path,
    site: &Path,
    scratch: &Path,
    videos: [&Video; 2],
    rounds: usize,
) -> Result<Figure> {
    let rounds = rounds.max(MIN_ROUNDS);
    let mut sizes = Vec::new();
    for video in videos {
        crate::tools::step(&format!(
            "server-side poster against curl: {} MB in {} chunks, {rounds} rounds",
            video.size / 1_000_000,
            video.plan.total_chunk_count
        ));
        let mut curl = Vec::new();
        let mut curl_transfers = Vec::new();
        let mut posts = Vec::new();
        let mut tmpfs_secs = Vec::new();
        for round in 1..=rounds {
            let dir = scratch.join(format!("poster-{}-{round}", video.size));
            let stack = Stack::start(bins, site, &dir.join("curl"), &[])?;
            let run = throughput::curl_upload(&stack, video, Kind::CurlDirect).await?;
            drop(stack);
            let between = run.curl_between_ms.unwrap_or(0.0) / 1000.0;
            curl.push(run.secs);
            curl_transfers.push(run.secs - between * video.plan.total_chunk_count as f64);
            let on_disk = post(bins, site, &dir.join("poster"), video, None).await?;
            let mut on_tmpfs = None;
            if let Some(shm) = Some(Path::new(TMPFS)).filter(|shm| shm.is_dir()) {
                let uploads = tempfile::Builder::new()
                    .prefix("bench-poster-")
                    .tempdir_in(shm)?;
                let dir = dir.join("poster-tmpfs");
                let posted = post(bins, site, &dir, video, Some(uploads.path())).await?;
                tmpfs_secs.push(posted.secs);
                on_tmpfs = Some(posted.secs);
            }
            eprintln!(
                "    round {round}: curl {:.3} s, poster {:.3} s ({:.0} MB/s){}, whole call {:.2} s, proxy peak RSS {:.1} MiB",
                run.secs,
                on_disk.secs,
                video.size as f64 / on_disk.secs / 1e6,
                on_tmpfs.map_or(String::new(), |secs| format!(" (on tmpfs {secs:.3} s)")),
                on_disk.call_secs,
                on_disk.peak_rss as f64 / 1048576.0
            );
            posts.push(on_disk);
        }
        let poster = Timed::of(posts.iter().map(|p| p.secs).collect(), video.size);
        let curl = Timed::of(curl, video.size);
        let curl_transfers = Timed::of(curl_transfers, video.size);
        let poster_tmpfs = (!tmpfs_secs.is_empty()).then(|| Timed::of(tmpfs_secs, video.size));
        let median = |values: Vec<f64>| throughput::percentile(values, 0.5);
        sizes.push(SizeFigure {
            bytes: video.size,
            chunks: video.plan.total_chunk_count,
            chunk_size: video.plan.chunk_size,
            poster_vs_curl: curl.median_secs / poster.median_secs,
            poster_vs_curl_transfers: curl_transfers.median_secs / poster.median_secs,
            call: Timed::of(posts.iter().map(|p| p.call_secs).collect(), video.size),
            proxy_idle_rss_bytes: posts.iter().map(|p| p.idle_rss).min().unwrap_or(0),
            proxy_peak_rss_bytes: posts.iter().map(|p| p.peak_rss).max().unwrap_or(0),
            proxy_cpu_secs: median(posts.iter().map(|p| p.proxy_cpu_secs).collect()),
            sim_cpu_secs: median(posts.iter().map(|p| p.sim_cpu_secs).collect()),
            curl,
            curl_transfers,
            poster,
            poster_tmpfs,
        });
    }
    let peak = |i: usize| sizes[i].proxy_peak_rss_bytes as f64;
    Ok(Figure {
        rss_ratio: peak(1) / peak(0).max(1.0),
        sizes,
    })
}

/// One server-side post, timed from the proxy's log.
struct Post {
    secs: f64,
    call_secs: f64,
    idle_rss: u64,
    peak_rss: u64,
    proxy_cpu_secs: f64,
    sim_cpu_secs: f64,
}

/// `POST /api/upload?wait=true` with `video` as a raw body, on a fresh stack (spooling under
/// `uploads` when given); checks that the
/// post is complete, made with the video's plan and without a retry, and reads its span from
/// the log.
async fn post(
    bins: &Path,
    site: &Path,
    scratch: &Path,
    video: &Video,
    uploads: Option<&Path>,
) -> Result<Post> {
    let uploads = uploads.map(|dir| dir.to_string_lossy().into_owned());
    let proxy_args: Vec<&str> = match &uploads {
        Some(dir) => vec!["--uploads-dir", dir],
        None => Vec::new(),
    };
    let stack = Stack::start(bins, site, scratch, &proxy_args)?;
    let idle_rss = proc::status_bytes(stack.proxy.pid, "VmRSS").unwrap_or(0);
    let (proxy_cpu, sim_cpu) = (
        proc::cpu_secs(stack.proxy.pid).unwrap_or(0.0),
        proc::cpu_secs(stack.sim.pid).unwrap_or(0.0),
    );
    // `-T` streams the file with its length (`--data-binary` would read it into memory first);
    // `-X POST` makes it the upload call. The status code follows the body on a line of its own.
    let mut command = Command::new("curl");
    command
        .args([
            "-sS",
            "-X",
            "POST",
            "-H",
            "Content-Type: video/mp4",
            "-H",
            "Expect:",
        ])
        .args(["-w", "\n%{http_code}", "-T"])
        .arg(&video.path)
        .arg(format!(
            "{}{UPLOAD_PATH}?wait=true&privacy_level=SELF_ONLY&file_name=bench.mp4&force=true",
            stack.proxy_url
        ));
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output()).await??;
    let call_secs = started.elapsed().as_secs_f64();
    let written = String::from_utf8_lossy(&output.stdout);
    let (body, status) = written.rsplit_once('\n').unwrap_or(("", &written));
    anyhow::ensure!(
        output.status.success(),
        "curl POST {UPLOAD_PATH}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (proxy_cpu_secs, sim_cpu_secs) = (
        proc::cpu_secs(stack.proxy.pid).unwrap_or(0.0) - proxy_cpu,
        proc::cpu_secs(stack.sim.pid).unwrap_or(0.0) - sim_cpu,
    );
    let peak_rss = proc::status_bytes(stack.proxy.pid, "VmHWM").unwrap_or(0);
    anyhow::ensure!(status == "200", "POST {UPLOAD_PATH}: {status} {body}");
    let job: JobInfo = serde_json::from_str(body)?;
    anyhow::ensure!(
        job.stage == JobStage::Done && job.status.as_deref() == Some("PUBLISH_COMPLETE"),
        "the job ended {:?} {:?}: {:?}",
        job.stage,
        job.status,
        job.message
    );
    let publish_id = job.publish_id.context("a done job has a publish_id")?;
    let log = std::fs::read_to_string(scratch.join("posts.jsonl"))?;
    let secs = span(&log, &publish_id, video)
        .with_context(|| format!("reading the poster's span from its log:\n{log}"))?;
    Ok(Post {
        secs,
        call_secs,
        idle_rss,
        peak_rss,
        proxy_cpu_secs,
        sim_cpu_secs,
    })
}

/// From `post_created` to the first `status` event of `publish_id`, in seconds. The plan
/// `post_created` names must be the video's, and no `upload` event (a retry, a resync) may
/// appear: the span must be one clean pass.
fn span(log: &str, publish_id: &str, video: &Video) -> Result<f64> {
    let mut created = None;
    let mut status = None;
    for line in log.lines().filter(|line| !line.trim().is_empty()) {
        let event: Value = serde_json::from_str(line)?;
        if event["publish_id"].as_str() != Some(publish_id) {
            continue;
        }
        let at = || -> Result<SystemTime> {
            let ts = event["ts"].as_str().context("an event without ts")?;
            Ok(humantime::parse_rfc3339(ts)?)
        };
        match event["event"].as_str() {
            Some("post_created") => {
                anyhow::ensure!(
                    event["chunk_size"].as_u64() == Some(video.plan.chunk_size)
                        && event["total_chunk_count"].as_u64()
                            == Some(video.plan.total_chunk_count),
                    "the poster planned {event}, not {:?}",
                    video.plan
                );
                created = Some(at()?);
            }
            Some("status") if status.is_none() => status = Some(at()?),
            Some("upload") => bail!("the poster's upload was not one clean pass: {event}"),
            _ => {}
        }
    }
    let (created, status) = (
        created.context("no post_created event")?,
        status.context("no status event")?,
    );
    Ok(status.duration_since(created)?.as_secs_f64())
}

/// Figure 8 as a Markdown table.
pub fn table(figure: &Figure) -> String {
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    let mut rows: Vec<[String; 5]> = Vec::new();
    for size in &figure.sizes {
        let name = format!(
            "{} MB in {} × {} B",
            size.bytes / 1_000_000,
            size.chunks,
            size.chunk_size
        );
        rows.push([
            format!("8. {name}: curl → sim"),
            format!(
                "{:.3} s, {:.0} MB/s",
                size.curl.median_secs, size.curl.mb_per_sec
            ),
            format!(
                "transfers alone {:.3} s, {:.0} MB/s",
                size.curl_transfers.median_secs, size.curl_transfers.mb_per_sec
            ),
            "reference".into(),
            "—".into(),
        ]);
        rows.push([
            format!("8. {name}: poster → sim"),
            format!(
                "{:.3} s, {:.0} MB/s",
                size.poster.median_secs, size.poster.mb_per_sec
            ),
            format!(
                "whole call {:.2} s; proxy CPU {:.2} s, sim {:.2} s",
                size.call.median_secs, size.proxy_cpu_secs, size.sim_cpu_secs
            ),
            format!(
                "{:.2}× curl ({:.2}× its transfers)",
                size.poster_vs_curl, size.poster_vs_curl_transfers
            ),
            format!(
                "≥ {THROUGHPUT_GOAL}× curl: {}",
                verdict(size.poster_vs_curl >= THROUGHPUT_GOAL)
            ),
        ]);
        if let Some(tmpfs) = &size.poster_tmpfs {
            rows.push([
                format!("   {name}: poster, uploads on tmpfs"),
                format!("{:.3} s, {:.0} MB/s", tmpfs.median_secs, tmpfs.mb_per_sec),
                format!("poster on disk {:.3} s", size.poster.median_secs),
                format!("{:.2}× curl", size.curl.median_secs / tmpfs.median_secs),
                "—".into(),
            ]);
        }
    }
    if let [small, large] = &figure.sizes[..] {
        rows.push([
            "8. proxy peak RSS, POST /api/upload".into(),
            format!(
                "{:.1} MiB ({} MB)",
                large.proxy_peak_rss_bytes as f64 / 1048576.0,
                large.bytes / 1_000_000
            ),
            format!(
                "{:.1} MiB ({} MB); idle {:.1} MiB",
                small.proxy_peak_rss_bytes as f64 / 1048576.0,
                small.bytes / 1_000_000,
                small.proxy_idle_rss_bytes as f64 / 1048576.0
            ),
            format!("{:.2}×", figure.rss_ratio),
            format!("≤ {RSS_GOAL}×: {}", verdict(figure.rss_ratio <= RSS_GOAL)),
        ]);
    }
    super::markdown_table(["measure", "time", "against", "figure", "goal"], &rows)
}

/// Markers around figure 8's latest run in BENCHMARKS.md.
const BEGIN: &str = "<!-- bench:poster:begin -->";
const END: &str = "<!-- bench:poster:end -->";

/// Replaces figure 8's section of BENCHMARKS.md.
pub fn record(
    path: &Path,
    table: &str,
    machine: &super::report::Machine,
    quick: bool,
    took: Duration,
) -> Result<()> {
    let section = format!(
        "{BEGIN}\n## Latest run of figure 8 (server-side poster): {date}{quick}\n\nMachine: {nproc} cores, {kernel}; {curl}. \
         On 127.0.0.1, every upload on a fresh simulator and proxy (release builds). \
         Figure 8 took {secs:.0} s.\n\n{table}\n{END}",
        date = super::now_utc(),
        quick = if quick { " (--quick)" } else { "" },
        nproc = machine.nproc,
        kernel = machine.kernel,
        curl = machine.curl,
        secs = took.as_secs_f64(),
    );
    super::replace_section(path, BEGIN, END, &section)
}
