//! The identifiers TikTok hands out, minted in TikTok's shapes: publish ids, upload ids and
//! tokens, OAuth tokens and codes, 19-digit post ids above 2^53, and `log_id`s.

use protocol::wire::PostMode;
use rand::Rng;
use std::time::{SystemTime, UNIX_EPOCH};

/// Post ids are drawn from here: 19 digits starting with 73, like real ones, and far above
/// 2^53 so a client that parses them as JavaScript numbers loses digits and notices.
const POST_IDS: std::ops::Range<u64> = 7_300_000_000_000_000_000..7_400_000_000_000_000_000;
/// Any 19-digit number.
const NINETEEN_DIGITS: std::ops::Range<u64> = 1_000_000_000_000_000_000..10_000_000_000_000_000_000;

/// A `publish_id` like `v_pub_file~v2-1.7303974455139846443` (Direct Post) or
/// `v_inbox_file~v2.7303974455139846443` (inbox).
pub(crate) fn publish_id(mode: PostMode) -> String {
    let digits = nineteen_digits();
    match mode {
        PostMode::Direct => format!("v_pub_file~v2-1.{digits}"),
        PostMode::Inbox => format!("v_inbox_file~v2.{digits}"),
    }
}

/// An `upload_id`: 19 digits.
pub(crate) fn upload_id() -> String {
    nineteen_digits().to_string()
}

/// An `upload_token`: a random UUID-shaped string.
pub(crate) fn upload_token() -> String {
    let bits: u128 = rand::thread_rng().r#gen();
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// An OAuth secret like TikTok's `act.…`, `rft.…` or a code: `prefix`, a dot, and 128 random
/// bits in hex.
pub(crate) fn secret(prefix: &str) -> String {
    let bits: u128 = rand::thread_rng().r#gen();
    format!("{prefix}.{bits:032x}")
}

/// A public post id: a 19-digit number above 2^53.
pub(crate) fn post_id() -> u64 {
    rand::thread_rng().gen_range(POST_IDS)
}

/// A `log_id` like TikTok's `202210112248442CB9319E1FB30C1073F3`: the UTC time to the second,
/// then 20 random uppercase hex digits.
pub(crate) fn log_id() -> String {
    let bits: u128 = rand::thread_rng().r#gen::<u128>() >> 48;
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs());
    format!("{}{bits:020X}", utc_stamp(secs))
}

fn nineteen_digits() -> u64 {
    rand::thread_rng().gen_range(NINETEEN_DIGITS)
}

/// `YYYYMMDDhhmmss` in UTC for seconds since the Unix epoch (Howard Hinnant's civil date).
fn utc_stamp(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (hour, minute, second) = (rem / 3600, rem % 3600 / 60, rem % 60);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!("{year:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_stamps() {
        assert_eq!(utc_stamp(0), "19700101000000");
        // TikTok's example log_id starts with 2022-10-11 22:48:44.
        assert_eq!(utc_stamp(1_665_528_524), "20221011224844");
        assert_eq!(utc_stamp(951_782_400), "20000229000000");
    }

    #[test]
    fn shapes() {
        let log_id = log_id();
        assert_eq!(log_id.len(), 34, "{log_id}");
        assert!(
            log_id
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        );
        let post = post_id();
        assert_eq!(post.to_string().len(), 19);
        assert!(post > 1 << 53);
        assert_eq!(upload_id().len(), 19);
        assert_eq!(upload_token().len(), 36);
        assert_eq!(secret("act").len(), 36);
        assert_ne!(secret("rft"), secret("rft"));
        assert!(publish_id(PostMode::Direct).starts_with("v_pub_file~v2-1."));
        assert!(publish_id(PostMode::Inbox).starts_with("v_inbox_file~v2."));
        assert!(publish_id(PostMode::Direct).len() <= 64);
    }
}
