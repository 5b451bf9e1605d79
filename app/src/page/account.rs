//! Who the page posts as: the account line, and connecting or disconnecting TikTok.

use super::Account;
use crate::api::Api;
use leptos::prelude::*;
use leptos::task::spawn_local;
use protocol::wire::Connection;

/// "Posting as …": the creator's nickname and avatar, or why posting is not possible.
#[component]
pub(super) fn AccountCard(
    /// The account as loaded from `GET /api/creator`.
    account: RwSignal<Account>,
) -> impl IntoView {
    move || {
        match account.get() {
        Account::Loading => {
            view! { <p class="account muted">"Loading your TikTok account…"</p> }.into_any()
        }
        Account::Ready(creator) => view! {
            <div class="account" data-testid="account">
                <img class="avatar" src=creator.avatar_url.clone() alt="" width="40" height="40"/>
                <p>
                    "Posting as " <strong>{creator.nickname.clone()}</strong>
                    <span class="muted">{format!(" @{}", creator.username)}</span>
                </p>
            </div>
        }
        .into_any(),
        Account::DraftsOnly => view! {
            <p class="account" data-testid="account">
                "Connected to TikTok for drafts: videos go to your TikTok inbox, and you finish them in the app."
            </p>
        }
        .into_any(),
        Account::Blocked { message } => view! {
            <p class="account error" role="alert" data-testid="account">
                "You can't post right now. " {message}
            </p>
        }
        .into_any(),
        Account::Disconnected { message, .. } => view! {
            <p class="account" data-testid="account">{message}</p>
        }
        .into_any(),
        Account::Unavailable { message } => view! {
            <p class="account error" role="alert" data-testid="account">{message}</p>
        }
        .into_any(),
    }
    }
}

/// "Connect TikTok" when no account is connected (and the proxy can connect one), "Disconnect"
/// when one is, and why the last connect attempt failed.
#[component]
pub(super) fn ConnectionControls(
    /// The proxy, which runs the sign-in and holds the tokens.
    api: Api,
    /// The account, to know whether one is connected.
    account: RwSignal<Account>,
    /// The connection as `GET /api/connection` described it.
    connection: RwSignal<Option<Connection>>,
    /// Why the last connect attempt failed (from `?connect_error=`).
    error: RwSignal<Option<String>>,
    /// Called after disconnecting, to load the account state again.
    on_change: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let notice = RwSignal::new(None::<String>);
    let disconnect = move |_| {
        let (api, on_change) = (api.clone(), on_change.clone());
        busy.set(true);
        spawn_local(async move {
            match api.logout().await {
                Ok(done) => notice.set(Some(done.message)),
                Err(failure) => notice.set(Some(failure.to_string())),
            }
            busy.set(false);
            on_change();
        });
    };
    let login_url = move || match account.get() {
        Account::Disconnected { login_url, .. } => login_url,
        _ => None,
    };
    // Only an OAuth connection can be disconnected from here; a fixed token lives in the config.
    let can_disconnect = move || {
        connection.with(|c| {
            c.as_ref()
                .is_some_and(|c| c.connected && c.login_url.is_some())
        })
    };
    view! {
        {move || error.get().map(|message| view! {
            <p class="error" role="alert" data-testid="connect-error">
                "Connecting TikTok did not work: " {message}
            </p>
        })}
        {move || notice.get().map(|message| view! { <p class="muted" data-testid="connect-notice">{message}</p> })}
        {move || login_url().map(|url| view! {
            <a class="button primary" href=url data-testid="connect-button">"Connect TikTok"</a>
        })}
        <Show when=can_disconnect>
            <button type="button" class="link" data-testid="disconnect-button" disabled=move || busy.get() on:click=disconnect.clone()>
                "Disconnect TikTok"
            </button>
        </Show>
    }
}
