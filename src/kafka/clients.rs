//! librdkafka client configurations built from `[kafka]`: the group consumer (badges), the
//! assign-only consumers (roster, absences, changelog restore) and the transactional producer.
//!
//! Our settings come first and `kafka.client` properties are applied last, so an operator can
//! override any of them (e.g. `security.protocol`, `session.timeout.ms`), except the few that
//! the exactly-once design depends on, which are re-applied after the overrides.

use crate::config::KafkaConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::ClientConfig;

/// The client property that makes a consumer a static group member (KIP-345); when set, it
/// also names the instance in its transactional id.
pub const GROUP_INSTANCE_ID: &str = "group.instance.id";

/// The id of this instance: `group.instance.id` when configured, else the host name.
///
/// It must be stable across restarts of the same instance (a Kubernetes StatefulSet's pod
/// name is) and unique among running instances: the transactional id is derived from it, so
/// a restarted instance fences its own zombie at once, and two instances with the same id
/// fence each other.
pub fn instance_id(kafka: &KafkaConfig) -> String {
    if let Some(id) = kafka.client.get(GROUP_INSTANCE_ID) {
        return id.clone();
    }
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// The producer's `transactional.id`: `<transactional_id_prefix>-<instance id>`.
pub fn transactional_id(kafka: &KafkaConfig) -> String {
    format!("{}-{}", kafka.transactional_id_prefix, instance_id(kafka))
}

fn base(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", &kafka.brokers);
    // librdkafka's own log level follows the `librdkafka` tracing target, so that
    // `log.level = "info,librdkafka=debug"` (plus a `debug` client property) shows its logs.
    let level = if tracing::enabled!(target: "librdkafka", tracing::Level::DEBUG) {
        RDKafkaLogLevel::Debug
    } else if tracing::enabled!(target: "librdkafka", tracing::Level::INFO) {
        RDKafkaLogLevel::Info
    } else {
        RDKafkaLogLevel::Warning
    };
    config.set_log_level(level);
    config
}

fn overrides(config: &mut ClientConfig, kafka: &KafkaConfig, keep_instance_id: bool) {
    for (key, value) in &kafka.client {
        if key == GROUP_INSTANCE_ID && !keep_instance_id {
            continue;
        }
        config.set(key, value);
    }
    // Secrets from files last: they win over `kafka.client` (librdkafka redacts both
    // properties in its own logs; we never log a ClientConfig).
    if let Some(file) = &kafka.sasl_password_file {
        config.set("sasl.password", file.secret.expose());
    }
    if let Some(file) = &kafka.ssl_key_password_file {
        config.set("ssl.key.password", file.secret.expose());
    }
}

/// Messages librdkafka prefetches per partition (`queued.min.messages`, default 100,000).
///
/// Each prefetched message costs librdkafka a few hundred bytes of C heap besides its
/// payload, which `queued.max.messages.kbytes` does not count: with the default, a restore
/// of a long changelog or the backlog after a broker restart queued 400,000 small records
/// on 4 partitions, ~80 MiB of glibc heap per catch-up, kept by glibc's per-thread arenas
/// after the queue drained (docs/RELIABILITY.md, "Soak": 10,000 cut the steady heap by a
/// third and the step after a client restart, which it does not remove). 10,000 is still
/// far more than one poll round takes.
const PREFETCH_MESSAGES: &str = "10000";

/// How long librdkafka waits before fetching again for a partition whose prefetch queue was
/// full (`fetch.queue.backoff.ms`, default 1,000). With the default and 10,000 messages
/// per partition a catch-up could not read faster than 10,000 messages per partition and
/// second (a restore of 3.5M changelog records took 97 s; at 50 ms restores read ~150,000
/// records/s again).
const PREFETCH_BACKOFF_MS: &str = "50";

/// The group consumer: subscribes to the badge topic; its assignment decides which
/// partitions (and so which roster, absence and changelog partitions) this instance owns.
pub fn group_consumer(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = base(kafka);
    config
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("auto.offset.reset", "earliest")
        .set("queued.min.messages", PREFETCH_MESSAGES)
        .set("fetch.queue.backoff.ms", PREFETCH_BACKOFF_MS)
        .set("queued.max.messages.kbytes", "32768");
    overrides(&mut config, kafka, true);
    exactly_once_consumer(&mut config, kafka);
    config
}

/// An assign-only consumer (roster, absences, changelog restore): never joins the group, never
/// commits; reports the end of each partition (`enable.partition.eof`).
pub fn assign_only_consumer(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = base(kafka);
    config
        .set("auto.offset.reset", "earliest")
        .set("queued.min.messages", PREFETCH_MESSAGES)
        .set("fetch.queue.backoff.ms", PREFETCH_BACKOFF_MS)
        .set("queued.max.messages.kbytes", "32768");
    overrides(&mut config, kafka, false);
    exactly_once_consumer(&mut config, kafka);
    config.set("enable.partition.eof", "true");
    config
}

/// Settings exactly-once depends on: offsets are committed only inside producer transactions
/// and only committed input is read.
fn exactly_once_consumer(config: &mut ClientConfig, kafka: &KafkaConfig) {
    config
        .set("group.id", &kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("isolation.level", "read_committed");
}

/// A read_uncommitted client for high watermarks (the restore compares them with the last
/// stable offsets to see open transactions).
pub fn watermark_client(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = base(kafka);
    overrides(&mut config, kafka, false);
    config
        .set("group.id", &kafka.group_id)
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_uncommitted");
    config
}

/// The transactional producer of outputs and changelog records.
pub fn transactional_producer(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = base(kafka);
    config
        // Java clients hash keys with murmur2: downstream Java producers and consumers agree
        // with us on which partition an employee's records go to.
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .set("compression.type", "lz4")
        .set("queue.buffering.max.messages", "500000");
    overrides(&mut config, kafka, false);
    config
        .set("transactional.id", transactional_id(kafka))
        .set("enable.idempotence", "true");
    config
}

/// The record API's audit producer (`attendance-access-log`): idempotent, outside the
/// pipeline's transactions (an audit record is written whether or not a batch commits).
pub fn access_log_producer(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = base(kafka);
    config
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "100000");
    overrides(&mut config, kafka, false);
    config.set("enable.idempotence", "true");
    config
}

/// The instance directory's producer (`topics.instances`): idempotent, outside the
/// pipeline's transactions, sent at once (an entry is a few hundred bytes, written on
/// assignment changes only).
pub fn directory_producer(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = base(kafka);
    config
        .set("partitioner", "murmur2_random")
        .set("linger.ms", "0")
        .set("queue.buffering.max.messages", "1000");
    overrides(&mut config, kafka, false);
    config.set("enable.idempotence", "true");
    config
}

/// A plain consumer for metadata requests (topic checks at start-up).
pub fn metadata_client(kafka: &KafkaConfig) -> ClientConfig {
    let mut config = base(kafka);
    overrides(&mut config, kafka, false);
    config
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_properties_override_defaults_but_not_exactly_once_settings() {
        let mut kafka = KafkaConfig::default();
        kafka
            .client
            .insert("session.timeout.ms".into(), "6000".into());
        kafka
            .client
            .insert("enable.auto.commit".into(), "true".into());
        kafka
            .client
            .insert(GROUP_INSTANCE_ID.into(), "pod-0".into());
        let group = group_consumer(&kafka);
        assert_eq!(group.get("session.timeout.ms"), Some("6000"));
        assert_eq!(group.get("enable.auto.commit"), Some("false"));
        assert_eq!(group.get(GROUP_INSTANCE_ID), Some("pod-0"));
        let tables = assign_only_consumer(&kafka);
        assert_eq!(tables.get(GROUP_INSTANCE_ID), None);
        let producer = transactional_producer(&kafka);
        assert_eq!(
            producer.get("transactional.id"),
            Some("attendance-compliance-pod-0")
        );
    }
}
