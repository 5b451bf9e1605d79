//! The connection cap. At most `max` connections are served at once; when one more arrives at
//! the cap, the connection that has waited longest without a request in flight (one that never
//! finished its headers, or a kept-alive one between requests) is closed to make room, so a
//! real client gets in at once instead of waiting for a stalled connection's header timeout.
//! Only when every connection has a request in flight does the newcomer wait for a place, as
//! with mini-redis's semaphore.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// How often the "cap reached" warning may repeat while the cap stays full (under attack it
/// would otherwise be one line per connection).
const WARN_EVERY: Duration = Duration::from_secs(10);

/// Every connection being served, and the cap.
#[derive(Debug)]
pub struct Connections {
    /// The most connections served at once (`Config::max_connections`).
    max: usize,
    state: Mutex<State>,
    /// Woken when a connection ends, for a newcomer waiting at the cap.
    freed: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// The id the next connection gets.
    next_id: u64,
    /// The connections counted against the cap, by id.
    open: HashMap<u64, Arc<Slot>>,
    /// When the cap warning was last logged, to repeat it at most every [`WARN_EVERY`].
    warned_at: Option<Instant>,
    /// Connections closed to make room since the last warning.
    evicted: u64,
}

/// What the registry, a connection's task and its service share about one connection.
#[derive(Debug)]
struct Slot {
    /// Requests whose handler is running (0 or 1 on HTTP/1).
    in_flight: AtomicUsize,
    /// When the connection was accepted or its last request was answered.
    idle_since: Mutex<Instant>,
    /// Set when the connection must close even with a request in flight (shutdown's deadline).
    force: AtomicBool,
    /// Tells the connection's task to close.
    close: Notify,
}

/// A connection's place under the cap; dropping it (when the connection ends) frees the place.
#[derive(Debug)]
pub struct Ticket {
    id: u64,
    slot: Arc<Slot>,
    connections: Arc<Connections>,
}

/// Marks a request in flight on its connection until dropped.
#[derive(Debug)]
pub struct InFlight(Arc<Slot>);

impl Connections {
    pub fn new(max: usize) -> Arc<Self> {
        Arc::new(Self {
            max: max.max(1),
            state: Mutex::default(),
            freed: Notify::new(),
        })
    }

    /// A place for a connection just accepted: at once while under the cap; at the cap, by
    /// closing the connection idle longest; and when none is idle, once one ends.
    pub async fn admit(self: &Arc<Self>) -> Ticket {
        loop {
            {
                let mut state = self.lock();
                if state.open.len() >= self.max {
                    let idle = longest_idle(&state.open);
                    if let Some(slot) = idle.and_then(|id| state.open.remove(&id)) {
                        slot.close.notify_one();
                        state.evicted += 1;
                    }
                    if state
                        .warned_at
                        .is_none_or(|warned| warned.elapsed() >= WARN_EVERY)
                    {
                        tracing::warn!(
                            max_connections = self.max,
                            closed_to_make_room = state.evicted,
                            "connection cap reached (AUTOPOSTER_MAX_CONNECTIONS): {}",
                            if idle.is_some() {
                                "closing the connections idle longest to make room"
                            } else {
                                "every connection has a request in flight; new ones wait"
                            }
                        );
                        state.warned_at = Some(Instant::now());
                        state.evicted = 0;
                    }
                }
                if state.open.len() < self.max {
                    return self.register(&mut state);
                }
            }
            // Every connection has a request in flight: wait for one to end.
            self.freed.notified().await;
        }
    }

    /// Closes every connection, requests in flight or not: shutdown's deadline has passed.
    pub fn close_all(&self) {
        for slot in self.lock().open.values() {
            slot.force.store(true, Ordering::SeqCst);
            slot.close.notify_one();
        }
    }

    fn register(self: &Arc<Self>, state: &mut State) -> Ticket {
        let id = state.next_id;
        state.next_id += 1;
        let slot = Arc::new(Slot {
            in_flight: AtomicUsize::new(0),
            idle_since: Mutex::new(Instant::now()),
            force: AtomicBool::new(false),
            close: Notify::new(),
        });
        state.open.insert(id, slot.clone());
        Ticket {
            id,
            slot,
            connections: self.clone(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Only inserts, removals and reads happen under this lock: a panic cannot leave the map
        // half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Ticket {
    /// Call when a request's headers are in; the returned guard ends it.
    pub fn request_started(&self) -> InFlight {
        self.slot.in_flight.fetch_add(1, Ordering::SeqCst);
        InFlight(self.slot.clone())
    }

    /// Completes when this connection is told to close and may be dropped now: it has no
    /// request in flight, or shutdown's deadline passed. A connection told to close while a
    /// request is in flight is no longer counted and ends on its own after that request.
    pub async fn must_close(&self) {
        loop {
            self.slot.close.notified().await;
            if self.slot.force.load(Ordering::SeqCst)
                || self.slot.in_flight.load(Ordering::SeqCst) == 0
            {
                return;
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.connections.lock().open.remove(&self.id);
        self.connections.freed.notify_one();
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        *self
            .0
            .idle_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The connection without a request in flight that has been idle longest.
fn longest_idle(open: &HashMap<u64, Arc<Slot>>) -> Option<u64> {
    open.iter()
        .filter(|(_, slot)| slot.in_flight.load(Ordering::SeqCst) == 0)
        .min_by_key(|(_, slot)| {
            *slot
                .idle_since
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        })
        .map(|(id, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn at_the_cap_the_connection_idle_longest_makes_room() {
        let connections = Connections::new(2);
        let oldest = connections.admit().await;
        tokio::time::advance(Duration::from_secs(1)).await;
        let busy = connections.admit().await;
        let _request = busy.request_started();
        let newcomer = connections.admit().await;
        // The oldest idle one was told to close; the busy one was spared.
        tokio::time::timeout(Duration::from_millis(1), oldest.must_close())
            .await
            .expect("the oldest idle connection is told to close");
        assert_eq!(connections.lock().open.len(), 2);
        drop(oldest);
        assert_eq!(connections.lock().open.len(), 2, "it was no longer counted");

        // With every connection busy, a newcomer waits until one ends.
        let _second = newcomer.request_started();
        let waiting = tokio::spawn({
            let connections = connections.clone();
            async move { connections.admit().await }
        });
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!waiting.is_finished(), "no idle connection to close");
        drop(newcomer);
        let _admitted = waiting.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_closes_only_when_forced() {
        let connections = Connections::new(4);
        let ticket = connections.admit().await;
        let request = ticket.request_started();
        connections.close_all();
        tokio::time::timeout(Duration::from_millis(1), ticket.must_close())
            .await
            .expect("forced");
        drop(request);
    }
}
