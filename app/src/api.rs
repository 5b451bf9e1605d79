//! The proxy's HTTP API as async functions. Errors carry the proxy's message, which is written
//! for people; only its `code` is for code.

use gloo_net::http::{Request, Response};
use protocol::wire::{
    Connection, CreatePost, CreatedPost, Creator, ErrorBody, LOGOUT_PATH, LoggedOut, PostState,
    UploadEvent,
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

    /// The credential's header, for the relay's PUTs (which do not go through gloo).
    pub fn credential_header(&self) -> Option<(&'static str, &str)> {
        self.credential.as_ref().map(Credential::header)
    }

    fn get(&self, path: &str) -> gloo_net::http::RequestBuilder {
        self.sign(Request::get(&self.url(path)))
    }

    fn post(&self, path: &str) -> gloo_net::http::RequestBuilder {
        self.sign(Request::post(&self.url(path)))
    }

    fn sign(&self, request: gloo_net::http::RequestBuilder) -> gloo_net::http::RequestBuilder {
        match self.credential_header() {
            Some((name, value)) => request.header(name, value),
            None => request,
        }
    }

    /// `GET /api/connection`: whether a TikTok account is connected, and what it allows.
    pub async fn connection(&self) -> Result<Connection, ApiError> {
        read(self.get("/api/connection").send().await).await
    }

    /// `POST /auth/logout`: revoke the app's access and forget the tokens.
    pub async fn logout(&self) -> Result<LoggedOut, ApiError> {
        let request = self
            .post(LOGOUT_PATH)
            .header("Content-Type", "application/json")
            .body("{}")
            .map_err(|e| ApiError::Network(e.to_string()))?;
        read(request.send().await).await
    }

    /// Where "Connect TikTok" goes, on the proxy.
    pub fn login_url(&self, path: &str) -> String {
        self.url(path)
    }

    /// `GET /api/creator`.
    pub async fn creator(&self) -> Result<Creator, ApiError> {
        let response = self.get("/api/creator").send().await;
        read(response).await
    }

    /// `POST /api/posts`.
    pub async fn create_post(&self, post: &CreatePost) -> Result<CreatedPost, ApiError> {
        let request = self
            .post("/api/posts")
            .json(post)
            .map_err(|e| ApiError::Network(e.to_string()))?;
        read(request.send().await).await
    }

    /// `GET /api/posts/{publish_id}`.
    pub async fn post_state(&self, publish_id: &str) -> Result<PostState, ApiError> {
        let path = format!("/api/posts/{}", js_sys::encode_uri_component(publish_id));
        read(self.get(&path).send().await).await
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
        if let Ok(request) = self.post(&path).json(event) {
            let _ = request.send().await;
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

async fn read<T: DeserializeOwned>(
    response: Result<Response, gloo_net::Error>,
) -> Result<T, ApiError> {
    let response = response.map_err(|e| ApiError::Network(e.to_string()))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| ApiError::Network(e.to_string()))?;
    if response.ok() {
        return serde_json::from_str(&text).map_err(|e| ApiError::BadResponse {
            status,
            detail: e.to_string(),
        });
    }
    match serde_json::from_str::<ErrorBody>(&text) {
        Ok(ErrorBody { error }) => Err(ApiError::Refused {
            status,
            code: error.code,
            message: error.message,
            log_id: error.log_id,
        }),
        Err(e) => Err(ApiError::BadResponse {
            status,
            detail: e.to_string(),
        }),
    }
}
