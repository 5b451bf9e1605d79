//! How a job's task is stopped. The proxy stopping cuts it anywhere: the record says where it
//! was, and the next start asks TikTok. A `DELETE` cuts it anywhere but in one place: once the
//! last chunk's body has all been handed to the upload connection, TikTok may store that chunk
//! whatever the proxy does next (a body cut short it discards, so any earlier point is safe).
//! That PUT is let finish — bounded by its stall timeout, so slow is fine and stalled is not —
//! and the cancel cuts the task when it ends, remembering whether TikTok took the chunk for
//! `poster::settle_cancel` ([`protocol::wire::cancel_came_too_late`]). What stays open is an
//! upload host silent for the whole stall timeout after the body that stores the chunk later
//! still: the status asked next finds it only if it was stored by then.

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use protocol::ChunkRange;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use tokio_util::sync::CancellationToken;

/// One running job task's switch, shared by the task and `Jobs` (which a `DELETE` asks).
#[derive(Debug, Clone)]
pub struct StopSwitch {
    /// Cancelled to cut the task; a child of the proxy's `stopping`.
    token: CancellationToken,
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    /// The last chunk's body has all been handed over and its PUT has not ended.
    last_body_out: bool,
    /// A `DELETE` asked for the task to stop: no more bytes are handed over.
    cancelled: bool,
    /// TikTok answered 2xx to the last chunk's PUT.
    last_chunk_taken: bool,
}

impl StopSwitch {
    pub fn new(token: CancellationToken) -> Self {
        Self {
            token,
            state: Arc::default(),
        }
    }

    /// Completes once the task is to be cut.
    pub async fn cut(&self) {
        self.token.cancelled().await;
    }

    /// A `DELETE`'s stop: the task is cut now, or once the last chunk's PUT ends if its body
    /// has all been handed over.
    pub fn cancel(&self) {
        let mut state = self.lock();
        state.cancelled = true;
        if !state.last_body_out {
            self.token.cancel();
        }
    }

    /// `pieces`, the body of `chunk`'s PUT, handed over piece by piece unless a cancel came
    /// first (then the body fails, and the PUT with it). The piece that ends the last chunk's
    /// body marks it out: from then on a cancel waits for [`Self::last_chunk_ended`].
    pub fn body<S: Stream<Item = io::Result<Bytes>>>(
        &self,
        pieces: S,
        chunk: ChunkRange,
    ) -> impl Stream<Item = io::Result<Bytes>> + use<S> {
        let switch = self.clone();
        let mut left = chunk.len();
        pieces.map(move |piece| {
            let piece = piece?;
            left = left.saturating_sub(piece.len() as u64);
            let mut state = switch.lock();
            if state.cancelled {
                return Err(io::Error::other("the job was cancelled"));
            }
            state.last_body_out |= chunk.is_last && left == 0;
            Ok(piece)
        })
    }

    /// The last chunk's PUT ended: `taken` if TikTok answered 2xx. A cancel that waited for it
    /// cuts the task now.
    pub fn last_chunk_ended(&self, taken: bool) {
        let mut state = self.lock();
        state.last_body_out = false;
        state.last_chunk_taken |= taken;
        if state.cancelled {
            self.token.cancel();
        }
    }

    /// Whether TikTok answered 2xx to the last chunk's PUT while this task ran.
    pub fn last_chunk_taken(&self) -> bool {
        self.lock().last_chunk_taken
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Three flags, each set whole: a poisoned state is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ChunkPlan;

    fn pieces(
        sizes: &[usize],
    ) -> futures_util::stream::Iter<std::vec::IntoIter<io::Result<Bytes>>> {
        let pieces: Vec<_> = sizes.iter().map(|&n| Ok(Bytes::from(vec![0; n]))).collect();
        futures_util::stream::iter(pieces)
    }

    #[tokio::test]
    async fn a_cancel_cuts_at_once_until_the_last_body_is_all_out() {
        let plan = ChunkPlan::new(100).unwrap();
        let chunk = plan.chunk(0).unwrap();
        let switch = StopSwitch::new(CancellationToken::new());
        let mut body = std::pin::pin!(switch.body(pieces(&[60, 40]), chunk));
        assert!(body.next().await.unwrap().is_ok());
        switch.cancel();
        assert!(switch.token.is_cancelled(), "cut at once mid-body");
        assert!(
            body.next().await.unwrap().is_err(),
            "nothing more handed over"
        );
        assert!(!switch.last_chunk_taken());
    }

    #[tokio::test]
    async fn a_cancel_waits_for_the_answer_once_the_last_body_is_out() {
        let plan = ChunkPlan::new(100).unwrap();
        let switch = StopSwitch::new(CancellationToken::new());
        let body = switch.body(pieces(&[60, 40]), plan.chunk(0).unwrap());
        assert_eq!(body.count().await, 2);
        switch.cancel();
        assert!(!switch.token.is_cancelled(), "the PUT is let finish");
        switch.last_chunk_ended(true);
        assert!(switch.token.is_cancelled());
        assert!(switch.last_chunk_taken());
    }

    #[tokio::test]
    async fn only_the_last_chunks_body_holds_a_cancel_back() {
        let plan = ChunkPlan::new(200 * 1024 * 1024).unwrap();
        let first = plan.chunk(0).unwrap();
        assert!(!first.is_last);
        let switch = StopSwitch::new(CancellationToken::new());
        let body = switch.body(pieces(&[first.len() as usize]), first);
        assert_eq!(body.count().await, 1);
        switch.cancel();
        assert!(switch.token.is_cancelled());
    }
}
