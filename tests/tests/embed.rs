//! Embedding (issue 8): the example host page, served from its own loopback origin, embeds
//! `<tiktok-uploader>` from the proxy on another origin, with hostile CSS of its own. A video is
//! posted through the element, byte-exact at the simulator, and the host page hears
//! start → progress… → complete.

use anyhow::{Context, Result, bail};
use fantoccini::Locator;
use fantoccini::elements::Element;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tests::browser::Browser;
use tests::files;

/// The embed key the proxy accepts from the host page (16+ characters, as the proxy requires).
const KEY: &str = "embed-key-for-the-e2e-test";

/// Serves the example host page (`dir/index.html`, for any path) on a free loopback port, the
/// way another site would: not by our proxy, whose pages carry a CSP that allows only itself.
async fn serve_static(dir: PathBuf) -> Result<(String, tokio::sync::oneshot::Sender<()>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let page = std::fs::read(dir.join("index.html"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (tx, mut rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        loop {
            let mut stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
                _ = &mut rx => return,
            };
            let page = page.clone();
            tokio::spawn(async move {
                // Read the request's head (the body of a GET is empty), then answer and close.
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                    match stream.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
                    page.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
                let _ = stream.write_all(&page).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok((url, tx))
}

/// An element inside the uploader's shadow root.
async fn inside(browser: &Browser, css: &str) -> Result<Element> {
    inside_nth(browser, 0, css).await
}

/// An element inside the shadow root of the `nth` uploader on the page.
async fn inside_nth(browser: &Browser, nth: usize, css: &str) -> Result<Element> {
    let hosts = browser
        .client
        .find_all(Locator::Css("tiktok-uploader"))
        .await?;
    let host = hosts
        .get(nth)
        .with_context(|| format!("no uploader #{nth}"))?;
    let root = host.shadow_root().await?;
    root.find(Locator::Css(css))
        .await
        .with_context(|| format!("no {css} in the shadow root"))
}

async fn wait_inside(browser: &Browser, css: &str, check: impl Fn(&str) -> bool) -> Result<String> {
    let started = Instant::now();
    loop {
        if let Ok(element) = inside(browser, css).await {
            let text = element
                .attr("data-status")
                .await?
                .unwrap_or(element.text().await?);
            if check(&text) {
                return Ok(text);
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("timed out waiting for {css}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The example host page on one loopback origin, the proxy (with the simulator behind it) on
/// another, and a browser.
struct Site {
    host: String,
    proxy_url: String,
    sim: sim::Sim,
    browser: Browser,
    stop_proxy: tokio::sync::oneshot::Sender<()>,
    proxy: tokio::task::JoinHandle<anyhow::Result<()>>,
    _stop_host: tokio::sync::oneshot::Sender<()>,
    _scratch: tempfile::TempDir,
}

impl Site {
    async fn start() -> Result<Self> {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/embed");
        let (host, _stop_host) = serve_static(examples).await?;

        let sim = sim::spawn(sim::SimOptions {
            processing_delay: Duration::from_millis(300),
            ..sim::SimOptions::default()
        })
        .await?;
        let dist = std::env::var_os("AUTOPOSTER_DIST")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let proxy_url = format!("http://{}", listener.local_addr()?);
        let scratch = tempfile::tempdir()?;
        let config = proxy::Config {
            listen: listener.local_addr()?,
            api_base: sim.base_url(),
            access_token: Some(proxy::Secret::new(sim.access_token())),
            log_path: scratch.path().join("posts.jsonl"),
            static_dir: Some(dist),
            embed: proxy::EmbedConfig::parse(&host, KEY, "")?,
            ..proxy::Config::default()
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let proxy = tokio::spawn(proxy::run(listener, config, async {
            let _ = rx.await;
        }));
        let browser = Browser::start(scratch.path()).await?;
        Ok(Self {
            host,
            proxy_url,
            sim,
            browser,
            stop_proxy: tx,
            proxy,
            _stop_host,
            _scratch: scratch,
        })
    }

    /// Opens the host page with `query` (after `proxy` and `key`).
    async fn open(&self, query: &str) -> Result<()> {
        let url = format!("{}/?proxy={}&key={KEY}&{query}", self.host, self.proxy_url);
        self.browser.client.goto(&url).await?;
        Ok(())
    }

    async fn stop(self) -> Result<()> {
        self.browser.close().await?;
        let _ = self.stop_proxy.send(());
        self.proxy.await??;
        self.sim.shutdown();
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_host_page_posts_through_the_element_and_hears_its_events() -> Result<()> {
    let site = Site::start().await?;
    let browser = &site.browser;
    let sim = &site.sim;
    site.open("hostile=1&caption=%23cms%20clip").await?;
    let account = wait_inside(browser, "[data-testid=account]", |text| {
        text.contains("Posting as")
    })
    .await?;
    assert!(account.contains("Sim Creator"));

    // The host page's hostile CSS hides its own buttons, not ours.
    assert!(
        inside(browser, "[data-testid=post-button]")
            .await?
            .is_displayed()
            .await?
    );
    let caption = inside(browser, "[data-testid=caption]").await?;
    assert_eq!(
        caption.prop("value").await?.as_deref(),
        Some("#cms clip"),
        "the host's caption, editable"
    );

    let video = files::clip_mp4().canonicalize()?;
    inside(browser, "[data-testid=file-input]")
        .await?
        .send_keys(&video.to_string_lossy())
        .await?;
    wait_inside(browser, "[data-testid=video-facts]", |_| true).await?;
    inside(browser, "[data-testid=privacy]")
        .await?
        .select_by_label("Only me")
        .await?;
    // The element's JS API only arms Post (issue 15): nothing leaves until the person presses it.
    browser
        .client
        .execute("document.querySelector('tiktok-uploader').start();", vec![])
        .await?;
    let armed = wait_inside(browser, "[data-testid=armed]", |_| true).await?;
    assert_eq!(
        armed,
        "Ready to post: press Post to send this video to TikTok."
    );
    let focused = browser
        .client
        .execute(
            "return document.querySelector('tiktok-uploader').shadowRoot.activeElement?.dataset.testid;",
            vec![],
        )
        .await?;
    assert_eq!(focused, "post-button", "start() moves the focus to Post");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(sim.uploads().is_empty(), "start() alone sent the video");
    inside(browser, "[data-testid=post-button]")
        .await?
        .click()
        .await?;
    let status = wait_inside(browser, "[data-testid=status]", |s| {
        ["PUBLISH_COMPLETE", "FAILED", "ERROR"].contains(&s)
    })
    .await?;
    assert_eq!(status, "PUBLISH_COMPLETE");

    let upload = &sim.uploads()[0];
    assert_eq!(
        upload.sha256.as_deref(),
        Some(files::sha256(&video)?.as_str())
    );
    let events = browser
        .client
        .execute("return window.uploaderEvents;", vec![])
        .await?;
    let types: Vec<&str> = events
        .as_array()
        .context("events")?
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(types.first(), Some(&"start"), "{types:?}");
    assert_eq!(types.last(), Some(&"complete"), "{types:?}");
    assert!(types.contains(&"progress"), "{types:?}");
    let complete = events
        .as_array()
        .and_then(|e| e.last())
        .context("complete")?;
    assert_eq!(complete["detail"]["publish_id"], upload.publish_id.as_str());
    assert_eq!(complete["detail"]["status"], "PUBLISH_COMPLETE");
    std::fs::write(
        tests::artifacts_dir().join("embedded.png"),
        browser.client.screenshot().await?,
    )?;

    site.stop().await
}

#[tokio::test(flavor = "multi_thread")]
async fn several_uploaders_on_one_page_are_independent() -> Result<()> {
    let site = Site::start().await?;
    let browser = &site.browser;
    site.open("count=2").await?;
    for nth in 0..2 {
        let started = Instant::now();
        while inside_nth(browser, nth, "[data-testid=account]")
            .await
            .is_err()
        {
            anyhow::ensure!(
                started.elapsed() < Duration::from_secs(60),
                "uploader #{nth} never mounted"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Post through the second; the first stays as it was.
    let video = files::clip_webm().canonicalize()?;
    inside_nth(browser, 1, "[data-testid=file-input]")
        .await?
        .send_keys(&video.to_string_lossy())
        .await?;
    inside_nth(browser, 1, "#mode-inbox").await?.click().await?;
    let started = Instant::now();
    loop {
        let second = inside_nth(browser, 1, "[data-testid=status]")
            .await?
            .attr("data-status")
            .await?;
        if second.as_deref() == Some("SEND_TO_USER_INBOX") {
            break;
        }
        if second.as_deref().unwrap_or_default().is_empty()
            && inside_nth(browser, 1, "[data-testid=video-facts]")
                .await
                .is_ok()
        {
            let post = inside_nth(browser, 1, "[data-testid=post-button]").await?;
            if post.is_enabled().await? {
                post.click().await?;
            }
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the second uploader never finished: {second:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let first = inside_nth(browser, 0, "[data-testid=status]")
        .await?
        .attr("data-status")
        .await?;
    assert_eq!(
        first.as_deref(),
        Some(""),
        "the first uploader was not touched"
    );
    assert!(
        inside_nth(browser, 0, "[data-testid=video-facts]")
            .await
            .is_err(),
        "no video in the first"
    );
    assert_eq!(site.sim.uploads().len(), 1);
    assert_eq!(
        site.sim.uploads()[0].sha256.as_deref(),
        Some(files::sha256(&video)?.as_str())
    );
    site.stop().await
}
