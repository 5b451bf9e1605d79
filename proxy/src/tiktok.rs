//! The upstream client: one function per TikTok call, each sending exactly the documented
//! request (`Authorization: Bearer …`, `Content-Type: application/json; charset=UTF-8`, the
//! documented JSON body) and nothing of the caller's: no browser header is ever forwarded.
//! The token comes from [`Account`] for each call; a 401 `access_token_invalid` with Login Kit
//! tokens is answered by one refresh and one retry of the call.

use crate::account::Account;
use crate::config::{Config, Secret};
use crate::error::{Error, TikTokError};
use crate::redact::{redact, transport_detail};
use protocol::ErrorCode;
use protocol::tiktok::{
    ApiError, CreatorInfo, DirectPostInit, EnvelopeError, InboxInit, InitData, JSON_CONTENT_TYPE,
    StatusData, StatusRequest, parse_envelope, paths,
};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// TikTok's Content Posting API, as seen by the one process allowed to hold the token.
#[derive(Debug)]
pub struct TikTok {
    /// One connection pool for every call; no default headers beyond reqwest's `Accept`.
    http: reqwest::Client,
    /// `https://open.tiktokapis.com`, or a simulator's base URL.
    base: String,
    /// Where each call's token comes from; without one every call fails before sending.
    account: Arc<Account>,
    /// Reported in the 504's message.
    timeout: Duration,
}

impl TikTok {
    /// A client for `config.api_base`; a call fails when TikTok stays silent for
    /// `config.upstream_timeout` (reqwest's read timeout restarts with every read: a stall
    /// timeout, so a slow link's answer still arrives).
    pub fn new(config: &Config, account: Arc<Account>) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .read_timeout(config.upstream_timeout)
            .connect_timeout(config.upstream_timeout)
            // TikTok's API does not redirect; following one could carry the token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            http,
            base: config.api_base.trim_end_matches('/').to_owned(),
            account,
            timeout: config.upstream_timeout,
        })
    }

    /// Whether an access token is held.
    pub fn is_connected(&self) -> bool {
        self.account.is_connected()
    }

    /// `creator_info/query`: who is posting and what they may choose. TikTok documents no
    /// body; `{}` is what its own examples and most clients send with the JSON content type.
    pub async fn creator_info(&self) -> Result<CreatorInfo, Error> {
        self.call(paths::CREATOR_INFO, &serde_json::json!({})).await
    }

    /// `video/init`: start a Direct Post.
    pub async fn init_direct(&self, body: &DirectPostInit) -> Result<InitData, Error> {
        self.call(paths::VIDEO_INIT, body).await
    }

    /// `inbox/video/init`: start a draft in the creator's TikTok inbox.
    pub async fn init_inbox(&self, body: &InboxInit) -> Result<InitData, Error> {
        self.call(paths::INBOX_VIDEO_INIT, body).await
    }

    /// `status/fetch` for one `publish_id`.
    pub async fn fetch_status(&self, publish_id: &str) -> Result<StatusData, Error> {
        let body = StatusRequest {
            publish_id: publish_id.to_owned(),
        };
        self.call(paths::STATUS_FETCH, &body).await
    }

    /// POSTs `body` to `path` with the account's token; after a 401 `access_token_invalid`,
    /// refreshes (if it can) and tries once more.
    async fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, Error> {
        // TikTok's request bodies are plain structs of strings, numbers and booleans.
        let body = serde_json::to_vec(body).expect("TikTok request bodies always serialize");
        let token = self.account.access_token().await?;
        match self.send(path, &body, &token).await {
            Err(Error::TikTok(refused))
                if refused.api.code == ErrorCode::AccessTokenInvalid
                    && self.account.can_refresh() =>
            {
                tracing::info!(path, "TikTok refused the access token; refreshing once");
                let token = self.account.replace_rejected(&token).await?;
                self.send(path, &body, &token).await
            }
            result => result,
        }
    }

    /// POSTs `body` to `path` with `token` and reads TikTok's envelope, whatever the HTTP
    /// status.
    async fn send<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &[u8],
        token: &Secret,
    ) -> Result<T, Error> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(AUTHORIZATION, format!("Bearer {}", token.expose()))
            .header(CONTENT_TYPE, JSON_CONTENT_TYPE)
            .body(body.to_vec())
            .send()
            .await
            .map_err(|error| self.transport_error(path, error, token))?;
        let http_status = response.status().as_u16();
        let retry_after_secs = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse().ok());
        let bytes = response
            .bytes()
            .await
            .map_err(|error| self.transport_error(path, error, token))?;
        match parse_envelope(&bytes) {
            Ok((data, _)) => Ok(data),
            Err(EnvelopeError::Api(api)) => Err(Error::TikTok(TikTokError {
                api: scrub_api_error(api, token),
                http_status,
                retry_after_secs,
            })),
            Err(EnvelopeError::Malformed(detail)) => Err(Error::BadResponse(scrub(
                format!("{path} answered HTTP {http_status}: {detail}"),
                token,
            ))),
        }
    }

    /// A timeout becomes 504; anything else on the way is "unreachable" (502).
    fn transport_error(&self, path: &str, error: reqwest::Error, token: &Secret) -> Error {
        if error.is_timeout() {
            return Error::Timeout(self.timeout);
        }
        let detail = format!("{path}: {}", transport_detail(error));
        Error::Unreachable(scrub(detail, token))
    }
}

/// TikTok's error with every field that might echo the token scrubbed.
fn scrub_api_error(api: ApiError, token: &Secret) -> ApiError {
    let code = match api.code {
        ErrorCode::Other(code) => ErrorCode::Other(scrub(code, token)),
        known => known,
    };
    ApiError {
        code,
        message: scrub(api.message, token),
        log_id: api.log_id.map(|log_id| scrub(log_id, token)),
    }
}

/// `text` with the token, should it appear, replaced.
fn scrub(text: String, token: &Secret) -> String {
    redact(text, [token.expose()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_text_echoing_the_token_is_scrubbed() {
        let token = Secret::new("act.echo-me");
        let scrubbed = scrub_api_error(
            ApiError {
                code: ErrorCode::Other("bad_act.echo-me".into()),
                message: "token act.echo-me is invalid".into(),
                log_id: Some("act.echo-me".into()),
            },
            &token,
        );
        let shown = format!("{scrubbed:?}");
        assert!(!shown.contains("echo-me"), "{shown}");
        assert_eq!(scrubbed.message, "token [redacted] is invalid");
    }

    #[test]
    fn an_empty_token_is_no_token() {
        let config = Config {
            access_token: Some(Secret::new("")),
            ..Config::default()
        };
        let account = Arc::new(Account::new(&config).unwrap());
        assert!(!TikTok::new(&config, account).unwrap().is_connected());
    }
}
