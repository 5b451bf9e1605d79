//! The browser uploader. A creator sees which TikTok account the page posts to, picks a video,
//! fills in TikTok's posting screen, and the file goes from the browser straight to the
//! `upload_url` TikTok handed out, chunk by chunk. Everything that needs the access token goes
//! through our proxy (`/api/…`); the page never sees the token.
//!
//! - [`api`]: the proxy's HTTP API.
//! - [`upload`]: the chunk sender (`Blob.slice` → `PUT` with `Content-Range`).
//! - [`engine`]: retries, resyncs, pause/cancel and the relay, around the chunk sender.
//! - [`storage`]: the upload in progress, kept so a reload can continue it.
//! - [`video`]: what the browser can tell about a chosen file before anything is sent.
//! - [`post`]: one post from init to TikTok's final status ([`post::Phase`] is what the page shows).
//! - [`page`]: the Leptos components; [`Uploader`] is the one a host site mounts.
//! - [`embed`]: the same uploader as the `<tiktok-uploader>` custom element, for any site.

pub mod api;
pub mod embed;
pub mod engine;
pub mod page;
pub mod post;
pub mod storage;
pub mod upload;
pub mod video;

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

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
