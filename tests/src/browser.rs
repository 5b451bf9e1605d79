//! Headless Chromium under chromedriver, started in its own process group so that a failing
//! test never leaves a browser behind.

use anyhow::{Context, Result, bail};
use fantoccini::{Client, ClientBuilder};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long chromedriver may take to start listening.
const DRIVER_START: Duration = Duration::from_secs(15);

/// A WebDriver session and the chromedriver behind it.
pub struct Browser {
    pub client: Client,
    driver: Driver,
}

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and every Chromium process it started.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.0.id())])
            .status();
        let _ = self.0.wait();
    }
}

/// What to start Chromium with beyond the flags that make it work headless here.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The chromedriver to run; default `$CHROMEDRIVER`, else `chromedriver` on PATH.
    pub chromedriver: Option<std::path::PathBuf>,
    /// More Chromium flags (the bench adds `--enable-precise-memory-info`, for one).
    pub extra_args: Vec<String>,
}

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium with a fresh profile in
    /// `scratch`.
    pub async fn start(scratch: &Path) -> Result<Self> {
        Self::start_with(scratch, &Options::default()).await
    }

    /// Like [`Browser::start`], with `options`.
    pub async fn start_with(scratch: &Path, options: &Options) -> Result<Self> {
        let port = free_port()?;
        let chromedriver = options
            .chromedriver
            .as_ref()
            .map(|path| path.display().to_string())
            .or_else(|| std::env::var("CHROMEDRIVER").ok())
            .unwrap_or_else(|| "chromedriver".into());
        let driver = Driver(
            Command::new(&chromedriver)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .with_context(|| format!("starting {chromedriver} (install chromium-driver)"))?,
        );
        let profile = scratch.join("chromium-profile");
        let mut args: Vec<String> = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
            "--window-size=900,1400",
        ]
        .map(String::from)
        .to_vec();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.extend(options.extra_args.iter().cloned());
        let capabilities = serde_json::json!({
            "goog:chromeOptions": { "binary": chromium_binary(), "args": args }
        });
        let serde_json::Value::Object(capabilities) = capabilities else {
            unreachable!("the capabilities literal is an object")
        };
        let started = std::time::Instant::now();
        loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => return Ok(Self { client, driver }),
                Err(error) if started.elapsed() > DRIVER_START => {
                    bail!("chromedriver did not accept a session: {error}")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
    }

    /// The process group of chromedriver and every Chromium process it started.
    pub fn group(&self) -> u32 {
        self.driver.0.id()
    }

    /// Runs a Chrome DevTools Protocol command in the page (chromedriver's
    /// `POST /session/{id}/goog/cdp/execute`), for what WebDriver itself cannot do, such as
    /// freezing the page the way Chrome freezes a background tab.
    pub async fn cdp(&self, method: &str, params: serde_json::Value) -> Result<serde_json::Value> {
        let command = Cdp {
            cmd: method.to_owned(),
            params,
        };
        self.client
            .issue_cmd(command)
            .await
            .with_context(|| format!("CDP {method}"))
    }

    /// Ends the session; the driver's process group is killed on drop.
    pub async fn close(self) -> Result<()> {
        let result = self.client.close().await;
        drop(self.driver);
        result.map_err(Into::into)
    }
}

/// One CDP command, as chromedriver's vendor endpoint takes it.
#[derive(Debug)]
struct Cdp {
    cmd: String,
    params: serde_json::Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _url: &url::Url) -> (hyper::Method, Option<String>) {
        let body = serde_json::json!({ "cmd": self.cmd, "params": self.params });
        (hyper::Method::POST, Some(body.to_string()))
    }
}

fn chromium_binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
