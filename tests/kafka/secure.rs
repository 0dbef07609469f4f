//! The service against the SASL_SSL broker of `scripts/kafka-secure-broker.sh` (TLS with a CA
//! made at run time, SCRAM-SHA-512, StandardAuthorizer with `allow.everyone.if.no.acl.found
//! =false`): it works with exactly the ACLs docs/SECURITY.md lists, fails fast naming the one
//! that is missing, reads compressed input, and never shows its password.
//!
//! The broker comes from `KAFKA_SECURE_*` (`scripts/kafka-secure-broker.sh env`); without it
//! the tests are skipped with a note, unless `REQUIRE_KAFKA_SECURE=1`. The tests' own clients
//! (topics, producing, reading) log in as the super user `admin` with rdkafka: Debian's kcat
//! links librdkafka 2.0.2, whose SCRAM Kafka 4 rejects (fixed in librdkafka 2.6.1).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use attendance_compliance::generate::GenerateOptions;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::harness::{
    start_monday, without_source, Company, Kafka, Outputs, Service, ServiceEnv, Topics,
};

/// The secure broker and what the tests need to use it.
struct Secure {
    /// Holds the tests' serial lock; `brokers` is the SASL_SSL bootstrap address.
    kafka: Kafka,
    ca: PathBuf,
    admin_properties: Vec<(String, String)>,
    service_user: String,
    service_password_file: PathBuf,
    script: PathBuf,
}

impl Secure {
    fn get(test: &str) -> Option<Self> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let found = (|| {
            Some((
                var("KAFKA_SECURE_BROKERS")?,
                var("KAFKA_SECURE_CA")?,
                var("KAFKA_SECURE_ADMIN_CONFIG")?,
                var("KAFKA_SECURE_SERVICE_USER")?,
                var("KAFKA_SECURE_SERVICE_PASSWORD_FILE")?,
                var("KAFKA_SECURE_SCRIPT")?,
            ))
        })();
        let Some((brokers, ca, admin, user, password_file, script)) = found else {
            assert!(
                std::env::var("REQUIRE_KAFKA_SECURE").as_deref() != Ok("1"),
                "{test}: REQUIRE_KAFKA_SECURE=1 but KAFKA_SECURE_* is not set \
                 (scripts/kafka-secure-broker.sh start prints it)"
            );
            eprintln!(
                "{test}: skipped (KAFKA_SECURE_* not set; scripts/test.sh starts \
                 scripts/kafka-secure-broker.sh)"
            );
            return None;
        };
        let text = std::fs::read_to_string(&admin).expect("admin client properties");
        let admin_properties = text
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Some(Self {
            kafka: Kafka::serial(brokers),
            ca: ca.into(),
            admin_properties,
            service_user: user,
            service_password_file: password_file.into(),
            script: script.into(),
        })
    }

    fn password(&self) -> String {
        std::fs::read_to_string(&self.service_password_file)
            .expect("service password file")
            .trim()
            .to_owned()
    }

    /// librdkafka settings of the super user.
    fn admin_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.kafka.brokers);
        for (k, v) in &self.admin_properties {
            config.set(k, v);
        }
        config
    }

    fn create_topics(&self, topics: &Topics, partitions: i32) {
        let admin: AdminClient<DefaultClientContext> =
            self.admin_config().create().expect("admin client");
        let new: Vec<NewTopic<'_>> = topics
            .all()
            .iter()
            .map(|(setting, name)| {
                let t = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
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
        let consumer: BaseConsumer = self.admin_config().create().expect("consumer");
        let deadline = Instant::now() + Duration::from_secs(30);
        for (_, name) in topics.all() {
            loop {
                let md = consumer.fetch_metadata(Some(name), Duration::from_secs(5));
                if md.is_ok_and(|md| {
                    md.topics()
                        .first()
                        .is_some_and(|t| t.error().is_none() && !t.partitions().is_empty())
                }) {
                    break;
                }
                assert!(Instant::now() < deadline, "topic {name} did not appear");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    /// Produces the `key\tvalue` lines of `file` to `topic` partition `p`, compressed.
    fn produce(&self, file: &Path, topic: &str, p: i32, compression: &str) {
        let producer: BaseProducer = self
            .admin_config()
            .set("enable.idempotence", "true")
            .set("compression.type", compression)
            .set("message.max.bytes", "2000000")
            .set("linger.ms", "20")
            .create()
            .expect("producer");
        let data = std::fs::read(file).expect("keyed file");
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let tab = line.iter().position(|b| *b == b'\t').expect("key\\tvalue");
            let (key, value) = (&line[..tab], &line[tab + 1..]);
            let mut record = BaseRecord::to(topic).partition(p).key(key).payload(value);
            loop {
                match producer.send(record) {
                    Ok(()) => break,
                    Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) => {
                        record = r;
                        producer.poll(Duration::from_millis(50));
                    }
                    Err((e, _)) => panic!("producing to {topic}: {e}"),
                }
            }
        }
        producer
            .flush(Duration::from_secs(60))
            .expect("flush the producer");
    }

    /// The company's inputs: roster (zstd), absences (gzip), badges in four slices with gzip,
    /// lz4, zstd and snappy.
    fn produce_company(&self, company: &Company, topics: &Topics) {
        let part = |name: &str| company.dir.path().join("p0").join(name);
        self.produce(&part("roster.keyed"), &topics.roster, 0, "zstd");
        self.produce(&part("absences.keyed"), &topics.absences, 0, "gzip");
        // SPEC v2 inputs: the co-partitioned adjustments and the whole site-outages topic.
        if part("adjustments.keyed").exists() {
            self.produce(&part("adjustments.keyed"), &topics.adjustments, 0, "lz4");
        }
        let outages = company.dir.path().join("outages.keyed");
        if outages.exists() {
            self.produce(&outages, &topics.outages, 0, "zstd");
        }
        let data = std::fs::read(part("badges.keyed")).expect("badges");
        let lines: Vec<&[u8]> = data.split_inclusive(|b| *b == b'\n').collect();
        let codecs = ["gzip", "lz4", "zstd", "snappy"];
        let per = lines.len().div_ceil(codecs.len()).max(1);
        for (chunk, codec) in lines.chunks(per).zip(codecs) {
            let file = part(&format!("badges-{codec}.keyed"));
            std::fs::write(&file, chunk.concat()).expect("chunk");
            self.produce(&file, &topics.badges, 0, codec);
        }
    }

    /// A topic as a read_committed consumer sees it (every partition, to the end).
    fn read(&self, topic: &str) -> Vec<String> {
        let consumer: BaseConsumer = self
            .admin_config()
            .set("group.id", "secure-test-reader")
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .set("enable.partition.eof", "true")
            .create()
            .expect("reader");
        let md = consumer
            .fetch_metadata(Some(topic), Duration::from_secs(10))
            .expect("metadata");
        let partitions = md.topics().first().map_or(0, |t| t.partitions().len());
        let mut tpl = TopicPartitionList::new();
        for p in 0..partitions as i32 {
            tpl.add_partition_offset(topic, p, Offset::Beginning)
                .expect("offset");
        }
        consumer.assign(&tpl).expect("assign");
        let mut values = Vec::new();
        let mut ended = BTreeSet::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while ended.len() < partitions {
            assert!(Instant::now() < deadline, "reading {topic} did not end");
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => values.push(
                    String::from_utf8(m.payload().unwrap_or_default().to_vec()).expect("utf-8"),
                ),
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    ended.insert(p);
                }
                Some(Err(e)) => panic!("reading {topic}: {e}"),
                None => {}
            }
        }
        values
    }

    /// The four outputs, sorted, as `harness::Outputs::read` makes them.
    fn outputs(&self, topics: &Topics) -> Outputs {
        let sorted = |mut v: Vec<String>| {
            v.sort();
            v
        };
        Outputs {
            decisions: sorted(self.read(&topics.decisions)),
            changes: sorted(self.read(&topics.changes)),
            alerts: sorted(self.read(&topics.alerts)),
            dead_letters: sorted(
                self.read(&topics.dead_letters)
                    .iter()
                    .map(|l| without_source(l))
                    .collect(),
            ),
        }
    }

    /// Committed offsets of `group` on the three inputs (partition 0), summed; `None` when
    /// nothing is committed.
    fn committed(&self, group: &str, topics: &Topics) -> Option<i64> {
        let consumer: BaseConsumer = self
            .admin_config()
            .set("group.id", group)
            .create()
            .expect("consumer");
        let mut tpl = TopicPartitionList::new();
        for t in [
            &topics.badges,
            &topics.roster,
            &topics.absences,
            &topics.adjustments,
        ] {
            tpl.add_partition(t, 0);
        }
        let committed = consumer
            .committed_offsets(tpl, Duration::from_secs(20))
            .expect("committed offsets");
        let offsets: Vec<i64> = committed
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            })
            .collect();
        (!offsets.is_empty()).then(|| offsets.iter().sum())
    }

    fn wait_consumed(
        &self,
        service: &mut Service,
        (group, topics): (&str, &Topics),
        company: &Company,
        limit: Duration,
    ) {
        let want = company.messages();
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = service.exited() {
                panic!("the service exited ({status}): {}", service.log_text());
            }
            let done = self.committed(group, topics).unwrap_or(0);
            if done >= want {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "group {group} committed {done} of {want} input messages within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `acl-add` or `acl-remove` for the service's principal; returns once the broker's
    /// authorizer shows the change.
    fn acl(&self, command: &str, bindings: &[String]) {
        let out = Command::new(&self.script)
            .arg(command)
            .arg(format!("User:{}", self.service_user))
            .args(bindings)
            .output()
            .expect("kafka-secure-broker.sh");
        assert!(
            out.status.success(),
            "{command} {bindings:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The service's settings for this broker: TLS with the test CA, SCRAM-SHA-512 as the
    /// service user, the password from a file.
    fn service_env(
        &self,
        prefix: &str,
        password_file: &Path,
        listen: &str,
    ) -> Vec<(String, String)> {
        [
            ("ATTENDANCE__KAFKA__CLIENT__SECURITY_PROTOCOL", "SASL_SSL"),
            (
                "ATTENDANCE__KAFKA__CLIENT__SASL_MECHANISMS",
                "SCRAM-SHA-512",
            ),
            (
                "ATTENDANCE__KAFKA__CLIENT__SASL_USERNAME",
                &self.service_user,
            ),
            (
                "ATTENDANCE__KAFKA__CLIENT__SSL_CA_LOCATION",
                self.ca.to_str().expect("utf-8 path"),
            ),
            (
                "ATTENDANCE__KAFKA__SASL_PASSWORD_FILE",
                password_file.to_str().expect("utf-8 path"),
            ),
            ("ATTENDANCE__KAFKA__TRANSACTIONAL_ID_PREFIX", prefix),
            ("ATTENDANCE__HTTP__LISTEN", listen),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
    }
}

/// Exactly the ACLs docs/SECURITY.md lists, as `kafka-secure-broker.sh` bindings, for a
/// service without the record API (`api.listen` unset): the record API's rows (the instance
/// directory's READ and WRITE, the access log's WRITE) are not granted, and the start-up checks
/// do not ask for them.
fn documented_acls(topics: &Topics, group: &str, prefix: &str) -> Vec<String> {
    let mut acls = Vec::new();
    for t in [
        &topics.badges,
        &topics.roster,
        &topics.absences,
        &topics.outages,
        &topics.adjustments,
        &topics.changelog,
    ] {
        acls.push(format!("topic:{t}:READ"));
    }
    for t in [
        &topics.decisions,
        &topics.changes,
        &topics.alerts,
        &topics.dead_letters,
        &topics.changelog,
    ] {
        acls.push(format!("topic:{t}:WRITE"));
    }
    acls.push(format!("group:{group}:READ"));
    acls.push(format!("transactional-id-prefix:{prefix}:WRITE"));
    acls
}

fn free_listen_address() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").to_string()
}

fn http_get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("connect to /metrics");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut body = String::new();
    stream.read_to_string(&mut body).expect("response");
    assert!(body.starts_with("HTTP/1.1 200"), "GET {path}: {body}");
    body
}

fn company(employees: u32, weeks: u32, name: &str) -> Company {
    let options = GenerateOptions {
        employees,
        weeks,
        start_monday: start_monday(weeks, 0),
        seed: 11,
        ..GenerateOptions::default()
    };
    Company::generate(&options, 1, name)
}

#[test]
fn secure_sasl_ssl_with_exactly_the_documented_acls_equals_replay() {
    let Some(secure) = Secure::get("secure_end_to_end") else {
        return;
    };
    let topics = Topics::unique("sec-e2e");
    secure.create_topics(&topics, 1);
    let company = company(300, 4, "sec-e2e");
    secure.produce_company(&company, &topics);
    let group = format!("{}-group", topics.badges);
    let prefix = format!("{}-txn", topics.badges);
    secure.acl("acl-add", &documented_acls(&topics, &group, &prefix));

    let listen = free_listen_address();
    let mut env = ServiceEnv {
        kafka: &secure.kafka,
        topics: &topics,
        group: &group,
        instance: "sec-0",
        extra: secure.service_env(&prefix, &secure.service_password_file, &listen),
    };
    // Everything librdkafka says about security and its configuration, to look for leaks.
    env.extra.push((
        "ATTENDANCE__KAFKA__CLIENT__DEBUG".into(),
        "security,conf".into(),
    ));
    env.extra
        .push(("ATTENDANCE__LOG__LEVEL".into(), "debug".into()));
    let log = company.dir.path().join("service.log");
    let mut service = Service::spawn(&company.config_dir(), &env, log);
    secure.wait_consumed(
        &mut service,
        (&group, &topics),
        &company,
        Duration::from_secs(180),
    );
    let metrics = http_get(&listen, "/metrics");
    let text = service.log_text();
    let status = service.terminate(Duration::from_secs(60));
    assert!(
        status.success(),
        "exit status after SIGTERM: {status}\n{text}"
    );

    let live = secure.outputs(&topics);
    let expected = company.expected(None);
    assert!(!expected.decisions.is_empty());
    live.assert_same(&expected, "SASL_SSL, compressed input");

    assert!(text.contains("kafka access checked"), "{text}");
    assert!(
        text.contains("SCRAM-SHA-512"),
        "librdkafka's security debug: {text}"
    );
    let password = secure.password();
    assert!(password.len() >= 16, "a real password");
    assert!(
        !text.contains(&password),
        "the password is in the service's log"
    );
    assert!(metrics.contains("attendance_"), "{metrics}");
    assert!(!metrics.contains(&password), "the password is in /metrics");
    let check = Command::new(Service::binary())
        .args(["check-config", "--config"])
        .arg(company.config_dir())
        .env(
            "ATTENDANCE__KAFKA__SASL_PASSWORD_FILE",
            &secure.service_password_file,
        )
        .output()
        .expect("check-config");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(check.status.success(), "check-config: {printed}");
    assert!(
        !printed.contains(&password),
        "the password is in check-config's output"
    );
}

#[test]
fn secure_each_missing_acl_fails_fast_naming_it_and_commits_nothing() {
    let Some(secure) = Secure::get("secure_missing_acl") else {
        return;
    };
    let topics = Topics::unique("sec-acl");
    secure.create_topics(&topics, 1);
    let company = company(40, 2, "sec-acl");
    secure.produce_company(&company, &topics);
    let group = format!("{}-group", topics.badges);
    let prefix = format!("{}-txn", topics.badges);
    let acls = documented_acls(&topics, &group, &prefix);
    secure.acl("acl-add", &acls);
    let listen = free_listen_address();
    let run = |extra: Vec<(String, String)>, what: &str| -> (bool, Duration, String) {
        let env = ServiceEnv {
            kafka: &secure.kafka,
            topics: &topics,
            group: &group,
            instance: "sec-acl-0",
            extra,
        };
        let log = company.dir.path().join(format!("service-{what}.log"));
        let started = Instant::now();
        let mut service = Service::spawn(&company.config_dir(), &env, log);
        let status = service.wait_for_exit(Duration::from_secs(90), what);
        (status.success(), started.elapsed(), service.log_text())
    };

    let transactional_id = format!("{prefix}-sec-acl-0");
    let cases = [
        (
            format!("topic:{}:READ", topics.badges),
            format!("not authorized to READ topic {}", topics.badges),
        ),
        (
            format!("topic:{}:READ", topics.changelog),
            format!("not authorized to READ topic {}", topics.changelog),
        ),
        (
            format!("topic:{}:WRITE", topics.decisions),
            format!("not authorized to WRITE topic {}", topics.decisions),
        ),
        (
            format!("topic:{}:WRITE", topics.changelog),
            format!("not authorized to WRITE topic {}", topics.changelog),
        ),
        (
            format!("group:{group}:READ"),
            format!("not authorized to READ group {group}"),
        ),
        (
            format!("transactional-id-prefix:{prefix}:WRITE"),
            format!("not authorized to WRITE transactional id {transactional_id}"),
        ),
    ];
    for (binding, message) in &cases {
        secure.acl("acl-remove", std::slice::from_ref(binding));
        let extra = secure.service_env(&prefix, &secure.service_password_file, &listen);
        let (success, elapsed, text) = run(extra, "missing-acl");
        eprintln!("without {binding}: exited in {elapsed:?}");
        assert!(
            !success,
            "without {binding} the service must exit non-zero: {text}"
        );
        assert!(
            text.contains(message),
            "without {binding}: expected {message:?} in:\n{text}"
        );
        // Fail fast: the issue asks for seconds, not a timeout loop.
        assert!(
            elapsed < Duration::from_secs(30),
            "without {binding} it took {elapsed:?} to fail"
        );
        secure.acl("acl-add", std::slice::from_ref(binding));
    }

    // A wrong password: refused, non-zero, and the wrong password is not printed either.
    let wrong = company.dir.path().join("wrong.password");
    let wrong_password = "Wr0ng-secret-that-must-not-be-logged-7f3a";
    std::fs::write(&wrong, format!("{wrong_password}\n")).expect("write");
    let (success, elapsed, text) = run(
        secure.service_env(&prefix, &wrong, &listen),
        "wrong-password",
    );
    assert!(!success, "a wrong password must fail: {text}");
    assert!(text.contains("kafka authentication failed"), "{text}");
    assert!(
        elapsed < Duration::from_secs(30),
        "a wrong password took {elapsed:?}"
    );
    assert!(
        !text.contains(wrong_password),
        "the wrong password is in the log"
    );
    assert!(
        !text.contains(&secure.password()),
        "the password is in the log"
    );

    // Nothing partial: no output, no changelog record, no committed offset.
    for topic in [
        &topics.decisions,
        &topics.changes,
        &topics.alerts,
        &topics.dead_letters,
        &topics.changelog,
    ] {
        assert_eq!(
            secure.read(topic),
            Vec::<String>::new(),
            "{topic} is not empty"
        );
    }
    assert_eq!(
        secure.committed(&group, &topics),
        None,
        "offsets were committed"
    );
}
