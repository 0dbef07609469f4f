//! docs/CONFIGURATION.md against the code: every processor setting documented, every
//! documented default equal to the built-in default, every documented key and environment
//! variable accepted by the loader; every setting and file key with a documented range equal
//! to the code's (`config::limits`), and the loader accepting exactly that range.

use std::collections::BTreeSet;
use std::path::Path;

use attendance_compliance::config::limits::{self, format_duration, Range};
use attendance_compliance::config::{Config, ProcessorConfig};

use crate::helpers::root;

/// One documented key: `section.key`, default as TOML text, range, environment variable.
struct Documented {
    key: String,
    default: String,
    range: String,
    env: String,
}

fn unquote(cell: &str, line: &str) -> String {
    cell.strip_prefix('`')
        .and_then(|c| c.strip_suffix('`'))
        .unwrap_or_else(|| panic!("cell {cell:?} is not `code` in: {line}"))
        .to_owned()
}

fn documented() -> Vec<Documented> {
    let text = std::fs::read_to_string(root().join("docs/CONFIGURATION.md"))
        .expect("docs/CONFIGURATION.md exists");
    let section = text
        .split("## `processor.toml` keys")
        .nth(1)
        .expect("the reference has a `processor.toml` keys section");
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            assert!(
                cells.len() >= 7,
                "row needs key, default, range, environment, meaning: {line}"
            );
            assert!(!cells[3].is_empty(), "no range given: {line}");
            assert!(!cells[5].is_empty(), "no meaning given: {line}");
            Documented {
                key: unquote(cells[1], line),
                default: unquote(cells[2], line),
                range: cells[3].to_owned(),
                env: unquote(cells[4], line),
            }
        })
        .collect()
}

/// The rows of the `sites.toml`, `holidays.toml`, `policies.toml` keys table: key, range.
fn documented_file_keys() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("docs/CONFIGURATION.md"))
        .expect("docs/CONFIGURATION.md exists");
    let section = text
        .split("## Keys of `sites.toml`, `holidays.toml` and `policies.toml`")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the reference has a section on the keys of the other files");
    section
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            assert!(cells.len() >= 5, "row needs key, range, meaning: {line}");
            assert!(!cells[3].is_empty(), "no meaning given: {line}");
            (unquote(cells[1], line), cells[2].to_owned())
        })
        .collect()
}

/// Every `section.field` of the validated processor settings, read from the pretty `Debug`
/// of the defaults: a field added to `ProcessorConfig` shows up here without anyone
/// remembering to list it.
fn keys_in_code() -> BTreeSet<String> {
    let debug = format!("{:#?}", ProcessorConfig::default());
    let mut keys = BTreeSet::new();
    let mut section = None;
    for line in debug.lines() {
        let indent = line.len() - line.trim_start().len();
        let Some((name, _)) = line.trim_start().split_once(": ") else {
            continue;
        };
        match indent {
            4 => section = Some(name.to_owned()),
            8 => {
                let section = section.as_deref().expect("a field inside a section");
                keys.insert(format!("{section}.{name}"));
            }
            _ => {}
        }
    }
    assert!(
        keys.len() > 10,
        "could not read the settings from Debug:\n{debug}"
    );
    keys
}

fn config_dir_with(processor_toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for file in ["sites.toml", "holidays.toml", "policies.toml"] {
        std::fs::copy(root().join("config").join(file), dir.path().join(file)).expect("copy");
    }
    std::fs::write(dir.path().join("processor.toml"), processor_toml).expect("write");
    dir
}

fn load(dir: &Path, env: Vec<(String, String)>) -> Result<ProcessorConfig, String> {
    Config::load_with_env(dir, env)
        .map(|loaded| loaded.config.processor)
        .map_err(|e| e.to_string())
}

#[test]
fn every_setting_in_the_code_is_documented_and_nothing_else() {
    let documented: BTreeSet<String> = documented().into_iter().map(|d| d.key).collect();
    let code = keys_in_code();
    let missing: Vec<_> = code.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&code).collect();
    assert!(
        missing.is_empty(),
        "settings missing from docs/CONFIGURATION.md: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "docs/CONFIGURATION.md documents unknown settings: {extra:?}"
    );
}

#[test]
fn the_example_processor_toml_sets_exactly_the_documented_keys() {
    let text = std::fs::read_to_string(root().join("config/processor.toml")).expect("example");
    let table: toml::Table = text.parse().expect("config/processor.toml parses");
    let mut keys = BTreeSet::new();
    for (section, value) in &table {
        for key in value.as_table().expect("sections are tables").keys() {
            keys.insert(format!("{section}.{key}"));
        }
    }
    let documented: BTreeSet<String> = documented().into_iter().map(|d| d.key).collect();
    assert_eq!(
        keys, documented,
        "config/processor.toml and docs/CONFIGURATION.md differ"
    );
}

#[test]
fn every_documented_default_is_the_built_in_default() {
    let defaults = ProcessorConfig::default();
    for d in documented() {
        let (section, key) = d.key.split_once('.').expect("section.key");
        let file = format!("[{section}]\n{key} = {}\n", d.default);
        let dir = config_dir_with(&file);
        let loaded = load(dir.path(), Vec::new())
            .unwrap_or_else(|e| panic!("documented default of {} is rejected: {e}", d.key));
        assert_eq!(
            loaded, defaults,
            "documented default of {} is not the default",
            d.key
        );
    }
}

#[test]
fn the_loader_rejects_an_undocumented_key() {
    // Makes the test above meaningful: unknown keys are errors, not silently ignored.
    let dir = config_dir_with("[time]\nallowed_latenes = \"24h\"\n");
    let error = load(dir.path(), Vec::new()).expect_err("unknown key rejected");
    assert!(error.contains("allowed_latenes"), "{error}");
}

#[test]
fn every_documented_environment_variable_is_accepted() {
    let defaults = ProcessorConfig::default();
    let dir = config_dir_with("");
    for d in documented() {
        let (section, key) = d.key.split_once('.').expect("section.key");
        if d.key == "kafka.client" {
            assert_eq!(d.env, "ATTENDANCE__KAFKA__CLIENT__<NAME>");
            let env = vec![(
                "ATTENDANCE__KAFKA__CLIENT__SESSION_TIMEOUT_MS".to_owned(),
                "45000".to_owned(),
            )];
            let loaded = load(dir.path(), env).expect("client property from the environment");
            assert_eq!(
                loaded
                    .kafka
                    .client
                    .get("session.timeout.ms")
                    .map(String::as_str),
                Some("45000")
            );
            continue;
        }
        let expected = format!(
            "ATTENDANCE__{}__{}",
            section.to_ascii_uppercase(),
            key.to_ascii_uppercase()
        );
        assert_eq!(d.env, expected, "environment variable of {}", d.key);
        let value = d.default.trim_matches('"').to_owned();
        if value.is_empty() {
            continue; // an empty value (pseudonym_key) is the default already
        }
        let loaded = load(dir.path(), vec![(d.env.clone(), value)])
            .unwrap_or_else(|e| panic!("{} is rejected: {e}", d.env));
        assert_eq!(loaded, defaults, "{} with the documented default", d.env);
    }
}

#[test]
fn every_setting_has_a_range_in_the_code_and_the_same_range_in_the_docs() {
    let ranged: BTreeSet<String> = limits::PROCESSOR_RANGES
        .iter()
        .chain(limits::PROCESSOR_CHOICES.iter())
        .map(|(key, _)| (*key).to_owned())
        .collect();
    assert_eq!(
        ranged,
        keys_in_code(),
        "config::limits::PROCESSOR_RANGES must name every processor setting exactly once"
    );
    for d in documented() {
        let range = limits::range_of(&d.key)
            .unwrap_or_else(|| panic!("{} has no range in config::limits", d.key));
        assert_eq!(
            d.range,
            range.to_string(),
            "documented range of {} differs from the code's",
            d.key
        );
    }
}

#[test]
fn every_file_key_has_the_code_s_range_in_the_docs() {
    let documented = documented_file_keys();
    let keys: BTreeSet<String> = documented.iter().map(|(key, _)| key.clone()).collect();
    let code: BTreeSet<String> = limits::FILE_RANGES
        .iter()
        .map(|(key, _)| *key)
        .chain(limits::FILE_NAME_KEYS)
        .map(str::to_owned)
        .collect();
    assert_eq!(
        keys, code,
        "docs/CONFIGURATION.md and config::limits::FILE_RANGES list different keys"
    );
    for (key, range) in documented {
        let code = limits::range_of(&key).unwrap_or_else(|| panic!("{key} has no range"));
        assert_eq!(range, code.to_string(), "documented range of {key}");
    }
}

/// A value just inside and just outside each end of a range, as TOML text.
fn probes(range: Range) -> Vec<(String, bool)> {
    match range {
        Range::Integer { min, max } => vec![
            (min.to_string(), true),
            (max.to_string(), true),
            ((min - 1).to_string(), false),
            ((max + 1).to_string(), false),
        ],
        Range::Duration { min, max } => {
            let quoted = |d| format!("\"{}\"", format_duration(d));
            let mut probes = vec![
                (quoted(min), true),
                (quoted(max), true),
                (quoted(max + std::time::Duration::from_millis(1)), false),
            ];
            if let Some(below) = min.checked_sub(std::time::Duration::from_millis(1)) {
                probes.push((quoted(below), false));
            }
            probes
        }
        Range::Bytes { min, max } => {
            let mut probes = vec![
                (format!("\"{}\"", "a".repeat(max)), true),
                (format!("\"{}\"", "a".repeat(max + 1)), false),
            ];
            if min > 0 {
                probes.push((format!("\"{}\"", "a".repeat(min)), true));
            }
            probes
        }
        Range::Date { .. } | Range::Bool | Range::Words(_) => Vec::new(),
    }
}

#[test]
fn the_loader_accepts_exactly_the_documented_range_of_each_setting() {
    let mut checked = 0;
    for (key, range) in limits::PROCESSOR_RANGES {
        let (section, name) = key.split_once('.').expect("section.key");
        for (value, accepted) in probes(range) {
            let dir = config_dir_with(&format!("[{section}]\n{name} = {value}\n"));
            let result = load(dir.path(), Vec::new());
            match (&result, accepted) {
                (Ok(_), true) => {}
                (Err(error), false) if error.contains(key) => {}
                _ => panic!(
                    "{key} = {:.60}: expected {}, got {result:?}",
                    value,
                    if accepted {
                        "accepted"
                    } else {
                        "an error naming it"
                    }
                ),
            }
            checked += 1;
        }
    }
    assert!(checked > 40, "only {checked} probes");
}

#[test]
fn the_loader_accepts_exactly_the_documented_range_of_each_policy_number_and_duration() {
    let policy = |line: &str| {
        format!(
            "[[policy]]\nid = \"p\"\nversion = 1\npolicy_groups = [\"g\"]\n\
             effective_from = \"2026-05-04\"\nrequired_days = 3\n{line}\n"
        )
        .replace(
            "version = 1\n",
            if line.starts_with("version") {
                ""
            } else {
                "version = 1\n"
            },
        )
        .replace(
            "required_days = 3\n",
            if line.starts_with("required_days") {
                ""
            } else {
                "required_days = 3\n"
            },
        )
    };
    let mut checked = 0;
    for (key, range) in limits::FILE_RANGES {
        let Some(name) = key.strip_prefix("policy.") else {
            continue;
        };
        let (Range::Integer { .. } | Range::Duration { .. }) = range else {
            continue;
        };
        if matches!(name, "policy_groups" | "escalation") {
            continue; // list lengths, probed by the config tests
        }
        for (value, accepted) in probes(range) {
            let (line, field) = match name {
                "escalation.after_weeks" => (
                    format!("escalation = [{{ after_weeks = {value}, level = \"x\" }}]"),
                    "policy[0].escalation[0].after_weeks".to_owned(),
                ),
                // (v2) the rule's keys, documented per kind.
                "rule.weeks (rolling_average)" => (
                    format!("rule = {{ kind = \"rolling_average\", weeks = {value} }}"),
                    "policy[0].rule.weeks".to_owned(),
                ),
                "rule.weeks (missed_weeks)" => (
                    format!(
                        "rule = {{ kind = \"missed_weeks\", weeks = {value}, max_missed = 0 }}"
                    ),
                    "policy[0].rule.weeks".to_owned(),
                ),
                "rule.max_missed" => (
                    format!(
                        "rule = {{ kind = \"missed_weeks\", weeks = 26, max_missed = {value} }}"
                    ),
                    "policy[0].rule.max_missed".to_owned(),
                ),
                _ => (format!("{name} = {value}"), format!("policy[0].{name}")),
            };
            let dir = config_dir_with("");
            std::fs::write(dir.path().join("policies.toml"), policy(&line)).expect("write");
            let result = load(dir.path(), Vec::new());
            match (&result, accepted) {
                (Ok(_), true) => {}
                (Err(error), false) if error.contains(&field) && error.contains(&value) => {}
                _ => panic!("{line}: expected accepted = {accepted}, got {result:?}"),
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} probes");
}
