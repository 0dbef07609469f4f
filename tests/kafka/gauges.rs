//! The freshness gauges tell the truth while the input is quiet (issue 13, point 5;
//! src/kafka/pipeline/gauges.rs, docs/OPERATIONS.md "Watermark stalled").
//!
//! Two partitions, every input consumed, then nothing new:
//! 1. with `idle_advance_after = 2s`, the watermark gauge of each quiet partition follows the
//!    wall clock (advances with it, ~2 s behind) across a window in which *no transaction
//!    commits* — before, the gauge moved only with commits, and an idle advance that emits
//!    nothing commits nothing — and consumer lag is published (0) for every owned input
//!    partition;
//! 2. restarted (no idle advance: `3650d`), the new instance publishes the restored
//!    watermarks, state sizes and consumer lags right after the restore, before any commit
//!    (before, a restarted instance whose partitions had nothing new had none of them).
//!
//! Synchronisation is by polling `/metrics` with deadlines.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use attendance_compliance::generate::GenerateOptions;

use crate::harness::{start_monday, Company, Kafka, Service, ServiceEnv, Topics};

const PARTITIONS: i32 = 2;
const INPUTS: [&str; 4] = ["badges", "roster", "absences", "adjustments"];

/// Samples of one metric family: label text (`partition="0"`, ...) -> value.
fn samples(text: &str, name: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter_map(|l| l.strip_prefix(name)?.strip_prefix('{'))
        .filter_map(|rest| {
            let (labels, value) = rest.split_once("} ")?;
            Some((labels.to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

fn wall_clock() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// The watermark gauge of every partition, when each has one.
fn watermarks(text: &str) -> Option<Vec<f64>> {
    let all = samples(text, "attendance_watermark_seconds");
    (0..PARTITIONS)
        .map(|p| all.get(&format!("partition=\"{p}\"")).copied())
        .collect()
}

fn committed(text: &str) -> f64 {
    samples(text, "attendance_transactions_total")
        .get("result=\"committed\"")
        .copied()
        .unwrap_or(0.0)
}

/// Consumer lag of every (input, partition), when all are published.
fn lags(text: &str) -> Option<Vec<f64>> {
    let all = samples(text, "attendance_consumer_lag_messages");
    INPUTS
        .iter()
        .flat_map(|t| (0..PARTITIONS).map(move |p| format!("partition=\"{p}\",topic=\"{t}\"")))
        .map(|labels| all.get(&labels).copied())
        .collect()
}

/// Polls the service's `/metrics` until `probe` accepts it (bounded by `limit`).
fn poll<T>(
    service: &mut Service,
    what: &str,
    limit: Duration,
    mut probe: impl FnMut(&str) -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = service.exited() {
            panic!("service exited ({status}) waiting for {what}");
        }
        // Before the start-up line names the listener there is nothing to scrape.
        let text = if service.log_text().contains("listen=") {
            service.metrics_text()
        } else {
            String::new()
        };
        if let Some(value) = probe(&text) {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}; last scrape:\n{}",
            text.lines()
                .filter(|l| l.contains("watermark")
                    || l.contains("lag")
                    || l.contains("transactions_total"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The latest badge time of each partition's input (restored watermarks are at least that).
fn latest_badges(company: &Company) -> Vec<f64> {
    (0..PARTITIONS)
        .map(|p| {
            let text = std::fs::read_to_string(company.part(p, "badges.jsonl")).expect("badges");
            text.lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter_map(|v| chrono::DateTime::parse_from_rfc3339(v["timestamp"].as_str()?).ok())
                .map(|t| t.timestamp_millis() as f64 / 1000.0)
                .fold(f64::MIN, f64::max)
        })
        .collect()
}

pub(crate) fn quiet_partitions_keep_their_gauges_fresh(kafka: &Kafka) {
    let topics = Topics::unique("gauges");
    kafka.create_topics(&topics, PARTITIONS, &[]);
    let weeks = 2;
    let options = GenerateOptions {
        employees: 80,
        weeks,
        start_monday: start_monday(weeks, 1),
        seed: 13,
        // No `future_timestamp` lines: they would be applied live (the clock is past them).
        bad_fraction: 0.0,
        ..GenerateOptions::default()
    };
    let company = Company::generate(&options, PARTITIONS, "gauges");
    let latest = latest_badges(&company);
    assert!(latest.iter().all(|t| *t > 0.0), "badges in every partition");
    company.produce_tables(kafka, &topics);
    company.produce_badges(kafka, &topics);
    let group = format!("{}-group", topics.badges);
    let env = |idle: &str| ServiceEnv {
        kafka,
        topics: &topics,
        group: &group,
        instance: "gauges-0",
        extra: vec![(
            "ATTENDANCE__TIME__IDLE_ADVANCE_AFTER".to_owned(),
            idle.to_owned(),
        )],
    };

    // 1. Quiet partitions: the gauge follows the wall clock while nothing commits.
    let mut service = Service::spawn(
        &company.config_dir(),
        &env("2s"),
        company.dir.path().join("first.log"),
    );
    kafka.wait_consumed(&group, &topics, &company, Duration::from_secs(180));
    // The idle advance has caught up (the weeks it closed are committed, or being).
    poll(
        &mut service,
        "watermarks within 5 s of the clock",
        Duration::from_secs(60),
        |text| {
            let now = wall_clock();
            watermarks(text)?
                .iter()
                .all(|w| now - w <= 5.0)
                .then_some(())
        },
    );
    // A window in which no transaction commits and every watermark advances by at least
    // 4 s with the clock. A window with a commit (an at-risk check at a zone's midnight
    // emitting) proves nothing about the gauges without commits: try another.
    let mut tries = 0;
    let last = loop {
        tries += 1;
        let text = service.metrics_text();
        let (before, start) = (committed(&text), watermarks(&text).expect("watermarks"));
        let moved = poll(
            &mut service,
            "every watermark 4 s further",
            Duration::from_secs(30),
            |text| {
                let now = wall_clock();
                let w = watermarks(text)?;
                let ahead = w.iter().zip(&start).all(|(w, s)| w - s >= 4.0);
                let close = w.iter().all(|w| now - w <= 5.0 && *w <= now);
                (ahead && close).then(|| (committed(text), w))
            },
        );
        if moved.0 == before {
            break moved.1;
        }
        assert!(
            tries < 5,
            "a transaction committed in each of 5 quiet windows"
        );
    };
    let text = service.metrics_text();
    let lag =
        lags(&text).unwrap_or_else(|| panic!("consumer lag of every input partition:\n{text}"));
    assert!(lag.iter().all(|l| *l == 0.0), "consumer lag {lag:?}");
    let status = service.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let stopped = wall_clock();
    assert!(last.iter().all(|w| *w <= stopped));

    // 2. Restarted with nothing new (and no idle advance): gauges right after the restore.
    let mut service = Service::spawn(
        &company.config_dir(),
        &env("3650d"),
        company.dir.path().join("second.log"),
    );
    let (restored, text) = poll(
        &mut service,
        "restored watermarks and consumer lags",
        Duration::from_secs(90),
        |text| {
            let w = watermarks(text)?;
            lags(text)?;
            Some((w, text.to_owned()))
        },
    );
    assert_eq!(committed(&text), 0.0, "gauges before any commit");
    for (p, w) in restored.iter().enumerate() {
        // At least the latest badge (committed with it), at most the clock at the stop.
        assert!(
            *w >= latest[p] && *w <= stopped,
            "partition {p}: restored watermark {w}, latest badge {}, stopped at {stopped}",
            latest[p]
        );
    }
    let lag = lags(&text).expect("consumer lags");
    assert!(lag.iter().all(|l| *l == 0.0), "consumer lag {lag:?}");
    let employees = samples(&text, "attendance_state_employees");
    assert!(
        (0..PARTITIONS).all(|p| employees
            .get(&format!("partition=\"{p}\""))
            .is_some_and(|n| *n > 0.0)),
        "state size of every partition: {employees:?}"
    );
    let status = service.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status after SIGTERM: {status}");
}
