//! A fast, borrowing reader for flat JSON objects: picks the fields it is asked for, keeps
//! their JSON type so validation can say "missing" vs "wrong type", and skips the rest.
//!
//! Duplicate keys: the last occurrence wins (as in most JSON readers). Anything that is not a
//! single JSON object (arrays, scalars, trailing bytes, invalid UTF-8) is an error.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

/// One field's value, reduced to what validation needs.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue<'a> {
    /// JSON `null`.
    Null,
    /// A string (borrowed when it had no escapes).
    Str(Cow<'a, str>),
    /// `true` / `false`.
    Bool(bool),
    /// A number, array or object: its type name, for error messages.
    Other(&'static str),
}

impl<'a> FieldValue<'a> {
    /// The JSON type name, for error details.
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldValue::Null => "null",
            FieldValue::Str(_) => "string",
            FieldValue::Bool(_) => "boolean",
            FieldValue::Other(t) => t,
        }
    }
}

struct FieldVisitor;

impl<'de> Visitor<'de> for FieldVisitor {
    type Value = FieldValue<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(FieldValue::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(FieldValue::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(FieldValue::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(FieldValue::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(FieldValue::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(FieldValue::Bool(v))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(FieldValue::Other("number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(FieldValue::Other("number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(FieldValue::Other("number"))
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FieldValue::Other("array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(FieldValue::Other("object"))
    }
}

impl<'de> de::Deserialize<'de> for FieldValue<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FieldVisitor)
    }
}

/// Which of the wanted names a key is (or none).
struct KeySeed<'k> {
    names: &'k [&'static str],
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed<'_> {
    type Value = Option<usize>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.names.iter().position(|n| *n == v))
    }
}

struct ObjectSeed<'k, const N: usize> {
    names: &'k [&'static str; N],
}

impl<'de, const N: usize> Visitor<'de> for ObjectSeed<'_, N> {
    type Value = [Option<FieldValue<'de>>; N];
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out: [Option<FieldValue<'de>>; N] = std::array::from_fn(|_| None);
        while let Some(key) = map.next_key_seed(KeySeed { names: self.names })? {
            match key {
                Some(i) => out[i] = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
}

/// The reason a payload could not be read as one JSON object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct NotAnObject(pub String);

/// Reads `bytes` as one JSON object and returns the values of `names`, in order
/// (`None` for an absent key).
pub fn read_object<'a, const N: usize>(
    bytes: &'a [u8],
    names: &[&'static str; N],
) -> Result<[Option<FieldValue<'a>>; N], NotAnObject> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let fields = de
        .deserialize_map(ObjectSeed { names })
        .map_err(|e| NotAnObject(describe(&e)))?;
    de.end().map_err(|e| NotAnObject(describe(&e)))?;
    // serde_json checks UTF-8 only in the strings it decodes, not in the values it skips
    // (`IgnoredAny`): a payload must be UTF-8 text as a whole (RFC 8259 §8.1).
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(NotAnObject(format!(
            "invalid JSON: invalid UTF-8 at byte {}",
            e.valid_up_to()
        )));
    }
    Ok(fields)
}

fn describe(e: &serde_json::Error) -> String {
    if e.is_data() {
        // Valid JSON of the wrong shape, e.g. `[1,2]` or `"x"`.
        "not a JSON object".to_owned()
    } else {
        format!("invalid JSON: {e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_named_fields_and_keeps_types() {
        let f = read_object(
            br#"{"a":"x","b":null,"c":1,"d":true,"z":[1,{"q":2}]}"#,
            &["a", "b", "c", "d", "e"],
        )
        .unwrap();
        assert_eq!(f[0], Some(FieldValue::Str(Cow::Borrowed("x"))));
        assert_eq!(f[1], Some(FieldValue::Null));
        assert_eq!(f[2], Some(FieldValue::Other("number")));
        assert_eq!(f[3], Some(FieldValue::Bool(true)));
        assert_eq!(f[4], None);
    }

    #[test]
    fn unescapes_strings_and_last_duplicate_wins() {
        let f = read_object(br#"{"a":"x\"y","a":"z\u00e9"}"#, &["a"]).unwrap();
        assert_eq!(f[0], Some(FieldValue::Str(Cow::Owned("zé".to_owned()))));
    }

    #[test]
    fn rejects_everything_but_one_object() {
        for bad in [
            &b"[1,2]"[..],
            b"null",
            b"\"x\"",
            b"{\"a\":1",
            b"{} {}",
            b"{\"a\":\"\xff\"}",
            b"{\"z\":\"\xff\"}",
            b"{\"z\":[\"ok\",{\"q\":\"\xc3\"}]}",
            b"",
        ] {
            assert!(
                read_object(bad, &["a"]).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        assert_eq!(
            read_object(b"[1]", &["a"]).unwrap_err().0,
            "not a JSON object"
        );
    }
}
