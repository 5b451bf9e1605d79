//! nginx terminating TLS in front of the proxy, configured with `docs/deploy/nginx.conf` — the
//! file docs/DEPLOY.md tells people to install — with only its name, ports and certificate
//! directory replaced. A certificate for the name is made at start with `openssl`; nginx runs
//! as its own process (never the system service) on 127.0.0.1, and is killed on drop.

use crate::browser::free_port;
use anyhow::{Context, Result, bail, ensure};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The site file of docs/DEPLOY.md, as committed.
pub const SITE_CONFIG: &str = include_str!("../../docs/deploy/nginx.conf");

/// The name the committed file is written for, replaced by the test's name.
const EXAMPLE_NAME: &str = "poster.example.com";
/// Where the committed file expects certbot's certificates.
const EXAMPLE_CERT_DIR: &str = "/etc/letsencrypt/live/";
/// The proxy's address in the committed file.
const EXAMPLE_UPSTREAM: &str = "127.0.0.1:8787";

/// How long nginx may take to listen.
const START: Duration = Duration::from_secs(10);

/// A running nginx with its own config, certificate, logs and pid file in a temp dir.
pub struct Nginx {
    /// The https port on 127.0.0.1.
    pub https_port: u16,
    /// The plain-http port on 127.0.0.1 (it only redirects to https).
    pub http_port: u16,
    /// The self-signed certificate nginx presents, PEM.
    pub certificate: PathBuf,
    dir: tempfile::TempDir,
    child: Child,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // nginx's master runs in its own process group with its worker: end them both.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.wait();
    }
}

impl Nginx {
    /// Starts nginx serving `name` over TLS on a free port of 127.0.0.1 and passing every
    /// request to `upstream`.
    pub async fn start(name: &str, upstream: SocketAddr) -> Result<Self> {
        let dir = tempfile::tempdir()?;
        let certificate = make_certificate(dir.path(), name)?;
        let https_port = free_port()?;
        let http_port = free_port()?;
        let site = site_config(name, https_port, http_port, dir.path(), upstream)?;
        let site_path = dir.path().join("site.conf");
        std::fs::write(&site_path, site)?;
        let main_path = dir.path().join("nginx.conf");
        std::fs::write(&main_path, main_config(dir.path(), &site_path))?;
        let binary = binary();
        let child = Command::new(&binary)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&main_path)
            // Before the config is read, nginx would open Debian's /var/log/nginx/error.log.
            .args(["-e", "stderr", "-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr.log"))?)
            .process_group(0)
            .spawn()
            .with_context(|| format!("starting {} (apt-get install nginx)", binary.display()))?;
        let mut nginx = Self {
            https_port,
            http_port,
            certificate,
            dir,
            child,
        };
        nginx.wait_until_listening().await?;
        Ok(nginx)
    }

    /// What nginx wrote to its error log so far (for a failing test's message).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// The access log: one line per request nginx passed on.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    async fn wait_until_listening(&mut self) -> Result<()> {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("nginx exited ({status}):\n{}", self.error_log());
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", self.https_port))
                .await
                .is_ok()
            {
                return Ok(());
            }
            if started.elapsed() > START {
                bail!(
                    "nginx did not listen within {START:?}:\n{}",
                    self.error_log()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The nginx binary: `$NGINX` (xtask sets it), else Debian's `/usr/sbin/nginx`, else PATH.
fn binary() -> PathBuf {
    std::env::var_os("NGINX")
        .map(PathBuf::from)
        .or_else(|| {
            let debian = PathBuf::from("/usr/sbin/nginx");
            debian.is_file().then_some(debian)
        })
        .unwrap_or_else(|| PathBuf::from("nginx"))
}

/// The committed site file with the test's name, ports, certificate directory and upstream.
/// Each replaced text must be there, so the file and the test cannot drift apart unnoticed.
pub fn site_config(
    name: &str,
    https_port: u16,
    http_port: u16,
    cert_dir: &Path,
    upstream: SocketAddr,
) -> Result<String> {
    let replacements = [
        ("listen 443 ", format!("listen 127.0.0.1:{https_port} ")),
        ("listen 80;", format!("listen 127.0.0.1:{http_port};")),
        (EXAMPLE_CERT_DIR, format!("{}/", cert_dir.display())),
        (EXAMPLE_NAME, name.to_owned()),
        (EXAMPLE_UPSTREAM, upstream.to_string()),
    ];
    let mut config = SITE_CONFIG.to_owned();
    for (from, to) in replacements {
        ensure!(
            config.contains(from),
            "docs/deploy/nginx.conf no longer contains {from:?}: update tests/src/nginx.rs"
        );
        config = config.replace(from, &to);
    }
    // Listening anywhere but loopback would be a test reaching beyond this machine.
    for line in config.lines().map(str::trim) {
        if let Some(address) = line.strip_prefix("listen ") {
            ensure!(address.starts_with("127.0.0.1:"), "unexpected {line:?}");
        }
    }
    Ok(config)
}

/// What Debian's /etc/nginx/nginx.conf provides around a site file, with every path in `dir`.
fn main_config(dir: &Path, site: &Path) -> String {
    let dir = dir.display();
    format!(
        "worker_processes 1;
pid {dir}/nginx.pid;
error_log stderr info;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    include {site};
}}
",
        site = site.display()
    )
}

/// A P-256 certificate for `name`, valid one day, as `DIR/NAME/fullchain.pem` and `privkey.pem`
/// (certbot's layout, which the committed file names). Returns the certificate's path.
fn make_certificate(dir: &Path, name: &str) -> Result<PathBuf> {
    let live = dir.join(name);
    std::fs::create_dir_all(&live)?;
    let certificate = live.join("fullchain.pem");
    let output = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            &format!("subjectAltName=DNS:{name}"),
            "-keyout",
        ])
        .arg(live.join("privkey.pem"))
        .arg("-out")
        .arg(&certificate)
        .output()
        .context("running openssl (apt-get install openssl)")?;
    ensure!(
        output.status.success(),
        "openssl req failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(certificate)
}
