//! CORS on the upload host, on and off; never on the API.

use crate::support::*;
use reqwest::Method;
use serde_json::json;
use sim::{Endpoint, SimOptions};

const ORIGIN: &str = "http://127.0.0.1:8080";

/// Sends a browser's preflight for a chunk PUT, with or without an `Origin`.
async fn preflight(
    harness: &Harness,
    upload_url: &str,
    origin: Option<&str>,
) -> (u16, Vec<String>) {
    let mut request = harness
        .http
        .request(Method::OPTIONS, upload_url)
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "content-range,content-type",
        );
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = [
        "access-control-allow-origin",
        "access-control-allow-methods",
        "access-control-allow-headers",
        "access-control-max-age",
    ]
    .iter()
    .map(|name| header(response.headers(), name).unwrap_or_default())
    .collect();
    (status, headers)
}

#[tokio::test]
async fn upload_host_allows_browsers_when_cors_is_on() {
    let harness = start().await;
    let (_, upload_url) = harness
        .init(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
        .await;
    let allowed = |origin: &str| {
        vec![
            origin.to_owned(),
            "PUT, OPTIONS".to_owned(),
            "content-type, content-range".to_owned(),
            "600".to_owned(),
        ]
    };
    assert_eq!(
        preflight(&harness, &upload_url, Some(ORIGIN)).await,
        (204, allowed(ORIGIN))
    );
    assert_eq!(
        preflight(&harness, &upload_url, None).await,
        (204, allowed("*"))
    );
    let spec = PutSpec::chunk(plan(WHOLE).chunk(0).unwrap());
    let put = harness
        .http
        .put(&upload_url)
        .header("origin", ORIGIN)
        .header("content-type", "video/mp4")
        .header("content-range", spec.content_range.unwrap())
        .body(video(WHOLE.0, 20))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 201);
    let headers = put.headers();
    assert_eq!(
        header(headers, "access-control-allow-origin").as_deref(),
        Some(ORIGIN)
    );
    assert_eq!(
        header(headers, "access-control-expose-headers").as_deref(),
        Some("Content-Range")
    );
}

#[tokio::test]
async fn upload_host_refuses_preflights_when_cors_is_off() {
    let harness = start_with(SimOptions {
        cors: false,
        ..fast()
    })
    .await;
    let (_, upload_url) = harness
        .init(Endpoint::VideoInit, direct(WHOLE, "SELF_ONLY"))
        .await;
    let (status, headers) = preflight(&harness, &upload_url, Some(ORIGIN)).await;
    assert_eq!(status, 403);
    assert!(headers.iter().all(String::is_empty), "{headers:?}");
    // A server-side PUT still works, without CORS headers.
    let video = video(WHOLE.0, 21);
    let spec = PutSpec::chunk(plan(WHOLE).chunk(0).unwrap());
    let put = harness.put(&upload_url, &video, &spec).await;
    assert_eq!(put.status, 201);
    assert!(header(&put.headers, "access-control-allow-origin").is_none());
}

#[tokio::test]
async fn api_endpoints_never_speak_cors() {
    let harness = start().await;
    let answer = reply(
        harness
            .http
            .post(harness.url(Endpoint::CreatorInfo))
            .bearer_auth(harness.sim.access_token())
            .header("origin", ORIGIN)
            .header("content-type", "application/json")
            .body(json!({}).to_string()),
    )
    .await;
    check(&answer, 200, "ok");
    assert!(header(&answer.headers, "access-control-allow-origin").is_none());
    let options = harness
        .http
        .request(Method::OPTIONS, harness.url(Endpoint::VideoInit))
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(options.status(), 405);
    assert!(header(options.headers(), "access-control-allow-origin").is_none());
}
