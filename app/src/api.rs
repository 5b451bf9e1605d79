//! The proxy's HTTP API as async functions. Errors carry the proxy's message, which is written
//! for people; only its `code` is for code.

use gloo_net::http::{Method, RequestBuilder};
use protocol::wire::{
    ACCESS_PATH, Access, ConnectStart, Connection, CreatePost, CreatedPost, Creator, ErrorBody,
    History, JOBS_PATH, JobList, JobPatch, LOGIN_PATH, LOGOUT_PATH, LoggedOut, PostState,
    SESSION_PATH, SignIn, UploadEvent,
};
use serde::de::DeserializeOwned;

/// A call to the proxy that did not give what was asked.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApiError {
    /// The proxy (or TikTok, through it) refused; `message` says what to do.
    #[error("{message}")]
    Refused {
        status: u16,
        code: String,
        message: String,
        log_id: Option<String>,
    },
    /// The request never got an answer.
    #[error(
        "The autoposter server could not be reached. Check that it is running, then try again."
    )]
    Network(String),
    /// An answer came, but not one we understand.
    #[error("The autoposter server gave an answer this page cannot read (HTTP {status}).")]
    BadResponse { status: u16, detail: String },
}

impl ApiError {
    /// The proxy's or TikTok's error code, if the request got that far.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// What an embedding page shows the proxy to be allowed in (see docs/EMBED.md). The page the
/// proxy serves itself needs none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A long-lived embed key, for a private admin page (`X-Autoposter-Key`).
    Key(String),
    /// A short-lived ticket the host site's backend minted (`X-Autoposter-Ticket`).
    Ticket(String),
}

impl Credential {
    /// The header and value sent with every call to the proxy.
    pub fn header(&self) -> (&'static str, &str) {
        match self {
            Self::Key(key) => ("X-Autoposter-Key", key),
            Self::Ticket(ticket) => ("X-Autoposter-Ticket", ticket),
        }
    }
}

/// Where the proxy lives: `""` for the page's own origin.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Api {
    base: String,
    /// Sent to the proxy only — never to TikTok's upload host.
    credential: Option<Credential>,
}

impl Api {
    /// An API at `base` (no trailing slash), e.g. `""` or `https://poster.example.com`.
    pub fn new(base: impl Into<String>) -> Self {
        Self {
            base: base.into().trim_end_matches('/').to_owned(),
            credential: None,
        }
    }

    /// The same API, presenting `credential` on every call.
    pub fn with_credential(mut self, credential: Option<Credential>) -> Self {
        self.credential = credential;
        self
    }

    /// The credential's header, also for the relay's PUTs (sent by [`crate::upload`]).
    pub fn credential_header(&self) -> Option<(&'static str, &str)> {
        self.credential.as_ref().map(Credential::header)
    }

    /// Whether this is an embedding site's uploader (it shows an embed credential). Such an
    /// uploader may post, but never connect or disconnect TikTok.
    pub fn embedded(&self) -> bool {
        self.credential.is_some()
    }

    /// `GET /api/session`: whether the proxy needs an operator, and whether we are one.
    pub async fn access(&self) -> Result<Access, ApiError> {
        self.call(Method::GET, ACCESS_PATH, None).await
    }

    /// `POST /auth/session`: sign in with the operator's password. The proxy answers with an
    /// `HttpOnly` session cookie, which the browser keeps and sends with every later call.
    pub async fn sign_in(&self, password: &str) -> Result<(), ApiError> {
        let body = SignIn {
            password: password.to_owned(),
        };
        let body = crate::json::to_string(&body).map_err(|e| ApiError::Network(e.to_string()))?;
        self.call_for_nothing(Method::POST, SESSION_PATH, Some(body))
            .await
    }

    /// `DELETE /auth/session`: sign out; the proxy forgets the session and clears the cookie.
    pub async fn sign_out(&self) -> Result<(), ApiError> {
        self.call_for_nothing(Method::DELETE, SESSION_PATH, None)
            .await
    }

    /// `POST /auth/login`: where to send the browser to connect TikTok. A `POST` (never a link),
    /// so that only the signed-in page can start a connection.
    pub async fn start_connect(&self) -> Result<ConnectStart, ApiError> {
        self.call(Method::POST, LOGIN_PATH, Some("{}".to_owned()))
            .await
    }

    /// `GET /api/connection`: whether a TikTok account is connected, and what it allows.
    pub async fn connection(&self) -> Result<Connection, ApiError> {
        self.call(Method::GET, "/api/connection", None).await
    }

    /// `POST /auth/logout`: revoke the app's access and forget the tokens.
    pub async fn logout(&self) -> Result<LoggedOut, ApiError> {
        self.call(Method::POST, LOGOUT_PATH, Some("{}".to_owned()))
            .await
    }

    /// `GET /api/creator`.
    pub async fn creator(&self) -> Result<Creator, ApiError> {
        self.call(Method::GET, "/api/creator", None).await
    }

    /// `POST /api/posts`.
    pub async fn create_post(&self, post: &CreatePost) -> Result<CreatedPost, ApiError> {
        let body = crate::json::to_string(post).map_err(|e| ApiError::Network(e.to_string()))?;
        self.call(Method::POST, "/api/posts", Some(body)).await
    }

    /// `GET /api/posts/{publish_id}`.
    pub async fn post_state(&self, publish_id: &str) -> Result<PostState, ApiError> {
        let path = format!("/api/posts/{}", js_sys::encode_uri_component(publish_id));
        self.call(Method::GET, &path, None).await
    }

    /// Where the relay takes this post's chunks: `PUT /api/posts/{publish_id}/chunk`.
    pub fn relay_url(&self, publish_id: &str) -> String {
        self.url(&format!(
            "/api/posts/{}/chunk",
            js_sys::encode_uri_component(publish_id)
        ))
    }

    /// `POST /api/posts/{publish_id}/events`: best effort — the log misses a line rather than
    /// the upload waiting on it.
    pub async fn report(&self, publish_id: &str, event: &UploadEvent) {
        let path = format!(
            "/api/posts/{}/events",
            js_sys::encode_uri_component(publish_id)
        );
        if let Ok(body) = crate::json::to_string(event) {
            let _ = self.send(Method::POST, &path, Some(body)).await;
        }
    }

    /// `GET /api/jobs`: the proxy's server-side jobs, newest first.
    pub async fn jobs(&self) -> Result<JobList, ApiError> {
        self.call(Method::GET, JOBS_PATH, None).await
    }

    /// `PATCH /api/jobs/{job_id}` with a new `publish_at` (RFC 3339).
    pub async fn reschedule_job(&self, job_id: &str, publish_at: String) -> Result<(), ApiError> {
        let patch = JobPatch {
            publish_at: Some(publish_at),
            ..JobPatch::default()
        };
        let body = crate::json::to_string(&patch).map_err(|e| ApiError::Network(e.to_string()))?;
        self.call_for_nothing(Method::PATCH, &job_path(job_id), Some(body))
            .await
    }

    /// `DELETE /api/jobs/{job_id}`: cancel a job (a queued one is dropped with its video).
    pub async fn cancel_job(&self, job_id: &str) -> Result<(), ApiError> {
        self.call_for_nothing(Method::DELETE, &job_path(job_id), None)
            .await
    }

    /// `GET /api/posts`: the newest page of the history.
    pub async fn history(&self) -> Result<History, ApiError> {
        self.call(Method::GET, "/api/posts", None).await
    }

    /// The full URL of `path` on the proxy.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One call to the proxy, its JSON answer read as `T`, or its error body as [`ApiError`].
    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<T, ApiError> {
        let (status, text) = self.send(method, path, body).await?;
        read(status, &text)
    }

    /// One call to the proxy whose success has no body (`204`).
    async fn call_for_nothing(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(), ApiError> {
        let (status, text) = self.send(method, path, body).await?;
        if (200..300).contains(&status) {
            return Ok(());
        }
        Err(refusal(status, &text))
    }

    /// `fetch` (through gloo-net) with the credential and, for a body, `Content-Type:
    /// application/json`; the answer's status and text.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
    ) -> Result<(u16, String), ApiError> {
        // Only the browser's own exception is worth keeping: naming gloo-net's other errors
        // would bring their `Display` (and serde_json's) into the wasm for no reader.
        let network = |error: gloo_net::Error| {
            ApiError::Network(match error {
                gloo_net::Error::JsError(error) => error.to_string(),
                _ => "the request could not be made".to_owned(),
            })
        };
        let mut request = RequestBuilder::new(&self.url(path)).method(method);
        if let Some((name, value)) = self.credential_header() {
            request = request.header(name, value);
        }
        let request = match body {
            Some(body) => request
                .header("Content-Type", "application/json")
                .body(body),
            None => request.build(),
        }
        .map_err(network)?;
        let response = request.send().await.map_err(network)?;
        let text = response.text().await.map_err(network)?;
        Ok((response.status(), text))
    }
}

/// Where one job lives: `/api/jobs/{job_id}`.
fn job_path(job_id: &str) -> String {
    format!("{JOBS_PATH}/{}", js_sys::encode_uri_component(job_id))
}

/// The proxy's answer: `T` on a 2xx, otherwise its error body.
pub(crate) fn read<T: DeserializeOwned>(status: u16, text: &str) -> Result<T, ApiError> {
    if (200..300).contains(&status) {
        return crate::json::from_str(text).map_err(|e| ApiError::BadResponse {
            status,
            detail: e.to_string(),
        });
    }
    Err(refusal(status, text))
}

/// A refusal's error body as an [`ApiError`].
fn refusal(status: u16, text: &str) -> ApiError {
    match crate::json::from_str::<ErrorBody>(text) {
        Ok(ErrorBody { error }) => ApiError::Refused {
            status,
            code: error.code,
            message: error.message,
            log_id: error.log_id,
        },
        Err(e) => ApiError::BadResponse {
            status,
            detail: e.to_string(),
        },
    }
}
