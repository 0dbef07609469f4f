//! Poison pills (issue 8): no input message can stop its partition.
//!
//! - Hostile sizes: a 200 KB badge of control bytes, twenty ~60 KB absences for one
//!   employee, and a badge at exactly the broker's `message.max.bytes`: the partition keeps
//!   flowing and the read_committed outputs equal replay.
//! - A record the broker refuses for good (a dead letter larger than the dead-letter topic's
//!   `max.message.bytes`): the transaction aborts, the pipeline rewinds and re-reads the batch
//!   one message per transaction, and dead-letters the message whose record was refused
//!   (`too_large`, payload cut to 1 KiB) — the abort-and-rewind path, forced.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use attendance_compliance::generate::GenerateOptions;
use sha2::Digest as _;

use crate::harness::{start_monday, Company, Kafka, Outputs, Service, ServiceEnv, Topics};

/// The broker's default `message.max.bytes` (Kafka 4): the largest record batch it takes.
const BROKER_MAX_BATCH: usize = 1_048_588;
/// Bytes a v2 record batch of one uncompressed record without headers adds to key and value
/// when the value needs a 3-byte length: 61 (batch header) + 11 (record framing).
const BATCH_OVERHEAD: usize = 72;

fn company(employees: u32, seed: u64, bad_fraction: f64, name: &str) -> (Company, GenerateOptions) {
    let options = GenerateOptions {
        employees,
        weeks: 3,
        start_monday: start_monday(3, 0),
        seed,
        bad_fraction,
        ..GenerateOptions::default()
    };
    (Company::generate(&options, 1, name), options)
}

/// The first active employee of the roster and their home site.
fn someone(company: &Company) -> (String, String) {
    let roster = std::fs::read_to_string(company.part(0, "roster.jsonl")).expect("roster");
    roster
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["status"] == "active")
        .and_then(|v| {
            Some((
                v["employee_id"].as_str()?.to_owned(),
                v["home_site"].as_str()?.to_owned(),
            ))
        })
        .expect("an active employee")
}

/// Appends `(key, value)` messages to partition 0's replay file and kcat file of `input`.
fn append(company: &Company, input: &str, messages: &[(Vec<u8>, Vec<u8>)]) {
    let open = |name: String| {
        std::fs::OpenOptions::new()
            .append(true)
            .open(company.part(0, &name))
            .expect("open input file")
    };
    let (mut replay, mut keyed) = (
        open(format!("{input}.jsonl")),
        open(format!("{input}.keyed")),
    );
    for (key, value) in messages {
        replay
            .write_all(value)
            .and_then(|()| replay.write_all(b"\n"))
            .expect("append");
        keyed
            .write_all(key)
            .and_then(|()| keyed.write_all(b"\t"))
            .and_then(|()| keyed.write_all(value))
            .and_then(|()| keyed.write_all(b"\n"))
            .expect("append");
    }
}

/// Writes `key\tvalue` lines for kcat.
fn keyed_file(path: &Path, messages: &[(Vec<u8>, Vec<u8>)]) {
    let mut f = std::fs::File::create(path).expect("create");
    for (key, value) in messages {
        f.write_all(key)
            .and_then(|()| f.write_all(b"\t"))
            .and_then(|()| f.write_all(value))
            .and_then(|()| f.write_all(b"\n"))
            .expect("write");
    }
}

fn spawn(
    company: &Company,
    kafka: &Kafka,
    topics: &Topics,
    name: &str,
    extra: &[(&str, &str)],
) -> Service {
    let group = format!("{}-group", topics.badges);
    let env = ServiceEnv {
        kafka,
        topics,
        group: &group,
        instance: name,
        extra: extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    Service::spawn(
        &company.config_dir(),
        &env,
        company.dir.path().join("service.log"),
    )
}

pub(crate) fn hostile_sizes(kafka: &Kafka) {
    let topics = Topics::unique("sizes");
    kafka.create_topics(&topics, 1, &[]);
    let (company, options) = company(300, 5, 0.0, "sizes");
    let (employee, site) = someone(&company);
    let key = employee.as_bytes().to_vec();

    // Twenty absences of ~60 KB each (each under §1's 64 KiB) for one employee: together
    // far more than one employee's state may hold (the engine's cap dead-letters the rest).
    let day = options.start_monday.format("%Y-%m-%d");
    let absences: Vec<(Vec<u8>, Vec<u8>)> = (0..20)
        .map(|i| {
            let kind = format!("leave-{i}-{}", "k".repeat(60_000));
            let value = format!(
                r#"{{"absence_id":"big-{i}","employee_id":"{employee}","start_date":"{day}","end_date":"{day}","kind":"{kind}","status":"approved"}}"#
            );
            (key.clone(), value.into_bytes())
        })
        .collect();
    append(&company, "absences", &absences);

    // A 200 KB badge of control bytes (each one escapes to six bytes in a dead letter).
    let control: Vec<u8> = (0..200_000u32)
        .map(|i| (1 + i % 31) as u8)
        .map(|b| {
            if matches!(b, b'\t' | b'\n' | b'\r') {
                0x1b
            } else {
                b
            }
        })
        .collect();
    let mut control_badge = br#"{"event_id":"ctl-1","employee_id":""#.to_vec();
    control_badge.extend_from_slice(&control);
    control_badge.extend_from_slice(br#""}"#);

    // A badge of exactly the broker's limit: its record batch is message.max.bytes long.
    let big_key = b"big".to_vec();
    let big_len = BROKER_MAX_BATCH - BATCH_OVERHEAD - big_key.len();
    let big_badge = |len: usize| -> Vec<u8> {
        let head = format!(
            r#"{{"event_id":"big-1","employee_id":"{employee}","site_id":"{site}","pad":""#
        );
        let mut v = head.into_bytes();
        v.resize(len - 2, b'x');
        v.extend_from_slice(br#""}"#);
        v
    };

    company.produce_tables(kafka, &topics);
    // Badges: the first half, the control badge, the big one alone (one record per batch,
    // so that its batch is exactly the limit), then the rest. Replay sees the same order.
    let all = std::fs::read(company.part(0, "badges.keyed")).expect("badges");
    let lines: Vec<&[u8]> = all.split_inclusive(|b| *b == b'\n').collect();
    let (first, rest) = lines.split_at(lines.len() / 2);
    let dir = company.dir.path();
    let first_file = dir.join("first.keyed");
    let mut first_bytes = first.concat();
    first_bytes.extend_from_slice(&key);
    first_bytes.push(b'\t');
    first_bytes.extend_from_slice(&control_badge);
    first_bytes.push(b'\n');
    std::fs::write(&first_file, first_bytes).expect("first half");
    kafka.produce(&first_file, &topics.badges, 0);

    // One byte more than the limit is refused by the broker: the limit is where we think.
    let over = dir.join("over.keyed");
    keyed_file(&over, &[(big_key.clone(), big_badge(big_len + 1))]);
    assert!(
        !kafka.try_produce(&over, &topics.badges, 0),
        "a batch one byte over message.max.bytes was accepted: the broker's limit is not {BROKER_MAX_BATCH}"
    );
    let exact = dir.join("exact.keyed");
    keyed_file(&exact, &[(big_key.clone(), big_badge(big_len))]);
    kafka.produce(&exact, &topics.badges, 0);
    let rest_file = dir.join("rest.keyed");
    std::fs::write(&rest_file, rest.concat()).expect("second half");
    kafka.produce(&rest_file, &topics.badges, 0);

    // Replay's input in the same order.
    let replay_badges = {
        let text = std::fs::read(company.part(0, "badges.jsonl")).expect("badges");
        let lines: Vec<&[u8]> = text.split_inclusive(|b| *b == b'\n').collect();
        let (a, b) = lines.split_at(lines.len() / 2);
        let mut out = a.concat();
        out.extend_from_slice(&control_badge);
        out.push(b'\n');
        out.extend_from_slice(&big_badge(big_len));
        out.push(b'\n');
        out.extend_from_slice(&b.concat());
        out
    };
    std::fs::write(company.part(0, "badges.jsonl"), replay_badges).expect("replay badges");

    let service = spawn(&company, kafka, &topics, "sizes-0", &[]);
    let group = format!("{}-group", topics.badges);
    // Every message, the hostile ones included, is committed: the partition kept flowing.
    let total = company.messages() + absences.len() as i64 + 2;
    kafka.wait_committed(&group, &topics, 1, total, Duration::from_secs(180));
    let live = Outputs::read(kafka, &topics);
    let expected = company.expected(None);
    live.assert_same(&expected, "hostile sizes");
    let too_large: Vec<serde_json::Value> = live
        .dead_letters
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "too_large")
        .collect();
    // The control badge, the big badge, and absences beyond the employee's cap.
    assert!(
        too_large.len() >= 3,
        "too_large dead letters: {}",
        too_large.len()
    );
    for v in &too_large {
        if let Some(bytes) = v["payload_bytes"].as_u64() {
            assert_eq!(v["payload_truncated"], true, "{v}");
            assert!(bytes > 64 * 1024, "{v}");
        }
    }
    let big_sha = format!("{:x}", sha2::Sha256::digest(big_badge(big_len)));
    assert!(
        too_large.iter().any(
            |v| v["payload_sha256"] == big_sha.as_str() && v["payload_bytes"] == big_len as u64
        ),
        "no truncated dead letter for the badge at the broker's limit"
    );
    assert!(
        !service.log_text().contains("aborting the transaction"),
        "hostile sizes made a transaction abort: {}",
        service.log_text()
    );
    let status = service.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

pub(crate) fn refused_record(kafka: &Kafka) {
    let topics = Topics::unique("refused");
    kafka.create_topics(&topics, 1, &[]);
    // Dead letters above 24 KB are refused by the broker, for good.
    kafka.set_topic_config(&topics.dead_letters, "max.message.bytes", "24000");
    let (company, _) = company(400, 9, 0.0, "refused");
    let (employee, _) = someone(&company);
    // A malformed badge of 60 KB: under §1's 64 KiB, so its dead letter (malformed_json)
    // carries all of it, and the broker refuses that record.
    let mut poison =
        format!(r#"{{"event_id":"p-1","employee_id":"{employee}","note":""#).into_bytes();
    // Random letters: the producer's lz4 cannot shrink it under the topic's limit.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while poison.len() < 60_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        poison.push(
            b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[(x % 62) as usize],
        );
    }
    let lines = std::fs::read(company.part(0, "badges.keyed")).expect("badges");
    let lines: Vec<&[u8]> = lines.split_inclusive(|b| *b == b'\n').collect();
    let at = lines.len() / 3;
    let mut keyed = lines[..at].concat();
    keyed.extend_from_slice(employee.as_bytes());
    keyed.push(b'\t');
    keyed.extend_from_slice(&poison);
    keyed.push(b'\n');
    keyed.extend_from_slice(&lines[at..].concat());
    std::fs::write(company.part(0, "badges.keyed"), keyed).expect("badges");
    let text = std::fs::read(company.part(0, "badges.jsonl")).expect("badges");
    let text: Vec<&[u8]> = text.split_inclusive(|b| *b == b'\n').collect();
    let mut replay = text[..at].concat();
    replay.extend_from_slice(&poison);
    replay.push(b'\n');
    replay.extend_from_slice(&text[at..].concat());
    std::fs::write(company.part(0, "badges.jsonl"), replay).expect("badges");

    company.produce_tables(kafka, &topics);
    company.produce_badges(kafka, &topics);
    let service = spawn(
        &company,
        kafka,
        &topics,
        "refused-0",
        &[("ATTENDANCE__STATE__BATCH_MAX_MESSAGES", "500")],
    );
    let group = format!("{}-group", topics.badges);
    let total = company.messages() + 1;
    kafka.wait_committed(&group, &topics, 1, total, Duration::from_secs(240));
    let live = Outputs::read(kafka, &topics);
    let expected = company.expected(None);
    // Everything replay computes, except the refused dead letter, which live replaces by a
    // short one.
    let refused_line = |v: &serde_json::Value| v["payload_bytes"] == poison.len() as u64;
    let parse = |l: &String| serde_json::from_str::<serde_json::Value>(l).expect("dead letter");
    let (live_refused, live_rest): (Vec<_>, Vec<_>) =
        live.dead_letters.iter().map(parse).partition(refused_line);
    let expected_rest: Vec<serde_json::Value> = expected
        .dead_letters
        .iter()
        .map(parse)
        .filter(|v| v["payload"].as_str() != std::str::from_utf8(&poison).ok())
        .collect();
    assert_eq!(
        expected.dead_letters.len(),
        expected_rest.len() + 1,
        "replay dead-letters the poison badge as malformed_json"
    );
    assert_eq!(live_rest, expected_rest, "the other dead letters");
    let same = Outputs {
        decisions: live.decisions.clone(),
        changes: live.changes.clone(),
        alerts: live.alerts.clone(),
        dead_letters: expected.dead_letters.clone(),
    };
    same.assert_same(&expected, "after a refused record");
    let [refused] = live_refused.as_slice() else {
        panic!("one refused dead letter expected, got {live_refused:?}");
    };
    assert_eq!(refused["reason"], "too_large");
    assert_eq!(refused["payload_truncated"], true);
    assert_eq!(
        refused["payload_sha256"],
        format!("{:x}", sha2::Sha256::digest(&poison)).as_str()
    );
    assert_eq!(refused["payload"].as_str().map(str::len), Some(1024));
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("refused by the broker")),
        "{refused}"
    );
    let log = service.log_text();
    assert!(
        log.contains("aborting the transaction and rewinding"),
        "no abort: {log}"
    );
    assert!(
        log.contains("dead-lettering a message whose records the broker refuses"),
        "{log}"
    );
    let metrics = service.metrics_text();
    assert!(
        metrics.contains("attendance_refused_messages_total 1\n"),
        "refused counter: {metrics}"
    );
    assert!(
        metrics.lines().any(
            |l| l.starts_with("attendance_transactions_total{result=\"aborted\"}")
                && !l.ends_with(" 0")
        ),
        "no aborted transaction counted"
    );
    let status = service.terminate(Duration::from_secs(60));
    assert!(status.success(), "exit status after SIGTERM: {status}");
}
