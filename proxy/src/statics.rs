//! Serves the built app (Trunk's `dist/`) at `/`, or a short page saying how to build it.
//!
//! Only the kinds of file the app is made of are served, never a dotfile or anything under a
//! dot-directory, and every page carries a Content-Security-Policy (`csp.rs`) and refuses to
//! be framed. `startup.rs` refuses to start when a private file lies in the directory.

use crate::body::{Body, full};
use crate::csp;
use crate::error::Error;
use hyper::header::{
    ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH,
    CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue, REFERRER_POLICY, VARY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use hyper::{Response, StatusCode};
use std::path::{Path, PathBuf};

/// Shown at `/` when no `static_dir` is configured.
const LANDING_PAGE: &str = "<!doctype html>
<html lang=\"en\">
<head><meta charset=\"utf-8\"><title>TikTok autoposter proxy</title></head>
<body>
<h1>The TikTok autoposter proxy is running.</h1>
<p>The API is at <a href=\"/api/health\">/api/health</a>, <code>/api/creator</code> and <code>/api/posts</code>.</p>
<p>To serve the app from here, build it with <code>trunk build --release</code> at the workspace root
and start the proxy with <code>--static-dir dist</code> (or <code>AUTOPOSTER_STATIC_DIR=dist</code>).</p>
</body>
</html>
";

/// What is served at `/` and what the page may connect to.
#[derive(Debug, Clone)]
pub struct Statics {
    /// The built app, if any.
    pub dir: Option<PathBuf>,
    /// The origin of TikTok's `upload_url`s (`Config::upload_origin`): the page's CSP lets it
    /// PUT chunks there directly.
    pub upload_origin: String,
}

/// Answers a GET (or HEAD, without the body) for `path` from `statics.dir`. Paths with `..`,
/// `.` or any segment starting with a dot, empty segments (`//`, so nothing absolute),
/// backslashes or drive letters, and files of a kind the app is not made of are refused as 404
/// without touching the disk; directories answer their `index.html`.
///
/// When the client accepts it and `cargo xtask dist` left one, a pre-compressed sibling
/// (`app_bg.wasm.br`, `app.js.gz`, …) is sent instead, with `Content-Encoding`: the browser
/// downloads about a third of the bytes. Pages are always sent as they are, since their CSP
/// names their inline scripts by hash.
pub async fn serve(
    statics: &Statics,
    path: &str,
    head: bool,
    accept_encoding: Option<&str>,
) -> Result<Response<Body>, Error> {
    let (bytes, content_type, encoding) = match &statics.dir {
        None if path == "/" => (
            LANDING_PAGE.as_bytes().to_vec(),
            "text/html; charset=utf-8",
            None,
        ),
        None => return Err(Error::NotFound),
        Some(dir) => {
            let file = resolve(dir, path).ok_or(Error::NotFound)?;
            let content_type = content_type(&file).ok_or(Error::NotFound)?;
            let accept_encoding = accept_encoding.filter(|_| !is_html(content_type));
            let (bytes, encoding) = read_best(&file, accept_encoding).await.map_err(|error| {
                tracing::debug!(file = %file.display(), %error, "static file not served");
                Error::NotFound
            })?;
            (bytes, content_type, encoding)
        }
    };
    let policy = is_html(content_type).then(|| csp::policy(&bytes, &statics.upload_origin));
    let len = bytes.len();
    let mut response = Response::new(if head { full(Vec::new()) } else { full(bytes) });
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    if statics.dir.is_some() {
        headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    }
    if let Some(encoding) = encoding {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding.name()));
    }
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // File names are stable (no content hash, so other sites can import the element): make
    // browsers check for a new build on every load.
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Some(policy) = policy {
        headers.insert(
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&policy).expect("the policy is ASCII: hashes and an origin"),
        );
        headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    } else {
        // The script, wasm and stylesheet are public and carry no credentials; other sites load
        // them for <tiktok-uploader> (a module script and its wasm are fetched with CORS).
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
    Ok(response)
}

/// Whether answers of `content_type` are pages (and so carry the CSP).
fn is_html(content_type: &str) -> bool {
    content_type.starts_with("text/html")
}

/// A content coding a pre-compressed sibling file may have, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    const PREFERRED: [Encoding; 2] = [Encoding::Brotli, Encoding::Gzip];

    fn name(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gzip",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Self::Brotli => "br",
            Self::Gzip => "gz",
        }
    }
}

/// Whether `Accept-Encoding` allows `encoding` (listed, or `*`, with a q-value above 0).
fn accepts(accept_encoding: &str, encoding: Encoding) -> bool {
    let mut star = false;
    for part in accept_encoding.split(',') {
        let mut fields = part.split(';');
        let name = fields.next().unwrap_or("").trim();
        let refused = fields.any(|param| {
            let param = param.trim().replace(' ', "");
            param
                .strip_prefix("q=")
                .is_some_and(|q| q.parse::<f32>().is_ok_and(|q| q <= 0.0))
        });
        if name.eq_ignore_ascii_case(encoding.name()) {
            return !refused;
        }
        if name == "*" {
            star = !refused;
        }
    }
    star
}

/// The file, or its best pre-compressed sibling the client accepts.
async fn read_best(
    file: &Path,
    accept_encoding: Option<&str>,
) -> std::io::Result<(Vec<u8>, Option<Encoding>)> {
    for encoding in Encoding::PREFERRED {
        if !accept_encoding.is_some_and(|accept| accepts(accept, encoding)) {
            continue;
        }
        let mut sibling = file.as_os_str().to_owned();
        sibling.push(".");
        sibling.push(encoding.extension());
        if let Ok(bytes) = tokio::fs::read(&sibling).await {
            return Ok((bytes, Some(encoding)));
        }
    }
    // The app's files are a few megabytes at most, so each is read whole.
    Ok((tokio::fs::read(file).await?, None))
}

/// The file under `dir` that `path` names, or `None` if `path` could leave `dir`.
fn resolve(dir: &Path, path: &str) -> Option<PathBuf> {
    let relative = path.strip_prefix('/')?;
    let mut file = dir.to_owned();
    let mut segments = relative.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if segment.is_empty() && last {
            // `/` or `/dir/`: the directory's index.
            file.push("index.html");
            break;
        }
        // A leading dot covers `.`, `..`, dotfiles (`.env`) and dot-directories (`.git/`).
        let safe = !segment.is_empty()
            && !segment.starts_with('.')
            && !segment.contains(['\\', ':', '\0']);
        if !safe {
            return None;
        }
        file.push(segment);
    }
    Some(file)
}

/// The `Content-Type` of a kind of file the app is made of, or `None` for any other file, which
/// is not served: the allowlist. Whatever else lies in the directory by mistake (a token file,
/// the `.jsonl` log, a backup, a key) stays unpublished.
fn content_type(file: &Path) -> Option<&'static str> {
    let extension = file
        .extension()
        .and_then(|extension| extension.to_str())?
        .to_ascii_lowercase();
    Some(match extension.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "wasm" => "application/wasm",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_only_inside_the_dir() {
        let dir = Path::new("/srv/dist");
        for (path, expected) in [
            ("/", Some("/srv/dist/index.html")),
            ("/app.wasm", Some("/srv/dist/app.wasm")),
            ("/assets/", Some("/srv/dist/assets/index.html")),
            ("/assets/x.js", Some("/srv/dist/assets/x.js")),
            ("/../etc/passwd", None),
            ("/assets/../../etc/passwd", None),
            ("//etc/passwd", None),
            ("/./index.html", None),
            ("/a//b", None),
            ("/..\\windows", None),
            ("/C:/windows", None),
            ("relative", None),
            ("/.env", None),
            ("/.git/config", None),
            ("/assets/.hidden/app.js", None),
            ("/.well-known/", None),
        ] {
            assert_eq!(resolve(dir, path), expected.map(PathBuf::from), "{path:?}");
        }
    }

    #[test]
    fn accept_encoding() {
        for (header, br, gzip) in [
            ("gzip, deflate, br, zstd", true, true),
            ("gzip", false, true),
            ("br;q=0, gzip", false, true),
            ("BR; q=0.5", true, false),
            ("*", true, true),
            ("*;q=0, gzip", false, true),
            ("identity", false, false),
            ("", false, false),
        ] {
            assert_eq!(accepts(header, Encoding::Brotli), br, "{header:?}");
            assert_eq!(accepts(header, Encoding::Gzip), gzip, "{header:?}");
        }
    }

    #[test]
    fn content_types() {
        for (name, expected) in [
            ("index.html", Some("text/html; charset=utf-8")),
            ("app_bg.wasm", Some("application/wasm")),
            ("app.js", Some("text/javascript; charset=utf-8")),
            ("style.CSS", Some("text/css; charset=utf-8")),
            (
                "tiktok-uploader.mjs",
                Some("text/javascript; charset=utf-8"),
            ),
            ("icon.svg", Some("image/svg+xml")),
            ("blob", None),
            ("tokens.json", None),
            ("posts.jsonl", None),
            ("app.js.br", None),
            ("notes.txt", None),
            ("index.htm", None),
        ] {
            assert_eq!(content_type(Path::new(name)), expected, "{name}");
        }
    }
}
