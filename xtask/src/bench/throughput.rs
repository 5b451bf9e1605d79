//! Upload throughput (figures 1 and 2) and browser memory (figure 3).
//!
//! Each round times, each on a fresh simulator and proxy: `curl` PUTting the chunk plan straight
//! to the simulator (the reference, and the simulator's ingest check), the page uploading
//! directly, the page through the relay, and `curl` through the relay. The page's time is the
//! span from its first chunk PUT's `startTime` to its last one's `responseEnd` (Resource
//! Timing, the page's own clock); `curl`'s is the wall time of one `curl` process sending every
//! chunk over one kept-alive connection (its few milliseconds of start-up count against it).

use super::browser::{self, BrowserMemory, Drive};
use super::stack::Stack;
use super::{Setup, proc};
use anyhow::{Context, Result, bail};
use protocol::chunk::ChunkPlan;
use protocol::tiktok::{DirectPostInit, PostInfo, SourceInfo, paths};
use protocol::wire::{CreatePost, CreatedPost, PostFields, PostMode};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// How often memory and CPU are sampled during an upload.
const SAMPLE_EVERY: Duration = Duration::from_millis(100);
/// How often the page's status is read while a timed upload runs: rarely, since the page
/// records its own timestamps and the reads would only compete for the CPU.
const STATUS_POLL: Duration = Duration::from_millis(250);

/// A video to upload, and its chunk plan cut into files for `curl`.
pub struct Video {
    pub path: PathBuf,
    pub size: u64,
    pub plan: ChunkPlan,
    /// One file per chunk of `plan`, in order.
    pub chunks: Vec<PathBuf>,
}

impl Video {
    /// The MP4 of `size` bytes under `cache` (a real clip followed by a `free` box of
    /// pseudo-random bytes, as the e2e tests make them) and its chunk files, generated once.
    /// The chunk files sit in a directory named after the plan's chunk size, so a change of
    /// the default plan cuts them again instead of sending stale ones.
    pub fn prepare(root: &Path, cache: &Path, size: u64) -> Result<Self> {
        let dir = cache.join(format!("video-{size}"));
        let path = dir.join("video.mp4");
        let plan = ChunkPlan::new(size)?;
        if !dir.join("complete").is_file() {
            std::fs::create_dir_all(&dir)?;
            eprintln!("    writing {} ({size} bytes)", path.display());
            let clip = std::fs::read(root.join("tests/fixtures/clip.mp4"))
                .context("reading tests/fixtures/clip.mp4")?;
            write_video(&path, &clip, size)?;
            std::fs::write(dir.join("complete"), b"")?;
        }
        let chunk_dir = dir.join(format!("chunks-{}", plan.chunk_size));
        let chunks: Vec<PathBuf> = plan
            .chunks()
            .map(|c| chunk_dir.join(format!("chunk-{:04}.bin", c.index)))
            .collect();
        let done = chunk_dir.join("complete");
        if !done.is_file() {
            std::fs::create_dir_all(&chunk_dir)?;
            eprintln!(
                "    cutting it into {} chunks of {} bytes",
                plan.total_chunk_count, plan.chunk_size
            );
            let mut file = std::fs::File::open(&path)?;
            for (chunk, chunk_path) in plan.chunks().zip(&chunks) {
                let mut out = std::fs::File::create(chunk_path)?;
                let copied =
                    std::io::copy(&mut std::io::Read::take(&mut file, chunk.len()), &mut out)?;
                anyhow::ensure!(copied == chunk.len(), "short read cutting chunk files");
            }
            std::fs::write(&done, b"")?;
        }
        Ok(Self {
            path,
            size,
            plan,
            chunks,
        })
    }
}

fn write_video(path: &Path, clip: &[u8], size: u64) -> Result<()> {
    let padding = size - clip.len() as u64;
    anyhow::ensure!(
        padding >= 8 && padding <= u64::from(u32::MAX),
        "size out of range for one free box"
    );
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(clip)?;
    out.write_all(&(padding as u32).to_be_bytes())?;
    out.write_all(b"free")?;
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut block = vec![0u8; 1 << 16];
    let mut left = padding - 8;
    while left > 0 {
        for word in block.chunks_exact_mut(8) {
            // xorshift64: cheap bytes that no two chunks share and no compressor can shrink.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        let n = left.min(block.len() as u64) as usize;
        out.write_all(&block[..n])?;
        left -= n as u64;
    }
    out.flush()?;
    Ok(())
}

/// One timed upload.
#[derive(Debug, Clone, Default)]
pub(super) struct Run {
    pub(super) secs: f64,
    /// Click on Post to `data-status` leaving UPLOADING (the page only): init, chunks and UI.
    click_to_uploaded_secs: Option<f64>,
    /// Median time of one chunk's PUT, and median gap between one PUT's end and the next
    /// one's start (browser runs only), in milliseconds.
    pub(super) chunk_ms: Option<f64>,
    pub(super) gap_ms: Option<f64>,
    /// The 95th percentile of those gaps (browser runs only), in milliseconds.
    pub(super) gap_p95_ms: Option<f64>,
    /// `curl` only: the mean time per chunk outside its transfers (wall time less the sum of
    /// each transfer's `time_total`), in milliseconds.
    pub(super) curl_between_ms: Option<f64>,
    sim_cpu_secs: f64,
    proxy_cpu_secs: f64,
    /// CPU seconds of Chromium's processes during the upload, by kind.
    browser_cpu: Option<BTreeMap<&'static str, f64>>,
    proxy_idle_rss: u64,
    proxy_peak_rss: u64,
}

/// What each round times, in this order.
const KINDS: [Kind; 7] = [
    Kind::CurlDirect,
    Kind::PageDirect,
    Kind::PageRelay,
    Kind::CurlRelay,
    Kind::FloorXhr,
    Kind::FloorFetch,
    Kind::FloorXhrLarge,
];

/// The chunk size of the [`Kind::FloorXhrLarge`] diagnostic: TikTok's largest, 64 MB.
const LARGE_CHUNK: u64 = protocol::chunk::MAX_CHUNK_SIZE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The reference: `curl` PUTs the plan straight to the simulator.
    CurlDirect,
    /// The real page, straight to the simulator.
    PageDirect,
    /// The real page, through the proxy's relay.
    PageRelay,
    /// `curl` through the proxy's relay: the relay's own cost, without a browser.
    CurlRelay,
    /// Diagnostic: the smallest possible browser uploader (a bare XHR loop over `File.slice`,
    /// no framework, no progress, no wasm) with the same plan — what Chromium itself allows.
    FloorXhr,
    /// Diagnostic: the same with `fetch` instead of XHR.
    FloorFetch,
    /// Diagnostic: the bare XHR loop with 64 MB chunks instead of 10 MiB.
    FloorXhrLarge,
}

impl Kind {
    pub(super) fn name(self) -> &'static str {
        match self {
            Self::CurlDirect => "curl-direct",
            Self::PageDirect => "page-direct",
            Self::PageRelay => "page-relay",
            Self::CurlRelay => "curl-relay",
            Self::FloorXhr => "floor-xhr",
            Self::FloorFetch => "floor-fetch",
            Self::FloorXhrLarge => "floor-xhr-64mb",
        }
    }
}

/// Figures 1 and 2, the proxy's memory during them, and the browser-floor diagnostics.
pub async fn measure(setup: &Setup) -> Result<Uploads> {
    let video = &setup.large;
    let mut runs: [Vec<Run>; KINDS.len()] = Default::default();
    for round in 1..=setup.rounds {
        crate::tools::step(&format!(
            "upload throughput, round {round} of {} ({} MiB)",
            setup.rounds,
            video.size >> 20
        ));
        let scratch = setup.scratch.join(format!("round-{round}"));
        for (i, kind) in KINDS.into_iter().enumerate() {
            let stack = Stack::start(&setup.bins, &setup.site, &scratch.join(kind.name()), &[])?;
            let run = match kind {
                Kind::CurlDirect | Kind::CurlRelay => curl_upload(&stack, video, kind).await?,
                Kind::PageDirect | Kind::PageRelay => {
                    page_upload(setup, &stack, video, kind, &scratch).await?
                }
                Kind::FloorXhr | Kind::FloorFetch | Kind::FloorXhrLarge => {
                    floor_upload(setup, &stack, video, kind, &scratch).await?
                }
            };
            eprintln!(
                "    {:<15} {:6.2} s  {:6.0} MB/s{}",
                kind.name(),
                run.secs,
                video.size as f64 / run.secs / 1e6,
                match (run.chunk_ms, run.gap_ms) {
                    (Some(chunk), Some(gap)) =>
                        format!("  (PUT median {chunk:.1} ms, gap median {gap:.2} ms)"),
                    _ => String::new(),
                }
            );
            runs[i].push(run);
        }
    }
    let [
        curl_direct,
        page_direct,
        page_relay,
        curl_relay,
        floor_xhr,
        floor_fetch,
        floor_xhr_large,
    ] = runs.map(|r| summary(&r, video.size));
    let ratio = |a: &Timing, b: &Timing| a.median_secs / b.median_secs;
    Ok(Uploads {
        direct_ratio: ratio(&page_direct, &curl_direct),
        relay_ratio: ratio(&page_relay, &curl_direct),
        curl_relay_ratio: ratio(&curl_relay, &curl_direct),
        floor_xhr_ratio: ratio(&floor_xhr, &curl_direct),
        floor_fetch_ratio: ratio(&floor_fetch, &curl_direct),
        floor_xhr_64mb_ratio: ratio(&floor_xhr_large, &curl_direct),
        page_vs_floor_ratio: ratio(&page_direct, &floor_xhr),
        proxy: ProxyRss {
            idle_rss_bytes: page_direct.proxy_idle_rss_bytes,
            direct_peak_rss_bytes: page_direct.proxy_peak_rss_bytes,
            relay_peak_rss_bytes: page_relay.proxy_peak_rss_bytes,
            curl_relay_peak_rss_bytes: curl_relay.proxy_peak_rss_bytes,
        },
        chunks: video.plan.total_chunk_count,
        chunk_size: video.plan.chunk_size,
        curl_direct,
        app_direct: page_direct,
        app_relay: page_relay,
        curl_relay,
        floor_xhr,
        floor_fetch,
        floor_xhr_64mb: floor_xhr_large,
    })
}

/// Figures 1 and 2 as recorded in the report: each kind of upload's [`Timing`], and the
/// ratios of their medians.
#[derive(Debug, Default, Serialize)]
pub struct Uploads {
    /// Figure 1: the page direct against `curl` direct.
    pub direct_ratio: f64,
    /// Figure 2: the page through the relay against `curl` direct.
    pub relay_ratio: f64,
    pub curl_relay_ratio: f64,
    pub floor_xhr_ratio: f64,
    pub floor_fetch_ratio: f64,
    pub floor_xhr_64mb_ratio: f64,
    /// The page direct against the bare XHR loop: what the page adds to the browser's floor.
    pub page_vs_floor_ratio: f64,
    pub proxy: ProxyRss,
    pub chunks: u64,
    pub chunk_size: u64,
    pub curl_direct: Timing,
    pub app_direct: Timing,
    pub app_relay: Timing,
    pub curl_relay: Timing,
    pub floor_xhr: Timing,
    pub floor_fetch: Timing,
    pub floor_xhr_64mb: Timing,
}

/// The proxy's memory during the uploads (figure 4), in bytes.
#[derive(Debug, Default, Serialize)]
pub struct ProxyRss {
    pub idle_rss_bytes: u64,
    pub direct_peak_rss_bytes: u64,
    pub relay_peak_rss_bytes: u64,
    pub curl_relay_peak_rss_bytes: u64,
}

/// One kind of upload over every round: medians, and every value.
#[derive(Debug, Default, Serialize)]
pub struct Timing {
    pub median_secs: f64,
    pub all_secs: Vec<f64>,
    pub mb_per_sec: f64,
    pub click_to_uploaded_secs: Vec<f64>,
    pub chunk_put_median_ms: Vec<f64>,
    pub gap_median_ms: Vec<f64>,
    /// The simulator's CPU over the median upload, in % of one core.
    pub sim_cpu_percent: f64,
    pub proxy_cpu_percent: f64,
    /// Per run: each kind of Chromium process's CPU, in % of one core over the upload.
    pub browser_cpu_percent: Vec<BTreeMap<&'static str, f64>>,
    /// The least idle and the highest peak RSS of the proxy over the rounds.
    pub proxy_idle_rss_bytes: u64,
    pub proxy_peak_rss_bytes: u64,
}

/// CPU seconds spent between two readings of [`Browser::cpu_secs`] (processes started in
/// between count from zero).
fn cpu_delta(
    before: &BTreeMap<&'static str, f64>,
    after: &BTreeMap<&'static str, f64>,
) -> BTreeMap<&'static str, f64> {
    after
        .iter()
        .map(|(kind, secs)| (*kind, secs - before.get(kind).copied().unwrap_or(0.0)))
        .collect()
}

/// Medians (and every value) of a set of runs.
fn summary(runs: &[Run], size: u64) -> Timing {
    let median = |values: Vec<f64>| -> f64 {
        let mut values: Vec<f64> = values.into_iter().filter(|v| v.is_finite()).collect();
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let secs: Vec<f64> = runs.iter().map(|r| r.secs).collect();
    let median_secs = median(secs.clone());
    let per_sec = |cpu: f64| cpu / median_secs * 100.0;
    Timing {
        median_secs,
        all_secs: secs,
        mb_per_sec: size as f64 / median_secs / 1e6,
        click_to_uploaded_secs: runs
            .iter()
            .filter_map(|r| r.click_to_uploaded_secs)
            .collect(),
        chunk_put_median_ms: runs.iter().filter_map(|r| r.chunk_ms).collect(),
        gap_median_ms: runs.iter().filter_map(|r| r.gap_ms).collect(),
        sim_cpu_percent: per_sec(median(runs.iter().map(|r| r.sim_cpu_secs).collect())),
        proxy_cpu_percent: per_sec(median(runs.iter().map(|r| r.proxy_cpu_secs).collect())),
        browser_cpu_percent: runs
            .iter()
            .filter_map(|r| {
                let cpu = r.browser_cpu.as_ref()?;
                let total: f64 = cpu.values().sum();
                let mut percent: BTreeMap<&'static str, f64> = cpu
                    .iter()
                    .map(|(kind, secs)| (*kind, secs / r.secs * 100.0))
                    .collect();
                percent.insert("total", total / r.secs * 100.0);
                Some(percent)
            })
            .collect(),
        proxy_idle_rss_bytes: runs.iter().map(|r| r.proxy_idle_rss).min().unwrap_or(0),
        proxy_peak_rss_bytes: runs.iter().map(|r| r.proxy_peak_rss).max().unwrap_or(0),
    }
}

/// `POST /api/posts` through the proxy for `video`, as the page sends it.
async fn create_post(proxy_url: &str, size: u64) -> Result<CreatedPost> {
    let request = CreatePost {
        mode: PostMode::Direct,
        video_size: size,
        content_type: "video/mp4".into(),
        file_name: "bench.mp4".into(),
        post_info: PostFields {
            privacy_level: Some(protocol::PrivacyLevel::SelfOnly),
            ..PostFields::default()
        },
    };
    let answer = reqwest::Client::new()
        .post(format!("{proxy_url}/api/posts"))
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(&request)?)
        .send()
        .await?;
    let status = answer.status();
    let body = answer.text().await?;
    anyhow::ensure!(status.as_u16() == 201, "POST /api/posts: {status} {body}");
    Ok(serde_json::from_str(&body)?)
}

/// `curl` sends every chunk of the plan, in order, over one connection.
pub(super) async fn curl_upload(stack: &Stack, video: &Video, kind: Kind) -> Result<Run> {
    let created = create_post(&stack.proxy_url, video.size).await?;
    anyhow::ensure!(
        created.plan(video.size) == video.plan,
        "the proxy planned {created:?}, not {:?}",
        video.plan
    );
    let url = match kind {
        Kind::CurlRelay => format!("{}/api/posts/{}/chunk", stack.proxy_url, created.publish_id),
        _ => created.upload_url.clone(),
    };
    // `-T` streams the file, but appends its name to a URL whose path ends in `/` (as the
    // upload host's `/upload/?…` does): send to a named path and set the real request target.
    let (origin, target) = split_url(&url)?;
    let mut command = Command::new("curl");
    for (chunk, file) in video.plan.chunks().zip(&video.chunks) {
        if chunk.index > 0 {
            command.arg("--next");
        }
        command
            .args([
                "-sS",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{time_total}\\n",
            ])
            .args(["-H", "Content-Type: video/mp4"])
            .arg("-H")
            .arg(format!("Content-Range: {}", chunk.content_range()))
            // No 100-continue round trip: the page does not wait for one either.
            .args(["-H", "Expect:", "-T"])
            .arg(file)
            .args(["--request-target", target])
            .arg(format!("{origin}/chunk"));
    }
    let (idle_rss, proxy_cpu, sim_cpu) = (
        proc::status_bytes(stack.proxy.pid, "VmRSS").unwrap_or(0),
        proc::cpu_secs(stack.proxy.pid).unwrap_or(0.0),
        proc::cpu_secs(stack.sim.pid).unwrap_or(0.0),
    );
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || command.output()).await??;
    let secs = started.elapsed().as_secs_f64();
    let written = String::from_utf8_lossy(&output.stdout);
    let (codes, transfer_secs): (Vec<&str>, Vec<f64>) = written
        .lines()
        .map(|line| {
            let (code, secs) = line.split_once(' ').unwrap_or((line, "0"));
            (code, secs.parse::<f64>().unwrap_or(0.0))
        })
        .unzip();
    let expected: Vec<&str> = video
        .plan
        .chunks()
        .map(|c| if c.is_last { "201" } else { "206" })
        .collect();
    if !output.status.success() || codes != expected {
        bail!(
            "curl ({}) answered {codes:?}: {}",
            kind.name(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let between = (secs - transfer_secs.iter().sum::<f64>()) / codes.len() as f64;
    Ok(Run {
        secs,
        curl_between_ms: Some(between * 1000.0),
        sim_cpu_secs: proc::cpu_secs(stack.sim.pid).unwrap_or(0.0) - sim_cpu,
        proxy_cpu_secs: proc::cpu_secs(stack.proxy.pid).unwrap_or(0.0) - proxy_cpu,
        proxy_idle_rss: idle_rss,
        proxy_peak_rss: proc::status_bytes(stack.proxy.pid, "VmHWM").unwrap_or(0),
        ..Run::default()
    })
}

/// `http://host:port` and the rest (path and query) of an absolute URL.
fn split_url(url: &str) -> Result<(&str, &str)> {
    let after_scheme = url.find("://").context("not an absolute URL")? + 3;
    let path = url[after_scheme..]
        .find('/')
        .map_or(url.len(), |i| after_scheme + i);
    Ok((&url[..path], &url[path..]))
}

/// The page uploads `video` in a fresh browser; timed from the page's own records.
pub(super) async fn page_upload(
    setup: &Setup,
    stack: &Stack,
    video: &Video,
    kind: Kind,
    scratch: &Path,
) -> Result<Run> {
    let browser = browser::start(
        &setup.chromedriver,
        &scratch.join(format!("{}-profile", kind.name())),
    )
    .await?;
    let result = async {
        let page = format!("{}/", stack.proxy_url);
        browser.open(&page).await?;
        if kind == Kind::PageRelay {
            browser.force_relay().await?;
        }
        browser.choose(&video.path).await?;
        let idle_rss = proc::status_bytes(stack.proxy.pid, "VmRSS").unwrap_or(0);
        let group = browser.group();
        let (sim_cpu, proxy_cpu, browser_cpu_before) = (
            proc::cpu_secs(stack.sim.pid).unwrap_or(0.0),
            proc::cpu_secs(stack.proxy.pid).unwrap_or(0.0),
            browser::Usage::cpu_secs(group),
        );
        browser.post().await?;
        let status = browser.final_status(STATUS_POLL).await?;
        let (sim_cpu, proxy_cpu) = (
            proc::cpu_secs(stack.sim.pid).unwrap_or(0.0) - sim_cpu,
            proc::cpu_secs(stack.proxy.pid).unwrap_or(0.0) - proxy_cpu,
        );
        anyhow::ensure!(
            status == "PUBLISH_COMPLETE",
            "the page's upload ended {status}"
        );
        let timings = browser.timings().await?;
        let span = chunk_span(&timings["chunks"], video.plan.total_chunk_count)
            .with_context(|| format!("reading the page's timings {timings}"))?;
        Ok(Run {
            secs: span.secs,
            chunk_ms: Some(span.chunk_ms),
            gap_ms: Some(span.gap_ms),
            gap_p95_ms: Some(span.gap_p95_ms),
            curl_between_ms: None,
            click_to_uploaded_secs: click_to_uploaded(&timings),
            sim_cpu_secs: sim_cpu,
            proxy_cpu_secs: proxy_cpu,
            browser_cpu: Some(cpu_delta(
                &browser_cpu_before,
                &browser::Usage::cpu_secs(group),
            )),
            proxy_idle_rss: idle_rss,
            proxy_peak_rss: proc::status_bytes(stack.proxy.pid, "VmHWM").unwrap_or(0),
        })
    }
    .await;
    let _ = browser.close().await;
    result
}

/// The chunk PUTs of one upload, from Resource Timing.
struct Span {
    /// From the first PUT's start to the last one's end.
    secs: f64,
    /// The median PUT, start to end.
    chunk_ms: f64,
    /// The median time between one PUT's end and the next one's start.
    gap_ms: f64,
    /// The 95th percentile of those.
    gap_p95_ms: f64,
}

/// Reads `[[startTime, responseEnd], …]`; exactly the plan's number of PUTs must have been
/// made (a retry would show as more).
fn chunk_span(chunks: &Value, expected: u64) -> Result<Span> {
    let mut chunks: Vec<(f64, f64)> = chunks
        .as_array()
        .context("no chunk entries")?
        .iter()
        .filter_map(|c| Some((c[0].as_f64()?, c[1].as_f64()?)))
        .collect();
    anyhow::ensure!(
        chunks.len() as u64 == expected,
        "the page made {} chunk PUTs, the plan has {expected}",
        chunks.len()
    );
    chunks.sort_by(|a, b| a.0.total_cmp(&b.0));
    let start = chunks.first().map_or(0.0, |c| c.0);
    let end = chunks.iter().map(|c| c.1).fold(0.0, f64::max);
    anyhow::ensure!(end > start, "no chunk finished");
    let gaps: Vec<f64> = chunks.windows(2).map(|w| w[1].0 - w[0].1).collect();
    Ok(Span {
        secs: (end - start) / 1000.0,
        chunk_ms: percentile(chunks.iter().map(|c| c.1 - c.0).collect(), 0.5),
        gap_ms: percentile(gaps.clone(), 0.5),
        gap_p95_ms: percentile(gaps, 0.95),
    })
}

/// The value below which a `share` of `values` lie (nearest rank); 0 for none.
pub(super) fn percentile(mut values: Vec<f64>, share: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() as f64 * share).ceil() as usize).saturating_sub(1);
    values.get(rank).copied().unwrap_or(0.0)
}

/// The bare uploader of the floor diagnostics: `arguments` are the upload URL, the file size,
/// the chunk size, the chunk count and "xhr" or "fetch". It reads the file from a file input
/// of its own (`#bench-file`, added by [`floor_upload`]) and leaves `{ chunks: [[startTime, responseEnd], …] }` or `{ error }` in
/// `window.__floor`.
const FLOOR_SCRIPT: &str = r#"
var url = arguments[0], size = arguments[1], chunkSize = arguments[2], count = arguments[3], how = arguments[4];
var file = document.getElementById('bench-file').files[0];
window.__floor = null;
function put(start, end) {
  var headers = { 'Content-Type': 'video/mp4', 'Content-Range': 'bytes ' + start + '-' + (end - 1) + '/' + size };
  var body = file.slice(start, end);
  if (how === 'fetch') {
    return fetch(url, { method: 'PUT', headers: headers, body: body }).then(function (r) { return r.status; });
  }
  return new Promise(function (resolve) {
    var xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    for (var name in headers) xhr.setRequestHeader(name, headers[name]);
    xhr.onloadend = function () { resolve(xhr.status); };
    xhr.send(body);
  });
}
(async function () {
  var chunks = [];
  for (var i = 0; i < count; i++) {
    var start = i * chunkSize, end = i === count - 1 ? size : start + chunkSize;
    var began = performance.now();
    var status = await put(start, end);
    chunks.push([began, performance.now()]);
    if (status !== (i === count - 1 ? 201 : 206)) throw new Error('chunk ' + i + ' answered ' + status);
  }
  window.__floor = { chunks: chunks };
})().catch(function (e) { window.__floor = { error: String(e) }; });
return true;
"#;

/// A floor diagnostic: the bare uploader of [`FLOOR_SCRIPT`] in the same page, after an init
/// made straight at the simulator (so that the plan's chunk size can differ from ours).
async fn floor_upload(
    setup: &Setup,
    stack: &Stack,
    video: &Video,
    kind: Kind,
    scratch: &Path,
) -> Result<Run> {
    let chunk_size = if kind == Kind::FloorXhrLarge {
        LARGE_CHUNK
    } else {
        video.plan.chunk_size
    };
    let plan = ChunkPlan::with_chunk_size(video.size, chunk_size)?;
    let upload_url = sim_init(&stack.sim_url, &plan).await?;
    let browser = browser::start(
        &setup.chromedriver,
        &scratch.join(format!("{}-profile", kind.name())),
    )
    .await?;
    let result = async {
        browser.open(&format!("{}/", stack.proxy_url)).await?;
        browser
            .script("var input = document.createElement('input'); input.type = 'file'; input.id = 'bench-file'; document.body.appendChild(input); return true;")
            .await?;
        browser
            .client
            .find(fantoccini::Locator::Id("bench-file"))
            .await?
            .send_keys(&video.path.canonicalize()?.to_string_lossy())
            .await?;
        let group = browser.group();
        let (sim_cpu, browser_cpu) = (
            proc::cpu_secs(stack.sim.pid).unwrap_or(0.0),
            browser::Usage::cpu_secs(group),
        );
        let how = if kind == Kind::FloorFetch {
            "fetch"
        } else {
            "xhr"
        };
        browser
            .client
            .execute(
                FLOOR_SCRIPT,
                vec![
                    json!(upload_url),
                    json!(plan.video_size),
                    json!(plan.chunk_size),
                    json!(plan.total_chunk_count),
                    json!(how),
                ],
            )
            .await?;
        let started = Instant::now();
        let outcome = loop {
            let outcome = browser.script("return window.__floor;").await?;
            if !outcome.is_null() {
                break outcome;
            }
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(300),
                "the bare uploader did not finish"
            );
            tokio::time::sleep(STATUS_POLL).await;
        };
        if let Some(error) = outcome["error"].as_str() {
            bail!("the bare uploader failed: {error}");
        }
        let span = chunk_span(&outcome["chunks"], plan.total_chunk_count)?;
        Ok(Run {
            secs: span.secs,
            chunk_ms: Some(span.chunk_ms),
            gap_ms: Some(span.gap_ms),
            sim_cpu_secs: proc::cpu_secs(stack.sim.pid).unwrap_or(0.0) - sim_cpu,
            browser_cpu: Some(cpu_delta(&browser_cpu, &browser::Usage::cpu_secs(group))),
            ..Run::default()
        })
    }
    .await;
    let _ = browser.close().await;
    result
}

/// `video/init` straight at the simulator with `plan`; the upload URL.
pub(super) async fn sim_init(sim_url: &str, plan: &ChunkPlan) -> Result<String> {
    let init = DirectPostInit {
        post_info: PostInfo::new(protocol::PrivacyLevel::SelfOnly),
        source_info: SourceInfo::file_upload(plan),
    };
    let answer = reqwest::Client::new()
        .post(format!("{sim_url}{}", paths::VIDEO_INIT))
        .bearer_auth(super::stack::SIM_TOKEN)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::to_vec(&init)?)
        .send()
        .await?
        .text()
        .await?;
    let envelope: Value = serde_json::from_str(&answer)?;
    envelope["data"]["upload_url"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("video/init answered {answer}"))
}

/// Click on Post to the first `data-status` after UPLOADING, in seconds.
fn click_to_uploaded(timings: &Value) -> Option<f64> {
    let click = timings["bench"]["click"].as_f64()?;
    let statuses = timings["bench"]["statuses"].as_array()?;
    let uploading = statuses
        .iter()
        .position(|s| s[0].as_str() == Some("UPLOADING"))?;
    let after = statuses[uploading..]
        .iter()
        .find(|s| s[0].as_str() != Some("UPLOADING"))?;
    Some((after[1].as_f64()? - click) / 1000.0)
}

/// Figure 3: peak JS heap and renderer RSS while the page uploads the small and the large file,
/// each in a fresh browser, sampled every [`SAMPLE_EVERY`].
pub async fn memory(setup: &Setup) -> Result<Memory> {
    let mut peaks = Vec::new();
    for (name, video) in [("small", &setup.small), ("large", &setup.large)] {
        crate::tools::step(&format!(
            "browser memory while uploading {} MB",
            video.size / 1_000_000
        ));
        let scratch = setup.scratch.join(format!("memory-{name}"));
        let stack = Stack::start(&setup.bins, &setup.site, &scratch, &[])?;
        let browser = browser::start(&setup.chromedriver, &scratch.join("profile")).await?;
        let measured = async {
            browser.open(&format!("{}/", stack.proxy_url)).await?;
            browser.choose(&video.path).await?;
            let group = browser.group();
            let before = browser::Usage::memory(group);
            let before_heap = browser.js_heap().await?;
            let before_gc = browser.js_heap_after_gc().await?;
            let sampler = proc::Sampler::start(SAMPLE_EVERY, move || browser::Usage::memory(group));
            browser.post().await?;
            let mut heap_peak = before_heap;
            let started = Instant::now();
            let status = loop {
                heap_peak = heap_peak.max(browser.js_heap().await?);
                let status = browser.status().await?;
                if ["PUBLISH_COMPLETE", "FAILED", "ERROR", "CANCELLED"].contains(&status.as_str())
                {
                    break status;
                }
                anyhow::ensure!(
                    started.elapsed() < Duration::from_secs(300),
                    "upload did not finish"
                );
                tokio::time::sleep(SAMPLE_EVERY).await;
            };
            let samples = sampler.stop();
            let after_gc = browser.js_heap_after_gc().await?;
            anyhow::ensure!(
                status == "PUBLISH_COMPLETE",
                "the page's upload ended {status}"
            );
            let peak = samples.iter().fold(BrowserMemory::default(), |a, s| BrowserMemory {
                renderer_rss: a.renderer_rss.max(s.renderer_rss),
                chromium_rss: a.chromium_rss.max(s.chromium_rss),
            });
            eprintln!(
                "    JS heap after GC {:.2} MiB before, {:.2} MiB after the upload",
                before_gc as f64 / 1048576.0,
                after_gc as f64 / 1048576.0
            );
            eprintln!(
                "    JS heap peak {:.1} MiB, renderer RSS peak {:.0} MiB, all Chromium {:.0} MiB ({} samples)",
                heap_peak as f64 / 1048576.0,
                peak.renderer_rss as f64 / 1048576.0,
                peak.chromium_rss as f64 / 1048576.0,
                samples.len()
            );
            Ok::<_, anyhow::Error>(MemoryPeak {
                bytes: video.size,
                js_heap_bytes: heap_peak,
                js_heap_before_bytes: before_heap,
                js_heap_after_gc_before_bytes: before_gc,
                js_heap_after_gc_bytes: after_gc,
                renderer_rss_bytes: peak.renderer_rss,
                renderer_rss_before_bytes: before.renderer_rss,
                chromium_rss_bytes: peak.chromium_rss,
                chromium_rss_before_bytes: before.chromium_rss,
                samples: samples.len(),
            })
        }
        .await;
        let _ = browser.close().await;
        peaks.push(measured?);
    }
    let [small, large] = <[MemoryPeak; 2]>::try_from(peaks).expect("two sizes were measured");
    Ok(Memory { small, large })
}

/// Figure 3 as recorded in the report: the small file's peaks and the large one's.
#[derive(Debug, Default, Serialize)]
pub struct Memory {
    pub small: MemoryPeak,
    pub large: MemoryPeak,
}

/// The browser's memory while the page uploads one file, in bytes.
#[derive(Debug, Default, Serialize)]
pub struct MemoryPeak {
    /// The file's size.
    pub bytes: u64,
    /// The JS heap's peak during the upload.
    pub js_heap_bytes: u64,
    pub js_heap_before_bytes: u64,
    pub js_heap_after_gc_before_bytes: u64,
    /// The JS heap after the upload and a `gc()`: what the page keeps.
    pub js_heap_after_gc_bytes: u64,
    pub renderer_rss_bytes: u64,
    pub renderer_rss_before_bytes: u64,
    pub chromium_rss_bytes: u64,
    pub chromium_rss_before_bytes: u64,
    pub samples: usize,
}
