//! docs/CONFIGURATION.md against the code: every processor setting documented, every
//! documented default equal to the built-in default, every documented key and environment
//! variable accepted by the loader.

use std::collections::BTreeSet;
use std::path::Path;

use attendance_compliance::config::{Config, ProcessorConfig};

use crate::helpers::root;

/// One documented key: `section.key`, default as TOML text, environment variable.
struct Documented {
    key: String,
    default: String,
    env: String,
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
            let unquote = |cell: &str| {
                cell.strip_prefix('`')
                    .and_then(|c| c.strip_suffix('`'))
                    .unwrap_or_else(|| panic!("cell {cell:?} is not `code` in: {line}"))
                    .to_owned()
            };
            assert!(
                cells.len() >= 6,
                "row needs key, default, environment, meaning: {line}"
            );
            assert!(!cells[4].is_empty(), "no meaning given: {line}");
            Documented {
                key: unquote(cells[1]),
                default: unquote(cells[2]),
                env: unquote(cells[3]),
            }
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
