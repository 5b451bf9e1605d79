//! The engine's loop, over any [`Transport`] and [`Surroundings`]: which chunk goes next, and
//! what each answer means for the upload. The browser runs it through [`super::run`]; tests run
//! it natively with TikTok's answers scripted.

use super::transport::{Put, Surroundings, Target, Transport, UploadError, judge};
use super::{Control, End, Event, Job, Options};
use protocol::relay::{DirectPut, Route, Turn};
use protocol::retry::{
    ChunkFailure, Decision, resume_offset_from_uploaded, should_retry, with_jitter,
};
use std::cell::Cell;
use std::rc::Rc;

/// How often a paused or offline upload looks again.
const WAIT_STEP_MS: u32 = 250;

/// Sends the chunks of `job` through `transport`, from `job.confirmed` on, until TikTok holds
/// every byte or nothing more can help. `job` is updated as TikTok confirms bytes.
pub async fn drive(
    job: &mut Job,
    transport: &impl Transport,
    around: &impl Surroundings,
    control: &Control,
    options: &Options,
    on_event: Rc<dyn Fn(Event)>,
) -> End {
    let mut attempt = 0;
    let mut route = Route::new(job.relay);
    // A confirmation not yet told to the page: it is told right after the next chunk is sent.
    let unreported = Cell::new(None::<u64>);
    let report_confirmed = || {
        if let Some(offset) = unreported.take() {
            on_event(Event::Confirmed(offset));
        }
    };
    loop {
        if job.confirmed >= job.plan.video_size {
            report_confirmed();
            return End::Done;
        }
        let Some(chunk) = job.plan.chunk_starting_at(job.confirmed) else {
            report_confirmed();
            let total = job.plan.total_chunk_count;
            return End::Failed(UploadError::OutOfSync { chunk: 0, total });
        };
        if control.is_cancelled() {
            report_confirmed();
            return End::Cancelled;
        }
        if control.is_paused() {
            report_confirmed();
            on_event(Event::Paused);
            wait_while(around, || control.is_paused() && !control.is_cancelled()).await;
            if control.is_cancelled() {
                return End::Cancelled;
            }
            on_event(Event::Resumed);
        }
        if !around.online() {
            report_confirmed();
            on_event(Event::Offline);
            wait_while(around, || !around.online() && !control.is_cancelled()).await;
            continue;
        }

        let put = Put {
            target: if job.relay {
                Target::Relay(around.relay_url(&job.publish_id))
            } else {
                Target::Direct(job.upload_url.clone())
            },
            chunk,
            content_type: job.content_type,
            stall_timeout_ms: options.stall_timeout_ms,
        };
        let (start, report) = (chunk.start, on_event.clone());
        let started = |abort| {
            control.hold(abort);
            // The chunk is on its way: now the page may save the job and redraw.
            report_confirmed();
        };
        let sent = transport
            .put(&put, started, move |loaded| {
                report(Event::Sent(start + loaded))
            })
            .await;
        control.release();
        report_confirmed();
        let reply = match sent {
            Ok(reply) => reply,
            Err(error) => return End::Failed(error),
        };
        if control.is_cancelled() {
            return End::Cancelled;
        }
        if reply.status == 0 && control.is_paused() {
            // Aborted by the pause: the same chunk goes again on resume, no attempt spent.
            continue;
        }
        let judged = judge(&reply, &chunk, &job.plan);
        let ended = DirectPut {
            status: reply.status,
            body_sent: reply.body_sent,
            body_len: chunk.len(),
            abandoned: reply.timed_out,
            online: around.online(),
        };
        match route.note(&ended, judged.is_ok()) {
            Turn::Stay => {}
            Turn::RelayProven => around.remember_relay(),
            Turn::ToRelay => {
                job.relay = true;
                attempt = 0;
                on_event(Event::Relayed);
                continue;
            }
        }
        let error = match judged {
            Ok(()) => {
                job.confirmed = chunk.end;
                attempt = 0;
                unreported.set(Some(chunk.end));
                continue;
            }
            Err(error) => error,
        };
        attempt += 1;
        let failure = ChunkFailure::of(reply.status, reply.content_range);
        match should_retry(&failure, attempt, &options.retry_delays_ms, &job.plan) {
            Decision::RetryAfter { delay_ms } => {
                let delay_ms = with_jitter(delay_ms, around.random());
                on_event(Event::Retrying {
                    chunk: chunk.index,
                    attempt,
                    delay_ms,
                    status: reply.status,
                });
                around.sleep(delay_ms).await;
            }
            Decision::ResumeFrom { offset } => {
                job.confirmed = offset;
                on_event(Event::Resynced {
                    offset,
                    status: reply.status,
                });
            }
            Decision::AskStatus => {
                let uploaded = around.uploaded_bytes(&job.publish_id).await;
                match uploaded.and_then(|bytes| resume_offset_from_uploaded(&job.plan, bytes)) {
                    Some(offset) => {
                        job.confirmed = offset;
                        on_event(Event::Resynced {
                            offset,
                            status: reply.status,
                        });
                    }
                    None => return End::Reinit(error),
                }
            }
            Decision::Reinit => return End::Reinit(error),
            Decision::Stop => return End::Failed(error),
        }
    }
}

async fn wait_while(around: &impl Surroundings, condition: impl Fn() -> bool) {
    while condition() {
        around.sleep(WAIT_STEP_MS).await;
    }
}
