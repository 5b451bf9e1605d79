//! The uploader as a custom element for any site: `embed/tiktok-uploader.js` defines
//! `<tiktok-uploader proxy="https://…" mode="inbox">`, gives it a shadow root, and calls
//! [`mount_uploader`], which mounts the same [`Uploader`] our own page uses. What happens is told
//! to the host page as DOM `CustomEvent`s that bubble and cross the shadow boundary:
//! `tiktok-upload:start`, `:progress` `{sent, total}`, `:complete` `{publish_id, status,
//! post_ids}` and `:error` `{code, message}`.

use crate::api::{Api, Credential};
use crate::page::{Remote, Uploader, options_from};
use leptos::prelude::*;
use protocol::wire::{PostMode, PostState};
use wasm_bindgen::prelude::*;
use web_sys::{CustomEvent, CustomEventInit, HtmlElement};

/// A mounted element's uploader, for the element's `start()`, `cancel()` and `reset()`.
#[wasm_bindgen]
pub struct EmbedHandle {
    remote: Remote,
    /// Unmounts the uploader when dropped.
    _mounted: Box<dyn std::any::Any>,
}

#[wasm_bindgen]
impl EmbedHandle {
    /// Arms Post; the person's own press on it sends the video (TikTok requires their consent).
    pub fn start(&self) {
        self.remote.start();
    }

    /// Cancels the upload under way.
    pub fn cancel(&self) {
        self.remote.cancel();
    }

    /// Clears the form for another video.
    pub fn reset(&self) {
        self.remote.reset();
    }
}

/// Mounts an uploader into `mount` (inside `host`'s shadow root), configured by `host`'s
/// attributes: `proxy` (the proxy's origin; default: this page's), `mode` (`direct` or
/// `inbox`), `caption`, and a credential, `embed-key` or `ticket`. Engine options for tests:
/// `retry-delays-ms`, `stall-timeout-ms`.
#[wasm_bindgen]
pub fn mount_uploader(host: HtmlElement, mount: HtmlElement) -> EmbedHandle {
    let attribute = |name: &str| host.get_attribute(name).filter(|value| !value.is_empty());
    let credential = attribute("embed-key")
        .map(Credential::Key)
        .or_else(|| attribute("ticket").map(Credential::Ticket));
    let api = Api::new(attribute("proxy").unwrap_or_default()).with_credential(credential);
    let mode = match attribute("mode").as_deref() {
        Some("inbox") => Some(PostMode::Inbox),
        Some("direct") => Some(PostMode::Direct),
        _ => None,
    };
    let options = options_from(attribute);
    let caption = attribute("caption");
    let remote = Remote::default();
    let events = host.clone();
    let mounted = leptos::mount::mount_to(mount, move || {
        let emit = move |name: &'static str, detail: JsValue| dispatch(&events, name, &detail);
        let (start, progress, complete, error) = (emit.clone(), emit.clone(), emit.clone(), emit);
        view! {
            <Uploader
                api=api.clone()
                options=options.clone()
                caption=caption.clone().unwrap_or_default()
                mode=mode.unwrap_or_default()
                remote=remote
                on_start=UnsyncCallback::new(move |()| start("tiktok-upload:start", js_sys::Object::new().into()))
                on_progress=UnsyncCallback::new(move |(sent, total): (u64, u64)| {
                    progress("tiktok-upload:progress", detail(&Progress { sent, total }))
                })
                on_complete=UnsyncCallback::new(move |state: PostState| {
                    complete("tiktok-upload:complete", detail(&Complete {
                        publish_id: &state.publish_id,
                        status: state.status.as_str(),
                        post_ids: &state.post_ids,
                    }))
                })
                on_error=UnsyncCallback::new(move |(code, message): (String, String)| {
                    error("tiktok-upload:error", detail(&Failure { code: &code, message: &message }))
                })
            />
        }
    });
    EmbedHandle {
        remote,
        _mounted: Box::new(mounted),
    }
}

/// Dispatches `name` on `host`, bubbling and composed, with `detail` as a plain JS object.
fn dispatch(host: &HtmlElement, name: &str, detail: &JsValue) {
    let init = CustomEventInit::new();
    init.set_bubbles(true);
    init.set_composed(true);
    init.set_detail(detail);
    if let Ok(event) = CustomEvent::new_with_event_init_dict(name, &init) {
        let _ = host.dispatch_event(&event);
    }
}

/// `detail` of `tiktok-upload:progress`.
#[derive(serde::Serialize)]
struct Progress {
    sent: u64,
    total: u64,
}

/// `detail` of `tiktok-upload:complete`.
#[derive(serde::Serialize)]
struct Complete<'a> {
    publish_id: &'a str,
    status: &'a str,
    post_ids: &'a [String],
}

/// `detail` of `tiktok-upload:error`.
#[derive(serde::Serialize)]
struct Failure<'a> {
    code: &'a str,
    message: &'a str,
}

/// An event's `detail` as a plain JS object (`{}` should it not convert, which our types do).
fn detail<T: serde::Serialize>(value: &T) -> JsValue {
    crate::json::to_js(value).unwrap_or_else(|_| js_sys::Object::new().into())
}
