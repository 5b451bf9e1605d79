//! `POST /api/upload` and the jobs behind it, over real HTTP against the simulator: multipart
//! and raw bodies, a multi-chunk video byte-exact, refusals before anything is posted, the
//! duplicate guard, and a job continued by the next proxy after a stop mid-upload.

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use bytes::Bytes;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use support::{Proxy, Reply, sha256_hex, spawn_proxy, video_bytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An ISO-BMFF `ftyp` box: what makes the bytes after it sniff as MP4.
const MP4_HEAD: &[u8] = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";

/// `len` bytes that sniff as an MP4.
fn mp4(len: usize) -> Bytes {
    let mut bytes = video_bytes(len).to_vec();
    bytes[..MP4_HEAD.len()].copy_from_slice(MP4_HEAD);
    bytes.into()
}

const BOUNDARY: &str = "autoposter-test-boundary";

/// A `multipart/form-data` body: the text fields, then the file part.
fn multipart(fields: &[(&str, &str)], file: &[u8]) -> Vec<u8> {
    multipart_around(fields, file, &[])
}

/// A `multipart/form-data` body: `before`, the file part, then `after` (as `curl -F` sends
/// fields named after the file).
fn multipart_around(before: &[(&str, &str)], file: &[u8], after: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::with_capacity(file.len() + 4096);
    let field = |body: &mut Vec<u8>, name: &str, value: &str| {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    };
    for (name, value) in before {
        field(&mut body, name, value);
    }
    body.extend_from_slice(
        format!("--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"clip.mp4\"\r\ncontent-type: video/mp4\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(b"\r\n");
    for (name, value) in after {
        field(&mut body, name, value);
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn post_multipart(proxy: &Proxy, query: &str, fields: &[(&str, &str)], file: &[u8]) -> Reply {
    proxy
        .send(
            proxy
                .client
                .post(proxy.url(&format!("/api/upload{query}")))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(multipart(fields, file)),
        )
        .await
}

async fn post_raw(proxy: &Proxy, query: &str, content_type: &str, file: Bytes) -> Reply {
    proxy
        .send(
            proxy
                .client
                .post(proxy.url(&format!("/api/upload{query}")))
                .header("content-type", content_type)
                .body(file),
        )
        .await
}

/// Polls a job's status URL until it is final.
async fn job_until_final(proxy: &Proxy, status_url: &str) -> Value {
    for _ in 0..600 {
        let reply = proxy.get(status_url).await;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let job = reply.json();
        if ["done", "failed"].contains(&job["stage"].as_str().unwrap()) {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{status_url} never became final");
}

/// The videos spooled in the uploads directory.
fn spooled(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .filter(|entry| entry.path().is_file())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_multipart_upload_of_64_000_001_bytes_waits_for_the_published_state_byte_exact() {
    let proxy = spawn_proxy(|_| {}).await;
    let video = mp4(64_000_001);
    let reply = post_multipart(
        &proxy,
        "?wait=true",
        &[
            ("caption", "From a script #autoposter"),
            ("privacy_level", "SELF_ONLY"),
            ("disable_duet", "true"),
        ],
        &video,
    )
    .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let job = reply.json();
    assert_eq!(job["stage"], "done", "{job}");
    assert_eq!(job["status"], "PUBLISH_COMPLETE", "{job}");
    assert_eq!(job["uploaded_bytes"], 64_000_001);
    assert_eq!(job["sha256"], sha256_hex(&video));
    assert_eq!(job["file_name"], "clip.mp4");
    let publish_id = job["publish_id"].as_str().unwrap();

    let upload = proxy.sim.upload(publish_id).unwrap();
    assert_eq!(upload.sha256.unwrap(), sha256_hex(&video), "byte-exact");
    assert!(upload.chunks_accepted.len() > 1, "multi-chunk");
    let post_info = upload.post_info.unwrap();
    assert_eq!(
        post_info.title.as_deref(),
        Some("From a script #autoposter")
    );
    assert!(post_info.disable_duet);
    // The upload host saw TikTok's headers only.
    let put = proxy
        .sim
        .requests()
        .into_iter()
        .find(|r| r.method == "PUT")
        .unwrap();
    assert_eq!(put.header("content-type"), Some("video/mp4"));
    assert!(put.header("authorization").is_none());

    // Logged as the page's posts are, so the history shows it.
    let history = proxy.get("/api/posts").await.json();
    assert_eq!(history["posts"][0]["publish_id"], publish_id);
    assert_eq!(history["posts"][0]["status"], "PUBLISH_COMPLETE");
    assert_eq!(history["posts"][0]["caption"], "From a script #autoposter");
    let created = proxy
        .log_lines()
        .into_iter()
        .find(|line| line["event"] == "post_created")
        .unwrap();
    assert_eq!(created["by"], "local");
    assert_eq!(created["video_size"], 64_000_001);
    // Posted: the spooled file is gone.
    assert_eq!(
        spooled(&proxy._dir.path().join("uploads")),
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn a_raw_upload_answers_202_with_the_publish_id_and_the_job_finishes() {
    let proxy = spawn_proxy(|_| {}).await;
    let video = mp4(2_000_000);
    let reply = post_raw(
        &proxy,
        "?mode=inbox&file_name=raw.mp4",
        "video/mp4",
        video.clone(),
    )
    .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let accepted = reply.json();
    let job_id = accepted["job_id"].as_str().unwrap();
    assert!(accepted["publish_id"].is_string(), "{accepted}");
    assert_eq!(accepted["status_url"], format!("/api/jobs/{job_id}"));
    let job = job_until_final(&proxy, accepted["status_url"].as_str().unwrap()).await;
    assert_eq!(job["status"], "SEND_TO_USER_INBOX", "{job}");
    let upload = proxy
        .sim
        .upload(job["publish_id"].as_str().unwrap())
        .unwrap();
    assert_eq!(upload.sha256.unwrap(), sha256_hex(&video));

    let jobs = proxy.get("/api/jobs").await.json();
    assert_eq!(jobs["jobs"][0]["job_id"], job_id);
    assert!(
        !proxy.get("/api/jobs").await.body.contains("upload_token"),
        "no upload URL shown"
    );
    assert_eq!(
        proxy.get("/api/jobs/job_0000000000000000").await.status,
        404
    );
    assert_eq!(proxy.get("/api/jobs/..%2Fetc").await.status, 404);
}

#[tokio::test]
async fn videos_that_cannot_be_posted_are_refused_before_anything_is_sent() {
    let proxy = spawn_proxy(|_| {}).await;
    let uploads = proxy._dir.path().join("uploads");

    let text = post_raw(&proxy, "", "text/plain", Bytes::from_static(b"hello")).await;
    assert_eq!(
        (text.status, text.error().error.code.as_str()),
        (415, "unsupported_media_type")
    );

    let gif = Bytes::from(vec![b'G'; 100_000]);
    let not_video = post_raw(&proxy, "?mode=inbox", "video/mp4", gif.clone()).await;
    assert_eq!(
        (not_video.status, not_video.error().error.code.as_str()),
        (415, "not_a_video")
    );
    let not_video = post_multipart(&proxy, "", &[("mode", "inbox")], &gif).await;
    assert_eq!(
        (not_video.status, not_video.error().error.code.as_str()),
        (415, "not_a_video")
    );

    let no_privacy = post_raw(&proxy, "?caption=hi", "video/mp4", mp4(1000)).await;
    assert_eq!(
        (no_privacy.status, no_privacy.error().error.code.as_str()),
        (400, "privacy_level_missing")
    );
    let typo = post_multipart(
        &proxy,
        "",
        &[("mode", "inbox"), ("captoin", "x")],
        &mp4(1000),
    )
    .await;
    assert_eq!(
        (typo.status, typo.error().error.code.as_str()),
        (400, "invalid_upload")
    );
    assert!(typo.error().error.message.contains("captoin"));

    // Too big, said by Content-Length: refused before a byte of the body is read.
    let address = proxy.base_url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST /api/upload?mode=inbox HTTP/1.1\r\nhost: {address}\r\ncontent-type: video/mp4\r\ncontent-length: 5000000000\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("video_too_large"), "{answer}");

    assert!(proxy.sim.uploads().is_empty(), "nothing reached TikTok");
    assert_eq!(spooled(&uploads), Vec::<String>::new(), "nothing kept");
    assert_eq!(
        proxy.get("/api/jobs").await.json()["jobs"],
        serde_json::json!([])
    );
}

#[tokio::test]
async fn the_same_video_twice_is_refused_unless_forced() {
    let proxy = spawn_proxy(|_| {}).await;
    let video = mp4(300_000);
    let first = post_raw(&proxy, "?mode=inbox&wait=true", "video/mp4", video.clone()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let first = first.json();

    let again = post_raw(&proxy, "?mode=inbox", "video/mp4", video.clone()).await;
    refused_as_duplicate_of(&again, &first, &[]);
    forced_is_posted(&proxy, "?mode=inbox&wait=true", video, "SEND_TO_USER_INBOX").await;
}

/// `reply` is the 409 `duplicate_video` naming `first` (its job and `publish_id`) and `more`.
fn refused_as_duplicate_of(reply: &Reply, first: &Value, more: &[&str]) {
    assert_eq!(reply.status, 409, "{}", reply.body);
    let error = reply.error().error;
    assert_eq!(error.code, "duplicate_video");
    let named = [&first["job_id"], &first["publish_id"]].map(|id| id.as_str().unwrap());
    for named in named.iter().chain(more) {
        assert!(error.message.contains(named), "{named}: {}", error.message);
    }
}

/// `video` sent again with `force=true` added to `query` (which waits) is posted, to `status`,
/// as the simulator's second upload.
async fn forced_is_posted(proxy: &Proxy, query: &str, video: Bytes, status: &str) {
    proxy
        .post_video_to(&format!("{query}&force=true"), video, status)
        .await;
    assert_eq!(proxy.sim.uploads().len(), 2);
}

/// Issue 14: the duplicate guard reads the log, so a post from before a restart counts even
/// when its job record is gone, and the refusal names that post.
#[tokio::test]
async fn a_duplicate_is_named_from_the_log_after_a_restart_without_its_job_record() {
    let proxy = spawn_proxy(|_| {}).await;
    let video = mp4(300_000);
    let query = "?privacy_level=SELF_ONLY&caption=first%20take&wait=true";
    let first = proxy
        .post_video_to(query, video.clone(), "PUBLISH_COMPLETE")
        .await;
    let jobs_dir = proxy._dir.path().join("uploads").join("jobs");
    std::fs::remove_dir_all(&jobs_dir).unwrap();
    let proxy = proxy.restart(|_| {}).await;
    assert_eq!(
        proxy.get("/api/jobs").await.json()["jobs"],
        serde_json::json!([])
    );

    let again = post_raw(&proxy, query, "video/mp4", video.clone()).await;
    refused_as_duplicate_of(&again, &first, &["\"first take\""]);
    assert_eq!(
        spooled(&proxy._dir.path().join("uploads")),
        Vec::<String>::new(),
        "a refused copy is not kept"
    );
    forced_is_posted(&proxy, query, video, "PUBLISH_COMPLETE").await;
}

/// Issue 14: an attempt whose upload failed never reached TikTok whole, so it does not block
/// the same video sent again, after a restart too.
#[tokio::test]
async fn a_video_whose_upload_failed_may_be_sent_again() {
    let proxy = spawn_proxy(|_| {}).await;
    proxy.sim.script(sim::Fault::ChunkStatus {
        chunk: 0,
        status: 400,
        times: 1,
    });
    let video = mp4(300_000);
    let failed = post_raw(&proxy, "?mode=inbox&wait=true", "video/mp4", video.clone()).await;
    assert_eq!(failed.status, 200, "{}", failed.body);
    assert_eq!(failed.json()["stage"], "failed", "{}", failed.body);
    let history = proxy.get("/api/posts").await.json();
    assert_eq!(history["posts"][0]["status"], "UPLOAD_FAILED");
    let proxy = proxy.restart(|_| {}).await;

    proxy
        .post_video_to("?mode=inbox&wait=true", video, "SEND_TO_USER_INBOX")
        .await;
    let complete = proxy
        .sim
        .uploads()
        .into_iter()
        .filter(|u| u.complete)
        .count();
    assert_eq!(complete, 1, "{:?}", proxy.sim.uploads());
}

#[tokio::test]
async fn a_job_stopped_mid_upload_is_finished_by_the_next_proxy_exactly_once() {
    let proxy = spawn_proxy(|_| {}).await;
    // Chunk 1 arrives but its answer is lost: the stopped proxy never learns TikTok holds it.
    proxy.sim.script(sim::Fault::LoseAnswer { chunk: 1 });
    let video = mp4(64_000_001);
    let accepted = post_raw(&proxy, "?mode=inbox", "video/mp4", video.clone()).await;
    assert_eq!(accepted.status, 202, "{}", accepted.body);
    let accepted = accepted.json();
    let publish_id = accepted["publish_id"].as_str().unwrap().to_owned();
    // Stop while the job waits to retry chunk 1.
    for _ in 0..400 {
        if proxy.sim.upload(&publish_id).unwrap().chunks_accepted.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let sim_base = proxy.sim.base_url();
    let token = proxy.sim.access_token().to_owned();
    let Proxy {
        sim,
        shutdown,
        task,
        _dir: dir,
        ..
    } = proxy;
    let _ = shutdown.unwrap().send(());
    task.await.unwrap().unwrap();
    let held = sim.upload(&publish_id).unwrap().chunks_accepted.len();
    assert!(held < 7, "stopped mid-upload ({held} chunks held)");

    // The next proxy, same directory, same TikTok.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    let config = proxy::Config {
        api_base: sim_base,
        access_token: Some(proxy::Secret::new(token)),
        log_path: dir.path().join("posts.jsonl"),
        uploads_dir: dir.path().join("uploads"),
        job_poll_interval: Duration::from_millis(20),
        status_cache_ttl: Duration::from_millis(10),
        upstream_timeout: Duration::from_secs(5),
        operator: proxy::OperatorConfig {
            api_tokens_file: dir.path().join("api-tokens.json"),
            ..proxy::OperatorConfig::default()
        },
        ..proxy::Config::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(proxy::run(listener, config, async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();
    let status_url = format!("{base_url}{}", accepted["status_url"].as_str().unwrap());
    let mut job = Value::Null;
    for _ in 0..600 {
        let text = client
            .get(&status_url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        job = serde_json::from_str(&text).unwrap();
        if ["done", "failed"].contains(&job["stage"].as_str().unwrap()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(job["stage"], "done", "{job}");
    assert_eq!(job["publish_id"], publish_id.as_str(), "no second init");
    assert_eq!(sim.uploads().len(), 1, "exactly one post at TikTok");
    let upload = sim.upload(&publish_id).unwrap();
    assert_eq!(upload.sha256.unwrap(), sha256_hex(&video), "byte-exact");
    let starts: Vec<u64> = upload
        .chunks_accepted
        .iter()
        .map(|chunk| chunk.start)
        .collect();
    let mut unique = starts.clone();
    unique.dedup();
    assert_eq!(starts, unique, "no chunk accepted twice");
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn fields_after_the_file_part_count_as_curl_sends_them() {
    let proxy = spawn_proxy(|_| {}).await;
    let video = mp4(100_000);
    let body = multipart_around(
        &[],
        &video,
        &[("mode", "direct"), ("privacy_level", "SELF_ONLY")],
    );
    let reply = proxy
        .send(
            proxy
                .client
                .post(proxy.url("/api/upload?wait=true"))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(body),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["status"], "PUBLISH_COMPLETE");
    // Still missing once the whole form is in: refused, and nothing kept.
    let body = multipart_around(&[], &mp4(100_001), &[("caption", "no audience chosen")]);
    let reply = proxy
        .send(
            proxy
                .client
                .post(proxy.url("/api/upload"))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={BOUNDARY}"),
                )
                .body(body),
        )
        .await;
    assert_eq!(
        (reply.status, reply.error().error.code.as_str()),
        (400, "privacy_level_missing")
    );
    assert_eq!(proxy.sim.uploads().len(), 1);
}

#[tokio::test]
async fn a_post_tiktok_fails_is_a_failed_job_and_its_video_is_kept() {
    let proxy = spawn_proxy(|_| {}).await;
    proxy.sim.script(sim::Fault::FailPublish {
        reason: "frame_rate_check_failed".into(),
    });
    let reply = post_raw(&proxy, "?mode=inbox&wait=true", "video/mp4", mp4(50_000)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let job = reply.json();
    assert_eq!(job["stage"], "failed", "{job}");
    assert!(
        job["message"].as_str().unwrap().contains("frame rate"),
        "{job}"
    );
    let history = proxy.get("/api/posts").await.json();
    assert_eq!(
        history["posts"][0]["status"], "FAILED",
        "TikTok's word, not an upload failure"
    );
    let kept = spooled(&proxy._dir.path().join("uploads"));
    assert_eq!(kept, [format!("{}.mp4", job["job_id"].as_str().unwrap())]);
    // A failed post does not block the same video.
    let again = post_raw(&proxy, "?mode=inbox", "video/mp4", mp4(50_000)).await;
    assert_eq!(again.status, 202, "{}", again.body);
}

#[tokio::test]
async fn with_keep_failed_off_a_failed_jobs_video_is_removed_too() {
    let proxy = spawn_proxy(|config| config.keep_failed = false).await;
    proxy.sim.script(sim::Fault::FailPublish {
        reason: "frame_rate_check_failed".into(),
    });
    let reply = post_raw(&proxy, "?mode=inbox&wait=true", "video/mp4", mp4(50_000)).await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["stage"], "failed", "{}", reply.body);
    // The answer goes out as the final state is saved; the file goes right after.
    let uploads = proxy._dir.path().join("uploads");
    for _ in 0..100 {
        if spooled(&uploads).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the failed video stayed: {:?}", spooled(&uploads));
}

/// The job API shows each chunk TikTok confirmed at once; the record on disk takes progress at
/// most once a second (a restart asks TikTok anyway), so on a slow uplink, where a chunk takes
/// over a second, it still keeps up. (Whether a quick chunk after it is written depends on this
/// machine's speed; the bench measures what skipping those saves is worth.)
#[tokio::test]
async fn progress_is_shown_at_once_and_a_slow_chunk_reaches_the_record() {
    let proxy = spawn_proxy(|_| {}).await;
    let plan = protocol::ChunkPlan::new(64_000_001).unwrap();
    let (second, third) = (plan.chunk(1).unwrap(), plan.chunk(2).unwrap());
    proxy.sim.script(sim::Fault::LateAnswer {
        chunk: 0,
        duration: Duration::from_millis(1200),
    });
    proxy.sim.script(sim::Fault::HangChunk {
        chunk: 2,
        duration: Duration::from_secs(4),
    });
    let reply = post_raw(
        &proxy,
        "?privacy_level=SELF_ONLY",
        "video/mp4",
        mp4(64_000_001),
    )
    .await;
    assert_eq!(reply.status, 202, "{}", reply.body);
    let job_id = reply.json()["job_id"].as_str().unwrap().to_owned();
    let mut shown = Value::Null;
    for _ in 0..400 {
        shown = proxy.get(&format!("/api/jobs/{job_id}")).await.json();
        if shown["uploaded_bytes"] == third.start {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(shown["uploaded_bytes"], third.start, "{shown}");
    let path = proxy
        ._dir
        .path()
        .join(format!("uploads/jobs/{job_id}.json"));
    let record: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let confirmed = record["state"]["confirmed"].as_u64().unwrap();
    assert!(
        (second.start..=third.start).contains(&confirmed),
        "the slow first chunk is on disk, nothing TikTok has not confirmed: {record}"
    );
}
