//! Scripted misbehaviour: a queue of faults that each decision point consults ("does a fault
//! apply to what I am about to do?"), using up one occurrence when one does.

use crate::endpoint::Endpoint;
use protocol::ErrorCode;
use std::time::Duration;

/// Something the simulator does wrong on purpose, queued with [`crate::Sim::script`].
///
/// Faults are consulted in the order they were scripted; the first that applies is used once.
/// A fault with `times: 0` never fires and is not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// A PUT of chunk `chunk` (0-based, identified by its `Content-Range` start) answers
    /// `status` with an empty body, `times` times, without accepting the bytes. The request
    /// body is still read, so the client sees the status rather than a reset.
    ChunkStatus { chunk: u64, status: u16, times: u32 },
    /// The next PUT of chunk `chunk` has its connection closed after about half of its body;
    /// no response is sent and no byte is accepted. Its recorded status is 0.
    DropConnection { chunk: u64 },
    /// The next PUT of chunk `chunk` is received and accepted, then its connection is closed
    /// before the answer is sent: TikTok holds the chunk, the client does not know it. A client
    /// that sends the chunk again gets 416 with TikTok's `Content-Range`, and must resync.
    LoseAnswer { chunk: u64 },
    /// The next PUT of chunk `chunk` waits `duration` before its body is read, then is handled
    /// as usual (a client gone meanwhile left an incomplete body: nothing is accepted). Holds a
    /// client at a known point mid-upload.
    HangChunk { chunk: u64, duration: Duration },
    /// The next PUT of chunk `chunk` is received and accepted, and its answer then waits
    /// `duration`: TikTok holds the chunk, and a client that stops meanwhile does not know it.
    LateAnswer { chunk: u64, duration: Duration },
    /// The next PUT of chunk `chunk` whose body arrives whole is stored only `duration` later,
    /// then answered: a status asked meanwhile does not count it yet, and a client that leaves
    /// meanwhile cannot take it back (every byte arrived). Used up once the body is in, so a
    /// test can tell the whole body arrived.
    LateStore { chunk: u64, duration: Duration },
    /// The next `times` calls to `endpoint` answer `code` with `http_status` (for example 429
    /// `rate_limit_exceeded` on init, or creator_info's `spam_risk_too_many_posts` with 200, as
    /// TikTok does). API endpoints wrap it in the envelope; the OAuth token and revoke endpoints
    /// answer TikTok's OAuth shape with `code` as `error` (e.g. `invalid_grant`,
    /// `temporarily_unavailable`); on [`Endpoint::Upload`] the PUT answers `http_status` with an
    /// empty body, like [`Fault::ChunkStatus`] for any chunk.
    ApiError {
        endpoint: Endpoint,
        code: ErrorCode,
        http_status: u16,
        times: u32,
    },
    /// The next `times` calls to `endpoint` wait `duration` before being handled, for
    /// upstream-timeout tests. On API endpoints the wait comes after the token check.
    Hang {
        endpoint: Endpoint,
        duration: Duration,
        times: u32,
    },
    /// The next `times` calls to the OAuth token endpoint are handled at once (a refresh token
    /// rotates), and then their answer waits `duration`: TikTok has acted, but a client that
    /// gives up meanwhile never learns the new tokens.
    LateTokenAnswer { duration: Duration, times: u32 },
    /// The next upload to complete ends `FAILED` with this `fail_reason` instead of posting.
    FailPublish { reason: String },
    /// Every upload URL handed out so far expires at once (PUT answers 403). Applied when
    /// scripted rather than queued; URLs minted later are unaffected.
    ExpireUploadUrls,
}

impl Fault {
    /// Whether the fault can ever fire.
    fn is_live(&self) -> bool {
        match self {
            Self::ChunkStatus { times, .. }
            | Self::ApiError { times, .. }
            | Self::Hang { times, .. }
            | Self::LateTokenAnswer { times, .. } => *times > 0,
            _ => true,
        }
    }

    /// Uses one occurrence; true when none are left.
    fn use_once(&mut self) -> bool {
        match self {
            Self::ChunkStatus { times, .. }
            | Self::ApiError { times, .. }
            | Self::Hang { times, .. }
            | Self::LateTokenAnswer { times, .. } => {
                *times = times.saturating_sub(1);
                *times == 0
            }
            _ => true,
        }
    }
}

/// The faults still to fire, oldest first.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    /// Only live faults: a fault leaves the queue when its last occurrence is used.
    queued: Vec<Fault>,
}

impl FaultQueue {
    /// Queues `fault` unless it can never fire.
    pub(crate) fn push(&mut self, fault: Fault) {
        if fault.is_live() {
            self.queued.push(fault);
        }
    }

    /// The faults still queued, oldest first.
    pub(crate) fn pending(&self) -> Vec<Fault> {
        self.queued.clone()
    }

    /// How long to stall a call to `endpoint`, if a `Hang` applies.
    pub(crate) fn hang(&mut self, for_endpoint: Endpoint) -> Option<Duration> {
        self.take(|fault| match fault {
            Fault::Hang {
                endpoint, duration, ..
            } if *endpoint == for_endpoint => Some(*duration),
            _ => None,
        })
    }

    /// How long to hold back the token endpoint's answer, if a `LateTokenAnswer` applies.
    pub(crate) fn late_token_answer(&mut self) -> Option<Duration> {
        self.take(|fault| match fault {
            Fault::LateTokenAnswer { duration, .. } => Some(*duration),
            _ => None,
        })
    }

    /// The error to answer a call to `endpoint` with, if an `ApiError` applies.
    pub(crate) fn api_error(&mut self, for_endpoint: Endpoint) -> Option<(ErrorCode, u16)> {
        self.take(|fault| match fault {
            Fault::ApiError {
                endpoint,
                code,
                http_status,
                ..
            } if *endpoint == for_endpoint => Some((code.clone(), *http_status)),
            _ => None,
        })
    }

    /// The status to answer a PUT of chunk `index` with, if a `ChunkStatus` applies.
    pub(crate) fn chunk_status(&mut self, index: u64) -> Option<u16> {
        self.take(|fault| match fault {
            Fault::ChunkStatus { chunk, status, .. } if *chunk == index => Some(*status),
            _ => None,
        })
    }

    /// Whether to cut the connection of a PUT of chunk `index`.
    pub(crate) fn drop_connection(&mut self, index: u64) -> bool {
        self.take(|fault| match fault {
            Fault::DropConnection { chunk } if *chunk == index => Some(()),
            _ => None,
        })
        .is_some()
    }

    /// How long a PUT of chunk `index` waits before its body is read, if a `HangChunk` applies.
    pub(crate) fn hang_chunk(&mut self, index: u64) -> Option<Duration> {
        self.take(|fault| match fault {
            Fault::HangChunk { chunk, duration } if *chunk == index => Some(*duration),
            _ => None,
        })
    }

    /// How long to hold back the answer to an accepted PUT of chunk `index`, if a `LateAnswer`
    /// applies.
    pub(crate) fn late_answer(&mut self, index: u64) -> Option<Duration> {
        self.take(|fault| match fault {
            Fault::LateAnswer { chunk, duration } if *chunk == index => Some(*duration),
            _ => None,
        })
    }

    /// How long to wait before storing a PUT of chunk `index` whose body arrived whole, if a
    /// `LateStore` applies.
    pub(crate) fn late_store(&mut self, index: u64) -> Option<Duration> {
        self.take(|fault| match fault {
            Fault::LateStore { chunk, duration } if *chunk == index => Some(*duration),
            _ => None,
        })
    }

    /// Whether to accept a PUT of chunk `index` and then drop its answer.
    pub(crate) fn lose_answer(&mut self, index: u64) -> bool {
        self.take(|fault| match fault {
            Fault::LoseAnswer { chunk } if *chunk == index => Some(()),
            _ => None,
        })
        .is_some()
    }

    /// The `fail_reason` for the upload completing now, if a `FailPublish` is queued.
    pub(crate) fn fail_publish(&mut self) -> Option<String> {
        self.take(|fault| match fault {
            Fault::FailPublish { reason } => Some(reason.clone()),
            _ => None,
        })
    }

    /// Uses one occurrence of the oldest fault `pick` applies to and returns what it yields.
    fn take<T>(&mut self, pick: impl Fn(&Fault) -> Option<T>) -> Option<T> {
        let (index, value) = self
            .queued
            .iter()
            .enumerate()
            .find_map(|(index, fault)| pick(fault).map(|value| (index, value)))?;
        if self.queued[index].use_once() {
            self.queued.remove(index);
        }
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_fire_as_often_as_scripted_in_order() {
        let mut queue = FaultQueue::default();
        queue.push(Fault::ChunkStatus {
            chunk: 1,
            status: 503,
            times: 2,
        });
        queue.push(Fault::ChunkStatus {
            chunk: 1,
            status: 500,
            times: 1,
        });
        queue.push(Fault::DropConnection { chunk: 0 });
        queue.push(Fault::Hang {
            endpoint: Endpoint::VideoInit,
            duration: Duration::from_secs(1),
            times: 0,
        });
        assert_eq!(queue.pending().len(), 3, "times: 0 is not queued");
        assert_eq!(queue.chunk_status(0), None);
        assert_eq!(queue.chunk_status(1), Some(503));
        assert_eq!(queue.chunk_status(1), Some(503));
        assert_eq!(queue.chunk_status(1), Some(500));
        assert_eq!(queue.chunk_status(1), None);
        assert!(!queue.drop_connection(1));
        assert!(queue.drop_connection(0));
        assert!(!queue.drop_connection(0));
        assert_eq!(queue.hang(Endpoint::VideoInit), None);
        assert!(queue.pending().is_empty());

        queue.push(Fault::HangChunk {
            chunk: 1,
            duration: Duration::from_secs(2),
        });
        queue.push(Fault::LateAnswer {
            chunk: 5,
            duration: Duration::from_secs(3),
        });
        assert_eq!(queue.hang_chunk(0), None);
        assert_eq!(queue.late_answer(1), None);
        assert_eq!(queue.hang_chunk(1), Some(Duration::from_secs(2)));
        assert_eq!(queue.hang_chunk(1), None, "once");
        assert_eq!(queue.late_answer(5), Some(Duration::from_secs(3)));
        assert!(queue.pending().is_empty());

        queue.push(Fault::LateStore {
            chunk: 2,
            duration: Duration::from_secs(4),
        });
        assert_eq!(queue.late_answer(2), None, "another fault");
        assert_eq!(queue.late_store(2), Some(Duration::from_secs(4)));
        assert!(queue.pending().is_empty(), "once");
    }
}
