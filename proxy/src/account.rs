//! The connected TikTok account: where the access token for each call comes from, and what the
//! connection allows.
//!
//! Either a fixed `TIKTOK_ACCESS_TOKEN` (no refresh possible), or Login Kit tokens kept in the
//! token file and refreshed here. Refreshes are single-flight: one `tokio` mutex guards the
//! tokens and is held across the whole refresh (retries included), and whoever gets it next
//! checks again before refreshing, so many callers at expiry cause exactly one token-endpoint
//! call. Refresh tokens rotate strictly, so the new pair is written to the token file before
//! the new access token is handed to anyone.
//!
//! A refresh runs as its own task, holding the mutex's guard: once TikTok is asked, the answer
//! is stored even if the request that asked goes away (a closed tab, an aborted poll) — TikTok
//! has already spent the old refresh token, so dropping its answer would disconnect the account.

use crate::config::{Config, OAuthConfig, Secret};
use crate::error::Error;
use crate::oauth_client::{OAuthClient, TokenError};
use crate::token_file::{self, StoredTokens, now_ms};
use protocol::oauth::{
    CONNECT_MESSAGE, RECONNECT_MESSAGE, TokenAction, after_token_failure, grants, refresh_due,
};
use protocol::tiktok::TokenResponse;
use protocol::wire::{Connection, LOGIN_PATH, LoggedOut, PostMode};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

/// What a person reads on `/api/connection` without any way to connect.
const UNCONFIGURED_MESSAGE: &str = "No TikTok account is connected. Set TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET to connect with a click, or TIKTOK_ACCESS_TOKEN, and restart the proxy.";

/// What a finished code exchange did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connected {
    /// The tokens are stored: this account is the connected one.
    Stored,
    /// The person signed in to TikTok as another account than the connected one; nothing was
    /// replaced.
    OtherAccount,
}

/// Where access tokens come from.
#[derive(Debug)]
pub struct Account {
    source: Source,
}

#[derive(Debug)]
enum Source {
    /// Nothing configured: every TikTok call answers 503.
    Missing,
    /// A fixed access token: used as is until TikTok refuses it.
    Static(Secret),
    /// Login Kit (shared with the refresh task, which outlives the call that started it).
    OAuth(Arc<OAuthAccount>),
}

#[derive(Debug)]
struct OAuthAccount {
    client: OAuthClient,
    /// The token file.
    path: PathBuf,
    /// Held across a whole refresh (by the refresh task): this is what makes refreshes
    /// single-flight.
    slot: Arc<Mutex<Slot>>,
    /// Mirrors `slot` for `/api/health`, which must not wait for a refresh.
    connected: AtomicBool,
    /// Waits between tries of a failed refresh, in milliseconds.
    retry_delays_ms: Vec<u32>,
}

/// The tokens, or why there are none.
#[derive(Debug)]
enum Slot {
    /// Never connected, or disconnected on purpose.
    Empty,
    /// TikTok refused the refresh token (`invalid_grant`): the person must connect again.
    /// Holds the account's `open_id` (empty if unknown), so connecting another one is noticed.
    Refused {
        open_id: String,
    },
    Held(StoredTokens),
}

impl Account {
    /// The account `config` describes. With OAuth credentials the token file is read now; one
    /// that exists but cannot be read is an error, never overwritten.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let Some(oauth) = &config.oauth else {
            let source = match config.access_token.clone() {
                Some(token) if !token.expose().is_empty() => Source::Static(token),
                _ => Source::Missing,
            };
            return Ok(Self { source });
        };
        let client = OAuthClient::new(&config.api_base, oauth, config.upstream_timeout)?;
        let slot = match token_file::load(&oauth.token_file) {
            Ok(Some(tokens)) => Slot::Held(tokens),
            Ok(None) => seed(oauth),
            Err(error) => anyhow::bail!(
                "the token file {} cannot be read ({error}); fix or delete it, then connect again",
                oauth.token_file.display()
            ),
        };
        let connected = AtomicBool::new(matches!(slot, Slot::Held(_)));
        Ok(Self {
            source: Source::OAuth(Arc::new(OAuthAccount {
                client,
                path: oauth.token_file.clone(),
                slot: Arc::new(Mutex::new(slot)),
                connected,
                retry_delays_ms: oauth
                    .retry_delays
                    .iter()
                    .map(|delay| u32::try_from(delay.as_millis()).unwrap_or(u32::MAX))
                    .collect(),
            })),
        })
    }

    /// Whether TikTok calls can be attempted now (a token is held).
    pub fn is_connected(&self) -> bool {
        match &self.source {
            Source::Missing => false,
            Source::Static(_) => true,
            Source::OAuth(oauth) => oauth.connected.load(Ordering::Relaxed),
        }
    }

    /// Whether a refused access token can be replaced by a refresh.
    pub fn can_refresh(&self) -> bool {
        matches!(self.source, Source::OAuth(_))
    }

    /// The token for the next call, refreshed first when it is due.
    pub async fn access_token(&self) -> Result<Secret, Error> {
        match &self.source {
            Source::Missing => Err(Error::NotConnected),
            Source::Static(token) => Ok(token.clone()),
            Source::OAuth(oauth) => oauth.fresh_token(None).await,
        }
    }

    /// After TikTok answered 401 `access_token_invalid` to `rejected`: a new token, from a
    /// refresh unless another caller already replaced `rejected`.
    pub async fn replace_rejected(&self, rejected: &Secret) -> Result<Secret, Error> {
        match &self.source {
            Source::OAuth(oauth) => oauth.fresh_token(Some(rejected)).await,
            _ => Err(Error::NotConnected),
        }
    }

    /// The connected account's `open_id`, when TikTok told it (Login Kit does; a fixed access
    /// token says nothing about its account).
    pub async fn open_id(&self) -> Option<String> {
        let Source::OAuth(oauth) = &self.source else {
            return None;
        };
        match &*oauth.slot.lock().await {
            Slot::Held(tokens) if !tokens.open_id.is_empty() => Some(tokens.open_id.clone()),
            _ => None,
        }
    }

    /// Refuses a post whose mode the granted scopes do not allow, before TikTok is asked.
    pub async fn check_mode(&self, mode: PostMode) -> Result<(), Error> {
        let Source::OAuth(oauth) = &self.source else {
            return Ok(());
        };
        oauth.fresh_token(None).await?;
        let slot = oauth.slot.lock().await;
        match &*slot {
            Slot::Held(tokens) if !grants(Some(&tokens.scopes)).allows(mode) => {
                Err(Error::ScopeNotGranted(mode))
            }
            _ => Ok(()),
        }
    }

    /// `GET /api/connection`'s answer. With Login Kit, a due refresh happens first, so the
    /// answer is current (and a dead refresh token is noticed now rather than mid-post).
    pub async fn connection(&self) -> Connection {
        let unknown = grants(None);
        let mut connection = Connection {
            connected: false,
            open_id: None,
            scopes: Vec::new(),
            can_direct: false,
            can_inbox: false,
            login_url: None,
            message: None,
        };
        match &self.source {
            Source::Missing => connection.message = Some(UNCONFIGURED_MESSAGE.to_owned()),
            Source::Static(_) => {
                connection.connected = true;
                connection.can_direct = unknown.can_direct;
                connection.can_inbox = unknown.can_inbox;
            }
            Source::OAuth(oauth) => {
                connection.login_url = Some(LOGIN_PATH.to_owned());
                let refreshed = oauth.fresh_token(None).await;
                let slot = oauth.slot.lock().await;
                match &*slot {
                    Slot::Empty => connection.message = Some(CONNECT_MESSAGE.to_owned()),
                    Slot::Refused { open_id } => {
                        connection.message = Some(RECONNECT_MESSAGE.to_owned());
                        connection.open_id = Some(open_id.clone()).filter(|id| !id.is_empty());
                    }
                    Slot::Held(tokens) => {
                        let granted = grants(Some(&tokens.scopes));
                        connection.connected = true;
                        connection.open_id =
                            Some(tokens.open_id.clone()).filter(|id| !id.is_empty());
                        connection.scopes = tokens.scopes.clone();
                        connection.can_direct = granted.can_direct;
                        connection.can_inbox = granted.can_inbox;
                        connection.message = match refreshed {
                            Err(error) => Some(format!(
                                "The connection could not be renewed just now: {error}"
                            )),
                            Ok(_) => granted.message,
                        };
                    }
                }
            }
        }
        connection
    }

    /// The callback's code exchange: on success the tokens are stored (file first) — unless they
    /// are for another TikTok account than the one connected (or last connected, before TikTok
    /// refused its renewal). Then nothing is replaced: the new grant is revoked at once, and the
    /// person must disconnect first to switch accounts, so a connect can never silently move
    /// the autoposter to someone else's account.
    pub async fn connect(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<Connected, TokenError> {
        let Source::OAuth(oauth) = &self.source else {
            unreachable!("the callback route answers only with OAuth configured");
        };
        let reply = oauth
            .client
            .exchange_code(code, redirect_uri, code_verifier)
            .await?;
        let mut slot = oauth.slot.lock().await;
        let current = match &*slot {
            Slot::Held(tokens) => tokens.open_id.as_str(),
            Slot::Refused { open_id } => open_id.as_str(),
            Slot::Empty => "",
        };
        if !current.is_empty() && !reply.open_id.is_empty() && current != reply.open_id {
            drop(slot);
            if let Err(error) = oauth.client.revoke(&reply.access_token).await {
                tracing::warn!(%error, "could not revoke the other account's new grant");
            }
            return Ok(Connected::OtherAccount);
        }
        oauth.store(&mut slot, reply).await;
        Ok(Connected::Stored)
    }

    /// `POST /auth/logout`: revoke at TikTok, then forget the tokens whatever TikTok said.
    pub async fn disconnect(&self) -> Result<LoggedOut, Error> {
        let Source::OAuth(oauth) = &self.source else {
            return Err(Error::OAuthNotConfigured);
        };
        let mut slot = oauth.slot.lock().await;
        let revoked = match &*slot {
            Slot::Held(tokens) if !tokens.access_token.is_empty() => {
                Some(oauth.client.revoke(&tokens.access_token).await)
            }
            _ => None,
        };
        token_file::delete(&oauth.path)
            .await
            .map_err(|error| Error::Internal(format!("deleting the token file: {error}")))?;
        *slot = Slot::Empty;
        oauth.connected.store(false, Ordering::Relaxed);
        Ok(match revoked {
            None => LoggedOut {
                revoked: false,
                message: "You disconnected TikTok. There was no live connection to revoke.".into(),
            },
            Some(Ok(())) => LoggedOut {
                revoked: true,
                message: "You disconnected TikTok. This app can no longer post to your account until you connect again.".into(),
            },
            Some(Err(error)) => {
                tracing::warn!(%error, "revoke failed; tokens deleted anyway");
                LoggedOut {
                    revoked: false,
                    message: "You disconnected TikTok here, but TikTok could not be told. If the app still shows under Manage app permissions in TikTok's settings, remove it there.".into(),
                }
            }
        })
    }
}

impl OAuthAccount {
    /// The current access token, refreshing first when it is due or when it is `rejected`.
    async fn fresh_token(self: &Arc<Self>, rejected: Option<&Secret>) -> Result<Secret, Error> {
        let slot = self.slot.clone().lock_owned().await;
        let tokens = match &*slot {
            Slot::Empty => return Err(Error::NotSignedIn),
            Slot::Refused { .. } => return Err(Error::ReconnectRequired),
            Slot::Held(tokens) => tokens,
        };
        let replaced = rejected.is_some_and(|rejected| rejected.expose() != tokens.access_token);
        let due = refresh_due(
            now_ms(),
            tokens.access_issued_at_ms,
            tokens.access_expires_at_ms,
        );
        if replaced || (rejected.is_none() && !due) {
            return Ok(Secret::new(tokens.access_token.clone()));
        }
        self.spawn_refresh(slot).await
    }

    /// Refreshes in a task of its own that holds `slot` until the new tokens are stored (or the
    /// refresh has failed), and waits for it. Dropping this future leaves the task running;
    /// callers queued on the mutex meanwhile find the new tokens when it lets go.
    async fn spawn_refresh(
        self: &Arc<Self>,
        mut slot: OwnedMutexGuard<Slot>,
    ) -> Result<Secret, Error> {
        let account = self.clone();
        let task = tokio::spawn(async move { account.refresh(&mut slot).await });
        task.await.unwrap_or_else(|error| {
            Err(Error::Internal(format!(
                "the token refresh failed: {error}"
            )))
        })
    }

    /// Refreshes with retries while the caller holds the lock. Passing failures never touch
    /// the stored tokens; only `invalid_grant` disconnects.
    async fn refresh(&self, slot: &mut Slot) -> Result<Secret, Error> {
        let Slot::Held(tokens) = &*slot else {
            unreachable!("refresh is only called with tokens held");
        };
        if tokens.refresh_expired(now_ms()) {
            tracing::warn!("the refresh token has expired: TikTok must be connected again");
            return Err(self.refused(slot));
        }
        let refresh_token = tokens.refresh_token.clone();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let error = match self.client.refresh(&refresh_token).await {
                Ok(reply) => {
                    tracing::info!("access token refreshed");
                    return Ok(self.store(slot, reply).await);
                }
                Err(error) => error,
            };
            match after_token_failure(error.failure(), attempt, &self.retry_delays_ms) {
                TokenAction::RetryAfter { delay_ms } => {
                    tracing::warn!(%error, attempt, delay_ms, "refresh failed; trying again");
                    tokio::time::sleep(Duration::from_millis(u64::from(delay_ms))).await;
                }
                TokenAction::Reconnect => {
                    tracing::warn!(%error, "TikTok refused the refresh token: disconnected");
                    return Err(self.refused(slot));
                }
                TokenAction::Stop => {
                    tracing::warn!(%error, attempt, "refresh failed; keeping the stored tokens");
                    return Err(error.into());
                }
            }
        }
    }

    /// Writes the new tokens to the token file, then holds them: the rotated refresh token is
    /// on disk before the new access token is used. A failed write is logged, and the tokens
    /// are kept in memory anyway — the old refresh token is already spent, so these are the
    /// only live ones.
    async fn store(&self, slot: &mut Slot, reply: TokenResponse) -> Secret {
        let tokens = StoredTokens::from_reply(reply, now_ms());
        if let Err(error) = token_file::save(&self.path, &tokens).await {
            tracing::error!(
                %error,
                path = %self.path.display(),
                "could not save the TikTok tokens; they are held in memory only until the next successful save"
            );
        }
        let access = Secret::new(tokens.access_token.clone());
        *slot = Slot::Held(tokens);
        self.connected.store(true, Ordering::Relaxed);
        access
    }

    /// Marks the account disconnected after TikTok refused the refresh token. The token file
    /// is left as it is: it is useless now, and a restart only asks TikTok once more.
    fn refused(&self, slot: &mut Slot) -> Error {
        let open_id = match &*slot {
            Slot::Held(tokens) => tokens.open_id.clone(),
            Slot::Refused { open_id } => open_id.clone(),
            Slot::Empty => String::new(),
        };
        *slot = Slot::Refused { open_id };
        self.connected.store(false, Ordering::Relaxed);
        Error::ReconnectRequired
    }
}

/// The tokens to start with when there is no token file: a seeded refresh token, or none.
fn seed(oauth: &OAuthConfig) -> Slot {
    match &oauth.refresh_token {
        Some(token) if !token.expose().is_empty() => {
            Slot::Held(StoredTokens::seed(token.expose().to_owned()))
        }
        _ => Slot::Empty,
    }
}
