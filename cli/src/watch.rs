//! `autoposter watch DIR`: posts each video dropped into a folder once it is completely
//! written, then files it under `DIR/posted/` or `DIR/failed/`.
//!
//! A video is ready when its size and modification time (and its sidecars') are the same at
//! two looks one interval apart, so a file still being copied is never sent half-way. Its
//! details come from the watcher's flags, then `NAME.txt` (the caption), then `NAME.json` (the
//! upload form's fields), each over the one before.
//!
//! Exactly once, across restarts: a state file in `DIR` (written atomically) notes a video
//! before it is sent and its job once the proxy took it. A video noted but without a job may
//! have reached the proxy before the watcher stopped; it is sent again, and the proxy's
//! duplicate guard answers 409 if it had: the watcher then finds that job by the video's
//! SHA-256 and follows it instead. A job is followed until TikTok's final word, which decides
//! `posted/` or `failed/`.
//!
//! The folder is polled rather than watched with inotify (`notify`): readiness needs two looks
//! apart anyway, a poll sees files that arrived while the watcher was down, and it works the
//! same on network shares, where change events are unreliable.

use crate::client::{Client, is_final, is_posted};
use crate::details::PostDetails;
use crate::error::{Error, exit};
use indicatif::ProgressBar;
use protocol::ContentType;
use protocol::wire::JobInfo;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Time between two looks at the folder (and so the least time a file must stay unchanged).
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(3);

/// The watcher's notes, in the watched folder; a dotfile, so it is never taken for a video.
pub const STATE_FILE: &str = ".autoposter-watch.json";

/// Where posted videos go, with their sidecars and a `NAME.job.json` record.
pub const POSTED_DIR: &str = "posted";

/// Where videos that could not be posted go, with a `NAME.error.txt` saying why.
pub const FAILED_DIR: &str = "failed";

/// What `watch` is told.
#[derive(Debug, Clone)]
pub struct WatchConfig {
    /// The folder to watch.
    pub dir: PathBuf,
    /// See [`DEFAULT_INTERVAL`].
    pub interval: Duration,
    /// The post's details for videos without sidecars (and under those with).
    pub defaults: PostDetails,
}

/// Watches until `shutdown` completes. Returns early only when nothing could work: the proxy
/// refused the credentials, or the state file cannot be written.
pub async fn watch(
    client: &Client,
    config: &WatchConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), Error> {
    let mut watcher = Watcher::open(client, config)?;
    tokio::pin!(shutdown);
    loop {
        watcher.tick().await?;
        tokio::select! {
            () = tokio::time::sleep(config.interval) => {}
            () = &mut shutdown => return Ok(()),
        }
    }
}

/// The state file's contents: the videos sent or being sent, by file name.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    files: BTreeMap<String, Entry>,
}

/// One video the watcher has started to send.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Entry {
    /// Hex SHA-256 of the file, to find its job by after a restart.
    sha256: String,
    /// How many times it was sent (the count is saved before each send).
    attempts: u32,
    /// The proxy's job, once it took the video.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    job_id: Option<String>,
}

/// A file's size and modification time, and its sidecars': equal at two looks means ready.
type Signature = Vec<Option<(u64, SystemTime)>>;

/// How a video's stay in the folder ends.
enum Outcome {
    /// Posted (or in the inbox): the job, or the proxy's word that it had it already.
    Posted(Record),
    /// Not posted; why, for people.
    Failed(String),
}

/// `NAME.job.json` in `posted/`: what became of the video.
#[derive(Debug, Serialize)]
struct Record {
    #[serde(skip_serializing_if = "Option::is_none")]
    job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    publish_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    post_ids: Vec<String>,
    sha256: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

impl Record {
    fn of(job: &JobInfo) -> Self {
        Self {
            job_id: Some(job.job_id.clone()),
            publish_id: job.publish_id.clone(),
            status: job.status.clone(),
            post_ids: job.post_ids.clone(),
            sha256: job.sha256.clone(),
            note: None,
        }
    }
}

struct Watcher<'a> {
    client: &'a Client,
    config: &'a WatchConfig,
    state: State,
    /// What each video looked like at the previous look.
    seen: HashMap<String, Signature>,
}

impl<'a> Watcher<'a> {
    fn open(client: &'a Client, config: &'a WatchConfig) -> Result<Self, Error> {
        let path = config.dir.join(STATE_FILE);
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
                Error::local(
                    format!("reading {}", path.display()),
                    std::io::Error::new(std::io::ErrorKind::InvalidData, error),
                )
            })?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(error) => return Err(Error::local(format!("reading {}", path.display()), error)),
        };
        if !config.dir.is_dir() {
            return Err(Error::Usage(format!(
                "{} is not a folder",
                config.dir.display()
            )));
        }
        Ok(Self {
            client,
            config,
            state,
            seen: HashMap::new(),
        })
    }

    /// One look: follow the jobs sent, then send what is ready.
    async fn tick(&mut self) -> Result<(), Error> {
        let followed: Vec<(String, String)> = self
            .state
            .files
            .iter()
            .filter_map(|(name, entry)| Some((name.clone(), entry.job_id.clone()?)))
            .collect();
        for (name, job_id) in followed {
            match self.client.job(&job_id).await {
                Ok(job) if is_final(&job) => self.finish(&name, outcome_of(&job))?,
                Ok(_) => {}
                Err(error) if error.exit_code() == exit::REFUSED => {
                    let why = format!("the proxy no longer knows job {job_id}: {error}");
                    self.finish(&name, Outcome::Failed(why))?;
                }
                Err(error) => self.problem(&name, error)?,
            }
        }
        for name in self.ready()? {
            self.send(&name).await?;
        }
        Ok(())
    }

    /// The videos to send now: noted before but without a job (sent before a restart, or a
    /// send that failed on the way), and new ones unchanged since the previous look.
    fn ready(&mut self) -> Result<Vec<String>, Error> {
        let dir = &self.config.dir;
        let listing = std::fs::read_dir(dir)
            .map_err(|error| Error::local(format!("listing {}", dir.display()), error))?;
        let mut present = Vec::new();
        for item in listing {
            let item =
                item.map_err(|error| Error::local(format!("listing {}", dir.display()), error))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let is_file = item.file_type().is_ok_and(|kind| kind.is_file());
            if is_file && !name.starts_with('.') && ContentType::from_file_name(&name).is_some() {
                present.push(name);
            }
        }
        present.sort();
        // A noted video that is gone was taken away by someone: forget it.
        let gone: Vec<String> = self
            .state
            .files
            .iter()
            .filter(|(name, entry)| entry.job_id.is_none() && !present.contains(name))
            .map(|(name, _)| name.clone())
            .collect();
        if !gone.is_empty() {
            for name in gone {
                self.state.files.remove(&name);
            }
            self.save()?;
        }
        let mut ready = Vec::new();
        let mut seen = HashMap::new();
        for name in present {
            match self.state.files.get(&name) {
                Some(entry) if entry.job_id.is_some() => continue,
                Some(_) => ready.push(name.clone()),
                None => {
                    let signature = self.signature(&name);
                    let unchanged = self.seen.get(&name) == Some(&signature);
                    let empty = matches!(signature.first(), Some(None | Some((0, _))));
                    if unchanged && !empty {
                        ready.push(name.clone());
                    }
                    seen.insert(name, signature);
                }
            }
        }
        self.seen = seen;
        Ok(ready)
    }

    /// Sends one video; notes it first, and its job as soon as the proxy took it.
    async fn send(&mut self, name: &str) -> Result<(), Error> {
        let path = self.config.dir.join(name);
        let details = match self.details(name) {
            Ok(details) => details,
            Err(error) => return self.finish(name, Outcome::Failed(error.to_string())),
        };
        let entry = match self.state.files.get(name) {
            Some(entry) => entry.clone(),
            None => match sha256_of(&path) {
                Ok(sha256) => Entry {
                    sha256,
                    attempts: 0,
                    job_id: None,
                },
                // Gone or unreadable since the listing: it ends here, the watcher goes on.
                Err(error) => return self.problem(name, error),
            },
        };
        let attempts = entry.attempts + 1;
        self.state.files.insert(
            name.to_owned(),
            Entry {
                attempts,
                ..entry.clone()
            },
        );
        self.save()?;
        println!("{name}: sending");
        match self
            .client
            .upload(&path, &details, &ProgressBar::hidden())
            .await
        {
            Ok(job) => {
                println!("{name}: {}", crate::print::job_line(&job));
                self.noted_job(name, &job)
            }
            Err(error) if error.code() == Some("duplicate_video") && attempts > 1 => {
                // Sent before and the proxy has it: that send went through.
                let list = match self.client.jobs().await {
                    Ok(list) => list,
                    Err(error) => return self.problem(name, error),
                };
                let earlier = list.jobs.into_iter().find(|job| job.sha256 == entry.sha256);
                match earlier {
                    Some(job) => {
                        println!("{name}: already sent as {}", job.job_id);
                        self.noted_job(name, &job)
                    }
                    None => self.finish(
                        name,
                        Outcome::Posted(Record {
                            job_id: None,
                            publish_id: None,
                            status: None,
                            post_ids: Vec::new(),
                            sha256: entry.sha256.clone(),
                            note: Some(error.to_string()),
                        }),
                    ),
                }
            }
            Err(error) if error.code() == Some("duplicate_video") => {
                let why = format!(
                    "{error}\nTo post it again, put {{\"force\": true}} in {}.json and drop the video in again.",
                    stem(name)
                );
                self.finish(name, Outcome::Failed(why))
            }
            Err(error) => self.problem(name, error),
        }
    }

    /// The proxy has the video as `job`: note it, and file the video now if already final.
    fn noted_job(&mut self, name: &str, job: &JobInfo) -> Result<(), Error> {
        if let Some(entry) = self.state.files.get_mut(name) {
            entry.job_id = Some(job.job_id.clone());
        }
        self.save()?;
        if is_final(job) {
            self.finish(name, outcome_of(job))?;
        }
        Ok(())
    }

    /// A failed call about `name`: fatal when the credentials are refused (nothing else would
    /// work), kept for the next look when the proxy is away or failing, else the video's end.
    fn problem(&mut self, name: &str, error: Error) -> Result<(), Error> {
        if error.exit_code() == exit::CREDENTIALS {
            return Err(error);
        }
        if error.is_transient() {
            eprintln!("{name}: {error} (trying again at the next look)");
            return Ok(());
        }
        self.finish(name, Outcome::Failed(error.to_string()))
    }

    /// The details for `name`: the flags, then `NAME.txt` as the caption, then `NAME.json`.
    fn details(&self, name: &str) -> Result<PostDetails, Error> {
        let mut details = self.config.defaults.clone();
        let [txt, json] = self.sidecars(name);
        if let Some(caption) = read_if_there(&txt)? {
            details.caption = Some(caption.trim_end_matches(['\n', '\r']).to_owned());
        }
        if let Some(text) = read_if_there(&json)? {
            let sidecar = PostDetails::from_json(&text)
                .map_err(|error| Error::Usage(format!("{}: {error}", json.display())))?;
            details = details.overlaid(&sidecar);
        }
        Ok(details)
    }

    fn sidecars(&self, name: &str) -> [PathBuf; 2] {
        let stem = stem(name);
        [
            self.config.dir.join(format!("{stem}.txt")),
            self.config.dir.join(format!("{stem}.json")),
        ]
    }

    fn signature(&self, name: &str) -> Signature {
        let look = |path: &Path| {
            let meta = std::fs::metadata(path).ok()?;
            Some((meta.len(), meta.modified().ok()?))
        };
        let mut signature = vec![look(&self.config.dir.join(name))];
        signature.extend(self.sidecars(name).iter().map(|path| look(path)));
        signature
    }

    /// Files the video (and its sidecars) under `posted/` or `failed/` with what became of it,
    /// then forgets it. A video already gone (filed before a restart) is only forgotten.
    fn finish(&mut self, name: &str, outcome: Outcome) -> Result<(), Error> {
        let video = self.config.dir.join(name);
        if video.exists() {
            let (folder, kind) = match &outcome {
                Outcome::Posted(_) => (POSTED_DIR, "posted"),
                Outcome::Failed(_) => (FAILED_DIR, "failed"),
            };
            let target = self.config.dir.join(folder);
            std::fs::create_dir_all(&target)
                .map_err(|error| Error::local(format!("creating {}", target.display()), error))?;
            let sidecars: Vec<PathBuf> = self
                .sidecars(name)
                .into_iter()
                .filter(|path| path.exists())
                .collect();
            let new_stem = free_stem(&target, name);
            let extension = Path::new(name)
                .extension()
                .map(|ext| format!(".{}", ext.to_string_lossy()))
                .unwrap_or_default();
            rename(&video, &target.join(format!("{new_stem}{extension}")))?;
            for sidecar in sidecars {
                let ext = sidecar
                    .extension()
                    .map(|ext| ext.to_string_lossy().into_owned())
                    .unwrap_or_default();
                rename(&sidecar, &target.join(format!("{new_stem}.{ext}")))?;
            }
            let (record, text) = match outcome {
                Outcome::Posted(record) => (
                    target.join(format!("{new_stem}.job.json")),
                    serde_json::to_string_pretty(&record).expect("a record is plain data") + "\n",
                ),
                Outcome::Failed(why) => (target.join(format!("{new_stem}.error.txt")), why + "\n"),
            };
            std::fs::write(&record, &text)
                .map_err(|error| Error::local(format!("writing {}", record.display()), error))?;
            println!(
                "{name}: {kind} → {}",
                target.join(format!("{new_stem}{extension}")).display()
            );
        }
        self.state.files.remove(name);
        self.save()
    }

    /// Writes the state file atomically: a temporary file, flushed to disk, renamed over it.
    fn save(&self) -> Result<(), Error> {
        let path = self.config.dir.join(STATE_FILE);
        let temporary = self.config.dir.join(format!("{STATE_FILE}.tmp"));
        let text = serde_json::to_vec_pretty(&self.state).expect("the state is plain data");
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&temporary, &path)?;
            // The rename itself is durable once the folder is synced.
            std::fs::File::open(&self.config.dir)?.sync_all()
        };
        write().map_err(|error| Error::local(format!("writing {}", path.display()), error))
    }
}

/// Posted for TikTok's published or inbox word, failed for anything else.
fn outcome_of(job: &JobInfo) -> Outcome {
    if is_posted(job) {
        Outcome::Posted(Record::of(job))
    } else {
        Outcome::Failed(Error::PostFailed(Box::new(job.clone())).to_string())
    }
}

/// `clip.mp4` → `clip`.
fn stem(name: &str) -> String {
    Path::new(name).file_stem().map_or_else(
        || name.to_owned(),
        |stem| stem.to_string_lossy().into_owned(),
    )
}

/// `clip`, or `clip-2`, `clip-3`…: the first stem nothing in `target` uses yet, so a video
/// of the same name filed earlier is never overwritten.
fn free_stem(target: &Path, name: &str) -> String {
    let stem = stem(name);
    let taken = |candidate: &str| {
        let prefix = format!("{candidate}.");
        std::fs::read_dir(target).is_ok_and(|listing| {
            listing
                .flatten()
                .any(|item| item.file_name().to_string_lossy().starts_with(&prefix))
        })
    };
    if !taken(&stem) {
        return stem;
    }
    (2..)
        .map(|n| format!("{stem}-{n}"))
        .find(|candidate| !taken(candidate))
        .expect("some numbered name is free")
}

fn rename(from: &Path, to: &Path) -> Result<(), Error> {
    std::fs::rename(from, to).map_err(|error| {
        Error::local(
            format!("moving {} to {}", from.display(), to.display()),
            error,
        )
    })
}

fn read_if_there(path: &Path) -> Result<Option<String>, Error> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(Error::local(format!("reading {}", path.display()), error)),
    }
}

fn sha256_of(path: &Path) -> Result<String, Error> {
    let mut file = std::fs::File::open(path)
        .map_err(|error| Error::local(format!("opening {}", path.display()), error))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 256 * 1024];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(|error| Error::local(format!("reading {}", path.display()), error))?;
        if read == 0 {
            return Ok(hex::encode(hasher.finalize()));
        }
        hasher.update(&buffer[..read]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filed_name_is_never_reused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(free_stem(dir.path(), "clip.mp4"), "clip");
        std::fs::write(dir.path().join("clip.mp4"), b"x").unwrap();
        std::fs::write(dir.path().join("clip.job.json"), b"{}").unwrap();
        assert_eq!(free_stem(dir.path(), "clip.mp4"), "clip-2");
        assert_eq!(free_stem(dir.path(), "clip.webm"), "clip-2");
        assert_eq!(free_stem(dir.path(), "clipper.mp4"), "clipper");
        std::fs::write(dir.path().join("my.video.mp4"), b"x").unwrap();
        assert_eq!(free_stem(dir.path(), "my.video.mp4"), "my.video-2");
    }
}
