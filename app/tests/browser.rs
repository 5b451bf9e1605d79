//! The app's browser-side logic in real headless Chromium (wasm-bindgen-test): slicing a real
//! `Blob` per the plan, the PUT sequence against the simulator, the checks on a chosen file, and
//! the mounted component's caption counter.
#![cfg(target_arch = "wasm32")]

use app::upload::{self, chunk_blob};
use app::video;
use js_sys::{Array, Uint8Array};
use leptos::prelude::*;
use protocol::chunk::{ChunkPlan, ChunkRange};
use protocol::media::{ContentType, VideoError};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{Blob, File};

wasm_bindgen_test_configure!(run_in_browser);

/// The bytes xtask's simulator fixture expects: byte `i` of the test video.
fn pattern_byte(i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761) >> 13) as u8
}

fn blob_of(bytes: &[u8]) -> Blob {
    let parts = Array::of1(&Uint8Array::from(bytes));
    Blob::new_with_u8_array_sequence(&parts).expect("a Blob from bytes")
}

fn file_of(bytes: &[u8], name: &str) -> File {
    let parts = Array::of1(&Uint8Array::from(bytes));
    File::new_with_u8_array_sequence(&parts, name).expect("a File from bytes")
}

/// Lets Leptos run the effects a DOM event scheduled.
async fn settle() {
    gloo_timers::future::TimeoutFuture::new(20).await;
}

async fn bytes_of(blob: &Blob) -> Vec<u8> {
    let buffer = JsFuture::from(blob.array_buffer())
        .await
        .expect("arrayBuffer()");
    Uint8Array::new(&buffer).to_vec()
}

#[wasm_bindgen_test]
async fn slices_a_real_blob_exactly_as_planned() {
    // 12 MiB + 7 bytes in 5 MiB chunks: floor gives 2, the last absorbs the remainder.
    let size = 12 * 1024 * 1024 + 7;
    let bytes: Vec<u8> = (0..size).map(pattern_byte).collect();
    let blob = blob_of(&bytes);
    let plan = ChunkPlan::validate(size, 5 * 1024 * 1024, 2).unwrap();
    let mut joined = Vec::new();
    for chunk in plan.chunks() {
        let piece = chunk_blob(&blob, &chunk).unwrap();
        assert_eq!(piece.size() as u64, chunk.len());
        joined.extend(bytes_of(&piece).await);
    }
    assert_eq!(plan.chunk(1).unwrap().len(), 7 * 1024 * 1024 + 7);
    assert!(joined == bytes, "the chunks put together are the file");
}

fn request<'a>(
    file: &'a Blob,
    target: &'a upload::Target,
    chunk: &'a ChunkRange,
) -> upload::ChunkRequest<'a> {
    upload::ChunkRequest {
        file,
        target,
        chunk,
        content_type: ContentType::Mp4,
        stall_timeout_ms: 60_000,
        credential: None,
    }
}

#[wasm_bindgen_test]
async fn sends_every_chunk_to_the_simulator_in_order() {
    // xtask's fixture inits an upload at the simulator and passes its URL and plan in.
    let (Some(url), Some(size), Some(chunk_size), Some(count)) = (
        option_env!("SIM_UPLOAD_URL"),
        option_env!("SIM_VIDEO_SIZE"),
        option_env!("SIM_CHUNK_SIZE"),
        option_env!("SIM_CHUNK_COUNT"),
    ) else {
        panic!("run this through `cargo xtask test`, which starts the simulator fixture");
    };
    let plan = ChunkPlan::validate(
        size.parse().unwrap(),
        chunk_size.parse().unwrap(),
        count.parse().unwrap(),
    )
    .unwrap();
    let bytes: Vec<u8> = (0..plan.video_size).map(pattern_byte).collect();
    let file = blob_of(&bytes);
    let target = upload::Target::Direct(url.to_owned());
    let mut replies = Vec::new();
    for chunk in plan.chunks() {
        let reply = upload::put_chunk(request(&file, &target, &chunk), |_| {}, |_| {})
            .await
            .unwrap();
        upload::judge(&reply, &chunk, &plan).unwrap();
        let confirmed = reply.content_range.expect("the sim exposes Content-Range");
        assert_eq!(
            (confirmed.first, confirmed.last, confirmed.total),
            (0, chunk.end - 1, plan.video_size)
        );
        replies.push(reply.status);
    }
    assert_eq!(replies, [206, 206, 201]);
    // A chunk sent again is out of step with TikTok's record.
    let first = plan.chunk(0).unwrap();
    let again = upload::put_chunk(request(&file, &target, &first), |_| {}, |_| {})
        .await
        .unwrap();
    assert_ne!(again.status, 206);
}

#[wasm_bindgen_test]
async fn a_put_that_shows_no_progress_is_abandoned_at_the_stall_timeout() {
    // xtask's fixture runs a server that takes connections and never answers.
    let Some(url) = option_env!("SILENT_URL") else {
        panic!("run this through `cargo xtask test`, which starts the silent server");
    };
    let bytes: Vec<u8> = (0..1000).map(pattern_byte).collect();
    let file = blob_of(&bytes);
    let plan = ChunkPlan::new(1000).unwrap();
    let chunk = plan.chunk(0).unwrap();
    let target = upload::Target::Direct(url.to_owned());
    let request = upload::ChunkRequest {
        stall_timeout_ms: 400,
        ..request(&file, &target, &chunk)
    };
    let started = js_sys::Date::now();
    let reply = upload::put_chunk(request, |_| {}, |_| {}).await.unwrap();
    let took_ms = js_sys::Date::now() - started;
    assert!(reply.timed_out, "{reply:?}");
    assert_eq!((reply.status, reply.body_sent), (0, 0), "{reply:?}");
    assert!(
        (390.0..3_000.0).contains(&took_ms),
        "gave up after {took_ms} ms"
    );
}

#[wasm_bindgen_test]
async fn refuses_files_before_any_call() {
    let check = |bytes: &'static [u8], name: &'static str| async move {
        video::inspect(file_of(bytes, name))
            .await
            .map(|v| v.content_type)
    };
    assert_eq!(
        check(b"", "empty.mp4").await.unwrap_err(),
        VideoError::Empty
    );
    assert_eq!(
        check(b"plain text pretending", "fake.mp4")
            .await
            .unwrap_err(),
        VideoError::NotAVideo
    );
    assert_eq!(
        check(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR", "picture.webm")
            .await
            .unwrap_err()
            .to_string(),
        "This file is not a video TikTok accepts. Choose an MP4, MOV or WebM video."
    );
    // A real container header passes the file check even when the browser cannot read a
    // duration; the posting screen's length check then refuses it for a direct post.
    let header = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";
    assert_eq!(check(header, "clip.bin").await, Ok(ContentType::Mp4));
}

#[wasm_bindgen_test]
async fn caption_counter_counts_like_tiktok() {
    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    // Port 9 refuses connections: the page shows why it cannot post, and the form still works.
    let handle = leptos::mount::mount_to(
        host.clone(),
        || view! { <app::Uploader api=app::api::Api::new("http://127.0.0.1:9")/> },
    );

    let caption: web_sys::HtmlTextAreaElement = host
        .query_selector("[data-testid=caption]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    let counter = host
        .query_selector("[data-testid=caption-count]")
        .unwrap()
        .unwrap();
    assert_eq!(counter.text_content().unwrap(), "0 / 2200");
    caption.set_value("hi 😀");
    caption
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    settle().await;
    assert_eq!(counter.text_content().unwrap(), "5 / 2200");
    caption.set_value(&"a".repeat(2201));
    caption
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
    settle().await;
    assert_eq!(counter.text_content().unwrap(), "2201 / 2200");
    assert!(counter.class_list().contains("over"));

    let post: web_sys::HtmlButtonElement = host
        .query_selector("[data-testid=post-button]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    assert!(
        post.disabled(),
        "nothing can be posted without an account and a video"
    );
    gloo_timers::future::TimeoutFuture::new(1_500).await;
    let account = host
        .query_selector("[data-testid=account]")
        .unwrap()
        .expect("the account line explains");
    assert!(
        account
            .text_content()
            .unwrap()
            .contains("could not be reached"),
        "{:?}",
        account.text_content()
    );
    drop(handle);
}

/// The uploader as a host site mounts it: into a fresh node, against a proxy on another origin
/// (with an embed key), with a caption and a mode of its own, and a host's callbacks.
#[wasm_bindgen_test]
async fn the_component_honours_its_props_and_fires_its_callbacks() {
    use app::api::{Api, Credential};
    use app::page::Remote;
    use protocol::wire::{PostMode, PostState};
    use std::cell::RefCell;
    use std::rc::Rc;

    let (Some(proxy), Some(key)) = (option_env!("PROXY_URL"), option_env!("PROXY_EMBED_KEY"))
    else {
        panic!("run this through `cargo xtask test`, which starts the proxy fixture");
    };
    let document = web_sys::window().unwrap().document().unwrap();
    let host: web_sys::HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    let heard: Rc<RefCell<Vec<String>>> = Rc::default();
    let (on_start, on_progress, on_complete) = (heard.clone(), heard.clone(), heard.clone());
    let remote = Remote::default();
    let api = Api::new(proxy).with_credential(Some(Credential::Key(key.into())));
    let handle = leptos::mount::mount_to(host.clone(), move || {
        let (on_start, on_progress, on_complete) =
            (on_start.clone(), on_progress.clone(), on_complete.clone());
        view! {
            <app::Uploader
                api=api.clone()
                caption="#from-the-host"
                mode=PostMode::Inbox
                remote=remote
                on_start=UnsyncCallback::new(move |()| on_start.borrow_mut().push("start".into()))
                on_progress=UnsyncCallback::new(move |(sent, total): (u64, u64)| {
                    on_progress.borrow_mut().push(format!("progress {sent}/{total}"))
                })
                on_complete=UnsyncCallback::new(move |state: PostState| {
                    on_complete.borrow_mut().push(format!("complete {}", state.status))
                })
            />
        }
    });
    let find = |css: &str| host.query_selector(css).unwrap();
    // The account loads through the proxy, across origins, with the key.
    for _ in 0..100 {
        if find("[data-testid=account]").is_some() {
            break;
        }
        gloo_timers::future::TimeoutFuture::new(50).await;
    }
    let account = find("[data-testid=account]")
        .expect("the account line")
        .text_content()
        .unwrap();
    assert!(account.contains("Posting as"), "{account}");
    let inbox: web_sys::HtmlInputElement = find("#mode-inbox").unwrap().unchecked_into();
    assert!(inbox.checked(), "the host's mode is preselected");
    // In drafts mode the caption field is hidden; switch to direct to see the host's caption.
    let direct: web_sys::HtmlInputElement = find("#mode-direct").unwrap().unchecked_into();
    direct.click();
    settle().await;
    let caption: web_sys::HtmlTextAreaElement =
        find("[data-testid=caption]").unwrap().unchecked_into();
    assert_eq!(caption.value(), "#from-the-host");
    inbox.click();
    settle().await;

    // A file chosen as a person would (through the input), Post armed by the host and pressed
    // by the person.
    let mut bytes = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41".to_vec();
    bytes.resize(200_000, 7);
    let files = web_sys::DataTransfer::new().unwrap();
    files
        .items()
        .add_with_file(&file_of(&bytes, "from-host.mp4"))
        .unwrap();
    let input: web_sys::HtmlInputElement =
        find("[data-testid=file-input]").unwrap().unchecked_into();
    input.set_files(Some(&files.files().unwrap()));
    input
        .dispatch_event(&web_sys::Event::new("change").unwrap())
        .unwrap();
    for _ in 0..100 {
        if find("[data-testid=video-facts]").is_some() {
            break;
        }
        gloo_timers::future::TimeoutFuture::new(50).await;
    }
    // The host's start() only arms Post (issue 15): nothing is sent until the person presses it.
    remote.start();
    settle().await;
    assert!(heard.borrow().is_empty(), "{:?}", heard.borrow());
    assert!(
        find("[data-testid=armed]").is_some(),
        "the person is asked to press Post"
    );
    let post: web_sys::HtmlElement = find("[data-testid=post-button]").unwrap().unchecked_into();
    assert_eq!(
        document
            .active_element()
            .and_then(|e| e.get_attribute("data-testid"))
            .as_deref(),
        Some("post-button"),
        "Post has the focus"
    );
    post.click();
    for _ in 0..300 {
        if heard.borrow().iter().any(|e| e.starts_with("complete")) {
            break;
        }
        gloo_timers::future::TimeoutFuture::new(50).await;
    }
    let heard = heard.borrow().clone();
    assert_eq!(
        heard.first().map(String::as_str),
        Some("start"),
        "{heard:?}"
    );
    assert!(
        heard.iter().any(|e| e == "progress 200000/200000"),
        "{heard:?}"
    );
    assert_eq!(
        heard.last().map(String::as_str),
        Some("complete SEND_TO_USER_INBOX"),
        "{heard:?}"
    );
    drop(handle);
}
