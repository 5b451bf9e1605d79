//! Builds the browser app into `dist/` with Trunk: release, size profile, wasm-opt, offline.

use crate::tools::{Tools, exec, step};
use anyhow::Result;
use std::path::PathBuf;
use std::process::Command;

/// Where Trunk puts the built app.
pub fn dir() -> PathBuf {
    crate::test::root().join("dist")
}

/// `trunk build --release`, never downloading anything: dependencies are fetched by cargo first,
/// and Trunk only accepts the wasm-bindgen and wasm-opt already installed.
pub fn build(tools: &Tools) -> Result<()> {
    let root = crate::test::root();
    exec(
        Command::new("cargo")
            .args(["fetch", "--locked"])
            .current_dir(&root),
    )?;
    step("building the app (trunk build --release)");
    exec(
        Command::new("trunk")
            .args(["build", "--release", "--offline"])
            .env("PATH", &tools.path)
            .current_dir(&root),
    )
}
