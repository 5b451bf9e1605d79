//! The bench's report: every figure as a typed struct, written whole to
//! `target/bench/latest.json`, and figures 1–6 as the table recorded in BENCHMARKS.md.

use super::bundle::Bundle;
use super::latency::Latency;
use super::startup::Startup;
use super::throughput::{Memory, Uploads};
use super::{link, markdown_table, poster, replace_section};
use anyhow::Result;
use serde::Serialize;
use std::path::Path;

/// One full run of `cargo xtask bench`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// When it ran (UTC, RFC 3339).
    pub date: String,
    /// Whether it was a `--quick` run (a smaller large file).
    pub quick: bool,
    pub rounds: usize,
    pub machine: Machine,
    pub load_average: LoadAverage,
    #[serde(flatten)]
    pub figures: Figures,
    pub shaped_link: link::Figure,
    pub poster: poster::Figure,
    pub elapsed_secs: f64,
}

/// Figures 1 to 6, and the size of the large file they upload.
#[derive(Debug, Default, Serialize)]
pub struct Figures {
    pub large_bytes: u64,
    /// Figures 1 and 2, and the proxy's memory during them (figure 4).
    pub uploads: Uploads,
    /// Figure 3.
    pub memory: Memory,
    /// Figure 4's overheads.
    pub latency: Latency,
    /// Figure 6.
    pub startup: Startup,
    /// Figure 5.
    pub bundle: Bundle,
}

/// The machine, as a skeptic would want it described.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu: Option<String>,
    pub memory_bytes: Option<u64>,
    pub kernel: String,
    pub chromium: String,
    pub curl: String,
    pub rustc: String,
}

impl Machine {
    /// This machine, from `/proc` and the tools' `--version`.
    pub fn this() -> Self {
        let first_line = |program: &str, args: &[&str]| {
            crate::tools::output(program, args)
                .and_then(|out| out.lines().next().map(str::to_owned))
                .unwrap_or_else(|| format!("{program}: unknown"))
        };
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        Self {
            nproc: std::thread::available_parallelism().map_or(0, usize::from),
            cpu: cpuinfo.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            }),
            memory_bytes: meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kb| kb * 1024),
            kernel: first_line("uname", &["-sr"]),
            chromium: first_line("chromium", &["--version"]).trim().to_owned(),
            curl: first_line("curl", &["--version"])
                .split(" (")
                .next()
                .unwrap_or("")
                .to_owned(),
            rustc: first_line("rustc", &["--version"]),
        }
    }
}

/// `/proc/loadavg`'s three averages before and after the run.
#[derive(Debug, Default, Serialize)]
pub struct LoadAverage {
    pub before: String,
    pub after: String,
}

/// The table of figures 1 to 6, printed at the end and recorded in BENCHMARKS.md.
pub fn table(r: &Figures) -> String {
    let mut rows: Vec<[String; 5]> = Vec::new();
    let size = mib(r.large_bytes);
    let u = &r.uploads;
    let timed =
        |t: &super::throughput::Timing| format!("{:.2} s, {:.0} MB/s", t.median_secs, t.mb_per_sec);
    let curl_direct = format!("curl direct {:.2} s", u.curl_direct.median_secs);
    rows.push([
        format!("sim ingest, curl direct ({size})"),
        timed(&u.curl_direct),
        format!("sim busy {:.0} % of a core", u.curl_direct.sim_cpu_percent),
        "reference".into(),
        "—".into(),
    ]);
    rows.push([
        format!("1. upload direct, page ({size})"),
        timed(&u.app_direct),
        format!("curl {:.2} s", u.curl_direct.median_secs),
        format!("{:.2}×", u.direct_ratio),
        goal(u.direct_ratio, 1.11, "≤ 1.11"),
    ]);
    for (label, timing, ratio) in [
        ("2. upload relay, page", &u.app_relay, u.relay_ratio),
        ("   upload relay, curl", &u.curl_relay, u.curl_relay_ratio),
        (
            "   browser floor: bare XHR loop",
            &u.floor_xhr,
            u.floor_xhr_ratio,
        ),
        (
            "   browser floor: bare fetch loop",
            &u.floor_fetch,
            u.floor_fetch_ratio,
        ),
        (
            "   browser floor: bare XHR, 64 MB chunks",
            &u.floor_xhr_64mb,
            u.floor_xhr_64mb_ratio,
        ),
    ] {
        let label = if label.starts_with("   browser") {
            label.to_owned()
        } else {
            format!("{label} ({size})")
        };
        rows.push([
            label,
            timed(timing),
            curl_direct.clone(),
            format!("{ratio:.2}×"),
            "—".into(),
        ]);
    }
    rows.push([
        "   page direct / bare XHR loop".into(),
        format!("{:.2} s", u.app_direct.median_secs),
        format!("{:.2} s", u.floor_xhr.median_secs),
        format!("{:.2}×", u.page_vs_floor_ratio),
        "—".into(),
    ]);
    let m = &r.memory;
    for (label, large, small) in [
        ("JS heap", m.large.js_heap_bytes, m.small.js_heap_bytes),
        (
            "renderer RSS",
            m.large.renderer_rss_bytes,
            m.small.renderer_rss_bytes,
        ),
        (
            "all Chromium RSS",
            m.large.chromium_rss_bytes,
            m.small.chromium_rss_bytes,
        ),
    ] {
        let ratio = large as f64 / (small as f64).max(1.0);
        rows.push([
            format!("3. browser peak {label}"),
            format!("{} ({size})", mib(large)),
            format!("{} (64 MB)", mib(small)),
            format!("{ratio:.2}×"),
            goal(ratio, 1.2, "≤ 1.2"),
        ]);
    }
    let (kept_large, kept_small) = (
        m.large.js_heap_after_gc_bytes as f64,
        m.small.js_heap_after_gc_bytes as f64,
    );
    let kept = kept_large / kept_small;
    rows.push([
        "   JS heap kept after the upload (after gc())".into(),
        format!("{:.2} MiB ({size})", kept_large / 1048576.0),
        format!("{:.2} MiB (64 MB)", kept_small / 1048576.0),
        format!("{kept:.2}×"),
        goal(kept, 1.2, "≤ 1.2"),
    ]);
    for (label, bytes) in [
        ("idle", u.proxy.idle_rss_bytes),
        ("peak, direct upload", u.proxy.direct_peak_rss_bytes),
        ("peak, relay upload", u.proxy.relay_peak_rss_bytes),
    ] {
        rows.push([
            format!("4. proxy RSS {label}"),
            mib(bytes),
            "—".into(),
            "—".into(),
            "—".into(),
        ]);
    }
    for (call, loads) in [
        ("POST /api/posts", &r.latency.post),
        ("GET /api/posts/{id}", &r.latency.get),
    ] {
        for (concurrency, l) in loads {
            rows.push([
                format!("4. {call} via proxy, c={concurrency}"),
                format!("p50 {:.2} ms, p99 {:.2} ms", l.proxy.p50_ms, l.proxy.p99_ms),
                format!(
                    "sim p50 {:.2}, p99 {:.2} ms",
                    l.direct.p50_ms, l.direct.p99_ms
                ),
                format!("+{:.2} / +{:.2} ms", l.added_p50_ms, l.added_p99_ms),
                "—".into(),
            ]);
        }
    }
    let b = &r.bundle;
    for (part, sizes) in [("wasm", b.wasm), ("js", b.js), ("css", b.css)] {
        rows.push([
            format!("5. bundle {part}"),
            format!(
                "{:.1} KB gzip, {:.1} KB br",
                sizes.gzip as f64 / 1000.0,
                sizes.brotli as f64 / 1000.0
            ),
            format!("{:.1} KB raw", sizes.raw as f64 / 1000.0),
            "—".into(),
            "—".into(),
        ]);
    }
    let total = b.total.gzip as f64 / 1000.0;
    rows.push([
        "5. bundle all in".into(),
        format!(
            "{total:.1} KB gzip, {:.1} KB br",
            b.total.brotli as f64 / 1000.0
        ),
        format!("Uppy {:.0} KB gzip", b.uppy_gzip as f64 / 1000.0),
        format!("{:.2}×", b.total.gzip as f64 / b.uppy_gzip as f64),
        goal(total, 80.0, "≤ 80 KB"),
    ]);
    let s = &r.startup;
    rows.push([
        "6. page start (Post button in DOM)".into(),
        format!("median {:.0} ms", s.warm_median_ms),
        format!("first (cold) load {:.0} ms", s.cold_ms),
        format!("account line {:.0} ms", s.account_median_ms),
        "—".into(),
    ]);

    markdown_table(["measure", "value", "reference", "figure", "goal"], &rows)
}

/// Markers around the latest run's section of BENCHMARKS.md; the rest is written by hand.
const BEGIN: &str = "<!-- bench:latest:begin -->";
const END: &str = "<!-- bench:latest:end -->";

/// Replaces the latest-run section of BENCHMARKS.md (creating the file if needed).
pub fn record(path: &Path, report: &Report, table: &str) -> Result<()> {
    replace_section(path, BEGIN, END, &section(report, table))
}

/// The latest-run section: the machine, the load, the time taken and the table.
fn section(report: &Report, table: &str) -> String {
    let m = &report.machine;
    format!(
        "{BEGIN}\n## Latest run: {date}{quick}\n\nMachine: {nproc} cores ({cpu}), {mem:.1} GiB memory, {kernel}; \
         {chromium}; {curl}; {rustc}. Load average before/after: {before} / {after}. \
         `cargo xtask bench` took {secs:.0} s.\n\n{table}\n\nThe full numbers: `target/bench/latest.json`.\n{END}",
        date = report.date,
        quick = if report.quick { " (--quick)" } else { "" },
        nproc = m.nproc,
        cpu = m.cpu.as_deref().unwrap_or("?"),
        mem = m.memory_bytes.map_or(f64::NAN, |bytes| bytes as f64) / f64::from(1u32 << 30),
        kernel = m.kernel,
        chromium = m.chromium,
        curl = m.curl,
        rustc = m.rustc,
        before = report.load_average.before,
        after = report.load_average.after,
        secs = report.elapsed_secs,
    )
}

/// Bytes in MiB, with a decimal below 20 MiB.
fn mib(bytes: u64) -> String {
    let mib = bytes as f64 / 1048576.0;
    if mib < 20.0 {
        format!("{mib:.1} MiB")
    } else {
        format!("{mib:.0} MiB")
    }
}

/// "met" or "MISSED" against the goal `text` (`value` at most `limit`).
fn goal(value: f64, limit: f64, text: &str) -> String {
    if value <= limit {
        format!("{text}: met")
    } else {
        format!("{text}: MISSED")
    }
}

#[cfg(test)]
mod tests {
    use super::super::bundle::Sizes;
    use super::super::latency::{Overhead, Percentiles};
    use super::super::throughput::{MemoryPeak, Timing};
    use super::*;

    /// A report of a 256 MiB run with round numbers.
    fn figures() -> Figures {
        let timing = |secs: f64| Timing {
            median_secs: secs,
            mb_per_sec: 268.0 / secs,
            sim_cpu_percent: 40.0,
            ..Timing::default()
        };
        let overhead = |added: f64| Overhead {
            requests: 200,
            direct: Percentiles {
                p50_ms: 0.5,
                p99_ms: 1.0,
                per_sec: 2000.0,
            },
            proxy: Percentiles {
                p50_ms: 0.5 + added,
                p99_ms: 1.0 + added,
                per_sec: 1000.0,
            },
            added_p50_ms: added,
            added_p99_ms: added,
        };
        let peak = |heap: u64, kept: u64| MemoryPeak {
            js_heap_bytes: heap,
            js_heap_after_gc_bytes: kept,
            renderer_rss_bytes: 100 << 20,
            chromium_rss_bytes: 400 << 20,
            ..MemoryPeak::default()
        };
        Figures {
            large_bytes: 256 << 20,
            uploads: Uploads {
                direct_ratio: 1.05,
                relay_ratio: 1.5,
                curl_direct: timing(1.0),
                app_direct: timing(1.05),
                app_relay: timing(1.5),
                proxy: super::super::throughput::ProxyRss {
                    idle_rss_bytes: 5 << 20,
                    ..Default::default()
                },
                ..Uploads::default()
            },
            memory: Memory {
                small: peak(10 << 20, 2 << 20),
                large: peak(13 << 20, 2 << 20),
            },
            latency: Latency {
                post: [(1, overhead(0.25)), (64, overhead(2.0))].into(),
                get: [(1, overhead(0.5))].into(),
                ..Latency::default()
            },
            startup: Startup {
                cold_ms: 300.0,
                warm_median_ms: 120.0,
                account_median_ms: 150.0,
                ..Startup::default()
            },
            bundle: Bundle {
                uppy_gzip: 110_000,
                wasm: Sizes {
                    raw: 200_000,
                    gzip: 70_000,
                    brotli: 60_000,
                },
                total: Sizes {
                    raw: 250_000,
                    gzip: 88_000,
                    brotli: 75_000,
                },
                ..Bundle::default()
            },
        }
    }

    /// The table's row whose first cell starts with `measure`, as its cells.
    fn row(table: &str, measure: &str) -> Vec<String> {
        table
            .lines()
            .find(|line| line.trim_start_matches("| ").starts_with(measure))
            .unwrap_or_else(|| panic!("no row {measure:?} in\n{table}"))
            .trim_matches(|c| c == '|' || c == ' ')
            .split(" | ")
            .map(|cell| cell.trim().to_owned())
            .collect()
    }

    #[test]
    fn each_figure_reads_its_own_fields() {
        let table = table(&figures());
        assert_eq!(
            row(&table, "1. upload direct, page (256 MiB)"),
            [
                "1. upload direct, page (256 MiB)",
                "1.05 s, 255 MB/s",
                "curl 1.00 s",
                "1.05×",
                "≤ 1.11: met"
            ]
        );
        assert_eq!(
            row(&table, "2. upload relay, page")[1..4],
            ["1.50 s, 179 MB/s", "curl direct 1.00 s", "1.50×"]
        );
        assert_eq!(
            row(&table, "3. browser peak JS heap")[1..],
            [
                "13.0 MiB (256 MiB)",
                "10.0 MiB (64 MB)",
                "1.30×",
                "≤ 1.2: MISSED"
            ]
        );
        assert_eq!(row(&table, "4. proxy RSS idle")[1], "5.0 MiB");
        assert_eq!(
            row(&table, "4. POST /api/posts via proxy, c=64")[1..4],
            [
                "p50 2.50 ms, p99 3.00 ms",
                "sim p50 0.50, p99 1.00 ms",
                "+2.00 / +2.00 ms"
            ]
        );
        assert_eq!(
            row(&table, "5. bundle all in")[1..],
            [
                "88.0 KB gzip, 75.0 KB br",
                "Uppy 110 KB gzip",
                "0.80×",
                "≤ 80 KB: MISSED"
            ]
        );
        assert_eq!(
            row(&table, "6. page start")[1..4],
            [
                "median 120 ms",
                "first (cold) load 300 ms",
                "account line 150 ms"
            ]
        );
    }

    #[test]
    fn the_table_has_a_row_per_measure_and_no_nan() {
        let table = table(&figures());
        // Header, rule, and 23 rows: 8 uploads, 4 browser memory, 3 proxy RSS, 3 latency
        // (the loads the report holds), 4 bundle, 1 page start.
        assert_eq!(table.lines().count(), 2 + 23, "{table}");
        let widths: Vec<usize> = table.lines().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "padded:\n{table}");
        assert!(!table.contains("NaN"), "{table}");
    }

    #[test]
    fn the_recorded_section_describes_the_machine_and_the_run() {
        let report = Report {
            date: "2026-12-02T04:00:00Z".into(),
            quick: true,
            rounds: 3,
            machine: Machine {
                nproc: 2,
                cpu: Some("Some CPU".into()),
                memory_bytes: Some(8 << 30),
                kernel: "Linux 6.1".into(),
                chromium: "Chromium 130".into(),
                curl: "curl 8.5.0".into(),
                rustc: "rustc 1.90.0".into(),
            },
            load_average: LoadAverage {
                before: "1.00 0.50 0.25".into(),
                after: "2.00 1.00 0.50".into(),
            },
            figures: Figures::default(),
            shaped_link: link::Figure::default(),
            poster: poster::Figure::default(),
            elapsed_secs: 200.4,
        };
        let section = section(&report, "TABLE");
        assert!(
            section.starts_with(
                "<!-- bench:latest:begin -->\n## Latest run: 2026-12-02T04:00:00Z (--quick)\n"
            ),
            "{section}"
        );
        assert!(
            section.contains(
                "Machine: 2 cores (Some CPU), 8.0 GiB memory, Linux 6.1; Chromium 130; curl 8.5.0; \
                 rustc 1.90.0. Load average before/after: 1.00 0.50 0.25 / 2.00 1.00 0.50. \
                 `cargo xtask bench` took 200 s.\n\nTABLE\n"
            ),
            "{section}"
        );
        assert!(section.ends_with("<!-- bench:latest:end -->"));
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["large_bytes"], 0, "figures 1–6 sit at the top level");
        assert_eq!(json["machine"]["nproc"], 2);
    }
}
