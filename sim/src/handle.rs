//! [`Sim`]: the cheap, clonable handle tests hold to inspect and steer a running simulator.

use crate::fault::Fault;
use crate::grants::Lifetimes;
use crate::options::{ChunkRule, Persona, RateLimits, SimOptions};
use crate::record::{RecordedRequest, UploadRecord};
use crate::state::State;
use protocol::tiktok::{TokenResponse, paths};
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

/// A simulated TikTok: the API and the upload host on one listener. Clones share everything.
#[derive(Clone)]
pub struct Sim {
    shared: Arc<Shared>,
}

/// What every clone of a [`Sim`] and every connection task share.
pub(crate) struct Shared {
    /// The address the listener is bound to.
    pub(crate) addr: SocketAddr,
    /// `http://{addr}`, the API base and the upload host alike.
    pub(crate) base_url: String,
    /// The bearer token always accepted, besides issued ones.
    pub(crate) access_token: String,
    /// The app's client key.
    pub(crate) client_key: String,
    /// The app's client secret.
    pub(crate) client_secret: String,
    /// How long issued tokens live.
    pub(crate) lifetimes: Lifetimes,
    /// What the stand-in consent page grants (see [`SimOptions::grant_scopes`]).
    pub(crate) grant_scopes: Option<Vec<String>>,
    /// Whether the upload host speaks CORS.
    pub(crate) cors: bool,
    /// From the final chunk to the final status.
    pub(crate) processing_delay: Duration,
    /// The lifetime of an upload URL.
    pub(crate) upload_url_ttl: Duration,
    /// Everything that changes.
    pub(crate) state: Mutex<State>,
    /// Flips to true once, when the simulator should stop serving.
    pub(crate) stop: watch::Sender<bool>,
}

impl Sim {
    /// Reads a request body of at most `limit` bytes and keeps it on request `record` (JSON and
    /// form bodies only, never upload bytes); `None` when it is larger or cut short.
    pub(crate) async fn read_recorded(
        &self,
        body: hyper::body::Incoming,
        limit: usize,
        record: usize,
    ) -> Option<bytes::Bytes> {
        use http_body_util::BodyExt;
        let bytes = http_body_util::Limited::new(body, limit)
            .collect()
            .await
            .ok()?
            .to_bytes();
        if !bytes.is_empty() {
            self.state().requests[record].body = Some(bytes.to_vec());
        }
        Some(bytes)
    }

    /// A simulator that will serve on `addr` (the address its listener is bound to; an
    /// unspecified IP such as `0.0.0.0` is advertised as `127.0.0.1`). Pass it to
    /// [`crate::serve`] with that listener, or use [`crate::spawn`].
    pub fn new(options: SimOptions, addr: SocketAddr) -> Self {
        let advertised = if addr.ip().is_unspecified() {
            SocketAddr::from(([127, 0, 0, 1], addr.port()))
        } else {
            addr
        };
        let (stop, _) = watch::channel(false);
        Self {
            shared: Arc::new(Shared {
                addr,
                base_url: format!("http://{advertised}"),
                access_token: options.access_token,
                client_key: options.client_key,
                client_secret: options.client_secret,
                lifetimes: Lifetimes {
                    access: options.access_token_ttl,
                    refresh: options.refresh_token_ttl,
                },
                grant_scopes: options.grant_scopes,
                cors: options.cors,
                processing_delay: options.processing_delay,
                upload_url_ttl: options.upload_url_ttl,
                state: Mutex::new(State::new(
                    options.persona,
                    options.rate_limits,
                    options.chunk_rule,
                )),
                stop,
            }),
        }
    }

    /// The address the simulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared.addr
    }

    /// `http://127.0.0.1:PORT`: the API base, and the host of every `upload_url`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The fixed bearer token the API accepts (issued tokens work too, while they live).
    pub fn access_token(&self) -> &str {
        &self.shared.access_token
    }

    /// The client key the OAuth endpoints accept.
    pub fn client_key(&self) -> &str {
        &self.shared.client_key
    }

    /// The client secret the token and revoke endpoints accept.
    pub fn client_secret(&self) -> &str {
        &self.shared.client_secret
    }

    /// Issues a token pair for `scopes` as if someone had connected elsewhere, e.g. to seed a
    /// proxy's `TIKTOK_REFRESH_TOKEN`.
    pub fn issue_tokens(&self, scopes: &[&str]) -> TokenResponse {
        let scopes = scopes.iter().map(|scope| (*scope).to_owned()).collect();
        let lifetimes = self.shared.lifetimes;
        let mut state = self.state();
        let person = state.grants.person();
        state
            .grants
            .start(person, scopes, tokio::time::Instant::now(), lifetimes)
    }

    /// Who the browser is signed in to TikTok as from now on: the `open_id` that the next
    /// consents (and so the next connections) are for. A test of someone connecting another
    /// account than the one connected before.
    pub fn sign_in_as(&self, open_id: &str) {
        self.state().grants.signed_in = open_id.to_owned();
    }

    /// Makes every issued access token expire now (the API then answers 401
    /// `access_token_invalid`), however long `expires_in` said it would live; refresh tokens
    /// keep working. The fixed `access_token` is unaffected.
    pub fn expire_access_tokens(&self) {
        self.state()
            .grants
            .expire_access_tokens(tokio::time::Instant::now());
    }

    /// How many requests reached `POST /v2/oauth/token/` (code exchanges and refreshes, faulted
    /// ones included).
    pub fn token_calls(&self) -> usize {
        self.state()
            .requests
            .iter()
            .filter(|request| request.path == paths::OAUTH_TOKEN)
            .count()
    }

    /// Every upload, one per `publish_id`, in creation order.
    pub fn uploads(&self) -> Vec<UploadRecord> {
        let state = self.state();
        state.sessions.iter().map(|s| s.record.clone()).collect()
    }

    /// The upload `publish_id` names.
    pub fn upload(&self, publish_id: &str) -> Option<UploadRecord> {
        self.state().session(publish_id).map(|s| s.record.clone())
    }

    /// Every request received, in arrival order (unanswered ones have status 0).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// Queues `fault` (see [`Fault`] for when each kind fires).
    pub fn script(&self, fault: Fault) {
        let mut state = self.state();
        match fault {
            Fault::ExpireUploadUrls => {
                for session in &mut state.sessions {
                    session.expired = true;
                }
            }
            fault => state.faults.push(fault),
        }
    }

    /// The scripted faults that have not fired yet, oldest first.
    pub fn pending_faults(&self) -> Vec<Fault> {
        self.state().faults.pending()
    }

    /// Replaces the rate limits; requests already counted stay counted.
    pub fn set_rate_limits(&self, limits: RateLimits) {
        self.state().rate_limits = limits;
    }

    /// Replaces the creator; the next call sees the new one.
    pub fn set_persona(&self, persona: Persona) {
        self.state().persona = persona;
    }

    /// Replaces the rule for multi-chunk plans; the next init sees it.
    pub fn set_chunk_rule(&self, rule: ChunkRule) {
        self.state().chunk_rule = rule;
    }

    /// The creator currently played.
    pub fn persona(&self) -> Persona {
        self.state().persona.clone()
    }

    /// Stops accepting connections and closes open ones once their current request is answered.
    /// Dropping handles does not stop the simulator; its task ends with the runtime.
    pub fn shutdown(&self) {
        self.shared.stop.send_replace(true);
    }

    /// Everything shared.
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The state, locked. Never hold it across an `.await`.
    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock is a bug in the simulator; keep serving regardless.
        self.shared
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl fmt::Debug for Sim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}
