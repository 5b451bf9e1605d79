//! The CLI's one error type, and the one place it becomes an exit code and a message.
//!
//! Every failure is one of a few kinds a script can tell apart by the exit code alone; the
//! message says what happened and what to do. The API token is in no message: errors name the
//! call (method and path), the proxy's status, its code and TikTok's `log_id`.

use protocol::wire::{ErrorDetail, JobInfo};

/// The exit codes, one per kind of failure.
pub mod exit {
    /// Done: posted, sent to the inbox, queued, listed.
    pub const OK: u8 = 0;
    /// A local problem: the video, a sidecar or the watched folder cannot be read or written.
    pub const LOCAL: u8 = 1;
    /// A flag or value is wrong (clap uses 2 for its own usage errors too).
    pub const USAGE: u8 = 2;
    /// The proxy cannot be reached.
    pub const UNREACHABLE: u8 = 3;
    /// The proxy refused the credentials.
    pub const CREDENTIALS: u8 = 4;
    /// The proxy refused the request as it is (4xx).
    pub const REFUSED: u8 = 5;
    /// The video was already sent to this account.
    pub const DUPLICATE: u8 = 6;
    /// TikTok failed the post, or the job stopped for good.
    pub const POST_FAILED: u8 = 7;
    /// The proxy or TikTok failed on their side, or asked to wait.
    pub const SERVER: u8 = 8;
}

/// What `--help` says about exit codes; kept beside [`Error::exit_code`] so they agree.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  done: posted, in the inbox, queued (without --wait), listed, cancelled
  1  a local problem: the video, a sidecar or the folder cannot be read or written
  2  usage: a flag or value is wrong
  3  the proxy cannot be reached (AUTOPOSTER_URL, the network, the proxy is down)
  4  the proxy refused the credentials (AUTOPOSTER_TOKEN missing, wrong or revoked)
  5  refused as sent (4xx): not a video, details TikTok would refuse, no such job
  6  duplicate: this video was already sent (the earlier post is named); --force posts it again
  7  the post failed: TikTok's final word was FAILED, or the job stopped (the reason is printed)
  8  the proxy or TikTok failed on their side, or asked to wait (5xx, 429): try again later";

/// Everything that can go wrong in a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value the flags or a sidecar gave is not usable; the text says which.
    #[error("{0}")]
    Usage(String),
    /// A file or folder of ours could not be read or written.
    #[error("{what}: {source}")]
    Local {
        what: String,
        source: std::io::Error,
    },
    /// No answer from the proxy (refused connection, DNS, a connection lost mid-call).
    #[error("cannot reach the proxy at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    /// The video or its details would be refused; found before sending, with the same rules
    /// (`protocol`) and the code the proxy would answer.
    #[error("{message} ({code}; checked before sending)")]
    Invalid { code: &'static str, message: String },
    /// The proxy needs operator access and the call showed none.
    #[error(
        "the proxy at {url} needs an API token: set AUTOPOSTER_TOKEN (or --token) to one from `proxy token create NAME`"
    )]
    NoCredentials { url: String },
    /// The proxy answered with its error body.
    #[error("{}", refused_message(.call, *.status, .detail))]
    Refused {
        /// `POST /api/upload`, for the reader to know which call.
        call: String,
        status: u16,
        detail: ErrorDetail,
    },
    /// The proxy answered something that is not its API (another server at that address?).
    #[error("{call} answered HTTP {status} with something that is not the proxy's API: {detail}")]
    BadAnswer {
        call: String,
        status: u16,
        detail: String,
    },
    /// The job reached its end without a post; holds the job as last seen.
    #[error("{}", failed_message(.0))]
    PostFailed(Box<JobInfo>),
}

impl Error {
    /// The one mapping from a failure to the process's exit code (see [`EXIT_CODES_HELP`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => exit::USAGE,
            Self::Local { .. } => exit::LOCAL,
            Self::Unreachable { .. } => exit::UNREACHABLE,
            Self::NoCredentials { .. } => exit::CREDENTIALS,
            Self::Invalid { .. } => exit::REFUSED,
            Self::Refused { status, .. } => match status {
                401 | 403 => exit::CREDENTIALS,
                409 => exit::DUPLICATE,
                429 => exit::SERVER,
                400..=499 => exit::REFUSED,
                _ => exit::SERVER,
            },
            Self::BadAnswer { .. } => exit::SERVER,
            Self::PostFailed(_) => exit::POST_FAILED,
        }
    }

    /// A local failure, naming what was being done.
    pub fn local(what: impl Into<String>, source: std::io::Error) -> Self {
        Self::Local {
            what: what.into(),
            source,
        }
    }

    /// The proxy's error code (`duplicate_video`, `not_a_video`, …) when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { detail, .. } => Some(&detail.code),
            Self::Invalid { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether trying again later can help: the proxy was down or failed on its side.
    pub fn is_transient(&self) -> bool {
        matches!(self.exit_code(), exit::UNREACHABLE | exit::SERVER)
    }
}

fn refused_message(call: &str, status: u16, detail: &ErrorDetail) -> String {
    let mut text = format!("{} ({call}: HTTP {status}, {}", detail.message, detail.code);
    if let Some(log_id) = &detail.log_id {
        text.push_str(&format!(", TikTok log_id {log_id}"));
    }
    text.push(')');
    if detail.code == "duplicate_video" {
        text.push_str("\nTo post it again anyway, add --force.");
    }
    if let Some(secs) = detail.retry_after_secs {
        text.push_str(&format!(". Try again in {secs} s."));
    }
    if status == 401 || detail.code.starts_with("api_token") {
        text.push_str(
            "\nSet AUTOPOSTER_TOKEN (or --token) to an API token from `proxy token create NAME`.",
        );
    }
    text
}

fn failed_message(job: &JobInfo) -> String {
    let why = job
        .message
        .as_deref()
        .unwrap_or("the job stopped without a reason");
    let status = job.status.as_deref().map_or(String::new(), |status| {
        format!(" (TikTok's status: {status})")
    });
    format!("{} was not posted: {why}{status}", job.job_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(status: u16, code: &str) -> Error {
        Error::Refused {
            call: "POST /api/upload".into(),
            status,
            detail: ErrorDetail {
                code: code.into(),
                message: "m".into(),
                log_id: None,
                retry_after_secs: None,
            },
        }
    }

    #[test]
    fn exit_codes() {
        let check = |error: Error, code: u8| assert_eq!(error.exit_code(), code, "{error:?}");
        check(Error::Usage("x".into()), exit::USAGE);
        check(
            Error::Unreachable {
                url: "http://127.0.0.1:1".into(),
                detail: "refused".into(),
            },
            exit::UNREACHABLE,
        );
        check(refused(401, "api_token_invalid"), exit::CREDENTIALS);
        check(refused(403, "host_not_allowed"), exit::CREDENTIALS);
        check(refused(415, "not_a_video"), exit::REFUSED);
        check(refused(400, "privacy_level_missing"), exit::REFUSED);
        check(refused(404, "unknown_job"), exit::REFUSED);
        check(refused(409, "duplicate_video"), exit::DUPLICATE);
        check(refused(429, "rate_limit_exceeded"), exit::SERVER);
        check(refused(502, "upstream_unreachable"), exit::SERVER);
        check(refused(507, "disk_full"), exit::SERVER);
    }

    #[test]
    fn every_code_is_in_the_help() {
        for code in 0..=exit::SERVER {
            assert!(
                EXIT_CODES_HELP.contains(&format!("\n  {code}  ")),
                "exit code {code} is not documented"
            );
        }
    }

    #[test]
    fn refused_credentials_say_where_a_token_comes_from() {
        let text = refused(401, "api_token_invalid").to_string();
        assert!(text.contains("proxy token create"), "{text}");
        assert!(text.contains("HTTP 401"), "{text}");
    }
}
