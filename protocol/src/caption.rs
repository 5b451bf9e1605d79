//! The caption (TikTok's `title`): at most 2200 UTF-16 code units, counted the way TikTok and
//! JavaScript's `String.length` count them, so an emoji costs two.

/// TikTok's limit on a video post's `title`, in UTF-16 code units.
pub const MAX_CAPTION_UTF16: usize = 2200;

/// The caption is longer than TikTok accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "The caption is {len} characters long; TikTok allows at most {MAX_CAPTION_UTF16} (emoji count as two)."
)]
pub struct CaptionError {
    /// The caption's length in UTF-16 code units.
    pub len: usize,
}

/// The length of `text` in UTF-16 code units.
pub fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// Accepts a caption TikTok will accept.
pub fn check_caption(text: &str) -> Result<(), CaptionError> {
    let len = utf16_len(text);
    if len > MAX_CAPTION_UTF16 {
        return Err(CaptionError { len });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn check(text: &str, expected_len: usize) {
        assert_eq!(utf16_len(text), expected_len, "{text:?}");
    }

    #[test]
    fn counts_utf16_units() {
        check("", 0);
        check("hello #fyp @tiktok", 18);
        check("é", 1);
        check("日本語", 3);
        check("😀", 2);
        check("👍🏽", 4);
    }

    #[test]
    fn limit_is_inclusive() {
        assert!(check_caption(&"a".repeat(2200)).is_ok());
        assert_eq!(
            check_caption(&"a".repeat(2201)),
            Err(CaptionError { len: 2201 })
        );
        // 1100 emoji are exactly 2200 units; one more letter is over.
        let emoji = "😀".repeat(1100);
        assert!(check_caption(&emoji).is_ok());
        assert!(check_caption(&format!("{emoji}a")).is_err());
    }
}
