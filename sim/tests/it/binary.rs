//! The `sim` program itself, as the demo runs it: its flags reach the simulator it serves, a
//! bad flag is refused by name, and Ctrl-C (SIGINT) stops it cleanly.

use serde_json::{Value, json};
use sim::Endpoint;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};

/// The program, on an ephemeral port, with `args`.
fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sim"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the sim binary starts")
}

/// The API base and token from the program's first line
/// (`TikTok simulator on BASE — use TIKTOK_API_BASE=BASE TIKTOK_ACCESS_TOKEN=TOKEN`).
fn announced(child: &mut Child) -> (String, String) {
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    let value = |key: &str| {
        let start = line
            .find(key)
            .unwrap_or_else(|| panic!("{key} in {line:?}"))
            + key.len();
        line[start..].split_whitespace().next().unwrap().to_owned()
    };
    (value("TIKTOK_API_BASE="), value("TIKTOK_ACCESS_TOKEN="))
}

/// Stops the program as Ctrl-C does and returns how it ended.
fn interrupt(child: Child) -> Output {
    let pid = child.id().to_string();
    let sent = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(sent.success(), "kill -INT {pid}");
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn the_flags_reach_the_creator_tiktok_describes() {
    let mut child = spawn(&[
        "--token",
        "act.flagged",
        "--nickname",
        "Flag Test",
        "--private-account",
        "--max-duration",
        "60",
        "--comment-disabled",
        // Parsed here; what they do is the library's tests' (chunk_rule.rs, flow.rs).
        "--processing-delay",
        "0.5",
        "--chunk-rule",
        "smaller-last",
        "--daily-post-cap",
        "3",
    ]);
    let (base, token) = announced(&mut child);
    assert_eq!(token, "act.flagged");
    let reply = reqwest::Client::new()
        .post(format!("{base}{}", Endpoint::CreatorInfo.path()))
        .bearer_auth(&token)
        .header("content-type", "application/json; charset=UTF-8")
        .body(json!({}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let body: Value = serde_json::from_str(&reply.text().await.unwrap()).unwrap();
    let creator = &body["data"];
    assert_eq!(creator["creator_nickname"], "Flag Test", "{body}");
    assert_eq!(creator["max_video_post_duration_sec"], 60, "{body}");
    assert_eq!(creator["comment_disabled"], true, "{body}");
    // A private account: followers instead of everyone, and no Duet or Stitch.
    assert_eq!(
        creator["privacy_level_options"],
        json!(["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]),
        "{body}"
    );
    assert_eq!(creator["duet_disabled"], true, "{body}");
    assert_eq!(creator["stitch_disabled"], true, "{body}");
    let ended = interrupt(child);
    assert!(
        ended.status.success(),
        "Ctrl-C ends it cleanly: {:?}",
        ended.status
    );
}

#[test]
fn a_bad_flag_is_refused_by_name() {
    let refused = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_sim"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        String::from_utf8(out.stderr).unwrap()
    };
    let rule = refused(&["--chunk-rule", "sometimes"]);
    assert!(
        rule.contains("expected one of documented, smaller-last, whole-only"),
        "{rule}"
    );
    let delay = refused(&["--processing-delay", "soon"]);
    assert!(delay.contains("--processing-delay"), "{delay}");
    let listen = refused(&["--listen", "nowhere"]);
    assert!(listen.contains("--listen"), "{listen}");
}
