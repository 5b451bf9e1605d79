//! `post`, `jobs`, `cancel`, `history`: what they print and how they exit.

use crate::support::{Background, Run, Stack, clip_variant, eventually, sha256_hex};
use autoposter::exit;
use protocol::wire::{History, JobList};
use sim::{Fault, SimOptions};
use std::process::Stdio;
use std::time::Duration;

/// Writes `bytes` as `name` in a fresh folder; the folder lives as long as the guard.
fn video(name: &str, bytes: &[u8]) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    (dir, path.to_string_lossy().into_owned())
}

fn code(code: u8) -> i32 {
    i32::from(code)
}

/// Runs `post FILE --privacy only-me --wait --poll 50ms`, plus `extra`, to its end.
fn post_and_wait(stack: &Stack, file: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "post",
        file,
        "--privacy",
        "only-me",
        "--wait",
        "--poll",
        "50ms",
    ];
    args.extend_from_slice(extra);
    stack.run(&args)
}

#[test]
fn post_wait_ends_published_with_the_sim_holding_the_bytes() {
    let stack = Stack::start();
    let bytes = clip_variant("post-wait", 0);
    let (_dir, file) = video("clip.mp4", &bytes);
    let run = post_and_wait(
        &stack,
        &file,
        &["--caption", "From the CLI #autoposter", "--no-duet"],
    )
    .expect_code(code(exit::OK));
    assert!(run.stdout.contains("PUBLISH_COMPLETE"), "{run}");
    assert!(run.stdout.contains("Posted to TikTok."), "{run}");
    let uploads = stack.complete_uploads();
    assert_eq!(uploads.len(), 1, "{uploads:?}");
    let upload = &uploads[0];
    assert_eq!(upload.sha256.as_deref(), Some(sha256_hex(&bytes).as_str()));
    let info = upload.post_info.as_ref().expect("a direct post");
    assert_eq!(info.title.as_deref(), Some("From the CLI #autoposter"));
    assert_eq!(info.privacy_level.as_str(), "SELF_ONLY");
    assert!(info.disable_duet && !info.disable_comment);
    assert!(run.stdout.contains(&upload.publish_id), "{run}");
    // The API token is the CLI's own secret: it is never printed.
    assert!(!run.stdout.contains(&stack.token) && !run.stderr.contains(&stack.token));
}

#[test]
fn post_without_wait_answers_with_the_job_and_inbox_mode_is_sent() {
    let stack = Stack::start();
    let (_dir, file) = video("draft.mp4", &clip_variant("inbox", 0));
    let run = stack
        .run(&["post", &file, "--mode", "inbox", "--json"])
        .expect_code(code(exit::OK));
    let job: protocol::wire::JobInfo = serde_json::from_str(run.stdout.trim()).expect("JSON");
    assert_eq!(job.mode, protocol::wire::PostMode::Inbox);
    assert_eq!(job.file_name, "draft.mp4");
    assert!(job.publish_id.is_some(), "{run}");
}

#[test]
fn each_kind_of_failure_has_its_exit_code() {
    let stack = Stack::start();
    // Not a video by its first bytes, whatever its name says.
    let (_dir, text) = video("notes.mp4", b"these are my notes, not a video");
    let run = stack
        .run(&["post", &text, "--privacy", "only-me"])
        .expect_code(code(exit::REFUSED));
    assert!(run.stderr.contains("not_a_video"), "{run}");
    // A direct post needs a privacy level.
    let (_dir2, file) = video("clip.mp4", &clip_variant("no-privacy", 0));
    let run = stack.run(&["post", &file]).expect_code(code(exit::REFUSED));
    assert!(run.stderr.contains("privacy_level_missing"), "{run}");
    // A wrong token, and none at all.
    let run = stack
        .cli()
        .args(["post", &file, "--privacy", "only-me"])
        .env("AUTOPOSTER_TOKEN", "apt_not-a-token-of-this-proxy")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(code(exit::CREDENTIALS)));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("proxy token create"), "{stderr}");
    assert!(!stderr.contains("apt_not-a-token"), "{stderr}");
    let run = stack
        .cli()
        .args(["jobs"])
        .env_remove("AUTOPOSTER_TOKEN")
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(code(exit::CREDENTIALS)));
    // Nobody listening.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let run = stack
        .cli()
        .args(["jobs", "--url", &closed])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(code(exit::UNREACHABLE)));
    // A flag clap does not know, and a missing file.
    stack
        .run(&["post", &file, "--privacy", "everyone"])
        .expect_code(code(exit::USAGE));
    stack
        .run(&["post", "/nonexistent/clip.mp4", "--privacy", "only-me"])
        .expect_code(code(exit::LOCAL));
    assert!(stack.complete_uploads().is_empty());
}

#[test]
fn the_same_video_twice_is_a_duplicate_unless_forced() {
    let stack = Stack::start();
    let (_dir, file) = video("clip.mp4", &clip_variant("twice", 0));
    let first = post_and_wait(&stack, &file, &[]).expect_code(code(exit::OK));
    let job_id = first.stdout.split_whitespace().next().unwrap().to_owned();
    let run = stack
        .run(&["post", &file, "--privacy", "only-me"])
        .expect_code(code(exit::DUPLICATE));
    assert!(
        run.stderr.contains(&job_id),
        "the earlier job is named\n{run}"
    );
    post_and_wait(&stack, &file, &["--force"]).expect_code(code(exit::OK));
    assert_eq!(stack.complete_uploads().len(), 2);
}

#[test]
fn tiktok_failing_the_post_exits_7_with_its_reason() {
    let stack = Stack::start();
    stack.sim.script(Fault::FailPublish {
        reason: "file_format_check_failed".into(),
    });
    let (_dir, file) = video("clip.mp4", &clip_variant("fails", 0));
    let run = post_and_wait(&stack, &file, &[]).expect_code(code(exit::POST_FAILED));
    assert!(run.stderr.contains("was not posted"), "{run}");
    assert!(
        run.stderr.contains("MP4"),
        "TikTok's reason, for people\n{run}"
    );
}

#[test]
fn wait_rides_through_a_restart_of_the_proxy() {
    let mut stack = Stack::start_with(SimOptions {
        processing_delay: Duration::from_secs(2),
        ..SimOptions::default()
    });
    let (_dir, file) = video("clip.mp4", &clip_variant("proxy-restart", 0));
    let waiting = Background::new(
        stack
            .cli()
            .args([
                "post",
                &file,
                "--privacy",
                "only-me",
                "--wait",
                "--poll",
                "100ms",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    eventually(Duration::from_secs(30), "TikTok holding every byte", || {
        stack.complete_uploads().len() == 1
    });
    // The deploy restarts the proxy while TikTok is still processing the video.
    stack.restart_proxy();
    let run = waiting.finish().expect_code(code(exit::OK));
    assert!(run.stdout.contains("PUBLISH_COMPLETE"), "{run}");
    assert_eq!(stack.sim.uploads().len(), 1);
}

#[test]
fn jobs_and_history_list_what_was_posted() {
    let stack = Stack::start();
    let (_dir, file) = video("listed.mp4", &clip_variant("listed", 0));
    let posted = post_and_wait(&stack, &file, &["--caption", "Listed"]).expect_code(code(exit::OK));
    let job_id = posted.stdout.split_whitespace().next().unwrap().to_owned();
    let publish_id = stack.complete_uploads()[0].publish_id.clone();

    let jobs = stack.run(&["jobs"]).expect_code(code(exit::OK));
    let mut lines = jobs.stdout.lines();
    assert!(lines.next().unwrap().starts_with("JOB "), "{jobs}");
    let row = lines.next().unwrap();
    for cell in [job_id.as_str(), "done", "PUBLISH_COMPLETE", "listed.mp4"] {
        assert!(row.contains(cell), "{cell} in {row:?}");
    }
    let list: JobList =
        serde_json::from_str(&stack.run(&["jobs", "--json"]).expect_code(0).stdout).unwrap();
    assert_eq!(list.jobs.len(), 1);

    let history = stack.run(&["history"]).expect_code(code(exit::OK));
    assert!(history.stdout.starts_with("STARTED "), "{history}");
    let row = history.stdout.lines().nth(1).unwrap();
    for cell in [
        publish_id.as_str(),
        "PUBLISH_COMPLETE",
        "listed.mp4",
        "Listed",
    ] {
        assert!(row.contains(cell), "{cell} in {row:?}");
    }
    let page: History = serde_json::from_str(
        &stack
            .run(&["history", "--json", "--limit", "1"])
            .expect_code(0)
            .stdout,
    )
    .unwrap();
    assert_eq!(page.posts.len(), 1);
}

#[test]
fn cancelling_an_unknown_job_is_refused() {
    let stack = Stack::start();
    let run = stack
        .run(&["cancel", "job_00000000deadbeef"])
        .expect_code(code(exit::REFUSED));
    assert!(
        run.stderr.contains("DELETE /api/jobs/job_00000000deadbeef"),
        "{run}"
    );
}

#[test]
fn help_documents_the_exit_codes() {
    let stack = Stack::start();
    for args in [&["--help"][..], &["post", "--help"], &["watch", "--help"]] {
        let run = stack.run(args).expect_code(0);
        assert!(run.stdout.contains("Exit codes:"), "{run}");
        assert!(run.stdout.contains("6  duplicate"), "{run}");
    }
}

/// `--at` queues the job (`publish_at`), and `cancel` drops it (`DELETE /api/jobs/{id}`).
#[test]
fn a_scheduled_post_can_be_cancelled() {
    let stack = Stack::start();
    let (_dir, file) = video("later.mp4", &clip_variant("later", 0));
    let run = stack
        .run(&[
            "post",
            &file,
            "--privacy",
            "only-me",
            "--at",
            "1h",
            "--json",
        ])
        .expect_code(code(exit::OK));
    let job: protocol::wire::JobInfo = serde_json::from_str(run.stdout.trim()).expect("JSON");
    assert!(job.publish_id.is_none(), "not started: {run}");
    let run = stack
        .run(&["cancel", &job.job_id])
        .expect_code(code(exit::OK));
    assert!(run.stdout.contains("cancelled"), "{run}");
    let jobs = stack.run(&["jobs"]).expect_code(0);
    assert!(jobs.stdout.contains("cancelled"), "{jobs}");
    assert!(stack.sim.uploads().is_empty());
}
