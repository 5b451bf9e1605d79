//! The engine's surroundings in the browser: chunks `PUT` by XHR ([`crate::upload`]), timers
//! from `setTimeout`, the network's state from `navigator.onLine`, and the proxy's API.

use super::transport::{Abort, ChunkReply, Proxy, Put, Surroundings, Transport, UploadError};
use super::{Control, End, Event, Job, Options, drive};
use crate::api::{Api, ApiError};
use crate::storage;
use crate::upload::{ChunkRequest, put_chunk};
use protocol::wire::{CreatePost, PostState, UploadEvent};
use std::rc::Rc;
use web_sys::Blob;

/// Sends `file` as `job` plans, from `job.confirmed` on, until TikTok holds every byte or
/// nothing more can help: [`drive`] over the browser's XHR and the proxy's `api`. `job` is
/// updated as TikTok confirms bytes.
pub async fn run(
    job: &mut Job,
    file: &Blob,
    api: &Api,
    control: &Control,
    options: &Options,
    on_event: Rc<dyn Fn(Event)>,
) -> End {
    let transport = Xhr { file, api };
    drive(
        job,
        &transport,
        &Browser { api },
        control,
        options,
        on_event,
    )
    .await
}

/// Chunks sliced from `file` and sent by XHR, with the proxy's credential on relayed ones.
pub struct Xhr<'a> {
    pub file: &'a Blob,
    pub api: &'a Api,
}

impl Transport for Xhr<'_> {
    // `put_chunk`'s own future, not an `async` wrapper around it: one state machine less.
    fn put<'a>(
        &'a self,
        put: &'a Put,
        started: impl FnOnce(Abort),
        progress: impl Fn(u64) + 'static,
    ) -> impl Future<Output = Result<ChunkReply, UploadError>> {
        let request = ChunkRequest {
            file: self.file,
            target: &put.target,
            chunk: &put.chunk,
            content_type: put.content_type,
            stall_timeout_ms: put.stall_timeout_ms,
            credential: self.api.credential_header(),
        };
        let on_start = |xhr: &web_sys::XmlHttpRequest| {
            let xhr = xhr.clone();
            started(Box::new(move || {
                let _ = xhr.abort();
            }));
        };
        put_chunk(request, on_start, progress)
    }
}

/// The page's browser and its proxy.
pub struct Browser<'a> {
    pub api: &'a Api,
}

impl Surroundings for Browser<'_> {
    fn sleep(&self, ms: u32) -> impl Future<Output = ()> {
        gloo_timers::future::TimeoutFuture::new(ms)
    }

    fn online(&self) -> bool {
        web_sys::window().is_none_or(|w| w.navigator().on_line())
    }

    fn random(&self) -> f64 {
        js_sys::Math::random()
    }

    async fn uploaded_bytes(&self, publish_id: &str) -> Option<u64> {
        self.api.post_state(publish_id).await.ok()?.uploaded_bytes
    }

    fn relay_url(&self, publish_id: &str) -> String {
        self.api.relay_url(publish_id)
    }

    fn remember_relay(&self) {
        storage::remember_relay();
    }
}

impl Proxy for Browser<'_> {
    async fn init(&self, request: &CreatePost) -> Result<Job, ApiError> {
        let created = self.api.create_post(request).await?;
        Ok(Job {
            plan: created.plan(request.video_size),
            publish_id: created.publish_id,
            upload_url: created.upload_url,
            content_type: protocol::ContentType::from_mime(&request.content_type)
                .expect("the request's content type came from a sniffed ContentType"),
            relay: storage::relay_remembered(),
            confirmed: 0,
        })
    }

    fn post_state(&self, publish_id: &str) -> impl Future<Output = Result<PostState, ApiError>> {
        self.api.post_state(publish_id)
    }

    fn report(&self, publish_id: &str, event: UploadEvent) {
        let (api, publish_id) = (self.api.clone(), publish_id.to_owned());
        leptos::task::spawn_local(async move { api.report(&publish_id, &event).await });
    }
}
