//! "Post later": the chosen file goes to the proxy's `POST /api/upload` as a multipart form, and
//! the proxy posts it itself at the chosen time, as a server-side job.
//!
//! The browser builds the `FormData` from the `File` and streams it from disk; wasm only holds
//! the handle. `XMLHttpRequest` rather than `fetch`, for its upload progress.

use crate::api::{Api, ApiError, read};
use js_sys::Promise;
use protocol::wire::{JobInfo, PostFields, PostMode, UPLOAD_PATH};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, FormData, ProgressEvent, XmlHttpRequest};

/// One scheduled post as the page sends it.
#[derive(Debug, Clone)]
pub struct LaterPost {
    pub file: File,
    pub mode: PostMode,
    /// The post's details; sent only for a direct post (drafts take none at TikTok).
    pub fields: PostFields,
    /// When the proxy should start it: RFC 3339 with an offset.
    pub publish_at: String,
}

impl LaterPost {
    /// The form's fields, named as `POST /api/upload` reads them; the file goes last, so the
    /// proxy can refuse wrong details before any byte of the video arrives.
    fn form(&self) -> Result<FormData, JsValue> {
        let form = FormData::new()?;
        let mode = match self.mode {
            PostMode::Direct => "direct",
            PostMode::Inbox => "inbox",
        };
        form.append_with_str("mode", mode)?;
        form.append_with_str("publish_at", &self.publish_at)?;
        form.append_with_str("file_name", &self.file.name())?;
        if self.mode == PostMode::Direct {
            let f = &self.fields;
            form.append_with_str("caption", &f.title)?;
            if let Some(privacy) = &f.privacy_level {
                form.append_with_str("privacy_level", privacy.as_str())?;
            }
            if let Some(ms) = f.video_cover_timestamp_ms {
                form.append_with_str("video_cover_timestamp_ms", &ms.to_string())?;
            }
            let toggles = [
                ("disable_duet", f.disable_duet),
                ("disable_stitch", f.disable_stitch),
                ("disable_comment", f.disable_comment),
                ("brand_content_toggle", f.brand_content_toggle),
                ("brand_organic_toggle", f.brand_organic_toggle),
                ("is_aigc", f.is_aigc),
            ];
            for (name, on) in toggles {
                form.append_with_str(name, if on { "true" } else { "false" })?;
            }
        }
        form.append_with_blob("file", &self.file)?;
        Ok(form)
    }
}

/// Sends `post` to the proxy; `on_progress` hears `(sent, total)` as the body leaves. The
/// answer is the queued job.
pub async fn send(
    api: &Api,
    post: &LaterPost,
    on_progress: impl Fn(u64, u64) + 'static,
) -> Result<JobInfo, ApiError> {
    let network = |error: JsValue| ApiError::Network(crate::exception_text(&error));
    let form = post.form().map_err(network)?;
    let xhr = XmlHttpRequest::new().map_err(network)?;
    xhr.open_with_async("POST", &api.url(UPLOAD_PATH), true)
        .map_err(network)?;
    if let Some((name, value)) = api.credential_header() {
        xhr.set_request_header(name, value).map_err(network)?;
    }
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        on_progress(event.loaded() as u64, event.total() as u64);
    });
    xhr.upload()
        .map_err(network)?
        .set_onprogress(Some(progress.as_ref().unchecked_ref()));
    // `loadend` fires exactly once, after success, error or abort alike.
    let finished = Promise::new(&mut |resolve, _reject| xhr.set_onloadend(Some(&resolve)));
    xhr.send_with_opt_form_data(Some(&form)).map_err(network)?;
    JsFuture::from(finished).await.map_err(network)?;
    let status = xhr.status().map_err(network)?;
    if status == 0 {
        return Err(ApiError::Network("the upload got no answer".into()));
    }
    let text = xhr.response_text().map_err(network)?.unwrap_or_default();
    read(status, &text)
}

/// A `<input type="datetime-local">` value (the browser's local time) as RFC 3339 (UTC, `Z`),
/// the same instant; `None` when empty or unreadable.
pub fn local_input_to_rfc3339(value: &str) -> Option<String> {
    if value.trim().is_empty() {
        return None;
    }
    // A date-time without an offset is read as local time by `Date` (ECMAScript's rule).
    let date = js_sys::Date::new(&JsValue::from_str(value));
    (!date.get_time().is_nan()).then(|| date.to_iso_string().into())
}

/// An RFC 3339 time as the browser writes local times in its own language; the text as given
/// when unreadable.
pub fn local_time(rfc3339: &str) -> String {
    let date = js_sys::Date::new(&JsValue::from_str(rfc3339));
    if date.get_time().is_nan() {
        return rfc3339.to_owned();
    }
    date.to_locale_string("default", &JsValue::UNDEFINED).into()
}
