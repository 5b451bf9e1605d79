//! When a chunk's PUT is stalled rather than slow: a stall timeout, never a total. A request is
//! given up only when nothing has moved for a while — no byte of the body sent, and, once the
//! last byte went, no answer — so a 64 MB chunk on a 0.5 Mbit/s uplink (17 minutes) finishes,
//! while a link that died is noticed within the timeout whatever the chunk's size.

/// How long a chunk's PUT may show no progress before it is abandoned and retried. Mobile links
/// pause for seconds when a phone changes cell or wakes its radio, and TikTok takes a moment to
/// answer the last byte of a large chunk: half a minute of silence is a dead link, not a slow one.
pub const DEFAULT_STALL_TIMEOUT_MS: u32 = 30_000;

/// How long the page waits, once a chunk's body is out, for the proxy's relay to answer. The
/// relay answers within its own stall timeout of TikTok going silent (`upstream_stall.rs`), so
/// the page need not watch for that; what it cannot see is the proxy's buffers (its sockets,
/// the browser's) draining onto a slow uplink between proxy and TikTok — a home server's, say —
/// which can take longer than the stall timeout with nothing wrong. Ten minutes only guards
/// against a proxy that vanished without closing the connection.
pub const RELAY_ANSWER_TIMEOUT_MS: u32 = 10 * 60 * 1000;

/// The page's stall timeout for the wait after a chunk's body is out: the same as while
/// sending for a PUT straight to TikTok, [`RELAY_ANSWER_TIMEOUT_MS`] (or more) through the relay.
pub fn answer_timeout_ms(stall_timeout_ms: u32, relayed: bool) -> u32 {
    if relayed && stall_timeout_ms != 0 {
        stall_timeout_ms.max(RELAY_ANSWER_TIMEOUT_MS)
    } else {
        stall_timeout_ms
    }
}

/// How much longer a request whose last sign of progress was at `last_progress_ms` may stay
/// silent at `now_ms` (both on one millisecond clock) with a stall timeout of `timeout_ms`;
/// `None` when it is stalled. A clock that went backwards counts as progress just now.
pub fn stall_remaining_ms(last_progress_ms: f64, now_ms: f64, timeout_ms: u32) -> Option<u32> {
    let silent = (now_ms - last_progress_ms).max(0.0);
    let left = f64::from(timeout_ms) - silent;
    // A timer that fires a fraction of a millisecond early must not re-arm for nothing.
    (left >= 1.0).then(|| left.ceil() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn check(last_progress_ms: f64, now_ms: f64, timeout_ms: u32, expected: Option<u32>) {
        assert_eq!(
            stall_remaining_ms(last_progress_ms, now_ms, timeout_ms),
            expected,
            "last progress {last_progress_ms}, now {now_ms}, timeout {timeout_ms}"
        );
    }

    #[test]
    fn the_relay_gets_longer_to_answer_than_tiktok_direct() {
        assert_eq!(answer_timeout_ms(30_000, false), 30_000);
        assert_eq!(answer_timeout_ms(30_000, true), RELAY_ANSWER_TIMEOUT_MS);
        assert_eq!(answer_timeout_ms(20 * 60 * 1000, true), 20 * 60 * 1000);
        // 0 is "never give up", whatever the target.
        assert_eq!(answer_timeout_ms(0, true), 0);
    }

    #[test]
    fn a_request_is_stalled_only_after_a_whole_timeout_of_silence() {
        check(1_000.0, 1_000.0, 30_000, Some(30_000));
        check(1_000.0, 11_000.0, 30_000, Some(20_000));
        check(1_000.0, 30_999.0, 30_000, Some(1));
        check(1_000.0, 31_000.0, 30_000, None);
        check(1_000.0, 30_999.2, 30_000, None);
        check(1_000.0, 90_000.0, 30_000, None);
        // Progress a moment ago, however long the request has run: not stalled.
        check(600_000.0, 600_100.0, 30_000, Some(29_900));
        // A clock that went backwards is not silence.
        check(5_000.0, 4_000.0, 30_000, Some(30_000));
    }

    #[test]
    fn the_default_outlasts_a_slow_link_but_not_a_dead_one() {
        // A 64 MB chunk at 0.5 Mbit/s takes 1024 s: far more than the timeout, yet progress
        // events come every 50 ms or so, so it never stalls.
        let secs = 64_000_000.0 * 8.0 / 500_000.0;
        assert!(secs > f64::from(DEFAULT_STALL_TIMEOUT_MS) / 1000.0);
        assert!(
            stall_remaining_ms(
                secs * 1000.0 - 50.0,
                secs * 1000.0,
                DEFAULT_STALL_TIMEOUT_MS
            )
            .is_some()
        );
        assert!((10_000..=60_000).contains(&DEFAULT_STALL_TIMEOUT_MS));
    }
}
