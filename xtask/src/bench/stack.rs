//! The simulator and the proxy as release binaries in child processes, on free ports: one fresh
//! pair per measurement, so that each one's peak memory (`VmHWM`) belongs to that measurement.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The bearer token the simulator accepts by default.
pub const SIM_TOKEN: &str = "sim-access-token";

/// A running simulator and the proxy in front of it.
pub struct Stack {
    pub sim: Server,
    pub proxy: Server,
    /// The simulator's base URL (API and upload host), e.g. `http://127.0.0.1:41234`.
    pub sim_url: String,
    /// The proxy's base URL, serving the page and `/api/`, without a trailing slash.
    pub proxy_url: String,
}

/// A child process, killed when dropped.
pub struct Server {
    child: Child,
    pub pid: u32,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Stack {
    /// Starts `sim` (no rate limits, no processing delay, logging warnings only) and `proxy`
    /// (its default logging, serving `site`, logging posts under `scratch`). `proxy_args` are
    /// added to the proxy's command line.
    pub fn start(bins: &Path, site: &Path, scratch: &Path, proxy_args: &[&str]) -> Result<Self> {
        let mut sim = Command::new(bins.join("sim"));
        sim.args(["--listen", "127.0.0.1:0"]);
        Self::start_with(sim, bins, site, scratch, proxy_args)
    }

    /// Like [`Stack::start`], with the simulator behind `link`: it runs inside the link's
    /// namespace on `far` and names `relay` (the link's front on 127.0.0.1, which forwards to
    /// `far`) as its address, so the proxy, `curl` and the page all cross the shaped link.
    pub fn start_on_link(
        bins: &Path,
        site: &Path,
        scratch: &Path,
        link: &tests::link::ShapedLink,
        far: SocketAddr,
        relay: SocketAddr,
    ) -> Result<Self> {
        let mut sim = Command::new("ip");
        sim.args(["netns", "exec", link.namespace()])
            .arg(bins.join("sim"))
            .args([
                "--listen",
                &far.to_string(),
                "--advertise",
                &relay.to_string(),
            ]);
        Self::start_with(sim, bins, site, scratch, &[])
    }

    fn start_with(
        mut sim: Command,
        bins: &Path,
        site: &Path,
        scratch: &Path,
        proxy_args: &[&str],
    ) -> Result<Self> {
        let (sim, sim_url) = spawn(
            sim.args(["--no-rate-limits", "--processing-delay", "0"])
                .env("RUST_LOG", "warn"),
            "TikTok simulator on ",
        )?;
        std::fs::create_dir_all(scratch)?;
        let (proxy, proxy_url) = spawn(
            Command::new(bins.join("proxy"))
                .args(["--listen", "127.0.0.1:0", "--api-base", &sim_url])
                .arg("--static-dir")
                .arg(site)
                .arg("--log")
                .arg(scratch.join("posts.jsonl"))
                // The simulator counts no limits; nor does the proxy's mirror of its per-minute
                // init limit, or figure 4's thousands of `POST /api/posts` would meet 429s.
                .args(["--init-limit", &u32::MAX.to_string()])
                .args(proxy_args)
                // Videos sent to `POST /api/upload` are spooled here, not in the working tree;
                // set in the environment so that `--uploads-dir` in `proxy_args` may override it.
                .env("AUTOPOSTER_UPLOADS_DIR", scratch.join("uploads"))
                // The environment, not a flag: flags show in process listings.
                .env("TIKTOK_ACCESS_TOKEN", SIM_TOKEN)
                .env_remove("TIKTOK_CLIENT_KEY")
                .env_remove("TIKTOK_CLIENT_SECRET")
                .env_remove("TIKTOK_REFRESH_TOKEN")
                .env_remove("RUST_LOG"),
            "proxy listening on ",
        )?;
        Ok(Self {
            sim,
            proxy,
            sim_url,
            proxy_url: proxy_url.trim_end_matches('/').to_owned(),
        })
    }
}

/// Starts a server and reads its base URL from the stdout line that starts with `banner`
/// (after any prefix); the rest of its output is drained so it never blocks on a full pipe.
fn spawn(command: &mut Command, banner: &str) -> Result<(Server, String)> {
    let program = command.get_program().to_string_lossy().into_owned();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {program} (build it: cargo build --release)"))?;
    let pid = child.id();
    let mut lines = BufReader::new(child.stdout.take().expect("stdout was piped")).lines();
    let server = Server { child, pid };
    let url = loop {
        let Some(line) = lines.next() else {
            bail!("{program} exited before saying where it listens");
        };
        let line = line?;
        if let Some(rest) = line.split_once(banner).map(|(_, rest)| rest) {
            break rest
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
        }
    };
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    Ok((server, url))
}
