//! What the CLI prints: one line per job, and the tables of `jobs` and `history`. Plain
//! functions from the proxy's answers to text, so they are tested without a terminal.

use protocol::PublishStatus;
use protocol::media::human_bytes;
use protocol::wire::{History, JobInfo, JobList};

/// One line about a job: its id, stage, and what it is waiting for or how it ended.
pub fn job_line(job: &JobInfo) -> String {
    let stage = stage_name(job);
    let mut line = format!("{}  {stage}", job.job_id);
    match stage.as_str() {
        "uploading" if job.video_size > 0 => line.push_str(&format!(
            "  {} of {} ({}%)",
            human_bytes(job.uploaded_bytes),
            human_bytes(job.video_size),
            job.uploaded_bytes * 100 / job.video_size
        )),
        "uploaded" => line.push_str("  TikTok is processing the video"),
        "done" => line.push_str(&format!("  {}", job.status.as_deref().unwrap_or("-"))),
        // A job TikTok asked to wait (a rate limit, the daily cap) says why and until when.
        "waiting" => {
            if let Some(message) = &job.message {
                line.push_str(&format!("  {message}"));
            }
        }
        _ => {}
    }
    if let Some(publish_id) = &job.publish_id {
        line.push_str(&format!("  publish_id {publish_id}"));
    }
    line
}

/// TikTok's final word on a finished job, for people.
pub fn outcome(job: &JobInfo) -> String {
    match (&job.status, &job.message) {
        (Some(status), _) => {
            let said = PublishStatus::parse(status);
            let mut text = format!("{} {}", status, said.user_message());
            if !job.post_ids.is_empty() {
                text.push_str(&format!(" Post id: {}.", job.post_ids.join(", ")));
            }
            text
        }
        (None, Some(message)) => format!("{}: {message}", stage_name(job)),
        (None, None) => stage_name(job),
    }
}

/// `autoposter jobs`: newest first.
pub fn jobs_table(list: &JobList) -> String {
    if list.jobs.is_empty() {
        return "No jobs.\n".into();
    }
    let rows = list.jobs.iter().map(|job| {
        vec![
            job.job_id.clone(),
            stage_name(job),
            job.status.clone().unwrap_or_else(|| "-".into()),
            human_bytes(job.video_size),
            short_time(&job.created_at),
            job.file_name.clone(),
        ]
    });
    table(
        &["JOB", "STAGE", "STATUS", "SIZE", "RECEIVED", "FILE"],
        rows,
    )
}

/// `autoposter history`: newest first.
pub fn history_table(history: &History) -> String {
    if history.posts.is_empty() {
        return "No posts yet.\n".into();
    }
    let rows = history.posts.iter().map(|post| {
        let caption = post.caption.clone().unwrap_or_default();
        vec![
            short_time(&post.created_at),
            post.status.clone(),
            post.publish_id.clone(),
            post.file_name.clone().unwrap_or_default(),
            shorten(&caption.replace('\n', " "), 40),
        ]
    });
    table(
        &["STARTED", "STATUS", "PUBLISH_ID", "FILE", "CAPTION"],
        rows,
    )
}

/// The stage as the wire spells it (`uploading`, `done`, …).
fn stage_name(job: &JobInfo) -> String {
    serde_json::to_value(job.stage)
        .ok()
        .and_then(|value| value.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `2026-12-02T00:43:26.980Z` as `2026-12-02 00:43:26`.
fn short_time(rfc3339: &str) -> String {
    rfc3339.get(..19).unwrap_or(rfc3339).replace('T', " ")
}

fn shorten(text: &str, max_chars: usize) -> String {
    if text.chars().count() <= max_chars {
        return text.to_owned();
    }
    let mut short: String = text.chars().take(max_chars - 1).collect();
    short.push('…');
    short
}

/// Columns padded to their widest cell, two spaces apart; the last column is not padded.
fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut all: Vec<Vec<String>> = vec![header.iter().map(|h| (*h).to_owned()).collect()];
    all.extend(rows);
    let mut widths = vec![0; header.len()];
    for row in &all {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    for row in &all {
        let last = row.len() - 1;
        for (index, cell) in row.iter().enumerate() {
            if index == last {
                text.push_str(cell);
            } else {
                text.push_str(cell);
                let pad = widths[index] - cell.chars().count() + 2;
                text.push_str(&" ".repeat(pad));
            }
        }
        let trimmed = text.trim_end().len();
        text.truncate(trimmed);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::wire::JobStage;

    /// A job as the proxy sends it, built from JSON so fields the proxy adds later (with
    /// defaults) need no change here.
    fn job(stage: JobStage) -> JobInfo {
        let mut job: JobInfo = serde_json::from_value(serde_json::json!({
            "job_id": "job_0123456789abcdef",
            "status_url": "/api/jobs/job_0123456789abcdef",
            "stage": "queued",
            "publish_id": "v_pub_file~v2-1.7",
            "mode": "direct",
            "file_name": "clip.mp4",
            "video_size": 2_000_000,
            "sha256": "ab",
            "uploaded_bytes": 500_000,
            "created_at": "2026-12-02T00:43:26.980Z",
            "updated_at": "2026-12-02T00:43:27.000Z",
        }))
        .expect("a job");
        job.stage = stage;
        job
    }

    #[test]
    fn lines() {
        assert_eq!(
            job_line(&job(JobStage::Uploading)),
            "job_0123456789abcdef  uploading  500 KB of 2.0 MB (25%)  publish_id v_pub_file~v2-1.7"
        );
        let mut done = job(JobStage::Done);
        done.status = Some("PUBLISH_COMPLETE".into());
        done.post_ids = vec!["7400000000000000001".into()];
        assert_eq!(
            outcome(&done),
            "PUBLISH_COMPLETE Posted to TikTok. Post id: 7400000000000000001."
        );
        let mut failed = job(JobStage::Failed);
        failed.message = Some("TikTok could not read the video format.".into());
        assert_eq!(
            outcome(&failed),
            "failed: TikTok could not read the video format."
        );
    }

    #[test]
    fn tables_line_up() {
        let mut second = job(JobStage::Queued);
        second.job_id = "job_1".into();
        second.file_name = "a much longer name.mp4".into();
        let text = jobs_table(&JobList {
            jobs: vec![job(JobStage::Done), second],
        });
        assert_eq!(
            text,
            "JOB                   STAGE   STATUS  SIZE    RECEIVED             FILE\n\
             job_0123456789abcdef  done    -       2.0 MB  2026-12-02 00:43:26  clip.mp4\n\
             job_1                 queued  -       2.0 MB  2026-12-02 00:43:26  a much longer name.mp4\n"
        );
        assert_eq!(jobs_table(&JobList { jobs: vec![] }), "No jobs.\n");
    }
}
