//! Every example in docs/GUIDE.md is checked: each ```toml block loads as the file it is
//! (policies, sites, holidays or processor settings) next to the repository's other config
//! files, with no warning; each ```json line parses; input messages are accepted by the
//! wire decoders (or, after an `<!-- invalid: reason -->` comment, rejected with that
//! reason); output lines validate against the schemas in schemas/, the record API's answer
//! against schemas/record.schema.json. And the examples cover every status, reason and alert
//! kind.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use attendance_compliance::config::Config;
use attendance_compliance::domain::output::Source;
use attendance_compliance::domain::time::parse_timestamp;
use attendance_compliance::engine::Output;
use attendance_compliance::processor::{Outcome, Processor};
use attendance_compliance::wire::input::Validator;
use serde_json::Value;

use crate::helpers::root;

/// One fenced block of the guide.
struct Block {
    /// The info string after the opening fence, e.g. `toml`.
    lang: String,
    /// The 1-based line of the opening fence.
    line: usize,
    text: String,
    /// The reason after `<!-- invalid:` when that comment is the line before the fence.
    invalid: Option<String>,
}

fn blocks(guide: &str) -> Vec<Block> {
    let mut found = Vec::new();
    let mut open: Option<Block> = None;
    let mut previous = "";
    for (n, line) in guide.lines().enumerate() {
        match open.take() {
            Some(block) if line.trim_start().starts_with("```") => found.push(block),
            Some(mut block) => {
                block.text.push_str(line);
                block.text.push('\n');
                open = Some(block);
            }
            None => {
                if let Some(lang) = line.trim_start().strip_prefix("```") {
                    let invalid = previous
                        .trim()
                        .strip_prefix("<!-- invalid:")
                        .and_then(|rest| rest.strip_suffix("-->"))
                        .map(|reason| reason.trim().to_owned());
                    open = Some(Block {
                        lang: lang.trim().to_owned(),
                        line: n + 1,
                        text: String::new(),
                        invalid,
                    });
                }
            }
        }
        previous = line;
    }
    assert!(open.is_none(), "docs/GUIDE.md has an unclosed fence");
    found
}

fn guide_blocks() -> Vec<Block> {
    let path = root().join("docs/GUIDE.md");
    let guide = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("docs/GUIDE.md: {e}"));
    blocks(&guide)
}

/// The config file a TOML example is, by the tables it declares.
fn config_file_of(block: &Block) -> &'static str {
    let tables: BTreeSet<&str> = block
        .text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('['))
        .map(|l| match l {
            "[[policy]]" => "policies.toml",
            "[[site]]" => "sites.toml",
            "[holidays]" => "holidays.toml",
            _ => "processor.toml",
        })
        .collect();
    assert_eq!(
        tables.len(),
        1,
        "GUIDE.md:{}: a TOML example is exactly one config file, found {tables:?}",
        block.line
    );
    tables.into_iter().next().unwrap_or_default()
}

fn copy_repo_config(into: &Path) {
    let dir = root().join("config");
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("config/: {e}")) {
        let path = entry.unwrap_or_else(|e| panic!("config/: {e}")).path();
        if let Some(name) = path.file_name() {
            std::fs::copy(&path, into.join(name)).unwrap_or_else(|e| panic!("copy: {e}"));
        }
    }
}

#[test]
fn every_toml_example_loads_as_the_config_file_it_is() {
    let mut checked = BTreeSet::new();
    for block in guide_blocks().iter().filter(|b| b.lang == "toml") {
        let file = config_file_of(block);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        copy_repo_config(dir.path());
        std::fs::write(dir.path().join(file), &block.text).unwrap_or_else(|e| panic!("{e}"));
        // As in production, the pseudonym key comes from the environment (its absence is
        // the one warning the repository's config/ gives on purpose).
        let env = [(
            "ATTENDANCE__PRIVACY__PSEUDONYM_KEY".to_owned(),
            "guide-test-secret-".repeat(4),
        )];
        match Config::load_with_env(dir.path(), env) {
            Ok(loaded) => assert!(
                loaded.warnings.is_empty(),
                "GUIDE.md:{} ({file}) loads with warnings: {:?}",
                block.line,
                loaded.warnings
            ),
            Err(errors) => panic!("GUIDE.md:{} ({file}) does not load:\n{errors}", block.line),
        }
        checked.insert(file);
    }
    assert_eq!(
        checked.into_iter().collect::<Vec<_>>(),
        [
            "holidays.toml",
            "policies.toml",
            "processor.toml",
            "sites.toml"
        ],
        "the guide shows every config file"
    );
}

/// Each JSON value of a block: the whole block, or else each non-blank line.
fn json_values(block: &Block) -> Vec<Value> {
    if let Ok(value) = serde_json::from_str(&block.text) {
        return vec![value];
    }
    block
        .text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("GUIDE.md:{}: not JSON ({e}): {l}", block.line))
        })
        .collect()
}

fn schema(name: &str) -> jsonschema::Validator {
    let text = std::fs::read_to_string(root().join("schemas").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name} compiles: {e}"))
}

/// The record API's answer (SPEC §10), which refers to the decision schema by its `$id`.
fn record_schema() -> jsonschema::Validator {
    let read = |name: &str| -> Value {
        let text = std::fs::read_to_string(root().join("schemas").join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let decision = read("decision.schema.json");
    let id = decision["$id"].as_str().unwrap_or_default().to_owned();
    let resource = jsonschema::Resource::from_contents(decision)
        .unwrap_or_else(|e| panic!("decision schema: {e}"));
    jsonschema::options()
        .with_resource(id, resource)
        .build(&read("record.schema.json"))
        .unwrap_or_else(|e| panic!("record.schema.json compiles: {e}"))
}

/// What a JSON example is, by its identifying field.
fn kind_of(value: &Value) -> &'static str {
    let has = |field: &str| value.get(field).is_some();
    [
        ("current_week", "record"),
        ("change_id", "change"),
        ("alert_id", "alert"),
        ("decision_id", "decision"),
        ("source", "dead letter"),
        ("event_id", "badge"),
        ("absence_id", "absence"),
        ("outage_id", "outage"),
        ("adjustment_id", "adjustment"),
        ("policy_group", "roster"),
    ]
    .into_iter()
    .find(|(field, _)| has(field))
    .map_or("unknown", |(_, kind)| kind)
}

fn validator() -> Validator {
    let config = Config::load_with_env(&root().join("config"), Vec::<(String, String)>::new())
        .unwrap_or_else(|e| panic!("config/ loads: {e}"))
        .config;
    let sites: Vec<&str> = config.sites.iter().map(|s| s.id.as_str()).collect();
    Validator::new(sites, Duration::from_secs(86_400))
}

/// Decodes an input example; `Err` holds the dead-letter reason.
fn decode(validator: &Validator, kind: &str, value: &Value) -> Result<(), String> {
    let bytes = serde_json::to_vec(value).unwrap_or_else(|e| panic!("{e}"));
    let now = parse_timestamp("2030-01-01T00:00:00Z").unwrap_or_else(|e| panic!("{e}"));
    let result = match kind {
        "badge" => validator.decode_badge(&bytes, now).map(drop),
        "absence" => validator.decode_absence(&bytes).map(drop),
        "outage" => validator.decode_outage(&bytes).map(drop),
        "adjustment" => validator.decode_adjustment(&bytes).map(drop),
        "roster" => validator.decode_roster(&bytes).map(drop),
        _ => panic!("not an input kind: {kind}"),
    };
    result.map_err(|rejection| rejection.reason.as_str().to_owned())
}

/// Every JSON example with its kind, after checking it: outputs against their schema,
/// inputs through the decoder (and the input schema, where one ships).
fn checked_json_examples() -> Vec<(&'static str, Value)> {
    let schemas = [
        ("decision", schema("decision.schema.json")),
        ("change", schema("compliance-change.schema.json")),
        ("alert", schema("manager-alert.schema.json")),
        ("dead letter", schema("dead-letter.schema.json")),
        ("outage", schema("site-outage.schema.json")),
        ("adjustment", schema("attendance-adjustment.schema.json")),
        ("record", record_schema()),
    ];
    let validator = validator();
    let mut examples = Vec::new();
    for block in guide_blocks().iter().filter(|b| b.lang == "json") {
        for value in json_values(block) {
            let kind = kind_of(&value);
            let at = format!("GUIDE.md:{} ({kind})", block.line);
            assert_ne!(kind, "unknown", "{at}: not an input or output: {value}");
            let schema = schemas.iter().find(|(k, _)| *k == kind).map(|(_, s)| s);
            let output = ["decision", "change", "alert", "dead letter", "record"].contains(&kind);
            if output {
                assert!(block.invalid.is_none(), "{at}: outputs are never invalid");
            } else {
                let decoded = decode(&validator, kind, &value);
                match &block.invalid {
                    None => assert_eq!(decoded, Ok(()), "{at}: rejected: {value}"),
                    Some(reason) => assert_eq!(decoded.as_ref(), Err(reason), "{at}: {value}"),
                }
            }
            if let Some(schema) = schema {
                let errors: Vec<String> =
                    schema.iter_errors(&value).map(|e| e.to_string()).collect();
                if block.invalid.is_none() {
                    assert!(errors.is_empty(), "{at}: violates its schema: {errors:?}");
                }
            }
            examples.push((kind, value));
        }
    }
    examples
}

#[test]
fn every_json_example_is_a_valid_input_or_output() {
    let examples = checked_json_examples();
    let kinds: BTreeSet<&str> = examples.iter().map(|(kind, _)| *kind).collect();
    let all = [
        "absence",
        "adjustment",
        "alert",
        "badge",
        "change",
        "dead letter",
        "decision",
        "outage",
        "record",
        "roster",
    ];
    assert_eq!(
        kinds,
        all.into_iter().collect(),
        "the guide shows every kind"
    );
}

/// The values of `field` among the examples of `kind`.
fn values_of(examples: &[(&str, Value)], kind: &str, field: &str) -> BTreeSet<String> {
    examples
        .iter()
        .filter(|(k, _)| *k == kind)
        .filter_map(|(_, v)| v.get(field).and_then(Value::as_str).map(str::to_owned))
        .collect()
}

#[test]
fn the_examples_show_every_status_reason_and_alert_kind() {
    let examples = checked_json_examples();
    let set = |items: &[&str]| {
        items
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        values_of(&examples, "decision", "status"),
        set(&["compliant", "exempt", "non_compliant"])
    );
    assert_eq!(
        values_of(&examples, "decision", "reason"),
        set(&[
            "below_required",
            "fully_excused",
            "met_requirement",
            "new_hire_grace",
            "remote_approved",
            "too_many_missed_weeks",
        ])
    );
    assert_eq!(
        values_of(&examples, "alert", "kind"),
        set(&["at_risk", "non_compliant", "resolved", "retracted"])
    );
    let corrected = examples
        .iter()
        .any(|(k, v)| *k == "decision" && v.get("correction") == Some(&Value::Bool(true)));
    assert!(corrected, "the guide shows a corrected decision");
}

#[test]
fn an_invalid_marker_applies_to_the_next_fence_only() {
    let text = "<!-- invalid: invalid_field -->\n```json\n{}\n```\n\n```json\n{}\n```\n";
    let found = blocks(text);
    assert_eq!(found.len(), 2);
    assert_eq!(found[0].invalid.as_deref(), Some("invalid_field"));
    assert_eq!((found[0].line, found[0].text.as_str()), (2, "{}\n"));
    assert_eq!(found[1].invalid, None);
}

/// The JSON lines of the guide's blocks whose first value has `field` equal to `value`.
fn lines_where(field: &str, value: &str) -> Vec<String> {
    guide_blocks()
        .iter()
        .filter(|b| b.lang == "json" && b.invalid.is_none())
        .flat_map(|b| b.text.lines().map(str::to_owned).collect::<Vec<_>>())
        // An indented line is inside a multi-line value (the record example), not a message.
        .filter(|line| !line.starts_with(' '))
        .filter(|line| {
            serde_json::from_str::<Value>(line)
                .is_ok_and(|v| v.get(field).and_then(Value::as_str) == Some(value))
        })
        .collect()
}

/// The inputs of "Everything together": the guide's roster record of e-42, the badges of
/// e-42, outage o-7 as first sent, adjustment adj-12, with the 2-hour policy and the
/// default `unverified_presence` written to `config` (the repository's other files beside
/// it); per input file, its lines, and the `now` they are replayed up to.
fn everything_together(config: &Path) -> (Vec<(&'static str, Vec<String>)>, &'static str) {
    copy_repo_config(config);
    let policy = guide_blocks()
        .into_iter()
        .find(|b| b.lang == "toml" && b.text.contains("id = \"rto-3-2h\""))
        .unwrap_or_else(|| panic!("the guide shows the rto-3-2h policy"))
        .text
        .replace("unverified_presence = \"ignore\"\n", "");
    std::fs::write(config.join("policies.toml"), policy).unwrap_or_else(|e| panic!("{e}"));
    let mut badges = lines_where("employee_id", "e-42");
    badges.retain(|line| line.contains("\"event_id\""));
    badges.sort();
    badges.dedup();
    let first = |field: &str, value: &str| {
        lines_where(field, value)
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("the guide shows {field} {value}"))
    };
    let files = vec![
        ("roster.jsonl", vec![first("policy_group", "corporate")]),
        ("outages.jsonl", vec![first("outage_id", "o-7")]),
        ("adjustments.jsonl", vec![first("adjustment_id", "adj-12")]),
        ("badges.jsonl", badges),
    ];
    (files, "2026-05-13T08:00:00Z")
}

/// "Everything together": replaying the guide's own e-42 inputs gives exactly the decision
/// line the guide shows.
#[test]
fn the_everything_together_decision_is_what_replay_makes_of_the_guides_inputs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let config = dir.path().join("config");
    std::fs::create_dir(&config).unwrap_or_else(|e| panic!("{e}"));
    let (files, now) = everything_together(&config);
    for (name, lines) in files.into_iter().chain([("now", vec![now.to_owned()])]) {
        let text = lines.join("\n") + "\n";
        std::fs::write(dir.path().join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }
    let out = dir.path().join("out");
    crate::helpers::replay_dir(dir.path(), &out);
    let decisions = std::fs::read_to_string(out.join("decisions.jsonl"))
        .unwrap_or_else(|e| panic!("decisions.jsonl: {e}"));
    let shown = lines_where("decision_id", "7d0c765f-462e-5afb-9133-1515b3b44fe3");
    assert_eq!(decisions.lines().collect::<Vec<_>>(), shown);
}

/// The record example (the record API's answer, SPEC §10) is what the engine holds for e-42
/// after the same inputs, at the same `now`: the state the API answers from.
#[test]
fn the_record_example_is_the_engines_record_of_the_everything_together_inputs() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (files, now) = everything_together(dir.path());
    let config = Config::load_with_env(dir.path(), Vec::<(String, String)>::new())
        .unwrap_or_else(|e| panic!("config: {e}"))
        .config;
    let now = parse_timestamp(now).unwrap_or_else(|e| panic!("{e}"));
    let mut processor = Processor::new(&config);
    let mut out: Vec<Output> = Vec::new();
    for (file, lines) in files {
        for (n, line) in lines.iter().enumerate() {
            let source = Source::File {
                file: file.into(),
                line: n as u64 + 1,
            };
            let bytes = line.as_bytes();
            let outcome = match file {
                "roster.jsonl" => processor.roster(None, Some(bytes), source, &mut out),
                "outages.jsonl" => processor.outage(None, Some(bytes), source, &mut out),
                "adjustments.jsonl" => processor.adjustment(bytes, source, &mut out),
                _ => processor.badge(bytes, source, now, &mut out),
            };
            assert!(
                matches!(outcome, Outcome::Applied | Outcome::AppliedLate),
                "{file}:{}: {outcome:?}",
                n + 1
            );
        }
    }
    processor.advance_watermark(now, &mut out);
    let held = processor.engine().record("e-42");
    let record = serde_json::to_value(&held).unwrap_or_else(|e| panic!("{e}"));
    // As the API writes it (field order kept), to paste into the guide.
    let pretty = serde_json::to_string_pretty(&held).unwrap_or_else(|e| panic!("{e}"));
    let shown: Vec<Value> = checked_json_examples()
        .into_iter()
        .filter(|(kind, _)| *kind == "record")
        .map(|(_, value)| value)
        .collect();
    assert_eq!(shown, [record], "the engine's record:\n{pretty}");
}
