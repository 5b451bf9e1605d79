//! A request body that fails when nothing arrives for a while. Idle, not total: every frame
//! restarts the clock, so a slow but steady upload always finishes and only a stalled one fails.

use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The error a boxed body error is, when it failed for being idle; found again with
/// `downcast_ref` (or [`is_stalled`]) to answer 408.
#[derive(Debug, thiserror::Error)]
#[error("no byte of the request body arrived for {} s", .0.as_secs_f32())]
pub struct BodyStalled(pub Duration);

/// Whether `error`, or anything it was caused by, is a [`BodyStalled`].
pub fn is_stalled(error: &(dyn std::error::Error + 'static)) -> Option<Duration> {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(stalled) = error.downcast_ref::<BodyStalled>() {
            return Some(stalled.0);
        }
        next = error.source();
    }
    None
}

/// `inner`, failing with [`BodyStalled`] when no frame arrives within `timeout`.
#[derive(Debug)]
pub struct IdleBody<B> {
    inner: B,
    timeout: Duration,
    /// Due `timeout` after the last frame (or the start).
    deadline: Pin<Box<Sleep>>,
}

impl<B> IdleBody<B> {
    pub fn new(inner: B, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }
}

impl<B> Body for IdleBody<B>
where
    B: Body + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = B::Data;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                this.deadline.as_mut().reset(Instant::now() + this.timeout);
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyStalled(this.timeout))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use http_body_util::BodyExt;
    use std::convert::Infallible;
    use tokio::sync::mpsc;

    /// A body whose frames come from a channel.
    struct Channel(mpsc::Receiver<Bytes>);

    impl Body for Channel {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            self.0
                .poll_recv(cx)
                .map(|bytes| bytes.map(|b| Ok(Frame::data(b))))
        }
    }

    /// A body of `frames` one-byte frames arriving `gap` apart.
    fn trickle(frames: usize, gap: Duration) -> Channel {
        let (sender, receiver) = mpsc::channel(1);
        tokio::spawn(async move {
            for _ in 0..frames {
                tokio::time::sleep(gap).await;
                if sender.send(Bytes::from_static(b"x")).await.is_err() {
                    return;
                }
            }
        });
        Channel(receiver)
    }

    #[tokio::test(start_paused = true)]
    async fn a_steady_body_finishes_and_a_stalled_one_fails() {
        let steady = IdleBody::new(
            trickle(10, Duration::from_millis(900)),
            Duration::from_secs(1),
        );
        let bytes = steady.collect().await.expect("never idle 1 s").to_bytes();
        assert_eq!(bytes.len(), 10, "9 s in total, longer than the timeout");

        let stalled = IdleBody::new(trickle(2, Duration::from_secs(2)), Duration::from_secs(1));
        let error = stalled.collect().await.expect_err("stalls for 2 s");
        assert_eq!(is_stalled(&*error), Some(Duration::from_secs(1)));
    }
}
