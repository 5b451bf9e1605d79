//! Figure 4's overhead: what the proxy adds to `POST /api/posts` and `GET /api/posts/{id}`,
//! against the same calls straight to the simulator (`video/init`, `status/fetch`), at
//! concurrency 1 and 64. A bounded tokio + reqwest loop: a fixed number of requests, after a
//! short warm-up. The proxy's status cache is off (`--status-cache-ttl 0s`), so every GET
//! really goes through to the simulator.

use super::Setup;
use super::stack::{SIM_TOKEN, Stack};
use anyhow::{Context, Result};
use protocol::chunk::ChunkPlan;
use protocol::tiktok::{DirectPostInit, PostInfo, SourceInfo, StatusRequest, paths};
use protocol::wire::{CreatePost, CreatedPost, PostFields, PostMode};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests per measurement at each concurrency: (concurrency, requests).
const LOADS: [(usize, usize); 2] = [(1, 200), (64, 2000)];
/// Requests sent first and not counted, so connections and caches are warm.
const WARM_UP: usize = 50;
/// The video size the inits announce: 64 MB (one chunk; nothing is uploaded).
const VIDEO_SIZE: u64 = 64_000_000;

/// One kind of call, through the proxy or straight to the simulator.
#[derive(Clone)]
struct Call {
    method: reqwest::Method,
    url: String,
    body: Option<Value>,
    bearer: bool,
}

pub async fn measure(setup: &Setup) -> Result<Latency> {
    crate::tools::step("proxy overhead: POST /api/posts and GET /api/posts/{id}, c=1 and c=64");
    let stack = Stack::start(
        &setup.bins,
        &setup.site,
        &setup.scratch.join("latency"),
        &["--status-cache-ttl", "0s"],
    )?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(128)
        .build()?;
    let plan = ChunkPlan::new(VIDEO_SIZE)?;
    let create = CreatePost {
        mode: PostMode::Direct,
        video_size: VIDEO_SIZE,
        content_type: "video/mp4".into(),
        file_name: "bench.mp4".into(),
        post_info: PostFields {
            privacy_level: Some(protocol::PrivacyLevel::SelfOnly),
            ..PostFields::default()
        },
    };
    let init = DirectPostInit {
        post_info: PostInfo::new(protocol::PrivacyLevel::SelfOnly),
        source_info: SourceInfo::file_upload(&plan),
    };
    let proxy_post = Call {
        method: reqwest::Method::POST,
        url: format!("{}/api/posts", stack.proxy_url),
        body: Some(serde_json::to_value(&create)?),
        bearer: false,
    };
    let sim_post = Call {
        method: reqwest::Method::POST,
        url: format!("{}{}", stack.sim_url, paths::VIDEO_INIT),
        body: Some(serde_json::to_value(&init)?),
        bearer: true,
    };
    // A post made through the proxy, whose status both sides are asked for.
    let created: CreatedPost = serde_json::from_str(&send(&client, &proxy_post).await?)?;
    let proxy_get = Call {
        method: reqwest::Method::GET,
        url: format!("{}/api/posts/{}", stack.proxy_url, created.publish_id),
        body: None,
        bearer: false,
    };
    let sim_get = Call {
        method: reqwest::Method::POST,
        url: format!("{}{}", stack.sim_url, paths::STATUS_FETCH),
        body: Some(serde_json::to_value(StatusRequest {
            publish_id: created.publish_id.clone(),
        })?),
        bearer: true,
    };
    let (mut post, mut get) = (BTreeMap::new(), BTreeMap::new());
    for (loads, name, proxy, direct) in [
        (&mut post, "post", &proxy_post, &sim_post),
        (&mut get, "get", &proxy_get, &sim_get),
    ] {
        for (concurrency, requests) in LOADS {
            let (direct_times, direct_rate) = load(&client, direct, concurrency, requests).await?;
            let (proxy_times, proxy_rate) = load(&client, proxy, concurrency, requests).await?;
            let (d50, d99) = percentiles(direct_times);
            let (p50, p99) = percentiles(proxy_times);
            eprintln!(
                "    {name:4} c={concurrency:<3} direct p50 {d50:.2} p99 {d99:.2} ms ({direct_rate:.0}/s); proxy p50 {p50:.2} p99 {p99:.2} ms ({proxy_rate:.0}/s)"
            );
            loads.insert(
                concurrency,
                Overhead {
                    requests,
                    direct: Percentiles {
                        p50_ms: d50,
                        p99_ms: d99,
                        per_sec: direct_rate,
                    },
                    proxy: Percentiles {
                        p50_ms: p50,
                        p99_ms: p99,
                        per_sec: proxy_rate,
                    },
                    added_p50_ms: p50 - d50,
                    added_p99_ms: p99 - d99,
                },
            );
        }
    }
    Ok(Latency {
        post,
        get,
        proxy_rss_after_bytes: super::proc::status_bytes(stack.proxy.pid, "VmRSS").unwrap_or(0),
        proxy_peak_rss_bytes: super::proc::status_bytes(stack.proxy.pid, "VmHWM").unwrap_or(0),
    })
}

/// Figure 4's overheads as recorded in the report: `POST /api/posts` and `GET /api/posts/{id}`,
/// by concurrency.
#[derive(Debug, Default, Serialize)]
pub struct Latency {
    pub post: BTreeMap<usize, Overhead>,
    pub get: BTreeMap<usize, Overhead>,
    pub proxy_rss_after_bytes: u64,
    pub proxy_peak_rss_bytes: u64,
}

/// One call at one concurrency: straight to the simulator, through the proxy, and the
/// difference.
#[derive(Debug, Default, Serialize)]
pub struct Overhead {
    pub requests: usize,
    pub direct: Percentiles,
    pub proxy: Percentiles,
    pub added_p50_ms: f64,
    pub added_p99_ms: f64,
}

/// Call times in milliseconds, and calls per second.
#[derive(Debug, Default, Serialize)]
pub struct Percentiles {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub per_sec: f64,
}

/// Sends `requests` calls from `concurrency` tasks after a warm-up; each call's time in ms,
/// and the calls per second.
async fn load(
    client: &reqwest::Client,
    call: &Call,
    concurrency: usize,
    requests: usize,
) -> Result<(Vec<f64>, f64)> {
    for _ in 0..WARM_UP {
        send(client, call).await?;
    }
    let call = Arc::new(call.clone());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..concurrency {
        let (client, call) = (client.clone(), Arc::clone(&call));
        let share = requests / concurrency + usize::from(task < requests % concurrency);
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::with_capacity(share);
            for _ in 0..share {
                let started = Instant::now();
                send(&client, &call).await?;
                times.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            Ok::<_, anyhow::Error>(times)
        }));
    }
    let mut times = Vec::with_capacity(requests);
    for task in tasks {
        times.extend(task.await??);
    }
    Ok((times, requests as f64 / started.elapsed().as_secs_f64()))
}

/// One call; its body, or an error naming the call when the status is not a success.
async fn send(client: &reqwest::Client, call: &Call) -> Result<String> {
    let mut request = client
        .request(call.method.clone(), &call.url)
        .timeout(Duration::from_secs(30));
    if call.bearer {
        request = request.bearer_auth(SIM_TOKEN);
    }
    if let Some(body) = &call.body {
        request = request
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(body)?);
    }
    let answer = request
        .send()
        .await
        .with_context(|| format!("{} {}", call.method, call.url))?;
    let status = answer.status();
    let body = answer.text().await?;
    anyhow::ensure!(
        status.is_success(),
        "{} {}: {status} {body}",
        call.method,
        call.url
    );
    Ok(body)
}

/// p50 and p99 in ms (nearest rank).
fn percentiles(mut times: Vec<f64>) -> (f64, f64) {
    times.sort_by(f64::total_cmp);
    let at = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
    (at(50), at(99))
}
