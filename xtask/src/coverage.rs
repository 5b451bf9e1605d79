//! Native line coverage: `cargo llvm-cov` over the native tests (the workspace's, and the app's
//! library tests, which run without a browser), held to a floor.
//!
//! Binaries the tests start (`CARGO_BIN_EXE_*`: the proxy, the `autoposter` CLI) are the
//! instrumented builds too, and count when they exit normally or on SIGTERM/SIGINT. A process
//! killed with SIGKILL (the crash tests' point) writes no profile: what it ran before the kill
//! does not count.

use crate::tools::{Tally, exec, exec_tests, step};
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The least share of native lines the tests must run, in percent. `cargo xtask test` fails
/// below it; lower it only with a reason in the commit that does.
pub const FLOOR: f64 = 90.0;

/// How many of the files that miss the most lines a report names.
const WORST: usize = 8;

/// The files the figure leaves out, below the workspace root (an `--ignore-filename-regex`,
/// anchored there). `xtask/` is automation, not the product. The app's components (`page/`,
/// `lib.rs`, `embed.rs`, `main.rs`) and its bindings to browser APIs (`api.rs` and `job.rs`:
/// fetch; `json.rs` and `json/value.rs`: `JSON.parse` and the JS values it makes; `storage.rs`:
/// `localStorage`; `upload.rs`: XHR and `Blob.slice`; `engine/browser.rs`: the engine's
/// transport over those; `post/browser.rs`: the post's page in a tab, signals, `localStorage`
/// and the wake lock; `video.rs`; `wake_lock.rs`) run only in a browser: the wasm-bindgen and
/// e2e stages test them there. Everything else in `app/src` (the upload engine, the post's
/// course) is counted.
const NOT_COUNTED: &str = r"(xtask/|app/src/(page/|(engine|post)/browser\.rs$|json/value\.rs$|(lib|main|embed|api|job|json|storage|upload|video|wake_lock)\.rs$))";

/// Runs the native tests under `cargo llvm-cov`, prints the figure and fails below [`FLOOR`].
pub fn run(root: &Path, tally: &mut Tally) -> Result<()> {
    let llvm_cov = || {
        let mut command = Command::new("cargo");
        command.current_dir(root).arg("llvm-cov");
        command
    };
    // Each `--no-report` run adds its profiles; `clean` drops the last run's first.
    exec(llvm_cov().args(["clean", "--workspace"]))?;
    step("native tests with coverage (cargo llvm-cov)");
    for packages in crate::test::NATIVE_RUNS {
        exec_tests(llvm_cov().arg("--no-report").args(packages), tally)?;
    }
    let report = llvm_cov()
        .args([
            "report",
            "--json",
            "--summary-only",
            "--ignore-filename-regex",
        ])
        .arg(ignore_regex(root))
        .output()
        .context("could not start cargo llvm-cov report")?;
    if !report.status.success() {
        bail!(
            "cargo llvm-cov report failed ({}): {}",
            report.status,
            String::from_utf8_lossy(&report.stderr)
        );
    }
    let text = String::from_utf8(report.stdout).context("llvm-cov's JSON is not UTF-8")?;
    let coverage = Coverage::from_json(&text, root)?;
    println!("{}", coverage.summary(WORST));
    coverage.check(FLOOR)
}

/// [`NOT_COUNTED`] anchored at `root`, so that a checkout whose path itself holds `xtask/`
/// (say `/work/wt-xtask/`) is not left out whole.
fn ignore_regex(root: &Path) -> String {
    let root = root.to_string_lossy();
    let escaped: String = root
        .chars()
        .flat_map(|c| {
            let special = r"\.+*?()|[]{}^$".contains(c);
            special.then_some('\\').into_iter().chain([c])
        })
        .collect();
    format!("^{escaped}/{NOT_COUNTED}")
}

/// The line counts of one `cargo llvm-cov report --json --summary-only`.
#[derive(Debug)]
pub struct Coverage {
    /// Every counted file's lines, paths relative to the workspace root.
    files: Vec<(PathBuf, Lines)>,
    total: Lines,
}

/// Lines of code llvm-cov counted, and how many of them the tests ran.
#[derive(Debug, Clone, Copy, Deserialize)]
struct Lines {
    count: u64,
    covered: u64,
}

impl Lines {
    fn percent(self) -> f64 {
        if self.count == 0 {
            100.0
        } else {
            self.covered as f64 * 100.0 / self.count as f64
        }
    }

    fn missed(self) -> u64 {
        self.count - self.covered
    }
}

/// `llvm-cov export -summary-only`'s JSON, as far as it is read here.
#[derive(Deserialize)]
struct Export {
    data: Vec<ExportData>,
}

#[derive(Deserialize)]
struct ExportData {
    files: Vec<ExportFile>,
    totals: Summary,
}

#[derive(Deserialize)]
struct ExportFile {
    filename: PathBuf,
    summary: Summary,
}

#[derive(Deserialize)]
struct Summary {
    lines: Lines,
}

impl Coverage {
    /// Reads llvm-cov's JSON export; file names are shown relative to `root`.
    pub fn from_json(json: &str, root: &Path) -> Result<Self> {
        let export: Export = serde_json::from_str(json).context("reading llvm-cov's JSON")?;
        let data = export
            .data
            .into_iter()
            .next()
            .context("llvm-cov's JSON holds no data")?;
        let files = data
            .files
            .into_iter()
            .map(|file| {
                let path = file
                    .filename
                    .strip_prefix(root)
                    .map_or_else(|_| file.filename.clone(), Path::to_path_buf);
                (path, file.summary.lines)
            })
            .collect();
        Ok(Self {
            files,
            total: data.totals.lines,
        })
    }

    /// The figure against the floor, and the `worst` files by lines missed.
    pub fn summary(&self, worst: usize) -> String {
        let mut files: Vec<_> = self.files.iter().filter(|(_, l)| l.missed() > 0).collect();
        files.sort_by_key(|(path, lines)| (std::cmp::Reverse(lines.missed()), path.clone()));
        let mut out = format!(
            "native line coverage: {:.2} % ({} of {} lines), floor {FLOOR:.0} %",
            self.total.percent(),
            self.total.covered,
            self.total.count,
        );
        if !files.is_empty() {
            out.push_str("\nfiles missing the most lines:");
        }
        for (path, lines) in files.into_iter().take(worst) {
            out.push_str(&format!(
                "\n  {:>6.2} %  {:>5} missed  {}",
                lines.percent(),
                lines.missed(),
                path.display()
            ));
        }
        out
    }

    /// Fails when the figure is under `floor` percent.
    pub fn check(&self, floor: f64) -> Result<()> {
        let percent = self.total.percent();
        if percent < floor {
            bail!(
                "native line coverage is {percent:.2} %, under the floor of {floor:.0} % \
                 (the files missing the most lines are listed above)"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "/work/wt-xtask";

    fn export(total: (u64, u64), files: &[(&str, u64, u64)]) -> String {
        let file = |(name, count, covered): &(&str, u64, u64)| {
            serde_json::json!({
                "filename": format!("{ROOT}/{name}"),
                "summary": {"lines": {"count": count, "covered": covered, "percent": 0.0}},
            })
        };
        serde_json::json!({
            "data": [{
                "files": files.iter().map(file).collect::<Vec<_>>(),
                "totals": {"lines": {"count": total.0, "covered": total.1, "percent": 0.0}},
            }],
            "type": "llvm.coverage.json.export",
            "version": "2.0.1",
        })
        .to_string()
    }

    #[test]
    fn the_summary_gives_the_figure_the_floor_and_the_files_missing_most() {
        let json = export(
            (1000, 950),
            &[
                ("proxy/src/main.rs", 100, 70),
                ("cli/src/watch.rs", 200, 190),
                ("protocol/src/chunk.rs", 700, 690),
                ("sim/src/lib.rs", 0, 0),
            ],
        );
        let coverage = Coverage::from_json(&json, Path::new(ROOT)).unwrap();
        assert_eq!(
            coverage.summary(2),
            "native line coverage: 95.00 % (950 of 1000 lines), floor 90 %\n\
             files missing the most lines:\n   \
             70.00 %     30 missed  proxy/src/main.rs\n   \
             95.00 %     10 missed  cli/src/watch.rs"
        );
    }

    #[test]
    fn under_the_floor_fails_and_says_the_figure() {
        let under = Coverage::from_json(&export((1000, 899), &[]), Path::new(ROOT)).unwrap();
        let error = under.check(90.0).unwrap_err().to_string();
        assert!(error.contains("89.90 %"), "{error}");
        assert!(error.contains("floor of 90 %"), "{error}");
        let at = Coverage::from_json(&export((1000, 900), &[]), Path::new(ROOT)).unwrap();
        at.check(90.0).unwrap();
    }

    #[test]
    fn unreadable_json_is_an_error_not_a_zero() {
        assert!(Coverage::from_json("{}", Path::new(ROOT)).is_err());
        assert!(Coverage::from_json(r#"{"data": []}"#, Path::new(ROOT)).is_err());
    }

    #[test]
    fn the_ignore_regex_is_anchored_at_the_root_and_escapes_it() {
        let regex = ignore_regex(Path::new("/work/wt-xtask.2"));
        assert!(regex.starts_with(r"^/work/wt-xtask\.2/("), "{regex}");
        assert!(regex.ends_with(r"\.rs$))"), "{regex}");
    }
}
