//! Shared helpers: running a replay in-process on a scenario directory, schema validation.

use std::path::{Path, PathBuf};

use attendance_compliance::config::Config;
use attendance_compliance::domain::time::parse_timestamp;
use attendance_compliance::replay::{replay, ReplayInput, ReplaySummary, OUTPUT_FILES};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Replays the scenario in `dir` (config/, roster.jsonl, absences.jsonl, outages.jsonl,
/// adjustments.jsonl, badges.jsonl and a `now` file; all but config/ and badges optional)
/// into `out`.
pub(crate) fn replay_dir(dir: &Path, out: &Path) -> ReplaySummary {
    let config = match Config::load_with_env(&dir.join("config"), Vec::<(String, String)>::new()) {
        Ok(loaded) => loaded.config,
        Err(e) => panic!("scenario {} has an invalid config: {e}", dir.display()),
    };
    let now = std::fs::read_to_string(dir.join("now"))
        .ok()
        .map(|s| parse_timestamp(s.trim()).expect("now file holds an RFC 3339 timestamp"));
    let optional = |name: &str| Some(dir.join(name)).filter(|p| p.exists());
    let input = ReplayInput {
        badges: dir.join("badges.jsonl"),
        roster: optional("roster.jsonl"),
        absences: optional("absences.jsonl"),
        outages: optional("outages.jsonl"),
        adjustments: optional("adjustments.jsonl"),
        advance_to: now,
        clock: now.unwrap_or_else(|| parse_timestamp("2030-01-01T00:00:00Z").expect("clock")),
        out: out.to_owned(),
        progress: false,
    };
    replay(&config, &input).expect("replay runs")
}

/// Validates every line of the four output files in `out` against the shipped schemas.
pub(crate) fn validate_outputs(out: &Path) -> usize {
    let schemas = [
        "decision.schema.json",
        "compliance-change.schema.json",
        "manager-alert.schema.json",
        "dead-letter.schema.json",
    ];
    let mut checked = 0;
    for (file, schema) in OUTPUT_FILES.iter().zip(schemas) {
        let schema_text =
            std::fs::read_to_string(root().join("schemas").join(schema)).expect("schema");
        let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema is JSON");
        let validator = jsonschema::validator_for(&schema).expect("schema compiles");
        let text = std::fs::read_to_string(out.join(file)).expect("output file");
        for (n, line) in text.lines().enumerate() {
            let value: serde_json::Value = serde_json::from_str(line).expect("output line is JSON");
            let errors: Vec<String> = validator
                .iter_errors(&value)
                .map(|e| e.to_string())
                .collect();
            assert!(
                errors.is_empty(),
                "{file}:{} violates {schema}: {errors:?}\n{line}",
                n + 1
            );
            checked += 1;
        }
    }
    checked
}
