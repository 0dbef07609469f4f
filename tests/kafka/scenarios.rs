//! The longer scenarios: crash and restart, scale-out, broker restart, idle advance; and the
//! CloudEvents header check.

use std::collections::BTreeSet;
use std::process::Command;
use std::time::{Duration, Instant};

use attendance_compliance::domain::Timestamp;
use attendance_compliance::generate::GenerateOptions;
use chrono::{Datelike, Days};

use crate::harness::{start_monday, Company, Kafka, Outputs, Service, ServiceEnv, Topics};

/// Every output record carries the CloudEvents binary-mode headers with the record's id.
pub(crate) fn assert_cloud_events(kafka: &Kafka, topics: &Topics) {
    let cases = [
        (
            &topics.decisions,
            "com.attendance.decision.v1",
            Some("decision_id"),
            "decision",
        ),
        (
            &topics.changes,
            "com.attendance.compliance_change.v1",
            Some("change_id"),
            "compliance-change",
        ),
        (
            &topics.alerts,
            "com.attendance.manager_alert.v1",
            Some("alert_id"),
            "manager-alert",
        ),
        (
            &topics.dead_letters,
            "com.attendance.dead_letter.v1",
            None,
            "dead-letter",
        ),
    ];
    let known = [
        "ce_specversion",
        "ce_id",
        "ce_type",
        "ce_source",
        "ce_time",
        "ce_dataschema",
        "ce_subject",
        "content-type",
    ];
    for (topic, ce_type, id_field, schema) in cases {
        let lines = kafka.read(topic, "%k\t%h\t%s\n");
        assert!(!lines.is_empty(), "{topic} is empty");
        for line in lines {
            let mut parts = line.splitn(3, '\t');
            let (key, headers, value) = (
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
                parts.next().unwrap_or_default(),
            );
            let h: std::collections::HashMap<&str, &str> = headers
                .split(',')
                .filter_map(|kv| kv.split_once('='))
                .collect();
            let v: serde_json::Value = serde_json::from_str(value).expect("JSON value");
            assert_eq!(h.get("ce_specversion"), Some(&"1.0"), "{line}");
            assert_eq!(h.get("ce_type"), Some(&ce_type), "{line}");
            assert_eq!(h.get("content-type"), Some(&"application/json"), "{line}");
            assert!(
                h.get("ce_source").is_some_and(|s| s.starts_with('/')),
                "{line}"
            );
            assert!(h.get("ce_time").is_some_and(|t| t.ends_with('Z')), "{line}");
            // The value's schema file (its `$id`) and the version the value carries.
            let dataschema = format!(
                "https://attendance-compliance.example/schemas/{schema}.schema.json?schema_version={}",
                v["schema_version"]
            );
            assert_eq!(h.get("ce_dataschema"), Some(&dataschema.as_str()), "{line}");
            assert!(
                h.keys().all(|k| known.contains(k)),
                "unknown header: {line}"
            );
            assert!(h.len() >= 7, "headers missing: {line}");
            match id_field {
                Some(field) => {
                    assert_eq!(h.get("ce_id").copied(), v[field].as_str(), "{line}");
                    assert_eq!(
                        h.get("ce_subject").copied(),
                        v["employee_id"].as_str(),
                        "{line}"
                    );
                    let want_key = if field == "alert_id" {
                        &v["manager_id"]
                    } else {
                        &v["employee_id"]
                    };
                    assert_eq!(Some(key), want_key.as_str(), "{line}");
                }
                None => {
                    let s = &v["source"];
                    let want = format!(
                        "dead-letter:{}:{}:{}",
                        s["topic"].as_str().expect("source.topic"),
                        s["partition"],
                        s["offset"]
                    );
                    assert_eq!(h.get("ce_id").copied(), Some(want.as_str()), "{line}");
                }
            }
        }
    }
}

/// A scenario's company: `employees` × `weeks` weeks generated with `seed` (ending this week),
/// on fresh topics of `partitions` partitions named after `name`, its tables produced.
fn scenario_company(
    kafka: &Kafka,
    name: &str,
    partitions: i32,
    employees: u32,
    weeks: u32,
    seed: u64,
) -> (Topics, Company) {
    let topics = Topics::unique(name);
    kafka.create_topics(&topics, partitions, &[]);
    let company = Company::generate(
        &GenerateOptions {
            employees,
            weeks,
            start_monday: start_monday(weeks, 0),
            seed,
            ..GenerateOptions::default()
        },
        partitions,
        name,
    );
    company.produce_tables(kafka, &topics);
    (topics, company)
}

fn service_env<'a>(
    kafka: &'a Kafka,
    topics: &'a Topics,
    group: &'a str,
    instance: &'a str,
    extra: &[(&str, &str)],
) -> ServiceEnv<'a> {
    ServiceEnv {
        kafka,
        topics,
        group,
        instance,
        extra: extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

/// Committed input messages, or `None` while the broker does not answer.
fn done(kafka: &Kafka, group: &str, topics: &Topics, partitions: i32) -> Option<(i64, i64)> {
    kafka.try_progress(group, topics, partitions).ok()
}

/// Waits (bounded) until the group has committed more than `beyond` input messages and
/// returns the new count; `None` when all `company` messages are committed. Fails at once,
/// with the end of the service's log, when `service` exits meanwhile, and with the same log
/// when nothing moves for 120 s.
fn wait_progress(
    kafka: &Kafka,
    group: &str,
    topics: &Topics,
    company: &Company,
    beyond: i64,
    service: &mut Service,
) -> Option<i64> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some((d, _)) = done(kafka, group, topics, company.partitions) {
            if d >= company.messages() {
                return None;
            }
            if d > beyond {
                return Some(d);
            }
        }
        if let Some(status) = service.exited() {
            panic!(
                "the service exited ({status}) before committing beyond {beyond}; its log ends:\n{}",
                log_tail(&service.log_text(), 60)
            );
        }
        assert!(
            Instant::now() < deadline,
            "no progress beyond {beyond} within 120 s; the service's log ends:\n{}",
            log_tail(&service.log_text(), 60)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The last `lines` lines of `text`.
fn log_tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A small deterministic random sequence (xorshift), seeded from the clock and printed.
struct Random(u64);

impl Random {
    fn new() -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
            | 1;
        eprintln!("random seed {seed}");
        Self(seed)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// SIGKILL at random moments (at least 5 times) during a run of at least 200k badges.
pub(crate) fn crash(kafka: &Kafka) {
    let started = Instant::now();
    let partitions = 3;
    let topics = Topics::unique("crash");
    kafka.create_topics(&topics, partitions, &[]);
    let options = GenerateOptions {
        // v2 data: outages and credits leave out some visits, so a few more employees keep
        // the company above 200k badges.
        employees: 5300,
        weeks: 8,
        start_monday: start_monday(8, 0),
        seed: 11,
        ..GenerateOptions::default()
    };
    let company = Company::generate(&options, partitions, "crash");
    assert!(
        company.badges() >= 200_000,
        "only {} badges",
        company.badges()
    );
    company.produce_tables(kafka, &topics);
    let group = format!("{}-group", topics.badges);
    let extra = [("ATTENDANCE__STATE__BATCH_MAX_MESSAGES", "2000")];
    let env = service_env(kafka, &topics, &group, "crash-0", &extra);
    let log = company.dir.path().join("service.log");
    let mut random = Random::new();
    let mut kills = 0;
    let mut committed = 0;
    std::thread::scope(|scope| {
        // A feed faster than the service, in 10 slices: kills land while it works.
        scope.spawn(|| company.produce_badges_paced(kafka, &topics, 10, Duration::from_secs(1)));
        loop {
            let mut service = Service::spawn(&company.config_dir(), &env, log.clone());
            let Some(now) =
                wait_progress(kafka, &group, &topics, &company, committed, &mut service)
            else {
                // Finished before another kill: this instance completes the run.
                let status = service.terminate(Duration::from_secs(60));
                assert!(status.success(), "exit status after SIGTERM: {status}");
                break;
            };
            committed = now;
            if kills >= 7 {
                kafka.wait_consumed(&group, &topics, &company, Duration::from_secs(300));
                let status = service.terminate(Duration::from_secs(60));
                assert!(status.success(), "exit status after SIGTERM: {status}");
                break;
            }
            // A random moment while it processes (transactions are open most of the time).
            std::thread::sleep(Duration::from_millis(50 + random.below(1200)));
            let (d, total) = done(kafka, &group, &topics, partitions).unwrap_or((committed, 1));
            service.kill();
            // The next instance is killed only after it has committed work of its own.
            committed = committed.max(d);
            kills += 1;
            eprintln!("crash: SIGKILL #{kills} at {d} of {total} committed input messages");
        }
    });
    assert!(
        kills >= 5,
        "only {kills} kills happened before the run finished"
    );
    let live = Outputs::read(kafka, &topics);
    let expected = company.expected(None);
    live.assert_same(&expected, "after SIGKILLs");
    eprintln!(
        "crash: {} badges, {kills} SIGKILLs, {} decisions, {:.1}s",
        company.badges(),
        live.decisions.len(),
        started.elapsed().as_secs_f64()
    );
}

/// Two instances share the group; one is killed mid-run and never comes back.
pub(crate) fn scale(kafka: &Kafka) {
    let started = Instant::now();
    let partitions = 4;
    let (topics, company) = scenario_company(kafka, "scale", partitions, 4000, 6, 13);
    let group = format!("{}-group", topics.badges);
    let extra = [("ATTENDANCE__STATE__BATCH_MAX_MESSAGES", "1000")];
    let env_a = service_env(kafka, &topics, &group, "scale-a", &extra);
    let env_b = service_env(kafka, &topics, &group, "scale-b", &extra);
    let mut a = Service::spawn(
        &company.config_dir(),
        &env_a,
        company.dir.path().join("a.log"),
    );
    let b = Service::spawn(
        &company.config_dir(),
        &env_b,
        company.dir.path().join("b.log"),
    );
    std::thread::scope(|scope| {
        scope.spawn(|| company.produce_badges(kafka, &topics));
        // Both own partitions and work before A dies.
        let deadline = Instant::now() + Duration::from_secs(120);
        while !(a.log_text().contains("state restored") && b.log_text().contains("state restored"))
        {
            assert!(
                Instant::now() < deadline,
                "instances did not both get partitions"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let now = wait_progress(kafka, &group, &topics, &company, 0, &mut a);
        assert!(now.is_some(), "run finished before the kill");
        wait_progress(
            kafka,
            &group,
            &topics,
            &company,
            now.unwrap_or(0) + 20_000,
            &mut a,
        );
    });
    let (d, total) = done(kafka, &group, &topics, partitions).unwrap_or_default();
    eprintln!("scale: SIGKILL instance a at {d} of {total}");
    a.kill();
    kafka.wait_consumed(&group, &topics, &company, Duration::from_secs(300));
    let live = Outputs::read(kafka, &topics);
    live.assert_same(&company.expected(None), "two instances, one killed");
    // A's partitions move to B when the coordinator expires A's session, which can come after
    // every input is consumed (A may have finished its partitions before it was killed).
    let deadline = Instant::now() + Duration::from_secs(120);
    while b.log_text().matches("partitions assigned").count() < 2 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let b_log = b.log_text();
    let status = b.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert!(
        b_log.matches("partitions assigned").count() >= 2,
        "b never took over: {b_log}"
    );
    eprintln!(
        "scale: {} decisions, {:.1}s",
        live.decisions.len(),
        started.elapsed().as_secs_f64()
    );
}

/// The broker restarts while the service runs.
pub(crate) fn broker_restart(kafka: &Kafka) {
    let started = Instant::now();
    let partitions = 2;
    let (topics, company) = scenario_company(kafka, "brestart", partitions, 3000, 6, 17);
    company.produce_badges(kafka, &topics);
    let group = format!("{}-group", topics.badges);
    let extra = [("ATTENDANCE__STATE__BATCH_MAX_MESSAGES", "500")];
    let env = service_env(kafka, &topics, &group, "brestart-0", &extra);
    let mut service = Service::spawn(
        &company.config_dir(),
        &env,
        company.dir.path().join("s.log"),
    );
    let now = wait_progress(kafka, &group, &topics, &company, 0, &mut service);
    assert!(now.is_some(), "run finished before the broker restart");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/kafka-broker.sh");
    let t = Instant::now();
    let status = Command::new(script)
        .arg("restart")
        .status()
        .expect("kafka-broker.sh restart");
    assert!(status.success(), "kafka-broker.sh restart failed");
    eprintln!(
        "broker_restart: broker restarted in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    kafka.wait_consumed(&group, &topics, &company, Duration::from_secs(300));
    let live = Outputs::read(kafka, &topics);
    live.assert_same(&company.expected(None), "broker restart");
    let log = service.log_text();
    eprintln!(
        "broker_restart: the service recreated its clients {} time(s), aborted {} transaction(s)",
        log.matches("restarting the Kafka clients").count(),
        log.matches("aborting the transaction").count()
    );
    let status = service.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status after SIGTERM: {status}");
    eprintln!(
        "broker_restart: {} decisions, {:.1}s",
        live.decisions.len(),
        started.elapsed().as_secs_f64()
    );
}

/// With a short `idle_advance_after`, a quiet partition's watermark follows the wall clock
/// and the last weeks of data close without further badges: their decisions equal replay's
/// with `--now` (weeks after the data close too, with nobody badging; not compared).
pub(crate) fn idle_advance(kafka: &Kafka) {
    let topics = Topics::unique("idle");
    kafka.create_topics(&topics, 1, &[]);
    let weeks = 3;
    let options = GenerateOptions {
        employees: 300,
        weeks,
        start_monday: start_monday(weeks, 2),
        seed: 19,
        // `future_timestamp` lines would be applied live (the wall clock is past them).
        bad_fraction: 0.0,
        ..GenerateOptions::default()
    };
    let company = Company::generate(&options, 1, "idle");
    company.produce_tables(kafka, &topics);
    company.produce_badges(kafka, &topics);
    let group = format!("{}-group", topics.badges);
    let extra = [("ATTENDANCE__TIME__IDLE_ADVANCE_AFTER", "5s")];
    let env = service_env(kafka, &topics, &group, "idle-0", &extra);
    let service = Service::spawn(
        &company.config_dir(),
        &env,
        company.dir.path().join("s.log"),
    );
    kafka.wait_consumed(&group, &topics, &company, Duration::from_secs(120));
    let data_weeks: BTreeSet<String> = (0..weeks)
        .map(|w| {
            let iso = (options.start_monday + Days::new(7 * u64::from(w))).iso_week();
            format!("{}-W{:02}", iso.year(), iso.week())
        })
        .collect();
    let last_week = data_weeks.iter().next_back().cloned().unwrap_or_default();
    let in_data = |lines: &[String]| -> Vec<String> {
        lines
            .iter()
            .filter(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("decision");
                v["week"].as_str().is_some_and(|w| data_weeks.contains(w))
            })
            .cloned()
            .collect()
    };
    let now = Timestamp::from_chrono(company.summary.now);
    let expected = in_data(&company.expected(Some(now)).decisions);
    let want_last = expected
        .iter()
        .filter(|l| l.contains(&format!("\"week\":\"{last_week}\"")))
        .count();
    assert!(want_last > 0, "replay closed no decision in {last_week}");
    let deadline = Instant::now() + Duration::from_secs(90);
    let live = loop {
        let live = in_data(&Outputs::read(kafka, &topics).decisions);
        let got_last = live
            .iter()
            .filter(|l| l.contains(&format!("\"week\":\"{last_week}\"")))
            .count();
        if got_last >= want_last {
            break live;
        }
        assert!(
            Instant::now() < deadline,
            "idle advance did not close {last_week}: {got_last} of {want_last}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(live.len(), expected.len(), "decisions of the data weeks");
    assert!(
        live == expected,
        "decisions of the data weeks differ from replay --now"
    );
    let status = service.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

/// `attendance_transactions_total{result="committed"}` of a running service.
fn committed_transactions(service: &Service) -> f64 {
    service
        .metrics_text()
        .lines()
        .find_map(|l| l.strip_prefix("attendance_transactions_total{result=\"committed\"} "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Waits (bounded) until `service` has restored its partitions and committed a transaction
/// of its own; fails at once, with its log, when it exits meanwhile.
fn wait_committing(service: &mut Service, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if service.log_text().contains("state restored") && committed_transactions(service) > 0.0 {
            return;
        }
        if let Some(status) = service.exited() {
            panic!(
                "{what} exited ({status}) before committing; its log ends:\n{}",
                log_tail(&service.log_text(), 60)
            );
        }
        assert!(
            Instant::now() < deadline,
            "{what} committed nothing within 120 s; its log ends:\n{}",
            log_tail(&service.log_text(), 60)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A rolling update or a rescheduled pod (deploy/k8s's StatefulSet, docs/LIVE.md "Instance
/// identity, scale-down and rolling updates"): instances A and B share the group; B is
/// killed (SIGKILL, mid-run) and a new process starts under B's instance id, hence B's
/// transactional id and static membership, while A keeps running; then that one is stopped
/// with SIGTERM and replaced the same way. The read_committed outputs equal replay's, with
/// no duplicate id, and A never stopped.
pub(crate) fn replace_under_same_id(kafka: &Kafka) {
    let started = Instant::now();
    let partitions = 4;
    let (topics, company) = scenario_company(kafka, "replace", partitions, 3000, 6, 23);
    let group = format!("{}-group", topics.badges);
    let extra = [("ATTENDANCE__STATE__BATCH_MAX_MESSAGES", "500")];
    let env_a = service_env(kafka, &topics, &group, "replace-a", &extra);
    let env_b = service_env(kafka, &topics, &group, "replace-b", &extra);
    let log = |name: &str| company.dir.path().join(name);
    let mut a = Service::spawn(&company.config_dir(), &env_a, log("a.log"));
    let mut b = Service::spawn(&company.config_dir(), &env_b, log("b.log"));
    let mut replacement = None;
    std::thread::scope(|scope| {
        // A feed that outlasts the two replacements.
        scope.spawn(|| company.produce_badges_paced(kafka, &topics, 12, Duration::from_secs(1)));
        wait_committing(&mut a, "instance A");
        wait_committing(&mut b, "instance B");
        let (d, total) = done(kafka, &group, &topics, partitions).unwrap_or_default();
        eprintln!("replace: SIGKILL instance B at {d} of {total} committed input messages");
        b.kill();
        // The replacement's init_transactions aborts whatever B left open and fences B's
        // producer; its consumer takes B's place as the same static member.
        let mut b2 = Service::spawn(&company.config_dir(), &env_b, log("b2.log"));
        wait_committing(&mut b2, "B's replacement after SIGKILL");
        assert!(a.exited().is_none(), "A stopped while B was replaced");
        let (d, total) = done(kafka, &group, &topics, partitions).unwrap_or_default();
        eprintln!("replace: SIGTERM the replacement at {d} of {total}");
        let status = b2.terminate(Duration::from_secs(60));
        assert!(status.success(), "exit status after SIGTERM: {status}");
        let mut b3 = Service::spawn(&company.config_dir(), &env_b, log("b3.log"));
        let deadline = Instant::now() + Duration::from_secs(120);
        while !b3.log_text().contains("state restored") {
            assert!(
                b3.exited().is_none() && Instant::now() < deadline,
                "the second replacement got no partitions; its log ends:\n{}",
                log_tail(&b3.log_text(), 60)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        replacement = Some(b3);
    });
    kafka.wait_consumed(&group, &topics, &company, Duration::from_secs(300));
    assert!(a.exited().is_none(), "A stopped during the run");
    let live = Outputs::read(kafka, &topics);
    live.assert_same(
        &company.expected(None),
        "an instance replaced under its id twice",
    );
    for (name, service) in [
        ("A", a),
        ("B's second replacement", replacement.expect("b3")),
    ] {
        let status = service.terminate(Duration::from_secs(60));
        assert!(
            status.success(),
            "{name}: exit status after SIGTERM: {status}"
        );
    }
    eprintln!(
        "replace: {} badges, {} decisions, {:.1}s",
        company.badges(),
        live.decisions.len(),
        started.elapsed().as_secs_f64()
    );
}
