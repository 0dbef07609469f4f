//! Tests of the whole generator: determinism, file shapes, counts, faults
//! (the SPEC v2 inputs — stays, outages, adjustments — in `tests/v2.rs`).

mod v2;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::*;

fn small() -> GenerateOptions {
    GenerateOptions {
        employees: 300,
        weeks: 8,
        ..GenerateOptions::default()
    }
}

fn run(opts: &GenerateOptions) -> (tempfile::TempDir, GenerateSummary) {
    let dir = tempfile::tempdir().expect("temp dir");
    let summary = generate(opts, dir.path()).expect("generate");
    (dir, summary)
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).expect("read output file")
}

const FILES: [&str; 10] = [
    "config/sites.toml",
    "config/holidays.toml",
    "config/policies.toml",
    "config/processor.toml",
    "badges.jsonl",
    "roster.jsonl",
    "absences.jsonl",
    "outages.jsonl",
    "adjustments.jsonl",
    "summary.json",
];

#[test]
fn same_seed_gives_identical_bytes() {
    let (first, _) = run(&small());
    let (second, _) = run(&small());
    for name in FILES {
        let (a, b) = (read(first.path(), name), read(second.path(), name));
        assert!(a == b, "{name} differs between two runs with the same seed");
    }
    let (other, _) = run(&GenerateOptions { seed: 7, ..small() });
    assert_ne!(
        read(first.path(), "badges.jsonl"),
        read(other.path(), "badges.jsonl")
    );
}

#[test]
fn fault_fractions_do_not_change_attendance() {
    let clean = GenerateOptions {
        late_fraction: 0.0,
        duplicate_fraction: 0.0,
        bad_fraction: 0.0,
        ..small()
    };
    let (_, noisy) = run(&small());
    let (dir, summary) = run(&clean);
    assert_eq!(summary.badge_events, noisy.badge_events);
    assert_eq!(summary.badges, summary.badge_events);
    assert_eq!(summary.bad_lines, 0);
    assert!(summary.expected_dead_letters.is_empty());
    // Without late badges the feed is in timestamp order.
    let mut previous = i64::MIN;
    for line in read(dir.path(), "badges.jsonl").lines() {
        let value: Value = serde_json::from_str(line).expect("clean line is JSON");
        let text = value["timestamp"].as_str().expect("timestamp");
        let at = chrono::DateTime::parse_from_rfc3339(text)
            .expect("RFC 3339")
            .timestamp();
        assert!(at >= previous, "out of order at {line}");
        previous = at;
    }
}

#[test]
fn summary_counts_match_the_files() {
    let (dir, summary) = run(&small());
    let lines = |name| read(dir.path(), name).lines().count() as u64;
    assert_eq!(
        lines("badges.jsonl"),
        summary.badges + summary.bad_badge_lines
    );
    assert_eq!(
        lines("roster.jsonl"),
        summary.roster_records + summary.bad_roster_lines
    );
    assert_eq!(
        lines("absences.jsonl"),
        summary.absence_records + summary.bad_absence_lines
    );
    assert_eq!(
        lines("outages.jsonl"),
        summary.outage_records + summary.bad_outage_lines
    );
    assert_eq!(
        lines("adjustments.jsonl"),
        summary.adjustment_records + summary.bad_adjustment_lines
    );
    assert_eq!(
        summary.bad_lines,
        summary.bad_badge_lines
            + summary.bad_roster_lines
            + summary.bad_absence_lines
            + summary.bad_outage_lines
            + summary.bad_adjustment_lines
    );
    assert_eq!(
        summary.roster_records,
        u64::from(summary.employees) + summary.roster_updates
    );
    assert_eq!(
        summary.badges,
        summary.badge_events + summary.duplicate_badges
    );
    let dead: u64 = summary.expected_dead_letters.values().sum();
    assert_eq!(dead, summary.bad_lines + summary.too_late_badges);
    let by_file: u64 = summary
        .expected_dead_letters_by_file
        .values()
        .flat_map(BTreeMap::values)
        .sum();
    assert_eq!(by_file, dead);
    let outage_dead: u64 = summary.expected_dead_letters_by_file["outages.jsonl"]
        .values()
        .sum();
    assert_eq!(outage_dead, summary.bad_outage_lines);

    let file: Value = serde_json::from_str(&read(dir.path(), "summary.json")).expect("json");
    assert_eq!(file["badges"].as_u64(), Some(summary.badges));
    assert_eq!(file["options"]["seed"].as_u64(), Some(42));
    let now = file["now"].as_str().expect("now");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(now).expect("rfc 3339"),
        summary.now
    );
}

#[test]
fn every_line_is_one_record() {
    let (dir, summary) = run(&small());
    for name in [
        "badges.jsonl",
        "roster.jsonl",
        "absences.jsonl",
        "outages.jsonl",
        "adjustments.jsonl",
    ] {
        let text = read(dir.path(), name);
        assert!(text.ends_with('\n'), "{name} ends with a newline");
        assert!(!text.contains('\r'), "{name} uses \\n line ends");
        assert!(
            text.lines().all(|line| !line.trim().is_empty()),
            "{name} has blank lines"
        );
    }
    // Regular badge lines are JSON objects with the SPEC §1.1 fields.
    let mut objects = 0u64;
    for line in read(dir.path(), "badges.jsonl").lines() {
        let Ok(Value::Object(badge)) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let well_formed = ["event_id", "employee_id", "site_id", "timestamp"]
            .iter()
            .all(|field| badge.get(*field).is_some_and(Value::is_string));
        objects += u64::from(well_formed);
    }
    assert!(
        objects >= summary.badges,
        "{objects} well-formed of {}",
        summary.badges
    );
}

#[test]
fn every_dead_letter_reason_occurs() {
    let (dir, summary) = run(&small());
    for reason in bad::REASONS {
        let count = summary
            .expected_dead_letters
            .get(reason)
            .copied()
            .unwrap_or(0);
        assert!(
            count > 0,
            "no line for reason {reason}: {:?}",
            summary.expected_dead_letters
        );
    }
    let badges = read(dir.path(), "badges.jsonl");
    assert!(badges
        .lines()
        .any(|line| line.len() > bad::MAX_MESSAGE_BYTES));
    assert!(badges.lines().any(|line| line == "[1,2]"
        || line == "42"
        || line.starts_with("[]")
        || line == "\"badge\""
        || line == "true"));
    assert!(badges.contains("\"site_id\":\"XX-9\"") || badges.contains("\"site_id\":\"LON-2\""));
    // Future lines lie more than max_future_skew (24 h) after `now`.
    let future_limit = summary.now.timestamp() + 86_400;
    let future = badges
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|value| value["timestamp"].as_str().map(str::to_string))
        .filter_map(|text| chrono::DateTime::parse_from_rfc3339(&text).ok())
        .filter(|at| at.timestamp() > future_limit)
        .count() as u64;
    assert_eq!(
        Some(future),
        summary
            .expected_dead_letters
            .get("future_timestamp")
            .copied()
    );
}

#[test]
fn roster_and_absences_have_the_promised_shapes() {
    let (dir, summary) = run(&GenerateOptions {
        employees: 2000,
        ..small()
    });
    let mut inactive = 0;
    let mut no_manager = 0;
    let mut hired_in_period = 0;
    for line in read(dir.path(), "roster.jsonl").lines().take(2000 + 5) {
        let Ok(record) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        inactive += u32::from(record["status"] == "inactive");
        let manager = &record["manager_id"];
        no_manager += u32::from(manager.is_null() || manager == "");
        let hired = record["hire_date"].as_str().unwrap_or("2000-01-01");
        hired_in_period += u32::from(hired >= "2026-05-04");
    }
    assert!((20..=120).contains(&inactive), "inactive {inactive}");
    assert!(
        (5..=60).contains(&no_manager),
        "without manager {no_manager}"
    );
    assert!(
        (15..=80).contains(&hired_in_period),
        "hired in period {hired_in_period}"
    );
    assert!(summary.roster_updates > 0 && summary.absence_cancellations > 0);
    let absences = read(dir.path(), "absences.jsonl");
    assert!(absences.contains("\"status\":\"cancelled\""));
    assert!(absences.contains("\"kind\":\"sick\""));
}

#[test]
fn timestamps_use_site_offsets_utc_and_fractions() {
    let (dir, _) = run(&small());
    let badges = read(dir.path(), "badges.jsonl");
    for needle in [
        "-07:00\"", "-04:00\"", "+01:00\"", "+02:00\"", "+05:30\"", "+10:00\"", "Z\"",
    ] {
        assert!(badges.contains(needle), "no timestamp ending {needle}");
    }
    assert!(badges
        .lines()
        .any(|line| line.contains("\"site_id\":\"SYD-1\"")));
    let fractional = badges
        .lines()
        .filter(|line| line.contains(".") && line.contains("timestamp"));
    assert!(fractional.count() > 0);
}

#[test]
fn invalid_options_are_rejected() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tuesday = chrono::NaiveDate::from_ymd_opt(2026, 5, 5).expect("date");
    let bad = [
        GenerateOptions {
            employees: 0,
            ..GenerateOptions::default()
        },
        GenerateOptions {
            weeks: 0,
            ..GenerateOptions::default()
        },
        GenerateOptions {
            start_monday: tuesday,
            ..GenerateOptions::default()
        },
        GenerateOptions {
            late_fraction: 1.5,
            ..GenerateOptions::default()
        },
        GenerateOptions {
            bad_fraction: f64::NAN,
            ..GenerateOptions::default()
        },
    ];
    for opts in bad {
        let result = generate(&opts, dir.path());
        assert!(
            matches!(result, Err(GenerateError::InvalidOption { .. })),
            "{opts:?}"
        );
    }
}

/// The benchmark size: `cargo test --release -- --ignored --nocapture large`.
#[test]
#[ignore = "writes about 850 MB; run in release mode"]
fn large_company_streams_quickly() {
    let opts = GenerateOptions {
        employees: 100_000,
        weeks: 13,
        ..GenerateOptions::default()
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let started = std::time::Instant::now();
    let summary = generate(&opts, dir.path()).expect("generate");
    let elapsed = started.elapsed();
    let size = |name: &str| {
        std::fs::metadata(dir.path().join(name))
            .expect("file")
            .len()
    };
    println!(
        "{} employees x {} weeks: {} badge lines ({} MB), {} roster, {} absences in {elapsed:.2?}",
        opts.employees,
        opts.weeks,
        summary.badges + summary.bad_badge_lines,
        size("badges.jsonl") / 1_000_000,
        summary.roster_records,
        summary.absence_records,
    );
    assert!(summary.badges > 3_000_000, "several million badges");
    assert!(
        elapsed < std::time::Duration::from_secs(60),
        "took {elapsed:?}"
    );
}
