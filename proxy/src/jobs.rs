//! Server-side jobs: one record per video `POST /api/upload` received
//! (`{uploads}/jobs/{job_id}.json`), saved atomically at each change of stage, so a restart
//! picks each unfinished one up where TikTok's record says it is (`poster.rs`). The records also
//! answer half the duplicate guard: a video whose SHA-256 is already on its way in an unfinished
//! job is refused unless forced (the other half, a video that already went, is the log's:
//! `log/sent.rs`).
//!
//! A record holds the upload URL (it carries TikTok's upload token), so it is written readable
//! by its owner only and never shown as is: the API sees [`JobInfo`].

use crate::atomic_file::write_atomic;
use crate::error::Error;
use crate::stop_switch::StopSwitch;
use protocol::wire::{JOBS_PATH, JobInfo, JobStage, PostFields, PostMode};
use protocol::{ChunkPlan, ContentType};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// One video to post, and how far it got.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    pub id: String,
    /// The spooled video; removed once posted, kept on failure unless `keep_failed` is off.
    pub file: PathBuf,
    /// The caller's name for it, for the log.
    pub file_name: String,
    pub video_size: u64,
    pub content_type: ContentType,
    /// Hex SHA-256 of the file, for the duplicate guard.
    pub sha256: String,
    pub mode: PostMode,
    pub post_info: PostFields,
    /// Who sent it (`operator::Caller::owner`), for the log's `by`.
    pub owner: String,
    /// How many times the upload URL died and a fresh init replaced it.
    #[serde(default)]
    pub reinits: u32,
    /// Inits that failed on the way (TikTok unreachable, silent, 5xx) and were retried.
    #[serde(default)]
    pub init_failures: u32,
    /// When the job may start (Unix seconds); `None` for at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish_at: Option<u64>,
    pub state: JobState,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
}

/// Where a job is. Each state holds what a restart needs to continue without asking twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stage", rename_all = "snake_case")]
pub enum JobState {
    /// No init yet, and none asked for: starts at `publish_at` (or at once). May be edited or
    /// cancelled.
    Queued,
    /// TikTok (or our own count of its per-minute limit) said "not now": init is tried again at
    /// `until` (Unix seconds). May be edited or cancelled.
    Waiting { until: u64, message: String },
    /// The job has started: its init is on its way to TikTok, and edits are refused. Written
    /// before the init call, so a restart knows one may have been made; TikTok has no way to
    /// look an init up, so the restart inits again (the first one, if it was made, holds no
    /// bytes and expires with its upload URL).
    Initializing,
    /// TikTok's init answered. `at` (Unix seconds) dates the upload URL's hour; within it a
    /// restart resyncs from TikTok's record and never inits again. `confirmed` is what TikTok
    /// had confirmed when last saved (a restart asks TikTok rather than trust it).
    Uploading {
        publish_id: String,
        upload_url: String,
        plan: ChunkPlan,
        at: u64,
        confirmed: u64,
    },
    /// Every byte is at TikTok; its status is polled.
    Uploaded { publish_id: String },
    /// TikTok's final status.
    Done {
        publish_id: String,
        status: String,
        post_ids: Vec<String>,
    },
    /// Stopped for good; the file stays on disk (unless `AUTOPOSTER_KEEP_FAILED=false`).
    Failed {
        publish_id: Option<String>,
        message: String,
    },
    /// `DELETE /api/jobs/{id}` came while chunks were going up: the upload is stopped (after
    /// the last chunk's PUT if its body had all gone), and TikTok is asked whether the last
    /// chunk got in first (`poster::settle_cancel`). Not final
    /// until it answers: the duplicate guard counts the job as on its way, and a restart asks
    /// again. If TikTok holds the whole video the job goes on as `Uploaded` (TikTok will
    /// publish it; nothing here can stop that), else it is `Cancelled`.
    Cancelling { publish_id: String },
    /// Cancelled by `DELETE /api/jobs/{id}`; the file is removed. An upload that had begun is
    /// abandoned: TikTok has no cancel for a file upload, and one that never gets its last
    /// chunk is never posted (its URL expires within the hour).
    Cancelled {
        publish_id: Option<String>,
        /// Set when TikTok could not be asked whether it held the whole video when the upload
        /// stopped. (Records from before `Cancelling` also set it when TikTok did.)
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    },
}

impl Job {
    pub fn publish_id(&self) -> Option<&str> {
        match &self.state {
            JobState::Queued | JobState::Waiting { .. } | JobState::Initializing => None,
            JobState::Uploading { publish_id, .. }
            | JobState::Cancelling { publish_id }
            | JobState::Uploaded { publish_id }
            | JobState::Done { publish_id, .. } => Some(publish_id),
            JobState::Failed { publish_id, .. } | JobState::Cancelled { publish_id, .. } => {
                publish_id.as_deref()
            }
        }
    }

    pub fn is_final(&self) -> bool {
        matches!(
            self.state,
            JobState::Done { .. } | JobState::Failed { .. } | JobState::Cancelled { .. }
        )
    }

    /// Whether the job has not started yet: edits and a plain cancel still apply.
    pub fn is_pending(&self) -> bool {
        matches!(self.state, JobState::Queued | JobState::Waiting { .. })
    }

    /// When a pending job may start (Unix seconds): its `publish_at`, and for a waiting one not
    /// before its `until` either. `None` once started.
    pub fn starts_at(&self) -> Option<u64> {
        let publish_at = self.publish_at.unwrap_or(0);
        match &self.state {
            JobState::Queued => Some(publish_at),
            JobState::Waiting { until, .. } => Some(publish_at.max(*until)),
            _ => None,
        }
    }

    /// What the API shows: everything but the upload URL.
    pub fn info(&self) -> JobInfo {
        let (stage, uploaded_bytes, status, post_ids, message) = match &self.state {
            JobState::Queued => (JobStage::Queued, 0, None, Vec::new(), None),
            JobState::Waiting { message, .. } => (
                JobStage::Waiting,
                0,
                None,
                Vec::new(),
                Some(message.clone()),
            ),
            JobState::Initializing => (JobStage::Initialized, 0, None, Vec::new(), None),
            JobState::Cancelled { message, .. } => {
                (JobStage::Cancelled, 0, None, Vec::new(), message.clone())
            }
            JobState::Cancelling { .. } => (
                JobStage::Uploading,
                0,
                None,
                Vec::new(),
                Some(CANCELLING_MESSAGE.to_owned()),
            ),
            JobState::Uploading { confirmed: 0, .. } => {
                (JobStage::Initialized, 0, None, Vec::new(), None)
            }
            JobState::Uploading { confirmed, .. } => {
                (JobStage::Uploading, *confirmed, None, Vec::new(), None)
            }
            JobState::Uploaded { .. } => (JobStage::Uploaded, self.video_size, None, vec![], None),
            JobState::Done {
                status, post_ids, ..
            } => (
                JobStage::Done,
                self.video_size,
                Some(status.clone()),
                post_ids.clone(),
                None,
            ),
            JobState::Failed { message, .. } => {
                (JobStage::Failed, 0, None, Vec::new(), Some(message.clone()))
            }
        };
        JobInfo {
            job_id: self.id.clone(),
            status_url: format!("{JOBS_PATH}/{}", self.id),
            stage,
            publish_id: self.publish_id().map(str::to_owned),
            mode: self.mode,
            file_name: self.file_name.clone(),
            video_size: self.video_size,
            sha256: self.sha256.clone(),
            uploaded_bytes,
            status,
            post_ids,
            message,
            publish_at: self.publish_at.map(rfc3339),
            until: match &self.state {
                JobState::Waiting { until, .. } => Some(rfc3339(*until)),
                _ => None,
            },
            caption: self.post_info.title.clone(),
            privacy_level: self.post_info.privacy_level.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
        }
    }
}

/// What a job shows while a cancel waits for TikTok's word ([`JobState::Cancelling`]).
const CANCELLING_MESSAGE: &str =
    "Cancelling: asking TikTok whether it already has the whole video.";

/// Whether `state` is a cancel's (waiting for TikTok's word or done), which only
/// [`Jobs::settle_cancel`] may overwrite.
fn is_cancel(state: Option<&JobState>) -> bool {
    matches!(
        state,
        Some(JobState::Cancelling { .. } | JobState::Cancelled { .. })
    )
}

/// A fresh job id: `job_` and 16 random hex digits (also the spooled file's name).
pub fn new_id() -> String {
    format!("job_{:016x}", rand::random::<u64>())
}

/// Whether `id` can be a job id, before it names a file.
pub fn is_job_id(id: &str) -> bool {
    id.strip_prefix("job_")
        .is_some_and(|hex| hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Now, as the records and the log write it.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(SystemTime::now()).to_string()
}

/// Unix seconds as RFC 3339 (UTC).
pub fn rfc3339(unix_secs: u64) -> String {
    humantime::format_rfc3339_seconds(SystemTime::UNIX_EPOCH + Duration::from_secs(unix_secs))
        .to_string()
}

/// Now, in Unix seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// Every job record, on disk and in memory; changes are announced to waiters.
#[derive(Debug)]
pub struct Jobs {
    dir: PathBuf,
    records: Mutex<HashMap<String, Job>>,
    /// Bumped after every saved change; `?wait=true`, the 202's publish_id and scheduled jobs
    /// wait on it.
    changed: watch::Sender<u64>,
    /// Held while a change is made in memory and written to disk, so records reach the disk in
    /// the order they changed (a cancel and the poster's next save cannot swap).
    writing: tokio::sync::Mutex<()>,
    /// The running job tasks, each stopped by its switch (`DELETE`, or the proxy stopping).
    running: Mutex<HashMap<String, StopSwitch>>,
}

impl Jobs {
    /// Opens `dir` (creating it) and reads every record in it. A record that cannot be read is
    /// reported and left alone.
    pub fn open(dir: &Path) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut records = HashMap::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let Some(id) = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .filter(|stem| is_job_id(stem))
            else {
                continue;
            };
            if path.extension().is_none_or(|ext| ext != "json") {
                continue;
            }
            match std::fs::read(&path)
                .map_err(|error| error.to_string())
                .and_then(|bytes| serde_json::from_slice::<Job>(&bytes).map_err(|e| e.to_string()))
            {
                Ok(job) if job.id == id => {
                    records.insert(job.id.clone(), job);
                }
                Ok(_) => tracing::warn!(path = %path.display(), "a job record under another id"),
                Err(error) => {
                    tracing::warn!(path = %path.display(), %error, "a job record could not be read")
                }
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            records: Mutex::new(records),
            changed: watch::channel(0).0,
            writing: tokio::sync::Mutex::new(()),
            running: Mutex::new(HashMap::new()),
        })
    }

    pub fn get(&self, id: &str) -> Option<Job> {
        self.lock().get(id).cloned()
    }

    /// Every job, newest first.
    pub fn list(&self) -> Vec<Job> {
        let mut jobs: Vec<Job> = self.lock().values().cloned().collect();
        jobs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        jobs
    }

    /// The jobs a restart must pick up again.
    pub fn unfinished(&self) -> Vec<Job> {
        self.list()
            .into_iter()
            .filter(|job| !job.is_final())
            .collect()
    }

    /// An unfinished job sending the video `sha256`, if there is one (a `Cancelling` one
    /// counts: TikTok may hold its video). A finished job is not looked at: whether its video
    /// went, and to which account, is the log's to say (its final status is logged before the
    /// job is saved final, so asking this first and the log next leaves no gap).
    pub fn in_flight(&self, sha256: &str) -> Option<Job> {
        in_flight(&self.lock(), sha256).cloned()
    }

    /// Adds a new job unless the same video is already on its way ([`Self::in_flight`]) and
    /// `force` is off; then that job is returned instead. Checked and added under one lock, so
    /// two copies sent at once cannot both pass.
    pub async fn add(&self, job: Job, force: bool) -> Result<(), Box<Job>> {
        {
            let mut records = self.lock();
            if !force && let Some(earlier) = in_flight(&records, &job.sha256) {
                return Err(Box::new(earlier.clone()));
            }
            records.insert(job.id.clone(), job.clone());
        }
        if let Err(error) = self.write(&job).await {
            tracing::error!(job = %job.id, %error, "could not save a new job record");
        }
        Ok(())
    }

    /// Saves `job`'s new state: on disk first (atomically), then in memory, then tells waiters.
    /// A record that cannot be written is reported; the job goes on (TikTok's record is the
    /// truth a restart resyncs from). A job cancelled meanwhile (`Cancelling` or `Cancelled`)
    /// is not overwritten: false then, and its task should stop.
    pub async fn save(&self, job: &mut Job) -> bool {
        self.keep(job, true, |saved| !is_cancel(saved)).await
    }

    /// Saves how a cancel that waited for TikTok's word ended (`job`'s state), as
    /// [`Jobs::save`] saves: a record that cannot be written is reported and the change still
    /// holds in memory, so the `DELETE` waiting for it answers. Only a `Cancelling` record is
    /// overwritten: false otherwise.
    pub async fn settle_cancel(&self, job: &mut Job) -> bool {
        self.keep(job, true, |saved| {
            matches!(saved, Some(JobState::Cancelling { .. }))
        })
        .await
    }

    /// [`Jobs::save`] in memory only, for progress a restart does not need (each chunk TikTok
    /// confirmed: a restart asks TikTok where the upload stands): the API shows it, waiters are
    /// told, a cancel is noticed, and the disk is spared a write and two `fsync`s per chunk.
    pub async fn note(&self, job: &mut Job) -> bool {
        self.keep(job, false, |saved| !is_cancel(saved)).await
    }

    /// Keeps `job` if `may_replace` allows it over the record's state as it is (`None`: no
    /// record), in memory and, if `durable`, on disk.
    async fn keep(
        &self,
        job: &mut Job,
        durable: bool,
        may_replace: impl FnOnce(Option<&JobState>) -> bool,
    ) -> bool {
        let _writing = self.writing.lock().await;
        if !may_replace(self.get(&job.id).map(|saved| saved.state).as_ref()) {
            return false;
        }
        job.updated_at = now_rfc3339();
        if durable && let Err(error) = self.write(job).await {
            tracing::error!(job = %job.id, %error, "could not save a job record");
        }
        self.lock().insert(job.id.clone(), job.clone());
        self.changed.send_modify(|count| *count += 1);
        true
    }

    /// Changes job `id` with `change` and saves it, both under the write lock, so the change is
    /// decided on the record as it is (a `PATCH` against the poster starting the job). An
    /// error from `change` leaves the record as it was.
    pub async fn update(
        &self,
        id: &str,
        change: impl FnOnce(&mut Job) -> Result<(), Error>,
    ) -> Result<Job, Error> {
        let _writing = self.writing.lock().await;
        let mut job = self.get(id).ok_or(Error::UnknownJob)?;
        change(&mut job)?;
        job.updated_at = now_rfc3339();
        if let Err(error) = self.write(&job).await {
            return Err(Error::Internal(format!("saving job {id}: {error}")));
        }
        self.lock().insert(job.id.clone(), job.clone());
        self.changed.send_modify(|count| *count += 1);
        Ok(job)
    }

    /// A receiver told of every saved change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Registers job `id`'s task; its switch ends the task (cut by `stopping` too).
    pub fn track(&self, id: &str, stopping: &CancellationToken) -> StopSwitch {
        let switch = StopSwitch::new(stopping.child_token());
        self.running_lock().insert(id.to_owned(), switch.clone());
        switch
    }

    /// Forgets job `id`'s task once it ended.
    pub fn untrack(&self, id: &str) {
        self.running_lock().remove(id);
    }

    /// Stops job `id`'s task, if one runs: at once, or once its last chunk's PUT ends if that
    /// body has all gone ([`StopSwitch::cancel`]).
    pub fn stop(&self, id: &str) {
        if let Some(switch) = self.running_lock().remove(id) {
            switch.cancel();
        }
    }

    fn running_lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, StopSwitch>> {
        // Inserts and removals only: a poisoned map is still whole.
        self.running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until job `id` satisfies `done` (or is gone); returns it then.
    pub async fn wait_for(&self, id: &str, done: impl Fn(&Job) -> bool) -> Option<Job> {
        let mut changed = self.changed.subscribe();
        loop {
            let job = self.get(id)?;
            if done(&job) {
                return Some(job);
            }
            // The sender lives as long as `self`.
            changed.changed().await.ok()?;
        }
    }

    async fn write(&self, job: &Job) -> io::Result<()> {
        let path = self.dir.join(format!("{}.json", job.id));
        // Job records are plain structs of strings and numbers.
        let bytes = serde_json::to_vec_pretty(job).expect("a job record always serializes");
        tokio::task::spawn_blocking(move || write_atomic(&path, &bytes))
            .await
            .map_err(io::Error::other)?
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Job>> {
        // Inserts and clones only: a poisoned map is still whole.
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// An unfinished job among `records` sending the video `sha256`.
fn in_flight<'a>(records: &'a HashMap<String, Job>, sha256: &str) -> Option<&'a Job> {
    records
        .values()
        .find(|job| job.sha256 == sha256 && !job.is_final())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(sha256: &str) -> Job {
        Job {
            id: new_id(),
            file: PathBuf::from("uploads/x.mp4"),
            file_name: "x.mp4".into(),
            video_size: 10,
            content_type: ContentType::Mp4,
            sha256: sha256.into(),
            mode: PostMode::Inbox,
            post_info: PostFields::default(),
            owner: "local".into(),
            reinits: 0,
            init_failures: 0,
            publish_at: None,
            state: JobState::Queued,
            created_at: now_rfc3339(),
            updated_at: now_rfc3339(),
        }
    }

    #[tokio::test]
    async fn records_survive_a_reopen_and_guard_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = Jobs::open(dir.path()).unwrap();
        let mut first = job("aa");
        jobs.add(first.clone(), false).await.unwrap();
        let refused = jobs.add(job("aa"), false).await.unwrap_err();
        assert_eq!(refused.id, first.id);
        jobs.add(job("aa"), true).await.unwrap();
        first.state = JobState::Uploading {
            publish_id: "p1".into(),
            upload_url: "http://127.0.0.1:1/u".into(),
            plan: ChunkPlan::new(10).unwrap(),
            at: unix_now(),
            confirmed: 0,
        };
        jobs.save(&mut first).await;

        let reopened = Jobs::open(dir.path()).unwrap();
        assert_eq!(reopened.list().len(), 2);
        assert_eq!(reopened.get(&first.id).unwrap(), first);
        assert_eq!(
            reopened
                .get(&first.id)
                .unwrap()
                .info()
                .publish_id
                .as_deref(),
            Some("p1")
        );
        assert!(!format!("{:?}", first.info()).contains("127.0.0.1:1"));

        // A failed job does not block the same video.
        first.state = JobState::Failed {
            publish_id: None,
            message: "no".into(),
        };
        let mut other = reopened.get(&first.id).unwrap();
        other.state = first.state.clone();
        reopened.save(&mut other).await;
        assert_eq!(reopened.unfinished().len(), 1);
    }

    #[tokio::test]
    async fn a_cancel_is_never_overwritten_by_the_posters_next_save() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = Jobs::open(dir.path()).unwrap();
        let mut running = job("bb");
        jobs.add(running.clone(), false).await.unwrap();
        let cancelled = jobs
            .update(&running.id, |job| {
                job.state = JobState::Cancelled {
                    publish_id: None,
                    message: None,
                };
                Ok(())
            })
            .await
            .unwrap();
        running.state = JobState::Initializing;
        assert!(!jobs.save(&mut running).await, "the poster is told to stop");
        assert_eq!(jobs.get(&running.id).unwrap().state, cancelled.state);
        let reopened = Jobs::open(dir.path()).unwrap();
        assert_eq!(reopened.get(&running.id).unwrap().state, cancelled.state);
        assert!(reopened.unfinished().is_empty());

        // A cancel waiting for TikTok's word is not overwritten either, and until that word
        // the job counts as on its way (a restart asks TikTok again).
        let mut uploading = job("cc");
        jobs.add(uploading.clone(), false).await.unwrap();
        jobs.update(&uploading.id, |job| {
            job.state = JobState::Cancelling {
                publish_id: "p2".into(),
            };
            Ok(())
        })
        .await
        .unwrap();
        uploading.state = JobState::Uploaded {
            publish_id: "p2".into(),
        };
        assert!(!jobs.save(&mut uploading).await);
        assert_eq!(
            jobs.in_flight("cc").map(|job| job.id),
            Some(uploading.id.clone())
        );
        let reopened = Jobs::open(dir.path()).unwrap();
        assert_eq!(reopened.unfinished().len(), 1);
        assert_eq!(
            reopened
                .get(&uploading.id)
                .unwrap()
                .info()
                .publish_id
                .as_deref(),
            Some("p2")
        );
    }

    /// Only a cancel waiting for TikTok's word is settled, and its end holds even when the
    /// record cannot be written: the `DELETE` waiting for it must hear it.
    #[tokio::test]
    async fn a_cancel_is_settled_once_even_when_its_record_cannot_be_written() {
        let dir = tempfile::tempdir().unwrap();
        let jobs = Jobs::open(&dir.path().join("jobs")).unwrap();
        let mut queued = job("dd");
        jobs.add(queued.clone(), false).await.unwrap();
        queued.state = JobState::Cancelled {
            publish_id: None,
            message: None,
        };
        assert!(!jobs.settle_cancel(&mut queued).await, "not cancelling");
        assert_eq!(jobs.get(&queued.id).unwrap().state, JobState::Queued);

        let mut cancelling = job("ee");
        cancelling.state = JobState::Cancelling {
            publish_id: "p3".into(),
        };
        jobs.add(cancelling.clone(), false).await.unwrap();
        let changed = jobs.subscribe();
        std::fs::remove_dir_all(dir.path().join("jobs")).unwrap();
        cancelling.state = JobState::Uploaded {
            publish_id: "p3".into(),
        };
        assert!(jobs.settle_cancel(&mut cancelling).await);
        assert_eq!(jobs.get(&cancelling.id).unwrap().state, cancelling.state);
        assert!(changed.has_changed().unwrap(), "waiters are told");
        assert!(!jobs.settle_cancel(&mut cancelling).await, "settled once");
    }

    #[test]
    fn job_ids() {
        assert!(is_job_id(&new_id()));
        assert!(!is_job_id("job_../../etc/pas"));
        assert!(!is_job_id("job_1234"));
    }
}
