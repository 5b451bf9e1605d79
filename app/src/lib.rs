//! The browser uploader. A creator sees which TikTok account the page posts to, picks a video,
//! fills in TikTok's posting screen, and the file goes from the browser straight to the
//! `upload_url` TikTok handed out, chunk by chunk. Everything that needs the access token goes
//! through our proxy (`/api/…`); the page never sees the token.
//!
//! - [`api`]: the proxy's HTTP API.
//! - [`upload`]: the chunk sender (`Blob.slice` → `PUT` with `Content-Range`).
//! - [`engine`]: retries, resyncs, pause/cancel and the relay, around the chunk sender.
//! - [`json`]: JSON through the browser's own parser.
//! - [`storage`]: the upload in progress, kept so a reload can continue it.
//! - [`video`]: what the browser can tell about a chosen file before anything is sent.
//! - [`wake_lock`]: the screen kept on while an upload runs, where the browser allows it.
//! - [`post`]: one post from init to TikTok's final status ([`post::Phase`] is what the page shows).
//! - [`page`]: the Leptos components; [`Uploader`] is the one a host site mounts.
//! - [`embed`]: the same uploader as the `<tiktok-uploader>` custom element, for any site.

pub mod api;
pub mod embed;
pub mod engine;
pub mod job;
pub mod json;
pub mod page;
pub mod post;
pub mod storage;
pub mod upload;
pub mod video;
pub mod wake_lock;

pub use page::{App, Uploader};

/// Mounts the uploader on `<body>` when the page is ours (`<body data-tiktok-autoposter>`).
/// Loaded by another site for the custom element, the module mounts nothing by itself.
pub fn mount() {
    // Panics (bugs) name their place in the console in debug builds; release builds stay lean.
    #[cfg(debug_assertions)]
    console_error_panic_hook::set_once();
    let ours = leptos::prelude::document()
        .body()
        .is_some_and(|body| body.has_attribute("data-tiktok-autoposter"));
    if ours {
        leptos::mount::mount_to_body(App);
    }
}

/// A browser exception as people read it: `TypeError: Failed to fetch` for an `Error`, the
/// string itself for a thrown string, and a plain phrase for anything else (never a panic).
pub(crate) fn exception_text(value: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    match value.dyn_ref::<js_sys::Error>() {
        Some(error) => format!(
            "{}: {}",
            String::from(error.name()),
            String::from(error.message())
        ),
        None => value
            .as_string()
            .unwrap_or_else(|| "the browser gave no reason".to_owned()),
    }
}

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[cfg(test)]
mod tests {
    use super::exception_text;
    use wasm_bindgen::JsValue;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn exceptions_read_as_text_whatever_was_thrown() {
        let error = js_sys::TypeError::new("Failed to fetch");
        assert_eq!(exception_text(&error.into()), "TypeError: Failed to fetch");
        assert_eq!(exception_text(&JsValue::from_str("aborted")), "aborted");
        for odd in [JsValue::NULL, JsValue::UNDEFINED, JsValue::from(7)] {
            assert_eq!(exception_text(&odd), "the browser gave no reason");
        }
    }
}
