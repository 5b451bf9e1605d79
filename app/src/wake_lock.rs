//! Keeps a phone's screen on while an upload runs, where the browser allows it (the Screen Wake
//! Lock API, `navigator.wakeLock.request('screen')`). A phone that turns its screen off soon
//! freezes the tab, and the upload with it. Best effort throughout: a browser without the API,
//! or one that refuses (battery saver, a tab not in view), uploads just the same.
//!
//! The browser drops the lock whenever the page is hidden, so it is asked for again each time
//! the page is visible while an upload still wants it. Called through `js_sys::Reflect`: web-sys
//! has the API only under `--cfg=web_sys_unstable_apis`.

use js_sys::{Function, Reflect};
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The page's screen lock: held while [`ScreenLock::hold`] says so and the browser agrees.
/// Clones share one lock, which is let go when the last clone is dropped.
#[derive(Clone, Default)]
pub struct ScreenLock(Rc<State>);

#[derive(Default)]
struct State {
    /// Whether an upload wants the screen on.
    wanted: Cell<bool>,
    /// The browser's `WakeLockSentinel`, while it grants the lock.
    sentinel: RefCell<Option<JsValue>>,
    /// The `visibilitychange` listener, once added.
    listener: RefCell<Option<Closure<dyn FnMut()>>>,
}

impl ScreenLock {
    /// Asks for the lock (`true`) or lets it go (`false`); repeating the last call does nothing.
    pub fn hold(&self, wanted: bool) {
        if self.0.wanted.replace(wanted) == wanted {
            return;
        }
        if wanted {
            self.listen();
            acquire(&self.0);
        } else {
            release(&self.0);
        }
    }

    /// Asks again whenever the page comes back into view (the browser released it on hiding).
    fn listen(&self) {
        if self.0.listener.borrow().is_some() {
            return;
        }
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let state: Weak<State> = Rc::downgrade(&self.0);
        let shown = document.clone();
        let listener = Closure::<dyn FnMut()>::new(move || {
            if let Some(state) = state.upgrade()
                && state.wanted.get()
                && !shown.hidden()
            {
                acquire(&state);
            }
        });
        let _ = document.add_event_listener_with_callback(
            "visibilitychange",
            listener.as_ref().unchecked_ref(),
        );
        *self.0.listener.borrow_mut() = Some(listener);
    }
}

impl Drop for State {
    fn drop(&mut self) {
        release(self);
        let listener = self.listener.get_mut().take();
        if let (Some(listener), Some(document)) =
            (listener, web_sys::window().and_then(|w| w.document()))
        {
            let _ = document.remove_event_listener_with_callback(
                "visibilitychange",
                listener.as_ref().unchecked_ref(),
            );
        }
    }
}

/// `navigator.wakeLock.request('screen')`, keeping the sentinel if the lock is still wanted when
/// the browser grants it. Nothing happens where the API is missing or the browser refuses.
fn acquire(state: &Rc<State>) {
    let Some(navigator) = web_sys::window().map(|w| w.navigator()) else {
        return;
    };
    let Ok(wake_lock) = Reflect::get(&navigator, &"wakeLock".into()) else {
        return;
    };
    let Some(request) = Reflect::get(&wake_lock, &"request".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
    else {
        return;
    };
    let Some(promise) = request
        .call1(&wake_lock, &"screen".into())
        .ok()
        .and_then(|p| p.dyn_into::<js_sys::Promise>().ok())
    else {
        return;
    };
    let state = Rc::downgrade(state);
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(sentinel) = JsFuture::from(promise).await else {
            return;
        };
        match state.upgrade() {
            Some(state) if state.wanted.get() => {
                let old = state.sentinel.borrow_mut().replace(sentinel);
                if let Some(old) = old {
                    let _ = call(&old, "release");
                }
            }
            // Not wanted any more (done, paused, cancelled meanwhile): give it back.
            _ => {
                let _ = call(&sentinel, "release");
            }
        }
    });
}

/// Gives the lock back, if the page holds one.
fn release(state: &State) {
    if let Some(sentinel) = state.sentinel.borrow_mut().take() {
        let _ = call(&sentinel, "release");
    }
}

/// Calls `target[name]()`.
fn call(target: &JsValue, name: &str) -> Result<JsValue, JsValue> {
    Reflect::get(target, &name.into())?
        .dyn_into::<Function>()?
        .call0(target)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// Puts a scripted `navigator.wakeLock` in place (`grant`: resolve or reject requests) and
    /// returns its log: `window.__wakeLog`, one `request:screen` or `release` entry per call.
    fn fake_wake_lock(grant: bool) -> js_sys::Array {
        let install = Function::new_with_args(
            "grant",
            "window.__wakeLog = [];
             const log = window.__wakeLog;
             const wakeLock = { request(type) {
                 log.push('request:' + type);
                 if (!grant) return Promise.reject(new DOMException('no', 'NotAllowedError'));
                 return Promise.resolve({ release() { log.push('release'); return Promise.resolve(); } });
             } };
             Object.defineProperty(navigator, 'wakeLock', { configurable: true, get: () => wakeLock });
             return log;",
        );
        install
            .call1(&JsValue::NULL, &grant.into())
            .expect("installing the fake")
            .unchecked_into()
    }

    fn entries(log: &js_sys::Array) -> Vec<String> {
        log.iter().filter_map(|e| e.as_string()).collect()
    }

    async fn settle() {
        gloo_timers::future::TimeoutFuture::new(10).await;
    }

    #[test]
    async fn holds_the_screen_while_wanted_and_asks_again_when_shown() {
        let log = fake_wake_lock(true);
        let lock = ScreenLock::default();
        lock.hold(true);
        lock.hold(true);
        settle().await;
        assert_eq!(entries(&log), ["request:screen"]);
        // The browser let it go when the page was hidden; back in view, the page asks again.
        let document = web_sys::window().unwrap().document().unwrap();
        document
            .dispatch_event(&web_sys::Event::new("visibilitychange").unwrap())
            .unwrap();
        settle().await;
        assert_eq!(
            entries(&log),
            ["request:screen", "request:screen", "release"]
        );
        lock.hold(false);
        settle().await;
        assert_eq!(entries(&log).last().map(String::as_str), Some("release"));
        // Not wanted: coming back into view asks for nothing.
        let before = log.length();
        document
            .dispatch_event(&web_sys::Event::new("visibilitychange").unwrap())
            .unwrap();
        settle().await;
        assert_eq!(log.length(), before);
        drop(lock);
    }

    #[test]
    async fn a_refusal_or_no_api_changes_nothing() {
        let log = fake_wake_lock(false);
        let lock = ScreenLock::default();
        lock.hold(true);
        settle().await;
        lock.hold(false);
        settle().await;
        assert_eq!(entries(&log), ["request:screen"], "nothing to release");
        let navigator = web_sys::window().unwrap().navigator();
        let missing = js_sys::Object::new();
        Reflect::set(&missing, &"value".into(), &JsValue::UNDEFINED).unwrap();
        Reflect::set(&missing, &"configurable".into(), &true.into()).unwrap();
        js_sys::Object::define_property(&navigator, &"wakeLock".into(), &missing);
        lock.hold(true);
        settle().await;
        lock.hold(false);
        drop(lock);
    }
}
