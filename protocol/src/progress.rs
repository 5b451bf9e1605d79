//! Upload progress for people: percent, bytes, speed and time left, from bytes and elapsed time.

use crate::media::human_bytes;

/// A snapshot of an upload in flight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Bytes TikTok has confirmed plus bytes of the chunk in flight.
    pub sent: u64,
    pub total: u64,
    /// Where this session started sending (after a resume, bytes before it were sent earlier
    /// and do not count towards the speed).
    pub resumed_from: u64,
    /// Seconds since this session's first byte was sent.
    pub elapsed_secs: f64,
}

impl Progress {
    /// 0.0 to 100.0.
    pub fn percent(&self) -> f64 {
        if self.total == 0 {
            return 0.0;
        }
        (self.sent as f64 / self.total as f64 * 100.0).clamp(0.0, 100.0)
    }

    /// The percentage as a whole number, for display (no float formatting in the browser).
    pub fn whole_percent(&self) -> u32 {
        self.percent().round() as u32
    }

    /// Bytes per second so far, once there is enough to say.
    pub fn speed(&self) -> Option<f64> {
        let sent_now = self.sent.saturating_sub(self.resumed_from);
        (self.elapsed_secs >= 0.25 && sent_now > 0).then(|| sent_now as f64 / self.elapsed_secs)
    }

    /// Seconds left at the current speed.
    pub fn eta_secs(&self) -> Option<f64> {
        let speed = self.speed()?;
        Some(self.total.saturating_sub(self.sent) as f64 / speed)
    }

    /// "12.0 MB of 70.0 MB · 4.0 MB/s · 15 s left".
    pub fn summary(&self) -> String {
        let mut text = format!("{} of {}", human_bytes(self.sent), human_bytes(self.total));
        if let Some(speed) = self.speed() {
            text.push_str(&format!(" · {}/s", human_bytes(speed as u64)));
        }
        if let Some(eta) = self.eta_secs().filter(|_| self.sent < self.total) {
            text.push_str(&format!(" · {} left", human_eta(eta)));
        }
        text
    }
}

fn human_eta(secs: f64) -> String {
    let secs = secs.ceil() as u64;
    match secs {
        0..=59 => format!("{secs} s"),
        60..=3599 => format!("{} min {} s", secs / 60, secs % 60),
        _ => format!("{} h {} min", secs / 3600, secs / 60 % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn summaries() {
        let start = Progress {
            sent: 0,
            total: 70_000_000,
            resumed_from: 0,
            elapsed_secs: 0.0,
        };
        assert_eq!(start.percent(), 0.0);
        assert_eq!(start.summary(), "0 bytes of 70.0 MB");
        let mid = Progress {
            sent: 12_000_000,
            total: 70_000_000,
            resumed_from: 0,
            elapsed_secs: 3.0,
        };
        assert_eq!(mid.summary(), "12.0 MB of 70.0 MB · 4.0 MB/s · 15 s left");
        let slow = Progress {
            sent: 1_000_000,
            total: 1_000_000_000,
            resumed_from: 0,
            elapsed_secs: 10.0,
        };
        assert_eq!(slow.eta_secs(), Some(9990.0));
        assert!(slow.summary().ends_with("2 h 46 min left"));
        let done = Progress {
            sent: 70_000_000,
            total: 70_000_000,
            resumed_from: 0,
            elapsed_secs: 7.0,
        };
        assert_eq!(done.percent(), 100.0);
        assert_eq!(done.summary(), "70.0 MB of 70.0 MB · 10.0 MB/s");
        // After a resume only this session's bytes count towards the speed.
        let resumed = Progress {
            sent: 60_000_000,
            total: 70_000_000,
            resumed_from: 50_000_000,
            elapsed_secs: 5.0,
        };
        assert_eq!(
            resumed.summary(),
            "60.0 MB of 70.0 MB · 2.0 MB/s · 5 s left"
        );
        assert_eq!(
            Progress {
                sent: 5,
                total: 0,
                resumed_from: 0,
                elapsed_secs: 1.0
            }
            .percent(),
            0.0
        );
    }
}
