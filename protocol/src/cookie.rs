//! Reading one cookie from a request's `Cookie` headers (`name=value; name2=value2`, RFC 6265
//! §4.2), shared by every cookie the proxy reads.

/// The value of the first cookie named exactly `name` in `headers` (each one `Cookie` header's
/// text); pairs without `=` are skipped. The value is returned as sent.
pub fn find<'a>(headers: impl IntoIterator<Item = &'a str>, name: &str) -> Option<&'a str> {
    headers
        .into_iter()
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn the_first_exact_name_wins() {
        for (headers, expected) in [
            (vec!["a=1; b=2"], Some("2")),
            (vec!["a=1", "b=2; b=3"], Some("2")),
            (vec!["ab=1; B=2; b"], None),
            (vec!["  b=with=equals ;"], Some("with=equals")),
            (vec!["b="], Some("")),
            (vec![], None),
        ] {
            assert_eq!(find(headers.iter().copied(), "b"), expected, "{headers:?}");
        }
    }
}
