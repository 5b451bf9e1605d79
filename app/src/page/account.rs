//! Who the page posts as: the account line, and connecting or disconnecting TikTok.

use super::Account;
use crate::api::{Api, ApiError};
use leptos::prelude::*;
use protocol::wire::{Connection, Creator};

/// "Posting as …": the creator's nickname and avatar, or why posting is not possible.
#[component]
pub(super) fn AccountCard(
    /// The account as loaded from `GET /api/creator`.
    account: Account,
) -> impl IntoView {
    match account {
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

/// "Connect TikTok" when no account is connected (and the proxy can connect one), "Disconnect"
/// with an inline confirmation when one is, and why the last connect attempt failed.
#[component]
pub(super) fn ConnectionControls(
    /// The proxy, which runs the sign-in and holds the tokens.
    api: Api,
    /// The creator, to name whom a disconnect would leave.
    #[prop(into)]
    creator: Signal<Option<Creator>>,
    /// Whether no account is connected and the proxy can connect one with a click.
    #[prop(into)]
    can_connect: Signal<bool>,
    /// The connection as `GET /api/connection` described it.
    #[prop(into)]
    connection: Signal<Option<Connection>>,
    /// Why the last connect attempt failed (from `?connect_error=`).
    error: Option<String>,
    /// Called after disconnecting, to load the account state again.
    on_change: Callback<()>,
) -> impl IntoView {
    let connect_api = api.clone();
    // The proxy binds the login to this signed-in browser and answers where TikTok asks; the
    // page then leaves for TikTok, so the button stays pending until it is gone.
    let connect = Action::new_unsync(move |_: &()| {
        let api = connect_api.clone();
        async move {
            let start = api.start_connect().await?;
            window()
                .location()
                .assign(&start.authorize_url)
                .map_err(|error| ApiError::Network(crate::exception_text(&error)))
        }
    });
    let disconnect = Action::new_unsync(move |_: &()| {
        let api = api.clone();
        async move {
            let done = api.logout().await;
            on_change.run(());
            done
        }
    });
    let confirming = RwSignal::new(false);
    let connecting = connect.pending();
    let disconnecting = disconnect.pending();
    let failure = Memo::new(move |_| {
        connect
            .value()
            .with(|done| done.as_ref()?.as_ref().err().map(ApiError::to_string))
            .or_else(|| error.clone())
    });
    // Only an OAuth connection can be disconnected from here; a fixed token lives in the config.
    // Also when TikTok stopped renewing a connection (it still names its account): to switch
    // to another account, the person disconnects the old one first.
    let can_disconnect = move || {
        connection.with(|c| {
            c.as_ref()
                .is_some_and(|c| c.login_url.is_some() && (c.connected || c.open_id.is_some()))
        })
    };
    let question = move || {
        let whom = creator
            .with(|c| c.as_ref().map(|c| format!("@{}", c.username)))
            .unwrap_or_else(|| "this TikTok account".to_owned());
        format!(
            "Disconnect TikTok? The autoposter will stop posting to {whom} until you connect again."
        )
    };
    let keep = NodeRef::<leptos::html::Button>::new();
    // The safe choice gets the focus, so a stray Enter keeps the connection.
    keep.on_load(|button| {
        let _ = button.focus();
    });
    view! {
        {move || failure.get().map(|message| view! {
            <p class="error" role="alert" data-testid="connect-error">
                "Connecting TikTok did not work: " {message}
            </p>
        })}
        {move || disconnect.value().get().map(|done| match done {
            Ok(done) => view! { <p class="muted" data-testid="connect-notice">{done.message}</p> }.into_any(),
            Err(failure) => view! {
                <p class="error" role="alert" data-testid="connect-notice">{failure.to_string()}</p>
            }
            .into_any(),
        })}
        <Show when=move || can_connect.get()>
            <button
                type="button"
                class="primary"
                data-testid="connect-button"
                disabled=move || connecting.get()
                on:click=move |_| {
                    connect.dispatch(());
                }
            >
                "Connect TikTok"
            </button>
        </Show>
        <Show when=can_disconnect>
            <Show
                when=move || confirming.get()
                fallback=move || view! {
                    <button
                        type="button"
                        class="link"
                        data-testid="disconnect-button"
                        disabled=move || disconnecting.get()
                        on:click=move |_| confirming.set(true)
                    >
                        "Disconnect TikTok"
                    </button>
                }
            >
                <div class="confirm" role="group" aria-labelledby="disconnect-question" data-testid="disconnect-confirm">
                    <p id="disconnect-question">{question}</p>
                    <div class="buttons">
                        <button
                            type="button"
                            class="danger"
                            on:click=move |_| {
                                confirming.set(false);
                                disconnect.dispatch(());
                            }
                        >
                            "Disconnect"
                        </button>
                        <button type="button" class="secondary" node_ref=keep on:click=move |_| confirming.set(false)>
                            "Keep connected"
                        </button>
                    </div>
                </div>
            </Show>
        </Show>
    }
}
