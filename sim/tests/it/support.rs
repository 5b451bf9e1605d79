//! Shared helpers: start a simulator, talk to it over real HTTP with reqwest, check answers.

use bytes::Bytes;
use protocol::chunk::{ChunkPlan, ChunkRange};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sim::{Endpoint, Sim, SimOptions};
use std::time::Duration;

pub const MIB: u64 = 1024 * 1024;

/// A plan of three 5 MiB chunks, the last with 7 extra bytes: small but really chunked.
pub const SMALL3: (u64, u64, u64) = (15 * MIB + 7, 5 * MIB, 3);
/// A video that goes up whole in one PUT.
pub const WHOLE: (u64, u64, u64) = (MIB, MIB, 1);

/// A running simulator and a client for it.
pub struct Harness {
    pub sim: Sim,
    pub http: reqwest::Client,
}

/// TikTok's defaults, except that processing takes 50 ms.
pub fn fast() -> SimOptions {
    SimOptions {
        processing_delay: Duration::from_millis(50),
        ..SimOptions::default()
    }
}

pub async fn start() -> Harness {
    start_with(fast()).await
}

pub async fn start_with(options: SimOptions) -> Harness {
    let sim = sim::spawn(options).await.expect("binding 127.0.0.1:0");
    Harness {
        sim,
        http: reqwest::Client::new(),
    }
}

/// An API answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    /// The raw body, to look at numbers exactly as sent.
    pub text: String,
    pub json: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or("<none>")
    }

    pub fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or("")
    }

    pub fn data(&self) -> &Value {
        &self.json["data"]
    }
}

/// Asserts an API answer's HTTP status and `error.code`, and the envelope around them.
#[track_caller]
pub fn check(reply: &Reply, status: u16, code: &str) {
    assert_eq!(
        (reply.status, reply.code()),
        (status, code),
        "{}",
        reply.text
    );
    let keys: Vec<&String> = reply.json.as_object().expect("an object").keys().collect();
    assert_eq!(keys, ["data", "error"], "{}", reply.text);
    if code != "ok" {
        assert_eq!(reply.data(), &json!({}), "data is {{}} on error");
    }
}

/// An upload answer.
#[derive(Debug)]
pub struct Put {
    pub status: u16,
    pub content_range: Option<String>,
    pub headers: reqwest::header::HeaderMap,
}

/// A PUT described as data: which headers to send and which bytes of the video.
#[derive(Debug, Clone)]
pub struct PutSpec {
    pub content_type: Option<&'static str>,
    pub content_range: Option<String>,
    /// `start..end` of the video sent as the body.
    pub body: (u64, u64),
}

impl PutSpec {
    /// The correct request for `chunk`.
    pub fn chunk(chunk: ChunkRange) -> Self {
        Self {
            content_type: Some("video/mp4"),
            content_range: Some(chunk.content_range()),
            body: (chunk.start, chunk.end),
        }
    }
}

impl Harness {
    pub fn url(&self, endpoint: Endpoint) -> String {
        format!("{}{}", self.sim.base_url(), endpoint.path())
    }

    /// A well-formed authenticated JSON call.
    pub async fn call(&self, endpoint: Endpoint, body: Value) -> Reply {
        let request = self
            .http
            .post(self.url(endpoint))
            .bearer_auth(self.sim.access_token())
            .header("content-type", "application/json; charset=UTF-8")
            .body(body.to_string());
        reply(request).await
    }

    /// An init that must succeed: returns `(publish_id, upload_url)`.
    pub async fn init(&self, endpoint: Endpoint, body: Value) -> (String, String) {
        let answer = self.call(endpoint, body).await;
        check(&answer, 200, "ok");
        let data = answer.data();
        (
            data["publish_id"].as_str().unwrap().to_owned(),
            data["upload_url"].as_str().unwrap().to_owned(),
        )
    }

    /// `data` of status/fetch, which must succeed.
    pub async fn status(&self, publish_id: &str) -> Value {
        let answer = self
            .call(Endpoint::StatusFetch, json!({ "publish_id": publish_id }))
            .await;
        check(&answer, 200, "ok");
        answer.data().clone()
    }

    /// Polls status/fetch until the status is final, slowly enough to stay under TikTok's 30
    /// calls a minute for processing delays up to a couple of seconds.
    pub async fn final_status(&self, publish_id: &str) -> (Value, String) {
        for _ in 0..25 {
            let answer = self
                .call(Endpoint::StatusFetch, json!({ "publish_id": publish_id }))
                .await;
            check(&answer, 200, "ok");
            if answer.data()["status"] != "PROCESSING_UPLOAD" {
                return (answer.data().clone(), answer.text);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{publish_id} never left PROCESSING_UPLOAD");
    }

    /// Sends `spec` to `upload_url`, with bytes taken from `video`.
    pub async fn put(&self, upload_url: &str, video: &Bytes, spec: &PutSpec) -> Put {
        self.try_put(upload_url, video, spec)
            .await
            .expect("the PUT gets an answer")
    }

    pub async fn try_put(
        &self,
        upload_url: &str,
        video: &Bytes,
        spec: &PutSpec,
    ) -> reqwest::Result<Put> {
        let (start, end) = spec.body;
        let mut request = self
            .http
            .put(upload_url)
            .body(video.slice(start as usize..end as usize));
        if let Some(content_type) = spec.content_type {
            request = request.header("content-type", content_type);
        }
        if let Some(range) = &spec.content_range {
            request = request.header("content-range", range);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_range = header(&headers, "content-range");
        assert!(
            response.bytes().await?.is_empty(),
            "PUT answers have no body"
        );
        Ok(Put {
            status,
            content_range,
            headers,
        })
    }

    /// Uploads every chunk of `plan` in order, asserting 206 … 201.
    pub async fn upload_all(&self, upload_url: &str, video: &Bytes, plan: &ChunkPlan) {
        for chunk in plan.chunks() {
            let put = self.put(upload_url, video, &PutSpec::chunk(chunk)).await;
            assert_eq!(put.status, if chunk.is_last { 201 } else { 206 });
            assert_eq!(
                put.content_range,
                Some(progress(chunk.end, plan.video_size))
            );
        }
    }
}

/// Sends `request` and reads TikTok's envelope back.
pub async fn reply(request: reqwest::RequestBuilder) -> Reply {
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    Reply {
        status,
        headers,
        text,
        json,
    }
}

pub fn header(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .map(|value| value.to_str().unwrap().to_owned())
}

/// The `Content-Range` an upload answer carries after `received` bytes.
pub fn progress(received: u64, total: u64) -> String {
    match received {
        0 => format!("bytes */{total}"),
        _ => format!("bytes 0-{}/{total}", received - 1),
    }
}

pub fn plan((video_size, chunk_size, total_chunk_count): (u64, u64, u64)) -> ChunkPlan {
    ChunkPlan::validate(video_size, chunk_size, total_chunk_count).expect("a valid plan")
}

pub fn file_upload((video_size, chunk_size, total_chunk_count): (u64, u64, u64)) -> Value {
    json!({
        "source": "FILE_UPLOAD",
        "video_size": video_size,
        "chunk_size": chunk_size,
        "total_chunk_count": total_chunk_count,
    })
}

/// A `video/init` body.
pub fn direct(plan: (u64, u64, u64), privacy: &str) -> Value {
    json!({
        "post_info": {
            "title": "a funny #cat video",
            "privacy_level": privacy,
            "disable_duet": false,
            "disable_comment": false,
            "disable_stitch": false,
            "brand_content_toggle": false,
        },
        "source_info": file_upload(plan),
    })
}

/// An `inbox/video/init` body.
pub fn inbox(plan: (u64, u64, u64)) -> Value {
    json!({ "source_info": file_upload(plan) })
}

/// `len` deterministic pseudo-random bytes (xorshift64*), the same for the same `seed`.
pub fn video(len: u64, seed: u64) -> Bytes {
    let mut state = seed | 1;
    let mut bytes = Vec::with_capacity(len as usize + 8);
    while (bytes.len() as u64) < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        bytes.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    bytes.truncate(len as usize);
    Bytes::from(bytes)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
