//! Headless Chromium under chromedriver (the flags of `shared/toolchain.md`, plus precise memory
//! info), the page driven as a person would, and a copy of the built app with a timing script.
//!
//! The app itself is not changed: the script injected into the copy of `index.html` records, on
//! the page's own clock (`performance.now()`, 0 = navigation start), when the Post button and
//! the account line appear, when Post is clicked and every `data-status` change, and it raises
//! the Resource Timing buffer so that every chunk's PUT (`startTime`, `responseEnd`) is kept.

use super::proc;
use anyhow::{Context, Result, bail};
use fantoccini::Locator;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long any one wait on the page may last.
const WAIT: Duration = Duration::from_secs(300);
/// `data-status` values after which nothing more happens.
const FINAL_STATUSES: [&str; 5] = [
    "PUBLISH_COMPLETE",
    "SEND_TO_USER_INBOX",
    "FAILED",
    "ERROR",
    "CANCELLED",
];

/// Injected first into `<head>`: timestamps on the page's own clock, read back as `__bench`.
const TIMING_SCRIPT: &str = r#"<script>
(function () {
  performance.setResourceTimingBufferSize(100000);
  var bench = window.__bench = { mounted: null, account: null, click: null, statuses: [] };
  var last = null;
  function look() {
    var now = performance.now();
    if (bench.mounted === null && document.querySelector('[data-testid=post-button]')) bench.mounted = now;
    if (bench.account === null && document.querySelector('[data-testid=account]')) bench.account = now;
    var status = document.querySelector('[data-testid=status]');
    var value = status ? status.getAttribute('data-status') : null;
    if (value !== last) { last = value; bench.statuses.push([value, now]); }
  }
  new MutationObserver(look).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-status'] });
  document.addEventListener('click', function (event) {
    if (event.target.closest && event.target.closest('[data-testid=post-button]')) bench.click = performance.now();
  }, true);
})();
</script>"#;

/// Copies the built app from `dist` into `into`, with [`TIMING_SCRIPT`] first in `<head>`.
pub fn instrumented_site(dist: &Path, into: &Path) -> Result<PathBuf> {
    super::copy_dir(dist, into)?;
    let index = std::fs::read_to_string(dist.join("index.html"))?;
    // First in <head>, or before the first script where a minifier left the tag out.
    let instrumented = if index.contains("<head>") {
        index.replacen("<head>", &format!("<head>{TIMING_SCRIPT}"), 1)
    } else {
        anyhow::ensure!(index.contains("<script"), "dist/index.html has no script");
        index.replacen("<script", &format!("{TIMING_SCRIPT}<script"), 1)
    };
    std::fs::write(into.join("index.html"), instrumented)?;
    Ok(into.to_path_buf())
}

/// The e2e tests' browser (chromedriver in its own process group, killed on drop), started
/// with the flags the memory figures need.
pub use tests::browser::Browser;

/// Memory of the browser at one moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct BrowserMemory {
    /// RSS of the renderer processes, summed.
    pub renderer_rss: u64,
    /// RSS of every Chromium process (browser, GPU, network service, renderers), summed.
    pub chromium_rss: u64,
}

/// Starts the browser for a measurement: precise `performance.memory`, and `gc()` for the heap
/// that stays after an upload.
pub async fn start(chromedriver: &Path, scratch: &Path) -> Result<Browser> {
    let options = tests::browser::Options {
        chromedriver: Some(chromedriver.to_path_buf()),
        extra_args: vec![
            "--enable-precise-memory-info".into(),
            "--js-flags=--expose-gc".into(),
        ],
    };
    Browser::start_with(scratch, &options).await
}

/// What a running browser's process group uses, read from `/proc`.
pub struct Usage;

impl Usage {
    /// RSS of the renderers and of all of Chromium, from `/proc`.
    pub fn memory(group: u32) -> BrowserMemory {
        let mut memory = BrowserMemory::default();
        for (pid, cmdline) in proc::group_members(group) {
            let rss = proc::status_bytes(pid, "VmRSS").unwrap_or(0);
            if cmdline.contains("--type=renderer") {
                memory.renderer_rss += rss;
            }
            memory.chromium_rss += rss;
        }
        memory
    }

    /// CPU seconds used so far by the Chromium processes alive now, by kind: `browser`,
    /// `renderer`, `network` (the network service), `gpu` and `other`.
    pub fn cpu_secs(group: u32) -> BTreeMap<&'static str, f64> {
        let mut by_kind = BTreeMap::new();
        for (pid, cmdline) in proc::group_members(group) {
            let kind = if cmdline.contains("--type=renderer") {
                "renderer"
            } else if cmdline.contains("NetworkService") {
                "network"
            } else if cmdline.contains("--type=gpu") {
                "gpu"
            } else if cmdline.contains("--type=") {
                "other"
            } else {
                "browser"
            };
            *by_kind.entry(kind).or_insert(0.0) += proc::cpu_secs(pid).unwrap_or(0.0);
        }
        by_kind
    }
}

/// How the bench drives the page, on top of the e2e tests' browser.
#[allow(
    async_fn_in_trait,
    reason = "used within xtask only, never as dyn or across threads"
)]
pub trait Drive {
    async fn open(&self, url: &str) -> Result<()>;
    async fn choose(&self, video: &Path) -> Result<()>;
    async fn force_relay(&self) -> Result<()>;
    async fn post(&self) -> Result<()>;
    async fn status(&self) -> Result<String>;
    async fn final_status(&self, poll: Duration) -> Result<String>;
    async fn timings(&self) -> Result<Value>;
    async fn js_heap(&self) -> Result<u64>;
    async fn js_heap_after_gc(&self) -> Result<u64>;
    async fn script(&self, js: &str) -> Result<Value>;
}

impl Drive for Browser {
    /// Opens `url` and waits until the page has mounted and asked who the creator is.
    async fn open(&self, url: &str) -> Result<()> {
        self.client.goto(url).await?;
        wait_for("the account line", || async {
            Ok(self
                .script("return window.__bench.account !== null;")
                .await?
                == true)
        })
        .await
    }

    /// Picks `video` in the file input, waits for the page to judge it, chooses "Only me".
    async fn choose(&self, video: &Path) -> Result<()> {
        self.client
            .find(Locator::Css("[data-testid=file-input]"))
            .await?
            .send_keys(&video.canonicalize()?.to_string_lossy())
            .await?;
        wait_for("the video to be checked", || async {
            Ok(self
                .script("return !!document.querySelector('[data-testid=video-facts]');")
                .await?
                == true)
        })
        .await?;
        self.client
            .find(Locator::Css("[data-testid=privacy]"))
            .await?
            .select_by_label("Only me")
            .await?;
        Ok(())
    }

    /// Makes the page send chunks through the proxy's relay, as a browser that once found it
    /// may not reach TikTok directly does.
    async fn force_relay(&self) -> Result<()> {
        self.script("localStorage.setItem('tiktok-autoposter:transport', 'relay'); return true;")
            .await
            .map(drop)
    }

    /// Presses Post.
    async fn post(&self) -> Result<()> {
        self.client
            .find(Locator::Css("[data-testid=post-button]"))
            .await?
            .click()
            .await
            .map_err(Into::into)
    }

    /// The current `data-status`.
    async fn status(&self) -> Result<String> {
        let value = self
            .script("var s = document.querySelector('[data-testid=status]'); return s ? s.getAttribute('data-status') : '';")
            .await?;
        Ok(value.as_str().unwrap_or_default().to_owned())
    }

    /// Waits for a final `data-status`, looking every `poll`, and returns it.
    async fn final_status(&self, poll: Duration) -> Result<String> {
        let started = Instant::now();
        loop {
            let status = self.status().await?;
            if FINAL_STATUSES.contains(&status.as_str()) {
                return Ok(status);
            }
            if started.elapsed() > WAIT {
                bail!("no final status after {WAIT:?} (last: {status:?})");
            }
            tokio::time::sleep(poll).await;
        }
    }

    /// The `__bench` record and every chunk PUT's `[startTime, responseEnd]`, in milliseconds.
    async fn timings(&self) -> Result<Value> {
        self.script(
            "return { bench: window.__bench, chunks: performance.getEntriesByType('resource')
               .filter(function (e) { return e.name.indexOf('/upload/?') >= 0 || /\\/chunk$/.test(e.name); })
               .map(function (e) { return [e.startTime, e.responseEnd]; }) };",
        )
        .await
    }

    /// `performance.memory.usedJSHeapSize` (precise with `--enable-precise-memory-info`).
    async fn js_heap(&self) -> Result<u64> {
        let value = self
            .script("return performance.memory.usedJSHeapSize;")
            .await?;
        value
            .as_u64()
            .context("performance.memory is not available")
    }

    /// The JS heap after a full garbage collection: what the page really keeps.
    async fn js_heap_after_gc(&self) -> Result<u64> {
        let value = self
            .script("gc(); return performance.memory.usedJSHeapSize;")
            .await?;
        value
            .as_u64()
            .context("performance.memory is not available")
    }

    async fn script(&self, js: &str) -> Result<Value> {
        self.client
            .execute(js, Vec::new())
            .await
            .map_err(Into::into)
    }
}

/// Polls `check` until it holds, or fails after the bench's longest wait.
async fn wait_for<F, Fut>(what: &str, check: F) -> Result<()>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let started = Instant::now();
    while !check().await? {
        if started.elapsed() > WAIT {
            bail!("timed out after {WAIT:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}
