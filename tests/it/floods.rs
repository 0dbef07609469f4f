//! Floods (issue 8, docs/SEMANTICS.md "Bounded work and memory"): each one is replayed by
//! the binary under `/usr/bin/time`, and its peak RSS must stay under a stated bound that a
//! state growing with the flood would exceed many times over.
//!
//! The bounds are for the debug build the tests use (~10 MiB of it is the binary itself).
//! The replays run with `MIMALLOC_ALLOW_THP=0`: with transparent huge pages, mimalloc asks the
//! kernel for 2 MiB pages, and a touched one counts whole in the RSS, so the figure would
//! measure the kernel's huge-page setting (`madvise` here, `always` or `never` elsewhere) and
//! where the allocator's blocks fall in those pages, not whether the state grows (the same
//! floods: 41–47 MiB with them in a release build, 24 MiB without, BENCHMARKS.md issue 12).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

use chrono::{Duration, TimeZone, Utc};

use crate::helpers::root;

/// Runs `replay` on `dir` (config copied from the basic-week scenario) and returns the peak
/// RSS in KiB and the number of decisions written.
fn replay_peak(dir: &Path, now: &str) -> (u64, usize) {
    let config = dir.join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    for f in ["holidays.toml", "policies.toml", "sites.toml"] {
        std::fs::copy(
            root().join("tests/scenarios/basic-week/config").join(f),
            config.join(f),
        )
        .expect("copy config");
    }
    let out = dir.join("out");
    let bin = env!("CARGO_BIN_EXE_attendance-compliance");
    let result = Command::new("/usr/bin/time")
        .env("MIMALLOC_ALLOW_THP", "0")
        .args(["-f", "PEAK_RSS_KIB=%M", bin, "replay", "--config"])
        .arg(&config)
        .arg("--badges")
        .arg(dir.join("badges.jsonl"))
        .arg("--roster")
        .arg(dir.join("roster.jsonl"))
        .arg("--absences")
        .arg(dir.join("absences.jsonl"))
        .args(["--now", now, "--out"])
        .arg(&out)
        .output()
        .expect("run /usr/bin/time (Debian package `time`)");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(result.status.success(), "replay failed: {stderr}");
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("PEAK_RSS_KIB="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in: {stderr}"));
    let decisions = std::fs::read_to_string(out.join("decisions.jsonl"))
        .expect("decisions")
        .lines()
        .count();
    (peak, decisions)
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).expect("write input");
}

const ROSTER_ONE: &str = r#"{"employee_id":"e-1","policy_group":"corporate","home_site":"SEA-1","hire_date":"2020-01-06","status":"active"}"#;

fn badge(id: &str, employee: &str, at: chrono::DateTime<Utc>) -> String {
    format!(
        r#"{{"event_id":"{id}","employee_id":"{employee}","site_id":"SEA-1","timestamp":"{}","direction":"in"}}"#,
        at.format("%Y-%m-%dT%H:%M:%SZ")
    )
}

fn assert_under(what: &str, peak_kib: u64, bound_mib: u64) {
    eprintln!(
        "{what}: peak RSS {:.1} MiB (bound {bound_mib} MiB)",
        peak_kib as f64 / 1024.0
    );
    assert!(
        peak_kib < bound_mib * 1024,
        "{what}: peak RSS {peak_kib} KiB over the bound of {bound_mib} MiB"
    );
}

/// 300,000 employees who never join the roster, one badge each, spread over two years:
/// they are forgotten after the retention, so at most a few weeks' worth are held at once.
#[test]
fn a_flood_of_unknown_employees_is_held_only_for_the_retention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let start = Utc
        .with_ymd_and_hms(2024, 6, 3, 17, 0, 0)
        .single()
        .expect("start");
    let n = 300_000u32;
    let mut badges = String::with_capacity(n as usize * 130);
    for i in 0..n {
        let at = start + Duration::seconds(i64::from(i) * 210); // ~2 years in all
        let _ = writeln!(
            badges,
            "{}",
            badge(&format!("u-{i}"), &format!("x-{i}"), at)
        );
    }
    let _ = writeln!(
        badges,
        "{}",
        badge("known", "e-1", start + Duration::days(730))
    );
    write(dir.path(), "badges.jsonl", &badges);
    write(dir.path(), "roster.jsonl", &format!("{ROSTER_ONE}\n"));
    write(dir.path(), "absences.jsonl", "");
    let (peak, decisions) = replay_peak(dir.path(), "2026-06-20T00:00:00Z");
    assert!(decisions > 0, "the rostered employee is decided");
    // Held whole, 300k employees' office days would take well over 100 MiB.
    assert_under("300k unknown employees", peak, 48);
}

/// 200,000 roster updates of 100 employees, each with a new org name and manager id: the
/// interner keeps only the strings in use.
#[test]
fn a_flood_of_unique_strings_does_not_accumulate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut roster = String::new();
    for i in 0..200_000u32 {
        let _ = writeln!(
            roster,
            r#"{{"employee_id":"e-{}","policy_group":"corporate","home_site":"SEA-1","hire_date":"2020-01-06","status":"active","org":"org-{i}-{}","manager_id":"m-{i}"}}"#,
            i % 100,
            "o".repeat(200)
        );
    }
    write(dir.path(), "roster.jsonl", &roster);
    let start = Utc
        .with_ymd_and_hms(2026, 5, 4, 17, 0, 0)
        .single()
        .expect("start");
    write(
        dir.path(),
        "badges.jsonl",
        &format!("{}\n", badge("b", "e-1", start)),
    );
    write(dir.path(), "absences.jsonl", "");
    let (peak, _) = replay_peak(dir.path(), "2026-05-20T00:00:00Z");
    // Kept, the strings alone would be 200k × ~230 bytes ≈ 46 MiB, plus their index.
    assert_under("200k unique org names", peak, 40);
}

/// 100,000 absences for one employee: the engine keeps at most 1,000 of them (held whole,
/// their kinds alone would be 24 MiB).
#[test]
fn a_flood_of_absences_for_one_employee_is_capped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut absences = String::new();
    for i in 0..100_000u32 {
        let _ = writeln!(
            absences,
            r#"{{"absence_id":"a-{i}","employee_id":"e-1","start_date":"2026-05-05","end_date":"2026-05-05","kind":"{}","status":"approved"}}"#,
            "k".repeat(240)
        );
    }
    write(dir.path(), "absences.jsonl", &absences);
    write(dir.path(), "roster.jsonl", &format!("{ROSTER_ONE}\n"));
    let start = Utc
        .with_ymd_and_hms(2026, 5, 4, 17, 0, 0)
        .single()
        .expect("start");
    write(
        dir.path(),
        "badges.jsonl",
        &format!("{}\n", badge("b", "e-1", start)),
    );
    let (peak, decisions) = replay_peak(dir.path(), "2026-05-20T00:00:00Z");
    assert!(decisions > 0);
    let dead = std::fs::read_to_string(dir.path().join("out/dead-letters.jsonl"))
        .expect("dead letters")
        .lines()
        .filter(|l| l.contains("\"too_large\""))
        .count();
    assert_eq!(
        dead, 99_000,
        "absences beyond the 1,000 held are dead-lettered"
    );
    assert_under("100k absences of one employee", peak, 40);
}

/// 2,000 employees whose first badge is from 1971, then one from 2026, and `--now` at the
/// end of year 9999: the weeks closed are bounded (catch-up skips empty stretches).
#[test]
fn badges_decades_apart_and_a_far_future_clock_close_a_bounded_number_of_weeks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old = Utc
        .with_ymd_and_hms(1971, 3, 2, 17, 0, 0)
        .single()
        .expect("old");
    let new = Utc
        .with_ymd_and_hms(2026, 5, 5, 17, 0, 0)
        .single()
        .expect("new");
    let mut roster = String::new();
    let mut badges = String::new();
    for i in 0..2_000u32 {
        let _ = writeln!(
            roster,
            r#"{{"employee_id":"e-{i}","policy_group":"corporate","home_site":"SEA-1","hire_date":"1970-01-05","status":"active"}}"#
        );
        let _ = writeln!(
            badges,
            "{}",
            badge(&format!("o-{i}"), &format!("e-{i}"), old)
        );
    }
    for i in 0..2_000u32 {
        let _ = writeln!(
            badges,
            "{}",
            badge(&format!("n-{i}"), &format!("e-{i}"), new)
        );
    }
    write(dir.path(), "roster.jsonl", &roster);
    write(dir.path(), "badges.jsonl", &badges);
    write(dir.path(), "absences.jsonl", "");
    let (peak, decisions) = replay_peak(dir.path(), "9999-12-31T23:59:59Z");
    // Unbounded, each employee would get a decision for every week of 8,000 years.
    assert!(
        decisions <= 2_000 * 3 * (53 + 40),
        "{decisions} decisions for 2,000 employees"
    );
    assert_under("badges decades apart, --now 9999", peak, 64);
}
