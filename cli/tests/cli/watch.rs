//! `autoposter watch DIR`: a video written slowly is posted once, when complete; a refused one
//! is filed under failed/ with why; a watcher killed mid-way and started again posts nothing
//! twice.

use crate::support::{Background, Stack, clip_variant, eventually, names, sha256_hex};
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// Long enough for a watcher on a loaded 2-core machine; each wait ends as soon as it holds.
const PATIENCE: Duration = Duration::from_secs(60);

/// A watcher on `dir`, looking every 300 ms, posting privately unless a sidecar says otherwise.
fn watcher(stack: &Stack, dir: &Path) -> Background {
    let child = stack
        .cli()
        .args(["watch", "--interval", "300ms", "--privacy", "only-me"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the watcher starts");
    Background::new(child)
}

#[test]
fn a_video_written_slowly_is_posted_once_complete_and_filed() {
    let stack = Stack::start();
    let dir = tempfile::tempdir().unwrap();
    let looking = watcher(&stack, dir.path());
    std::fs::write(dir.path().join("slow.txt"), "Written slowly #autoposter\n").unwrap();
    let bytes = clip_variant("slow", 400_000);
    let mut file = std::fs::File::create(dir.path().join("slow.mp4")).unwrap();
    // Eight pieces, 200 ms apart: the watcher looks several times while the file grows.
    for piece in bytes.chunks(bytes.len() / 8 + 1) {
        file.write_all(piece).unwrap();
        file.flush().unwrap();
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(file);
    let posted = dir.path().join("posted");
    eventually(PATIENCE, "slow.mp4 in posted/", || {
        posted.join("slow.mp4").exists() && posted.join("slow.job.json").exists()
    });
    assert_eq!(
        names(&posted),
        ["slow.job.json", "slow.mp4", "slow.txt"],
        "the video, its sidecar and its record"
    );
    let uploads = stack.complete_uploads();
    assert_eq!(uploads.len(), 1, "posted once: {uploads:?}");
    assert_eq!(
        uploads[0].sha256.as_deref(),
        Some(sha256_hex(&bytes).as_str())
    );
    let info = uploads[0].post_info.as_ref().unwrap();
    assert_eq!(info.title.as_deref(), Some("Written slowly #autoposter"));
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(posted.join("slow.job.json")).unwrap()).unwrap();
    assert_eq!(record["publish_id"], uploads[0].publish_id.as_str());
    assert_eq!(record["status"], "PUBLISH_COMPLETE");
    // Nothing more is sent however long the watcher keeps looking.
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(stack.sim.uploads().len(), 1);
    let state = std::fs::read_to_string(dir.path().join(".autoposter-watch.json")).unwrap();
    assert!(!state.contains("slow.mp4"), "forgotten once filed: {state}");
    // Stopped as a service manager stops it (SIGTERM): between two looks, exit code 0.
    looking.terminate().expect_code(0);
}

#[test]
fn refused_videos_are_filed_under_failed_with_why() {
    let stack = Stack::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.mp4"), b"not a video at all").unwrap();
    std::fs::write(dir.path().join("typo.mp4"), clip_variant("typo", 0)).unwrap();
    std::fs::write(dir.path().join("typo.json"), r#"{"captoin": "oops"}"#).unwrap();
    std::fs::write(dir.path().join("inbox.mp4"), clip_variant("inbox", 0)).unwrap();
    std::fs::write(dir.path().join("inbox.json"), r#"{"mode": "inbox"}"#).unwrap();
    let _watcher = watcher(&stack, dir.path());
    let failed = dir.path().join("failed");
    let posted = dir.path().join("posted");
    eventually(PATIENCE, "two failed, one posted", || {
        failed.join("notes.error.txt").exists()
            && failed.join("typo.error.txt").exists()
            && posted.join("inbox.job.json").exists()
    });
    let why = std::fs::read_to_string(failed.join("notes.error.txt")).unwrap();
    assert!(why.contains("not_a_video"), "{why}");
    let why = std::fs::read_to_string(failed.join("typo.error.txt")).unwrap();
    assert!(why.contains("captoin"), "{why}");
    assert_eq!(
        names(&failed),
        [
            "notes.error.txt",
            "notes.mp4",
            "typo.error.txt",
            "typo.json",
            "typo.mp4"
        ]
    );
    let uploads = stack.complete_uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].mode, sim::Mode::Inbox);
}

#[test]
fn a_watcher_killed_mid_way_and_started_again_posts_nothing_twice() {
    let stack = Stack::start();
    let dir = tempfile::tempdir().unwrap();
    let videos: Vec<(String, Vec<u8>)> = (0..3)
        .map(|n| {
            (
                format!("v{n}.mp4"),
                clip_variant(&format!("restart-{n}"), 3_000_000),
            )
        })
        .collect();
    for (name, bytes) in &videos {
        std::fs::write(dir.path().join(name), bytes).unwrap();
    }
    let state = dir.path().join(".autoposter-watch.json");
    let first = watcher(&stack, dir.path());
    // Killed as soon as it has noted a video as being sent: mid-send, or just after.
    eventually(PATIENCE, "a video noted as sent", || {
        std::fs::read_to_string(&state).is_ok_and(|text| text.contains(".mp4"))
    });
    first.kill();
    let _second = watcher(&stack, dir.path());
    let posted = dir.path().join("posted");
    eventually(PATIENCE, "all three in posted/", || {
        (0..3).all(|n| posted.join(format!("v{n}.job.json")).exists())
    });
    let sent: BTreeSet<String> = stack
        .complete_uploads()
        .iter()
        .filter_map(|upload| upload.sha256.clone())
        .collect();
    let expected: BTreeSet<String> = videos.iter().map(|(_, bytes)| sha256_hex(bytes)).collect();
    assert_eq!(sent, expected);
    assert_eq!(stack.complete_uploads().len(), 3, "each once");
}

#[test]
fn a_video_the_proxy_took_before_a_crash_is_filed_not_sent_again() {
    let stack = Stack::start();
    let dir = tempfile::tempdir().unwrap();
    let bytes = clip_variant("crash-after-send", 0);
    let video = dir.path().join("sent.mp4");
    std::fs::write(&video, &bytes).unwrap();
    // The watcher sent it and the proxy took it, but the watcher died before noting the job:
    // the state file says "sent once, no job yet".
    stack
        .run(&["post", video.to_str().unwrap(), "--privacy", "only-me"])
        .expect_code(0);
    std::fs::write(
        dir.path().join(".autoposter-watch.json"),
        format!(
            r#"{{"files":{{"sent.mp4":{{"sha256":"{}","attempts":1}}}}}}"#,
            sha256_hex(&bytes)
        ),
    )
    .unwrap();
    let _watcher = watcher(&stack, dir.path());
    let posted = dir.path().join("posted");
    eventually(PATIENCE, "sent.mp4 in posted/", || {
        posted.join("sent.job.json").exists()
    });
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(posted.join("sent.job.json")).unwrap()).unwrap();
    assert_eq!(record["status"], "PUBLISH_COMPLETE", "{record}");
    assert_eq!(stack.sim.uploads().len(), 1, "never sent twice");
}
