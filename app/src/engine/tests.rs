//! The engine's decisions, run natively: a scripted TikTok answers one `PUT` at a time, a clock
//! the test owns stands in for the browser's timers, and each test asserts what was sent (which
//! byte ranges, to TikTok directly or through the relay) and how the upload ended.

use super::transport::{Abort, ChunkReply, Put, Surroundings, Target, Transport, UploadError};
use super::{Control, End, Event, Job, Options, drive};
use futures::executor::block_on;
use protocol::chunk::{ChunkPlan, ContentRange};
use protocol::media::ContentType;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

/// 30 MB + 7 bytes in three chunks: `0-9999999`, `10000000-19999999`, `20000000-30000006`.
const SIZE: u64 = 30_000_007;
const CHUNK: u64 = 10_000_000;
const RELAY_URL: &str = "/api/posts/p.1/chunk";

/// What the browser sees of one `PUT`, as the script plays it.
#[derive(Debug, Clone, Copy)]
enum Answer {
    /// TikTok takes the chunk: 206, or 201 for the last.
    Accept,
    /// This status, no `Content-Range` the browser may read.
    Status(u16),
    /// This status with `Content-Range: bytes 0-LAST/SIZE`.
    Holds(u16, u64),
    /// No readable answer, the way a refused CORS preflight fails: none of the body sent.
    Refused,
    /// No readable answer after the whole body went: TikTok's answer withheld from the page.
    Withheld,
    /// No progress for the stall timeout: the page gave up on the request.
    Stalled,
    /// The page acts while the PUT is in flight (which aborts it, for a pause or a cancel).
    During(Action),
    /// The browser cannot even make the request.
    Unsendable,
}

#[derive(Debug, Clone, Copy)]
enum Action {
    Pause,
    Cancel,
    GoOffline,
}

/// TikTok, the proxy and the browser's clock, as one script.
struct World {
    answers: RefCell<VecDeque<Answer>>,
    /// The proxy's `uploaded_bytes` answers, one per status call (`None`: the call failed).
    uploaded: RefCell<VecDeque<Option<u64>>>,
    control: Control,
    /// What was sent: `direct bytes A-B/T` or `relay bytes A-B/T`.
    sent: RefCell<Vec<String>>,
    /// Every sleep the engine asked for, in milliseconds.
    slept: RefCell<Vec<u32>>,
    clock_ms: Cell<u64>,
    /// What the page does, and when, on the test's clock (between chunks: in a retry's wait).
    planned: RefCell<Vec<(u64, Action)>>,
    /// When the page resumes, or the network comes back, on the test's clock.
    back_at_ms: Cell<Option<u64>>,
    online: Cell<bool>,
    aborted: Cell<u32>,
    relay_remembered: Cell<bool>,
}

/// How long a pause or an offline spell lasts.
const AWAY_MS: u64 = 2_000;

impl World {
    fn new(answers: &[Answer]) -> Self {
        Self {
            answers: RefCell::new(answers.iter().copied().collect()),
            uploaded: RefCell::default(),
            control: Control::default(),
            sent: RefCell::default(),
            slept: RefCell::default(),
            clock_ms: Cell::new(0),
            planned: RefCell::default(),
            back_at_ms: Cell::new(None),
            online: Cell::new(true),
            aborted: Cell::new(0),
            relay_remembered: Cell::new(false),
        }
    }

    fn with_uploaded(self, answers: &[Option<u64>]) -> Self {
        self.uploaded.replace(answers.iter().copied().collect());
        self
    }

    /// The page does `action` once the test's clock reaches `at_ms`.
    fn at(self, at_ms: u64, action: Action) -> Self {
        self.planned.borrow_mut().push((at_ms, action));
        self
    }

    fn act(&self, action: Action) {
        match action {
            Action::Pause => self.control.pause(),
            Action::Cancel => self.control.cancel(),
            Action::GoOffline => self.online.set(false),
        }
        self.back_at_ms.set(Some(self.clock_ms.get() + AWAY_MS));
    }

    fn sent(&self) -> Vec<String> {
        self.sent.borrow().clone()
    }

    fn slept(&self) -> Vec<u32> {
        self.slept.borrow().clone()
    }
}

impl Transport for World {
    async fn put<'a>(
        &'a self,
        put: &'a Put,
        started: impl FnOnce(Abort),
        progress: impl Fn(u64) + 'static,
    ) -> Result<ChunkReply, UploadError> {
        let way = match &put.target {
            Target::Direct(url) => {
                assert_eq!(
                    url, "https://upload.example/u?token=t",
                    "TikTok's URL, whole"
                );
                "direct"
            }
            Target::Relay(url) => {
                assert_eq!(url, RELAY_URL);
                "relay"
            }
        };
        self.sent
            .borrow_mut()
            .push(format!("{way} {}", put.chunk.content_range()));
        let aborted = Rc::new(Cell::new(false));
        let abort = aborted.clone();
        started(Box::new(move || abort.set(true)));
        let answer = self.answers.borrow_mut().pop_front();
        let answer = answer.unwrap_or_else(|| panic!("no answer scripted for {put:?}"));
        let len = put.chunk.len();
        let reply = |status, content_range, body_sent, timed_out| ChunkReply {
            status,
            content_range,
            timed_out,
            body_sent,
        };
        let accepted = reply(if put.chunk.is_last { 201 } else { 206 }, None, len, false);
        let answered = match answer {
            Answer::Accept => accepted,
            Answer::Status(status) => reply(status, None, len, false),
            Answer::Holds(status, last) => {
                let range = ContentRange {
                    first: 0,
                    last,
                    total: SIZE,
                };
                reply(status, Some(range), len, false)
            }
            Answer::Refused => reply(0, None, 0, false),
            Answer::Withheld => reply(0, None, len, false),
            Answer::Stalled => reply(0, None, len / 2, true),
            Answer::Unsendable => return Err(UploadError::Browser("TypeError: no".into())),
            Answer::During(action) => {
                progress(len / 2);
                self.act(action);
                reply(0, None, len / 2, false)
            }
        };
        if aborted.get() {
            self.aborted.set(self.aborted.get() + 1);
        }
        progress(answered.body_sent);
        Ok(answered)
    }
}

impl Surroundings for World {
    async fn sleep(&self, ms: u32) {
        self.slept.borrow_mut().push(ms);
        let now = self.clock_ms.get() + u64::from(ms);
        self.clock_ms.set(now);
        let due = self.planned.borrow().iter().position(|&(at, _)| at <= now);
        if let Some(due) = due {
            let (_, action) = self.planned.borrow_mut().remove(due);
            return self.act(action);
        }
        if self.back_at_ms.get().is_some_and(|at| at <= now) {
            self.back_at_ms.set(None);
            self.control.resume();
            self.online.set(true);
        }
    }

    fn online(&self) -> bool {
        self.online.get()
    }

    fn random(&self) -> f64 {
        // The middle of the jitter: delays exactly as configured.
        0.5
    }

    async fn uploaded_bytes(&self, publish_id: &str) -> Option<u64> {
        assert_eq!(publish_id, "p.1");
        let answer = self.uploaded.borrow_mut().pop_front();
        answer.expect("a status call was scripted")
    }

    fn relay_url(&self, publish_id: &str) -> String {
        assert_eq!(publish_id, "p.1");
        RELAY_URL.to_owned()
    }

    fn remember_relay(&self) {
        self.relay_remembered.set(true);
    }
}

fn job() -> Job {
    Job {
        publish_id: "p.1".into(),
        upload_url: "https://upload.example/u?token=t".into(),
        plan: ChunkPlan::validate(SIZE, CHUNK, 3).expect("a valid plan"),
        content_type: ContentType::Mp4,
        relay: false,
        confirmed: 0,
    }
}

/// Runs the engine on a fresh job against `world`: how it ended, the job after, and every
/// event but the progress ones.
fn run(world: &World) -> (End, Job, Vec<Event>) {
    let options = Options {
        retry_delays_ms: vec![500, 1_000, 3_000],
        stall_timeout_ms: 30_000,
    };
    let events = Rc::new(RefCell::new(Vec::new()));
    let heard = events.clone();
    let on_event = Rc::new(move |event| {
        if !matches!(event, Event::Sent(_)) {
            heard.borrow_mut().push(event);
        }
    });
    let mut job = job();
    let end = block_on(drive(
        &mut job,
        world,
        world,
        &world.control.clone(),
        &options,
        on_event,
    ));
    assert!(
        world.answers.borrow().is_empty(),
        "every scripted answer was used"
    );
    let events = events.take();
    (end, job, events)
}

const C0: &str = "bytes 0-9999999/30000007";
const C1: &str = "bytes 10000000-19999999/30000007";
const C2: &str = "bytes 20000000-30000006/30000007";

fn direct(range: &str) -> String {
    format!("direct {range}")
}

fn relay(range: &str) -> String {
    format!("relay {range}")
}

fn retrying(chunk: u64, attempt: u32, delay_ms: u32, status: u16) -> Event {
    Event::Retrying {
        chunk,
        attempt,
        delay_ms,
        status,
    }
}

fn confirmed_all() -> Vec<Event> {
    [CHUNK, 2 * CHUNK, SIZE].map(Event::Confirmed).to_vec()
}

#[test]
fn five_hundreds_are_retried_after_each_delay_then_the_upload_goes_on() {
    use Answer::*;
    let world = World::new(&[Status(503), Status(503), Accept, Accept, Accept]);
    let (end, job, events) = run(&world);
    assert_eq!(end, End::Done);
    assert_eq!(job.confirmed, SIZE);
    assert_eq!(
        world.sent(),
        [C0, C0, C0, C1, C2].map(direct),
        "the same chunk again until accepted"
    );
    assert_eq!(world.slept(), [500, 1_000]);
    let mut expected = vec![retrying(0, 1, 500, 503), retrying(0, 2, 1_000, 503)];
    expected.extend(confirmed_all());
    assert_eq!(events, expected);
}

#[test]
fn retries_exhausted_stop_the_upload_with_the_last_status() {
    use Answer::*;
    let world = World::new(&[Accept, Status(502), Status(503), Status(503), Status(503)]);
    let (end, job, _) = run(&world);
    assert_eq!(
        end,
        End::Failed(UploadError::ServerError {
            chunk: 1,
            total: 3,
            status: 503
        })
    );
    assert_eq!(
        job.confirmed, CHUNK,
        "what TikTok confirmed stays confirmed"
    );
    assert_eq!(world.sent(), [C0, C1, C1, C1, C1].map(direct));
    assert_eq!(world.slept(), [500, 1_000, 3_000]);
}

#[test]
fn a_416_with_a_readable_range_resumes_where_tiktok_is() {
    use Answer::*;
    // TikTok already holds the second chunk (an earlier answer lost on the way).
    let world = World::new(&[Accept, Holds(416, 2 * CHUNK - 1), Accept]);
    let (end, _, events) = run(&world);
    assert_eq!(end, End::Done);
    assert_eq!(world.sent(), [C0, C1, C2].map(direct));
    let resynced = Event::Resynced {
        offset: 2 * CHUNK,
        status: 416,
    };
    assert_eq!(
        events,
        [Event::Confirmed(CHUNK), resynced, Event::Confirmed(SIZE)]
    );
    assert!(world.slept().is_empty(), "a resync waits for nothing");
}

#[test]
fn a_416_without_a_readable_range_asks_the_status_and_resumes_from_uploaded_bytes() {
    use Answer::*;
    let world = World::new(&[Accept, Status(416), Accept, Accept]).with_uploaded(&[Some(CHUNK)]);
    let (end, _, events) = run(&world);
    assert_eq!(end, End::Done);
    assert_eq!(world.sent(), [C0, C1, C1, C2].map(direct));
    assert!(events.contains(&Event::Resynced {
        offset: CHUNK,
        status: 416
    }));
}

#[test]
fn a_416_with_no_usable_status_needs_a_fresh_init() {
    use Answer::*;
    // The status call fails, or reports bytes that are no chunk boundary.
    for uploaded in [None, Some(CHUNK + 1)] {
        let world = World::new(&[Accept, Status(416)]).with_uploaded(&[uploaded]);
        let (end, job, _) = run(&world);
        let out_of_sync = UploadError::OutOfSync { chunk: 1, total: 3 };
        assert_eq!(end, End::Reinit(out_of_sync), "{uploaded:?}");
        assert_eq!(job.confirmed, CHUNK);
    }
}

#[test]
fn an_expired_or_gone_upload_url_needs_a_fresh_init_at_once() {
    use Answer::*;
    for (status, error) in [(403, UploadError::Expired), (404, UploadError::NotFound)] {
        let world = World::new(&[Accept, Status(status)]);
        let (end, _, _) = run(&world);
        assert_eq!(end, End::Reinit(error));
        assert_eq!(world.sent(), [C0, C1].map(direct));
        assert!(world.slept().is_empty(), "{status} is not retried");
    }
}

#[test]
fn a_stalled_put_is_retried_directly_never_taken_for_a_refusal() {
    use Answer::*;
    let world = World::new(&[Stalled, Stalled, Accept, Accept, Accept]);
    let (end, job, events) = run(&world);
    assert_eq!(end, End::Done);
    assert!(!job.relay);
    assert_eq!(world.sent(), [C0, C0, C0, C1, C2].map(direct));
    assert_eq!(
        events[..2],
        [retrying(0, 1, 500, 0), retrying(0, 2, 1_000, 0)]
    );
}

#[test]
fn two_refusal_shaped_failures_switch_to_the_relay_for_good() {
    use Answer::*;
    let world = World::new(&[Refused, Withheld, Accept, Accept, Accept]);
    let (end, job, events) = run(&world);
    assert_eq!(end, End::Done);
    assert!(job.relay, "the saved job goes on through the relay");
    assert_eq!(
        world.sent(),
        [direct(C0), direct(C0), relay(C0), relay(C1), relay(C2)]
    );
    assert_eq!(world.slept(), [500], "the switch itself waits for nothing");
    let mut expected = vec![retrying(0, 1, 500, 0), Event::Relayed];
    expected.extend(confirmed_all());
    assert_eq!(events, expected);
    assert!(world.relay_remembered.get(), "the next upload starts there");
}

#[test]
fn a_job_known_to_need_the_relay_starts_there_and_has_nothing_to_remember() {
    let world = World::new(&[Answer::Accept; 3]);
    let options = Options::default();
    let mut job = Job {
        relay: true,
        ..job()
    };
    let end = block_on(drive(
        &mut job,
        &world,
        &world,
        &world.control,
        &options,
        Rc::new(|_| {}),
    ));
    assert_eq!(end, End::Done);
    assert_eq!(world.sent(), [C0, C1, C2].map(relay));
    assert!(!world.relay_remembered.get());
}

#[test]
fn a_pause_aborts_the_chunk_in_flight_and_sends_it_again_on_resume_without_spending_an_attempt() {
    use Answer::*;
    let world = World::new(&[Accept, During(Action::Pause), Accept, Accept]);
    let (end, _, events) = run(&world);
    assert_eq!(end, End::Done);
    assert_eq!(world.aborted.get(), 1, "the PUT in flight was aborted");
    assert_eq!(world.sent(), [C0, C1, C1, C2].map(direct));
    assert_eq!(
        events,
        [
            Event::Confirmed(CHUNK),
            Event::Paused,
            Event::Resumed,
            Event::Confirmed(2 * CHUNK),
            Event::Confirmed(SIZE)
        ]
    );
    assert_eq!(
        world.slept().iter().sum::<u32>(),
        2_000,
        "paused on the test's clock"
    );
}

#[test]
fn a_pause_between_chunks_holds_the_next_one_until_resume() {
    use Answer::*;
    // The creator pauses while the engine waits to retry the second chunk.
    let world = World::new(&[Accept, Status(503), Accept, Accept]).at(100, Action::Pause);
    let (end, _, events) = run(&world);
    assert_eq!(end, End::Done);
    assert_eq!(world.aborted.get(), 0, "nothing was in flight");
    assert_eq!(world.sent(), [C0, C1, C1, C2].map(direct));
    assert_eq!(
        events[..4],
        [
            Event::Confirmed(CHUNK),
            retrying(1, 1, 500, 503),
            Event::Paused,
            Event::Resumed
        ]
    );
    assert_eq!(
        world.clock_ms.get(),
        500 + AWAY_MS,
        "paused on the test's clock"
    );
}

#[test]
fn a_cancel_ends_the_upload_in_flight_or_between_chunks() {
    use Answer::*;
    let world = World::new(&[Accept, During(Action::Cancel)]);
    let (end, job, _) = run(&world);
    assert_eq!(end, End::Cancelled);
    assert_eq!(world.aborted.get(), 1);
    assert_eq!(job.confirmed, CHUNK);

    let world = World::new(&[Accept, Status(503)]).at(100, Action::Cancel);
    let (end, job, _) = run(&world);
    assert_eq!(end, End::Cancelled);
    assert_eq!(
        world.sent(),
        [C0, C1].map(direct),
        "nothing sent after the cancel"
    );
    assert_eq!(job.confirmed, CHUNK);
}

#[test]
fn offline_waits_for_the_network_and_is_never_taken_for_a_refusal() {
    use Answer::*;
    let world = World::new(&[During(Action::GoOffline), Accept, Accept, Accept]);
    let (end, job, events) = run(&world);
    assert_eq!(end, End::Done);
    assert!(!job.relay);
    assert_eq!(world.sent(), [C0, C0, C1, C2].map(direct));
    assert_eq!(events[..2], [retrying(0, 1, 500, 0), Event::Offline]);
}

#[test]
fn a_put_that_cannot_be_made_fails_the_upload() {
    let world = World::new(&[Answer::Accept, Answer::Unsendable]);
    let (end, job, _) = run(&world);
    assert_eq!(
        end,
        End::Failed(UploadError::Browser("TypeError: no".into()))
    );
    assert_eq!(job.confirmed, CHUNK);
}
