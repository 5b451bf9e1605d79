//! `cargo xtask …`: the project's automation, in Rust rather than shell scripts.
//!
//! - `cargo xtask demo`: build everything and run the uploader against the TikTok simulator.
//! - `cargo xtask test`: every check and test CI runs (format, lints, native, wasm, e2e).
//!
//! Both install what is missing first and skip what is already there.

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
        Command::Install => tools::ensure_all().map(drop),
        Command::Dist => {
            let tools = tools::ensure_build()?;
            dist::build(&tools)
        }
    }
}
