//! `cargo xtask test`: everything CI runs, in the order that fails fastest.

use crate::tools::{self, Tally, Tools, exec, exec_tests, step};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Options of `cargo xtask test`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run only these stages (default: all, in this order).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub only: Vec<Stage>,
    /// Run native tests without coverage instrumentation (faster when iterating).
    #[arg(long)]
    pub no_coverage: bool,
}

/// The stages of `cargo xtask test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Stage {
    /// `cargo fmt --check` and `cargo clippy -D warnings` (native and wasm32).
    Lint,
    /// Native unit, property and integration tests, with a coverage summary.
    Native,
    /// `wasm-bindgen-test` in headless Chromium (protocol and app).
    Wasm,
    /// Browser end-to-end tests against the built app, the proxy and the simulator.
    E2e,
}

const ALL: [Stage; 4] = [Stage::Lint, Stage::Native, Stage::Wasm, Stage::E2e];

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask's manifest dir has a parent: the workspace root")
        .to_path_buf()
}

pub fn run(args: Args) -> Result<()> {
    let started = Instant::now();
    let tools = tools::ensure_all()?;
    let mut tally = Tally::default();
    let stages = if args.only.is_empty() {
        ALL.to_vec()
    } else {
        args.only.clone()
    };
    for stage in ALL.into_iter().filter(|s| stages.contains(s)) {
        match stage {
            Stage::Lint => lint(&root())?,
            Stage::Native => native(&root(), args.no_coverage, &mut tally)?,
            Stage::Wasm => wasm(&root(), &tools, &mut tally)?,
            Stage::E2e => e2e(&root(), &tools, &mut tally)?,
        }
    }
    step(&format!(
        "all checks passed in {:.0} s",
        started.elapsed().as_secs_f64()
    ));
    // The closing line CI reads: every test the runners reported, across all stages.
    println!("tests: {} passed, {} failed", tally.passed, tally.failed);
    Ok(())
}

fn cargo(root: &Path) -> Command {
    let mut command = Command::new("cargo");
    command.current_dir(root);
    command
}

fn lint(root: &Path) -> Result<()> {
    step("cargo fmt --check");
    exec(cargo(root).args(["fmt", "--all", "--", "--check"]))?;
    step("cargo clippy (native, all targets) -D warnings");
    exec(cargo(root).args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))?;
    step("cargo clippy (wasm32: protocol, app) -D warnings");
    exec(cargo(root).args([
        "clippy",
        "-p",
        "protocol",
        "-p",
        "app",
        "--target",
        "wasm32-unknown-unknown",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))
}

fn native(root: &Path, no_coverage: bool, tally: &mut Tally) -> Result<()> {
    // The e2e crate needs the built app and a browser; it has its own stage. The app is here
    // for its engine, which runs natively over a scripted transport (its browser-bound tests
    // are wasm32-only and run in the wasm stage).
    let packages = ["--workspace", "--exclude", "tests", "--locked"];
    if no_coverage {
        step("native tests");
        return exec_tests(cargo(root).arg("test").args(packages), tally);
    }
    step("native tests with coverage (cargo llvm-cov; xtask itself is not counted)");
    exec_tests(
        cargo(root).arg("llvm-cov").args(packages).args([
            "--ignore-filename-regex",
            "xtask/",
            "--summary-only",
        ]),
        tally,
    )
}

fn wasm(root: &Path, tools: &Tools, tally: &mut Tally) -> Result<()> {
    step("wasm tests in headless Chromium (wasm-bindgen-test)");
    let chromedriver = tools
        .chromedriver
        .clone()
        .context("chromedriver is not installed")?;
    let fixture = crate::wasm_fixture::Fixture::start()?;
    exec_tests(
        cargo(root)
            .args([
                "test",
                "-p",
                "protocol",
                "-p",
                "app",
                "--target",
                "wasm32-unknown-unknown",
                "--locked",
            ])
            .envs(fixture.env.iter().map(|(k, v)| (k, v)))
            .env("CHROMEDRIVER", &chromedriver)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120"),
        tally,
    )?;
    fixture.verify()
}

fn e2e(root: &Path, tools: &Tools, tally: &mut Tally) -> Result<()> {
    crate::dist::build(tools)?;
    step("browser end-to-end tests (headless Chromium, proxy, sim)");
    let chromedriver = tools
        .chromedriver
        .clone()
        .context("chromedriver is not installed")?;
    let nginx = tools.nginx.clone().context("nginx is not installed")?;
    let axe = tools.axe.clone().context("axe-core is not installed")?;
    exec_tests(
        cargo(root)
            .args(["test", "-p", "tests", "--locked", "--", "--test-threads=1"])
            .env("AUTOPOSTER_DIST", crate::dist::dir())
            .env("CHROMEDRIVER", &chromedriver)
            .env("NGINX", &nginx)
            .env("AXE_CORE", &axe),
        tally,
    )
}
