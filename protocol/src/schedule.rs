//! When a server-side job may start: `publish_at` as an RFC 3339 timestamp (`2026-12-24T18:00:00Z`,
//! `2026-12-24T19:00:00+01:00`), a delay from now (`30m`, `2h`, `1h30m`, `90s`, `2d`) or `now`,
//! checked against a small grace in the past and a horizon in the future.

use std::fmt;

/// How far in the past a `publish_at` may be and still mean "now": a clock a little behind, or
/// a request that took a while to arrive.
pub const PAST_GRACE_SECS: u64 = 5 * 60;

/// How far ahead a job may be scheduled. The video waits on the proxy's disk meanwhile, and a
/// date months away is more likely a typo (a wrong year) than a plan.
pub const MAX_AHEAD_SECS: u64 = 60 * 24 * 60 * 60;

/// Why a `publish_at` is refused. The text is for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "publish_at {0:?} is neither a time (RFC 3339, e.g. 2026-12-24T18:00:00Z or 2026-12-24T19:00:00+01:00) nor a delay (e.g. 30m, 2h, 1h30m, 2d)."
    )]
    Unreadable(String),
    #[error(
        "publish_at is {} in the past; give a time still to come (or leave it out to post now).",
        Ago(*.0)
    )]
    InThePast(u64),
    #[error(
        "publish_at is {} ahead; a job may be scheduled at most {} days ahead.",
        Ago(*.0),
        MAX_AHEAD_SECS / 86_400
    )]
    TooFarAhead(u64),
}

/// Reads `publish_at` relative to `now` (Unix seconds) into the Unix second the job starts at.
/// A time within [`PAST_GRACE_SECS`] in the past is now.
pub fn resolve_publish_at(text: &str, now: u64) -> Result<u64, ScheduleError> {
    let text = text.trim();
    let at = if text.eq_ignore_ascii_case("now") {
        now
    } else if let Some(delay) = parse_delay(text) {
        now.saturating_add(delay)
    } else {
        let at = parse_rfc3339(text).ok_or_else(|| ScheduleError::Unreadable(text.to_owned()))?;
        if at < 0 {
            return Err(ScheduleError::InThePast(
                now.saturating_add(at.unsigned_abs()),
            ));
        }
        at.unsigned_abs()
    };
    if at + PAST_GRACE_SECS < now {
        return Err(ScheduleError::InThePast(now - at));
    }
    if at > now + MAX_AHEAD_SECS {
        return Err(ScheduleError::TooFarAhead(at - now));
    }
    Ok(at.max(now))
}

/// A delay such as `90s`, `30m`, `2h`, `1h30m`, `2d` (units `s`, `m`, `h`, `d`; spaces allowed
/// between parts), in seconds.
pub fn parse_delay(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut parts = 0;
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
        let count: u64 = digits.parse().ok()?;
        total = total.checked_add(count.checked_mul(unit)?)?;
        digits.clear();
        parts += 1;
    }
    (parts > 0 && digits.is_empty()).then_some(total)
}

/// An RFC 3339 date-time (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`; `t` or a space for `T`) in
/// Unix seconds; fractions are dropped. The offset is required: a time without one means
/// different instants on different machines.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    if bytes.len() < 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || !matches!(bytes[10], b'T' | b't' | b' ')
        || bytes[13] != b':'
        || bytes[16] != b':'
    {
        return None;
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let rest = &rest[1..];
            if rest.len() != 5 || rest.as_bytes()[2] != b':' {
                return None;
            }
            let (hours, minutes) = (
                rest[..2].parse::<i64>().ok()?,
                rest[3..].parse::<i64>().ok()?,
            );
            if hours > 23 || minutes > 59 {
                return None;
            }
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let leap = |y: i64| (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap(year) => 29,
        2 => 28,
        _ => return None,
    };
    // A leap second (:60) is read as the next second's start.
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// A span of seconds as people say it: `2 h 5 min`, `40 s`, `3 days`.
struct Ago(u64);

impl fmt::Display for Ago {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0;
        match secs {
            0..60 => write!(f, "{secs} s"),
            60..3600 => write!(f, "{} min", secs / 60),
            3600..86_400 => write!(f, "{} h {} min", secs / 3600, secs % 3600 / 60),
            _ => write!(f, "{} days", secs / 86_400),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-12-02T01:00:00Z.
    const NOW: u64 = 1_796_173_200;

    fn check(text: &str, expected: Result<u64, &str>) {
        let got = resolve_publish_at(text, NOW);
        match expected {
            Ok(at) => assert_eq!(got, Ok(at), "{text}"),
            Err(start) => {
                let message = got.expect_err(text).to_string();
                assert!(message.starts_with(start), "{text}: {message}");
            }
        }
    }

    #[test]
    fn publish_at_table() {
        assert_eq!(parse_rfc3339("2026-12-02T01:00:00Z"), Some(NOW as i64));
        check("now", Ok(NOW));
        check("30m", Ok(NOW + 1800));
        check("2h", Ok(NOW + 7200));
        check("1h30m", Ok(NOW + 5400));
        check("1h 30m", Ok(NOW + 5400));
        check("90s", Ok(NOW + 90));
        check("2d", Ok(NOW + 172_800));
        check("2026-12-02T03:00:00Z", Ok(NOW + 7200));
        check("2026-12-02t03:00:00.250z", Ok(NOW + 7200));
        check("2026-12-02 03:00:00+01:00", Ok(NOW + 3600));
        check("2026-12-01T20:00:00-06:00", Ok(NOW + 3600));
        // A little in the past is now; more is refused.
        check("2026-12-02T00:58:00Z", Ok(NOW));
        check(
            "2026-12-02T00:50:00Z",
            Err("publish_at is 10 min in the past"),
        );
        check(
            "1970-01-01T00:00:00Z",
            Err("publish_at is 20789 days in the past"),
        );
        check("90d", Err("publish_at is 90 days ahead"));
        check(
            "2126-12-02T03:00:00Z",
            Err("publish_at is 36524 days ahead"),
        );
        for unreadable in [
            "",
            "tomorrow",
            "2h30",
            "2026-12-02T03:00:00",
            "2026-12-02T03:00Z",
            "2026-02-30T03:00:00Z",
            "2026-12-02T24:00:00Z",
            "2026-12-02T03:00:00+1:00",
            "-5m",
        ] {
            check(unreadable, Err("publish_at \""));
        }
    }

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2000-03-01T00:00:00Z"), Some(951_868_800));
        assert_eq!(parse_rfc3339("2024-02-29T12:00:00Z"), Some(1_709_208_000));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some(-1));
    }
}
