//! What to do when a chunk is not accepted — retry as data (a list of delays) and one pure
//! decision, after tus-js-client. Network failures and 5xx retry the same chunk after the next
//! delay; 416 resyncs from what TikTok reports; 403/404 need a fresh init; other answers stop.

use crate::chunk::{ChunkPlan, ContentRange};

/// The default delays between attempts at one chunk, in milliseconds: quick at first, then
/// patient enough to ride out a gateway restart. Five retries, about 20 s in all.
pub const DEFAULT_RETRY_DELAYS_MS: [u32; 5] = [500, 1_000, 3_000, 5_000, 10_000];

/// How a chunk's PUT ended when it was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChunkFailure {
    /// No HTTP answer: the connection failed, was reset, or timed out.
    Network,
    /// An HTTP answer other than the expected 206/201, with the `Content-Range` TikTok reported
    /// (when the browser may read it).
    Status {
        status: u16,
        reported: Option<ContentRange>,
    },
}

impl ChunkFailure {
    /// A PUT's ending as a failure: status 0 means no answer came.
    pub fn of(status: u16, reported: Option<ContentRange>) -> Self {
        match status {
            0 => Self::Network,
            status => Self::Status { status, reported },
        }
    }
}

/// The decision for a failed chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send the same chunk again after this many milliseconds (before jitter).
    RetryAfter { delay_ms: u32 },
    /// TikTok's record differs from ours: continue from this byte offset (a chunk start).
    ResumeFrom { offset: u64 },
    /// TikTok's record cannot be read from the answer: ask `status/fetch` for `uploaded_bytes`.
    AskStatus,
    /// The upload URL is dead (403 expired, 404 no task): start a fresh init.
    Reinit,
    /// Nothing more can help; the status says why.
    Stop,
}

/// Decides what to do after `attempt` failed tries at one chunk (1 for the first failure).
pub fn should_retry(
    failure: &ChunkFailure,
    attempt: u32,
    delays_ms: &[u32],
    plan: &ChunkPlan,
) -> Decision {
    let retry = || {
        let index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        delays_ms
            .get(index)
            .map_or(Decision::Stop, |&delay_ms| Decision::RetryAfter {
                delay_ms,
            })
    };
    match *failure {
        ChunkFailure::Network => retry(),
        ChunkFailure::Status {
            status: 500..=599, ..
        } => retry(),
        // TikTok's gateway may throttle uploads with 429 too: waiting helps.
        ChunkFailure::Status { status: 429, .. } => retry(),
        ChunkFailure::Status {
            status: 416,
            reported,
        } => match reported {
            Some(range) if attempt <= delays_ms.len() as u32 + 1 => {
                resume_offset(plan, Some(range))
                    .map_or(Decision::Reinit, |offset| Decision::ResumeFrom { offset })
            }
            None if attempt <= delays_ms.len() as u32 + 1 => Decision::AskStatus,
            _ => Decision::Stop,
        },
        ChunkFailure::Status {
            status: 403 | 404, ..
        } => Decision::Reinit,
        ChunkFailure::Status { .. } => Decision::Stop,
    }
}

/// The first byte TikTok does not hold, from the `Content-Range` it reported (`bytes 0-LAST/TOTAL`;
/// `None` means it holds nothing), if that is a chunk boundary of `plan`. `None` when the report
/// does not fit the plan — then only a fresh upload is safe.
pub fn resume_offset(plan: &ChunkPlan, reported: Option<ContentRange>) -> Option<u64> {
    let held = match reported {
        None => 0,
        Some(range) if range.first == 0 && range.total == plan.video_size => range.last + 1,
        Some(_) => return None,
    };
    offset_in_plan(plan, held)
}

/// The same, from `status/fetch`'s `uploaded_bytes`.
pub fn resume_offset_from_uploaded(plan: &ChunkPlan, uploaded_bytes: u64) -> Option<u64> {
    offset_in_plan(plan, uploaded_bytes)
}

fn offset_in_plan(plan: &ChunkPlan, held: u64) -> Option<u64> {
    if held == plan.video_size {
        return Some(held);
    }
    plan.chunk_starting_at(held).map(|chunk| chunk.start)
}

/// Fresh inits after a dead upload link, per post; more would loop on a deeper problem.
pub const MAX_REINITS: u32 = 1;

/// Whether a post that has had `reinits` fresh inits may have another.
pub fn may_reinit(reinits: u32) -> bool {
    reinits < MAX_REINITS
}

/// A delay with ±20 % jitter, so many clients do not retry in step. `random` is in `0.0..1.0`.
pub fn with_jitter(delay_ms: u32, random: f64) -> u32 {
    let factor = 0.8 + 0.4 * random.clamp(0.0, 1.0);
    (f64::from(delay_ms) * factor).round() as u32
}

/// Whether an upload that started `elapsed_secs` ago and needs `eta_secs` more will miss TikTok's
/// one-hour `upload_url` lifetime (with a minute's margin).
pub fn misses_deadline(elapsed_secs: f64, eta_secs: f64) -> bool {
    const MARGIN_SECS: f64 = 60.0;
    elapsed_secs + eta_secs > crate::limits::UPLOAD_URL_LIFETIME_SECS as f64 - MARGIN_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const MIB: u64 = 1024 * 1024;

    fn plan() -> ChunkPlan {
        ChunkPlan::new(100 * MIB + 7).unwrap()
    }

    fn status(status: u16, reported: &str) -> ChunkFailure {
        ChunkFailure::Status {
            status,
            reported: ContentRange::parse(reported),
        }
    }

    fn check(failure: ChunkFailure, attempt: u32, expected: Decision) {
        let got = should_retry(&failure, attempt, &DEFAULT_RETRY_DELAYS_MS, &plan());
        assert_eq!(got, expected, "{failure:?} attempt {attempt}");
    }

    #[test]
    fn decisions() {
        use Decision::*;
        check(ChunkFailure::Network, 1, RetryAfter { delay_ms: 500 });
        check(ChunkFailure::Network, 5, RetryAfter { delay_ms: 10_000 });
        check(ChunkFailure::Network, 6, Stop);
        check(status(503, ""), 1, RetryAfter { delay_ms: 500 });
        check(status(502, ""), 3, RetryAfter { delay_ms: 3_000 });
        check(status(500, ""), 6, Stop);
        check(status(429, ""), 2, RetryAfter { delay_ms: 1_000 });
        check(
            status(416, "bytes 0-31457279/104857607"),
            1,
            ResumeFrom { offset: 30 * MIB },
        );
        check(status(416, "bytes 0-31457000/104857607"), 1, Reinit);
        check(status(416, "bytes 0-9/11"), 1, Reinit);
        check(status(416, ""), 1, AskStatus);
        check(status(416, "bytes 0-31457279/104857607"), 7, Stop);
        check(status(403, ""), 1, Reinit);
        check(status(404, ""), 1, Reinit);
        check(status(400, ""), 1, Stop);
        check(status(401, ""), 1, Stop);
        check(status(413, ""), 1, Stop);
    }

    #[test]
    fn resync_arithmetic() {
        let plan = plan();
        assert_eq!(resume_offset(&plan, None), Some(0));
        let range = |text| ContentRange::parse(text);
        assert_eq!(
            resume_offset(&plan, range("bytes 0-10485759/104857607")),
            Some(10 * MIB)
        );
        // Everything held: nothing left to send.
        assert_eq!(
            resume_offset(&plan, range("bytes 0-104857606/104857607")),
            Some(plan.video_size)
        );
        assert_eq!(
            resume_offset(&plan, range("bytes 5-10485759/104857607")),
            None
        );
        assert_eq!(resume_offset(&plan, range("bytes 0-9/999")), None);
        assert_eq!(resume_offset_from_uploaded(&plan, 20 * MIB), Some(20 * MIB));
        assert_eq!(resume_offset_from_uploaded(&plan, 20 * MIB + 1), None);
        assert_eq!(resume_offset_from_uploaded(&plan, 0), Some(0));
    }

    #[test]
    fn jitter_and_deadline() {
        assert_eq!(with_jitter(1_000, 0.0), 800);
        assert_eq!(with_jitter(1_000, 0.5), 1_000);
        assert_eq!(with_jitter(1_000, 1.0), 1_200);
        assert_eq!(with_jitter(1_000, 7.0), 1_200);
        assert!(!misses_deadline(600.0, 600.0));
        assert!(misses_deadline(3000.0, 600.0));
    }

    #[test]
    fn one_fresh_init_per_post() {
        assert!(may_reinit(0));
        assert!(!may_reinit(MAX_REINITS));
    }

    #[test]
    fn status_zero_is_no_answer() {
        assert_eq!(ChunkFailure::of(0, None), ChunkFailure::Network);
        assert_eq!(
            ChunkFailure::of(503, None),
            ChunkFailure::Status {
                status: 503,
                reported: None
            }
        );
    }
}
