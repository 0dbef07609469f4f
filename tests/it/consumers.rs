//! The consumer contract (docs/CONSUMERS.md, schemas/): every property a JSON Schema defines
//! has a `description`; every example record of CONSUMERS.md validates against its topic's
//! schema; the `ce_dataschema` values it lists are the ones the producer writes.

use serde_json::Value;

use attendance_compliance::kafka::records::{
    CE_DATASCHEMA_ALERT, CE_DATASCHEMA_CHANGE, CE_DATASCHEMA_DEAD_LETTER, CE_DATASCHEMA_DECISION,
};

use crate::helpers::root;

fn schema_files() -> Vec<(String, Value)> {
    let dir = root().join("schemas");
    let mut files: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("schemas/: {e}"))
        .map(|entry| entry.unwrap_or_else(|e| panic!("schemas/: {e}")).path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
            let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
            (name, value)
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// Property definitions without a `description`, as JSON pointers. A subschema that only
/// re-constrains properties its parent defines (an `if`/`then`/`else`, or a
/// `oneOf`/`allOf`/`anyOf` branch naming the parent's properties) defines nothing.
fn undescribed(node: &Value, pointer: &str, parent_defines: &[String], out: &mut Vec<String>) {
    match node {
        Value::Object(map) => {
            let defines: Vec<String> = map
                .get("properties")
                .and_then(Value::as_object)
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            if let Some(properties) = map.get("properties").and_then(Value::as_object) {
                for (name, property) in properties {
                    let constraint_only = parent_defines.contains(name);
                    if !constraint_only && property.get("description").is_none() {
                        out.push(format!("{pointer}/properties/{name}"));
                    }
                }
            }
            for (key, child) in map {
                let child_pointer = format!("{pointer}/{key}");
                let applicator = matches!(
                    key.as_str(),
                    "if" | "then" | "else" | "oneOf" | "allOf" | "anyOf"
                );
                let inherited: Vec<String> = if applicator {
                    defines.iter().chain(parent_defines).cloned().collect()
                } else {
                    Vec::new()
                };
                undescribed(child, &child_pointer, &inherited, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                undescribed(item, &format!("{pointer}/{i}"), parent_defines, out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_property_of_every_schema_has_a_description() {
    let mut missing = Vec::new();
    let files = schema_files();
    assert!(files.len() >= 10, "schemas: {}", files.len());
    for (name, schema) in &files {
        if let Err(e) = jsonschema::meta::validate(schema) {
            panic!("{name} is not a valid JSON Schema: {e}");
        }
        let mut out = Vec::new();
        undescribed(schema, "", &[], &mut out);
        missing.extend(out.into_iter().map(|p| format!("{name}#{p}")));
    }
    assert!(
        missing.is_empty(),
        "properties without a description:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_description_rule_sees_a_missing_description() {
    let schema = serde_json::json!({
        "properties": {
            "a": { "type": "string", "description": "described" },
            "b": { "type": "string" },
            "c": { "oneOf": [{ "type": "object", "properties": { "d": { "type": "integer" } } }],
                   "description": "described" }
        },
        "allOf": [{ "if": { "properties": { "a": { "const": "x" } } },
                    "then": { "properties": { "b": { "type": "null" } } } }]
    });
    let mut out = Vec::new();
    undescribed(&schema, "", &[], &mut out);
    assert_eq!(out, ["/properties/b", "/properties/c/oneOf/0/properties/d"]);
}

/// The schema file a record of CONSUMERS.md belongs to, by its id field.
fn schema_of(record: &Value) -> &'static str {
    if record.get("decision_id").is_some() && record.get("week_start").is_some() {
        "decision.schema.json"
    } else if record.get("change_id").is_some() {
        "compliance-change.schema.json"
    } else if record.get("alert_id").is_some() {
        "manager-alert.schema.json"
    } else if record.get("reason").is_some() && record.get("source").is_some() {
        "dead-letter.schema.json"
    } else {
        panic!("a json example of CONSUMERS.md that is no output record: {record}")
    }
}

#[test]
fn the_records_in_consumers_md_validate_against_their_schemas() {
    let doc = std::fs::read_to_string(root().join("docs/CONSUMERS.md"))
        .unwrap_or_else(|e| panic!("docs/CONSUMERS.md: {e}"));
    let schemas = schema_files();
    let mut seen = std::collections::BTreeSet::new();
    for block in doc.split("```json\n").skip(1) {
        let body = block.split("```").next().unwrap_or_default();
        for line in body.lines().filter(|l| !l.trim().is_empty()) {
            let record: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("CONSUMERS.md example is not JSON ({e}): {line}"));
            let name = schema_of(&record);
            let schema = &schemas
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("schemas/{name}"))
                .1;
            let validator = jsonschema::validator_for(schema).expect("schema compiles");
            let errors: Vec<String> = validator
                .iter_errors(&record)
                .map(|e| e.to_string())
                .collect();
            assert!(errors.is_empty(), "{name}: {errors:?}\n{line}");
            seen.insert(name);
        }
    }
    assert_eq!(seen.len(), 4, "one record of each output topic: {seen:?}");
}

#[test]
fn consumers_md_lists_the_dataschema_of_every_output() {
    let doc = std::fs::read_to_string(root().join("docs/CONSUMERS.md"))
        .unwrap_or_else(|e| panic!("docs/CONSUMERS.md: {e}"));
    for uri in [
        CE_DATASCHEMA_DECISION,
        CE_DATASCHEMA_CHANGE,
        CE_DATASCHEMA_ALERT,
        CE_DATASCHEMA_DEAD_LETTER,
    ] {
        assert!(
            doc.contains(&format!("`{uri}`")),
            "CONSUMERS.md lacks {uri}"
        );
    }
}
