//! The record API's audit records on `attendance-access-log` (SPEC §10), written by an
//! idempotent producer of their own, outside the pipeline's transactions: an access is on
//! record whether or not the batch in flight commits.

use std::time::Duration;

use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

use crate::api::{AccessRecord, AuditSink};
use crate::config::Config;

use super::clients;

/// Writes audit records to the configured topic.
pub struct AccessLog {
    producer: ThreadedProducer<DefaultProducerContext>,
    topic: String,
}

impl AccessLog {
    /// A producer for `api.access_log_topic`; fails when the topic cannot be seen within
    /// `timeout` (it must exist: an access that cannot be recorded is an audit gap).
    pub fn new(config: &Config, timeout: Duration) -> anyhow::Result<Self> {
        let kafka = &config.processor.kafka;
        let topic = config.processor.api.access_log_topic.clone();
        let producer: ThreadedProducer<DefaultProducerContext> =
            clients::access_log_producer(kafka).create()?;
        let metadata = producer.client().fetch_metadata(Some(&topic), timeout)?;
        let found = metadata
            .topics()
            .iter()
            .any(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty());
        if !found {
            anyhow::bail!(
                "the access-log topic {topic:?} (api.access_log_topic) does not exist; \
                 create it before enabling the record API"
            );
        }
        Ok(Self { producer, topic })
    }
}

impl AuditSink for AccessLog {
    fn write(&self, record: &AccessRecord) {
        let payload = match serde_json::to_string(record) {
            Ok(json) => json,
            Err(e) => {
                tracing::error!(error = %e, "access record not serializable");
                return;
            }
        };
        let sent = self.producer.send(
            BaseRecord::to(&self.topic)
                .key(record.key())
                .payload(&payload),
        );
        if let Err((e, _)) = sent {
            tracing::warn!(error = %e, topic = %self.topic, "access record not queued");
        }
    }
}

impl Drop for AccessLog {
    fn drop(&mut self) {
        // Deliver what is queued before the process exits.
        let _ = self.producer.flush(Duration::from_secs(5));
    }
}
