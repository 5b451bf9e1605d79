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

impl Browser {
    /// Starts chromedriver on a free port and a headless Chromium with a fresh profile.
    pub async fn start(scratch: &Path) -> Result<Self> {
        let port = free_port()?;
        let chromedriver = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
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
        let capabilities = serde_json::json!({
            "goog:chromeOptions": {
                "binary": chromium_binary(),
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--disable-quic", "--window-size=900,1400",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }
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

    /// Ends the session; the driver's process group is killed on drop.
    pub async fn close(self) -> Result<()> {
        let result = self.client.close().await;
        drop(self.driver);
        result.map_err(Into::into)
    }
}

fn chromium_binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
