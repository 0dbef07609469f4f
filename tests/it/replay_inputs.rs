//! Replay's v2 inputs (§7): `--outages` and `--adjustments` through the real binary —
//! applied after the roster and absences and before the badges whatever the order of the
//! flags, dead letters naming their file and line, the same input checks as the other files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::helpers::root;

fn bin() -> PathBuf {
    std::env::var_os("ATTENDANCE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_attendance-compliance")))
}

fn scenario() -> PathBuf {
    root().join("tests/scenarios/basic-week")
}

const OUTAGES: &str = concat!(
    r#"{"outage_id":"o-1","site_id":"SEA-1","start_date":"2026-05-06","end_date":"2026-05-06","status":"active","reason":"badge readers offline"}"#,
    "\n",
    "\n",
    r#"{"outage_id":"o-2","site_id":"XX-9","start_date":"2026-05-06","end_date":"2026-05-06","status":"active"}"#,
    "\n",
    "null\n",
);

const SECRET: &str = "private medical detail";

/// A valid adjustment, then a self-approved one and one whose reason is too long.
fn adjustments() -> String {
    let line = |id: &str, approved_by: &str, reason: &str| {
        format!(
            r#"{{"adjustment_id":"{id}","employee_id":"e-1","date":"2026-05-07","action":"credit_office_day","status":"approved","reason":"{reason}","approved_by":"{approved_by}"}}"#
        )
    };
    [
        line("adj-1", "m-1", "reader at door 3 faulty"),
        line("adj-2", "e-1", SECRET),
        line("adj-3", "m-1", &SECRET.repeat(30)),
    ]
    .join("\n")
}

/// The scenario's files plus an outages and an adjustments file, each input with one line
/// that is dead-lettered (the badges' and roster's first lines broken on purpose).
fn inputs(dir: &Path) -> [(&'static str, PathBuf); 5] {
    let copy_breaking_first = |name: &str| {
        let text = std::fs::read_to_string(scenario().join(name)).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join(name);
        std::fs::write(&path, format!("{{\"broken\":\n{text}")).unwrap_or_else(|e| panic!("{e}"));
        path
    };
    let write = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        path
    };
    [
        ("--badges", copy_breaking_first("badges.jsonl")),
        ("--adjustments", write("adjustments.jsonl", &adjustments())),
        ("--outages", write("outages.jsonl", OUTAGES)),
        ("--absences", scenario().join("absences.jsonl")),
        ("--roster", copy_breaking_first("roster.jsonl")),
    ]
}

/// A replay with the flags in `inputs`' (scrambled) order.
fn replay(inputs: &[(&str, PathBuf)], out: &Path) -> Output {
    let mut cmd = Command::new(bin());
    cmd.arg("replay")
        .arg("--config")
        .arg(scenario().join("config"));
    for (flag, path) in inputs {
        cmd.arg(flag).arg(path);
    }
    cmd.args(["--now", "2026-05-19T07:00:00Z", "--out"])
        .arg(out);
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run the binary: {e}"))
}

fn dead_letters(out: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(out.join("dead-letters.jsonl"))
        .unwrap_or_else(|e| panic!("dead letters: {e}"));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn outages_and_adjustments_are_applied_in_order_and_dead_lettered_with_file_and_line() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = tmp.path().join("out");
    let output = replay(&inputs(tmp.path()), &out);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("3 outage and 3 adjustment records"),
        "{stderr}"
    );
    let dead = dead_letters(&out);
    let mut files: Vec<&str> = dead
        .iter()
        .map(|d| d["source"]["file"].as_str().unwrap_or_default())
        .collect();
    files.dedup();
    assert_eq!(
        files,
        [
            "roster.jsonl",
            "absences.jsonl",
            "outages.jsonl",
            "adjustments.jsonl",
            "badges.jsonl"
        ],
        "each file's dead letters in one run, in §7's order"
    );
    let v2: Vec<(&str, u64, &str)> = dead
        .iter()
        .filter(|d| {
            d["source"]["file"] == "outages.jsonl" || d["source"]["file"] == "adjustments.jsonl"
        })
        .map(|d| {
            (
                d["source"]["file"].as_str().unwrap_or_default(),
                d["source"]["line"].as_u64().unwrap_or_default(),
                d["reason"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        v2,
        [
            // Line 2 is blank: skipped, but counted in the numbering.
            ("outages.jsonl", 3, "unknown_site"),
            // A file line has no key: `null` is no tombstone.
            ("outages.jsonl", 4, "malformed_json"),
            ("adjustments.jsonl", 2, "invalid_field"),
            ("adjustments.jsonl", 3, "invalid_field"),
        ]
    );
}

#[test]
fn an_adjustment_reason_is_in_the_payload_but_never_in_the_detail() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = tmp.path().join("out");
    let output = replay(&inputs(tmp.path()), &out);
    assert!(output.status.success());
    let adjustments: Vec<Value> = dead_letters(&out)
        .into_iter()
        .filter(|d| d["source"]["file"] == "adjustments.jsonl")
        .collect();
    assert_eq!(adjustments.len(), 2);
    for d in adjustments {
        let detail = d["detail"].as_str().unwrap_or_default();
        assert!(!detail.is_empty() && !detail.contains(SECRET), "{detail}");
        assert!(d["payload"].as_str().is_some_and(|p| p.contains(SECRET)));
    }
}

#[test]
fn an_over_long_outage_or_adjustment_line_is_too_large() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let long = format!(
        "{{\"outage_id\":\"o-1\",\"pad\":\"{}\"}}\n",
        "x".repeat(200 * 1024)
    );
    let outages = tmp.path().join("outages.jsonl");
    std::fs::write(&outages, &long).unwrap_or_else(|e| panic!("{e}"));
    let adjustments = tmp.path().join("adjustments.jsonl");
    std::fs::write(&adjustments, format!("\n{}", &long[..66 * 1024]))
        .unwrap_or_else(|e| panic!("{e}"));
    let out = tmp.path().join("out");
    let output = replay(
        &[
            ("--outages", outages),
            ("--adjustments", adjustments),
            ("--badges", scenario().join("badges.jsonl")),
        ],
        &out,
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The scenario's badges have dead letters of their own: only the two v2 files' here.
    let dead: Vec<Value> = dead_letters(&out)
        .into_iter()
        .filter(|d| d["source"]["file"] != "badges.jsonl")
        .collect();
    let sources: Vec<&Value> = dead.iter().map(|d| &d["source"]).collect();
    assert_eq!(dead.len(), 2, "{sources:?}");
    assert_eq!(dead[0]["reason"], "too_large");
    assert_eq!(dead[0]["source"]["file"], "outages.jsonl");
    assert_eq!(dead[0]["payload_truncated"], true);
    assert_eq!(dead[1]["reason"], "too_large");
    assert_eq!(dead[1]["source"]["line"], 2);
}

#[test]
fn a_missing_or_inside_out_outages_or_adjustments_file_fails_before_out_is_touched() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let badges = ("--badges", scenario().join("badges.jsonl"));
    for flag in ["--outages", "--adjustments"] {
        let out = tmp.path().join("never-created");
        let missing = tmp.path().join("missing.jsonl");
        let output = replay(&[badges.clone(), (flag, missing.clone())], &out);
        assert!(
            !output.status.success(),
            "{flag}: a missing file must fail the run"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!("cannot read {}", missing.display())),
            "{stderr}"
        );
        assert!(!out.exists(), "{flag}: --out was created");

        let out = tmp.path().join("out");
        std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
        let inside = out.join("inputs.jsonl");
        std::fs::write(&inside, "").unwrap_or_else(|e| panic!("{e}"));
        let output = replay(&[badges.clone(), (flag, inside)], &out);
        assert!(
            !output.status.success(),
            "{flag}: an input inside --out must be refused"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("lies inside the output directory"),
            "{stderr}"
        );
        assert!(
            !out.join("decisions.jsonl").exists(),
            "{flag}: outputs were written"
        );
    }
}

#[test]
fn replay_help_lists_the_new_inputs() {
    let output = Command::new(bin())
        .args(["replay", "--help"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run the binary: {e}"));
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(help.contains("--outages <FILE>"), "{help}");
    assert!(help.contains("--adjustments <FILE>"), "{help}");
}
