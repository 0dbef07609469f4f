//! The metric catalogue: names, units, label keys, privacy, counting, weekly compliance.

use std::collections::{BTreeMap, BTreeSet};

use attendance_compliance::domain::output::Decision;
use attendance_compliance::domain::time::parse_date;
use attendance_compliance::domain::{EmployeeId, Status, Week};
use attendance_compliance::engine::Output;
use attendance_compliance::metrics::{
    HttpCloseReason, Metrics, WeeklyCompliance, MIN_ORG_GROUP, OTHER_ORG,
};

use crate::helpers::{drive_basic_week, root, run_tool};

/// One sample of the text format: name, labels, value.
pub(crate) type Sample = (String, BTreeMap<String, String>, f64);

/// Parses the samples of a Prometheus text exposition (enough for our own output: label
/// values hold no `,` or `"`).
pub(crate) fn samples(text: &str) -> Vec<Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').expect("sample has a value");
            let value: f64 = match value {
                "+Inf" => f64::INFINITY,
                "-Inf" => f64::NEG_INFINITY,
                v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
            };
            let (name, labels) = match series.split_once('{') {
                None => (series.to_owned(), BTreeMap::new()),
                Some((name, rest)) => {
                    let body = rest.strip_suffix('}').expect("labels end with }");
                    let labels = body
                        .split("\",")
                        .filter(|kv| !kv.is_empty())
                        .map(|kv| {
                            let (k, v) = kv.split_once('=').expect("label k=v");
                            (k.to_owned(), v.trim_matches('"').to_owned())
                        })
                        .collect();
                    (name.to_owned(), labels)
                }
            };
            (name, labels, value)
        })
        .collect()
}

/// The `# TYPE` lines: metric family name → type.
fn families(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .map(|rest| {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            (name.to_owned(), kind.to_owned())
        })
        .collect()
}

fn sum(samples: &[Sample], name: &str, filter: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|(n, labels, _)| {
            n == name
                && filter
                    .iter()
                    .all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|(_, _, v)| v)
        .sum()
}

#[test]
fn every_name_has_the_prefix_a_unit_and_counters_end_in_total() {
    let metrics = Metrics::new();
    drive_basic_week(&metrics);
    let text = metrics.gather_text();
    let families = families(&text);
    assert!(
        families.len() >= 20,
        "expected the whole catalogue, got {families:?}"
    );
    let units = [
        "_seconds",
        "_bytes",
        "_messages",
        "_employees",
        "_partitions",
        "_connections",
        "_info",
        "_total",
    ];
    // The standard process_* collector (process_metrics_are_served) follows the
    // Prometheus client conventions, not ours.
    for (name, kind) in families.iter().filter(|(n, _)| !n.starts_with("process_")) {
        assert!(name.starts_with("attendance_"), "{name} lacks the prefix");
        assert_eq!(
            kind == "counter",
            name.ends_with("_total"),
            "{name} ({kind}): counters and only counters end in _total"
        );
        assert!(
            units.iter().any(|u| name.ends_with(u)),
            "{name} does not end in a unit ({units:?})"
        );
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no HELP text"
        );
    }
}

/// CPU, memory, file descriptors and threads of the process, on the registry `/metrics`
/// serves (Linux: read from /proc at each scrape).
#[cfg(target_os = "linux")]
#[test]
fn process_metrics_are_served() {
    let metrics = Metrics::new();
    let text = metrics.gather_text();
    let families = families(&text);
    let samples = samples(&text);
    for (name, kind) in [
        ("process_cpu_seconds_total", "counter"),
        ("process_resident_memory_bytes", "gauge"),
        ("process_virtual_memory_bytes", "gauge"),
        ("process_open_fds", "gauge"),
        ("process_max_fds", "gauge"),
        ("process_threads", "gauge"),
        ("process_start_time_seconds", "gauge"),
    ] {
        assert_eq!(families.get(name).map(String::as_str), Some(kind), "{name}");
    }
    let value = |name: &str| sum(&samples, name, &[]);
    // This test process itself: some memory, a few descriptors, at least this thread.
    assert!(value("process_resident_memory_bytes") > 1_000_000.0);
    assert!(value("process_open_fds") >= 3.0);
    assert!(value("process_max_fds") >= value("process_open_fds"));
    assert!(value("process_threads") >= 1.0);
    assert!(value("process_start_time_seconds") > 1.5e9);
}

#[test]
fn labels_are_bounded_and_never_name_a_person() {
    let metrics = Metrics::new();
    let outputs = drive_basic_week(&metrics);
    let text = metrics.gather_text();
    let allowed: BTreeSet<&str> = [
        "topic",
        "outcome",
        "reason",
        "kind",
        "partition",
        "result",
        "policy",
        "status",
        "org",
        "version",
        "le",
    ]
    .into_iter()
    .collect();
    let mut people = BTreeSet::new();
    for output in &outputs {
        match output {
            Output::Decision(d) => {
                people.insert(d.employee_id.to_string());
                people.extend(d.manager_id.as_deref().map(str::to_owned));
            }
            Output::Alert(a) => {
                people.insert(a.employee_id.to_string());
                people.insert(a.manager_id.to_string());
                people.extend(a.vp_id.as_deref().map(str::to_owned));
            }
            _ => {}
        }
    }
    assert!(people.len() >= 3, "the scenario names people: {people:?}");
    for (name, labels, _) in samples(&text) {
        for (key, value) in &labels {
            assert!(allowed.contains(key.as_str()), "{name} has label {key}");
            assert!(
                !people.contains(value),
                "{name} carries a person id {key}={value}"
            );
        }
    }
}

#[test]
fn every_input_message_is_counted_once_with_its_outcome() {
    let metrics = Metrics::new();
    let outputs = drive_basic_week(&metrics);
    let text = metrics.gather_text();
    let s = samples(&text);
    let dir = root().join("tests/scenarios/basic-week");
    let count = |f: &str| {
        std::fs::read_to_string(dir.join(f))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count() as f64
    };
    for (topic, file) in [
        ("badges", "badges.jsonl"),
        ("roster", "roster.jsonl"),
        ("absences", "absences.jsonl"),
    ] {
        assert_eq!(
            sum(&s, "attendance_input_messages_total", &[("topic", topic)]),
            count(file),
            "{topic}"
        );
    }
    let dead = outputs
        .iter()
        .filter(|o| matches!(o, Output::DeadLetter(_)))
        .count() as f64;
    assert_eq!(
        sum(
            &s,
            "attendance_input_messages_total",
            &[("outcome", "dead_lettered")]
        ),
        dead
    );
    assert_eq!(
        sum(
            &s,
            "attendance_output_records_total",
            &[("topic", "dead_letters")]
        ),
        dead
    );
    let decisions = outputs
        .iter()
        .filter(|o| matches!(o, Output::Decision(_)))
        .count() as f64;
    assert!(decisions > 0.0);
    assert_eq!(
        sum(
            &s,
            "attendance_output_records_total",
            &[("kind", "decision")]
        ),
        decisions
    );
    assert_eq!(
        sum(
            &s,
            "attendance_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert!(sum(&s, "attendance_state_employees", &[("partition", "0")]) > 0.0);
    let employees = sum(&s, "attendance_state_employees", &[("partition", "0")]);
    let unrostered = sum(
        &s,
        "attendance_state_unrostered_employees",
        &[("partition", "0")],
    );
    assert!((0.0..employees).contains(&unrostered), "{unrostered}");
    assert!(
        sum(
            &s,
            "attendance_watermark_lag_seconds",
            &[("partition", "0")]
        ) > 0.0
    );
}

/// The week of an ISO label `YYYY-Www` (test inputs only).
fn week_of(label: &str) -> Week {
    let (year, number) = label.split_once("-W").expect("a week label");
    let jan4 = parse_date(&format!("{year}-01-04")).expect("a year");
    let number: i32 = number.parse().expect("a week number");
    jan4.week().plus(number - 1)
}

fn decision(
    template: &Decision,
    employee: &str,
    org: &str,
    week: &str,
    status: Status,
) -> Decision {
    let mut d = template.clone();
    d.employee_id = EmployeeId::parse(employee).expect("a valid id");
    d.org = org.into();
    d.week = week_of(week);
    d.status = status;
    d
}

fn template() -> Decision {
    let metrics = Metrics::new();
    drive_basic_week(&metrics)
        .into_iter()
        .find_map(|o| match o {
            Output::Decision(d) => Some(d),
            _ => None,
        })
        .expect("basic-week emits a decision")
}

#[test]
fn weekly_compliance_folds_small_orgs_into_other_and_counts_the_latest_week() {
    let t = template();
    let mut decisions = Vec::new();
    for i in 0..MIN_ORG_GROUP {
        let status = if i == 0 {
            Status::NonCompliant
        } else {
            Status::Compliant
        };
        decisions.push(decision(
            &t,
            &format!("big-{i}"),
            "big-org",
            "2026-W20",
            status,
        ));
    }
    for i in 0..(MIN_ORG_GROUP - 1) {
        decisions.push(decision(
            &t,
            &format!("small-{i}"),
            "small-org",
            "2026-W20",
            Status::Compliant,
        ));
    }
    // An older week is ignored; a correction (higher revision) replaces the first revision.
    decisions.push(decision(&t, "old", "big-org", "2026-W19", Status::Exempt));
    let mut corrected = decision(&t, "big-0", "big-org", "2026-W20", Status::Compliant);
    corrected.revision = 1;
    corrected.correction = true;
    decisions.push(corrected);

    let summary = WeeklyCompliance::from_decisions(&decisions);
    assert_eq!(summary.week.map(Week::label).as_deref(), Some("2026-W20"));
    let policy = t.policy.id.as_str();
    let key = |status: &'static str, org: &str| (policy.to_owned(), status, org.to_owned());
    assert_eq!(
        summary.employees.get(&key("compliant", "big-org")),
        Some(&MIN_ORG_GROUP)
    );
    assert_eq!(
        summary.employees.get(&key("non_compliant", "big-org")),
        None
    );
    assert_eq!(
        summary.employees.get(&key("compliant", OTHER_ORG)),
        Some(&(MIN_ORG_GROUP - 1))
    );
    assert!(!summary
        .employees
        .keys()
        .any(|(_, _, org)| org == "small-org"));
    assert_eq!(summary.count(policy, Status::Exempt), 0);

    // The incremental path through record_output reaches the same gauges.
    let metrics = Metrics::new();
    metrics.record_outputs(
        &decisions
            .iter()
            .cloned()
            .map(Output::Decision)
            .collect::<Vec<_>>(),
    );
    let s = samples(&metrics.gather_text());
    for ((p, status, org), n) in &summary.employees {
        assert_eq!(
            sum(
                &s,
                "attendance_weekly_compliance_employees",
                &[("policy", p), ("status", status), ("org", org)]
            ),
            *n as f64
        );
    }
    assert_eq!(sum(&s, "attendance_corrections_total", &[]), 1.0);
    // 2026-W20 starts on Monday 2026-05-11.
    assert_eq!(
        sum(&s, "attendance_weekly_compliance_week_start_seconds", &[]),
        1_778_457_600.0
    );

    // A newer week replaces the older one entirely.
    metrics.record_output(&Output::Decision(decision(
        &t,
        "x",
        "big-org",
        "2026-W21",
        Status::Exempt,
    )));
    let s = samples(&metrics.gather_text());
    assert_eq!(sum(&s, "attendance_weekly_compliance_employees", &[]), 1.0);
    assert_eq!(
        sum(
            &s,
            "attendance_weekly_compliance_employees",
            &[("status", "exempt"), ("org", OTHER_ORG)]
        ),
        1.0
    );
}

#[test]
fn forgetting_a_partition_removes_its_series() {
    let metrics = Metrics::new();
    drive_basic_week(&metrics);
    metrics.set_consumer_lag(attendance_compliance::metrics::InputTopic::Badges, 0, 12);
    let before = metrics.gather_text();
    assert!(
        before.contains("attendance_consumer_lag_messages{partition=\"0\",topic=\"badges\"} 12"),
        "{before}"
    );
    metrics.forget_partition(0);
    let after = metrics.gather_text();
    for name in [
        "attendance_watermark_seconds{",
        "attendance_watermark_lag_seconds{",
        "attendance_state_bytes{",
        "attendance_state_unrostered_employees{",
        "attendance_consumer_lag_messages{",
    ] {
        assert!(
            !after.contains(name),
            "{name} survived forget_partition:\n{after}"
        );
    }
}

#[test]
fn promtool_accepts_the_exposition() {
    let metrics = Metrics::new();
    drive_basic_week(&metrics);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("metrics.txt");
    std::fs::write(&file, metrics.gather_text()).expect("write");
    let (ok, out) = run_tool(
        "sh",
        &[
            "-c",
            &format!("promtool check metrics < {}", file.display()),
        ],
        &root(),
    );
    assert!(ok, "promtool check metrics failed:\n{out}");
}

#[test]
fn the_http_listener_counts_its_connections_and_every_close_reason_from_zero() {
    let metrics = Metrics::new();
    let s = samples(&metrics.gather_text());
    assert_eq!(sum(&s, "attendance_http_open_connections", &[]), 0.0);
    for reason in HttpCloseReason::ALL {
        let series: Vec<_> = s
            .iter()
            .filter(|(n, labels, _)| {
                n == "attendance_http_connections_closed_total"
                    && labels.get("reason").map(String::as_str) == Some(reason.as_str())
            })
            .collect();
        assert_eq!(series.len(), 1, "{reason:?} has one series from the start");
    }
    metrics.http().record_closed(HttpCloseReason::Evicted);
    metrics.http().set_open_connections(7);
    let s = samples(&metrics.gather_text());
    assert_eq!(
        sum(
            &s,
            "attendance_http_connections_closed_total",
            &[("reason", "evicted")]
        ),
        1.0
    );
    assert_eq!(
        sum(&s, "attendance_http_connections_closed_total", &[]),
        1.0
    );
    assert_eq!(sum(&s, "attendance_http_open_connections", &[]), 7.0);
}

#[test]
fn every_metric_is_in_the_operations_table() {
    let metrics = Metrics::new();
    drive_basic_week(&metrics);
    let operations = std::fs::read_to_string(root().join("docs/OPERATIONS.md"))
        .expect("docs/OPERATIONS.md is readable");
    let missing: Vec<String> = families(&metrics.gather_text())
        .into_keys()
        .filter(|name| !operations.contains(&format!("| `{name}` |")))
        .collect();
    assert!(
        missing.is_empty(),
        "metrics without a row in docs/OPERATIONS.md: {missing:?}"
    );
}
