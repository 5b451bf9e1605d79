//! The post's course, run natively: the engine drives a scripted TikTok, the proxy's inits and
//! status answers are scripted too, and each test asserts what the page showed, what the proxy
//! was asked and logged, and how long the course slept on the test's clock.

use super::{Page, Phase, Upload, upload_and_follow};
use crate::api::ApiError;
use crate::engine::transport::{Abort, ChunkReply, Put, Target};
use crate::engine::{Control, End, Job, Options, Proxy, Surroundings, Transport, UploadError};
use futures::executor::block_on;
use protocol::chunk::ChunkPlan;
use protocol::media::ContentType;
use protocol::progress::Progress;
use protocol::status::{FailReason, PublishStatus};
use protocol::wire::{CreatePost, PostMode, PostState, UploadEvent, UploadEventKind};
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

/// 30 MB + 7 bytes in three chunks.
const SIZE: u64 = 30_000_007;
const CHUNK: u64 = 10_000_000;
const FIRST_URL: &str = "https://upload.example/first";
const FRESH_URL: &str = "https://upload.example/fresh";

/// How a chunk's `PUT` ends, as the script plays it.
type Reply = Result<ChunkReply, UploadError>;

/// The page, the proxy, TikTok and the clock, as one script.
#[derive(Default)]
struct World {
    /// TikTok's status for each chunk's `PUT`, in order.
    puts: RefCell<VecDeque<u16>>,
    /// The proxy's answers to status calls, the engine's and the polls' alike, in order.
    states: RefCell<VecDeque<Result<PostState, ApiError>>>,
    /// The proxy's answers to fresh inits.
    inits: RefCell<VecDeque<Result<Job, ApiError>>>,
    /// What the page sent: `URL bytes A-B/T`.
    sent: RefCell<Vec<String>>,
    /// The requests of the fresh inits asked for.
    asked: RefCell<Vec<CreatePost>>,
    shown: RefCell<Vec<Phase>>,
    reported: RefCell<Vec<UploadEvent>>,
    slept: RefCell<Vec<u32>>,
    clock_ms: Cell<u64>,
    finished: Cell<u32>,
    control: Control,
}

impl World {
    fn new(puts: &[u16]) -> Self {
        let world = Self::default();
        world.puts.replace(puts.iter().copied().collect());
        world
    }

    fn with_states(self, states: Vec<Result<PostState, ApiError>>) -> Self {
        self.states.replace(states.into());
        self
    }

    fn with_inits(self, inits: Vec<Result<Job, ApiError>>) -> Self {
        self.inits.replace(inits.into());
        self
    }

    /// Runs the course from a first job, `request` known when the post started on this page.
    fn run(&self, request: Option<&CreatePost>) {
        block_on(upload_and_follow(self, self, job(FIRST_URL), request, 0.0));
    }

    fn last_shown(&self) -> Phase {
        self.shown
            .borrow()
            .last()
            .cloned()
            .expect("the page showed something")
    }

    fn reported(&self) -> Vec<UploadEventKind> {
        self.reported.borrow().iter().map(|e| e.kind).collect()
    }
}

fn job(upload_url: &str) -> Job {
    Job {
        publish_id: "p.1".into(),
        upload_url: upload_url.into(),
        plan: ChunkPlan::validate(SIZE, CHUNK, 3).expect("a valid plan"),
        content_type: ContentType::Mp4,
        relay: false,
        confirmed: 0,
    }
}

fn request() -> CreatePost {
    CreatePost {
        mode: PostMode::Direct,
        video_size: SIZE,
        content_type: "video/mp4".into(),
        file_name: "clip.mp4".into(),
        post_info: Default::default(),
    }
}

fn state(status: &str, uploaded_bytes: Option<u64>) -> Result<PostState, ApiError> {
    Ok(PostState {
        publish_id: "p.1".into(),
        status: PublishStatus::parse(status),
        fail_reason: None,
        post_ids: Vec::new(),
        uploaded_bytes,
    })
}

fn unreachable() -> Result<PostState, ApiError> {
    Err(ApiError::Network("connection refused".into()))
}

impl Page for World {
    fn show(&self, phase: Phase) {
        self.shown.borrow_mut().push(phase);
    }

    async fn upload(&self, job: &mut Job, _started_at_ms: f64) -> End {
        let options = Options::default();
        crate::engine::drive(job, self, self, &self.control, &options, Rc::new(|_| {})).await
    }

    fn finished(&self) {
        self.finished.set(self.finished.get() + 1);
    }

    fn now_ms(&self) -> f64 {
        self.clock_ms.get() as f64
    }
}

impl Transport for World {
    async fn put(&self, put: &Put, _: impl FnOnce(Abort), _: impl Fn(u64) + 'static) -> Reply {
        let Target::Direct(url) = &put.target else {
            panic!("no relay in these scripts");
        };
        let status = self.puts.borrow_mut().pop_front().expect("a scripted PUT");
        self.sent
            .borrow_mut()
            .push(format!("{url} {}", put.chunk.content_range()));
        Ok(ChunkReply {
            status,
            content_range: None,
            timed_out: false,
            body_sent: put.chunk.len(),
        })
    }
}

impl Surroundings for World {
    async fn sleep(&self, ms: u32) {
        self.slept.borrow_mut().push(ms);
        self.clock_ms.set(self.clock_ms.get() + u64::from(ms));
    }

    fn online(&self) -> bool {
        true
    }

    fn random(&self) -> f64 {
        0.5
    }

    async fn uploaded_bytes(&self, publish_id: &str) -> Option<u64> {
        self.post_state(publish_id).await.ok()?.uploaded_bytes
    }

    fn relay_url(&self, publish_id: &str) -> String {
        format!("/api/posts/{publish_id}/chunk")
    }

    fn remember_relay(&self) {}
}

impl Proxy for World {
    async fn init(&self, request: &CreatePost) -> Result<Job, ApiError> {
        self.asked.borrow_mut().push(request.clone());
        self.inits
            .borrow_mut()
            .pop_front()
            .expect("a scripted init")
    }

    async fn post_state(&self, _publish_id: &str) -> Result<PostState, ApiError> {
        self.states
            .borrow_mut()
            .pop_front()
            .expect("a scripted status")
    }

    fn report(&self, _publish_id: &str, event: UploadEvent) {
        self.reported.borrow_mut().push(event);
    }
}

#[test]
fn a_second_expired_link_after_the_one_fresh_init_fails_clearly() {
    let world = World::new(&[403, 403]).with_inits(vec![Ok(job(FRESH_URL))]);
    world.run(Some(&request()));
    assert_eq!(
        world.asked.borrow().as_slice(),
        [request()],
        "one fresh init"
    );
    assert_eq!(
        world.sent.borrow().as_slice(),
        [
            format!("{FIRST_URL} bytes 0-9999999/{SIZE}"),
            format!("{FRESH_URL} bytes 0-9999999/{SIZE}"),
        ]
    );
    let expired = UploadError::Expired.to_string();
    assert_eq!(
        world.shown.borrow().as_slice(),
        [Phase::Starting, Phase::failed(expired.clone())]
    );
    let reported = world.reported.borrow();
    assert_eq!(
        reported.iter().map(|e| e.kind).collect::<Vec<_>>(),
        [UploadEventKind::Reinitialized, UploadEventKind::Failed]
    );
    assert_eq!(
        reported[0].message.as_deref(),
        Some(format!("{expired} Starting the upload again with a new link.").as_str())
    );
    assert_eq!(world.finished.get(), 1);
}

#[test]
fn a_dead_link_of_a_resumed_upload_fails_without_a_fresh_init() {
    // After a reload the page no longer has the request to init with.
    let world = World::new(&[404]);
    world.run(None);
    assert!(world.asked.borrow().is_empty());
    assert_eq!(
        world.last_shown(),
        Phase::failed(UploadError::NotFound.to_string())
    );
    assert_eq!(world.reported(), [UploadEventKind::Failed]);
}

#[test]
fn a_fresh_init_the_proxy_refuses_ends_the_post_with_its_code() {
    let refused = ApiError::Refused {
        status: 429,
        code: "rate_limit_exceeded".into(),
        message: "Too many posts; wait a minute.".into(),
        log_id: None,
    };
    let world = World::new(&[403]).with_inits(vec![Err(refused.clone())]);
    world.run(Some(&request()));
    assert_eq!(
        world.shown.borrow().as_slice(),
        [Phase::Starting, Phase::refused(&refused)]
    );
    let Phase::Failed { code, .. } = world.last_shown() else {
        panic!("the post failed");
    };
    assert_eq!(code.as_deref(), Some("rate_limit_exceeded"));
    assert_eq!(world.finished.get(), 1);
}

#[test]
fn a_416_without_a_readable_range_resumes_from_the_status_uploaded_bytes() {
    let world = World::new(&[206, 416, 201]).with_states(vec![
        state("PROCESSING_UPLOAD", Some(2 * CHUNK)),
        state("PUBLISH_COMPLETE", None),
    ]);
    world.run(Some(&request()));
    assert_eq!(
        world.sent.borrow().as_slice(),
        [
            format!("{FIRST_URL} bytes 0-9999999/{SIZE}"),
            format!("{FIRST_URL} bytes 10000000-19999999/{SIZE}"),
            format!("{FIRST_URL} bytes 20000000-30000006/{SIZE}"),
        ]
    );
    assert!(world.asked.borrow().is_empty(), "no fresh init");
    assert!(matches!(world.last_shown(), Phase::Done(_)));
}

#[test]
fn a_416_whose_status_call_fails_starts_again_with_a_fresh_init() {
    let world = World::new(&[206, 416, 206, 206, 201])
        .with_states(vec![unreachable(), state("PUBLISH_COMPLETE", None)])
        .with_inits(vec![Ok(job(FRESH_URL))]);
    world.run(Some(&request()));
    assert_eq!(world.asked.borrow().len(), 1);
    assert_eq!(
        world.sent.borrow()[2..],
        [
            format!("{FRESH_URL} bytes 0-9999999/{SIZE}"),
            format!("{FRESH_URL} bytes 10000000-19999999/{SIZE}"),
            format!("{FRESH_URL} bytes 20000000-30000006/{SIZE}"),
        ]
    );
    assert_eq!(world.reported(), [UploadEventKind::Reinitialized]);
    assert!(matches!(world.last_shown(), Phase::Done(_)));
}

#[test]
fn polls_show_each_status_until_the_final_one_a_second_then_three_apart() {
    let world = World::new(&[206, 206, 201]).with_states(vec![
        state("PROCESSING_UPLOAD", None),
        state("PROCESSING_DOWNLOAD", None),
        state("PUBLISH_COMPLETE", None),
    ]);
    world.run(Some(&request()));
    assert_eq!(world.slept.borrow().as_slice(), [1_000, 3_000, 3_000]);
    let processing = |status| Phase::Processing { status };
    assert_eq!(
        world.shown.borrow()[..3],
        [
            processing(None),
            processing(Some(PublishStatus::ProcessingUpload)),
            processing(Some(PublishStatus::ProcessingDownload)),
        ]
    );
    assert_eq!(world.last_shown().text(), "Posted to TikTok.");
    assert_eq!(world.finished.get(), 1);
}

#[test]
fn a_failed_post_shows_tiktoks_reason() {
    let mut failed = state("FAILED", None);
    if let Ok(state) = &mut failed {
        state.fail_reason = Some(FailReason("spam_risk_text".into()));
    }
    let world = World::new(&[206, 206, 201]).with_states(vec![failed]);
    world.run(Some(&request()));
    assert_eq!(
        world.last_shown().text(),
        format!(
            "TikTok could not post the video: {}",
            FailReason("spam_risk_text".into()).user_message()
        )
    );
}

#[test]
fn polling_gives_up_after_ten_failures_in_a_row_and_says_so() {
    // Ten failures, a good answer (which starts the count again), then eleven failures.
    let mut states: Vec<_> = (0..10).map(|_| unreachable()).collect();
    states.push(state("PROCESSING_UPLOAD", None));
    states.extend((0..11).map(|_| unreachable()));
    let world = World::new(&[206, 206, 201]).with_states(states);
    world.run(Some(&request()));
    assert!(world.states.borrow().is_empty(), "every scripted poll made");
    let mut delays = vec![1_000];
    delays.extend([3_000; 21]);
    assert_eq!(world.slept.borrow().as_slice(), delays);
    let Phase::Failed { message, .. } = world.last_shown() else {
        panic!("polling gave up");
    };
    assert_eq!(
        message,
        "The video was uploaded, but its status could not be read: The autoposter server could not be reached. Check that it is running, then try again. It may still appear on your TikTok profile."
    );
}

#[test]
fn a_cancelled_upload_says_what_becomes_of_the_bytes_sent() {
    let world = World::new(&[]);
    world.control.cancel();
    world.run(Some(&request()));
    let Phase::Failed {
        message, status, ..
    } = world.last_shown()
    else {
        panic!("the post stopped");
    };
    assert!(message.starts_with("Upload cancelled."), "{message}");
    assert_eq!(status, Some(PublishStatus::Other("CANCELLED".into())));
    assert_eq!(world.last_shown().raw_status(), "CANCELLED");
    assert_eq!(world.reported(), [UploadEventKind::Cancelled]);
}

#[test]
fn each_phase_has_its_status_line_raw_status_and_lock() {
    let upload = |paused| {
        Phase::Uploading(Upload {
            progress: Progress {
                sent: 42,
                total: 100,
                resumed_from: 0,
                elapsed_secs: 1.0,
            },
            paused,
            relay: false,
            note: None,
            late: false,
        })
    };
    let done = |status: &str| match state(status, None) {
        Ok(state) => Phase::Done(state),
        Err(error) => panic!("{error}"),
    };
    let still = "TikTok is still processing the video…";
    for (phase, busy, raw, text) in [
        (Phase::Editing, false, "", ""),
        (
            Phase::Starting,
            true,
            "UPLOADING",
            "Asking TikTok for an upload link…",
        ),
        (upload(false), true, "UPLOADING", "Uploading — 42 %"),
        (
            upload(true),
            true,
            "PAUSED",
            "Paused at 42 %. Resume within the hour TikTok allows.",
        ),
        (
            Phase::Processing { status: None },
            true,
            "PROCESSING_UPLOAD",
            PublishStatus::ProcessingUpload.user_message(),
        ),
        (
            done("SEND_TO_USER_INBOX"),
            false,
            "SEND_TO_USER_INBOX",
            "Sent to your TikTok inbox — open TikTok to finish.",
        ),
        (
            done("FAILED"),
            false,
            "FAILED",
            "TikTok could not post the video: no reason was given.",
        ),
        (
            done("PUBLISH_TRANSCODED"),
            false,
            "PUBLISH_TRANSCODED",
            still,
        ),
        (Phase::failed("Nope.".into()), false, "ERROR", "Nope."),
    ] {
        assert_eq!(phase.busy(), busy, "{phase:?}");
        assert_eq!(phase.raw_status(), raw, "{phase:?}");
        assert_eq!(phase.text(), text, "{phase:?}");
    }
}
