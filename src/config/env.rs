//! Environment overrides: `ATTENDANCE__<SECTION>__<KEY>=value`, the top layer of processor
//! settings.
//!
//! Rules:
//! - the prefix `ATTENDANCE__` and the section and key are case-insensitive;
//!   `ATTENDANCE__TIME__ALLOWED_LATENESS=48h` sets `[time] allowed_lateness`;
//! - `ATTENDANCE__KAFKA__CLIENT__<NAME>` sets the librdkafka property `<NAME>` lower-cased
//!   with `_` turned into `.` (`SECURITY_PROTOCOL` → `security.protocol`); a property
//!   whose name contains `_` can only be set in `processor.toml`;
//! - each value goes through the same serde shape and validation as `processor.toml`
//!   (numbers, `true`/`false`, durations such as `48h`), so a bad value is a problem naming
//!   the variable, with file `environment`;
//! - an `ATTENDANCE__` variable that names no setting is an error, and so are two variables
//!   that differ only in case;
//! - variables are applied in name order, each on its own, so one bad variable does not
//!   hide another.
//!
//! Only processor settings can be overridden; sites, holidays and policies come from files.

use std::collections::BTreeMap;

use serde::de::{self, value::MapDeserializer, Deserializer, IntoDeserializer, Visitor};
use serde::Deserialize;

use super::layer::{self, Provenance, Source};
use super::raw::RawProcessor;
use super::{Findings, ProcessorConfig};

/// Prefix of the environment variables that override processor settings (any case).
pub const ENV_PREFIX: &str = "ATTENDANCE__";

/// The `file` of problems found in environment variables.
pub(crate) const ENV_FILE: &str = "environment";

/// Whether `name` starts with [`ENV_PREFIX`], in any case.
pub(crate) fn has_prefix(name: &str) -> bool {
    name.get(..ENV_PREFIX.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(ENV_PREFIX))
}

/// Applies every `ATTENDANCE__` variable of `env` to `config`; other variables are ignored.
pub(crate) fn apply(
    config: &mut ProcessorConfig,
    env: impl IntoIterator<Item = (String, String)>,
    provenance: &mut Provenance,
    findings: &mut Findings,
) {
    let mut variables: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| has_prefix(name))
        .collect();
    variables.sort();
    let mut seen: BTreeMap<Vec<String>, String> = BTreeMap::new();
    for (name, value) in variables {
        let path = match setting_path(&name) {
            Ok(path) => path,
            Err(message) => {
                findings.error(ENV_FILE, &name, message);
                continue;
            }
        };
        if let Some(first) = seen.get(&path) {
            findings.error(ENV_FILE, &name, format!("sets the same setting as {first}"));
            continue;
        }
        seen.insert(path.clone(), name.clone());
        match RawProcessor::deserialize(EnvNode::new(&path, &value)) {
            Ok(raw) => {
                let source = Source::variable(ENV_FILE, &name);
                layer::apply(config, raw, &source, provenance, findings);
            }
            Err(error) => {
                let message = error.to_string().replace("unknown field", "unknown key");
                findings.error(ENV_FILE, &name, message);
            }
        }
    }
}

/// The setting path of a variable: `["time", "allowed_lateness"]` or
/// `["kafka", "client", "security.protocol"]`.
fn setting_path(name: &str) -> Result<Vec<String>, String> {
    const EXPECTED: &str =
        "expected ATTENDANCE__<SECTION>__<KEY>, e.g. ATTENDANCE__TIME__ALLOWED_LATENESS";
    let rest = name.get(ENV_PREFIX.len()..).unwrap_or_default();
    let segments: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
    if segments.iter().any(String::is_empty) {
        return Err(EXPECTED.to_owned());
    }
    match segments.as_slice() {
        [kafka, client] if kafka == "kafka" && client == "client" => Err(
            "name the property: ATTENDANCE__KAFKA__CLIENT__<NAME>, e.g. \
             ATTENDANCE__KAFKA__CLIENT__SECURITY_PROTOCOL"
                .to_owned(),
        ),
        [_, _] => Ok(segments),
        [kafka, client, property] if kafka == "kafka" && client == "client" => Ok(vec![
            kafka.clone(),
            client.clone(),
            property.replace('_', "."),
        ]),
        _ => Err(EXPECTED.to_owned()),
    }
}

/// A variable seen as a chain of one-key tables ending in its text value, which serde
/// reads into [`RawProcessor`]. Text becomes a number or boolean when the shape asks for one.
enum EnvNode<'a> {
    /// The variable's value.
    Leaf(&'a str),
    /// A table with one key.
    Table(&'a str, Box<EnvNode<'a>>),
}

impl<'a> EnvNode<'a> {
    fn new(path: &'a [String], value: &'a str) -> Self {
        path.iter().rev().fold(Self::Leaf(value), |child, key| {
            Self::Table(key, Box::new(child))
        })
    }
}

type EnvError = de::value::Error;

impl<'de> IntoDeserializer<'de, EnvError> for EnvNode<'_> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

/// Implements the integer methods by parsing the leaf's text.
macro_rules! parse_integer {
    ($($method:ident => $visit:ident: $type:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, EnvError> {
            match self {
                Self::Leaf(text) => match text.parse::<$type>() {
                    Ok(number) => visitor.$visit(number),
                    Err(_) => Err(de::Error::custom(format!("expected a whole number, got {text:?}"))),
                },
                table => table.deserialize_any(visitor),
            }
        }
    )*};
}

impl<'de> Deserializer<'de> for EnvNode<'_> {
    type Error = EnvError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, EnvError> {
        match self {
            Self::Leaf(text) => visitor.visit_str(text),
            Self::Table(key, child) => {
                let mut map = MapDeserializer::new(std::iter::once((key, *child)));
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, EnvError> {
        visitor.visit_some(self)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, EnvError> {
        match self {
            Self::Leaf(text) if text.eq_ignore_ascii_case("true") => visitor.visit_bool(true),
            Self::Leaf(text) if text.eq_ignore_ascii_case("false") => visitor.visit_bool(false),
            Self::Leaf(text) => Err(de::Error::custom(format!(
                "expected true or false, got {text:?}"
            ))),
            table => table.deserialize_any(visitor),
        }
    }

    parse_integer! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
    }

    serde::forward_to_deserialize_any! {
        i128 u128 f32 f64 char str string bytes byte_buf unit unit_struct newtype_struct seq
        tuple tuple_struct map struct enum identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str) -> Vec<String> {
        setting_path(name).unwrap_or_else(|e| panic!("{name} should name a setting: {e}"))
    }

    #[test]
    fn section_and_key_are_case_insensitive() {
        assert_eq!(
            path("ATTENDANCE__TIME__ALLOWED_LATENESS"),
            ["time", "allowed_lateness"]
        );
        assert_eq!(
            path("attendance__Time__Correction_Weeks"),
            ["time", "correction_weeks"]
        );
        assert!(has_prefix("attendance__time__x"));
        assert!(!has_prefix("ATTENDANCE_TIME"));
    }

    #[test]
    fn kafka_client_names_map_underscores_to_dots() {
        assert_eq!(
            path("ATTENDANCE__KAFKA__CLIENT__SECURITY_PROTOCOL"),
            ["kafka", "client", "security.protocol"]
        );
    }

    #[test]
    fn malformed_names_are_rejected() {
        for name in [
            "ATTENDANCE__",
            "ATTENDANCE__TIME",
            "ATTENDANCE__TIME__",
            "ATTENDANCE____X",
            "ATTENDANCE__TIME__X__Y",
            "ATTENDANCE__KAFKA__CLIENT",
        ] {
            assert!(setting_path(name).is_err(), "{name} should be rejected");
        }
    }
}
