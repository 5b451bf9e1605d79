//! TikTok's token and revoke endpoints: one function per call, each sending exactly the
//! documented form (`application/x-www-form-urlencoded`, `Cache-Control: no-cache`) and reading
//! the answer by its body, whatever the HTTP status. The client secret, codes and tokens sent
//! are scrubbed from anything TikTok sends back before it can reach an error or a log line.

use crate::config::{OAuthConfig, Secret};
use crate::redact::{redact, transport_detail};
use protocol::oauth::TokenFailure;
use protocol::tiktok::{OAuthError, TokenResponse, parse_token_reply, paths};
use reqwest::header::{CACHE_CONTROL, CONTENT_TYPE};
use std::time::Duration;

/// How a token or revoke call failed. Mapped to the proxy's `Error` in `error.rs`.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// No answer within the upstream timeout.
    #[error("TikTok's token endpoint did not answer within {} s", .0.as_secs_f32())]
    Timeout(Duration),
    /// No answer at all; holds the transport's complaint.
    #[error("TikTok's token endpoint could not be reached: {0}")]
    Unreachable(String),
    /// An answer without a readable OAuth body; holds the status and what was wrong.
    #[error("TikTok's token endpoint answered HTTP {status}: {detail}")]
    Http { status: u16, detail: String },
    /// TikTok's OAuth error (already scrubbed), and the HTTP status it came with.
    #[error("{error} (HTTP {http_status})")]
    Refused { error: OAuthError, http_status: u16 },
}

impl TokenError {
    /// The failure as `protocol::oauth::after_token_failure` reads it.
    pub fn failure(&self) -> TokenFailure<'_> {
        match self {
            Self::Timeout(_) | Self::Unreachable(_) => TokenFailure::Network,
            Self::Http { status, .. } => TokenFailure::Http(*status),
            Self::Refused { error, .. } => TokenFailure::Refused(&error.error),
        }
    }
}

/// The app's side of TikTok's OAuth endpoints.
#[derive(Debug)]
pub struct OAuthClient {
    /// No redirects (a redirect could carry the form elsewhere), the upstream timeout.
    http: reqwest::Client,
    /// `{api_base}/v2/oauth/token/`.
    token_url: String,
    /// `{api_base}/v2/oauth/revoke/`.
    revoke_url: String,
    client_key: String,
    client_secret: Secret,
    /// Reported in timeouts.
    timeout: Duration,
}

impl OAuthClient {
    /// A client for the token endpoint on `api_base` (TikTok serves it on the API host).
    pub fn new(api_base: &str, oauth: &OAuthConfig, timeout: Duration) -> reqwest::Result<Self> {
        // A stall timeout, as for the API calls (`tiktok.rs`).
        let http = reqwest::Client::builder()
            .read_timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let base = api_base.trim_end_matches('/');
        Ok(Self {
            http,
            token_url: format!("{base}{}", paths::OAUTH_TOKEN),
            revoke_url: format!("{base}{}", paths::OAUTH_REVOKE),
            client_key: oauth.client_key.clone(),
            client_secret: oauth.client_secret.clone(),
            timeout,
        })
    }

    /// `grant_type=authorization_code`: the code from the callback for the first tokens.
    /// `code_verifier` is sent in desktop mode only.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<TokenResponse, TokenError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(verifier) = code_verifier {
            form.push(("code_verifier", verifier));
        }
        let secrets = [code, code_verifier.unwrap_or(code)];
        self.token_call(&form, &secrets).await
    }

    /// `grant_type=refresh_token`: a new pair; the refresh token sent stops working.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse, TokenError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        self.token_call(&form, &[refresh_token]).await
    }

    /// `/v2/oauth/revoke/` with the access token: TikTok forgets the app's access.
    pub async fn revoke(&self, access_token: &str) -> Result<(), TokenError> {
        let (status, body) = self
            .post(
                &self.revoke_url,
                &[("token", access_token)],
                &[access_token],
            )
            .await?;
        let value: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        let refused = value
            .as_ref()
            .and_then(|value| value.get("error"))
            .and_then(serde_json::Value::as_str)
            .is_some_and(|error| !error.is_empty());
        if refused {
            let error =
                serde_json::from_value(value.unwrap_or_default()).unwrap_or_else(|e| OAuthError {
                    error: "invalid_response".into(),
                    error_description: e.to_string(),
                    log_id: None,
                });
            return Err(TokenError::Refused {
                error: self.scrub_error(error, &[access_token]),
                http_status: status,
            });
        }
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(TokenError::Http {
                status,
                detail: "the revoke endpoint refused without an OAuth error".into(),
            })
        }
    }

    /// A token-endpoint call: the body decides, not the status (errors come with 200 too).
    async fn token_call(
        &self,
        form: &[(&str, &str)],
        secrets: &[&str],
    ) -> Result<TokenResponse, TokenError> {
        let (status, body) = self.post(&self.token_url, form, secrets).await?;
        match parse_token_reply(&body) {
            Ok(tokens) => Ok(tokens),
            // Not an OAuth answer at all (a gateway's 502 page, say): the status tells.
            Err(error) if error.error == "invalid_response" => Err(TokenError::Http {
                status,
                detail: self.scrub(error.error_description, secrets),
            }),
            Err(error) => Err(TokenError::Refused {
                error: self.scrub_error(error, secrets),
                http_status: status,
            }),
        }
    }

    /// POSTs `form` plus the client's credentials; returns the status and the body.
    async fn post(
        &self,
        url: &str,
        form: &[(&str, &str)],
        secrets: &[&str],
    ) -> Result<(u16, bytes::Bytes), TokenError> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_key", &self.client_key)
            .append_pair("client_secret", self.client_secret.expose())
            .extend_pairs(form)
            .finish();
        let response = self
            .http
            .post(url)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(CACHE_CONTROL, "no-cache")
            .body(body)
            .send()
            .await
            .map_err(|error| self.transport_error(error, secrets))?;
        let status = response.status().as_u16();
        let body = response
            .bytes()
            .await
            .map_err(|error| self.transport_error(error, secrets))?;
        Ok((status, body))
    }

    fn transport_error(&self, error: reqwest::Error, secrets: &[&str]) -> TokenError {
        if error.is_timeout() {
            return TokenError::Timeout(self.timeout);
        }
        TokenError::Unreachable(self.scrub(transport_detail(error), secrets))
    }

    fn scrub_error(&self, error: OAuthError, secrets: &[&str]) -> OAuthError {
        OAuthError {
            error: self.scrub(error.error, secrets),
            error_description: self.scrub(error.error_description, secrets),
            log_id: error.log_id.map(|log_id| self.scrub(log_id, secrets)),
        }
    }

    /// `text` with the client secret and every secret of this call replaced.
    fn scrub(&self, text: String, secrets: &[&str]) -> String {
        redact(
            text,
            secrets.iter().copied().chain([self.client_secret.expose()]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_secrets_are_scrubbed() {
        let oauth = OAuthConfig::new("ck", Secret::new("cs-hush"));
        let client =
            OAuthClient::new("http://127.0.0.1:1", &oauth, Duration::from_secs(1)).unwrap();
        let scrubbed = client.scrub_error(
            OAuthError {
                error: "invalid_grant".into(),
                error_description: "rft.hush for cs-hush is dead".into(),
                log_id: Some("rft.hush".into()),
            },
            &["rft.hush"],
        );
        let shown = format!("{scrubbed:?}");
        assert!(!shown.contains("hush"), "{shown}");
        assert_eq!(
            scrubbed.error_description,
            "[redacted] for [redacted] is dead"
        );
    }
}
