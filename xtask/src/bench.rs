//! `cargo xtask bench`: how fast the browser path uploads and what it costs, as ratios against
//! references measured in the same run on the same machine (absolute times on a shared two-core
//! box mean little). Everything runs on 127.0.0.1 against the simulator, started with the proxy
//! as release binaries in child processes so that their memory can be read from `/proc`.
//!
//! 1. Upload throughput, direct: the real page in headless Chromium against `curl` PUTting the
//!    same chunk plan to the same simulator (which is also the simulator's ingest check).
//! 2. Upload throughput, relay: the page through `PUT /api/posts/{id}/chunk`, against the same
//!    direct `curl` time (and `curl` through the relay, to tell the proxy from the browser).
//! 3. Browser memory: peak JS heap and renderer RSS for a 64 MB and the large file.
//! 4. Proxy memory and overhead: RSS idle and peak; `POST /api/posts` and `GET /api/posts/{id}`
//!    through the proxy against the same calls straight to the simulator.
//! 5. Bundle: gzip and brotli of the wasm, JS glue and CSS, against Uppy's; `twiggy top`.
//! 6. Page start: navigation start to the Post button being in the DOM, median of 10 loads.
//! 7. On a shaped link: the uploads of figures 1 and 2 against the link's own limit (`link.rs`).
//! 8. The server-side poster: `POST /api/upload` posting a spooled file to the simulator,
//!    against `curl` on the same plan, and the proxy's peak RSS for 64 MB and the large video
//!    (`poster.rs`).
//!
//! No figure fails anything: the bench reports. `cargo xtask test` stays free of timing.

mod browser;
mod bundle;
mod latency;
mod link;
mod poster;
mod proc;
mod report;
mod stack;
mod startup;
mod throughput;

use anyhow::{Context, Result};
use report::{Figures, LoadAverage, Machine, Report};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The large file of a full run: 1 GiB.
const FULL_SIZE: u64 = 1 << 30;
/// The large file of `--quick`: 256 MiB.
const QUICK_SIZE: u64 = 256 << 20;
/// The small file of the memory comparison: 64 MB, uploaded whole (one chunk).
const SMALL_SIZE: u64 = 64_000_000;

/// Options of `cargo xtask bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Upload 256 MiB instead of 1 GiB: a quicker, less telling run.
    #[arg(long)]
    pub quick: bool,
    /// How many times each upload is timed (curl and the page alternate); medians are reported.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Use the release binaries and dist/ already built.
    #[arg(long)]
    pub no_build: bool,
    /// Only figure 7, the uploads on a shaped link (needs root and the kernel's tbf).
    #[arg(long)]
    pub link_only: bool,
    /// Only figure 8, the server-side poster against curl (needs neither Chromium nor dist/).
    #[arg(long, conflicts_with = "link_only")]
    pub upload_only: bool,
}

/// What every measurement needs: where things are, and the files to upload.
pub struct Setup {
    pub root: PathBuf,
    /// `target/release`, holding the `sim` and `proxy` binaries.
    pub bins: PathBuf,
    /// A copy of dist/ with the bench's timing script injected into index.html.
    pub site: PathBuf,
    /// The untouched copy of dist/, for the bundle sizes.
    pub dist: PathBuf,
    /// Scratch space for this run (proxy logs, browser profiles).
    pub scratch: PathBuf,
    pub chromedriver: PathBuf,
    /// PATH with the right wasm-opt first.
    pub path: String,
    pub large: throughput::Video,
    pub small: throughput::Video,
    pub rounds: usize,
}

pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let root = crate::test::root();
    if args.upload_only {
        return upload_only(&args, &root);
    }
    let tools = crate::tools::ensure_bench()?;
    if !args.no_build {
        build_servers(&root)?;
        crate::dist::build(&tools)?;
    }
    let (out_dir, scratch) = scratch(&root)?;
    let dist = scratch.path().join("dist");
    copy_dir(&crate::dist::dir(), &dist).context("copying dist/ (run without --no-build)")?;
    let site = browser::instrumented_site(&dist, &scratch.path().join("site"))?;
    let size = if args.quick { QUICK_SIZE } else { FULL_SIZE };
    crate::tools::step("preparing the videos (generated once, kept in the cache)");
    let cache = crate::tools::cache_dir().join("bench");
    let setup = Setup {
        bins: release_dir(&root),
        site,
        dist,
        scratch: scratch.path().to_path_buf(),
        chromedriver: tools
            .chromedriver
            .clone()
            .context("chromedriver is not installed")?,
        path: tools.path.clone(),
        large: throughput::Video::prepare(&root, &cache, size)?,
        small: throughput::Video::prepare(&root, &cache, SMALL_SIZE)?,
        rounds: args.rounds.max(1),
        root,
    };
    let machine = Machine::this();
    let load_before = load_average();

    let runtime = tokio::runtime::Runtime::new()?;
    let link_started = Instant::now();
    let shaped = runtime.block_on(link::measure(&setup))?;
    let shaped_table = link::table(&shaped);
    println!("\n{shaped_table}");
    let benchmarks = setup.root.join("BENCHMARKS.md");
    link::record(&benchmarks, &shaped_table, &machine, link_started.elapsed())?;
    if args.link_only {
        std::fs::write(
            out_dir.join("link-latest.json"),
            serde_json::to_string_pretty(&shaped)?,
        )?;
        println!("\nfigure 7 recorded in BENCHMARKS.md");
        return Ok(());
    }
    let uploads = runtime.block_on(throughput::measure(&setup))?;
    let memory = runtime.block_on(throughput::memory(&setup))?;
    let latency = runtime.block_on(latency::measure(&setup))?;
    let startup = runtime.block_on(startup::measure(&setup))?;
    let bundle = bundle::measure(&setup)?;
    let poster_started = Instant::now();
    let posted = runtime.block_on(poster::measure(
        &setup.bins,
        &setup.site,
        &setup.scratch,
        [&setup.small, &setup.large],
        setup.rounds,
    ))?;
    let poster_table = poster::table(&posted);
    println!("\n{poster_table}");
    poster::record(
        &benchmarks,
        &poster_table,
        &machine,
        args.quick,
        poster_started.elapsed(),
    )?;

    let report = Report {
        date: now_utc(),
        quick: args.quick,
        rounds: setup.rounds,
        machine,
        load_average: LoadAverage {
            before: load_before,
            after: load_average(),
        },
        figures: Figures {
            large_bytes: size,
            uploads,
            memory,
            latency,
            startup,
            bundle,
        },
        shaped_link: shaped,
        poster: posted,
        elapsed_secs: started.elapsed().as_secs_f64(),
    };
    let table = report::table(&report.figures);
    println!("\n{table}");
    let stamp = now_utc().replace([':', '-'], "");
    let json_path = out_dir.join(format!("bench-{stamp}.json"));
    let pretty = serde_json::to_string_pretty(&report)?;
    std::fs::write(&json_path, &pretty)?;
    std::fs::write(out_dir.join("latest.json"), &pretty)?;
    report::record(&benchmarks, &report, &table)?;
    println!(
        "\nbench finished in {:.0} s; JSON in {}, table in BENCHMARKS.md",
        report.elapsed_secs,
        json_path.display()
    );
    Ok(())
}

/// Builds the simulator and the proxy the bench runs, in release.
fn build_servers(root: &Path) -> Result<()> {
    crate::tools::step("building the simulator and the proxy (release)");
    crate::tools::exec(
        Command::new("cargo")
            .args(["build", "--release", "--locked", "-p", "sim", "-p", "proxy"])
            .current_dir(root),
    )
}

/// `target/bench/` (created), where results are kept, and a scratch directory inside it for
/// this run, removed when dropped.
fn scratch(root: &Path) -> Result<(PathBuf, tempfile::TempDir)> {
    let out_dir = root.join("target").join("bench");
    std::fs::create_dir_all(&out_dir)?;
    let scratch = tempfile::Builder::new()
        .prefix("run-")
        .tempdir_in(&out_dir)
        .context("creating the bench's scratch directory")?;
    Ok((out_dir, scratch))
}

/// `--upload-only`: figure 8 alone. Builds only the simulator and the proxy; the proxy serves
/// no page (its static directory does not exist, which publishes nothing).
fn upload_only(args: &Args, root: &Path) -> Result<()> {
    let started = Instant::now();
    anyhow::ensure!(
        crate::tools::which("curl").is_some(),
        "figure 8 needs curl (apt-get install curl)"
    );
    if !args.no_build {
        build_servers(root)?;
    }
    let (out_dir, scratch) = scratch(root)?;
    crate::tools::step("preparing the videos (generated once, kept in the cache)");
    let cache = crate::tools::cache_dir().join("bench");
    let size = if args.quick { QUICK_SIZE } else { FULL_SIZE };
    let large = throughput::Video::prepare(root, &cache, size)?;
    let small = throughput::Video::prepare(root, &cache, SMALL_SIZE)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let figure = runtime.block_on(poster::measure(
        &release_dir(root),
        &scratch.path().join("no-site"),
        scratch.path(),
        [&small, &large],
        args.rounds.max(1),
    ))?;
    let table = poster::table(&figure);
    println!("\n{table}");
    poster::record(
        &root.join("BENCHMARKS.md"),
        &table,
        &Machine::this(),
        args.quick,
        started.elapsed(),
    )?;
    std::fs::write(
        out_dir.join("poster-latest.json"),
        serde_json::to_string_pretty(&figure)?,
    )?;
    println!("\nfigure 8 recorded in BENCHMARKS.md");
    Ok(())
}

/// Where `cargo build --release` put the binaries: under `CARGO_TARGET_DIR` when it is set (the
/// builds above inherit it), else under `target/`.
fn release_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), |dir| root.join(dir))
        .join("release")
}

/// A Markdown table with padded columns.
fn markdown_table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let padded: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        format!("| {} |", padded.join(" | "))
    };
    let mut out = vec![
        line(&header.map(String::from)),
        line(&widths.map(|w| "-".repeat(w))),
    ];
    out.extend(rows.iter().map(|row| line(row)));
    out.join("\n")
}

/// Replaces the text from `begin` to `end` in `path` by `section` (which carries both markers),
/// or appends it; creates the file if needed.
fn replace_section(path: &Path, begin: &str, end: &str, section: &str) -> Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| "# Benchmarks\n\n".into());
    let updated = match (text.find(begin), text.find(end)) {
        (Some(from), Some(to)) if from < to => {
            format!("{}{section}{}", &text[..from], &text[to + end.len()..])
        }
        _ => format!("{}\n\n{section}\n", text.trim_end()),
    };
    std::fs::write(path, updated).with_context(|| format!("writing {}", path.display()))
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn now_utc() -> String {
    crate::tools::output("date", &["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .map(|d| d.trim().to_owned())
        .unwrap_or_default()
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    anyhow::ensure!(
        to.join("index.html").is_file(),
        "{} has no index.html",
        from.display()
    );
    Ok(())
}
