//! Builds the browser app into `dist/` with Trunk: release, size profile, wasm-opt, offline;
//! then writes a brotli and a gzip copy of each script, wasm and stylesheet beside it, which the
//! proxy sends to browsers that accept them.

use crate::tools::{Tools, exec, step};
use anyhow::Result;
use std::path::{Path, PathBuf};
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
    )?;
    precompress(&dir())
}

/// The files worth compressing ahead of time: large, and the same for every visitor. Not
/// `index.html` — it is small, and tests serve an instrumented copy of it.
const PRECOMPRESSED: [&str; 3] = ["js", "wasm", "css"];

/// Writes `NAME.br` (quality 11) and `NAME.gz` (level 9) beside each such file in `dist`.
fn precompress(dist: &Path) -> Result<()> {
    use std::io::Write;
    for entry in std::fs::read_dir(dist)? {
        let path = entry?.path();
        let wanted = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| PRECOMPRESSED.contains(&e));
        if !wanted {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gzip.write_all(&bytes)?;
        std::fs::write(with_suffix(&path, "gz"), gzip.finish()?)?;
        let mut brotli = Vec::new();
        let params = brotli::enc::BrotliEncoderParams {
            quality: 11,
            lgwin: 22,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut bytes.as_slice(), &mut brotli, &params)?;
        std::fs::write(with_suffix(&path, "br"), brotli)?;
    }
    Ok(())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(suffix);
    PathBuf::from(name)
}
