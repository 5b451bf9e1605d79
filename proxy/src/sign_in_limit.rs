//! Failed sign-ins slowed per client address: after [`MAX_FAILURES`] wrong passwords within
//! [`WINDOW`], that address is refused (429 with `Retry-After`) until the oldest failure is a
//! window old. A right password does not clear the count, so a guesser cannot interleave it.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Wrong passwords allowed per address within [`WINDOW`].
pub const MAX_FAILURES: usize = 5;

/// The window failures are counted in.
pub const WINDOW: Duration = Duration::from_secs(60);

/// The most addresses tracked; past it the stalest are forgotten (their failures were the
/// least recent, so forgetting them favours no attacker who is actively guessing).
const MAX_ADDRESSES: usize = 10_000;

/// Recent failures by client address.
#[derive(Debug, Default)]
pub struct SignInLimit {
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl SignInLimit {
    /// `Err(wait)` when `client` must wait before trying again.
    pub fn check(&self, client: IpAddr) -> Result<(), Duration> {
        let now = Instant::now();
        let mut failures = self.lock();
        let Some(recent) = failures.get_mut(&client) else {
            return Ok(());
        };
        recent.retain(|at| now.duration_since(*at) < WINDOW);
        if recent.len() < MAX_FAILURES {
            return Ok(());
        }
        let oldest = *recent.front().expect("at least MAX_FAILURES entries");
        Err(WINDOW - now.duration_since(oldest))
    }

    /// Counts a wrong password from `client`.
    pub fn failed(&self, client: IpAddr) {
        let now = Instant::now();
        let mut failures = self.lock();
        if failures.len() >= MAX_ADDRESSES && !failures.contains_key(&client) {
            failures.retain(|_, recent| {
                recent
                    .back()
                    .is_some_and(|at| now.duration_since(*at) < WINDOW)
            });
            if failures.len() >= MAX_ADDRESSES {
                let stalest = failures
                    .iter()
                    .min_by_key(|(_, recent)| recent.back().copied())
                    .map(|(address, _)| *address)
                    .expect("a full map has a stalest entry");
                failures.remove(&stalest);
            }
        }
        let recent = failures.entry(client).or_default();
        recent.push_back(now);
        while recent.len() > MAX_FAILURES {
            recent.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, VecDeque<Instant>>> {
        // Plain inserts and removals: a poisoned map is still consistent.
        self.failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn five_failures_a_minute_then_wait() {
        let limit = SignInLimit::default();
        let guesser: IpAddr = "203.0.113.9".parse().unwrap();
        let other: IpAddr = "198.51.100.1".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert_eq!(limit.check(guesser), Ok(()));
            limit.failed(guesser);
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        // The first failure was 5 s ago: 55 s to go.
        assert_eq!(limit.check(guesser), Err(Duration::from_secs(55)));
        assert_eq!(limit.check(other), Ok(()), "per address");
        tokio::time::advance(Duration::from_secs(55)).await;
        assert_eq!(limit.check(guesser), Ok(()), "the oldest failure aged out");
        limit.failed(guesser);
        assert!(
            limit.check(guesser).is_err(),
            "five within the last minute again"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_flood_of_addresses_stays_bounded_and_keeps_the_active_guesser() {
        let limit = SignInLimit::default();
        let guesser: IpAddr = "203.0.113.9".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            limit.failed(guesser);
        }
        // Stale addresses are forgotten first when the map is full.
        tokio::time::advance(WINDOW).await;
        for n in 0..MAX_ADDRESSES as u32 {
            limit.failed(IpAddr::from((n + 1).to_be_bytes()));
        }
        assert!(limit.lock().len() <= MAX_ADDRESSES);
        assert_eq!(limit.check(guesser), Ok(()), "its failures aged out anyway");
        // Full of live entries: the stalest one makes room, the newest are kept.
        tokio::time::advance(Duration::from_millis(1)).await;
        for _ in 0..MAX_FAILURES {
            limit.failed(guesser);
        }
        assert_eq!(limit.lock().len(), MAX_ADDRESSES);
        assert!(
            limit.check(guesser).is_err(),
            "the active guesser is still slowed"
        );
    }
}
