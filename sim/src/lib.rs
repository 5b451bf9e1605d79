//! A strict simulator of TikTok's Content Posting API (v2) and its upload host, for every test
//! and the demo. It refuses what TikTok refuses, with TikTok's statuses and codes, records what
//! it received, and plays scripted faults.
//!
//! # API
//!
//! ```text
//! pub async fn spawn(options: SimOptions) -> std::io::Result<Sim>      // 127.0.0.1:0, own task
//! pub async fn serve(listener: TcpListener, sim: Sim, shutdown: impl Future<Output = ()>)
//!
//! #[derive(Clone)] pub struct Sim
//! impl Sim {
//!     pub fn new(options: SimOptions, addr: SocketAddr) -> Sim        // for serve()
//!     pub fn addr(&self) -> SocketAddr
//!     pub fn base_url(&self) -> String                                 // "http://127.0.0.1:PORT"
//!     pub fn access_token(&self) -> &str
//!     pub fn client_key(&self) -> &str
//!     pub fn client_secret(&self) -> &str
//!     pub fn issue_tokens(&self, scopes: &[&str]) -> TokenResponse     // as if connected elsewhere
//!     pub fn expire_access_tokens(&self)                              // issued ones, at once
//!     pub fn token_calls(&self) -> usize                               // POST /v2/oauth/token/ received
//!     pub fn uploads(&self) -> Vec<UploadRecord>                       // creation order
//!     pub fn upload(&self, publish_id: &str) -> Option<UploadRecord>
//!     pub fn requests(&self) -> Vec<RecordedRequest>                   // arrival order
//!     pub fn script(&self, fault: Fault)
//!     pub fn pending_faults(&self) -> Vec<Fault>
//!     pub fn set_rate_limits(&self, limits: RateLimits)
//!     pub fn set_persona(&self, persona: Persona)
//!     pub fn set_chunk_rule(&self, rule: ChunkRule)
//!     pub fn persona(&self) -> Persona
//!     pub fn shutdown(&self)
//! }
//! SimOptions { access_token, client_key, client_secret, access_token_ttl, refresh_token_ttl,
//!              grant_scopes, persona, rate_limits, cors, processing_delay, upload_url_ttl,
//!              chunk_rule }
//! ChunkRule::{Documented, SmallerLastChunk, WholeOnly}  // multi-chunk plans init accepts
//! Persona { nickname, username, avatar_url, privacy_level_options, comment_disabled,
//!           duet_disabled, stitch_disabled, max_video_post_duration_sec, audited,
//!           private_account, daily_post_cap }       // Persona::default(), Persona::private()
//! RateLimits { creator_info, init, status }         // default 20/6/30 per minute; off()
//! UploadRecord { publish_id, mode: Mode, plan: ChunkPlan, content_type, post_info,
//!                received_bytes, chunks_accepted: Vec<ChunkRange>, sha256, complete,
//!                upload_url }
//! RecordedRequest { method, path, query, headers, body, status }
//! Fault::{ChunkStatus, DropConnection, LoseAnswer, HangChunk, LateAnswer, ApiError, Hang,
//!        LateTokenAnswer, FailPublish, ExpireUploadUrls}
//! Endpoint::{CreatorInfo, VideoInit, InboxInit, StatusFetch, Upload, Authorize, OAuthToken,
//!            OAuthRevoke}
//! Mode = protocol::wire::PostMode::{Direct, Inbox}
//! ```
//!
//! # What it serves (one listener is both the API base and the upload host)
//!
//! - `POST /v2/post/publish/creator_info/query/`, `…/video/init/`, `…/inbox/video/init/`,
//!   `…/status/fetch/`: bearer token required (401 `access_token_invalid`: the fixed one, or an
//!   issued one that is neither expired nor revoked, and has the endpoint's scope, else 401
//!   `scope_not_authorized`), TikTok's envelope with a `log_id` and `x-tt-logid`, rate limits
//!   per sliding minute (429).
//! - `GET /v2/auth/authorize/`: a stand-in consent page that checks `client_key`,
//!   `redirect_uri` (web or, with a `code_challenge`, desktop rules), `response_type=code`, the
//!   scopes and the challenge, then redirects (302) to `redirect_uri?code=…&scopes=…&state=…`.
//! - `POST /v2/oauth/token/` (form): `authorization_code` (single-use code, same
//!   `redirect_uri`, PKCE verified against the hex challenge) and `refresh_token` (strict
//!   rotation: a refresh token works once). `POST /v2/oauth/revoke/` (form) ends the grant.
//!   Refusals are `{"error","error_description","log_id"}` with HTTP 200.
//! - `PUT /upload/?upload_id=…&upload_token=…`: the chunks, in order, exactly as planned. 206
//!   per middle chunk and 201 for the last, each with `Content-Range: bytes 0-{received-1}/{total}`;
//!   400 bad headers or short body, 403 expired URL, 404 unknown URL, 416 out-of-order range or a
//!   PUT after completion. Bodies are hashed as they stream; no chunk is held in memory.
//! - `OPTIONS /upload/…`: the CORS preflight (when `cors` is on; 403 otherwise). The API
//!   endpoints never send CORS headers: only the proxy calls them.
//! - Anything else: 404 (or 405 for a known path with the wrong method), in the envelope.
//!
//! Architecture invariant: every TikTok rule (chunk plan, caption length, error codes) comes
//! from `protocol`; this crate only plays them.

mod api;
mod endpoint;
mod fault;
mod grants;
mod handle;
mod ids;
mod oauth;
mod options;
mod posting;
mod rate;
mod record;
mod reply;
mod routes;
mod server;
mod session;
mod state;
mod upload;

pub use endpoint::{Endpoint, UPLOAD_PATH};
pub use fault::Fault;
pub use handle::Sim;
pub use options::{
    CHUNK_SIZE_INVALID, CREATOR_INFO_PER_MINUTE, ChunkRule, DEFAULT_ACCESS_TOKEN,
    DEFAULT_ACCESS_TOKEN_TTL, DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET, DEFAULT_MAX_DURATION_SEC,
    DEFAULT_PROCESSING_DELAY, DEFAULT_REFRESH_TOKEN_TTL, DEFAULT_UPLOAD_URL_TTL, INIT_PER_MINUTE,
    Persona, RateLimits, STATUS_PER_MINUTE, SimOptions,
};
pub use protocol::wire::PostMode as Mode;
pub use record::{RecordedRequest, UploadRecord};
pub use server::serve;

use tokio::net::TcpListener;

/// Starts a simulator on `127.0.0.1` on a free port, served by a task on the current runtime.
/// It runs until [`Sim::shutdown`] or the runtime's end.
pub async fn spawn(options: SimOptions) -> std::io::Result<Sim> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let sim = Sim::new(options, listener.local_addr()?);
    tokio::spawn(serve(listener, sim.clone(), std::future::pending()));
    Ok(sim)
}
