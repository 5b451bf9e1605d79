//! Figure 5: what the browser downloads — the release `.wasm`, the JS glue and the CSS — raw,
//! gzip (level 9) and brotli (quality 11), against Uppy core + Dashboard + tus (a widget of the
//! same class: about 89 KB gzip JS and 21 KB gzip CSS). And what costs the bytes: the same
//! wasm-bindgen output optimised again with the wasm-opt arguments Trunk used (read from
//! `index.html`, the one place they are written) but keeping function names (`-g`), read by
//! `twiggy top`, and rolled up by crate.

use super::Setup;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// Uppy core + Dashboard + tus, gzip: 89 KB of JS and 21 KB of CSS.
const UPPY_GZIP: u64 = 89_000 + 21_000;
/// Rows of `twiggy top` shown.
const TOP: usize = 15;

pub fn measure(setup: &Setup) -> Result<Bundle> {
    crate::tools::step("bundle: gzip and brotli sizes, twiggy");
    let mut parts: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    // Only what the page loads: files index.html names (dist/ may hold others, e.g. scripts
    // for other sites to include).
    let index = std::fs::read_to_string(setup.dist.join("index.html"))?;
    for entry in std::fs::read_dir(&setup.dist)? {
        let path = entry?.path();
        let named = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|name| index.contains(name));
        if !named {
            continue;
        }
        let part = match path.extension().and_then(|e| e.to_str()) {
            Some("wasm") => "wasm",
            Some("js") => "js",
            Some("css") => "css",
            _ => continue,
        };
        let bytes = std::fs::read(&path)?;
        let sizes = [bytes.len() as u64, gzip(&bytes)?, brotli(&bytes)?];
        let sum = parts.entry(part).or_default();
        for (total, size) in sum.iter_mut().zip(sizes) {
            *total += size;
        }
    }
    let mut bundle = Bundle {
        uppy_gzip: UPPY_GZIP,
        ..Bundle::default()
    };
    for (part, sizes) in &parts {
        eprintln!(
            "    {part:4} {:>8} B raw, {:>7} B gzip, {:>7} B brotli",
            sizes[0], sizes[1], sizes[2]
        );
        let sizes = Sizes {
            raw: sizes[0],
            gzip: sizes[1],
            brotli: sizes[2],
        };
        bundle.total.raw += sizes.raw;
        bundle.total.gzip += sizes.gzip;
        bundle.total.brotli += sizes.brotli;
        match *part {
            "wasm" => bundle.wasm = sizes,
            "js" => bundle.js = sizes,
            _ => bundle.css = sizes,
        }
    }
    match what_costs(setup) {
        Ok((top, crates)) => {
            eprintln!("{top}");
            bundle.twiggy_top = Some(top);
            bundle.by_crate = crates;
        }
        Err(error) => {
            eprintln!("    (no twiggy breakdown: {error:#})");
            bundle.twiggy_error = Some(format!("{error:#}"));
        }
    }
    Ok(bundle)
}

/// Figure 5 as recorded in the report, in bytes.
#[derive(Debug, Default, Serialize)]
pub struct Bundle {
    /// The reference: Uppy core + Dashboard + tus, gzip.
    pub uppy_gzip: u64,
    pub wasm: Sizes,
    pub js: Sizes,
    pub css: Sizes,
    pub total: Sizes,
    /// `twiggy top` of the wasm, as printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twiggy_top: Option<String>,
    /// The wasm's bytes per crate, largest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub by_crate: Vec<(String, u64)>,
    /// Why there is no twiggy breakdown, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub twiggy_error: Option<String>,
}

/// One part of the bundle: its size as served raw, gzip and brotli.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Sizes {
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

/// One row of `twiggy top -f json`.
#[derive(Deserialize)]
struct TwiggyItem {
    name: String,
    shallow_size: u64,
}

fn gzip(bytes: &[u8]) -> Result<u64> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len() as u64)
}

fn brotli(bytes: &[u8]) -> Result<u64> {
    let mut out = Vec::new();
    {
        // Quality 11, a 4 MiB window: what static pre-compression uses.
        let mut writer = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        writer.write_all(bytes)?;
    }
    Ok(out.len() as u64)
}

/// `twiggy top -n 15` of the named, optimised wasm, and the bytes per crate (largest first).
fn what_costs(setup: &Setup) -> Result<(String, Vec<(String, u64)>)> {
    let bindgen = setup
        .root
        .join("target/wasm-bindgen/release")
        .join("app_bg.wasm");
    anyhow::ensure!(
        bindgen.is_file(),
        "{} is missing (trunk build --release makes it)",
        bindgen.display()
    );
    let named = setup.scratch.join("app_named.wasm");
    let index = setup.root.join("index.html");
    let index =
        std::fs::read_to_string(&index).with_context(|| format!("reading {}", index.display()))?;
    let args = wasm_opt_args(&index)?;
    let status = Command::new("wasm-opt")
        .env("PATH", &setup.path)
        .args(&args)
        .arg("-g")
        .arg(&bindgen)
        .arg("-o")
        .arg(&named)
        .status()
        .context("running wasm-opt")?;
    anyhow::ensure!(status.success(), "wasm-opt {} -g failed", args.join(" "));
    let all = twiggy(&named, &["top", "-n", "100000", "-f", "json"])?;
    let items: Vec<TwiggyItem> = serde_json::from_str(&all).context("reading twiggy's JSON")?;
    // The names `-g` kept are not shipped: leave them out of the sizes and the shares.
    let shipped: Vec<(String, u64)> = items
        .into_iter()
        .map(|item| (item.name, item.shallow_size))
        .filter(|(name, _)| !name.contains("names\" subsection"))
        .collect();
    let total: u64 = shipped.iter().map(|(_, size)| size).sum();
    let mut top =
        format!("    twiggy top {TOP} of the optimised wasm ({total} bytes without names):\n");
    for (name, size) in shipped.iter().take(TOP) {
        let name: String = name.chars().take(100).collect();
        top.push_str(&format!(
            "    {size:>7} B {:>5.2} %  {name}\n",
            *size as f64 * 100.0 / total as f64
        ));
    }
    let mut crates: BTreeMap<String, u64> = BTreeMap::new();
    for (name, size) in &shipped {
        *crates.entry(crate_of(name)).or_default() += size;
    }
    let mut crates: Vec<(String, u64)> = crates.into_iter().collect();
    crates.sort_by_key(|c| std::cmp::Reverse(c.1));
    crates.truncate(TOP);
    top.push_str("    by crate: ");
    top.push_str(
        &crates
            .iter()
            .map(|(name, size)| format!("{name} {size}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    Ok((top, crates))
}

/// The wasm-opt arguments Trunk passes for the app, from `index.html`'s `<link data-trunk
/// rel="rust">`: `-O` with the `data-wasm-opt` level (Trunk's `-O` when there is none), then
/// `data-wasm-opt-params` in order. Level `0` is no wasm-opt at all, so no arguments.
fn wasm_opt_args(index_html: &str) -> Result<Vec<String>> {
    let link = index_html
        .split('<')
        .find(|tag| {
            tag.starts_with("link") && tag.contains(" data-trunk") && tag.contains(r#"rel="rust""#)
        })
        .context(r#"index.html has no <link data-trunk rel="rust">"#)?;
    let level = attribute(link, "data-wasm-opt").unwrap_or("");
    if level == "0" {
        return Ok(Vec::new());
    }
    let params = attribute(link, "data-wasm-opt-params").unwrap_or("");
    Ok(std::iter::once(format!("-O{level}"))
        .chain(params.split_whitespace().map(str::to_owned))
        .collect())
}

/// The value of `name="…"` in an HTML tag's text.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let length = tag[start..].find('"')?;
    Some(&tag[start..start + length])
}

fn twiggy(wasm: &Path, args: &[&str]) -> Result<String> {
    let out = Command::new("twiggy")
        .args(args)
        .arg(wasm)
        .output()
        .context("running twiggy")?;
    anyhow::ensure!(
        out.status.success(),
        "twiggy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The crate a demangled item name belongs to: its first path segment, or for a trait method
/// (`<T as Trait>::f`) the type's crate, or the trait's when the type is a primitive; data and
/// unnamed code as their own groups.
fn crate_of(name: &str) -> String {
    if name.starts_with("data segment") || name.starts_with("data[") {
        return "(data segments)".into();
    }
    if name.starts_with("code[") {
        return "(unnamed code)".into();
    }
    let name = name.trim_start_matches(['<', '&', '*', ' ']);
    let name = ["dyn ", "impl ", "mut "]
        .iter()
        .fold(name, |n, prefix| n.strip_prefix(prefix).unwrap_or(n));
    let first = |path: &str| -> Option<String> {
        let (first, _) = path.split_once("::")?;
        // Crate names carry their hash: `core[c5930c85a12de822]`.
        let first = first.split('[').next().unwrap_or(first);
        (!first.is_empty() && !first.contains([' ', '(', '<', ','])).then(|| first.to_owned())
    };
    if let Some((self_type, rest)) = name.split_once(" as ")
        && let Some(krate) = first(self_type).or_else(|| first(rest))
    {
        return krate;
    }
    first(name).unwrap_or_else(|| format!("({})", name.split(['[', ' ']).next().unwrap_or(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wasm_opt_gets_the_level_and_params_trunk_gets() {
        let index = r#"<head>
            <link data-trunk rel="css" href="app/style.css" data-wasm-opt="1" />
            <link data-trunk rel="rust" href="app/Cargo.toml" data-wasm-opt="z" data-wasm-opt-params="--low-memory-unused  --strip-producers" />
        </head>"#;
        assert_eq!(
            wasm_opt_args(index).unwrap(),
            ["-Oz", "--low-memory-unused", "--strip-producers"]
        );
        let plain = r#"<link data-trunk rel="rust" href="app/Cargo.toml" />"#;
        assert_eq!(wasm_opt_args(plain).unwrap(), ["-O"]);
        let off = r#"<link data-trunk rel="rust" data-wasm-opt="0" data-wasm-opt-params="-g" />"#;
        assert!(wasm_opt_args(off).unwrap().is_empty());
        assert!(wasm_opt_args("<link data-trunk rel=\"css\" />").is_err());
    }

    #[test]
    fn the_shipped_index_html_is_read() {
        let index = std::fs::read_to_string(crate::test::root().join("index.html")).unwrap();
        let args = wasm_opt_args(&index).unwrap();
        assert!(args[0].starts_with("-O"), "{args:?}");
    }
}
