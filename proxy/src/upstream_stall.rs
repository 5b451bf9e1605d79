//! Noticing that TikTok's upload host went silent during a relayed chunk. A stall timeout, not
//! a total: a 64 MB chunk on a slow uplink may take many minutes and must finish. The clock
//! runs only while the proxy waits on the upload host — to take the next piece of the body (a
//! full socket means it stopped reading), or to answer once the last byte is out — and restarts
//! with every piece it takes. While the proxy waits on the browser for the next piece, the
//! browser's own idle timeout (`idle_body.rs`) is what counts.

use hyper::body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Instant;

/// Where a relayed chunk is, as its body is read.
#[derive(Debug)]
struct State {
    /// When the upload host last took a piece (or the chunk started).
    last_progress: Instant,
    /// The upload host asked for the next piece and the browser has not sent it yet.
    waiting_on_browser: bool,
}

/// Shared between the body handed to the upload host and the watchdog.
#[derive(Debug, Clone)]
pub struct Progress(Arc<Mutex<State>>);

impl Progress {
    pub fn new() -> Self {
        Self(Arc::new(Mutex::new(State {
            last_progress: Instant::now(),
            waiting_on_browser: false,
        })))
    }

    /// `body`, reporting each piece the upload host takes.
    pub fn track<B>(&self, body: B) -> Tracked<B> {
        Tracked {
            inner: body,
            progress: self.clone(),
        }
    }

    /// Completes once the upload host has been silent for `stall` while the proxy waited on
    /// it. Run it beside the request and drop it when the answer comes.
    pub async fn stalled(&self, stall: Duration) {
        loop {
            let (last, waiting_on_browser) = {
                let state = self.lock();
                (state.last_progress, state.waiting_on_browser)
            };
            if waiting_on_browser {
                // Not the upload host's turn: look again later.
                tokio::time::sleep(stall).await;
                continue;
            }
            let due = last + stall;
            if Instant::now() >= due {
                return;
            }
            tokio::time::sleep_until(due).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Two plain fields, set whole: a poisoned state is still consistent.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A body that tells its [`Progress`] about every piece taken from it.
#[derive(Debug)]
pub struct Tracked<B> {
    inner: B,
    progress: Progress,
}

impl<B: Body + Unpin> Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        let mut state = this.progress.lock();
        match &polled {
            Poll::Pending => state.waiting_on_browser = true,
            Poll::Ready(_) => {
                // A piece taken, or the end of the body: from now on the clock measures the
                // upload host's turn (the next piece, or its answer).
                state.waiting_on_browser = false;
                state.last_progress = Instant::now();
            }
        }
        polled
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

    /// A body fed by hand, one piece at a time.
    struct Fed(tokio::sync::mpsc::Receiver<Bytes>);

    impl Body for Fed {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            self.0
                .poll_recv(cx)
                .map(|piece| piece.map(|bytes| Ok(Frame::data(bytes))))
        }
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_upload_hosts_silence_counts() {
        let stall = Duration::from_secs(30);
        let progress = Progress::new();
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        let mut body = progress.track(Fed(rx));
        let watchdog = progress.stalled(stall);
        tokio::pin!(watchdog);

        // The host asks for a piece; the browser takes 10 minutes to send it: not a stall.
        let reader = tokio::spawn(async move {
            let mut taken = 0;
            while let Some(frame) = body.frame().await {
                frame.unwrap();
                taken += 1;
            }
            taken
        });
        tokio::select! {
            () = &mut watchdog => panic!("a slow browser is not a stalled host"),
            () = tokio::time::sleep(Duration::from_secs(600)) => {}
        }
        tx.send(Bytes::from_static(b"piece")).await.unwrap();
        drop(tx);
        assert_eq!(reader.await.unwrap(), 1);

        // The body is done: now the host must answer within the stall timeout, counted from
        // the last byte.
        let started = Instant::now();
        watchdog.await;
        assert!(started.elapsed() <= stall, "{:?}", started.elapsed());
        assert!(started.elapsed() >= stall - Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_host_that_stops_taking_pieces_is_stalled() {
        let stall = Duration::from_secs(30);
        let progress = Progress::new();
        let (_tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1);
        // The host never polls the body (its socket is full): nobody waits on the browser.
        let _body = progress.track(Fed(rx));
        let started = Instant::now();
        progress.stalled(stall).await;
        assert_eq!(started.elapsed(), stall);
    }
}
