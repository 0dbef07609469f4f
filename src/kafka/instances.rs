//! The record API's instance directory on Kafka (SPEC §10 "Routing"): the compacted topic
//! `topics.instances`, key = instance id, value = [`InstanceEntry`] JSON
//! (schemas/instance.schema.json).
//!
//! - [`Announcer`]: an idempotent producer of its own (outside the pipeline's transactions)
//!   that writes this instance's entry whenever its assignment changes — after the restore
//!   of newly assigned partitions, after a revocation — and a tombstone on shutdown.
//! - [`DirectoryReader`]: a thread with an assign-only consumer that reads every partition
//!   of the topic from the beginning and then follows it, folding each record into the
//!   shared [`Directory`] (bounded; malformed records are logged and skipped).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

use crate::api::routing::{Applied, Directory, InstanceEntry};
use crate::clock::Clock;
use crate::config::Config;

use super::clients;
use super::context::{forward_error, forward_log, LogContext};

/// How long the shutdown tombstone may take to be delivered.
const WITHDRAW_FLUSH: Duration = Duration::from_secs(5);

/// Bound of the metadata request that lists the directory's partitions.
const METADATA_TIMEOUT: Duration = Duration::from_secs(30);

/// The announcer's producer context: logs, and says when an entry was not delivered.
#[derive(Clone, Default)]
struct AnnounceContext;

impl ClientContext for AnnounceContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        forward_log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        forward_error(&error, reason);
    }
}

impl ProducerContext for AnnounceContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((error, _)) = result {
            tracing::warn!(
                error = %error,
                "instance directory entry not delivered: other instances forward to an \
                 outdated owner until the next assignment change"
            );
        }
    }
}

/// Writes this instance's directory entry.
pub struct Announcer {
    producer: ThreadedProducer<AnnounceContext>,
    topic: String,
    instance: String,
    api_url: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Announcer")
            .field("topic", &self.topic)
            .field("instance", &self.instance)
            .field("api_url", &self.api_url)
            .finish()
    }
}

impl Announcer {
    /// A producer for `topics.instances`, announcing `instance` at `api_url`; entries are
    /// timestamped with `clock`.
    pub fn new(
        config: &Config,
        instance: String,
        api_url: String,
        clock: Arc<dyn Clock>,
    ) -> anyhow::Result<Self> {
        let producer = clients::directory_producer(&config.processor.kafka)
            .create_with_context(AnnounceContext)
            .context("while creating the instance directory producer")?;
        Ok(Self {
            producer,
            topic: config.processor.topics.instances.clone(),
            instance,
            api_url,
            clock,
        })
    }

    /// Writes the entry: this instance serves `partitions` (not waited for).
    pub fn announce(&self, partitions: &[i32]) {
        let entry = InstanceEntry::new(&self.instance, &self.api_url, partitions, self.clock.now());
        let payload = match serde_json::to_string(&entry) {
            Ok(json) => json,
            Err(e) => {
                tracing::error!(error = %e, "instance directory entry not serializable");
                return;
            }
        };
        tracing::info!(
            partitions = ?entry.partitions,
            api_url = %self.api_url,
            "announcing the partitions served to the instance directory"
        );
        let record = BaseRecord::to(&self.topic)
            .key(&self.instance)
            .payload(&payload);
        if let Err((e, _)) = self.producer.send(record) {
            tracing::warn!(error = %e, topic = %self.topic, "instance directory entry not queued");
        }
    }

    /// Writes the tombstone of this instance's entry and waits (bounded) for it and anything
    /// queued before it to be delivered.
    pub fn withdraw(&self) {
        let record: BaseRecord<'_, str, [u8]> = BaseRecord::to(&self.topic).key(&self.instance);
        if let Err((e, _)) = self.producer.send(record) {
            tracing::warn!(error = %e, topic = %self.topic, "instance directory tombstone not queued");
            return;
        }
        match self.producer.flush(WITHDRAW_FLUSH) {
            Ok(()) => tracing::info!("withdrawn from the instance directory"),
            Err(e) => tracing::warn!(error = %e, "instance directory tombstone not delivered"),
        }
    }
}

/// The thread that keeps a [`Directory`] current; stops when dropped.
pub struct DirectoryReader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for DirectoryReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryReader").finish_non_exhaustive()
    }
}

impl DirectoryReader {
    /// Assigns every partition of `topics.instances` from the beginning and starts following
    /// it into `directory`. Fails when the topic's partitions cannot be listed.
    pub fn start(config: &Config, directory: Arc<RwLock<Directory>>) -> anyhow::Result<Self> {
        let topic = config.processor.topics.instances.clone();
        let consumer: BaseConsumer<LogContext> =
            clients::assign_only_consumer(&config.processor.kafka)
                .create_with_context(LogContext::default())
                .context("while creating the instance directory consumer")?;
        let metadata = consumer
            .fetch_metadata(Some(&topic), METADATA_TIMEOUT)
            .with_context(|| format!("while reading the metadata of {topic}"))?;
        let mut tpl = TopicPartitionList::new();
        for t in metadata.topics().iter().filter(|t| t.name() == topic) {
            for p in t.partitions() {
                tpl.add_partition_offset(&topic, p.id(), Offset::Beginning)
                    .context("while building the directory's offset list")?;
            }
        }
        if tpl.count() == 0 {
            anyhow::bail!(
                "the instance directory topic {topic:?} (topics.instances) has no partition"
            );
        }
        consumer
            .assign(&tpl)
            .context("while assigning the instance directory topic")?;
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("directory".into())
                .spawn(move || follow(&consumer, &directory, &stop))
                .context("while starting the instance directory thread")?
        };
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for DirectoryReader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // The thread polls with a short timeout: it sees the flag within one poll.
            let _ = thread.join();
        }
    }
}

/// Reads the directory topic into `directory` until `stop` is set.
fn follow(consumer: &BaseConsumer<LogContext>, directory: &RwLock<Directory>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match consumer.poll(Duration::from_millis(200)) {
            None | Some(Err(KafkaError::PartitionEOF(_))) => {}
            Some(Ok(message)) => {
                let result = directory
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .apply(message.key(), message.payload());
                match result {
                    Ok(Applied::Updated | Applied::Own) => {}
                    Err(reason) => tracing::warn!(
                        partition = message.partition(),
                        offset = message.offset(),
                        reason = %reason,
                        "instance directory record skipped"
                    ),
                }
            }
            Some(Err(e)) => {
                tracing::debug!(error = %e, "instance directory read error (librdkafka retries)");
                // Fatal consumer errors repeat at once: do not spin on them.
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    }
}
