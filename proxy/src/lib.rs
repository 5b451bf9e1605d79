//! The TikTok proxy: the only part of the autoposter that holds the creator's access token.
//!
//! It answers the app's small JSON API (`/api/health`, `/api/creator`, `/api/posts`,
//! `/api/posts/{publish_id}`) by calling TikTok's `creator_info`, `init` and `status` endpoints,
//! appends every result to a JSONL log, and serves the built app at `/`. The video bytes never
//! pass through it: the caller PUTs them straight to TikTok's `upload_url`.
//!
//! With the app's Login Kit credentials it also connects the account with one click
//! (`/auth/login`, `/auth/callback`, `/auth/logout`, `/api/connection`), keeps the tokens in a
//! file and refreshes them itself (`account.rs`).
//!
//! Other sites may embed the uploader: `access.rs` lets the origins in `EmbedConfig` call the
//! API with an embed key or a signed ticket, answers their CORS preflights, and refuses every
//! other cross-origin call before routing (docs/EMBED.md).
//!
//! `POST /api/upload` takes the video itself and posts it server-side as a job that survives
//! restarts: `spool.rs` receives it to disk, `upload.rs` reads the request, `jobs.rs` keeps the
//! records and `poster.rs` runs each one (at its `publish_at`; init, chunks from the file,
//! status), waiting out TikTok's limits (`init_limit.rs` counts inits). `PATCH` and `DELETE
//! /api/jobs/{job_id}` change or cancel a job before it starts.
//!
//! [`run`] serves on a bound listener until a shutdown future completes; `main.rs` only reads
//! flags into a [`Config`], binds and calls it. Every rule about TikTok comes from `protocol`.

mod access;
mod account;
pub mod api_tokens;
mod atomic_file;
mod body;
mod config;
mod connections;
mod csp;
mod error;
mod idle_body;
mod init;
mod init_limit;
mod jobs;
mod log;
mod login;
mod oauth_client;
mod operator;
mod password;
mod poster;
mod posts;
mod redact;
mod relay;
mod routes;
mod server;
mod session;
mod sessions;
mod sign_in_limit;
mod spool;
mod startup;
mod statics;
mod status_cache;
mod stop_switch;
mod tiktok;
mod token_file;
mod upload;
mod upstream_stall;

pub use body::MAX_JSON_BODY;
pub use config::{
    Config, ConfigError, DEFAULT_API_BASE, DEFAULT_BODY_IDLE_TIMEOUT, DEFAULT_CAP_WAIT,
    DEFAULT_HEADER_READ_TIMEOUT, DEFAULT_INIT_WINDOW, DEFAULT_JOB_POLL_INTERVAL,
    DEFAULT_KEEP_FAILED, DEFAULT_LISTEN, DEFAULT_LOG_PATH, DEFAULT_MAX_CONNECTIONS,
    DEFAULT_RATE_LIMIT_WAIT, DEFAULT_REDIRECT_URI, DEFAULT_STATUS_CACHE_TTL,
    DEFAULT_TOKEN_FILE_NAME, DEFAULT_UPLOADS_DIR, DEFAULT_UPSTREAM_TIMEOUT, EmbedConfig,
    EmbedConfigError, OAuthConfig, Secret, default_token_file,
};
pub use error::DEFAULT_RETRY_AFTER_SECS;
pub use login::{OTHER_ACCOUNT_MESSAGE, STATE_COOKIE, STATE_TTL};
pub use operator::{OperatorConfig, default_api_tokens_file};
pub use password::{MIN_PASSWORD_CHARS, PasswordHashConfig, PasswordHashError, hash_password};
pub use server::run;
pub use sessions::DEFAULT_SESSION_TTL;
pub use startup::StartupError;
