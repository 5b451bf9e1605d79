//! The engine options a host may set, read in one place for both ways the uploader is mounted:
//! `<meta name="autoposter:…">` tags on our own page, attributes on `<tiktok-uploader>`.

use crate::engine;
use leptos::prelude::document;

/// Engine options from `setting(name)`: `retry-delays-ms` (`"500,1000"`: the delays between
/// attempts at one chunk) and `stall-timeout-ms` (`"30000"`: a chunk's PUT that shows no
/// progress for that long is abandoned and retried). Anything unreadable keeps the default.
pub fn options_from(setting: impl Fn(&str) -> Option<String>) -> engine::Options {
    let mut options = engine::Options::default();
    if let Some(delays) = setting("retry-delays-ms").and_then(|text| {
        text.split(',')
            .map(|delay| delay.trim().parse().ok())
            .collect::<Option<Vec<u32>>>()
    }) {
        options.retry_delays_ms = delays;
    }
    if let Some(timeout) = setting("stall-timeout-ms").and_then(|text| text.trim().parse().ok()) {
        options.stall_timeout_ms = timeout;
    }
    options
}

/// Engine options from the page's `<meta name="autoposter:retry-delays-ms" content="500,1000">`
/// and `<meta name="autoposter:stall-timeout-ms" content="30000">` (see [`options_from`]).
pub fn options_from_page() -> engine::Options {
    options_from(|name| {
        document()
            .query_selector(&format!("meta[name='autoposter:{name}']"))
            .ok()
            .flatten()
            .and_then(|element| element.get_attribute("content"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn check(delays: &str, timeout: &str, expected: engine::Options) {
        let (delays, timeout) = (delays.to_owned(), timeout.to_owned());
        let options = options_from(|name| match name {
            "retry-delays-ms" => Some(delays.clone()),
            "stall-timeout-ms" => Some(timeout.clone()),
            _ => None,
        });
        assert_eq!(options, expected);
    }

    #[wasm_bindgen_test]
    fn reads_both_settings_with_spaces_around_them() {
        let expected = engine::Options {
            retry_delays_ms: vec![10, 20],
            stall_timeout_ms: 300,
        };
        check(" 10, 20 ", " 300 ", expected);
    }

    #[wasm_bindgen_test]
    fn anything_unreadable_keeps_the_default() {
        check("10,soon", "long", engine::Options::default());
        assert_eq!(options_from(|_| None), engine::Options::default());
    }
}
