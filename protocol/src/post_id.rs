//! TikTok post ids: about 19 digits, above 2^53, so a JavaScript number or an `f64` would corrupt
//! them. They are read from JSON numbers or strings without loss and carried as decimal strings.

use serde::Deserializer;
use serde::de::{self, SeqAccess, Visitor};
use std::fmt;

/// Reads `publicaly_available_post_id`: a list of integers as TikTok documents it, but also a
/// single value or `null` (seen in the wild), and numbers as strings. Each id becomes an exact
/// decimal string; a fractional or negative number is an error, never a rounded id.
pub fn deserialize_post_ids<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    deserializer.deserialize_any(PostIdsVisitor)
}

struct PostIdsVisitor;

impl<'de> Visitor<'de> for PostIdsVisitor {
    type Value = Vec<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a post id or a list of post ids")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }

    fn visit_u64<E: de::Error>(self, id: u64) -> Result<Self::Value, E> {
        Ok(vec![id.to_string()])
    }

    fn visit_i64<E: de::Error>(self, id: i64) -> Result<Self::Value, E> {
        IdVisitor.visit_i64(id).map(|id| vec![id])
    }

    fn visit_f64<E: de::Error>(self, id: f64) -> Result<Self::Value, E> {
        IdVisitor.visit_f64(id).map(|id| vec![id])
    }

    fn visit_str<E: de::Error>(self, id: &str) -> Result<Self::Value, E> {
        IdVisitor.visit_str(id).map(|id| vec![id])
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut ids = Vec::new();
        while let Some(PostId(id)) = seq.next_element()? {
            ids.push(id);
        }
        Ok(ids)
    }
}

/// One post id, read from a JSON integer or a string of digits.
struct PostId(String);

impl<'de> serde::Deserialize<'de> for PostId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(IdVisitor).map(PostId)
    }
}

struct IdVisitor;

impl Visitor<'_> for IdVisitor {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a post id (a non-negative integer)")
    }

    fn visit_u64<E: de::Error>(self, id: u64) -> Result<String, E> {
        Ok(id.to_string())
    }

    fn visit_i64<E: de::Error>(self, id: i64) -> Result<String, E> {
        u64::try_from(id)
            .map(|id| id.to_string())
            .map_err(|_| E::custom(format!("post id {id} is negative")))
    }

    fn visit_f64<E: de::Error>(self, id: f64) -> Result<String, E> {
        Err(E::custom(format!(
            "post id {id} is not an exact integer; it would lose digits"
        )))
    }

    fn visit_str<E: de::Error>(self, id: &str) -> Result<String, E> {
        if !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_digit()) {
            Ok(id.to_owned())
        } else {
            Err(E::custom(format!(
                "post id {id:?} is not a string of digits"
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[derive(serde::Deserialize)]
    struct Holder {
        #[serde(deserialize_with = "deserialize_post_ids")]
        ids: Vec<String>,
    }

    fn check(json: &str, expected: &[&str]) {
        let holder: Holder = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert_eq!(holder.ids, expected, "{json}");
    }

    #[test]
    fn nineteen_digits_survive() {
        // 7303974455139846443 > 2^53: an f64 would round it to 7303974455139846144.
        check(r#"{"ids":[7303974455139846443]}"#, &["7303974455139846443"]);
        check(
            r#"{"ids":[18446744073709551615]}"#,
            &["18446744073709551615"],
        );
        check(r#"{"ids":7303974455139846443}"#, &["7303974455139846443"]);
        check(r#"{"ids":"7303974455139846443"}"#, &["7303974455139846443"]);
        check(r#"{"ids":["1","2"]}"#, &["1", "2"]);
        check(r#"{"ids":[]}"#, &[]);
        check(r#"{"ids":null}"#, &[]);
    }

    #[test]
    fn lossy_ids_are_refused() {
        for json in [
            r#"{"ids":[1.5]}"#,
            r#"{"ids":[-3]}"#,
            r#"{"ids":["12a"]}"#,
            r#"{"ids":[1e30]}"#,
        ] {
            assert!(serde_json::from_str::<Holder>(json).is_err(), "{json}");
        }
    }
}
