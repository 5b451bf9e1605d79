//! Login Kit, simulated: a stand-in consent page that agrees at once, the token endpoint (code
//! exchange and refresh) and revoke, each checking what TikTok checks and refusing in TikTok's
//! OAuth shape `{"error","error_description","log_id"}`.

use crate::endpoint::Endpoint;
use crate::grants::{CODE_TTL, PendingCode};
use crate::handle::Sim;
use crate::ids;
use crate::reply::{Body, LOG_ID_HEADER};
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderMap, HeaderValue, LOCATION};
use hyper::{Request, Response, StatusCode};
use protocol::oauth::{self, OAuthMode};
use protocol::tiktok::{OAuthError, TokenResponse};
use serde::Serialize;
use std::collections::HashMap;
use tokio::time::Instant;

/// The HTTP status of the simulator's own OAuth refusals. TikTok's token endpoint has been seen
/// answering them with 200, so clients must read the body; scripted faults pick their own.
const REFUSAL_STATUS: u16 = 200;

/// The largest form accepted; TikTok's forms are a few hundred bytes.
const MAX_FORM: usize = 8 * 1024;

/// The scopes the consent page knows; asking for anything else is `invalid_scope`.
const KNOWN_SCOPES: &[&str] = &[
    "user.info.basic",
    "user.info.profile",
    "user.info.stats",
    "video.list",
    oauth::SCOPE_VIDEO_PUBLISH,
    oauth::SCOPE_VIDEO_UPLOAD,
];

/// An OAuth refusal on its way out.
#[derive(Debug)]
struct Refusal {
    status: u16,
    error: String,
    description: String,
}

impl Refusal {
    fn new(error: &str, description: impl Into<String>) -> Self {
        Self {
            status: REFUSAL_STATUS,
            error: error.to_owned(),
            description: description.into(),
        }
    }
}

/// `GET /v2/auth/authorize/`: checks the request as TikTok's page would, then "the person
/// agrees" and is sent back to `redirect_uri` with `code`, `scopes` and `state` (302). A bad
/// `client_key` or `redirect_uri` gets an error page, as nowhere is safe to send the person.
pub(crate) fn authorize(sim: &Sim, query: Option<&str>) -> Response<Body> {
    let params: HashMap<String, String> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    let get = |key: &str| params.get(key).map_or("", String::as_str);
    if get("client_key") != sim.client_key() {
        return page(400, "client_key is not a registered app.");
    }
    let redirect_uri = get("redirect_uri");
    let challenge = params.get("code_challenge");
    // A challenge marks a desktop (or mobile) app, whose redirect URIs follow other rules.
    let mode = if challenge.is_some() {
        OAuthMode::Desktop
    } else {
        OAuthMode::Web
    };
    if let Err(error) = oauth::check_redirect_uri(mode, redirect_uri) {
        return page(400, &format!("redirect_uri is not registered: {error}."));
    }
    let state = get("state");
    let back = |pairs: &[(&str, &str)]| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(pairs).append_pair("state", state);
        redirect(&format!("{redirect_uri}?{}", query.finish()))
    };
    if get("response_type") != "code" {
        return back(&[
            ("error", "unsupported_response_type"),
            ("error_description", "response_type must be code."),
        ]);
    }
    let requested = oauth::parse_scopes(get("scope"));
    if requested.is_empty()
        || requested
            .iter()
            .any(|s| !KNOWN_SCOPES.contains(&s.as_str()))
    {
        return back(&[
            ("error", "invalid_scope"),
            (
                "error_description",
                "The scope list is empty or names an unknown scope.",
            ),
        ]);
    }
    if let Some(challenge) = challenge {
        let hex = challenge.len() == 64 && challenge.bytes().all(|b| b.is_ascii_hexdigit());
        if get("code_challenge_method") != oauth::CODE_CHALLENGE_METHOD || !hex {
            return back(&[
                ("error", "invalid_request"),
                (
                    "error_description",
                    "code_challenge must be the hex SHA-256 of the verifier, with code_challenge_method=S256.",
                ),
            ]);
        }
    }
    let granted: Vec<String> = match &sim.shared().grant_scopes {
        None => requested,
        Some(allowed) => requested
            .into_iter()
            .filter(|scope| allowed.contains(scope))
            .collect(),
    };
    if granted.is_empty() {
        return back(&[
            ("error", "access_denied"),
            (
                "error_description",
                "The user denied the authorization request.",
            ),
        ]);
    }
    let code = {
        let mut state = sim.state();
        let open_id = state.grants.person();
        state.grants.issue_code(PendingCode {
            redirect_uri: redirect_uri.to_owned(),
            code_challenge: challenge.cloned(),
            scopes: granted.clone(),
            open_id,
            expires: Instant::now() + CODE_TTL,
        })
    };
    back(&[("code", &code), ("scopes", &granted.join(","))])
}

/// `POST /v2/oauth/token/`: `grant_type=authorization_code` or `refresh_token`.
pub(crate) async fn token(sim: &Sim, request: Request<Incoming>, record: usize) -> Response<Body> {
    let result = async {
        let form = read_form(sim, Endpoint::OAuthToken, request, record).await?;
        check_client(sim, &form)?;
        let lifetimes = sim.shared().lifetimes;
        let now = Instant::now();
        match field(&form, "grant_type") {
            "authorization_code" => exchange_code(sim, &form, now),
            "refresh_token" => {
                let refresh_token = field(&form, "refresh_token");
                if refresh_token.is_empty() {
                    return Err(Refusal::new(
                        "invalid_request",
                        "refresh_token is required.",
                    ));
                }
                sim.state()
                    .grants
                    .rotate(refresh_token, now, lifetimes)
                    .ok_or_else(|| {
                        Refusal::new("invalid_grant", "Refresh token is invalid or expired.")
                    })
            }
            "" => Err(Refusal::new("invalid_request", "grant_type is required.")),
            other => Err(Refusal::new(
                "unsupported_grant_type",
                format!("grant_type {other:?} is not supported."),
            )),
        }
    }
    .await;
    let late = sim.state().faults.late_token_answer();
    if let Some(duration) = late {
        tokio::time::sleep(duration).await;
    }
    match result {
        Ok(tokens) => json::<TokenResponse>(200, &tokens),
        Err(refusal) => refuse(refusal),
    }
}

/// `POST /v2/oauth/revoke/`: ends the grant behind `token`; `{}` on success, as TikTok answers.
pub(crate) async fn revoke(sim: &Sim, request: Request<Incoming>, record: usize) -> Response<Body> {
    let result = async {
        let form = read_form(sim, Endpoint::OAuthRevoke, request, record).await?;
        check_client(sim, &form)?;
        let token = field(&form, "token");
        if token.is_empty() {
            return Err(Refusal::new("invalid_request", "token is required."));
        }
        sim.state().grants.revoke(token);
        Ok(())
    }
    .await;
    match result {
        Ok(()) => json(200, &serde_json::json!({})),
        Err(refusal) => refuse(refusal),
    }
}

/// The code exchange: the code must be live and unused, `redirect_uri` the authorize one, and
/// the verifier must hash to the challenge when there was one.
fn exchange_code(
    sim: &Sim,
    form: &HashMap<String, String>,
    now: Instant,
) -> Result<TokenResponse, Refusal> {
    let code = field(form, "code");
    if code.is_empty() {
        return Err(Refusal::new("invalid_request", "code is required."));
    }
    let pending = sim.state().grants.take_code(code, now).ok_or_else(|| {
        Refusal::new(
            "invalid_grant",
            "Authorization code is expired or was already used.",
        )
    })?;
    if field(form, "redirect_uri") != pending.redirect_uri {
        return Err(Refusal::new(
            "invalid_grant",
            "Redirect_uri is not matched with the uri when requesting code.",
        ));
    }
    if let Some(challenge) = &pending.code_challenge
        && !oauth::pkce_matches(field(form, "code_verifier"), challenge)
    {
        return Err(Refusal::new(
            "invalid_grant",
            "Code verifier or code challenge is invalid.",
        ));
    }
    let lifetimes = sim.shared().lifetimes;
    Ok(sim
        .state()
        .grants
        .start(pending.open_id, pending.scopes, now, lifetimes))
}

/// Reads (and records) the form, plays scripted faults, and checks the content type.
async fn read_form(
    sim: &Sim,
    endpoint: Endpoint,
    request: Request<Incoming>,
    record: usize,
) -> Result<HashMap<String, String>, Refusal> {
    let (parts, body) = request.into_parts();
    let body = sim.read_recorded(body, MAX_FORM, record).await;
    let hang = sim.state().faults.hang(endpoint);
    if let Some(duration) = hang {
        tokio::time::sleep(duration).await;
    }
    let scripted = sim.state().faults.api_error(endpoint);
    if let Some((code, status)) = scripted {
        return Err(Refusal {
            status,
            error: code.as_str().to_owned(),
            description: format!("{code} (scripted by the simulator)."),
        });
    }
    let bytes = body.ok_or_else(|| {
        Refusal::new(
            "invalid_request",
            "The request body is too large or was cut short.",
        )
    })?;
    if !is_form(&parts.headers) {
        return Err(Refusal::new(
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded.",
        ));
    }
    Ok(form_urlencoded::parse(&bytes).into_owned().collect())
}

/// Checks `client_key` and `client_secret`.
fn check_client(sim: &Sim, form: &HashMap<String, String>) -> Result<(), Refusal> {
    if field(form, "client_key") != sim.client_key() {
        return Err(Refusal::new("invalid_client", "Client key is invalid."));
    }
    if !oauth::constant_time_eq(field(form, "client_secret"), sim.client_secret()) {
        return Err(Refusal::new("invalid_client", "Client secret is invalid."));
    }
    Ok(())
}

fn field<'a>(form: &'a HashMap<String, String>, name: &str) -> &'a str {
    form.get(name).map_or("", String::as_str)
}

fn is_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The OAuth error shape, with a fresh `log_id`.
fn refuse(refusal: Refusal) -> Response<Body> {
    tracing::debug!(error = %refusal.error, description = %refusal.description, "OAuth refused");
    let log_id = ids::log_id();
    let body = OAuthError {
        error: refusal.error,
        error_description: refusal.description,
        log_id: Some(log_id.clone()),
    };
    json_with(refusal.status, &body, &log_id)
}

/// `value` as JSON with `status`, never cached.
fn json<T: Serialize>(status: u16, value: &T) -> Response<Body> {
    json_with(status, value, &ids::log_id())
}

/// The same, with the `log_id` the body names.
fn json_with<T: Serialize>(status: u16, value: &T, log_id: &str) -> Response<Body> {
    let bytes =
        serde_json::to_vec(value).expect("OAuth bodies are plain structs and always serialize");
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(value) = HeaderValue::from_str(log_id) {
        headers.insert(LOG_ID_HEADER, value);
    }
    response
}

/// A 302 to `location`.
fn redirect(location: &str) -> Response<Body> {
    let mut response = Response::new(Body::default());
    *response.status_mut() = StatusCode::FOUND;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

/// A plain-text error page, what TikTok shows when it cannot send the person back.
fn page(status: u16, text: &str) -> Response<Body> {
    let mut response = Response::new(Body::from(text.to_owned()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
