//! Installs what the build and the tests need, and skips what is already there: the wasm32
//! target, `wasm-bindgen-cli` at the exact version in Cargo.lock, Trunk, npm's binaryen (for
//! wasm-opt, linked into `~/.cargo/bin` so plain `trunk` finds it too), Chromium and its
//! driver, nginx (the TLS reverse proxy of the deploy test), iproute2 (the link shaper of the
//! slow-link tests), npm's axe-core (the accessibility checks of the screen tests), and the
//! coverage tools. Versions and traps are from
//! `shared/toolchain.md`. The bench adds `curl` and `twiggy`.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Trunk's last release that builds on rustc 1.95 (0.22 needs 1.96.1).
const TRUNK_VERSION: &str = "0.21.14";
/// npm's binaryen; Debian's 108 produces a wasm module that fails at start-up.
const BINARYEN_VERSION: &str = "132";
/// npm's axe-core, the accessibility engine the e2e tests run inside the page.
const AXE_CORE_VERSION: &str = "4.14.1";
/// Speeds up `cargo install` of the tools on two cores (about 35 % less time for Trunk).
const FAST_INSTALL_ENV: [(&str, &str); 2] = [
    ("CARGO_PROFILE_RELEASE_LTO", "false"),
    ("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "16"),
];

/// Where the tools are, for the commands that use them.
#[derive(Debug, Clone)]
pub struct Tools {
    /// A PATH with the directory of the right `wasm-opt` first.
    pub path: String,
    pub chromedriver: Option<PathBuf>,
    /// The nginx the deploy test runs in front of the proxy.
    pub nginx: Option<PathBuf>,
    /// axe-core's `axe.min.js`, which the e2e tests inject into the page (`AXE_CORE`).
    pub axe: Option<PathBuf>,
}

/// Everything `cargo xtask test` needs.
pub fn ensure_all() -> Result<Tools> {
    let mut tools = ensure_build()?;
    ensure_browser()?;
    tools.nginx = Some(ensure_nginx()?);
    ensure_link_shaper()?;
    tools.axe = Some(ensure_axe()?);
    ensure_coverage()?;
    tools.chromedriver = which("chromedriver");
    Ok(tools)
}

/// Everything `cargo xtask bench` needs: the build tools, Chromium and its driver, `curl` (the
/// reference uploader) and `twiggy` (what costs the bytes of the wasm).
pub fn ensure_bench() -> Result<Tools> {
    let mut tools = ensure_build()?;
    ensure_browser()?;
    if which("curl").is_none() {
        apt_install(&["curl"])?;
    }
    ensure_link_shaper()?;
    ensure_twiggy()?;
    tools.chromedriver = which("chromedriver");
    Ok(tools)
}

/// What building the app needs: the wasm target, wasm-bindgen, Trunk and wasm-opt.
pub fn ensure_build() -> Result<Tools> {
    ensure_wasm_target()?;
    ensure_wasm_bindgen()?;
    ensure_trunk()?;
    let path = ensure_wasm_opt()?;
    Ok(Tools {
        path,
        chromedriver: which("chromedriver"),
        nginx: nginx_binary(),
        axe: None,
    })
}

/// Installs npm's axe-core (only JavaScript, nothing to build) under `~/.cache` unless that
/// version is there, and returns its `axe.min.js`.
pub fn ensure_axe() -> Result<PathBuf> {
    let prefix = npm_prefix("axe-core", AXE_CORE_VERSION);
    let script = prefix
        .join("node_modules")
        .join("axe-core")
        .join("axe.min.js");
    if script.is_file() {
        return Ok(script);
    }
    npm_install("axe-core", AXE_CORE_VERSION)?;
    anyhow::ensure!(script.is_file(), "npm installed no {}", script.display());
    Ok(script)
}

fn ensure_wasm_target() -> Result<()> {
    let installed = output("rustup", &["target", "list", "--installed"]).unwrap_or_default();
    if installed
        .lines()
        .any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Ok(());
    }
    step("installing the wasm32-unknown-unknown target");
    exec(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// The `wasm-bindgen` version Cargo.lock pins; the CLI must match it exactly.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(crate::test::root().join("Cargo.lock"))
        .context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\""
            && let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(version.trim_matches('"').to_owned());
        }
    }
    bail!("Cargo.lock has no wasm-bindgen package")
}

fn ensure_wasm_bindgen() -> Result<()> {
    let version = locked_wasm_bindgen_version()?;
    let have = output("wasm-bindgen", &["--version"]).unwrap_or_default();
    let runner = output("wasm-bindgen-test-runner", &["--version"]).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(version.as_str()) && runner.contains(&version) {
        return Ok(());
    }
    step(&format!(
        "installing wasm-bindgen-cli {version} (about 5 minutes)"
    ));
    // Without --locked: its lock file pins a webpki-roots release the registry mirror lacks.
    exec(
        Command::new("cargo")
            .args([
                "install",
                "wasm-bindgen-cli",
                "--version",
                &version,
                "--force",
            ])
            .envs(FAST_INSTALL_ENV),
    )
}

fn ensure_trunk() -> Result<()> {
    let have = output("trunk", &["--version"]).unwrap_or_default();
    if have.split_whitespace().nth(1) == Some(TRUNK_VERSION) {
        return Ok(());
    }
    step(&format!(
        "installing trunk {TRUNK_VERSION} (about 7 minutes)"
    ));
    exec(
        Command::new("cargo")
            .args([
                "install",
                "--locked",
                "trunk",
                "--version",
                TRUNK_VERSION,
                "--force",
            ])
            .envs(FAST_INSTALL_ENV),
    )
}

/// Makes sure a `wasm-opt` of binaryen 132 comes first on the PATH Trunk will see — xtask's own
/// and the person's: npm's binaryen is kept under `~/.cache` and linked as `~/.cargo/bin/wasm-opt`
/// (where Trunk and wasm-bindgen already are), so a plain `trunk build --release` finds it
/// instead of trying to download binaryen. Returns a PATH with its directory first.
fn ensure_wasm_opt() -> Result<String> {
    let path = std::env::var("PATH").unwrap_or_default();
    if wasm_opt_is_right(Path::new("wasm-opt")) {
        return Ok(path);
    }
    let bin = npm_prefix("binaryen", BINARYEN_VERSION)
        .join("node_modules")
        .join(".bin");
    if !wasm_opt_is_right(&bin.join("wasm-opt")) {
        npm_install("binaryen", BINARYEN_VERSION)?;
    }
    link_wasm_opt(&bin.join("wasm-opt"))?;
    if !wasm_opt_is_right(Path::new("wasm-opt")) {
        // xtask still works (it puts the right one first below); plain Trunk would not.
        step(&format!(
            "warning: `wasm-opt` on your PATH is not binaryen {BINARYEN_VERSION} (found: {}). Put {} \
             before it in PATH, or plain `trunk build --release` will try to download binaryen.",
            which("wasm-opt").map_or("none".into(), |p| p.display().to_string()),
            cargo_bin_dir().display()
        ));
    }
    Ok(format!("{}:{path}", bin.display()))
}

/// Links `~/.cargo/bin/wasm-opt` to `target`, replacing an older link but never a real file
/// someone put there.
fn link_wasm_opt(target: &Path) -> Result<()> {
    let link = cargo_bin_dir().join("wasm-opt");
    match std::fs::symlink_metadata(&link) {
        Ok(meta) if meta.file_type().is_symlink() => {
            if std::fs::read_link(&link).is_ok_and(|to| to == target) {
                return Ok(());
            }
            std::fs::remove_file(&link)?;
        }
        Ok(_) if wasm_opt_is_right(&link) => return Ok(()),
        Ok(_) => bail!(
            "{} exists and is not binaryen {BINARYEN_VERSION}; remove it (Trunk needs \
             binaryen {BINARYEN_VERSION}'s wasm-opt) and run this again",
            link.display()
        ),
        Err(_) => std::fs::create_dir_all(cargo_bin_dir())?,
    }
    step(&format!(
        "linking {} -> {}",
        link.display(),
        target.display()
    ));
    std::os::unix::fs::symlink(target, &link).with_context(|| format!("linking {}", link.display()))
}

/// Where `cargo install` puts programs: `$CARGO_HOME/bin`, by default `~/.cargo/bin`.
fn cargo_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

fn wasm_opt_is_right(program: &Path) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| {
            String::from_utf8_lossy(&o.stdout).contains(&format!("version {BINARYEN_VERSION}"))
        })
}

fn ensure_browser() -> Result<()> {
    if which("chromium").is_some() && which("chromedriver").is_some() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// Where npm's `package@version` is installed: its own prefix in our cache.
fn npm_prefix(package: &str, version: &str) -> PathBuf {
    cache_dir().join(format!("{package}-{version}"))
}

/// `npm install package@version` into [`npm_prefix`], installing npm first if needed.
fn npm_install(package: &str, version: &str) -> Result<()> {
    if which("npm").is_none() {
        apt_install(&["nodejs", "npm"])?;
    }
    let prefix = npm_prefix(package, version);
    step(&format!(
        "installing npm's {package}@{version} into {}",
        prefix.display()
    ));
    std::fs::create_dir_all(&prefix)?;
    exec(Command::new("npm").args([
        "install",
        "--no-audit",
        "--no-fund",
        "--prefix",
        &prefix.to_string_lossy(),
        &format!("{package}@{version}"),
    ]))
}

/// `ip` and `tc` (Debian's iproute2), with which the link shaper (`tests/src/link.rs`) makes its
/// namespace, veth pair and `tbf` queues for the slow-link tests and figure 7 of the bench.
/// Whether the kernel has `tbf`, and whether we are root, the shaper itself checks and says.
fn ensure_link_shaper() -> Result<()> {
    if which("ip").is_none() || which("tc").is_none() {
        apt_install(&["iproute2"])?;
    }
    Ok(())
}

/// Debian's nginx (1.22), for the e2e test that runs the proxy behind TLS exactly as
/// docs/DEPLOY.md sets it up. The test starts its own nginx process with its own config on
/// 127.0.0.1; the system service is neither needed nor touched.
fn ensure_nginx() -> Result<PathBuf> {
    if let Some(nginx) = nginx_binary() {
        return Ok(nginx);
    }
    apt_install(&["nginx"])?;
    nginx_binary().context("apt-get installed nginx, but there is no /usr/sbin/nginx")
}

/// nginx on PATH, or where Debian puts it (`/usr/sbin`, which is not on a normal user's PATH).
fn nginx_binary() -> Option<PathBuf> {
    which("nginx").or_else(|| {
        let debian = PathBuf::from("/usr/sbin/nginx");
        debian.is_file().then_some(debian)
    })
}

fn ensure_coverage() -> Result<()> {
    let components = output("rustup", &["component", "list", "--installed"]).unwrap_or_default();
    if !components.lines().any(|l| l.starts_with("llvm-tools")) {
        step("installing the llvm-tools-preview component");
        exec(Command::new("rustup").args(["component", "add", "llvm-tools-preview"]))?;
    }
    if output("cargo", &["llvm-cov", "--version"]).is_none() {
        step("installing cargo-llvm-cov (about 3 minutes)");
        exec(
            Command::new("cargo")
                .args(["install", "--locked", "cargo-llvm-cov"])
                .envs(FAST_INSTALL_ENV),
        )?;
    }
    Ok(())
}

fn ensure_twiggy() -> Result<()> {
    if output("twiggy", &["--version"]).is_some() {
        return Ok(());
    }
    step("installing twiggy (about 3 minutes)");
    exec(
        Command::new("cargo")
            .args(["install", "--locked", "twiggy"])
            .envs(FAST_INSTALL_ENV),
    )
}

/// Installs Debian packages when we may (root with apt-get); otherwise says what to install.
fn apt_install(packages: &[&str]) -> Result<()> {
    let is_root = output("id", &["-u"]).is_some_and(|id| id.trim() == "0");
    if !is_root || which("apt-get").is_none() {
        bail!(
            "missing: {}. Install them with your package manager (Debian/Ubuntu: sudo apt-get install -y {}), then run this again.",
            packages.join(", "),
            packages.join(" ")
        );
    }
    step(&format!("installing {} with apt-get", packages.join(", ")));
    let quiet = [("DEBIAN_FRONTEND", "noninteractive")];
    exec(Command::new("apt-get").args(["update", "-qq"]).envs(quiet))?;
    exec(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(packages)
            .envs(quiet),
    )
}

/// `~/.cache/tiktok-autoposter`: tools and generated files kept between runs.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("tiktok-autoposter")
}

/// The full path of `program` on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// What a command prints on stdout, if it ran and succeeded.
pub fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a command with inherited output; fails with the command line on a non-zero exit.
pub fn exec(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("could not start {command:?}"))?;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// Totals of the test runners' `test result:` lines (cargo test and wasm-bindgen-test-runner).
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
}

impl Tally {
    /// Adds the counts of one `test result: ok. N passed; M failed; …` line, if it is one.
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        let count = |label: &str| {
            rest.split(';')
                .find_map(|part| {
                    part.trim()
                        .trim_start_matches(|c: char| !c.is_ascii_digit())
                        .strip_suffix(label)
                })
                .and_then(|n| n.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        self.passed += count("passed");
        self.failed += count("failed");
    }
}

/// Runs a test command, passing its output through while counting its results into `tally`.
/// Both streams are read: `cargo llvm-cov` reports its tests' results on stderr.
pub fn exec_tests(command: &mut Command, tally: &mut Tally) -> Result<()> {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::{Arc, Mutex};
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start {command:?}"))?;
    let shared = Arc::new(Mutex::new(Tally::default()));
    let stderr = child.stderr.take().expect("stderr was piped");
    let counted = Arc::clone(&shared);
    let errors = std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = writeln!(std::io::stderr(), "{line}");
            counted
                .lock()
                .expect("no panics while counting")
                .add_line(&line);
        }
    });
    let stdout = child.stdout.take().expect("stdout was piped");
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        println!("{line}");
        shared
            .lock()
            .expect("no panics while counting")
            .add_line(&line);
    }
    let status = child.wait()?;
    let _ = errors.join();
    let counted = *shared.lock().expect("no panics while counting");
    tally.passed += counted.passed;
    tally.failed += counted.failed;
    if !status.success() {
        bail!("{command:?} failed ({status})");
    }
    Ok(())
}

/// Prints what xtask is doing, so a long step is never a mystery.
pub fn step(what: &str) {
    eprintln!("\n==> {what}");
}
