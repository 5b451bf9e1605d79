//! The Content-Security-Policy the proxy's pages carry: only our own scripts (and the inline
//! ones the page was built with, named by hash), only our own API and TikTok's upload host to
//! talk to, and no framing by any site.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use sha2::{Digest, Sha256};

/// The policy for `html`, a page that PUTs chunks to `upload_origin`.
///
/// - `script-src`: our files, `'wasm-unsafe-eval'` to compile the app's wasm, and the sha256 of
///   each inline `<script>` in `html` (Trunk writes one that starts the app).
/// - `connect-src`: our API and relay, and TikTok's upload host for direct PUTs.
/// - `img-src`: the creator's avatar comes from TikTok's CDN (any https host), or a `data:` URL.
/// - `media-src`: the chosen video is previewed from a `blob:` URL.
/// - `frame-ancestors 'none'`: no site may frame the page and trick a click.
pub fn policy(html: &[u8], upload_origin: &str) -> String {
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    for hash in inline_script_hashes(html) {
        script_src.push_str(" 'sha256-");
        script_src.push_str(&hash);
        script_src.push('\'');
    }
    format!(
        "default-src 'self'; script-src {script_src}; connect-src 'self' {upload_origin}; \
         img-src 'self' data: blob: https:; media-src 'self' blob:; style-src 'self'; \
         base-uri 'none'; form-action 'self'; object-src 'none'; frame-ancestors 'none'"
    )
}

/// The base64 sha256 of the text of each `<script>` without a `src` attribute, as browsers
/// hash it for `'sha256-…'` sources: the bytes between the start tag and `</script`.
fn inline_script_hashes(html: &[u8]) -> Vec<String> {
    let mut hashes = Vec::new();
    let mut rest = html;
    while let Some(start) = find_ignoring_case(rest, b"<script") {
        let after_name = &rest[start + b"<script".len()..];
        // `<scripts>` or `<script-x>` is another element.
        if after_name
            .first()
            .is_some_and(|&b| !(b.is_ascii_whitespace() || b == b'>' || b == b'/'))
        {
            rest = after_name;
            continue;
        }
        let Some(tag_end) = start_tag_end(after_name) else {
            break;
        };
        let attributes = &after_name[..tag_end];
        let body = &after_name[tag_end + 1..];
        let Some(close) = find_ignoring_case(body, b"</script") else {
            break;
        };
        if !has_src_attribute(attributes) {
            hashes.push(BASE64.encode(Sha256::digest(&body[..close])));
        }
        rest = &body[close..];
    }
    hashes
}

/// Where the start tag whose attributes begin `attributes` ends (its `>`), skipping quoted
/// attribute values.
fn start_tag_end(attributes: &[u8]) -> Option<usize> {
    let mut quote = None;
    for (index, &byte) in attributes.iter().enumerate() {
        match (quote, byte) {
            (None, b'"' | b'\'') => quote = Some(byte),
            (Some(open), _) if open == byte => quote = None,
            (None, b'>') => return Some(index),
            _ => {}
        }
    }
    None
}

/// Whether a start tag's attribute text (after `<script`, before `>`) has a `src` attribute.
/// Attribute names end at whitespace, `=`, `/` or the end; values are quoted or run to
/// whitespace, so `data-src` or a value holding "src" does not count.
fn has_src_attribute(attributes: &[u8]) -> bool {
    let mut at = 0;
    let skip = |at: &mut usize, stop: &dyn Fn(u8) -> bool| {
        while attributes.get(*at).is_some_and(|&b| !stop(b)) {
            *at += 1;
        }
    };
    loop {
        skip(&mut at, &|b| !(b.is_ascii_whitespace() || b == b'/'));
        if at >= attributes.len() {
            return false;
        }
        let name_start = at;
        skip(&mut at, &|b| {
            b.is_ascii_whitespace() || b == b'=' || b == b'/'
        });
        if attributes[name_start..at].eq_ignore_ascii_case(b"src") {
            return true;
        }
        skip(&mut at, &|b| !b.is_ascii_whitespace());
        if attributes.get(at) == Some(&b'=') {
            at += 1;
            skip(&mut at, &|b| !b.is_ascii_whitespace());
            match attributes.get(at) {
                Some(&quote @ (b'"' | b'\'')) => {
                    at += 1;
                    skip(&mut at, &|b| b == quote);
                    at += 1;
                }
                _ => skip(&mut at, &|b| b.is_ascii_whitespace()),
            }
        }
    }
}

/// The first position of `needle` (lowercase ASCII) in `haystack`, ignoring ASCII case.
fn find_ignoring_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(text: &str) -> String {
        BASE64.encode(Sha256::digest(text.as_bytes()))
    }

    #[test]
    fn inline_scripts_are_hashed_and_external_ones_are_not() {
        let module = "import init from '/app.js';\nawait init();\n";
        let html = format!(
            "<!doctype html><head><script>var a = 1;</script>\
             <link rel=modulepreload href=/app.js>\
             <SCRIPT type=\"module\">{module}</SCRIPT>\
             <script src=\"/x.js\"></script><script type=module src=/y.js></script>\
             <script data-src=\"a>b\" x=\" src \">z</script><scripts>no</scripts>\
             <script type=module\n  SRC = '/z.js'></script>"
        );
        assert_eq!(
            inline_script_hashes(html.as_bytes()),
            [hash("var a = 1;"), hash(module), hash("z")]
        );
        assert_eq!(
            inline_script_hashes(b"<script>unterminated"),
            Vec::<String>::new()
        );
        assert_eq!(
            inline_script_hashes(b"<p>no scripts</p>"),
            Vec::<String>::new()
        );
    }

    #[test]
    fn the_policy_names_what_the_page_may_do() {
        let policy = policy(b"<script>x</script>", "https://open-upload.tiktokapis.com");
        for part in [
            "default-src 'self'",
            &format!(
                "script-src 'self' 'wasm-unsafe-eval' 'sha256-{}'",
                hash("x")
            ),
            "connect-src 'self' https://open-upload.tiktokapis.com;",
            "img-src 'self' data: blob: https:",
            "media-src 'self' blob:",
            "style-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(policy.contains(part), "{part} in {policy}");
        }
    }
}
