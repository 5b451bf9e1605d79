//! `POST /auth/session` (sign in with the operator's password) and `DELETE /auth/session`
//! (sign out). The cookie is `HttpOnly; SameSite=Strict; Path=/`, and `Secure` when the request
//! came over https (directly, or through a reverse proxy on loopback that says so).

use crate::body::{Body, empty_response, read_json};
use crate::error::Error;
use crate::login::is_same_origin_script;
use crate::operator::{Client, session_set_cookie};
use crate::server::App;
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, HeaderValue, SET_COOKIE};
use hyper::{Request, Response, StatusCode};
use protocol::wire::SignIn;

/// `POST /auth/session`: `204` with a new session's cookie, or why not.
pub async fn sign_in(
    app: &App,
    client: Client,
    request: Request<Incoming>,
) -> Result<Response<Body>, Error> {
    if !is_same_origin_script(request.headers()) {
        // A login form elsewhere must not sign this browser in (login CSRF).
        return Err(Error::CrossSite);
    }
    let SignIn { password } = read_json(request).await?;
    let value = app.operator.sign_in(client.address, password).await?;
    let max_age = app.operator.sessions.ttl().as_secs();
    Ok(with_cookie(session_set_cookie(
        &value,
        max_age,
        client.https,
    )))
}

/// `DELETE /auth/session`: `204`, the session ended and its cookie cleared.
pub fn sign_out(app: &App, client: Client, request: &Request<Incoming>) -> Response<Body> {
    app.operator.sign_out(request.headers());
    with_cookie(session_set_cookie("", 0, client.https))
}

fn with_cookie(cookie: HeaderValue) -> Response<Body> {
    let mut response = empty_response(StatusCode::NO_CONTENT);
    let headers = response.headers_mut();
    headers.insert(SET_COOKIE, cookie);
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
