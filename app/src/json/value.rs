//! Our types read from what the browser's `JSON.parse` made: a serde `Deserializer` over JS
//! values, reading them as serde-wasm-bindgen does (a struct takes its own fields and ignores
//! the rest, `null` is `None`, numbers are integers up to 2^53).
//!
//! It exists for the size of the wasm. serde-wasm-bindgen's reader quotes the value it met in
//! its errors, and quoting a number brings Rust's whole float printer into the bundle for
//! messages nobody reads. This one names what kind of value it met, never which: the wasm is
//! 10.5 KB of gzip smaller with it (BENCHMARKS.md §5).

use super::JsonError;
use js_sys::{Array, Object, Reflect};
use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use std::fmt;
use wasm_bindgen::{JsCast, JsValue};

/// `Number.MAX_SAFE_INTEGER`: the largest integer a JS number holds exactly.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// `Deserializer` methods that only call another one.
macro_rules! forward {
    ($($($method:ident),+ => $to:ident;)+) => {
        $($(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
                self.$to(visitor)
            }
        )+)+
    };
}

/// `Deserializer` methods that read one kind of value for the visitor, or refuse any other.
macro_rules! read {
    ($($method:ident: $read:path => $visit:ident;)+) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
                match $read(&self) {
                    Some(value) => visitor.$visit(value),
                    None => self.invalid(visitor),
                }
            }
        )+
    };
}

/// One JS value, read as serde asks.
pub(super) struct Value(pub JsValue);

impl Value {
    fn is_nullish(&self) -> bool {
        self.0.is_null() || self.0.is_undefined()
    }

    fn boolean(&self) -> Option<bool> {
        self.0.as_bool()
    }

    fn number(&self) -> Option<f64> {
        self.0.as_f64()
    }

    fn text(&self) -> Option<String> {
        self.0.as_string()
    }

    /// The number, when it is an integer a JS number holds exactly.
    fn integer(&self) -> Option<f64> {
        self.number()
            .filter(|n| n.trunc() == *n && n.abs() <= MAX_SAFE_INTEGER)
    }

    fn unsigned(&self) -> Option<u64> {
        self.integer().filter(|n| *n >= 0.0).map(|n| n as u64)
    }

    fn signed(&self) -> Option<i64> {
        self.integer().map(|n| n as i64)
    }

    /// An object, not a list: what a struct or an enum with data is written as.
    fn is_plain_object(&self) -> bool {
        self.0.is_object() && !Array::is_array(&self.0)
    }

    /// What kind of value this is, for an error.
    fn kind(&self) -> &'static str {
        if self.is_nullish() {
            "null"
        } else if self.boolean().is_some() {
            "a boolean"
        } else if self.number().is_some() {
            "a number"
        } else if self.0.is_string() {
            "a string"
        } else if Array::is_array(&self.0) {
            "a list"
        } else {
            "an object"
        }
    }

    fn invalid<'de, V: Visitor<'de>>(&self, visitor: V) -> Result<V::Value, JsonError> {
        Err(JsonError::invalid(self.kind(), &visitor))
    }

    /// The object's own `[key, value]` pairs, as serde reads a map.
    fn entries(&self) -> impl Iterator<Item = (Value, Value)> {
        Object::entries(self.0.unchecked_ref())
            .into_iter()
            .map(|pair| {
                let pair: Array = pair.unchecked_into();
                (Value(pair.get(0)), Value(pair.get(1)))
            })
    }
}

impl<'de> IntoDeserializer<'de, JsonError> for Value {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = JsonError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        if self.is_nullish() {
            visitor.visit_unit()
        } else if let Some(flag) = self.boolean() {
            visitor.visit_bool(flag)
        } else if let Some(number) = self.unsigned() {
            visitor.visit_u64(number)
        } else if let Some(number) = self.signed() {
            visitor.visit_i64(number)
        } else if let Some(number) = self.number() {
            visitor.visit_f64(number)
        } else if let Some(text) = self.text() {
            visitor.visit_string(text)
        } else if Array::is_array(&self.0) {
            self.deserialize_seq(visitor)
        } else {
            visitor.visit_map(MapDeserializer::new(self.entries()))
        }
    }

    // Narrower numbers read as their 64-bit kin (serde checks the range), text as a `String`.
    forward! {
        deserialize_u8, deserialize_u16, deserialize_u32 => deserialize_u64;
        deserialize_i8, deserialize_i16, deserialize_i32 => deserialize_i64;
        deserialize_f32 => deserialize_f64;
        deserialize_str, deserialize_char, deserialize_identifier => deserialize_string;
    }

    read! {
        deserialize_bool: Value::boolean => visit_bool;
        deserialize_u64: Value::unsigned => visit_u64;
        deserialize_i64: Value::signed => visit_i64;
        deserialize_f64: Value::number => visit_f64;
        deserialize_string: Value::text => visit_string;
    }

    /// `null` (or a missing value) is `None`; anything else is `Some`.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        if self.is_nullish() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        if self.is_nullish() {
            visitor.visit_unit()
        } else {
            self.invalid(visitor)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        if !Array::is_array(&self.0) {
            return self.invalid(visitor);
        }
        let items = self.0.unchecked_into::<Array>().into_iter().map(Value);
        visitor.visit_seq(SeqDeserializer::new(items))
    }

    /// A struct takes its own fields from the object, by name; other keys are not read, and a
    /// field the object lacks is missing.
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        if !self.is_plain_object() {
            return self.invalid(visitor);
        }
        visitor.visit_map(Fields {
            object: self.0,
            fields: fields.iter(),
            next: None,
        })
    }

    /// A unit variant is its name (`"inbox"`); any other variant an object with one key, its
    /// name (`{"Refused": {…}}`).
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        if self.0.is_string() {
            return visitor.visit_enum(Variant {
                tag: self,
                payload: Value(JsValue::UNDEFINED),
            });
        }
        if !self.is_plain_object() {
            return self.invalid(visitor);
        }
        let mut entries = self.entries();
        match (entries.next(), entries.next()) {
            (Some((tag, payload)), None) => visitor.visit_enum(Variant { tag, payload }),
            _ => Err(JsonError::invalid("an object", &visitor)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, JsonError> {
        visitor.visit_unit()
    }

    // What serde can take from whatever the value is; also maps, tuples and unit structs,
    // which `deserialize_any` reads as objects, lists and `null`.
    serde::forward_to_deserialize_any! { i128 u128 bytes byte_buf map tuple tuple_struct unit_struct }
}

/// A struct's fields, looked up by name one after the other.
struct Fields {
    object: JsValue,
    fields: std::slice::Iter<'static, &'static str>,
    /// The value of the field just named.
    next: Option<Value>,
}

impl Fields {
    /// The next field the object has, its value kept for `next_value_seed`. Not generic, so
    /// it is compiled once, not once per struct.
    fn next_field(&mut self) -> Result<Option<&'static str>, JsonError> {
        for field in self.fields.by_ref() {
            let value = Reflect::get(&self.object, &JsValue::from_str(field))?;
            if !value.is_undefined() {
                self.next = Some(Value(value));
                return Ok(Some(field));
            }
        }
        Ok(None)
    }
}

impl<'de> de::MapAccess<'de> for Fields {
    type Error = JsonError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, JsonError> {
        match self.next_field()? {
            Some(field) => seed.deserialize(field.into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, JsonError> {
        let value = self.next.take().unwrap_or(Value(JsValue::UNDEFINED));
        seed.deserialize(value)
    }
}

/// An enum's variant: its name and what it holds (`undefined` for a unit variant).
struct Variant {
    tag: Value,
    payload: Value,
}

impl<'de> de::EnumAccess<'de> for Variant {
    type Error = JsonError;
    type Variant = Value;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Value), JsonError> {
        Ok((seed.deserialize(self.tag)?, self.payload))
    }
}

impl<'de> de::VariantAccess<'de> for Value {
    type Error = JsonError;

    fn unit_variant(self) -> Result<(), JsonError> {
        de::Deserialize::deserialize(self)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, JsonError> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, JsonError> {
        de::Deserializer::deserialize_tuple(self, len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, JsonError> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}

impl JsonError {
    /// "invalid type: a string, expected u64".
    fn invalid(kind: &str, expected: &dyn de::Expected) -> Self {
        Self(format!("invalid type: {kind}, expected {expected}"))
    }
}

impl de::Error for JsonError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Self(message.to_string())
    }

    /// Names the kind of value met, never the value: see the module's comment.
    fn invalid_type(unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self::invalid(kind_of(&unexpected), expected)
    }

    fn invalid_value(unexpected: de::Unexpected<'_>, expected: &dyn de::Expected) -> Self {
        Self(format!(
            "invalid value: {}, expected {expected}",
            kind_of(&unexpected)
        ))
    }
}

/// What kind of value serde met, in the words of [`Value::kind`].
fn kind_of(unexpected: &de::Unexpected<'_>) -> &'static str {
    use de::Unexpected as U;
    match unexpected {
        U::Bool(_) => "a boolean",
        U::Unsigned(_) | U::Signed(_) | U::Float(_) => "a number",
        U::Char(_) | U::Str(_) => "a string",
        U::Unit | U::Option => "null",
        U::Seq | U::Bytes(_) => "a list",
        U::Map | U::Enum | U::NewtypeStruct | U::StructVariant => "an object",
        U::UnitVariant | U::NewtypeVariant | U::TupleVariant | U::Other(_) => "another value",
    }
}

#[cfg(test)]
mod tests {
    use crate::json::from_str;
    use protocol::wire::{Connection, Creator, ErrorBody, History, JobInfo, PostState};
    use serde::Deserialize;
    use serde::de::DeserializeOwned;
    use std::collections::BTreeMap;
    use std::fmt::Debug;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// `text` reads as serde-wasm-bindgen's reader reads it: the same value, or an error both
    /// times; and `ok` says which.
    fn check<T: DeserializeOwned + PartialEq + Debug>(text: &str, ok: bool) {
        let ours = from_str::<T>(text);
        let theirs = serde_wasm_bindgen::from_value::<T>(js_sys::JSON::parse(text).unwrap());
        assert_eq!(ours.is_ok(), ok, "{text}: {ours:?}");
        assert_eq!(ours.ok(), theirs.ok(), "{text}");
    }

    #[derive(Debug, PartialEq, Deserialize)]
    enum Shape {
        Point,
        Circle(u32),
        Rect { width: u32, height: u32 },
        Pair(u8, String),
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    enum Tagged {
        Sized { size: u64 },
        Empty,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(untagged)]
    enum Either {
        Number(i64),
        Text(String),
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Wrapped(Vec<Option<bool>>);

    #[wasm_bindgen_test]
    fn reads_the_proxys_answers_as_serde_wasm_bindgen_does() {
        check::<ErrorBody>(
            r#"{"error":{"code":"x","message":"Try again.","log_id":"l1"}}"#,
            true,
        );
        check::<ErrorBody>(
            r#"{"error":{"code":"x","message":"m","logid":"l2","extra":[1]}}"#,
            true,
        );
        check::<ErrorBody>(r#"{"error":{"code":"x"}}"#, false);
        check::<ErrorBody>(r#"{"error":3}"#, false);
        check::<Creator>(
            r#"{"nickname":"N","username":"n","avatar_url":"https://a/b.png",
                "privacy_level_options":["PUBLIC_TO_EVERYONE","SELF_ONLY"],"comment_disabled":false,
                "duet_disabled":true,"stitch_disabled":false,"max_video_post_duration_sec":600}"#,
            true,
        );
        check::<Creator>(
            r#"{"nickname":"N","username":"n","avatar_url":"","privacy_level_options":"SELF_ONLY",
                "comment_disabled":false,"duet_disabled":true,"stitch_disabled":false,
                "max_video_post_duration_sec":600}"#,
            false,
        );
        check::<Connection>(
            r#"{"connected":true,"can_direct":true,"can_inbox":true,"scopes":null}"#,
            false,
        );
        check::<Connection>(
            r#"{"connected":false,"can_direct":false,"can_inbox":true,"login_url":null}"#,
            true,
        );
        check::<PostState>(
            r#"{"publish_id":"p","status":"PUBLISH_COMPLETE","post_ids":["7303974455139846443"],"uploaded_bytes":9007199254740991}"#,
            true,
        );
        check::<PostState>(
            r#"{"publish_id":"p","status":"FAILED","fail_reason":"file_format_check_failed"}"#,
            true,
        );
        check::<History>(
            r#"{"posts":[{"publish_id":"p","mode":"inbox","file_name":null,"video_size":5,"caption":"c",
                "status":"PROCESSING_UPLOAD","created_at":"t0","updated_at":"t1"}],"next_before":12}"#,
            true,
        );
        check::<JobInfo>(
            r#"{"job_id":"j","status_url":"/api/jobs/j","stage":"waiting","mode":"direct","file_name":"f.mp4",
                "video_size":10,"sha256":"ab","uploaded_bytes":0,"created_at":"t0","updated_at":"t1"}"#,
            true,
        );
        check::<JobInfo>(
            r#"{"job_id":"j","status_url":"/api/jobs/j","stage":"gone","mode":"direct","file_name":"f.mp4",
                "video_size":10,"sha256":"ab","uploaded_bytes":0,"created_at":"t0","updated_at":"t1"}"#,
            false,
        );
    }

    #[wasm_bindgen_test]
    fn reads_numbers_only_where_they_are_exact() {
        check::<u64>("9007199254740991", true);
        check::<u64>("9007199254740993", false);
        check::<u64>("-1", false);
        check::<u64>("1.5", false);
        check::<u64>("\"5\"", false);
        check::<u8>("256", false);
        check::<i32>("-7", true);
        check::<f64>("1.5", true);
        check::<f64>("3", true);
        check::<Option<u32>>("null", true);
        check::<Option<u32>>("4", true);
        check::<bool>("0", false);
        check::<String>("7", false);
    }

    #[wasm_bindgen_test]
    fn reads_enums_lists_maps_and_untyped_values() {
        check::<Shape>(r#""Point""#, true);
        check::<Shape>(r#"{"Circle":3}"#, true);
        check::<Shape>(r#"{"Rect":{"width":3,"height":4}}"#, true);
        check::<Shape>(r#"{"Pair":[1,"one"]}"#, true);
        check::<Shape>(r#""Square""#, false);
        check::<Shape>(r#"{"Circle":3,"Point":null}"#, false);
        check::<Shape>("[]", false);
        check::<Tagged>(r#"{"kind":"sized","size":5}"#, true);
        check::<Tagged>(r#"{"kind":"empty"}"#, true);
        check::<Tagged>(r#"{"size":5}"#, false);
        check::<Either>("-12", true);
        check::<Either>(r#""twelve""#, true);
        check::<Either>("1.5", false);
        check::<Wrapped>("[true,null,false]", true);
        check::<Wrapped>("{}", false);
        check::<BTreeMap<String, u32>>(r#"{"a":1,"b":2}"#, true);
        check::<BTreeMap<String, u32>>(r#"{"a":"1"}"#, false);
        check::<(u8, String)>(r#"[1,"x"]"#, true);
        check::<(u8, String)>(r#"[1,"x",2]"#, true);
        check::<(u8, String)>(r#"[1]"#, false);
        check::<Vec<u8>>(r#"[1,"x"]"#, false);
    }

    #[wasm_bindgen_test]
    fn says_what_kind_of_value_it_met_but_never_quotes_it() {
        let error = from_str::<u64>("1.25").unwrap_err().to_string();
        assert_eq!(error, "invalid type: a number, expected u64");
        let error = from_str::<Shape>(r#""Square""#).unwrap_err().to_string();
        assert!(error.starts_with("unknown variant `Square`"), "{error}");
        let error = from_str::<u64>(r#""secret""#).unwrap_err().to_string();
        assert_eq!(error, "invalid type: a string, expected u64");
        // Met by serde's own buffering of a tagged enum, not by this reader.
        let error = from_str::<Tagged>(r#"{"kind":"sized","size":"secret"}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(error, "invalid type: a string, expected u64");
    }
}
