//! Our own page's operator access in real headless Chromium, against a scripted proxy: the
//! password form and its refusals, the uploader after signing in, "Sign out", starting a TikTok
//! connection with a `POST`, and the confirmation before a disconnect. `window.fetch` is
//! replaced by a script that answers each `METHOD /path` from a list and records the calls, so
//! the tests need no proxy and each answer is exactly the one under test.
#![cfg(target_arch = "wasm32")]

use app::api::{Api, Credential};
use leptos::prelude::*;
use serde_json::{Value, json};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlButtonElement, HtmlElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

/// Replaces `window.fetch` with one that answers from `replies`: for each `"METHOD /path"`, a
/// list of `{status, body, hold}` used in turn (the last one again and again). A reply with
/// `hold` waits until [`release`]. Calls go to `window.__calls` as `{key, body, type}`, whether
/// the page calls `fetch(url, init)` or `fetch(request)`.
const FAKE_FETCH: &str = r#"
    const real = window.__realFetch || (window.__realFetch = window.fetch);
    window.__calls = [];
    window.__held = [];
    window.fetch = async (input, init) => {
        // Both forms of the call: `fetch(url, init)` and `fetch(request)`.
        const request = input instanceof Request ? input : null;
        init = init || {};
        const method = request ? request.method : (init.method || 'GET');
        const url = request ? request.url : input;
        const headers = request ? request.headers : init.headers;
        const key = method + ' ' + new URL(url, location.href).pathname;
        const type = headers ? new Headers(headers).get('content-type') : null;
        const call = { key, body: null, type };
        window.__calls.push(call);
        const queue = replies[key];
        const reply = queue && (queue.length > 1 ? queue.shift() : queue[0]);
        // Held from the call on, so that a `release` right after it answers it.
        const held = reply && reply.hold ? new Promise(go => window.__held.push(go)) : null;
        if (request && request.body !== null) call.body = await request.text();
        else if (!request && init.body !== undefined) call.body = init.body;
        if (!reply) throw new TypeError('no scripted reply for ' + key);
        await held;
        return new Response(
            reply.body === undefined ? null : JSON.stringify(reply.body),
            { status: reply.status });
    };
"#;

fn script_proxy(replies: Value) {
    let install = js_sys::Function::new_with_args("replies", FAKE_FETCH);
    let replies = js_sys::JSON::parse(&replies.to_string()).unwrap();
    install.call1(&JsValue::NULL, &replies).unwrap();
}

/// Answers every held call.
fn release() {
    js_sys::Function::new_no_args("window.__held.splice(0).forEach(go => go());")
        .call0(&JsValue::NULL)
        .unwrap();
}

/// The calls the page made, as `(METHOD /path, body, content-type)`.
fn calls() -> Vec<(String, Option<String>, Option<String>)> {
    let calls = js_sys::Reflect::get(&window(), &"__calls".into()).unwrap();
    let text: String = js_sys::JSON::stringify(&calls).unwrap().into();
    let calls: Vec<Value> = serde_json::from_str(&text).unwrap();
    calls
        .into_iter()
        .map(|call| {
            let text = |name: &str| call[name].as_str().map(str::to_owned);
            (text("key").unwrap(), text("body"), text("type"))
        })
        .collect()
}

fn called(key: &str) -> usize {
    calls().iter().filter(|(k, _, _)| k == key).count()
}

fn error(status: u16, code: &str, message: &str) -> Value {
    json!({ "status": status, "body": { "error": { "code": code, "message": message } } })
}

fn ok(body: Value) -> Value {
    json!({ "status": 200, "body": body })
}

fn access(sign_in_required: bool, password_sign_in: bool, operator: bool) -> Value {
    ok(json!({
        "sign_in_required": sign_in_required,
        "password_sign_in": password_sign_in,
        "operator": operator,
    }))
}

fn disconnected() -> Value {
    ok(json!({
        "connected": false, "can_direct": false, "can_inbox": false,
        "login_url": "/auth/login", "message": "No TikTok account is connected.",
    }))
}

fn connected() -> Value {
    ok(json!({
        "connected": true, "open_id": "open-1", "scopes": ["video.publish", "video.upload"],
        "can_direct": true, "can_inbox": true, "login_url": "/auth/login",
    }))
}

fn creator() -> Value {
    ok(json!({
        "nickname": "Sim Creator", "username": "sim.creator", "avatar_url": "",
        "privacy_level_options": ["PUBLIC_TO_EVERYONE", "SELF_ONLY"],
        "comment_disabled": false, "duet_disabled": false, "stitch_disabled": false,
        "max_video_post_duration_sec": 600,
    }))
}

/// A fresh node on the page to mount into.
fn host() -> HtmlElement {
    let document = document();
    let host: HtmlElement = document.create_element("div").unwrap().unchecked_into();
    document.body().unwrap().append_child(&host).unwrap();
    host
}

fn find(host: &HtmlElement, css: &str) -> Option<Element> {
    host.query_selector(css).unwrap()
}

/// Waits (up to 5 s) until `css` matches, and returns the element.
async fn wait_for(host: &HtmlElement, css: &str) -> Element {
    for _ in 0..250 {
        if let Some(element) = find(host, css) {
            return element;
        }
        gloo_timers::future::TimeoutFuture::new(20).await;
    }
    panic!("{css} never showed; the page is: {}", host.inner_html());
}

/// Waits (up to 5 s) until `css` no longer matches.
async fn wait_gone(host: &HtmlElement, css: &str) {
    for _ in 0..250 {
        if find(host, css).is_none() {
            return;
        }
        gloo_timers::future::TimeoutFuture::new(20).await;
    }
    panic!("{css} never went away; the page is: {}", host.inner_html());
}

/// The button whose text is `label`.
fn button(host: &HtmlElement, label: &str) -> HtmlButtonElement {
    let buttons = host.query_selector_all("button").unwrap();
    (0..buttons.length())
        .filter_map(|i| buttons.item(i))
        .map(|node| node.unchecked_into::<HtmlButtonElement>())
        .find(|button| button.text_content().unwrap_or_default().trim() == label)
        .unwrap_or_else(|| panic!("no button {label:?} in {}", host.inner_html()))
}

/// Types into the password field as a person would (an `input` event per change).
fn type_password(host: &HtmlElement, text: &str) {
    let input: HtmlInputElement = find(host, "#sign-in-password").unwrap().unchecked_into();
    input.set_value(text);
    input
        .dispatch_event(&web_sys::Event::new("input").unwrap())
        .unwrap();
}

fn text(element: &Element) -> String {
    element.text_content().unwrap_or_default()
}

/// Lets Leptos run what an event scheduled.
async fn settle() {
    gloo_timers::future::TimeoutFuture::new(50).await;
}

#[wasm_bindgen_test]
async fn signs_in_with_the_password_then_shows_the_uploader_and_signs_out() {
    script_proxy(json!({
        "GET /api/session": [
            access(true, true, false),
            access(true, true, true),
            access(true, true, false),
        ],
        "POST /auth/session": [
            error(401, "wrong_password", "That password is not right."),
            {
                "status": 429,
                "body": { "error": {
                    "code": "too_many_sign_ins",
                    "message": "Too many wrong passwords. Try again in 42 s.",
                    "retry_after_secs": 42,
                } },
            },
            { "status": 204, "hold": true },
        ],
        "DELETE /auth/session": [{ "status": 204 }],
        "GET /api/connection": [disconnected()],
        "POST /auth/login": [error(401, "sign_in_required", "Sign in first.")],
    }));
    let host = host();
    let handle = leptos::mount::mount_to(host.clone(), app::App);

    // The form: a labelled password field a password manager recognises.
    let form = wait_for(&host, "[data-testid=sign-in]").await;
    let input: HtmlInputElement = find(&host, "#sign-in-password").unwrap().unchecked_into();
    assert_eq!(input.type_(), "password");
    assert_eq!(input.autocomplete(), "current-password");
    let label = find(&host, "label[for=sign-in-password]").expect("a label");
    assert_eq!(text(&label), "Password");
    assert!(find(&host, "[data-testid=post-button]").is_none());
    assert!(find(&host, "[data-testid=sign-out]").is_none());

    // A wrong password: the proxy's message, as an alert.
    type_password(&host, "not it");
    button(&host, "Sign in").click();
    let alert = wait_for(&host, "[role=alert]").await;
    assert_eq!(text(&alert), "That password is not right.");
    let (_, body, content_type) = calls()
        .into_iter()
        .find(|(key, _, _)| key == "POST /auth/session")
        .unwrap();
    assert_eq!(body.as_deref(), Some(r#"{"password":"not it"}"#));
    assert_eq!(content_type.as_deref(), Some("application/json"));

    // Too many tries: the proxy's message says when to try again.
    button(&host, "Sign in").click();
    for _ in 0..250 {
        if called("POST /auth/session") == 2 && find(&host, "[role=alert]").is_some() {
            break;
        }
        settle().await;
    }
    let alert = wait_for(&host, "[role=alert]").await;
    assert_eq!(text(&alert), "Too many wrong passwords. Try again in 42 s.");

    // The right password: the button waits with the request, the alert is gone meanwhile.
    type_password(&host, "correct horse");
    button(&host, "Sign in").click();
    settle().await;
    assert!(
        button(&host, "Sign in").disabled(),
        "disabled while pending"
    );
    assert!(find(&host, "[role=alert]").is_none());
    release();

    // Signed in: the uploader, its connect button, and "Sign out".
    wait_for(&host, "[data-testid=account]").await;
    assert!(!form.is_connected(), "the form is gone");
    assert_eq!(
        called("GET /api/session"),
        2,
        "asked again after signing in"
    );
    let connect = wait_for(&host, "[data-testid=connect-button]").await;
    assert_eq!(
        connect.tag_name(),
        "BUTTON",
        "a POST from the page, not a link"
    );

    // Connecting starts with a POST of `{}` as JSON; a refusal is explained.
    connect.unchecked_ref::<HtmlElement>().click();
    let error = wait_for(&host, "[data-testid=connect-error]").await;
    assert_eq!(
        text(&error),
        "Connecting TikTok did not work: Sign in first."
    );
    let (_, body, content_type) = calls()
        .into_iter()
        .find(|(key, _, _)| key == "POST /auth/login")
        .unwrap();
    assert_eq!(body.as_deref(), Some("{}"));
    assert_eq!(content_type.as_deref(), Some("application/json"));

    // Signing out brings the form back.
    wait_for(&host, "[data-testid=sign-out]")
        .await
        .unchecked_into::<HtmlElement>()
        .click();
    wait_for(&host, "[data-testid=sign-in]").await;
    assert_eq!(called("DELETE /auth/session"), 1);
    assert!(find(&host, "[data-testid=account]").is_none());
    drop(handle);
}

#[wasm_bindgen_test]
async fn a_proxy_without_a_password_says_it_takes_tokens_only() {
    script_proxy(json!({ "GET /api/session": [access(true, false, false)] }));
    let host = host();
    let handle = leptos::mount::mount_to(host.clone(), app::App);
    let notice = wait_for(&host, "[data-testid=tokens-only]").await;
    assert!(
        text(&notice).contains("API tokens only"),
        "{}",
        text(&notice)
    );
    assert!(
        text(&notice).contains("docs/DEPLOY.md"),
        "{}",
        text(&notice)
    );
    assert!(find(&host, "#sign-in-password").is_none());
    assert!(find(&host, "[data-testid=post-button]").is_none());
    drop(handle);
}

#[wasm_bindgen_test]
async fn on_loopback_the_uploader_shows_at_once_without_sign_out() {
    script_proxy(json!({
        "GET /api/session": [access(false, false, true)],
        "GET /api/connection": [disconnected()],
    }));
    let host = host();
    let handle = leptos::mount::mount_to(host.clone(), app::App);
    wait_for(&host, "[data-testid=connect-button]").await;
    assert!(find(&host, "[data-testid=sign-in]").is_none());
    assert!(find(&host, "[data-testid=sign-out]").is_none());
    drop(handle);
}

#[wasm_bindgen_test]
async fn disconnecting_asks_first_and_says_who_did_it() {
    script_proxy(json!({
        "GET /api/session": [access(false, false, true)],
        "GET /api/connection": [connected(), disconnected()],
        "GET /api/creator": [creator()],
        "POST /auth/logout": [ok(json!({
            "revoked": true,
            "message": "You disconnected TikTok. This app can no longer post to your account until you connect again.",
        }))],
    }));
    let host = host();
    let handle = leptos::mount::mount_to(host.clone(), app::App);
    let disconnect = wait_for(&host, "[data-testid=disconnect-button]").await;

    // Changing one's mind does nothing.
    disconnect.unchecked_ref::<HtmlElement>().click();
    let confirm = wait_for(&host, "[data-testid=disconnect-confirm]").await;
    assert_eq!(
        text(&find(&host, "#disconnect-question").unwrap()),
        "Disconnect TikTok? The autoposter will stop posting to @sim.creator until you connect again."
    );
    assert_eq!(confirm.get_attribute("role").as_deref(), Some("group"));
    let keep = button(&host, "Keep connected");
    assert_eq!(
        document().active_element().as_ref(),
        Some(keep.unchecked_ref::<Element>()),
        "the safe choice has the focus"
    );
    keep.click();
    wait_gone(&host, "[data-testid=disconnect-confirm]").await;
    settle().await;
    assert_eq!(called("POST /auth/logout"), 0);

    // Confirmed: disconnected, and the page says the person did it.
    wait_for(&host, "[data-testid=disconnect-button]")
        .await
        .unchecked_into::<HtmlElement>()
        .click();
    wait_for(&host, "[data-testid=disconnect-confirm]").await;
    button(&host, "Disconnect").click();
    let notice = wait_for(&host, "[data-testid=connect-notice]").await;
    assert!(
        text(&notice).starts_with("You disconnected TikTok."),
        "{}",
        text(&notice)
    );
    wait_for(&host, "[data-testid=connect-button]").await;
    assert_eq!(called("POST /auth/logout"), 1);
    drop(handle);
}

#[wasm_bindgen_test]
async fn an_embedded_uploader_never_connects_or_disconnects() {
    for connection in [disconnected(), connected()] {
        script_proxy(json!({
            "GET /api/connection": [connection],
            "GET /api/creator": [creator()],
        }));
        let host = host();
        let api = Api::new("").with_credential(Some(Credential::Key("embed-key".into())));
        let handle = leptos::mount::mount_to(
            host.clone(),
            move || view! { <app::Uploader api=api.clone()/> },
        );
        wait_for(&host, "[data-testid=account]").await;
        settle().await;
        for control in ["connect-button", "disconnect-button", "sign-in", "sign-out"] {
            assert!(
                find(&host, &format!("[data-testid={control}]")).is_none(),
                "{control} in {}",
                host.inner_html()
            );
        }
        assert_eq!(called("GET /api/session"), 0);
        drop(handle);
    }
}
