//! JSON in the browser. The browser's own `JSON.parse` and `JSON.stringify` read and write the
//! text; serde-wasm-bindgen turns our types into JS values, and [`value`] reads JS values back
//! into our types. The wasm then carries no JSON parser or printer of its own, which keeps the
//! bundle small.

mod value;

use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::JsValue;

/// JSON that could not be read or written; the text says why, for the console or a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct JsonError(String);

impl From<serde_wasm_bindgen::Error> for JsonError {
    fn from(error: serde_wasm_bindgen::Error) -> Self {
        Self(error.to_string())
    }
}

impl From<JsValue> for JsonError {
    fn from(error: JsValue) -> Self {
        Self(crate::exception_text(&error))
    }
}

/// `value` as a plain JS value of the shape `JSON.stringify` would write: objects for structs
/// and maps, `null` for `None`, numbers for integers up to 2^53.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsonError> {
    Ok(value.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

/// `value` as JSON text.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, JsonError> {
    let text = js_sys::JSON::stringify(&to_js(value)?)?;
    Ok(text.into())
}

/// JSON text read as a `T`.
pub fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, JsonError> {
    let value = js_sys::JSON::parse(text)?;
    T::deserialize(value::Value(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::wire::{CreatePost, ErrorBody, PostMode};
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn writes_what_serde_json_would() {
        let post = CreatePost {
            mode: PostMode::Inbox,
            video_size: 4 << 30,
            content_type: "video/mp4".into(),
            file_name: "clip \"one\".mp4".into(),
            post_info: Default::default(),
        };
        let text = to_string(&post).unwrap();
        let back: CreatePost = from_str(&text).unwrap();
        assert_eq!(back, post);
        assert!(text.contains(r#""video_size":4294967296"#), "{text}");
    }

    #[wasm_bindgen_test]
    fn says_what_is_wrong() {
        let error = from_str::<ErrorBody>("{\"error\": ").unwrap_err();
        assert!(error.to_string().contains("JSON"), "{error}");
        let error = from_str::<ErrorBody>("{\"error\": 3}").unwrap_err();
        assert!(error.to_string().contains("invalid type"), "{error}");
    }
}
