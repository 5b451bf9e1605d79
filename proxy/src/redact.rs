//! What an upstream failure may say about itself: a transport error's whole cause chain
//! (written as `protocol::cause` writes every failure) without its URL (an upload URL carries
//! TikTok's upload token), and upstream text with every secret of the call replaced. The TikTok
//! client, the token endpoint's client and the chunk relay all describe their failures through
//! here.

/// What stands where a secret was.
pub const REDACTED: &str = "[redacted]";

/// `error` and each of its causes, `": "`-separated (`protocol::cause`), without the URL.
pub fn transport_detail(error: reqwest::Error) -> String {
    protocol::cause::describe(&error.without_url())
}

/// `text` with each of `secrets` (empty ones aside), should it appear, replaced by
/// [`REDACTED`].
pub fn redact<'a>(mut text: String, secrets: impl IntoIterator<Item = &'a str>) -> String {
    for secret in secrets {
        if !secret.is_empty() && text.contains(secret) {
            text = text.replace(secret, REDACTED);
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secret_is_replaced_and_nothing_else() {
        let text = "token act.1 and secret cs-1, act.1 again".to_owned();
        assert_eq!(
            redact(text.clone(), ["act.1", "", "cs-1"]),
            "token [redacted] and secret [redacted], [redacted] again"
        );
        assert_eq!(redact(text.clone(), ["absent"]), text);
        assert_eq!(redact(text.clone(), [""]), text);
    }

    #[tokio::test]
    async fn a_transport_error_keeps_its_causes_and_loses_its_url() {
        let error = reqwest::Client::new()
            .get("http://127.0.0.1:1/upload?upload_token=secret")
            .send()
            .await
            .expect_err("nothing listens on port 1");
        let detail = transport_detail(error);
        assert!(!detail.contains("upload_token"), "{detail}");
        assert!(
            detail.matches(": ").count() >= 1,
            "the causes follow: {detail}"
        );
    }
}
