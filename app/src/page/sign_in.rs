//! The operator's way in: which screen our own page shows for what the proxy says about this
//! browser ([`Gate`]), the password form, and "Sign out".

use crate::api::{Api, ApiError};
use leptos::prelude::*;
use protocol::wire::Access;

/// What our own page shows, decided by `GET /api/session`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    /// The proxy needs an operator, this browser is not one yet, and a password would do.
    SignIn,
    /// The proxy needs an operator but has no password set: it takes API tokens only.
    TokensOnly,
    /// The uploader. `signed_in` when this browser holds an operator session it can end.
    Uploader { signed_in: bool },
}

impl Gate {
    /// The screen for the proxy's answer. Without one (an unreachable proxy, or one older than
    /// sign-in) the uploader shows, and its account line says what is wrong.
    pub fn of(access: Option<Access>) -> Self {
        match access {
            Some(Access {
                sign_in_required: true,
                operator: false,
                password_sign_in,
            }) => {
                if password_sign_in {
                    Self::SignIn
                } else {
                    Self::TokensOnly
                }
            }
            Some(access) => Self::Uploader {
                signed_in: access.sign_in_required,
            },
            None => Self::Uploader { signed_in: false },
        }
    }
}

/// The password form. On success the proxy has set the session cookie, and `on_signed_in`
/// asks it again what this browser may do.
#[component]
pub(super) fn SignIn(
    /// The proxy to sign in to.
    api: Api,
    /// Called once the proxy accepted the password.
    on_signed_in: Callback<()>,
) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let sign_in = Action::new_unsync(move |password: &String| {
        let (api, password) = (api.clone(), password.clone());
        async move {
            api.sign_in(&password).await?;
            on_signed_in.run(());
            Ok::<(), ApiError>(())
        }
    });
    let pending = sign_in.pending();
    // Hidden while a new try is under way, so the same message shown again is announced again.
    let failure = Memo::new(move |_| {
        if pending.get() {
            return None;
        }
        sign_in
            .value()
            .with(|done| done.as_ref()?.as_ref().err().map(ApiError::to_string))
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        sign_in.dispatch(password.get_untracked());
    };
    view! {
        <main class="uploader">
            <form class="card sign-in" data-testid="sign-in" on:submit=submit>
                <h1>"Sign in"</h1>
                <p class="muted">"This autoposter posts to your TikTok account. Enter its operator password to use it."</p>
                <label class="label" for="sign-in-password">"Password"</label>
                <input
                    id="sign-in-password"
                    type="password"
                    name="password"
                    autocomplete="current-password"
                    required
                    bind:value=password
                />
                {move || failure.get().map(|message| view! {
                    <p class="error" role="alert" data-testid="sign-in-error">{message}</p>
                })}
                <button type="submit" class="primary" disabled=move || pending.get()>"Sign in"</button>
            </form>
        </main>
    }
}

/// What the page says when the proxy needs an operator but has no password to sign in with.
#[component]
pub(super) fn TokensOnly() -> impl IntoView {
    view! {
        <main class="uploader">
            <section class="card sign-in" data-testid="tokens-only">
                <h1>"Sign in"</h1>
                <p>"This autoposter is reachable from the network and takes operator API tokens only, so this page cannot sign you in."</p>
                <p class="muted">
                    "To post from the browser, set an operator password ("
                    <code>"AUTOPOSTER_ADMIN_PASSWORD_HASH"</code>
                    ") as docs/DEPLOY.md in the autoposter's source explains, then restart it."
                </p>
            </section>
        </main>
    }
}

/// "Sign out", above the uploader while this browser holds an operator session.
#[component]
pub(super) fn SignOut(
    /// The proxy to sign out of.
    api: Api,
    /// Called once the proxy ended the session.
    on_signed_out: Callback<()>,
) -> impl IntoView {
    let sign_out = Action::new_unsync(move |_: &()| {
        let api = api.clone();
        async move {
            api.sign_out().await?;
            on_signed_out.run(());
            Ok::<(), ApiError>(())
        }
    });
    let pending = sign_out.pending();
    let failure = Memo::new(move |_| {
        sign_out
            .value()
            .with(|done| done.as_ref()?.as_ref().err().map(ApiError::to_string))
    });
    view! {
        <nav class="session" aria-label="Operator session">
            {move || failure.get().map(|message| view! {
                <p class="error" role="alert">"Signing out did not work: " {message}</p>
            })}
            <button
                type="button"
                class="link"
                data-testid="sign-out"
                disabled=move || pending.get()
                on:click=move |_| {
                    sign_out.dispatch(());
                }
            >
                "Sign out"
            </button>
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn check(sign_in_required: bool, password_sign_in: bool, operator: bool, expected: Gate) {
        let access = Access {
            sign_in_required,
            password_sign_in,
            operator,
        };
        assert_eq!(Gate::of(Some(access)), expected, "{access:?}");
    }

    #[wasm_bindgen_test]
    fn the_page_shows_what_the_proxy_allows() {
        // Loopback with nothing configured: the uploader, as before, with nothing to sign out of.
        check(false, false, true, Gate::Uploader { signed_in: false });
        check(true, true, false, Gate::SignIn);
        check(true, false, false, Gate::TokensOnly);
        check(true, true, true, Gate::Uploader { signed_in: true });
        // No answer: the uploader, whose account line says what is wrong.
        assert_eq!(Gate::of(None), Gate::Uploader { signed_in: false });
    }
}
