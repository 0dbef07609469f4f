//! Benchmarks of the live service against the real broker (BENCHMARKS.md, "Live service").
//! Ignored by default; `scripts/load-bench.sh` runs them with the release build:
//!
//! ```text
//! cargo test --release --test kafka -- --ignored --nocapture --test-threads=1 bench_
//! ```
//!
//! - `bench_throughput`: a generated company is produced first (backlog), then one service
//!   instance processes it with exactly-once transactions; badges/s from its first commit to
//!   its last, and the outputs are checked against replay.
//! - `bench_latency`: a steady 5,000 badges/s of late badges, each of which re-issues one
//!   decision (a correction, revision k for the k-th late day of an employee); latency from
//!   `send()` of the badge to receipt of the decision by a read_committed consumer.
//! - `bench_restore`: 1,000,000 employees' state in the changelog (100k generated employees
//!   with six weeks of history, each record written under ten ids), restored with the
//!   service's own restore code.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use attendance_compliance::config::Config;
use attendance_compliance::domain::output::Source;
use attendance_compliance::domain::Timestamp;
use attendance_compliance::engine::Output;
use attendance_compliance::generate::GenerateOptions;
use attendance_compliance::kafka::context::LogContext;
use attendance_compliance::kafka::restore;
use attendance_compliance::processor::Processor;
use chrono::{Days, NaiveDate, TimeZone};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::harness::{
    partition_of, send_waiting, start_monday, Company, Kafka, Outputs, Service, ServiceEnv, Topics,
};

/// A `u32` setting from the environment, or `default` (the benchmarks and the soak).
pub(crate) fn env_or(name: &str, default: u32) -> u32 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The service's settings; `BENCH_LOG` sets its log filter and `BENCH_SERVICE_ENV`
/// (`NAME=value,NAME=value`) adds settings, e.g. `ATTENDANCE__STATE__BATCH_MAX_WAIT=500ms`.
fn service_env<'a>(
    kafka: &'a Kafka,
    topics: &'a Topics,
    group: &'a str,
    instance: &'a str,
) -> ServiceEnv<'a> {
    let mut extra = Vec::new();
    if let Ok(level) = std::env::var("BENCH_LOG") {
        extra.push(("ATTENDANCE__LOG__LEVEL".to_owned(), level));
    }
    if let Ok(settings) = std::env::var("BENCH_SERVICE_ENV") {
        for pair in settings.split(',').filter(|p| !p.is_empty()) {
            if let Some((k, v)) = pair.split_once('=') {
                extra.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    eprintln!("service settings: {extra:?}");
    ServiceEnv {
        kafka,
        topics,
        group,
        instance,
        extra,
    }
}

/// Keeps a copy of the service log in `target/tmp/<name>.log`.
fn keep_log(company: &Company, name: &str) {
    let to = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.log"));
    let _ = std::fs::copy(company.dir.path().join("service.log"), &to);
    eprintln!("service log: {}", to.display());
}

#[test]
#[ignore = "benchmark: scripts/load-bench.sh throughput"]
fn bench_throughput() {
    let Some(kafka) = Kafka::get("bench_throughput") else {
        return;
    };
    let employees = env_or("BENCH_EMPLOYEES", 40_000);
    let weeks = env_or("BENCH_WEEKS", 10);
    let partitions = env_or("BENCH_PARTITIONS", 4) as i32;
    let topics = Topics::unique("tput");
    kafka.create_topics(&topics, partitions, &[]);
    let t = Instant::now();
    let company = Company::generate(
        &GenerateOptions {
            employees,
            weeks,
            start_monday: start_monday(weeks, 0),
            ..GenerateOptions::default()
        },
        partitions,
        "bench-throughput",
    );
    eprintln!(
        "generated {} badges ({} input messages) in {:.1}s",
        company.badges(),
        company.messages(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    company.produce_tables(&kafka, &topics);
    company.produce_badges(&kafka, &topics);
    eprintln!("produced with kcat in {:.1}s", t.elapsed().as_secs_f64());
    let group = format!("{}-group", topics.badges);
    let spawned = Instant::now();
    let service = Service::spawn(
        &company.config_dir(),
        &service_env(&kafka, &topics, &group, "tput-0"),
        company.dir.path().join("service.log"),
    );
    let total = company.messages();
    let mut first: Option<(Instant, i64)> = None;
    let mut samples = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(1800);
    let end = loop {
        let (done, _) = kafka.progress(&group, &topics, partitions);
        let now = Instant::now();
        if done > 0 && first.is_none() {
            first = Some((now, done));
        }
        samples.push((now, done));
        if done >= total {
            break now;
        }
        assert!(now < deadline, "not done in 30 min: {done} of {total}");
        std::thread::sleep(Duration::from_millis(200));
    };
    let (start, done_at_start) = first.unwrap_or((spawned, 0));
    let secs = (end - start).as_secs_f64();
    let rate = (total - done_at_start) as f64 / secs;
    // Best sustained 10 s window.
    let mut best = 0.0f64;
    for (i, (t0, d0)) in samples.iter().enumerate() {
        if let Some((t1, d1)) = samples[i..]
            .iter()
            .find(|(t1, _)| (*t1 - *t0).as_secs_f64() >= 10.0)
        {
            best = best.max((d1 - d0) as f64 / (*t1 - *t0).as_secs_f64());
        }
    }
    eprintln!(
        "THROUGHPUT: {total} input messages ({} badges) in {secs:.1}s from first to last commit \
         = {rate:.0} messages/s (best 10 s window {best:.0}/s); {:.1}s from spawn",
        company.badges(),
        (end - spawned).as_secs_f64()
    );
    let live = Outputs::read(&kafka, &topics);
    live.assert_same(&company.expected(None), "throughput run");
    eprintln!(
        "outputs equal replay: {} decisions, {} changes, {} alerts, {} dead letters",
        live.decisions.len(),
        live.changes.len(),
        live.alerts.len(),
        live.dead_letters.len()
    );
    let status = service.terminate(Duration::from_secs(60));
    assert!(status.success());
    keep_log(&company, "bench-throughput");
}

/// Local 09:00 on `day` at London time, as RFC 3339 UTC.
fn nine_am(day: NaiveDate) -> String {
    let local = chrono_tz::Europe::London
        .from_local_datetime(&day.and_hms_opt(9, 0, 0).expect("valid time"))
        .single()
        .expect("unambiguous 09:00");
    local
        .with_timezone(&chrono::Utc)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[test]
#[ignore = "benchmark: scripts/load-bench.sh latency"]
fn bench_latency() {
    let Some(kafka) = Kafka::get("bench_latency") else {
        return;
    };
    let employees = env_or("BENCH_EMPLOYEES", 75_000);
    let rate = env_or("BENCH_RATE", 5_000);
    let partitions = env_or("BENCH_PARTITIONS", 4) as i32;
    let topics = Topics::unique("latency");
    kafka.create_topics(&topics, partitions, &[]);
    // Configuration only (policies from three weeks ago): a tiny generated company.
    let w0 = start_monday(1, 1); // the Monday two weeks ago
    let company = Company::generate(
        &GenerateOptions {
            employees: 10,
            weeks: 1,
            start_monday: w0 - Days::new(7),
            ..GenerateOptions::default()
        },
        1,
        "bench-latency",
    );
    let producer: ThreadedProducer<LogContext> = ClientConfig::new()
        .set("bootstrap.servers", &kafka.brokers)
        .set("linger.ms", "1")
        .set("enable.idempotence", "true")
        .set("queue.buffering.max.messages", "1000000")
        .create_with_context(LogContext::default())
        .expect("producer");
    let id = |e: u32| format!("lat-{e:06}");
    let send = |topic: &str, key: &str, value: String| {
        let p = partition_of(key.as_bytes(), partitions);
        send_waiting(&producer, topic, p, key.as_bytes(), value.as_bytes());
    };
    let badge = |e: u32, n: &str, day: NaiveDate| {
        format!(
            r#"{{"event_id":"lat-{e}-{n}","employee_id":"{}","site_id":"LON-1","timestamp":"{}","direction":"in"}}"#,
            id(e),
            nine_am(day)
        )
    };
    // Roster, then a Monday badge for everyone in W0, then per partition one badge that
    // closes W0 (Tuesday of the next week, past the 24 h lateness).
    for e in 0..employees {
        send(
            &topics.roster,
            &id(e),
            format!(
                r#"{{"employee_id":"{}","manager_id":"m-{}","policy_group":"corporate","home_site":"LON-1","hire_date":"2020-01-06","status":"active"}}"#,
                id(e),
                e % 500
            ),
        );
    }
    producer.flush(Duration::from_secs(60)).expect("flush");
    for e in 0..employees {
        send(&topics.badges, &id(e), badge(e, "mon", w0));
    }
    let mut closers = HashMap::new();
    for e in 0..employees {
        closers
            .entry(partition_of(id(e).as_bytes(), partitions))
            .or_insert(e);
    }
    for e in closers.values() {
        send(
            &topics.badges,
            &id(*e),
            badge(*e, "close", w0 + Days::new(8)),
        );
    }
    producer.flush(Duration::from_secs(60)).expect("flush");

    let group = format!("{}-group", topics.badges);
    let service = Service::spawn(
        &company.config_dir(),
        &service_env(&kafka, &topics, &group, "latency-0"),
        company.dir.path().join("service.log"),
    );
    // Wait until every W0 decision is out.
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let n = kafka.read(&topics.decisions, "%o\n").len();
        if n >= employees as usize {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "setup: {n} of {employees} W0 decisions"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // The receiver: decisions from the end of each partition, read_committed.
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", &kafka.brokers)
        .set("group.id", format!("{group}-latency-reader"))
        .set("isolation.level", "read_committed")
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", "5")
        .create()
        .expect("consumer");
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions {
        tpl.add_partition_offset(&topics.decisions, p, Offset::End)
            .expect("tpl");
    }
    consumer.assign(&tpl).expect("assign");
    let received: Arc<Mutex<HashMap<(String, u64), Instant>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = 4u32; // Tuesday..Friday of W0
    let expected = (employees * rounds) as usize;
    std::thread::scope(|scope| {
        let (reader_received, reader_stop) = (received.clone(), stop.clone());
        let consumer = &consumer;
        scope.spawn(move || {
            while !reader_stop.load(Ordering::Relaxed) {
                if let Some(Ok(m)) = consumer.poll(Duration::from_millis(10)) {
                    let now = Instant::now();
                    let v: serde_json::Value =
                        serde_json::from_slice(m.payload().unwrap_or_default()).expect("decision");
                    let key = (
                        v["employee_id"].as_str().unwrap_or_default().to_owned(),
                        v["revision"].as_u64().unwrap_or(0),
                    );
                    reader_received.lock().expect("lock").insert(key, now);
                }
            }
        });
        // Make sure the reader is positioned (its first poll resolved Offset::End).
        std::thread::sleep(Duration::from_secs(2));
        let mut sent: HashMap<(String, u64), Instant> = HashMap::with_capacity(expected);
        let started = Instant::now();
        let mut n = 0u64;
        for k in 1..=rounds {
            let day = w0 + Days::new(u64::from(k));
            for e in 0..employees {
                // Fixed rate: badge n leaves at started + n / rate.
                let due = started + Duration::from_secs_f64(n as f64 / f64::from(rate));
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                let t = Instant::now();
                send(&topics.badges, &id(e), badge(e, &format!("d{k}"), day));
                sent.insert((id(e), u64::from(k)), t);
                n += 1;
            }
        }
        let send_secs = started.elapsed().as_secs_f64();
        let deadline = Instant::now() + Duration::from_secs(120);
        while received.lock().expect("lock").len() < expected && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(200));
        }
        stop.store(true, Ordering::Relaxed);
        let received = received.lock().expect("lock");
        let mut latencies: Vec<f64> = sent
            .iter()
            .filter_map(|(k, t)| received.get(k).map(|r| (*r - *t).as_secs_f64() * 1000.0))
            .collect();
        latencies.sort_by(f64::total_cmp);
        let q =
            |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
        eprintln!(
            "LATENCY: {n} badges sent in {send_secs:.1}s ({:.0}/s), {} decisions received; \
             produce->decision ms: p50 {:.1}, p90 {:.1}, p99 {:.1}, p99.9 {:.1}, max {:.1}",
            n as f64 / send_secs,
            latencies.len(),
            q(0.50),
            q(0.90),
            q(0.99),
            q(0.999),
            latencies[latencies.len() - 1]
        );
        assert_eq!(
            latencies.len(),
            expected,
            "every late badge re-issues one decision"
        );
    });
    let status = service.terminate(Duration::from_secs(60));
    assert!(status.success());
    keep_log(&company, "bench-latency");
}

#[test]
#[ignore = "benchmark: scripts/load-bench.sh restore"]
fn bench_restore() {
    let Some(kafka) = Kafka::get("bench_restore") else {
        return;
    };
    let base = env_or("BENCH_EMPLOYEES", 100_000);
    let copies = env_or("BENCH_COPIES", 10);
    let partitions = env_or("BENCH_PARTITIONS", 4) as i32;
    let weeks = env_or("BENCH_WEEKS", 6);
    let topics = Topics::unique("restore");
    kafka.create_topics(&topics, partitions, &[]);
    let t = Instant::now();
    let company = Company::generate(
        &GenerateOptions {
            employees: base,
            weeks,
            start_monday: start_monday(weeks, 0),
            ..GenerateOptions::default()
        },
        1,
        "bench-restore",
    );
    let config = Config::load_with_env(&company.config_dir(), Vec::new())
        .expect("config")
        .config;
    // The state of `base` employees after six weeks, as the service would have it.
    let mut processor = Processor::new(&config);
    processor.track_changes();
    let now = Timestamp::from_chrono(company.summary.now);
    let mut sink: Vec<Output> = Vec::new();
    for input in ["roster", "absences", "badges"] {
        let data = std::fs::read(company.dir.path().join(format!("{input}.jsonl"))).expect("read");
        for (i, line) in data.split(|b| *b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let source = Source::File {
                file: input.into(),
                line: i as u64,
            };
            match input {
                "roster" => processor.roster(None, Some(line), source, &mut sink),
                "absences" => processor.absence(line, source, &mut sink),
                _ => processor.badge(line, source, now, &mut sink),
            };
            sink.clear();
        }
    }
    processor.advance_watermark(now, &mut sink);
    let records = processor.take_changes();
    eprintln!(
        "built the state of {} employees in {:.1}s ({} changelog records)",
        processor.engine().employees_tracked(),
        t.elapsed().as_secs_f64(),
        records.len()
    );
    // Write it under `copies` ids per employee, to changelog partition = hash(key).
    let producer: ThreadedProducer<LogContext> = ClientConfig::new()
        .set("bootstrap.servers", &kafka.brokers)
        .set("linger.ms", "20")
        .set("compression.type", "lz4")
        .set("queue.buffering.max.messages", "1000000")
        .create_with_context(LogContext::default())
        .expect("producer");
    let t = Instant::now();
    let mut bytes = 0usize;
    let mut written = 0u64;
    for record in &records {
        let Some(value) = &record.value else { continue };
        let keys: Vec<String> = if record.key.starts_with('#') {
            vec![record.key.clone()] // the engine record, once per partition below
        } else {
            (0..copies)
                .map(|c| format!("{}-c{c}", record.key))
                .collect()
        };
        for key in keys {
            let targets: Vec<i32> = if key.starts_with('#') {
                (0..partitions).collect()
            } else {
                vec![partition_of(key.as_bytes(), partitions)]
            };
            for p in targets {
                send_waiting(&producer, &topics.changelog, p, key.as_bytes(), value);
                bytes += key.len() + value.len();
                written += 1;
            }
        }
    }
    producer.flush(Duration::from_secs(300)).expect("flush");
    eprintln!(
        "wrote {written} changelog records ({:.0} MB of keys+values) in {:.1}s",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    drop(records);
    drop(processor);

    // Restore exactly as the service does on assignment.
    let consumer: BaseConsumer<LogContext> =
        attendance_compliance::kafka::clients::assign_only_consumer(&{
            let mut k = config.processor.kafka.clone();
            k.brokers = kafka.brokers.clone();
            k.group_id = format!("{}-restore", topics.changelog);
            k
        })
        .create_with_context(LogContext::default())
        .expect("consumer");
    let all: Vec<i32> = (0..partitions).collect();
    let restored = restore::restore(&consumer, &topics.changelog, &all, &config).expect("restore");
    let employees: usize = restored
        .processors
        .values()
        .map(|p| p.engine().employees_tracked())
        .sum();
    let state: usize = restored
        .processors
        .values()
        .map(|p| p.engine().state_bytes())
        .sum();
    eprintln!(
        "RESTORE: {employees} employees ({} records) restored from {partitions} partitions in \
         {:.2}s ({:.0} employees/s); engine state estimate {:.0} MB",
        restored.records.values().sum::<u64>(),
        restored.elapsed.as_secs_f64(),
        employees as f64 / restored.elapsed.as_secs_f64(),
        state as f64 / 1e6
    );
    assert!(employees >= (base * copies) as usize);
}
