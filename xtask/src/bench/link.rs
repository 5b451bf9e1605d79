//! Figure 7: uploads on a shaped link (issue 13). The simulator sits behind
//! [`tests::link::ShapedLink`] — a `tbf`-paced veth into its own namespace plus a relay adding
//! the round trip — and each upload is timed against the link's own limit (the bytes at the
//! line rate plus one round trip per chunk) and against `curl` on the same link, side by side.
//!
//! Then the chunk-size trade-off the loopback bench cannot see: one video at a long round trip,
//! uploaded in 10 MiB, 32 MB and 64 MB chunks, each with one connection dropped half-way
//! through its middle chunk (the chunk is sent again on a new connection, as the page and the
//! server-side poster do). Small chunks pay a round trip each; large ones resend more.

use super::Setup;
use super::stack::Stack;
use super::throughput::{self, Kind, Run, Video};
use anyhow::{Context, Result};
use protocol::chunk::{ChunkPlan, ChunkRange};
use serde::Serialize;
use std::time::{Duration, Instant};
use tests::link::{LinkSpec, ShapedLink};

/// The far side's port, inside the namespace (which has a port space of its own).
const FAR_PORT: u16 = 9797;

/// The links measured, and the video each one carries: sized so that every upload takes
/// 15-35 s, enough chunks for the gaps to count, and the whole figure a few minutes.
const LINKS: [(u64, u64, u64); 2] = [
    // 20 Mbit/s, 80 ms: a good home uplink far from TikTok's servers. 80 MB: 7 chunks.
    (20, 80, 80_000_000),
    // 100 Mbit/s, 30 ms: fibre. 200 MB: 19 chunks.
    (100, 30, 200_000_000),
];

/// The trade-off's link and video: 100 Mbit/s at 150 ms, 192 MB (three 64 MB chunks).
const TRADEOFF_LINK: (u64, u64) = (100, 150);
const TRADEOFF_SIZE: u64 = 192_000_000;
const TRADEOFF_CHUNKS: [u64; 3] = [10 * 1024 * 1024, 32_000_000, 64_000_000];

/// Figure 7 as recorded in the report.
#[derive(Debug, Default, Serialize)]
pub struct Figure {
    pub links: Vec<LinkFigure>,
    pub tradeoff: Tradeoff,
}

/// One link: four uploads of the same video.
#[derive(Debug, Serialize)]
pub struct LinkFigure {
    pub mbit: u64,
    pub rtt_ms: u64,
    pub bytes: u64,
    pub chunks: u64,
    /// The bytes at the line rate plus one round trip per chunk.
    pub limit_secs: f64,
    pub curl_direct: Timed,
    pub page_direct: Timed,
    pub page_relay: Timed,
    pub curl_relay: Timed,
}

/// One timed upload, with its ratios to the link's limit and to `curl` direct.
#[derive(Debug, Serialize)]
pub struct Timed {
    pub secs: f64,
    pub vs_limit: f64,
    pub vs_curl_direct: f64,
    /// The page: median and 95th percentile of the time from one chunk's answer to the next
    /// chunk's start. `curl`: its mean time per chunk outside the transfers.
    pub gap_median_ms: Option<f64>,
    pub gap_p95_ms: Option<f64>,
    pub curl_between_ms: Option<f64>,
}

/// The chunk-size trade-off.
#[derive(Debug, Default, Serialize)]
pub struct Tradeoff {
    pub mbit: u64,
    pub rtt_ms: u64,
    pub bytes: u64,
    pub runs: Vec<TradeoffRun>,
}

#[derive(Debug, Serialize)]
pub struct TradeoffRun {
    pub chunk_size: u64,
    pub chunks: u64,
    pub secs: f64,
    /// Bytes sent twice because of the dropped connection.
    pub resent_bytes: u64,
    pub vs_limit: f64,
}

pub async fn measure(setup: &Setup) -> Result<Figure> {
    let mut links = Vec::new();
    for (mbit, rtt_ms, bytes) in LINKS {
        crate::tools::step(&format!(
            "uploads on a shaped link: {mbit} Mbit/s, {rtt_ms} ms round trip, {} MB",
            bytes / 1_000_000
        ));
        links.push(measure_link(setup, LinkSpec::mbit(mbit, rtt_ms), bytes).await?);
    }
    let (mbit, rtt_ms) = TRADEOFF_LINK;
    crate::tools::step(&format!(
        "chunk size on a shaped link: {mbit} Mbit/s, {rtt_ms} ms, {} MB, one dropped connection",
        TRADEOFF_SIZE / 1_000_000
    ));
    let tradeoff = tradeoff(setup, LinkSpec::mbit(mbit, rtt_ms)).await?;
    Ok(Figure { links, tradeoff })
}

async fn measure_link(setup: &Setup, spec: LinkSpec, bytes: u64) -> Result<LinkFigure> {
    let cache = crate::tools::cache_dir().join("bench");
    let video = Video::prepare(&setup.root, &cache, bytes)?;
    let chunks = video.plan.total_chunk_count;
    let limit = spec.transfer_time(bytes) + spec.round_trip * chunks as u32;
    let mut timed = Vec::new();
    for kind in [
        Kind::CurlDirect,
        Kind::PageDirect,
        Kind::PageRelay,
        Kind::CurlRelay,
    ] {
        // A fresh link and stack per upload: no warm connection or queue carries over.
        let link = ShapedLink::new(spec)?;
        let far = std::net::SocketAddr::from((link.far_ip(), FAR_PORT));
        let relay = link.front(far).await?;
        let scratch =
            setup
                .scratch
                .join(format!("link-{}-{}", spec.rate_bits_per_sec, kind.name()));
        let stack =
            Stack::start_on_link(&setup.bins, &setup.site, &scratch, &link, far, relay.addr)?;
        let run = match kind {
            Kind::CurlDirect | Kind::CurlRelay => {
                throughput::curl_upload(&stack, &video, kind).await?
            }
            _ => throughput::page_upload(setup, &stack, &video, kind, &scratch).await?,
        };
        eprintln!(
            "    {:<12} {:7.2} s  ({:.3}× the link's limit of {:.2} s){}",
            kind.name(),
            run.secs,
            run.secs / limit.as_secs_f64(),
            limit.as_secs_f64(),
            match (run.gap_ms, run.gap_p95_ms, run.curl_between_ms) {
                (Some(median), Some(p95), _) =>
                    format!("  gap median {median:.1} ms, p95 {p95:.1} ms"),
                (_, _, Some(between)) => format!("  {between:.1} ms per chunk outside transfers"),
                _ => String::new(),
            }
        );
        drop(stack);
        timed.push(run);
    }
    let curl = timed[0].secs;
    let mut timed = timed.into_iter().map(|run: Run| Timed {
        secs: run.secs,
        vs_limit: run.secs / limit.as_secs_f64(),
        vs_curl_direct: run.secs / curl,
        gap_median_ms: run.gap_ms,
        gap_p95_ms: run.gap_p95_ms,
        curl_between_ms: run.curl_between_ms,
    });
    let mut next = || timed.next().context("four uploads were timed");
    Ok(LinkFigure {
        mbit: spec.rate_bits_per_sec / 1_000_000,
        rtt_ms: spec.round_trip.as_millis() as u64,
        bytes,
        chunks,
        limit_secs: limit.as_secs_f64(),
        curl_direct: next()?,
        page_direct: next()?,
        page_relay: next()?,
        curl_relay: next()?,
    })
}

async fn tradeoff(setup: &Setup, spec: LinkSpec) -> Result<Tradeoff> {
    let cache = crate::tools::cache_dir().join("bench");
    let video = Video::prepare(&setup.root, &cache, TRADEOFF_SIZE)?;
    let mut runs = Vec::new();
    for chunk_size in TRADEOFF_CHUNKS {
        let plan = ChunkPlan::with_chunk_size(TRADEOFF_SIZE, chunk_size)?;
        let link = ShapedLink::new(spec)?;
        let far = std::net::SocketAddr::from((link.far_ip(), FAR_PORT));
        let relay = link.front(far).await?;
        let scratch = setup.scratch.join(format!("tradeoff-{chunk_size}"));
        let stack =
            Stack::start_on_link(&setup.bins, &setup.site, &scratch, &link, far, relay.addr)?;
        let upload_url = throughput::sim_init(&stack.sim_url, &plan).await?;
        let started = Instant::now();
        let resent_bytes = upload_with_one_drop(&video, &plan, &upload_url).await?;
        let secs = started.elapsed().as_secs_f64();
        let limit = spec.transfer_time(TRADEOFF_SIZE + resent_bytes)
            + spec.round_trip * plan.total_chunk_count as u32;
        eprintln!(
            "    {:>8} B chunks ×{:<3} {secs:7.2} s  (resent {} MB)",
            chunk_size,
            plan.total_chunk_count,
            resent_bytes / 1_000_000
        );
        runs.push(TradeoffRun {
            chunk_size: plan.chunk_size,
            chunks: plan.total_chunk_count,
            secs,
            resent_bytes,
            vs_limit: secs / limit.as_secs_f64(),
        });
    }
    Ok(Tradeoff {
        mbit: spec.rate_bits_per_sec / 1_000_000,
        rtt_ms: spec.round_trip.as_millis() as u64,
        bytes: TRADEOFF_SIZE,
        runs,
    })
}

/// PUTs `plan`'s chunks in order over one kept-alive connection; the middle chunk's first
/// attempt loses its connection half-way (the body fails), and it is sent again whole. Returns
/// the bytes that went twice.
async fn upload_with_one_drop(video: &Video, plan: &ChunkPlan, url: &str) -> Result<u64> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()?;
    let middle = plan.total_chunk_count / 2;
    let mut resent = 0;
    let bytes = std::fs::read(&video.path).context("reading the trade-off's video")?;
    for chunk in plan.chunks() {
        if chunk.index == middle {
            let half = chunk.len() / 2;
            let cut = put(&client, url, &bytes, &chunk, Some(half)).await;
            anyhow::ensure!(cut.is_err(), "the cut-off PUT was not refused");
            resent = half;
        }
        let status = put(&client, url, &bytes, &chunk, None).await?;
        let expected = if chunk.is_last { 201 } else { 206 };
        anyhow::ensure!(
            status == expected,
            "chunk {} answered {status}",
            chunk.index
        );
    }
    Ok(resent)
}

/// One chunk's PUT; with `cut_after`, the body fails after that many bytes, as a dropped
/// connection would.
async fn put(
    client: &reqwest::Client,
    url: &str,
    file: &[u8],
    chunk: &ChunkRange,
    cut_after: Option<u64>,
) -> Result<u16> {
    let piece = bytes::Bytes::copy_from_slice(&file[chunk.start as usize..chunk.end as usize]);
    let body = match cut_after {
        None => reqwest::Body::from(piece),
        Some(cut) => {
            let sent = piece.slice(..cut as usize);
            let pieces: Vec<std::io::Result<bytes::Bytes>> = vec![
                Ok(sent),
                Err(std::io::Error::other("connection dropped (injected)")),
            ];
            reqwest::Body::wrap_stream(futures_util::stream::iter(pieces))
        }
    };
    let answer = client
        .put(url)
        .header("Content-Type", "video/mp4")
        .header("Content-Range", chunk.content_range())
        .header("Content-Length", chunk.len())
        .timeout(Duration::from_secs(600))
        .body(body)
        .send()
        .await?;
    Ok(answer.status().as_u16())
}

/// The goals of issue 13: the page (direct and relayed) within 5 % of the link's limit and 3 %
/// of `curl` on the same link; `curl` through the relay within 5 % of `curl` direct.
const PAGE_VS_LIMIT: f64 = 1.05;
const PAGE_VS_CURL: f64 = 1.03;
const CURL_RELAY_VS_DIRECT: f64 = 1.05;

/// Figure 7 as a Markdown table.
pub fn table(figure: &Figure) -> String {
    let mut rows: Vec<[String; 5]> = Vec::new();
    let verdict = |value: f64, limit: f64| if value <= limit { "met" } else { "MISSED" };
    for link in &figure.links {
        let name = format!(
            "{} Mbit/s, {} ms, {} MB in {} chunks",
            link.mbit,
            link.rtt_ms,
            link.bytes / 1_000_000,
            link.chunks
        );
        let gaps = |t: &Timed| match (t.gap_median_ms, t.gap_p95_ms, t.curl_between_ms) {
            (Some(median), Some(p95), _) => format!("gap {median:.1} / p95 {p95:.1} ms"),
            (_, _, Some(between)) => format!("{between:.1} ms/chunk outside transfers"),
            _ => "—".into(),
        };
        let page_goal = |t: &Timed| {
            format!(
                "≤ {PAGE_VS_LIMIT}× limit: {}; ≤ {PAGE_VS_CURL}× curl: {}",
                verdict(t.vs_limit, PAGE_VS_LIMIT),
                verdict(t.vs_curl_direct, PAGE_VS_CURL)
            )
        };
        for (what, timed, goal) in [
            ("curl direct", &link.curl_direct, String::from("reference")),
            (
                "page direct",
                &link.page_direct,
                page_goal(&link.page_direct),
            ),
            ("page relay", &link.page_relay, page_goal(&link.page_relay)),
            (
                "curl relay",
                &link.curl_relay,
                format!(
                    "≤ {CURL_RELAY_VS_DIRECT}× curl direct: {}",
                    verdict(link.curl_relay.vs_curl_direct, CURL_RELAY_VS_DIRECT)
                ),
            ),
        ] {
            rows.push([
                format!("7. {name}: {what}"),
                format!(
                    "{:.2} s ({:.3}× limit {:.2} s)",
                    timed.secs, timed.vs_limit, link.limit_secs
                ),
                format!("{:.3}× curl direct", timed.vs_curl_direct),
                gaps(timed),
                goal,
            ]);
        }
    }
    let t = &figure.tradeoff;
    for run in &t.runs {
        rows.push([
            format!(
                "7. chunk size at {} Mbit/s, {} ms, {} MB, one drop",
                t.mbit,
                t.rtt_ms,
                t.bytes / 1_000_000
            ),
            format!("{:.2} s", run.secs),
            format!("{} B × {}", run.chunk_size, run.chunks),
            format!("resent {:.1} MB", run.resent_bytes as f64 / 1e6),
            format!("{:.3}× its limit", run.vs_limit),
        ]);
    }
    super::markdown_table(
        ["measure", "time", "against", "between chunks", "goal"],
        &rows,
    )
}

/// Markers around figure 7's latest run in BENCHMARKS.md.
const BEGIN: &str = "<!-- bench:link:begin -->";
const END: &str = "<!-- bench:link:end -->";

/// Replaces figure 7's section of BENCHMARKS.md.
pub fn record(
    path: &std::path::Path,
    table: &str,
    machine: &super::report::Machine,
    took: Duration,
) -> Result<()> {
    let section = format!(
        "{BEGIN}\n## Latest run of figure 7 (shaped link): {date}\n\nMachine: {nproc} cores, {kernel}; {chromium}; {curl}. \
         The simulator behind a veth pair with `tbf` at the rate and a delay relay adding the round \
         trip (`tests/src/link.rs`); every upload on a fresh link and a fresh simulator and proxy. \
         Figure 7 took {secs:.0} s.\n\n{table}\n{END}",
        date = super::now_utc(),
        nproc = machine.nproc,
        kernel = machine.kernel,
        chromium = machine.chromium,
        curl = machine.curl,
        secs = took.as_secs_f64(),
    );
    super::replace_section(path, BEGIN, END, &section)
}
