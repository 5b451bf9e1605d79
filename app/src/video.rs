//! What the browser can tell about a chosen file before anything is sent: its container (from
//! its first bytes, not its name), its size, and its duration (from the video's own metadata).

use futures::future::{Either, select};
use js_sys::{Promise, Uint8Array};
use protocol::media::{ContentType, SNIFF_LEN, VideoCheck, VideoError};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, File, HtmlVideoElement, Url};

/// How long the browser may take to read a video's metadata before we go on without a duration.
const METADATA_TIMEOUT_MS: u32 = 8_000;

/// A video the creator chose and the checks passed.
#[derive(Debug, Clone)]
pub struct ChosenVideo {
    pub file: File,
    pub name: String,
    pub size: u64,
    pub content_type: ContentType,
    /// `None` when the browser cannot read it; a direct post is then refused (TikTok says to
    /// check the length), while a draft, finished in the TikTok app, may still go.
    pub duration_secs: Option<f64>,
    /// An object URL for the `<video>` preview; revoke it when the video is replaced.
    pub preview_url: String,
}

/// Reads and checks `file` against TikTok's rules for any video. Its length is checked against
/// the creator's limit by the posting screen, whenever both are known.
pub async fn inspect(file: File) -> Result<ChosenVideo, VideoError> {
    let size = file.size() as u64;
    let head = read_head(&file).await;
    let preview_url = Url::create_object_url_with_blob(&file).map_err(|_| VideoError::NotAVideo)?;
    let sniffed = ContentType::sniff(&head);
    let duration_secs = match sniffed {
        Some(_) if size > 0 => read_duration(&preview_url).await,
        _ => None,
    };
    let check = VideoCheck {
        size,
        sniffed,
        duration_secs,
    };
    match check.check() {
        Ok(content_type) => Ok(ChosenVideo {
            name: file.name(),
            file,
            size,
            content_type,
            duration_secs,
            preview_url,
        }),
        Err(error) => {
            let _ = Url::revoke_object_url(&preview_url);
            Err(error)
        }
    }
}

/// The first bytes of the file, read through `Blob.arrayBuffer()` (only these enter wasm).
async fn read_head(blob: &Blob) -> Vec<u8> {
    let Ok(head) = blob.slice_with_f64_and_f64(0.0, SNIFF_LEN as f64) else {
        return Vec::new();
    };
    match JsFuture::from(head.array_buffer()).await {
        Ok(buffer) => Uint8Array::new(&buffer).to_vec(),
        Err(_) => Vec::new(),
    }
}

/// The duration from the video's metadata, via a detached `<video preload=metadata>`.
async fn read_duration(url: &str) -> Option<f64> {
    let document = web_sys::window()?.document()?;
    let video: HtmlVideoElement = document.create_element("video").ok()?.dyn_into().ok()?;
    video.set_preload("metadata");
    video.set_muted(true);
    let loaded = Promise::new(&mut |resolve, _reject| {
        video.set_onloadedmetadata(Some(&resolve));
        video.set_onerror(Some(&resolve));
    });
    video.set_src(url);
    let timeout = gloo_timers::future::TimeoutFuture::new(METADATA_TIMEOUT_MS);
    let outcome = select(JsFuture::from(loaded), timeout).await;
    let duration = video.duration();
    video.set_onloadedmetadata(None);
    video.set_onerror(None);
    video.remove_attribute("src").ok()?;
    match outcome {
        Either::Left(_) if duration.is_finite() && duration > 0.0 => Some(duration),
        _ => None,
    }
}
