//! The input schemas of the v2 topics (`schemas/site-outage.schema.json`,
//! `schemas/attendance-adjustment.schema.json`): SPEC §1.5's and §1.6's examples validate,
//! and on messages whose fate a schema can express, schema and decoder agree.

use std::time::Duration;

use attendance_compliance::wire::input::Validator;
use serde_json::{json, Value};

use crate::helpers::root;

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schemas").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name} compiles: {e}"))
}

/// The first ```json block of SPEC.md's section `heading`.
fn spec_example(heading: &str) -> Value {
    let spec =
        std::fs::read_to_string(root().join("docs/SPEC.md")).unwrap_or_else(|e| panic!("{e}"));
    let section = spec
        .split_once(heading)
        .unwrap_or_else(|| panic!("SPEC.md has no {heading}"))
        .1;
    let block = section
        .split_once("```json\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .unwrap_or_else(|| panic!("{heading} has no json example"))
        .0;
    serde_json::from_str(block).unwrap_or_else(|e| panic!("{heading}'s example: {e}"))
}

fn validator() -> Validator {
    Validator::new(["SEA-1"], Duration::from_secs(86_400))
}

/// `base` with each `(field, value)` set (`Value::Null` kept as null) or, for `None`, removed.
fn with(base: &Value, changes: &[(&str, Option<Value>)]) -> Value {
    let mut value = base.clone();
    for (field, change) in changes {
        let map = value.as_object_mut().unwrap_or_else(|| panic!("an object"));
        match change {
            Some(v) => map.insert((*field).to_owned(), v.clone()),
            None => map.remove(*field),
        };
    }
    value
}

/// Asserts that the schema and the decoder both accept (`valid`) or both reject `message`.
fn agree(
    schema: &jsonschema::Validator,
    decode: impl Fn(&[u8]) -> bool,
    message: &Value,
    valid: bool,
) {
    assert_eq!(schema.is_valid(message), valid, "schema on {message}");
    let bytes = serde_json::to_vec(message).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(decode(&bytes), valid, "decoder on {message}");
}

#[test]
fn the_outage_example_validates_and_schema_and_decoder_agree() {
    let schema = schema("site-outage.schema.json");
    let example = spec_example("### §1.5");
    let decode = |b: &[u8]| validator().decode_outage(b).is_ok();
    agree(&schema, decode, &example, true);
    let long = |n: usize| Some(json!("é".repeat(n)));
    let cases = [
        (vec![("reason", None)], true),
        (vec![("reason", Some(Value::Null))], true),
        (vec![("status", Some(json!("cancelled")))], true),
        (vec![("extra", Some(json!({"a": [1]})))], true),
        (vec![("outage_id", Some(json!("o".repeat(128))))], true),
        (vec![("outage_id", Some(json!("o".repeat(129))))], false),
        (vec![("outage_id", Some(json!("")))], false),
        (vec![("outage_id", Some(Value::Null))], false),
        (vec![("site_id", None)], false),
        (vec![("start_date", Some(json!("2026-5-6")))], false),
        (vec![("end_date", Some(json!(20260506)))], false),
        (vec![("status", Some(json!("approved")))], false),
        (vec![("status", None)], false),
        (vec![("reason", Some(json!("x".repeat(500))))], true),
        (vec![("reason", Some(json!("x".repeat(501))))], false),
        (vec![("reason", Some(json!(1)))], false),
        (vec![("reason", long(250))], true),
    ];
    for (changes, valid) in cases {
        agree(&schema, decode, &with(&example, &changes), valid);
    }
}

#[test]
fn the_adjustment_example_validates_and_schema_and_decoder_agree() {
    let schema = schema("attendance-adjustment.schema.json");
    let example = spec_example("### §1.6");
    let decode = |b: &[u8]| validator().decode_adjustment(b).is_ok();
    agree(&schema, decode, &example, true);
    let cases = [
        (vec![("requested_by", None)], true),
        (vec![("requested_by", Some(Value::Null))], true),
        (vec![("requested_by", Some(json!("")))], false),
        (vec![("requested_by", Some(json!("e 42")))], false),
        (vec![("action", Some(json!("excuse_day")))], true),
        (vec![("action", Some(json!("undo")))], false),
        (vec![("status", Some(json!("cancelled")))], true),
        (vec![("status", Some(json!("active")))], false),
        (vec![("extra", Some(json!(true)))], true),
        (vec![("adjustment_id", Some(json!("a".repeat(129))))], false),
        (vec![("employee_id", Some(json!("e".repeat(65))))], false),
        (vec![("date", Some(json!("07.05.2026")))], false),
        (vec![("reason", Some(json!("")))], false),
        (vec![("reason", Some(json!("r".repeat(500))))], true),
        (vec![("reason", Some(json!("r".repeat(501))))], false),
        (vec![("reason", None)], false),
        (vec![("approved_by", Some(Value::Null))], false),
        (vec![("approved_by", Some(json!("m:7@hr")))], true),
    ];
    for (changes, valid) in cases {
        agree(&schema, decode, &with(&example, &changes), valid);
    }
}
