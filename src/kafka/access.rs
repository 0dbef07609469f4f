//! Start-up access checks: before the service consumes anything, prove that the broker grants
//! every ACL the service needs (docs/SECURITY.md lists them) and fail fast, naming the
//! resource and the operation, when one is missing. Without these checks a missing ACL shows
//! up late and vaguely: a group READ missing makes the subscription wait forever, a topic
//! WRITE missing aborts the first transaction hours later and retries it in a loop.
//!
//! What is checked, in order, each with a bounded wait (seconds):
//! 1. topic DESCRIBE, per topic: a metadata request naming the topic (a request for all
//!    topics silently leaves out the ones we may not see);
//! 2. group READ: an OffsetFetch for the group (fails at once with GroupAuthorizationFailed);
//! 3. topic READ, per input topic, the changelog and (record API on) the instance directory:
//!    a fetch at the end of partition 0 (end of partition or a message = allowed;
//!    TopicAuthorizationFailed = denied);
//! 4. transactional id WRITE: `init_transactions` with the service's own transactional id;
//! 5. group READ for transactional offset commits and topic WRITE, per output topic, the
//!    changelog and (record API on) the instance directory and the access log: a transaction
//!    that sends one empty probe record (key [`PROBE_KEY`]) to partition 0 and the group's
//!    offsets, then is **aborted**. A read_committed consumer never sees the probe; nothing is
//!    committed. (The directory and the access log are written by idempotent producers
//!    outside the transactions; the WRITE ACL they need is the same.)
//!
//! Topics that do not exist are skipped here; `topics::check_topics` reports them. Kafka 4
//! needs no cluster ACL: IDEMPOTENT_WRITE is not required since KIP-679 (Kafka 3.0), the
//! transactional id WRITE covers the producer id.
//!
//! Must not: consume or commit anything, or log a client property (secrets live there).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use super::clients;
use super::context::LogContext;
use crate::config::{KafkaConfig, TopicsConfig};

/// Key of the probe record written (and aborted) in each output topic at start-up.
pub const PROBE_KEY: &str = "attendance-compliance-access-check";

/// Bound of each broker round trip of the checks.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);

/// One permission the broker refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// `READ`, `WRITE`, `READ and WRITE`.
    pub operation: &'static str,
    /// `topic badge-events`, `group attendance-compliance`, `transactional id …`.
    pub resource: String,
}

impl std::fmt::Display for Denial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not authorized to {} {}", self.operation, self.resource)
    }
}

/// Client context of the checks: logs like [`LogContext`] and remembers the errors librdkafka
/// reports only through the error callback (a FindCoordinator refused with
/// GroupAuthorizationFailed, a failed SASL authentication), which the blocking calls turn
/// into a mere timeout.
#[derive(Clone, Default)]
struct AccessContext {
    seen: Arc<Mutex<Vec<RDKafkaErrorCode>>>,
}

impl AccessContext {
    fn saw(&self, code: RDKafkaErrorCode) -> bool {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&code)
    }

    fn saw_authentication_failure(&self) -> bool {
        self.saw(RDKafkaErrorCode::Authentication)
            || self.saw(RDKafkaErrorCode::SaslAuthenticationFailed)
    }
}

impl ClientContext for AccessContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        super::context::forward_log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        // A failed TLS handshake arrives as a transport failure; only the reason says so.
        let code = if reason.contains("SSL handshake failed") {
            Some(RDKafkaErrorCode::SSL)
        } else {
            error.rdkafka_error_code()
        };
        if let Some(code) = code {
            let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
            if !seen.contains(&code) {
                seen.push(code);
            }
        }
        super::context::forward_error(&error, reason);
    }
}

impl ConsumerContext for AccessContext {}

/// Repeats `call` with short timeouts until it answers, `give_up` says the answer will not
/// come (an error seen in the callback), or `limit` passes.
fn patiently<T>(
    limit: Duration,
    give_up: impl Fn() -> bool,
    mut call: impl FnMut(Duration) -> Result<T, KafkaError>,
) -> Result<T, KafkaError> {
    let deadline = Instant::now() + limit;
    loop {
        match call(Duration::from_millis(1000)) {
            Err(e) if Instant::now() < deadline && !give_up() => {
                // Connection trouble (a refused login included) is retried: the error
                // callback says why, and `give_up` reads it.
                let retried = [
                    RDKafkaErrorCode::OperationTimedOut,
                    RDKafkaErrorCode::BrokerTransportFailure,
                    RDKafkaErrorCode::AllBrokersDown,
                ];
                if !e.rdkafka_error_code().is_some_and(|c| retried.contains(&c)) {
                    return Err(e);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// Why the service may not start.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The broker refused one or more of the ACLs the service needs.
    #[error(
        "{}; grant the ACLs listed in docs/SECURITY.md to this service's principal",
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Denied(Vec<Denial>),
    /// The broker refused the credentials.
    #[error(
        "kafka authentication failed at {brokers}: check the user name, the password (file) \
         and the TLS settings; librdkafka's log above has the broker's answer"
    )]
    Authentication {
        /// The bootstrap servers.
        brokers: String,
    },
    /// The TLS handshake failed (the broker's certificate is not trusted, ...).
    #[error(
        "TLS handshake with {brokers} failed: check ssl.ca.location (the CA that signed the \
         brokers' certificates) and the broker address; librdkafka's log above has the details"
    )]
    Tls {
        /// The bootstrap servers.
        brokers: String,
    },
    /// The brokers did not answer within `kafka.startup_timeout`.
    #[error(
        "no answer from the Kafka brokers at {brokers} within {timeout} (kafka.startup_timeout)\
         {}: check kafka.brokers (ATTENDANCE__KAFKA__BROKERS), that the brokers are up and \
         reachable from here, and that \"security.protocol\" matches their listener",
        last_error.as_deref().map(|e| format!("; last error: {e}")).unwrap_or_default()
    )]
    Unreachable {
        /// The bootstrap servers.
        brokers: String,
        /// `kafka.startup_timeout`, as configured.
        timeout: String,
        /// The last error of a metadata request, if any.
        last_error: Option<String>,
    },
    /// SIGTERM or Ctrl-C arrived before the checks finished: nothing was consumed or
    /// committed, the service stops (exit 0).
    #[error("stopped by a signal during the start-up checks")]
    Stopped,
    /// A check could not be made (broker unreachable, ...).
    #[error("kafka access check: {context}")]
    Kafka {
        /// What was being checked.
        context: &'static str,
        /// The cause.
        #[source]
        source: KafkaError,
    },
}

fn kafka(context: &'static str) -> impl FnOnce(KafkaError) -> AccessError {
    move |source| AccessError::Kafka { context, source }
}

fn is_code(error: &KafkaError, code: RDKafkaErrorCode) -> bool {
    error.rdkafka_error_code() == Some(code)
}

/// What the service does with a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Read,
    Write,
    ReadWrite,
}

impl Use {
    fn operation(self) -> &'static str {
        match self {
            Use::Read => "READ",
            Use::Write => "WRITE",
            Use::ReadWrite => "READ and WRITE",
        }
    }
    fn reads(self) -> bool {
        matches!(self, Use::Read | Use::ReadWrite)
    }
    fn writes(self) -> bool {
        matches!(self, Use::Write | Use::ReadWrite)
    }
}

/// Each topic with what the service does with it; the instance directory and the access log
/// (`access_log`) only when the record API is on.
fn topic_uses<'a>(topics: &'a TopicsConfig, access_log: Option<&'a str>) -> Vec<(&'a str, Use)> {
    let mut uses = vec![
        (topics.badges.as_str(), Use::Read),
        (topics.roster.as_str(), Use::Read),
        (topics.absences.as_str(), Use::Read),
        (topics.outages.as_str(), Use::Read),
        (topics.adjustments.as_str(), Use::Read),
        (topics.changelog.as_str(), Use::ReadWrite),
        (topics.decisions.as_str(), Use::Write),
        (topics.changes.as_str(), Use::Write),
        (topics.alerts.as_str(), Use::Write),
        (topics.dead_letters.as_str(), Use::Write),
    ];
    if let Some(access_log) = access_log {
        uses.push((topics.instances.as_str(), Use::ReadWrite));
        uses.push((access_log, Use::Write));
    }
    uses
}

fn topic(name: &str) -> String {
    format!("topic {name}")
}

/// Runs every check (see the module doc); `Ok` when the broker grants everything the service
/// needs (`access_log`: the record API is on, so its instance directory and this access-log
/// topic too). Takes a few seconds; never waits longer than a few [`STEP_TIMEOUT`]s per step.
/// `stop` (SIGTERM, Ctrl-C) ends the checks between two requests with
/// [`AccessError::Stopped`].
pub fn check(
    kafka_config: &KafkaConfig,
    topics: &TopicsConfig,
    access_log: Option<&str>,
    stop: &AtomicBool,
) -> Result<(), AccessError> {
    let started = Instant::now();
    let stopped = || stop.load(Ordering::Relaxed);
    let mut denied = Vec::new();

    // 1. DESCRIBE, per topic (READ and WRITE both imply it).
    let context = AccessContext::default();
    let authentication = || AccessError::Authentication {
        brokers: kafka_config.brokers.clone(),
    };
    let metadata: BaseConsumer<AccessContext> = clients::metadata_client(kafka_config)
        .create_with_context(context.clone())
        .map_err(kafka("creating a metadata client"))?;
    let mut present = Vec::new();
    for (name, usage) in topic_uses(topics, access_log) {
        let md = patiently(
            STEP_TIMEOUT,
            || {
                stopped()
                    || context.saw_authentication_failure()
                    || context.saw(RDKafkaErrorCode::SSL)
            },
            |t| {
                // Serves the error callback (it runs only inside poll).
                let _ = metadata.poll(Duration::ZERO);
                metadata.fetch_metadata(Some(name), t)
            },
        );
        if stopped() {
            return Err(AccessError::Stopped);
        }
        if context.saw_authentication_failure() {
            return Err(authentication());
        }
        if context.saw(RDKafkaErrorCode::SSL) {
            return Err(AccessError::Tls {
                brokers: kafka_config.brokers.clone(),
            });
        }
        let md = md.map_err(kafka("reading topic metadata"))?;
        let error = md.topics().first().and_then(|t| t.error());
        match error.map(RDKafkaErrorCode::from) {
            None => present.push((name, usage)),
            Some(RDKafkaErrorCode::TopicAuthorizationFailed) => denied.push(Denial {
                operation: usage.operation(),
                resource: topic(name),
            }),
            // Missing topics: reported by topics::check_topics with its own message.
            Some(_) => {}
        }
    }
    drop(metadata);

    // 2. Group: OffsetFetch answers GroupAuthorizationFailed at once.
    let group_context = AccessContext::default();
    let reader: BaseConsumer<AccessContext> = clients::assign_only_consumer(kafka_config)
        .create_with_context(group_context.clone())
        .map_err(kafka("creating a consumer"))?;
    let group = format!("group {}", kafka_config.group_id);
    let mut committed = TopicPartitionList::new();
    let badges_present = present.iter().any(|(n, _)| *n == topics.badges);
    if badges_present {
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition(&topics.badges, 0);
        // Without DESCRIBE on the group the coordinator lookup fails (reported to the error
        // callback only) and OffsetFetch would just time out.
        let group_denied = || group_context.saw(RDKafkaErrorCode::GroupAuthorizationFailed);
        let result = patiently(
            STEP_TIMEOUT,
            || group_denied() || stopped(),
            |t| {
                let _ = reader.poll(Duration::ZERO);
                reader.committed_offsets(tpl.clone(), t)
            },
        );
        if stopped() {
            return Err(AccessError::Stopped);
        }
        match result {
            Ok(offsets) => committed = offsets,
            Err(e) if is_code(&e, RDKafkaErrorCode::GroupAuthorizationFailed) || group_denied() => {
                denied.push(Denial {
                    operation: "READ",
                    resource: group.clone(),
                })
            }
            // Not a denial (that is answered at once, above): the committed offsets are held
            // back while an earlier owner's transaction with offsets for this group is open
            // (a replaced or killed instance), until the broker aborts it. The probe below
            // then sends offset 0; it is never committed.
            Err(e) if is_code(&e, RDKafkaErrorCode::OperationTimedOut) => {
                tracing::warn!(
                    "kafka access check: the group's committed offsets did not come within {} s \
                     (an earlier owner's transaction may still hold them); checking on",
                    STEP_TIMEOUT.as_secs()
                );
            }
            Err(e) => return Err(kafka("reading the group's committed offsets")(e)),
        }
    }
    drop(reader);

    // 3. READ, per readable topic: fetch at the end of partition 0.
    for (name, _) in present.iter().filter(|(_, u)| u.reads()) {
        if let Some(denial) = check_read(kafka_config, name, stop)? {
            denied.push(denial);
        }
    }
    if !denied.is_empty() {
        return Err(AccessError::Denied(denied));
    }
    if present.len() < topic_uses(topics, access_log).len() {
        // A topic is missing: topics::check_topics says which; the transactional probes
        // would only fail on it with a vaguer error.
        return Ok(());
    }

    // 4. Transactional id WRITE (from here on each step is a few round trips to brokers
    // that answer; the probe transactions are not interrupted half way).
    if stopped() {
        return Err(AccessError::Stopped);
    }
    let transactional_id = clients::transactional_id(kafka_config);
    let producer: ThreadedProducer<LogContext> = clients::transactional_producer(kafka_config)
        .create_with_context(LogContext::default())
        .map_err(kafka("creating the probe producer"))?;
    init_transactions(&producer, &transactional_id)?;

    // 5. Transactional offset commit (group READ) and WRITE, per writable topic; aborted.
    let group_consumer: BaseConsumer<LogContext> = clients::assign_only_consumer(kafka_config)
        .create_with_context(LogContext::default())
        .map_err(kafka("creating a consumer"))?;
    let group_metadata = group_consumer.group_metadata().ok_or(AccessError::Kafka {
        context: "reading the consumer group metadata",
        source: KafkaError::ClientCreation("no group metadata".to_owned()),
    })?;
    let offsets = probe_offsets(&committed, &topics.badges)?;
    let writes: Vec<&str> = present
        .iter()
        .filter(|(_, u)| u.writes())
        .map(|(n, _)| *n)
        .collect();
    // First a transaction without records (only the group), then one per written topic.
    for target in std::iter::once(None).chain(writes.iter().copied().map(Some)) {
        producer
            .begin_transaction()
            .map_err(kafka("beginning a probe transaction"))?;
        if let Some(name) = target {
            let record = BaseRecord::<str, [u8]>::to(name)
                .partition(0)
                .key(PROBE_KEY)
                .payload(&[]);
            if let Err((e, _)) = producer.send(record) {
                let _ = producer.abort_transaction(STEP_TIMEOUT);
                return Err(kafka("sending a probe record")(e));
            }
            producer
                .flush(STEP_TIMEOUT)
                .map_err(kafka("flushing a probe record"))?;
        }
        let result = producer.send_offsets_to_transaction(&offsets, &group_metadata, STEP_TIMEOUT);
        producer
            .abort_transaction(STEP_TIMEOUT)
            .map_err(kafka("aborting a probe transaction"))?;
        if let Err(e) = result {
            if is_code(&e, RDKafkaErrorCode::GroupAuthorizationFailed) {
                denied.push(Denial {
                    operation: "READ",
                    resource: group.clone(),
                });
                // Every later probe would fail the same way.
                break;
            }
            match (
                target,
                is_code(&e, RDKafkaErrorCode::TopicAuthorizationFailed),
            ) {
                (Some(name), true) => denied.push(Denial {
                    operation: "WRITE",
                    resource: topic(name),
                }),
                (None, true) => denied.push(Denial {
                    operation: "READ",
                    resource: topic(&topics.badges),
                }),
                (_, false) => return Err(kafka("committing offsets in a probe transaction")(e)),
            }
        }
    }
    if !denied.is_empty() {
        return Err(AccessError::Denied(denied));
    }
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        %transactional_id,
        group = %kafka_config.group_id,
        "kafka access checked: every ACL the service needs is granted"
    );
    Ok(())
}

/// The offsets sent in the probe transactions: badges partition 0 at its committed offset (0
/// when none). They are never committed (the transactions abort).
fn probe_offsets(
    committed: &TopicPartitionList,
    badges: &str,
) -> Result<TopicPartitionList, AccessError> {
    let offset = committed
        .find_partition(badges, 0)
        .and_then(|e| match e.offset() {
            Offset::Offset(o) if o >= 0 => Some(o),
            _ => None,
        })
        .unwrap_or(0);
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(badges, 0, Offset::Offset(offset))
        .map_err(kafka("building the probe offsets"))?;
    Ok(tpl)
}

/// `init_transactions`, retrying retriable errors (a coordinator still loading) for a bounded
/// time; TransactionalIdAuthorizationFailed is a [`Denial`].
fn init_transactions(
    producer: &ThreadedProducer<LogContext>,
    transactional_id: &str,
) -> Result<(), AccessError> {
    let started = Instant::now();
    loop {
        match producer.init_transactions(STEP_TIMEOUT) {
            Ok(()) => return Ok(()),
            Err(e)
                if is_code(&e, RDKafkaErrorCode::TransactionalIdAuthorizationFailed)
                    || is_code(&e, RDKafkaErrorCode::ClusterAuthorizationFailed) =>
            {
                let cluster = is_code(&e, RDKafkaErrorCode::ClusterAuthorizationFailed);
                return Err(AccessError::Denied(vec![if cluster {
                    Denial {
                        operation: "IDEMPOTENT_WRITE",
                        resource: "cluster".to_owned(),
                    }
                } else {
                    Denial {
                        operation: "WRITE",
                        resource: format!("transactional id {transactional_id}"),
                    }
                }]));
            }
            Err(KafkaError::Transaction(e))
                if e.is_retriable() && started.elapsed() < Duration::from_secs(60) =>
            {
                tracing::warn!(error = %e, "access check: initializing transactions: retrying");
            }
            Err(e) => return Err(kafka("initializing transactions")(e)),
        }
    }
}

/// Fetches at the end of `name` partition 0: `None` when the broker serves the fetch (end of
/// partition or a message), a [`Denial`] when it refuses READ.
fn check_read(
    kafka_config: &KafkaConfig,
    name: &str,
    stop: &AtomicBool,
) -> Result<Option<Denial>, AccessError> {
    let config: ClientConfig = clients::assign_only_consumer(kafka_config);
    let consumer: BaseConsumer<LogContext> = config
        .create_with_context(LogContext::default())
        .map_err(kafka("creating a consumer"))?;
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(name, 0, Offset::End)
        .map_err(kafka("assigning a partition"))?;
    consumer
        .assign(&tpl)
        .map_err(kafka("assigning a partition"))?;
    let deadline = Instant::now() + STEP_TIMEOUT * 2;
    while Instant::now() < deadline {
        if stop.load(Ordering::Relaxed) {
            return Err(AccessError::Stopped);
        }
        match consumer.poll(Duration::from_millis(200)) {
            None => {}
            Some(Ok(_)) | Some(Err(KafkaError::PartitionEOF(_))) => return Ok(None),
            Some(Err(e)) if is_code(&e, RDKafkaErrorCode::TopicAuthorizationFailed) => {
                return Ok(Some(Denial {
                    operation: "READ",
                    resource: topic(name),
                }))
            }
            Some(Err(e)) => {
                tracing::debug!(error = %e, topic = name, "access check: fetch error (retrying)")
            }
        }
    }
    Err(AccessError::Kafka {
        context: "fetching from an input topic (no answer within the deadline)",
        source: KafkaError::MessageConsumption(RDKafkaErrorCode::OperationTimedOut),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_denial_names_the_operation_and_the_resource() {
        let error = AccessError::Denied(vec![
            Denial {
                operation: "READ",
                resource: "topic badges".to_owned(),
            },
            Denial {
                operation: "WRITE",
                resource: "transactional id attendance-compliance-pod-0".to_owned(),
            },
        ]);
        let text = error.to_string();
        assert!(
            text.starts_with("not authorized to READ topic badges; "),
            "{text}"
        );
        assert!(
            text.contains("not authorized to WRITE transactional id attendance-compliance-pod-0"),
            "{text}"
        );
        assert!(text.contains("docs/SECURITY.md"), "{text}");
    }

    #[test]
    fn every_topic_is_read_or_written_and_the_changelog_both() {
        let topics = TopicsConfig::default();
        let uses = topic_uses(&topics, Some("audit"));
        assert_eq!(uses.len(), topics.named().len() + 1);
        assert_eq!(topic_uses(&topics, None).len(), topics.named().len() - 1);
        let directory = uses.iter().find(|(n, _)| *n == topics.instances);
        assert_eq!(directory.map(|(_, u)| *u), Some(Use::ReadWrite));
        let audit = uses.iter().find(|(n, _)| *n == "audit");
        assert_eq!(
            audit.map(|(_, u)| *u),
            Some(Use::Write),
            "the access log is written"
        );
        let changelog = uses.iter().find(|(n, _)| *n == topics.changelog);
        assert_eq!(changelog.map(|(_, u)| *u), Some(Use::ReadWrite));
        let inputs = [
            &topics.badges,
            &topics.roster,
            &topics.absences,
            &topics.outages,
            &topics.adjustments,
        ];
        for input in inputs {
            assert!(uses.iter().any(|(n, u)| n == input && *u == Use::Read));
        }
    }

    #[test]
    fn probe_offsets_use_the_committed_offset_or_zero() {
        let mut committed = TopicPartitionList::new();
        committed
            .add_partition_offset("b", 0, Offset::Offset(42))
            .expect("offset");
        let tpl = probe_offsets(&committed, "b").expect("offsets");
        assert_eq!(
            tpl.find_partition("b", 0).map(|e| e.offset()),
            Some(Offset::Offset(42))
        );
        let none = probe_offsets(&TopicPartitionList::new(), "b").expect("offsets");
        assert_eq!(
            none.find_partition("b", 0).map(|e| e.offset()),
            Some(Offset::Offset(0))
        );
    }
}
