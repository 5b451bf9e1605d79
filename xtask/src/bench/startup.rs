//! Figure 6: navigation start to the uploader being interactive — the Post button in the DOM,
//! which Leptos creates with its handlers attached — on the page's own clock (the injected
//! script's `performance.now()`, 0 = navigation start). One cold load with a fresh profile,
//! then [`LOADS`] loads in the same browser (HTTP and V8 code caches warm, as for a returning
//! creator); the figure is their median. The time the account line appears (after
//! `GET /api/creator`) is reported beside it.

use super::Setup;
use super::browser::{self, Browser, Drive};
use super::stack::Stack;
use anyhow::Result;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Warm loads measured.
const LOADS: usize = 10;

pub async fn measure(setup: &Setup) -> Result<Startup> {
    crate::tools::step(&format!("page start: 1 cold load, then {LOADS} warm ones"));
    let scratch = setup.scratch.join("startup");
    let stack = Stack::start(&setup.bins, &setup.site, &scratch, &[])?;
    let browser = browser::start(&setup.chromedriver, &scratch.join("profile")).await?;
    let result = async {
        let url = format!("{}/", stack.proxy_url);
        let cold = load(&browser, &url).await?;
        let mut warm = Vec::new();
        for _ in 0..LOADS {
            warm.push(load(&browser, &url).await?);
        }
        let median = |pick: fn(&(f64, f64)) -> f64| {
            let mut values: Vec<f64> = warm.iter().map(pick).collect();
            values.sort_by(f64::total_cmp);
            values[values.len() / 2]
        };
        let (mounted, account) = (median(|l| l.0), median(|l| l.1));
        eprintln!(
            "    cold {:.0} ms; warm median {mounted:.0} ms (account line {account:.0} ms)",
            cold.0
        );
        Ok(Startup {
            cold_ms: cold.0,
            cold_account_ms: cold.1,
            warm_median_ms: mounted,
            account_median_ms: account,
            warm_ms: warm.iter().map(|l| l.0).collect(),
        })
    }
    .await;
    let _ = browser.close().await;
    result
}

/// Figure 6 as recorded in the report, in milliseconds after navigation start.
#[derive(Debug, Default, Serialize)]
pub struct Startup {
    /// The first load: the Post button in the DOM, then the account line.
    pub cold_ms: f64,
    pub cold_account_ms: f64,
    /// The median of the warm loads: the Post button in the DOM, then the account line.
    pub warm_median_ms: f64,
    pub account_median_ms: f64,
    pub warm_ms: Vec<f64>,
}

/// Navigates to `url`; (Post button, account line) times in ms after navigation start.
async fn load(browser: &Browser, url: &str) -> Result<(f64, f64)> {
    browser.client.goto(url).await?;
    let started = Instant::now();
    loop {
        let times = browser
            .script("return window.__bench && [window.__bench.mounted, window.__bench.account];")
            .await?;
        if let (Some(mounted), Some(account)) = (times[0].as_f64(), times[1].as_f64()) {
            return Ok((mounted, account));
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(30),
            "the page did not mount within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
