//! The form's bound inputs in the browser (the caption and the checkboxes): each writes its own
//! field of the store, and shows it back.

use super::{CaptionField, InteractionFields};
use leptos::prelude::*;
use protocol::screen::{PostForm, PostFormStoreFields};
use protocol::tiktok::PrivacyLevel;
use protocol::wire::Creator;
use reactive_stores::Store;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;
use web_sys::{HtmlElement, HtmlInputElement, HtmlTextAreaElement};

/// A creator who allows everything but, if `comment_disabled`, comments.
fn creator(comment_disabled: bool) -> Creator {
    Creator {
        nickname: "Test".into(),
        username: "test".into(),
        avatar_url: String::new(),
        privacy_level_options: vec![PrivacyLevel::SelfOnly],
        comment_disabled,
        duet_disabled: false,
        stitch_disabled: false,
        max_video_post_duration_sec: 600,
    }
}

/// Mounts `view` in a fresh element of the page; the element and the mounted view.
fn mount<V: IntoView + 'static>(view: impl FnOnce() -> V + 'static) -> (HtmlElement, impl Drop) {
    let document = document();
    let host: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    let handle = leptos::mount::mount_to(host.clone(), view);
    (host, handle)
}

fn find<T: JsCast>(host: &HtmlElement, selector: &str) -> T {
    host.query_selector(selector)
        .unwrap()
        .unwrap_or_else(|| panic!("{selector} is on the page"))
        .unchecked_into()
}

/// Lets effects run.
async fn settle() {
    gloo_timers::future::TimeoutFuture::new(20).await;
}

#[wasm_bindgen_test]
async fn the_caption_is_bound_both_ways() {
    let form = Store::new(PostForm::default());
    let (host, _view) = mount(move || view! { <CaptionField caption=form.caption()/> });
    let caption: HtmlTextAreaElement = find(&host, "#caption");

    // What typing does: the value changes, then `input` fires.
    caption.set_value("typed #here");
    let typed = web_sys::Event::new("input").unwrap();
    caption.dispatch_event(&typed).unwrap();
    settle().await;
    assert_eq!(form.caption().get_untracked(), "typed #here");

    form.caption().set("from the host".into());
    settle().await;
    assert_eq!(caption.value(), "from the host");
}

/// A box writes its own field only; a box the creator turned off shows unticked while the field
/// keeps the tick, which shows again once the creator allows it.
#[wasm_bindgen_test]
async fn a_box_writes_its_field_and_a_turned_off_one_shows_unticked() {
    let form = Store::new(PostForm::default());
    let shown = RwSignal::new(Some(creator(false)));
    let (host, _view) = mount(move || view! { <InteractionFields form=form creator=shown/> });
    let comment: HtmlInputElement = find(&host, "#allow-comment");

    comment.click();
    settle().await;
    assert!(form.allow_comment().get_untracked());
    assert!(!form.allow_duet().get_untracked() && !form.allow_stitch().get_untracked());

    shown.set(Some(creator(true)));
    settle().await;
    assert!(comment.disabled() && !comment.checked());
    assert!(
        form.allow_comment().get_untracked(),
        "the field keeps the tick"
    );

    shown.set(Some(creator(false)));
    settle().await;
    assert!(!comment.disabled() && comment.checked());
}
