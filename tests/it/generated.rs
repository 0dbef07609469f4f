//! Whole replays of generated companies: determinism across runs and seeds, schema-valid
//! outputs, and every input line accounted for (applied or dead-lettered).

use std::path::Path;

use attendance_compliance::generate::{generate, GenerateOptions, GenerateSummary};
use attendance_compliance::replay::OUTPUT_FILES;
use proptest::prelude::*;

use crate::helpers::{replay_dir, validate_outputs};

fn company(dir: &Path, seed: u64, employees: u32, weeks: u32) -> GenerateSummary {
    let options = GenerateOptions {
        employees,
        weeks,
        seed,
        ..GenerateOptions::default()
    };
    let summary = generate(&options, dir).expect("generate");
    // replay_dir reads the clock and --now from a `now` file, like the golden scenarios.
    let now = summary
        .now
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::fs::write(dir.join("now"), now).expect("write now");
    summary
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    #[test]
    fn replaying_twice_gives_identical_files_for_any_company(seed in any::<u64>()) {
        let input = tempfile::tempdir().expect("tempdir");
        company(input.path(), seed, 60, 4);
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        replay_dir(input.path(), a.path());
        replay_dir(input.path(), b.path());
        for file in OUTPUT_FILES {
            let x = std::fs::read(a.path().join(file)).expect("a");
            let y = std::fs::read(b.path().join(file)).expect("b");
            prop_assert!(x == y, "{} differs between two replays of seed {}", file, seed);
        }
    }
}

#[test]
fn a_generated_company_replays_to_schema_valid_outputs_and_loses_no_line() {
    let input = tempfile::tempdir().expect("tempdir");
    let generated = company(input.path(), 7, 400, 6);
    let out = tempfile::tempdir().expect("tempdir");
    let summary = replay_dir(input.path(), out.path());
    let checked = validate_outputs(out.path());
    assert!(checked > 1000, "only {checked} output values");
    assert!(summary.decisions > 0 && summary.alerts > 0 && summary.changes > 0);
    // Every dead letter the generator planted comes back, reason by reason (replay_dir
    // passes all five input files).
    for (reason, count) in summary.dead_letters.iter() {
        let expected = generated
            .expected_dead_letters
            .get(reason.as_str())
            .copied()
            .unwrap_or(0);
        assert_eq!(
            count,
            expected,
            "dead letters with reason {}",
            reason.as_str()
        );
    }
    let dead = summary.dead_letters.total();
    let lines = summary.lines.total();
    assert!(dead > 0 && dead < lines);
    let written = std::fs::read_to_string(out.path().join("dead-letters.jsonl")).expect("dl");
    assert_eq!(written.lines().count() as u64, dead);
    assert_eq!(
        summary.lines.badges,
        generated.badges + generated.bad_badge_lines,
        "every badge line was read"
    );
    assert_eq!(
        summary.lines.outages,
        generated.outage_records + generated.bad_outage_lines
    );
    assert_eq!(
        summary.lines.adjustments,
        generated.adjustment_records + generated.bad_adjustment_lines
    );
    // The v2 inputs show in the decisions: coffee badges and late nights under the
    // presence rules, adjustments, and outage days excused.
    let decisions = std::fs::read_to_string(out.path().join("decisions.jsonl")).expect("d");
    let values: Vec<serde_json::Value> = decisions
        .lines()
        .map(|line| serde_json::from_str(line).expect("decision is JSON"))
        .collect();
    let listing = |field: &str| {
        values
            .iter()
            .filter(|v| v[field].as_array().is_some_and(|list| !list.is_empty()))
            .count()
    };
    for field in ["short_days", "unverified_days", "adjustments"] {
        assert!(listing(field) > 0, "no decision lists {field}");
    }
    let outage_excused = values.iter().filter(|v| {
        v["explanation"]
            .as_str()
            .is_some_and(|text| text.contains("site outage"))
    });
    assert!(
        outage_excused.count() > 0,
        "no day excused by a site outage"
    );
}
