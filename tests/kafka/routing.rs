//! Record API routing across instances (SPEC §10 "Routing") on the real broker: two
//! instances share four partitions; a request to either instance for an employee of any
//! partition gets the same 200 body (the owner answers, the other forwards); every request is
//! audited exactly once; after one instance is stopped with SIGTERM the survivor answers for
//! everyone once it has restored the partitions it took over (503 with `Retry-After` until
//! then), and no request ever gets a 5xx other than 503.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use attendance_compliance::generate::GenerateOptions;
use serde_json::Value;

use crate::api_client::{free_port, get, token, ApiSetup};
use crate::harness::{partition_of, start_monday, Company, Kafka, Service, ServiceEnv, Topics};
use crate::wait_for_log;

const PARTITIONS: i32 = 4;

/// Every request made, by (outcome, employee), to compare with the access log.
#[derive(Default)]
struct Made {
    outcomes: BTreeMap<(u16, String), usize>,
    unavailable: usize,
}

impl Made {
    /// `GET` the record of `employee` on `port` until it is not 503 (bounded); every answer
    /// is counted, every 503 must carry `Retry-After`, no other 5xx may appear.
    fn record(&mut self, port: u16, employee: &str, logs: &dyn Fn() -> String) -> Value {
        let path = format!("/v1/employees/{employee}/record");
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let answer = get(port, &path, Some(&token(employee)));
            *self
                .outcomes
                .entry((answer.status, employee.to_owned()))
                .or_default() += 1;
            match answer.status {
                200 => return serde_json::from_str(&answer.body).expect("record JSON"),
                503 => {
                    assert!(
                        answer.retry_after.is_some(),
                        "a 503 without Retry-After: {}",
                        answer.body
                    );
                    self.unavailable += 1;
                }
                other => panic!(
                    "{employee} on port {port}: {other} {}\n{}",
                    answer.body,
                    logs()
                ),
            }
            assert!(
                Instant::now() < deadline,
                "{employee} on port {port}: still 503 after 90 s\n{}",
                logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// One rostered employee of each partition.
fn one_per_partition(company: &Company) -> Vec<String> {
    let roster =
        std::fs::read_to_string(company.dir.path().join("roster.jsonl")).expect("roster.jsonl");
    let mut chosen: BTreeMap<i32, String> = BTreeMap::new();
    for line in roster.lines() {
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if let Some(id) = v["employee_id"].as_str() {
            chosen
                .entry(partition_of(id.as_bytes(), PARTITIONS))
                .or_insert_with(|| id.to_owned());
        }
    }
    assert_eq!(
        chosen.len(),
        PARTITIONS as usize,
        "an employee per partition"
    );
    chosen.into_values().collect()
}

pub(crate) fn two_instances_answer_for_every_partition(kafka: &Kafka) {
    let topics = Topics::unique("routing");
    kafka.create_topics(&topics, PARTITIONS, &[]);
    let weeks = 2;
    let options = GenerateOptions {
        employees: 80,
        weeks,
        start_monday: start_monday(weeks, 0),
        seed: 13,
        ..GenerateOptions::default()
    };
    let company = Company::generate(&options, PARTITIONS, "routing");
    let api = ApiSetup::new(kafka, &topics, company.dir.path());
    company.produce_tables(kafka, &topics);
    company.produce_badges(kafka, &topics);
    let group = format!("{}-group", topics.badges);
    let ports = [free_port(), free_port()];
    let env = |instance: &'static str, port: u16| ServiceEnv {
        kafka,
        topics: &topics,
        group: &group,
        instance,
        extra: api.env(port),
    };
    let spawn = |instance: &'static str, port: u16| {
        Service::spawn(
            &company.config_dir(),
            &env(instance, port),
            company.dir.path().join(format!("{instance}.log")),
        )
    };
    let mut a = spawn("route-a", ports[0]);
    assert!(
        wait_for_log(&mut a, "state restored", Duration::from_secs(90)),
        "route-a restored nothing: {}",
        a.log_text()
    );
    let mut b = spawn("route-b", ports[1]);
    assert!(
        wait_for_log(&mut b, "state restored", Duration::from_secs(90)),
        "route-b restored nothing: {}",
        b.log_text()
    );
    kafka.wait_consumed(&group, &topics, &company, Duration::from_secs(180));

    let employees = one_per_partition(&company);
    let mut made = Made::default();
    let logs = || format!("--- a\n{}\n--- b\n{}", a.log_text(), b.log_text());
    let mut records: BTreeMap<String, Value> = BTreeMap::new();
    for employee in &employees {
        let from_a = made.record(ports[0], employee, &logs);
        let from_b = made.record(ports[1], employee, &logs);
        assert_eq!(
            from_a, from_b,
            "{employee}: both instances give the same record"
        );
        assert_eq!(from_a["employee_id"], Value::from(employee.as_str()));
        records.insert(employee.clone(), from_a);
    }
    // Both instances served partitions, so both forwarded some requests to the other.
    for service in [&a, &b] {
        let forwarded = forwarded(&service.metrics_text());
        assert!(forwarded > 0.0, "nothing forwarded\n{}", logs());
    }

    // SIGTERM b: a takes its partitions over, restores them, and then answers for everyone
    // with the same records (no input arrived meanwhile).
    let status = b.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let logs = || a.log_text();
    for employee in &employees {
        let record = made.record(ports[0], employee, &logs);
        assert_eq!(
            &record, &records[employee],
            "{employee}: the survivor's record"
        );
    }
    let status = a.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status after SIGTERM: {status}");
    eprintln!(
        "routing: {} requests, {} answered 503 while partitions moved",
        made.outcomes.values().sum::<usize>(),
        made.unavailable
    );

    // Exactly one audit record per request, by whoever answered it.
    let mut audited: BTreeMap<(u16, String), usize> = BTreeMap::new();
    let mut instances: BTreeMap<String, usize> = BTreeMap::new();
    for line in kafka.read(&api.access_log, "%s\n") {
        let v: Value = serde_json::from_str(&line).expect("access JSON");
        let outcome = v["outcome"]
            .as_u64()
            .and_then(|o| u16::try_from(o).ok())
            .expect("outcome");
        let employee = v["employee_id"].as_str().unwrap_or_default().to_owned();
        *audited.entry((outcome, employee)).or_default() += 1;
        *instances
            .entry(v["instance"].as_str().unwrap_or_default().to_owned())
            .or_default() += 1;
    }
    assert_eq!(audited, made.outcomes, "one access record per request");
    assert!(
        instances.contains_key("route-a") && instances.contains_key("route-b"),
        "both owners audited what they answered: {instances:?}"
    );

    // The directory's entries follow the schema; each instance withdrew its own at the end.
    let schema = instance_schema();
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    for line in kafka.read(&topics.instances, "%k\t%s\n") {
        let (key, value) = line.split_once('\t').expect("key and value");
        if !value.is_empty() {
            let v: Value = serde_json::from_str(value).expect("entry JSON");
            assert!(schema.is_valid(&v), "{v}");
            assert_eq!(v["instance"], Value::from(key));
        }
        last.insert(key.to_owned(), value.to_owned());
    }
    assert_eq!(
        last.keys().map(String::as_str).collect::<Vec<_>>(),
        ["route-a", "route-b"]
    );
    assert!(
        last.values().all(String::is_empty),
        "tombstones last: {last:?}"
    );
}

/// `attendance_api_forwards_total{result="forwarded"}` in a `/metrics` answer.
fn forwarded(metrics: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with("attendance_api_forwards_total{result=\"forwarded\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn instance_schema() -> jsonschema::Validator {
    let path = format!(
        "{}/schemas/instance.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("schema");
    let schema: Value = serde_json::from_str(&text).expect("schema JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}
