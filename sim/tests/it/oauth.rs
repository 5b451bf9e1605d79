//! Login Kit: the stand-in consent page, the code exchange with PKCE, strict refresh-token
//! rotation, expiry and revocation of issued tokens, and scripted token-endpoint faults.

use crate::support::{Harness, check, fast, reply, start_with};
use protocol::ErrorCode;
use protocol::oauth::{self, Authorize};
use protocol::tiktok::{TokenResponse, paths};
use serde_json::{Value, json};
use sim::{Endpoint, Fault, SimOptions};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const REDIRECT: &str = "http://localhost:8787/auth/callback";
const VERIFIER: &str = "0123456789abcdef0123456789abcdef0123456789abcdef";

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The authorize URL the proxy would build, with PKCE, for the scopes given.
fn authorize_url(harness: &Harness, scopes: &[&str], challenge: Option<&str>) -> String {
    oauth::authorize_url(
        &harness.sim.base_url(),
        &Authorize {
            client_key: harness.sim.client_key(),
            scopes,
            redirect_uri: REDIRECT,
            state: "state-1",
            code_challenge: challenge,
        },
    )
}

/// Follows the consent page once; returns the status and the redirect's query parameters.
async fn consent(url: &str) -> (u16, HashMap<String, String>) {
    let response = no_redirects().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let query = location.split_once('?').map_or("", |(_, query)| query);
    if !location.is_empty() {
        assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    }
    let params = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    (status, params)
}

/// POSTs a form to an OAuth endpoint; returns the HTTP status and the JSON body.
async fn form(harness: &Harness, endpoint: Endpoint, pairs: &[(&str, &str)]) -> (u16, Value) {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    let response = harness
        .http
        .post(harness.url(endpoint))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cache-control", "no-cache")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

fn client<'a>(harness: &'a Harness, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("client_key", harness.sim.client_key()),
        ("client_secret", harness.sim.client_secret()),
    ];
    pairs.extend_from_slice(more);
    pairs
}

async fn exchange(harness: &Harness, code: &str, verifier: &str) -> (u16, Value) {
    let pairs = client(
        harness,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    );
    form(harness, Endpoint::OAuthToken, &pairs).await
}

async fn refresh(harness: &Harness, refresh_token: &str) -> (u16, Value) {
    let pairs = client(
        harness,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    );
    form(harness, Endpoint::OAuthToken, &pairs).await
}

/// Asserts TikTok's OAuth error shape with `error`.
#[track_caller]
fn check_oauth_error(answer: &(u16, Value), status: u16, error: &str) {
    assert_eq!(answer.0, status, "{}", answer.1);
    assert_eq!(answer.1["error"], error, "{}", answer.1);
    assert!(
        answer.1["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
    assert!(answer.1["log_id"].as_str().is_some_and(|l| !l.is_empty()));
}

async fn creator_info_with(harness: &Harness, token: &str) -> crate::support::Reply {
    reply(
        harness
            .http
            .post(harness.url(Endpoint::CreatorInfo))
            .bearer_auth(token)
            .header("content-type", "application/json"),
    )
    .await
}

#[tokio::test]
async fn the_desktop_flow_issues_tokens_the_api_accepts() {
    let harness = start_with(fast()).await;
    let challenge = oauth::code_challenge(VERIFIER);
    let url = authorize_url(&harness, &oauth::REQUESTED_SCOPES, Some(&challenge));
    let (status, back) = consent(&url).await;
    assert_eq!(status, 302);
    assert_eq!(back["state"], "state-1");
    assert_eq!(back["scopes"], "user.info.basic,video.publish,video.upload");
    let code = &back["code"];

    let (status, body) = exchange(&harness, code, VERIFIER).await;
    assert_eq!(status, 200, "{body}");
    let tokens: TokenResponse = serde_json::from_value(body).unwrap();
    assert_eq!(tokens.token_type, "Bearer");
    assert_eq!(tokens.scope, "user.info.basic,video.publish,video.upload");
    assert_eq!(tokens.expires_in, sim::DEFAULT_ACCESS_TOKEN_TTL.as_secs());
    assert!(tokens.access_token.starts_with("act.") && tokens.refresh_token.starts_with("rft."));
    check(
        &creator_info_with(&harness, &tokens.access_token).await,
        200,
        "ok",
    );

    // The code works once.
    check_oauth_error(
        &exchange(&harness, code, VERIFIER).await,
        200,
        "invalid_grant",
    );
    assert_eq!(harness.sim.token_calls(), 2);
    let recorded = harness.sim.requests();
    let first = recorded
        .iter()
        .find(|request| request.path == paths::OAUTH_TOKEN)
        .unwrap();
    assert_eq!(
        first.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
}

#[tokio::test]
async fn pkce_and_redirect_uri_are_verified() {
    let harness = start_with(fast()).await;
    let challenge = oauth::code_challenge(VERIFIER);
    let url = authorize_url(&harness, &oauth::REQUESTED_SCOPES, Some(&challenge));

    let (_, back) = consent(&url).await;
    let wrong = "f".repeat(48);
    let refused = exchange(&harness, &back["code"], &wrong).await;
    check_oauth_error(&refused, 200, "invalid_grant");
    assert_eq!(
        refused.1["error_description"],
        "Code verifier or code challenge is invalid."
    );

    // base64url (RFC 7636) instead of TikTok's hex is refused at the consent page.
    let base64ish = "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0";
    let (status, back) = consent(&authorize_url(
        &harness,
        &oauth::REQUESTED_SCOPES,
        Some(base64ish),
    ))
    .await;
    assert_eq!((status, back["error"].as_str()), (302, "invalid_request"));

    let (_, back) = consent(&url).await;
    let pairs = client(
        &harness,
        &[
            ("grant_type", "authorization_code"),
            ("code", &back["code"]),
            ("redirect_uri", "http://localhost:9999/auth/callback"),
            ("code_verifier", VERIFIER),
        ],
    );
    let refused = form(&harness, Endpoint::OAuthToken, &pairs).await;
    check_oauth_error(&refused, 200, "invalid_grant");
    assert_eq!(
        refused.1["error_description"],
        "Redirect_uri is not matched with the uri when requesting code."
    );
}

#[tokio::test]
async fn refresh_tokens_rotate_strictly() {
    let harness = start_with(fast()).await;
    let first = harness.sim.issue_tokens(&["video.publish"]);
    let (status, body) = refresh(&harness, &first.refresh_token).await;
    assert_eq!(status, 200, "{body}");
    let second: TokenResponse = serde_json::from_value(body).unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    assert_eq!(second.scope, "video.publish");
    check(
        &creator_info_with(&harness, &second.access_token).await,
        200,
        "ok",
    );

    // The previous refresh token stopped working once the new one was issued.
    check_oauth_error(
        &refresh(&harness, &first.refresh_token).await,
        200,
        "invalid_grant",
    );
    assert!(refresh(&harness, &second.refresh_token).await.1["access_token"].is_string());
    assert_eq!(harness.sim.token_calls(), 3);
}

#[tokio::test]
async fn issued_access_tokens_expire_and_revoke() {
    // Seconds, not milliseconds, for the first call to beat the expiry on a loaded machine;
    // not whole seconds, to see `expires_in` rounded up.
    let ttl = Duration::from_millis(2_300);
    let harness = start_with(SimOptions {
        access_token_ttl: ttl,
        ..fast()
    })
    .await;
    let tokens = harness.sim.issue_tokens(&oauth::REQUESTED_SCOPES);
    assert_eq!(tokens.expires_in, 3, "whole seconds, rounded up");
    check(
        &creator_info_with(&harness, &tokens.access_token).await,
        200,
        "ok",
    );
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    check(
        &creator_info_with(&harness, &tokens.access_token).await,
        401,
        "access_token_invalid",
    );
    // The fixed token keeps working alongside.
    check(
        &creator_info_with(&harness, harness.sim.access_token()).await,
        200,
        "ok",
    );

    let (_, body) = refresh(&harness, &tokens.refresh_token).await;
    let fresh: TokenResponse = serde_json::from_value(body).unwrap();
    let pairs = client(&harness, &[("token", &fresh.access_token)]);
    let (status, body) = form(&harness, Endpoint::OAuthRevoke, &pairs).await;
    assert_eq!((status, body), (200, json!({})));
    check(
        &creator_info_with(&harness, &fresh.access_token).await,
        401,
        "access_token_invalid",
    );
    check_oauth_error(
        &refresh(&harness, &fresh.refresh_token).await,
        200,
        "invalid_grant",
    );
}

#[tokio::test]
async fn narrowed_grants_limit_the_api() {
    let harness = start_with(SimOptions {
        grant_scopes: Some(vec!["user.info.basic".into(), "video.upload".into()]),
        ..fast()
    })
    .await;
    let challenge = oauth::code_challenge(VERIFIER);
    let url = authorize_url(&harness, &oauth::REQUESTED_SCOPES, Some(&challenge));
    let (_, back) = consent(&url).await;
    assert_eq!(back["scopes"], "user.info.basic,video.upload");
    let (_, body) = exchange(&harness, &back["code"], VERIFIER).await;
    let tokens: TokenResponse = serde_json::from_value(body).unwrap();
    check(
        &creator_info_with(&harness, &tokens.access_token).await,
        401,
        "scope_not_authorized",
    );

    let denied = start_with(SimOptions {
        grant_scopes: Some(Vec::new()),
        ..fast()
    })
    .await;
    let url = authorize_url(&denied, &oauth::REQUESTED_SCOPES, Some(&challenge));
    let (status, back) = consent(&url).await;
    assert_eq!(status, 302);
    assert_eq!(back["error"], "access_denied");
    assert_eq!(back["state"], "state-1");
    assert!(!back.contains_key("code"));
}

#[tokio::test]
async fn the_consent_page_checks_what_tiktok_checks() {
    let harness = start_with(fast()).await;
    let challenge = oauth::code_challenge(VERIFIER);
    let good = authorize_url(&harness, &oauth::REQUESTED_SCOPES, Some(&challenge));
    let http = no_redirects();
    for (what, url, status) in [
        (
            "wrong client_key",
            good.replace("client_key=sim-client-key", "client_key=nope"),
            400,
        ),
        (
            "web redirect over http",
            authorize_url(&harness, &oauth::REQUESTED_SCOPES, None),
            400,
        ),
        (
            "desktop redirect without a port",
            good.replace("localhost%3A8787", "localhost"),
            400,
        ),
    ] {
        let response = http.get(&url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), status, "{what}");
        assert!(response.headers().get("location").is_none(), "{what}");
    }
    for (what, url, error) in [
        (
            "token response type",
            good.replace("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            "unknown scope",
            good.replace("scope=user.info.basic", "scope=user.info.everything"),
            "invalid_scope",
        ),
        (
            "plain challenge method",
            good.replace("code_challenge_method=S256", "code_challenge_method=plain"),
            "invalid_request",
        ),
    ] {
        let (status, back) = consent(&url).await;
        assert_eq!((status, back["error"].as_str()), (302, error), "{what}");
    }
    let answer = http
        .post(format!(
            "{}{}",
            harness.sim.base_url(),
            oauth::AUTHORIZE_PATH
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 405);
}

#[tokio::test]
async fn the_token_endpoint_checks_client_and_form() {
    let harness = start_with(fast()).await;
    let tokens = harness.sim.issue_tokens(&["video.publish"]);
    let rt = tokens.refresh_token.as_str();
    let key = harness.sim.client_key();
    for (what, pairs, error) in [
        (
            "wrong secret",
            vec![
                ("client_key", key),
                ("client_secret", "guess"),
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
            ],
            "invalid_client",
        ),
        (
            "wrong key",
            vec![
                ("client_key", "nope"),
                ("client_secret", harness.sim.client_secret()),
                ("grant_type", "refresh_token"),
                ("refresh_token", rt),
            ],
            "invalid_client",
        ),
        (
            "unknown grant",
            client(&harness, &[("grant_type", "password")]),
            "unsupported_grant_type",
        ),
        ("no grant", client(&harness, &[]), "invalid_request"),
        (
            "refresh without a refresh token",
            client(&harness, &[("grant_type", "refresh_token")]),
            "invalid_request",
        ),
    ] {
        let answer = form(&harness, Endpoint::OAuthToken, &pairs).await;
        assert_eq!(answer.1["error"], error, "{what}: {}", answer.1);
        check_oauth_error(&answer, 200, error);
    }
    let answer = form(&harness, Endpoint::OAuthRevoke, &client(&harness, &[])).await;
    check_oauth_error(&answer, 200, "invalid_request");
    // JSON is not what the token endpoint takes.
    let response = harness
        .http
        .post(harness.url(Endpoint::OAuthToken))
        .header("content-type", "application/json")
        .body(json!({"client_key": key}).to_string())
        .send()
        .await
        .unwrap();
    let body: Value = serde_json::from_str(&response.text().await.unwrap()).unwrap();
    assert_eq!(body["error"], "invalid_request");
    // None of those spent the refresh token.
    assert_eq!(refresh(&harness, rt).await.0, 200);
}

#[tokio::test]
async fn token_endpoint_faults_are_scriptable() {
    let harness = start_with(fast()).await;
    let tokens = harness.sim.issue_tokens(&["video.publish"]);
    harness.sim.script(Fault::ApiError {
        endpoint: Endpoint::OAuthToken,
        code: ErrorCode::parse("temporarily_unavailable"),
        http_status: 503,
        times: 1,
    });
    harness.sim.script(Fault::Hang {
        endpoint: Endpoint::OAuthToken,
        duration: Duration::from_millis(300),
        times: 1,
    });
    // Both apply to the next call: it stalls, then refuses.
    let started = Instant::now();
    check_oauth_error(
        &refresh(&harness, &tokens.refresh_token).await,
        503,
        "temporarily_unavailable",
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    let (status, body) = refresh(&harness, &tokens.refresh_token).await;
    assert_eq!(
        status, 200,
        "a faulted call does not spend the token: {body}"
    );
    assert!(harness.sim.pending_faults().is_empty());
    assert_eq!(harness.sim.token_calls(), 2);
}
