//! Helpers of the Kafka integration tests: the broker from `KAFKA_BROKERS`, unique topics,
//! a generated company split by partition, kcat as the independent producer and reader,
//! the service binary as a child process, and the expected outputs from `replay`.
//!
//! Partitioning: the tests choose each record's partition themselves (Kafka's murmur2
//! partitioner of employee_id, which the record API's routing assumes) and produce with
//! `kcat -p N`. The expected outputs are then `replay` run on
//! each partition's records separately, which is exactly what the live service computes
//! (per-partition watermark and first badge, SPEC §3.3/§3.4); with one partition it is
//! plain `replay` on the whole input.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use attendance_compliance::config::Config;
use attendance_compliance::domain::Timestamp;
use attendance_compliance::generate::{self, GenerateOptions, GenerateSummary};
use attendance_compliance::kafka::context::LogContext;
use attendance_compliance::replay::{self, ReplayInput};
use chrono::{Datelike, Days, NaiveDate, Utc};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

/// The Kafka tests share one broker and one of them restarts it: they run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

/// The broker, or `None` (test skipped) when `KAFKA_BROKERS` is unset and `REQUIRE_KAFKA` is
/// not `1`.
pub(crate) struct Kafka {
    pub(crate) brokers: String,
    _serial: MutexGuard<'static, ()>,
}

impl Kafka {
    pub(crate) fn get(test: &str) -> Option<Self> {
        match std::env::var("KAFKA_BROKERS") {
            Ok(brokers) if !brokers.is_empty() => Some(Self {
                brokers,
                _serial: SERIAL.lock().unwrap_or_else(|e| e.into_inner()),
            }),
            _ if std::env::var("REQUIRE_KAFKA").as_deref() == Ok("1") => {
                panic!("{test}: REQUIRE_KAFKA=1 but KAFKA_BROKERS is not set")
            }
            _ => {
                eprintln!(
                    "{test}: skipped (KAFKA_BROKERS not set; scripts/test.sh provides a broker)"
                );
                None
            }
        }
    }

    /// Another broker (the SASL_SSL one of `secure.rs`), serialised with the other tests.
    pub(crate) fn serial(brokers: String) -> Self {
        Self {
            brokers,
            _serial: SERIAL.lock().unwrap_or_else(|e| e.into_inner()),
        }
    }

    fn admin(&self) -> AdminClient<DefaultClientContext> {
        ClientConfig::new()
            .set("bootstrap.servers", &self.brokers)
            .create()
            .expect("admin client")
    }

    /// Creates the eleven topics of `topics` (inputs with `partitions`, except overrides; the
    /// changelog, the site outages and the instance directory compacted).
    pub(crate) fn create_topics(
        &self,
        topics: &Topics,
        partitions: i32,
        overrides: &[(&str, i32)],
    ) {
        let admin = self.admin();
        let names = topics.all();
        let new: Vec<NewTopic<'_>> = names
            .iter()
            .map(|(setting, name)| {
                let n = overrides
                    .iter()
                    .find(|(s, _)| s == setting)
                    .map_or(partitions, |(_, n)| *n);
                let t = NewTopic::new(name, n, TopicReplication::Fixed(1));
                if matches!(*setting, "changelog" | "outages" | "instances") {
                    t.set("cleanup.policy", "compact")
                } else {
                    t
                }
            })
            .collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let results = runtime
            .block_on(admin.create_topics(&new, &AdminOptions::new()))
            .expect("create topics");
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
        }
        // Wait until the metadata lists every topic (bounded).
        let consumer: BaseConsumer = self.client_config("meta").create().expect("consumer");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let md = consumer
                .fetch_metadata(None, Duration::from_secs(5))
                .expect("metadata");
            let ready = names.iter().all(|(_, n)| {
                md.topics()
                    .iter()
                    .any(|t| t.name() == *n && !t.partitions().is_empty())
            });
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "topics did not appear in metadata"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Creates one more topic with `partitions` and waits (bounded) until metadata lists it.
    pub(crate) fn create_topic(&self, name: &str, partitions: i32) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let new = [NewTopic::new(name, partitions, TopicReplication::Fixed(1))];
        let results = runtime
            .block_on(self.admin().create_topics(&new, &AdminOptions::new()))
            .expect("create topic");
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("creating topic {t}: {e}"));
        }
        let consumer: BaseConsumer = self.client_config("meta").create().expect("consumer");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !consumer
            .fetch_metadata(Some(name), Duration::from_secs(5))
            .is_ok_and(|md| md.topics().iter().any(|t| !t.partitions().is_empty()))
        {
            assert!(
                Instant::now() < deadline,
                "{name} did not appear in metadata"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn client_config(&self, group: &str) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers)
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed");
        c
    }

    /// Committed offset of `group` and end offset, per input topic-partition.
    pub(crate) fn progress(&self, group: &str, topics: &Topics, partitions: i32) -> (i64, i64) {
        self.try_progress(group, topics, partitions)
            .unwrap_or_else(|e| panic!("reading the progress of {group}: {e}"))
    }

    /// [`Kafka::progress`], or the error (a broker that is restarting).
    pub(crate) fn try_progress(
        &self,
        group: &str,
        topics: &Topics,
        partitions: i32,
    ) -> Result<(i64, i64), rdkafka::error::KafkaError> {
        let consumer: BaseConsumer = self.client_config(group).create()?;
        let mut tpl = TopicPartitionList::new();
        for t in [
            &topics.badges,
            &topics.roster,
            &topics.absences,
            &topics.adjustments,
        ] {
            for p in 0..partitions {
                tpl.add_partition(t, p);
            }
        }
        let committed = consumer.committed_offsets(tpl, Duration::from_secs(20))?;
        let (mut done, mut total) = (0, 0);
        for e in committed.elements() {
            let (_, high) =
                consumer.fetch_watermarks(e.topic(), e.partition(), Duration::from_secs(10))?;
            total += high;
            if let Offset::Offset(o) = e.offset() {
                done += o;
            }
        }
        Ok((done, total))
    }

    /// Waits until `group` has committed every input message (bounded by `limit`).
    pub(crate) fn wait_consumed(
        &self,
        group: &str,
        topics: &Topics,
        company: &Company,
        limit: Duration,
    ) {
        self.wait_committed(group, topics, company.partitions, company.messages(), limit);
    }

    /// Waits until `group` has committed `want` input messages over `partitions`, and every
    /// message of its input topics (bounded by `limit`).
    pub(crate) fn wait_committed(
        &self,
        group: &str,
        topics: &Topics,
        partitions: i32,
        want: i64,
        limit: Duration,
    ) {
        let deadline = Instant::now() + limit;
        loop {
            // Transient errors (a broker that just restarted) are retried until the deadline.
            let progress = self.try_progress(group, topics, partitions);
            if let Ok((done, total)) = progress {
                if done >= want && done == total {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "group {group} committed {done} of {want} input messages within {limit:?}"
                );
            }
            assert!(
                Instant::now() < deadline,
                "no progress reading within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Waits (bounded) until `group` has committed every message of every partition of the
    /// site-outages `topic` (the writer of each partition's dead letters commits its offsets).
    pub(crate) fn wait_outages_committed(&self, group: &str, topic: &str, limit: Duration) {
        let consumer: BaseConsumer = self.client_config(group).create().expect("consumer");
        let deadline = Instant::now() + limit;
        loop {
            let md = consumer
                .fetch_metadata(Some(topic), Duration::from_secs(10))
                .expect("metadata");
            let mut tpl = TopicPartitionList::new();
            for t in md.topics() {
                for p in t.partitions() {
                    tpl.add_partition(topic, p.id());
                }
            }
            let done = consumer
                .committed_offsets(tpl, Duration::from_secs(20))
                .is_ok_and(|committed| {
                    committed.elements().iter().all(|e| {
                        let at = match e.offset() {
                            Offset::Offset(o) => o,
                            _ => 0,
                        };
                        consumer
                            .fetch_watermarks(topic, e.partition(), Duration::from_secs(10))
                            .is_ok_and(|(_, high)| at >= high)
                    })
                });
            if done {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{group} did not commit every site-outage message of {topic}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits (bounded) until no transaction is open on the output topics: a killed
    /// instance's transaction blocks read_committed readers (the last stable offset) until
    /// the broker aborts it after `transaction.timeout.ms`.
    pub(crate) fn wait_settled(&self, topics: &Topics) {
        let committed: BaseConsumer = self.client_config("settle").create().expect("consumer");
        let uncommitted: BaseConsumer = self
            .client_config("settle")
            .set("isolation.level", "read_uncommitted")
            .create()
            .expect("consumer");
        let md = committed
            .fetch_metadata(None, Duration::from_secs(10))
            .expect("metadata");
        let deadline = Instant::now() + Duration::from_secs(90);
        for topic in [
            &topics.decisions,
            &topics.changes,
            &topics.alerts,
            &topics.dead_letters,
        ] {
            let partitions = md
                .topics()
                .iter()
                .find(|t| t.name() == topic.as_str())
                .map_or(0, |t| t.partitions().len() as i32);
            for p in 0..partitions {
                loop {
                    let w =
                        |c: &BaseConsumer| c.fetch_watermarks(topic, p, Duration::from_secs(10));
                    if let (Ok((_, stable)), Ok((_, high))) = (w(&committed), w(&uncommitted)) {
                        if stable >= high {
                            break;
                        }
                    }
                    assert!(
                        Instant::now() < deadline,
                        "{topic}[{p}] keeps an open transaction"
                    );
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
    }

    /// Values of a topic as a read_committed consumer sees them (`kcat`).
    pub(crate) fn read(&self, topic: &str, format: &str) -> Vec<String> {
        let out = Command::new("kcat")
            .args(["-C", "-b", &self.brokers, "-t", topic, "-e", "-q"])
            .args(["-X", "isolation.level=read_committed", "-f", format])
            .output()
            .expect("kcat -C");
        assert!(
            out.status.success(),
            "kcat -C {topic}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .expect("utf-8 output")
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// Produces `key\tvalue` lines of `file` to `topic` partition `p` with kcat.
    pub(crate) fn produce(&self, file: &Path, topic: &str, p: i32) {
        assert!(
            self.try_produce(file, topic, p),
            "kcat -P {topic}:{p} failed"
        );
    }

    /// [`Kafka::produce`]; false when kcat reports a message it could not deliver.
    pub(crate) fn try_produce(&self, file: &Path, topic: &str, p: i32) -> bool {
        let status = Command::new("kcat")
            .args([
                "-P",
                "-b",
                &self.brokers,
                "-t",
                topic,
                "-p",
                &p.to_string(),
                "-K",
                "\t",
            ])
            .args([
                "-X",
                "enable.idempotence=true",
                "-X",
                "message.max.bytes=2000000",
            ])
            .args(["-X", "linger.ms=20"])
            // From stdin: one message per line (a file argument would be one message).
            .stdin(std::fs::File::open(file).expect("open keyed file"))
            .status()
            .expect("kcat -P");
        status.success()
    }

    /// Sets one configuration value of `topic` (incremental alter, bounded wait).
    pub(crate) fn set_topic_config(&self, topic: &str, key: &str, value: &str) {
        use rdkafka::admin::{AlterConfig, ResourceSpecifier};
        let admin = self.admin();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let change = AlterConfig::new(ResourceSpecifier::Topic(topic)).set(key, value);
        let results = runtime
            .block_on(admin.alter_configs(&[change], &AdminOptions::new()))
            .expect("alter configs");
        for r in results {
            r.unwrap_or_else(|(resource, e)| panic!("altering {resource:?}: {e}"));
        }
    }
}

/// Topic names of one test: `<prefix>-badges`, ...
pub(crate) struct Topics {
    pub(crate) badges: String,
    pub(crate) roster: String,
    pub(crate) absences: String,
    pub(crate) outages: String,
    pub(crate) adjustments: String,
    pub(crate) decisions: String,
    pub(crate) changes: String,
    pub(crate) alerts: String,
    pub(crate) dead_letters: String,
    pub(crate) changelog: String,
    pub(crate) instances: String,
}

impl Topics {
    /// Unique names for `test`.
    pub(crate) fn unique(test: &str) -> Self {
        let stamp = Utc::now().format("%H%M%S%3f");
        let prefix = format!("it-{test}-{stamp}");
        let name = |s: &str| format!("{prefix}-{s}");
        Self {
            badges: name("badges"),
            roster: name("roster"),
            absences: name("absences"),
            outages: name("outages"),
            adjustments: name("adjustments"),
            decisions: name("decisions"),
            changes: name("changes"),
            alerts: name("alerts"),
            dead_letters: name("dead-letters"),
            changelog: name("changelog"),
            instances: name("instances"),
        }
    }

    pub(crate) fn all(&self) -> [(&'static str, &str); 11] {
        [
            ("badges", &self.badges),
            ("roster", &self.roster),
            ("absences", &self.absences),
            ("outages", &self.outages),
            ("adjustments", &self.adjustments),
            ("decisions", &self.decisions),
            ("changes", &self.changes),
            ("alerts", &self.alerts),
            ("dead_letters", &self.dead_letters),
            ("changelog", &self.changelog),
            ("instances", &self.instances),
        ]
    }
}

/// The partition the tests give an employee: Kafka's default partitioner (murmur2), which the
/// record API's routing assumes (SPEC §10 "Routing").
pub(crate) fn partition_of(key: &[u8], partitions: i32) -> i32 {
    let n = usize::try_from(partitions).expect("a positive partition count");
    attendance_compliance::api::routing::partition_for(key, n).expect("a partition")
}

/// Produces `value` under `key` to `topic`'s `partition`, waiting while the producer's
/// queue is full (back-pressure from a producer that outruns the broker: the wait ends when
/// librdkafka has sent some of it, not at a guessed time); any other error fails the test.
pub(crate) fn send_waiting(
    producer: &ThreadedProducer<LogContext>,
    topic: &str,
    partition: i32,
    key: &[u8],
    value: &[u8],
) {
    let mut record = BaseRecord::<[u8], [u8]>::to(topic)
        .partition(partition)
        .key(key)
        .payload(value);
    loop {
        match producer.send(record) {
            Ok(()) => return,
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((e, _)) => panic!("producing to {topic}: {e}"),
        }
    }
}

/// The employee_id of a raw input line, or `-` when none can be found (bad lines).
fn key_of(line: &[u8]) -> Vec<u8> {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(line) {
        if let Some(serde_json::Value::String(id)) = map.get("employee_id") {
            if !id.is_empty() && !id.contains(['\t', '\n']) {
                return id.as_bytes().to_vec();
            }
        }
    }
    b"-".to_vec()
}

/// The outage_id of a raw site-outage line, or `-`.
fn outage_key(line: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(line)
        .ok()
        .and_then(|v| v["outage_id"].as_str().map(str::to_owned))
        .filter(|id| !id.is_empty() && !id.contains(['\t', '\n']))
        .unwrap_or_else(|| "-".to_owned())
}

/// `outages.keyed` (kcat input) from a generated `outages.jsonl`, when there is one.
fn write_keyed_outages(dir: &Path) {
    let Ok(data) = std::fs::read_to_string(dir.join("outages.jsonl")) else {
        return;
    };
    let mut keyed = String::new();
    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        keyed.push_str(&format!("{}\t{line}\n", outage_key(line.as_bytes())));
    }
    std::fs::write(dir.join("outages.keyed"), keyed).expect("write");
}

/// Appends `line` and a line end to `file`.
fn append(file: &Path, line: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(file)
        .expect("open");
    writeln!(f, "{line}").expect("append");
}

/// The Monday `weeks` weeks before this week's Monday: the generated period ends with the
/// last full week (its `future_timestamp` lines then lie in the real future).
pub(crate) fn start_monday(weeks: u32, weeks_back: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    let monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    monday - Days::new(7 * u64::from(weeks + weeks_back))
}

/// The employee-keyed inputs, split by partition (`adjustments.jsonl` when generate writes one).
const INPUTS: [&str; 4] = ["roster", "absences", "adjustments", "badges"];

/// `target/tmp/kafka-it/<name>`: kept when the test fails (service logs, replay outputs),
/// removed when it passes.
pub(crate) struct Workdir(PathBuf);

impl Workdir {
    fn new(name: &str) -> Self {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("kafka-it")
            .join(name);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("work dir");
        Self(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Workdir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("test files kept in {}", self.0.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

/// A generated company, split by partition into replay files and keyed kcat files.
pub(crate) struct Company {
    pub(crate) dir: Workdir,
    pub(crate) summary: GenerateSummary,
    pub(crate) partitions: i32,
    /// Lines per input (roster, absences, badges) and partition.
    pub(crate) counts: BTreeMap<(&'static str, i32), u64>,
}

impl Company {
    pub(crate) fn generate(options: &GenerateOptions, partitions: i32, name: &str) -> Self {
        let dir = Workdir::new(name);
        let summary = generate::generate(options, dir.path()).expect("generate");
        let mut counts = BTreeMap::new();
        for input in INPUTS {
            let file = dir.path().join(format!("{input}.jsonl"));
            let data = if input == "adjustments" && !file.exists() {
                Vec::new()
            } else {
                std::fs::read(file).expect("read")
            };
            let mut replay_files = Vec::new();
            let mut kcat_files = Vec::new();
            for p in 0..partitions {
                let part = dir.path().join(format!("p{p}"));
                std::fs::create_dir_all(&part).expect("mkdir");
                let open = |name: String| {
                    std::io::BufWriter::new(std::fs::File::create(part.join(name)).expect("create"))
                };
                replay_files.push(open(format!("{input}.jsonl")));
                kcat_files.push(open(format!("{input}.keyed")));
            }
            for raw in data.split(|b| *b == b'\n') {
                let line = raw.strip_suffix(b"\r").unwrap_or(raw);
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue; // replay skips these too; kcat would send empty messages
                }
                let key = key_of(line);
                let p = partition_of(&key, partitions);
                let r = &mut replay_files[p as usize];
                r.write_all(line)
                    .and_then(|()| r.write_all(b"\n"))
                    .expect("write");
                let k = &mut kcat_files[p as usize];
                k.write_all(&key)
                    .and_then(|()| k.write_all(b"\t"))
                    .and_then(|()| k.write_all(line))
                    .and_then(|()| k.write_all(b"\n"))
                    .expect("write");
                *counts.entry((input, p)).or_default() += 1;
            }
            for mut f in replay_files.into_iter().chain(kcat_files) {
                f.flush().expect("flush");
            }
        }
        write_keyed_outages(dir.path());
        Self {
            dir,
            summary,
            partitions,
            counts,
        }
    }

    /// Appends a site-outage line (keyed by its outage_id) to the company's outages, which
    /// every partition's replay reads; returns the kcat file of just that line.
    pub(crate) fn add_outage(&self, line: &str) -> PathBuf {
        append(&self.dir.path().join("outages.jsonl"), line);
        let key = outage_key(line.as_bytes());
        let file = self.dir.path().join("outage-late.keyed");
        std::fs::write(&file, format!("{key}\t{line}\n")).expect("write");
        file
    }

    /// Appends an adjustment line to partition `p`'s replay input; returns the kcat file of
    /// just that line (keyed by its employee_id).
    pub(crate) fn add_adjustment(&self, p: i32, line: &str) -> PathBuf {
        append(&self.part(p, "adjustments.jsonl"), line);
        let key = String::from_utf8_lossy(&key_of(line.as_bytes())).into_owned();
        let file = self.part(p, "adjustment-late.keyed");
        std::fs::write(&file, format!("{key}\t{line}\n")).expect("write");
        file
    }

    pub(crate) fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub(crate) fn part(&self, p: i32, name: &str) -> PathBuf {
        self.dir.path().join(format!("p{p}")).join(name)
    }

    /// Every input message of every topic and partition.
    pub(crate) fn messages(&self) -> i64 {
        self.counts.values().sum::<u64>() as i64
    }

    /// Roster and absence messages, every partition.
    pub(crate) fn counts_tables(&self) -> i64 {
        self.counts
            .iter()
            .filter(|((input, _), _)| *input != "badges")
            .map(|(_, n)| *n as i64)
            .sum()
    }

    pub(crate) fn badges(&self) -> u64 {
        (0..self.partitions)
            .map(|p| self.counts.get(&("badges", p)).copied().unwrap_or(0))
            .sum()
    }

    /// Roster, absences, site outages, then adjustments, every partition (before any badge,
    /// like replay). Outages (keyed by outage_id) go to partition 0 of their topic.
    pub(crate) fn produce_tables(&self, kafka: &Kafka, topics: &Topics) {
        for (input, topic) in [("roster", &topics.roster), ("absences", &topics.absences)] {
            for p in 0..self.partitions {
                kafka.produce(&self.part(p, &format!("{input}.keyed")), topic, p);
            }
        }
        let outages = self.dir.path().join("outages.keyed");
        if outages.exists() {
            kafka.produce(&outages, &topics.outages, 0);
        }
        for p in 0..self.partitions {
            if self.counts.get(&("adjustments", p)).copied().unwrap_or(0) > 0 {
                kafka.produce(&self.part(p, "adjustments.keyed"), &topics.adjustments, p);
            }
        }
    }

    /// Badges in `chunks` slices per partition, `pause` apart: a feed that lasts a while.
    pub(crate) fn produce_badges_paced(
        &self,
        kafka: &Kafka,
        topics: &Topics,
        chunks: usize,
        pause: Duration,
    ) {
        let slices: Vec<Vec<Vec<u8>>> = (0..self.partitions)
            .map(|p| {
                let data = std::fs::read(self.part(p, "badges.keyed")).expect("keyed badges");
                let lines: Vec<&[u8]> = data.split_inclusive(|b| *b == b'\n').collect();
                let per = lines.len().div_ceil(chunks).max(1);
                lines.chunks(per).map(|c| c.concat()).collect()
            })
            .collect();
        for c in 0..chunks {
            for p in 0..self.partitions {
                if let Some(slice) = slices[p as usize].get(c) {
                    let file = self.part(p, &format!("badges-{c}.keyed"));
                    std::fs::write(&file, slice).expect("chunk");
                    kafka.produce(&file, &topics.badges, p);
                }
            }
            std::thread::sleep(pause);
        }
    }

    pub(crate) fn produce_badges(&self, kafka: &Kafka, topics: &Topics) {
        for p in 0..self.partitions {
            kafka.produce(&self.part(p, "badges.keyed"), &topics.badges, p);
        }
    }

    /// Replay of each partition's records, outputs merged; `now`: replay's `--now`. Every
    /// partition's replay reads every site outage (`outages.jsonl` of the company, if any);
    /// their dead letters are written once live, so only partition 0's are kept.
    pub(crate) fn expected(&self, now: Option<Timestamp>) -> Outputs {
        let loaded = Config::load_with_env(&self.config_dir(), Vec::new()).expect("config");
        let mut outputs = Outputs::default();
        let outages = self.dir.path().join("outages.jsonl");
        let present = |f: PathBuf| f.exists().then_some(f);
        for p in 0..self.partitions {
            let out = self.dir.path().join(format!("replay-p{p}"));
            let input = ReplayInput {
                badges: self.part(p, "badges.jsonl"),
                roster: Some(self.part(p, "roster.jsonl")),
                absences: Some(self.part(p, "absences.jsonl")),
                outages: present(outages.clone()),
                adjustments: present(self.part(p, "adjustments.jsonl")),
                advance_to: now,
                clock: now.unwrap_or_else(|| Timestamp::from_chrono(Utc::now())),
                out: out.clone(),
                progress: false,
            };
            replay::replay(&loaded.config, &input).expect("replay");
            let read = |name: &str| -> Vec<String> {
                std::fs::read_to_string(out.join(name))
                    .expect("replay output")
                    .lines()
                    .map(str::to_owned)
                    .collect()
            };
            outputs.decisions.extend(read("decisions.jsonl"));
            outputs.changes.extend(read("compliance-changes.jsonl"));
            outputs.alerts.extend(read("manager-alerts.jsonl"));
            outputs.dead_letters.extend(
                read("dead-letters.jsonl")
                    .iter()
                    .filter(|l| p == 0 || !l.contains("\"file\":\"outages.jsonl\""))
                    .map(|l| without_source(l)),
            );
        }
        outputs.sort();
        outputs
    }
}

/// A dead letter without its `source` (Kafka coordinates live, file and line in replay),
/// and without the `detail` of a `future_timestamp` one (it quotes the processing clock).
pub(crate) fn without_source(line: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line).expect("dead letter JSON");
    if let Some(map) = v.as_object_mut() {
        map.remove("source");
        if map.get("reason").and_then(|r| r.as_str()) == Some("future_timestamp") {
            map.remove("detail");
        }
    }
    v.to_string()
}

/// The four outputs, each sorted.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Outputs {
    pub(crate) decisions: Vec<String>,
    pub(crate) changes: Vec<String>,
    pub(crate) alerts: Vec<String>,
    pub(crate) dead_letters: Vec<String>,
}

impl Outputs {
    fn sort(&mut self) {
        self.decisions.sort();
        self.changes.sort();
        self.alerts.sort();
        self.dead_letters.sort();
    }

    /// What a read_committed consumer sees on the output topics, once no transaction is open.
    pub(crate) fn read(kafka: &Kafka, topics: &Topics) -> Self {
        kafka.wait_settled(topics);
        let mut o = Self {
            decisions: kafka.read(&topics.decisions, "%s\n"),
            changes: kafka.read(&topics.changes, "%s\n"),
            alerts: kafka.read(&topics.alerts, "%s\n"),
            dead_letters: kafka
                .read(&topics.dead_letters, "%s\n")
                .iter()
                .map(|l| without_source(l))
                .collect(),
        };
        o.sort();
        o
    }

    /// Panics unless `self` equals `expected`, naming the first differences.
    pub(crate) fn assert_same(&self, expected: &Outputs, what: &str) {
        for (name, live, want) in [
            ("decisions", &self.decisions, &expected.decisions),
            ("compliance changes", &self.changes, &expected.changes),
            ("alerts", &self.alerts, &expected.alerts),
            ("dead letters", &self.dead_letters, &expected.dead_letters),
        ] {
            if live != want {
                fn count(v: &[String]) -> BTreeMap<&String, usize> {
                    let mut m = BTreeMap::<&String, usize>::new();
                    for l in v {
                        *m.entry(l).or_default() += 1;
                    }
                    m
                }
                let (cl, cw) = (count(live), count(want));
                for (l, n) in &cw {
                    if cl.get(l) != Some(n) {
                        eprintln!("replay has {n}, live {:?}: {l}", cl.get(l));
                    }
                }
                for (l, n) in &cl {
                    if !cw.contains_key(l) {
                        eprintln!("live has {n}, replay none: {l}");
                    }
                }
                let missing: Vec<&String> =
                    want.iter().filter(|l| !live.contains(l)).take(3).collect();
                let extra: Vec<&String> =
                    live.iter().filter(|l| !want.contains(l)).take(3).collect();
                panic!(
                    "{what}: {name} differ: live {} records, replay {}; missing e.g. {missing:#?}; \
                     unexpected e.g. {extra:#?}",
                    live.len(),
                    want.len()
                );
            }
        }
        assert_unique_ids(&self.decisions, "decision_id");
        assert_unique_ids(&self.changes, "change_id");
        assert_unique_ids(&self.alerts, "alert_id");
    }
}

/// No id appears twice (exactly-once: nothing repeated).
pub(crate) fn assert_unique_ids(lines: &[String], field: &str) {
    let mut seen = std::collections::HashSet::new();
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).expect("output JSON");
        let id = v[field].as_str().expect("id field").to_owned();
        assert!(seen.insert(id.clone()), "{field} {id} appears twice");
    }
}

/// A running `attendance-compliance run`.
pub(crate) struct Service {
    pub(crate) child: Child,
    pub(crate) log: PathBuf,
}

/// Settings every test gives the service.
pub(crate) struct ServiceEnv<'a> {
    pub(crate) kafka: &'a Kafka,
    pub(crate) topics: &'a Topics,
    pub(crate) group: &'a str,
    pub(crate) instance: &'a str,
    pub(crate) extra: Vec<(String, String)>,
}

impl Service {
    pub(crate) fn binary() -> PathBuf {
        match std::env::var("ATTENDANCE_BIN") {
            Ok(bin) if !bin.is_empty() => PathBuf::from(bin),
            _ => PathBuf::from(env!("CARGO_BIN_EXE_attendance-compliance")),
        }
    }

    pub(crate) fn spawn(config_dir: &Path, env: &ServiceEnv<'_>, log: PathBuf) -> Self {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let mut command = Command::new(Self::binary());
        command.args(["run", "--config"]).arg(config_dir);
        for (name, _) in std::env::vars() {
            if name.to_ascii_uppercase().starts_with("ATTENDANCE__") {
                command.env_remove(name);
            }
        }
        command
            .env("ATTENDANCE__KAFKA__BROKERS", &env.kafka.brokers)
            .env("ATTENDANCE__KAFKA__GROUP_ID", env.group)
            .env("ATTENDANCE__KAFKA__CLIENT__GROUP_INSTANCE_ID", env.instance)
            .env("ATTENDANCE__KAFKA__CLIENT__SESSION_TIMEOUT_MS", "6000")
            .env("ATTENDANCE__KAFKA__CLIENT__TRANSACTION_TIMEOUT_MS", "10000")
            .env("ATTENDANCE__HTTP__LISTEN", "127.0.0.1:0")
            .env("ATTENDANCE__LOG__FORMAT", "text")
            .env("ATTENDANCE__LOG__LEVEL", "info")
            // Strict equality with replay: no idle advance during the test.
            .env("ATTENDANCE__TIME__IDLE_ADVANCE_AFTER", "3650d");
        for (setting, name) in env.topics.all() {
            command.env(
                format!("ATTENDANCE__TOPICS__{}", setting.to_ascii_uppercase()),
                name,
            );
        }
        for (k, v) in &env.extra {
            command.env(k, v);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("spawn attendance-compliance run");
        Self { child, log }
    }

    /// SIGKILL, no chance to clean up.
    pub(crate) fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then wait (bounded) for the exit status.
    pub(crate) fn terminate(mut self, limit: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(status.success(), "kill -TERM {pid}");
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "service did not exit within {limit:?} of SIGTERM; log {}",
                    self.log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The exit status if it has exited.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait")
    }

    /// Waits (polling, bounded by `limit`) for the process to exit on its own; panics with
    /// `what` when it is still running at the deadline.
    pub(crate) fn wait_for_exit(&mut self, limit: Duration, what: &str) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exited() {
                return status;
            }
            assert!(Instant::now() < deadline, "service kept running {what}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The log so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `/metrics` of the running service (its address is in the start-up log line).
    pub(crate) fn metrics_text(&self) -> String {
        use std::io::Read as _;
        let log = self.log_text();
        let addr = log
            .split_whitespace()
            .find_map(|w| w.strip_prefix("listen="))
            .unwrap_or_else(|| panic!("no listen= in the log: {log}"));
        let mut stream = std::net::TcpStream::connect(addr).expect("connect to /metrics");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream
            .write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
            .expect("request");
        let mut response = String::new();
        stream.read_to_string(&mut response).expect("response");
        response
    }
}

impl Drop for Service {
    /// A test that fails midway must not leave a service running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
