//! `simulate` (SPEC §9) end to end: the Amazon scenario against a weekly alternative (a
//! golden summary.json), the summary's schema, byte-determinism of both files, ids only
//! with `--with-ids`, a hostile org name escaped in the report, and a bad alternative file
//! that stops everything before anything is written.

use std::path::{Path, PathBuf};
use std::process::Command;

use attendance_compliance::config::Config;
use attendance_compliance::domain::time::parse_timestamp;
use attendance_compliance::generate::{generate, GenerateOptions};
use attendance_compliance::replay::ReplayInput;
use attendance_compliance::simulate::{simulate, SimulateInput, Simulation, OUTPUT_FILES};

use crate::helpers::root;

const AMAZON: &str = "tests/scenarios/amazon-missed-weeks";
const WEEKLY: &str = "tests/fixtures/simulate/weekly-3.toml";
const GOLDEN: &str = "tests/fixtures/simulate/amazon-vs-weekly-3.summary.json";

/// Simulates the scenario in `dir` (laid out like the golden scenarios) against the
/// policies file `alternative` into `out`.
pub(crate) fn simulate_dir(
    dir: &Path,
    alternative: &Path,
    out: &Path,
    with_ids: bool,
) -> Simulation {
    let config = match Config::load_with_env(&dir.join("config"), Vec::<(String, String)>::new()) {
        Ok(loaded) => loaded.config,
        Err(e) => panic!("{} has an invalid config: {e}", dir.display()),
    };
    let (policies, _) = Config::load_policies(alternative).expect("alternative is valid");
    let now = std::fs::read_to_string(dir.join("now"))
        .ok()
        .map(|s| parse_timestamp(s.trim()).expect("now file holds an RFC 3339 timestamp"));
    let optional = |name: &str| Some(dir.join(name)).filter(|p| p.exists());
    let input = SimulateInput {
        replay: ReplayInput {
            badges: dir.join("badges.jsonl"),
            roster: optional("roster.jsonl"),
            absences: optional("absences.jsonl"),
            outages: optional("outages.jsonl"),
            adjustments: optional("adjustments.jsonl"),
            advance_to: now,
            clock: now.unwrap_or_else(|| parse_timestamp("2030-01-01T00:00:00Z").expect("clock")),
            out: out.to_owned(),
            progress: false,
        },
        config_dir: dir.join("config"),
        alternative_file: alternative.to_owned(),
        with_ids,
    };
    simulate(&config, &policies, &input).expect("simulate runs")
}

/// Validates `summary.json` in `out` against schemas/simulate-summary.schema.json.
pub(crate) fn validate_summary(out: &Path) -> serde_json::Value {
    let schema_text = std::fs::read_to_string(root().join("schemas/simulate-summary.schema.json"))
        .expect("schema");
    let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema is JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let text = std::fs::read_to_string(out.join("summary.json")).expect("summary.json");
    let value: serde_json::Value = serde_json::from_str(&text).expect("summary is JSON");
    let errors: Vec<String> = validator
        .iter_errors(&value)
        .map(|e| e.to_string())
        .collect();
    assert!(
        errors.is_empty(),
        "summary.json violates its schema: {errors:?}"
    );
    value
}

#[test]
fn amazon_rule_against_a_weekly_rule_gives_the_golden_summary() {
    let out = tempfile::tempdir().expect("tempdir");
    let done = simulate_dir(
        &root().join(AMAZON),
        &root().join(WEEKLY),
        out.path(),
        false,
    );
    let summary = validate_summary(out.path());
    let got = std::fs::read_to_string(out.path().join("summary.json")).expect("summary");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(root().join(GOLDEN), &got).expect("write golden");
    }
    let want = std::fs::read_to_string(root().join(GOLDEN)).expect("golden summary");
    assert_eq!(got, want, "summary.json differs from {GOLDEN}");
    // What the scenario's README says, seen through the summary: under the Amazon rule e-1's
    // first four missed weeks are allowed, weekly they are not.
    let w15 = &summary["weeks"][0];
    assert_eq!(w15["week"], "2026-W15");
    assert_eq!(w15["current"]["employees"]["non_compliant"], 0);
    assert_eq!(w15["alternative"]["employees"]["non_compliant"], 1);
    assert_eq!(w15["changed"], 1);
    assert_eq!(w15["by_policy"]["current"]["amazon-5-of-8"]["changed"], 1);
    assert_eq!(w15["by_policy"]["alternative"]["weekly-3"]["changed"], 1);
    // Four employees: the one org is under 5, folded into "other".
    let orgs: Vec<&String> = w15["by_org"].as_object().expect("by_org").keys().collect();
    assert_eq!(orgs, ["other"]);
    // W17: e-3's PTO week is exempt on both sides.
    assert_eq!(summary["weeks"][2]["current"]["employees"]["exempt"], 1);
    assert_eq!(summary["weeks"][2]["alternative"]["employees"]["exempt"], 1);
    assert_eq!(done.replay.lines.badges, 143);
    assert_eq!(summary["inputs"]["files"][2]["lines"], 143);
    assert_eq!(summary["policies"]["alternative"][0]["id"], "weekly-3");
}

#[test]
fn both_files_are_byte_identical_across_runs_and_name_no_one_without_with_ids() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = tempfile::tempdir().expect("tempdir");
    let ids = tempfile::tempdir().expect("tempdir");
    let scenario = root().join(AMAZON);
    simulate_dir(&scenario, &root().join(WEEKLY), a.path(), false);
    simulate_dir(&scenario, &root().join(WEEKLY), b.path(), false);
    simulate_dir(&scenario, &root().join(WEEKLY), ids.path(), true);
    for file in OUTPUT_FILES {
        let x = std::fs::read(a.path().join(file)).expect("a");
        let y = std::fs::read(b.path().join(file)).expect("b");
        assert!(x == y, "{file} differs between two runs");
        let text = String::from_utf8(x).expect("UTF-8");
        for id in ["e-1", "e-2", "e-3", "e-4", "m-1", "vp-1"] {
            assert!(!text.contains(&format!("\"{id}\"")), "{file} names {id}");
            assert!(!text.contains(&format!(">{id}<")), "{file} names {id}");
        }
    }
    let with_ids = validate_summary(ids.path());
    assert_eq!(with_ids["with_ids"], true);
    assert_eq!(
        with_ids["weeks"][0]["changed_employees"],
        serde_json::json!(["e-1"])
    );
}

/// A company whose one org is named like an attack on the report.
fn hostile_company(dir: &Path) -> PathBuf {
    let options = GenerateOptions {
        employees: 40,
        weeks: 2,
        ..GenerateOptions::default()
    };
    let generated = generate(&options, dir).expect("generate");
    let now = generated
        .now
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    std::fs::write(dir.join("now"), now).expect("now");
    let roster = std::fs::read_to_string(dir.join("roster.jsonl")).expect("roster");
    let hostile: Vec<String> = roster
        .lines()
        .map(
            |line| match serde_json::from_str::<serde_json::Value>(line) {
                Ok(mut value) if value.get("org").is_some() => {
                    value["org"] = "<script>alert(1)</script>\"'&".into();
                    value.to_string()
                }
                _ => line.to_owned(),
            },
        )
        .collect();
    std::fs::write(dir.join("roster.jsonl"), hostile.join("\n") + "\n").expect("roster");
    dir.join("config/policies.toml")
}

#[test]
fn a_hostile_org_name_is_escaped_in_the_report() {
    let input = tempfile::tempdir().expect("tempdir");
    // The company's own policies as the alternative: both sides decide everyone.
    let alternative = hostile_company(input.path());
    let out = tempfile::tempdir().expect("tempdir");
    simulate_dir(input.path(), &alternative, out.path(), false);
    let summary = validate_summary(out.path());
    let orgs = summary["weeks"][0]["by_org"].as_object().expect("by_org");
    assert!(
        orgs.contains_key("<script>alert(1)</script>\"'&"),
        "{orgs:?}"
    );
    let html = std::fs::read_to_string(out.path().join("report.html")).expect("report");
    assert!(
        !html.to_lowercase().contains("<script"),
        "a script element in the report"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"));
}

#[test]
fn a_bad_alternative_stops_simulate_with_check_configs_messages_and_writes_nothing() {
    let bin = std::env::var_os("ATTENDANCE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_attendance-compliance")));
    let scenario = root().join(AMAZON);
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("alt.toml");
    std::fs::write(
        &bad,
        "[[policy]]\nid = \"x\"\nversion = 1\npolicy_groups = [\"corporate\"]\n\
         effective_from = \"2026-04-06\"\nrequired_days = 9\nrule = { kind = \"fortnightly\" }\n",
    )
    .expect("write");
    let existing = dir.path().join("existing");
    std::fs::create_dir(&existing).expect("mkdir");
    std::fs::write(existing.join("summary.json"), "old\n").expect("old");
    for out in [dir.path().join("new"), existing.clone()] {
        let output = Command::new(&bin)
            .arg("simulate")
            .arg("--config")
            .arg(scenario.join("config"))
            .arg("--alternative")
            .arg(&bad)
            .arg("--badges")
            .arg(scenario.join("badges.jsonl"))
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run the binary");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        let shown = bad.display().to_string();
        assert!(
            stderr.contains(&format!(
                "{shown}: policy[0].required_days: must be between 0 and 7, got 9"
            )),
            "{stderr}"
        );
        assert!(
            stderr.contains(&format!("{shown}: policy[0].rule")),
            "{stderr}"
        );
    }
    assert!(!dir.path().join("new").exists(), "--out was created");
    let names: Vec<_> = std::fs::read_dir(&existing)
        .expect("ls")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names, ["summary.json"]);
    assert_eq!(
        std::fs::read_to_string(existing.join("summary.json")).expect("old"),
        "old\n"
    );
}
