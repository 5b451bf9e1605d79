//! The harness for browser end-to-end tests: the TikTok simulator, the real proxy serving the
//! built app, and headless Chromium driven over WebDriver — all on 127.0.0.1, nothing shared
//! between tests.
//!
//! - [`Harness`]: starts and stops everything for one test.
//! - [`page::UploaderPage`]: the page object tests talk to, finding controls by their labels.
//! - [`files`]: the videos tests upload.
//! - [`nginx`]: nginx terminating TLS in front of the proxy, as docs/DEPLOY.md sets it up.
//! - [`link`]: the simulator behind a slow, far-away link (network namespace, `tbf`, a delay
//!   relay), for [`Harness::start_on_link`].

pub mod browser;
pub mod files;
pub mod link;
pub mod nginx;
pub mod page;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use page::UploaderPage;

/// Everything one test runs against.
pub struct Harness {
    pub sim: sim::Sim,
    /// Where the page is opened: the proxy's address (serving the app and `/api/`), or
    /// `https://NAME:PORT` behind nginx.
    pub url: String,
    /// nginx in front of the proxy, for [`Harness::start_behind_nginx`].
    pub nginx: Option<nginx::Nginx>,
    /// The proxy's JSONL log.
    pub log_path: PathBuf,
    pub page: UploaderPage,
    /// The shaped link the simulator sits behind, for [`Harness::start_on_link`]; dropped after
    /// everything that uses it.
    link: Option<(link::DelayRelay, link::ShapedLink)>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    proxy: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// Starts a simulator with `options`, the proxy in front of it, and a fresh browser.
    pub async fn start(options: sim::SimOptions) -> Result<Self> {
        Self::start_with(options, PageOptions::default()).await
    }

    /// Like [`Harness::start`], with the page's upload engine tuned by `page`.
    pub async fn start_with(options: sim::SimOptions, page: PageOptions) -> Result<Self> {
        Self::start_full(options, page, Connect::FixedToken, None, None, None).await
    }

    /// Like [`Harness::start_with`], with the simulator (TikTok's API and upload host) behind
    /// `spec`'s rate and round trip: the browser's direct PUTs, the proxy's relay and its API
    /// calls all cross that link. Fails, naming what is missing, where links cannot be shaped.
    pub async fn start_on_link(
        options: sim::SimOptions,
        page: PageOptions,
        spec: link::LinkSpec,
    ) -> Result<Self> {
        Self::start_full(options, page, Connect::FixedToken, None, None, Some(spec)).await
    }

    /// Like [`Harness::start`], but the proxy has the simulator's client key and secret and no
    /// token: the page starts disconnected and connects through the simulator's sign-in.
    pub async fn start_disconnected(options: sim::SimOptions) -> Result<Self> {
        Self::start_full(
            options,
            PageOptions::default(),
            Connect::SignIn,
            None,
            None,
            None,
        )
        .await
    }

    /// The proxy as docs/DEPLOY.md runs it on a server: behind nginx terminating TLS for `name`
    /// (a certificate made now), reached at `https://NAME:PORT` by a Chromium that resolves
    /// `name` to 127.0.0.1 and accepts that certificate. The proxy answers to `name`
    /// (`AUTOPOSTER_ALLOWED_HOSTS`) and connects TikTok in web mode, its redirect URI on nginx.
    /// It starts disconnected, like [`Harness::start_disconnected`].
    pub async fn start_behind_nginx(options: sim::SimOptions, name: &str) -> Result<Self> {
        Self::start_full(
            options,
            PageOptions::default(),
            Connect::SignIn,
            Some(name),
            Some(OPERATOR_PASSWORD),
            None,
        )
        .await
    }

    /// Like [`Harness::start_disconnected`], but the proxy has an operator password (issue 12):
    /// the page asks for it before anything else.
    pub async fn start_with_password(options: sim::SimOptions, password: &str) -> Result<Self> {
        Self::start_full(
            options,
            PageOptions::default(),
            Connect::SignIn,
            None,
            Some(password),
            None,
        )
        .await
    }

    async fn start_full(
        options: sim::SimOptions,
        page: PageOptions,
        connect: Connect,
        behind_nginx: Option<&str>,
        password: Option<&str>,
        link: Option<link::LinkSpec>,
    ) -> Result<Self> {
        // The proxy counts TikTok's init limit itself (issue 14): against a simulator without
        // one (`quick_sim`) it counts none either, or a test posting a dozen times a minute
        // would meet 429 too_many_inits.
        let init_limit = match options.rate_limits.init {
            None => u32::MAX,
            Some(_) => proxy::Config::default().init_limit,
        };
        let (sim, link) = match link {
            None => {
                let sim = sim::spawn(options)
                    .await
                    .context("starting the simulator")?;
                (sim, None)
            }
            Some(spec) => {
                let shaped = link::ShapedLink::new(spec)?;
                let listener = shaped.bind_far()?;
                let relay = shaped.front(listener.local_addr()?).await?;
                // Every URL the simulator hands out (API base, upload_url) is the relay's.
                let sim = sim::Sim::new(options, relay.addr);
                tokio::spawn(sim::serve(listener, sim.clone(), std::future::pending()));
                (sim, Some((relay, shaped)))
            }
        };
        let dir = tempfile::tempdir()?;
        let static_dir = instrumented_dist(dir.path(), &page)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let proxy_addr = listener.local_addr()?;
        let (nginx, url) = match behind_nginx {
            Some(name) => {
                let nginx = nginx::Nginx::start(name, proxy_addr).await?;
                let url = format!("https://{name}:{}", nginx.https_port);
                (Some(nginx), url)
            }
            None => (None, format!("http://{proxy_addr}")),
        };
        let log_path = dir.path().join("posts.jsonl");
        let oauth = (connect == Connect::SignIn).then(|| proxy::OAuthConfig {
            mode: if behind_nginx.is_some() {
                protocol::oauth::OAuthMode::Web
            } else {
                protocol::oauth::OAuthMode::Desktop
            },
            redirect_uri: format!("{url}/auth/callback"),
            auth_base: sim.base_url(),
            token_file: dir.path().join("tokens.json"),
            ..proxy::OAuthConfig::new(sim.client_key(), proxy::Secret::new(sim.client_secret()))
        });
        let allowed_hosts = match behind_nginx {
            Some(name) => protocol::host::parse_host_list(name)?,
            None => Vec::new(),
        };
        let config = proxy::Config {
            listen: proxy_addr,
            api_base: sim.base_url(),
            access_token: (connect == Connect::FixedToken)
                .then(|| proxy::Secret::new(sim.access_token())),
            oauth,
            log_path: log_path.clone(),
            // Videos sent for "Post later" are spooled here, never in the working directory.
            uploads_dir: dir.path().join("uploads"),
            init_limit,
            static_dir: Some(static_dir),
            allowed_hosts,
            operator: proxy::OperatorConfig {
                password_hash: password
                    .map(|password| {
                        proxy::PasswordHashConfig::parse(&proxy::hash_password(password))
                    })
                    .transpose()?,
                api_tokens_file: dir.path().join("api-tokens.json"),
                ..proxy::OperatorConfig::default()
            },
            ..proxy::Config::default()
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let proxy = tokio::spawn(proxy::run(listener, config, async {
            let _ = rx.await;
        }));
        let browser_options = match behind_nginx {
            Some(name) => browser::Options {
                extra_args: vec![
                    // The test's certificate is self-signed; everything else about TLS is real.
                    "--ignore-certificate-errors".into(),
                    format!("--host-resolver-rules=MAP {name} 127.0.0.1"),
                ],
                ..browser::Options::default()
            },
            None => browser::Options::default(),
        };
        let browser = browser::Browser::start_with(dir.path(), &browser_options).await?;
        let page = UploaderPage::new(browser, url.clone());
        Ok(Self {
            sim,
            url,
            nginx,
            log_path,
            page,
            link,
            shutdown: Some(tx),
            proxy: Some(proxy),
            _dir: dir,
        })
    }

    /// A simulator like TikTok's defaults, but quick to "process" and with rate limits off so
    /// tests never wait on them.
    pub fn quick_sim() -> sim::SimOptions {
        sim::SimOptions {
            processing_delay: Duration::from_millis(300),
            rate_limits: sim::RateLimits::off(),
            ..sim::SimOptions::default()
        }
    }

    /// The one complete upload at the simulator holds exactly `video`, every planned chunk
    /// accepted once, in order.
    pub fn assert_byte_exact(&self, video: &Path) -> Result<()> {
        let uploads: Vec<_> = self
            .sim
            .uploads()
            .into_iter()
            .filter(|u| u.complete)
            .collect();
        anyhow::ensure!(
            uploads.len() == 1,
            "{} complete uploads, not one",
            uploads.len()
        );
        let upload = &uploads[0];
        anyhow::ensure!(
            upload.sha256.as_deref() == Some(files::sha256(video)?.as_str()),
            "the simulator holds other bytes than {}",
            video.display()
        );
        let planned: Vec<_> = upload.plan.chunks().collect();
        anyhow::ensure!(
            upload.chunks_accepted == planned,
            "chunks accepted {:?}, planned {planned:?}: each once, in order",
            upload.chunks_accepted
        );
        Ok(())
    }

    /// The log's lines, parsed.
    pub fn log(&self) -> Result<Vec<serde_json::Value>> {
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        text.lines()
            .map(|line| serde_json::from_str(line).with_context(|| format!("log line {line:?}")))
            .collect()
    }

    /// Stops the browser and the proxy; the simulator stops with the runtime.
    pub async fn stop(mut self) -> Result<()> {
        self.page.close().await?;
        // nginx first, so no connection of its own keeps the proxy's shutdown waiting.
        drop(self.nginx.take());
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(proxy) = self.proxy.take() {
            proxy.await??;
        }
        self.sim.shutdown();
        drop(self.link.take());
        Ok(())
    }
}

/// The operator's password behind nginx (operator access is required there).
pub const OPERATOR_PASSWORD: &str = "correct horse battery staple";

/// How the proxy is connected to the simulator's TikTok account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Connect {
    /// `TIKTOK_ACCESS_TOKEN`, as the seed did.
    FixedToken,
    /// Client key and secret, no token yet: the person clicks "Connect TikTok".
    SignIn,
}

/// The upload engine's options, set through the page's `<meta name="autoposter:…">` tags —
/// quicker than a real network needs, so that fault tests finish in seconds.
#[derive(Debug, Clone)]
pub struct PageOptions {
    pub retry_delays_ms: Vec<u32>,
    /// A chunk's PUT that shows no progress for this long is abandoned and retried.
    pub stall_timeout_ms: u32,
}

impl Default for PageOptions {
    fn default() -> Self {
        Self {
            retry_delays_ms: vec![100, 200, 400, 800, 1600],
            stall_timeout_ms: 20_000,
        }
    }
}

/// The built app (`AUTOPOSTER_DIST`, default `<workspace>/dist`), copied with a script that
/// records every response the page receives, so a test can prove none carries the token.
fn instrumented_dist(into: &Path, page: &PageOptions) -> Result<PathBuf> {
    let dist = std::env::var_os("AUTOPOSTER_DIST")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist"));
    let index = std::fs::read_to_string(dist.join("index.html")).with_context(|| {
        format!(
            "no built app in {} — run `cargo xtask test` (it builds it) or `cargo xtask dist`",
            dist.display()
        )
    })?;
    let target = into.join("dist");
    std::fs::create_dir_all(&target)?;
    for entry in std::fs::read_dir(&dist)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), target.join(entry.file_name()))?;
        }
    }
    let delays: Vec<String> = page.retry_delays_ms.iter().map(u32::to_string).collect();
    let head = format!(
        "<head><script>{}</script>\n<meta name=\"autoposter:retry-delays-ms\" content=\"{}\">\n<meta name=\"autoposter:stall-timeout-ms\" content=\"{}\">",
        include_str!("record_responses.js"),
        delays.join(","),
        page.stall_timeout_ms
    );
    std::fs::write(
        target.join("index.html"),
        index.replacen("<head>", &head, 1),
    )?;
    Ok(target)
}

/// Where tests leave screenshots for people to look at: `target/e2e-artifacts/`.
pub fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-artifacts");
    let _ = std::fs::create_dir_all(&dir);
    dir
}
