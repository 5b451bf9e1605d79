//! The proxy's API over HTTP, as the CLI uses it. The TikTok token stays in the proxy; the
//! only credential here is the proxy's API token, sent as `Authorization: Bearer` (marked
//! sensitive, so it is in no debug output) and in no error.

use crate::details::PostDetails;
use crate::error::Error;
use futures_util::TryStreamExt;
use indicatif::ProgressBar;
use protocol::media::SNIFF_LEN;
use protocol::wire::{
    ACCESS_PATH, Access, ErrorBody, History, JOBS_PATH, JobInfo, JobList, UPLOAD_PATH,
};
use reqwest::{Method, RequestBuilder, multipart};
use serde::de::DeserializeOwned;
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

/// Where the proxy listens unless told otherwise: its own default address.
pub const DEFAULT_URL: &str = "http://127.0.0.1:8787";

/// How long to wait for the proxy to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long `follow` keeps asking while the proxy is unreachable or failing: long enough for
/// a restart of the proxy (or of the machine's network), short enough that a script learns.
pub const FOLLOW_PATIENCE: Duration = Duration::from_secs(60);

/// How much of the video is read from disk at a time (and counted for the bar).
const READ_PIECE: usize = 64 * 1024;

/// A proxy to talk to.
#[derive(Debug, Clone)]
pub struct Client {
    /// `http://host:port`, no trailing slash.
    base: String,
    /// The proxy's API token (`apt_…`), if it needs one.
    token: Option<String>,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base_url: &str, token: Option<String>) -> Result<Self, Error> {
        let base = base_url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Error::Usage(format!(
                "the proxy's address {base:?} must start with http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|error| Error::Usage(format!("cannot set up HTTP: {error}")))?;
        Ok(Self {
            base,
            token: token.filter(|token| !token.is_empty()),
            http,
        })
    }

    /// `POST /api/upload`: the details as form fields, then the file streamed from disk,
    /// counted on `bar` as it is read. Answers the job once TikTok's init has answered.
    ///
    /// What the proxy would refuse is checked here first (`PostDetails::check`), then the
    /// credentials (`GET /api/session`): a proxy that refuses a request answers before reading
    /// the body and closes the connection, which the sender may only see as a broken pipe —
    /// and a big video should not be sent to learn that.
    pub async fn upload(
        &self,
        file: &Path,
        details: &PostDetails,
        bar: &ProgressBar,
    ) -> Result<JobInfo, Error> {
        let opened = tokio::fs::File::open(file)
            .await
            .map_err(|error| Error::local(format!("opening {}", file.display()), error))?;
        let size = opened
            .metadata()
            .await
            .map_err(|error| Error::local(format!("reading {}", file.display()), error))?
            .len();
        let name = file
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut head = Vec::with_capacity(SNIFF_LEN);
        let mut reader = opened.take(SNIFF_LEN as u64);
        let reading = |error| Error::local(format!("reading {}", file.display()), error);
        reader.read_to_end(&mut head).await.map_err(reading)?;
        let content_type = details.check(&name, size, &head)?;
        let mut opened = reader.into_inner();
        opened.rewind().await.map_err(reading)?;
        let access: Access = self
            .call(Method::GET, ACCESS_PATH, |request| request)
            .await?;
        if !access.operator {
            return Err(Error::NoCredentials {
                url: self.base.clone(),
            });
        }
        bar.set_length(size);
        bar.set_position(0);
        let counted = bar.clone();
        let pieces = ReaderStream::with_capacity(opened, READ_PIECE)
            .inspect_ok(move |piece| counted.inc(piece.len() as u64));
        let part = multipart::Part::stream_with_length(reqwest::Body::wrap_stream(pieces), size)
            .file_name(name)
            .mime_str(content_type.mime())
            .expect("the content types we name are valid MIME types");
        let mut form = multipart::Form::new();
        for (name, value) in details.fields() {
            form = form.text(name, value);
        }
        let form = form.part("file", part);
        self.call(Method::POST, UPLOAD_PATH, |request| request.multipart(form))
            .await
    }

    /// `GET /api/jobs/{id}`.
    pub async fn job(&self, id: &str) -> Result<JobInfo, Error> {
        self.call(Method::GET, &job_path(id), |request| request)
            .await
    }

    /// `GET /api/jobs`: newest first.
    pub async fn jobs(&self) -> Result<JobList, Error> {
        self.call(Method::GET, JOBS_PATH, |request| request).await
    }

    /// `DELETE /api/jobs/{id}`: cancels a job that has not started; answers it, `cancelled`.
    pub async fn cancel(&self, id: &str) -> Result<JobInfo, Error> {
        self.call(Method::DELETE, &job_path(id), |request| request)
            .await
    }

    /// `GET /api/posts?limit=`: the newest posts of the history.
    pub async fn history(&self, limit: usize) -> Result<History, Error> {
        self.call(
            Method::GET,
            &format!("/api/posts?limit={limit}"),
            |request| request,
        )
        .await
    }

    /// Asks for the job every `interval` until it is final, calling `changed` whenever it
    /// moved; answers the final job. A job outlives a restart of the proxy, so following it
    /// does too: the proxy may be away or failing for up to [`FOLLOW_PATIENCE`] at a time.
    pub async fn follow(
        &self,
        mut job: JobInfo,
        interval: Duration,
        mut changed: impl FnMut(&JobInfo),
    ) -> Result<JobInfo, Error> {
        let mut last_answer = Instant::now();
        while !is_final(&job) {
            tokio::time::sleep(interval).await;
            let next = match self.job(&job.job_id).await {
                Ok(next) => next,
                Err(error) if error.is_transient() && last_answer.elapsed() < FOLLOW_PATIENCE => {
                    continue;
                }
                Err(error) => return Err(error),
            };
            last_answer = Instant::now();
            if (next.stage, next.uploaded_bytes) != (job.stage, job.uploaded_bytes) {
                changed(&next);
            }
            job = next;
        }
        Ok(job)
    }

    /// One call: sends it, reads the whole answer, and turns anything but a 2xx with the
    /// expected JSON into an [`Error`].
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        build: impl FnOnce(RequestBuilder) -> RequestBuilder,
    ) -> Result<T, Error> {
        let call = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let unreachable = |error: reqwest::Error| {
            let broke = cut_off(&error);
            let mut detail = protocol::cause::describe(&error.without_url());
            if broke {
                detail.push_str(
                    " (the proxy closed the connection while the request was being sent: it may \
                     have refused it before reading it all; its log says why)",
                );
            }
            Error::Unreachable {
                url: self.base.clone(),
                detail,
            }
        };
        let response = build(request).send().await.map_err(unreachable)?;
        let status = response.status().as_u16();
        let body = response.bytes().await.map_err(unreachable)?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body).map_err(|error| Error::BadAnswer {
                call,
                status,
                detail: error.to_string(),
            });
        }
        match serde_json::from_slice::<ErrorBody>(&body) {
            Ok(ErrorBody { error: detail }) => Err(Error::Refused {
                call,
                status,
                detail,
            }),
            Err(_) => Err(Error::BadAnswer {
                call,
                status,
                detail: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
            }),
        }
    }
}

/// Whether the job can change no more. Read from the stage's wire name so that stages added
/// later (`cancelled`) count without this crate matching on every variant.
pub fn is_final(job: &JobInfo) -> bool {
    let stage = serde_json::to_value(job.stage).unwrap_or_default();
    matches!(stage.as_str(), Some("done" | "failed" | "cancelled"))
}

/// Whether the job ended posted (or in the inbox).
pub fn is_posted(job: &JobInfo) -> bool {
    is_final(job)
        && matches!(
            job.status.as_deref(),
            Some("PUBLISH_COMPLETE" | "SEND_TO_USER_INBOX")
        )
}

fn job_path(id: &str) -> String {
    // A job id is `job_` and hex; anything else cannot name one, so it is not sent as a path.
    let safe: String = id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    format!("{JOBS_PATH}/{safe}")
}

/// Whether the connection broke under the request (a broken pipe or a reset): the other side
/// closed it, rather than never answering.
fn cut_off(error: &reqwest::Error) -> bool {
    protocol::cause::chain(error)
        .find_map(|cause| cause.downcast_ref::<std::io::Error>())
        .is_some_and(|io| {
            matches!(
                io.kind(),
                std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::ConnectionReset
            )
        })
}
