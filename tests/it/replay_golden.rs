//! Golden scenarios: every directory under tests/scenarios/ is a replay input (config/,
//! roster.jsonl, absences.jsonl, badges.jsonl, now) with its expected outputs under
//! expected/. A bug report becomes a test by adding a directory.
//! `UPDATE_GOLDEN=1 cargo test` rewrites expected/ from the current behaviour.

use attendance_compliance::replay::OUTPUT_FILES;

use crate::helpers::{replay_dir, root, validate_outputs};

#[test]
fn every_golden_scenario_replays_to_its_expected_outputs() {
    let dir = root().join("tests/scenarios");
    let mut scenarios: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/scenarios exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("badges.jsonl").exists())
        .collect();
    scenarios.sort();
    assert!(!scenarios.is_empty(), "no scenarios found");
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for scenario in &scenarios {
        let out = tempfile::tempdir().expect("tempdir");
        replay_dir(scenario, out.path());
        validate_outputs(out.path());
        let expected = scenario.join("expected");
        for file in OUTPUT_FILES {
            let got = std::fs::read_to_string(out.path().join(file)).expect("output");
            if update {
                std::fs::create_dir_all(&expected).expect("mkdir expected");
                std::fs::write(expected.join(file), &got).expect("write expected");
                continue;
            }
            let want = std::fs::read_to_string(expected.join(file)).unwrap_or_default();
            if got != want {
                failures.push(format!(
                    "{}/{file}:\n--- expected\n{want}--- got\n{got}",
                    scenario.display()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}

#[test]
fn replaying_twice_gives_byte_identical_files() {
    let scenario = root().join("tests/scenarios/basic-week");
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    replay_dir(&scenario, a.path());
    replay_dir(&scenario, b.path());
    for file in OUTPUT_FILES {
        let x = std::fs::read(a.path().join(file)).expect("a");
        let y = std::fs::read(b.path().join(file)).expect("b");
        assert_eq!(x, y, "{file} differs between two replays");
    }
}
