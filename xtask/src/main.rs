//! `cargo xtask …`: the project's automation, in Rust rather than shell scripts.
//!
//! - `cargo xtask demo`: build everything and run the uploader against the TikTok simulator.
//! - `cargo xtask test`: every check and test CI runs (format, lints, native, wasm, e2e).
//! - `cargo xtask bench`: upload speed, memory, proxy overhead, bundle size and page start, as
//!   ratios against references measured in the same run (results in BENCHMARKS.md).
//!
//! Both install what is missing first and skip what is already there.

mod bench;
mod coverage;
mod demo;
mod dist;
mod test;
mod tools;
mod wasm_fixture;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Automation for the TikTok autoposter", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the app and run it with the proxy against the TikTok simulator.
    Demo(demo::Args),
    /// Run every check and test: fmt, clippy, native (with coverage), wasm in Chromium, e2e.
    Test(test::Args),
    /// Install the tools the build and tests need (what `demo` and `test` do first).
    Install,
    /// Build the browser app into dist/ (release, size-optimised).
    Dist,
    /// Measure upload speed, memory, proxy overhead, bundle size and page start (3 to 5 min).
    Bench(bench::Args),
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse().command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("\nerror: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Demo(args) => demo::run(args),
        Command::Test(args) => test::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Install => tools::ensure_all().map(drop),
        Command::Dist => {
            let tools = tools::ensure_build()?;
            dist::build(&tools)
        }
    }
}
