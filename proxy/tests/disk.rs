//! A full disk under `POST /api/upload`, played by a small tmpfs (`support::tmpfs`, needs root)
//! as the uploads directory: a video announced too big for it is refused before a byte is
//! written, one that fills it while arriving is refused as soon as a write fails, neither
//! leaves a file behind, and the next video that fits is posted as usual.

#[allow(
    dead_code,
    reason = "support is shared by every test file, and each uses only part of it"
)]
mod support;

use std::path::Path;
use support::tmpfs::Tmpfs;
use support::{Proxy, mp4_video, spawn_proxy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MIB: u64 = 1 << 20;

/// The tmpfs: the spool's 64 MiB reserve (`spool::DISK_RESERVE`) and 8 MiB for videos.
const DISK: u64 = 72 * MIB;

const BOUNDARY: &str = "disk-test-boundary";

/// A proxy whose uploads directory, job records and log are all on `disk`.
async fn proxy_on(disk: &Tmpfs) -> Proxy {
    let root = disk.path().to_owned();
    spawn_proxy(move |config| {
        config.uploads_dir = root.join("uploads");
        config.log_path = root.join("posts.jsonl");
    })
    .await
}

/// What is left in the uploads directory besides the job records.
fn leftovers(uploads: &Path) -> Vec<String> {
    std::fs::read_dir(uploads)
        .unwrap()
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name != "jobs")
        .collect()
}

/// Reads an answer to the end. A refusal may close the connection with body bytes unread,
/// which resets it: what arrived before the reset is the answer.
async fn answer(stream: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut buffer = [0u8; 16 * 1024];
    while let Ok(read @ 1..) = stream.read(&mut buffer).await {
        answer.extend_from_slice(&buffer[..read]);
    }
    String::from_utf8_lossy(&answer).into_owned()
}

/// The proxy's answer for a full disk: 507 `disk_full`, saying `says`.
fn assert_disk_full(answer: &str, says: &str) {
    assert!(answer.starts_with("HTTP/1.1 507"), "{answer}");
    assert!(answer.contains(r#""code":"disk_full""#), "{answer}");
    assert!(answer.contains(says), "{answer}");
}

/// One piece of a chunked body.
async fn send_chunk(stream: &mut TcpStream, bytes: &[u8]) {
    let mut framed = format!("{:x}\r\n", bytes.len()).into_bytes();
    framed.extend_from_slice(bytes);
    framed.extend_from_slice(b"\r\n");
    // The proxy may already have refused and closed: its answer says so.
    let _ = stream.write_all(&framed).await;
}

/// A posted video that fits, and its file gone after.
async fn posts_fine(proxy: &Proxy, uploads: &Path, size: usize) {
    let reply = proxy
        .post_video(
            "?privacy_level=SELF_ONLY&wait=true&force=true",
            mp4_video(size),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()["stage"], "done", "{}", reply.body);
    for _ in 0..100 {
        if leftovers(uploads).is_empty() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("the posted video stayed: {:?}", leftovers(uploads));
}

#[tokio::test]
async fn a_video_announced_too_big_for_the_disk_is_refused_before_a_byte_is_written() {
    let disk = Tmpfs::mount(DISK);
    let proxy = proxy_on(&disk).await;
    let uploads = disk.path().join("uploads");
    let free = disk.free();

    // A raw body whose Content-Length says 16 MiB: answered before the body is sent.
    let address = proxy.base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST /api/upload?privacy_level=SELF_ONLY HTTP/1.1\r\nhost: {address}\r\ncontent-type: video/mp4\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        16 * MIB
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    assert_disk_full(
        &answer(&mut stream).await,
        "it needs 16.8 MB and keeps 67.1 MB free",
    );
    assert_eq!(disk.free(), free, "nothing was written");
    assert_eq!(leftovers(&uploads), Vec::<String>::new());
    assert!(proxy.get("/api/jobs").await.json()["jobs"] == serde_json::json!([]));

    posts_fine(&proxy, &uploads, 2_000_000).await;
    assert!(proxy.sim.uploads().len() == 1, "only the one that fit");
}

#[tokio::test]
async fn a_disk_that_fills_while_the_video_arrives_refuses_it_and_keeps_nothing() {
    let disk = Tmpfs::mount(DISK);
    let proxy = proxy_on(&disk).await;
    let uploads = disk.path().join("uploads");
    posts_fine(&proxy, &uploads, 500_000).await;

    // A multipart body of unknown length (chunked): only the reserve is checked at first.
    let video = mp4_video((3 * MIB + MIB / 2) as usize);
    let address = proxy.base_url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let request = format!(
        "POST /api/upload?privacy_level=SELF_ONLY HTTP/1.1\r\nhost: {address}\r\ncontent-type: multipart/form-data; boundary={BOUNDARY}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let head = format!(
        "--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"full.mp4\"\r\ncontent-type: video/mp4\r\n\r\n"
    );
    send_chunk(&mut stream, head.as_bytes()).await;
    send_chunk(&mut stream, &video[..64 * 1024]).await;
    // The spool has begun: another writer now takes all but 3 MiB and a bit.
    for _ in 0..500 {
        if leftovers(&uploads)
            .iter()
            .any(|name| name.ends_with(".part"))
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        leftovers(&uploads)
            .iter()
            .any(|name| name.ends_with(".part")),
        "the spool never began: {:?}",
        leftovers(&uploads)
    );
    let filler = disk.fill_leaving(3 * MIB + 128 * 1024);
    send_chunk(&mut stream, &video[64 * 1024..]).await;
    send_chunk(&mut stream, format!("\r\n--{BOUNDARY}--\r\n").as_bytes()).await;
    let _ = stream.write_all(b"0\r\n\r\n").await;
    assert_disk_full(
        &answer(&mut stream).await,
        "The server's disk filled up while the video arrived",
    );
    assert_eq!(leftovers(&uploads), Vec::<String>::new(), "no partial file");
    assert_eq!(
        proxy.get("/api/jobs").await.json()["jobs"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "no job for the refused video"
    );

    // Room again: the next video goes, and the log on the same disk has only whole lines.
    std::fs::remove_file(filler).unwrap();
    posts_fine(&proxy, &uploads, 1_000_000).await;
    let log = std::fs::read_to_string(disk.path().join("posts.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}")))
        .collect();
    assert_eq!(
        lines
            .iter()
            .filter(|line| line["event"] == "post_created")
            .count(),
        2,
        "{log}"
    );
}
