//! Site outages (SPEC §1.5): not partitioned by employee, so every instance keeps the whole
//! topic as a table and applies each outage to every partition it owns. This file: the
//! table; `outages.rs`: applying it in the pipeline.
//!
//! - Start-up ([`OutageTable::load`]): before the group consumer subscribes, an assign-only
//!   consumer reads every partition of the topic from the beginning to its end (no group
//!   offsets) and keeps the latest *valid* record per key (a `cancelled` record replaces it
//!   like any record, a tombstone removes it; an invalid record changes nothing, as in
//!   replay). Validity is the engine's own verdict, given by a judge [`Processor`] that holds
//!   the same outages as every partition's engine and no employee: the engine's bound
//!   ([`crate::engine::MAX_OUTAGES`] ids, a further one dead-lettered `too_large`) bounds
//!   the table too.
//! - Afterwards the same consumer follows the topic: each message updates the table and is
//!   applied with [`Processor::outage`] to every owned partition inside the open transaction
//!   (its corrections go in the transaction, changelog records flush as usual).
//! - On assignment of p, after the restore of p and before any table message or badge of p,
//!   every outage of the table is applied to the fresh engine (re-applying is idempotent:
//!   it emits only what changed). Outages are not in the changelog: the topic is their source
//!   of truth.
//! - Dead letters of invalid outage messages are written once cluster-wide: by the owner of
//!   badge partition `q % badge_partitions` for outage partition q, in the same transaction
//!   as the group's offset of outage partition q, which records how far dead letters are
//!   written. A new owner of that badge partition (rebalance, restart, rewind) re-reads q
//!   from that committed offset to where its table stands and writes what is missing.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::{PipelineError, CALL_TIMEOUT};
use crate::config::Config;
use crate::domain::output::Source;
use crate::engine::Output;
use crate::kafka::context::LogContext;
use crate::processor::{Outcome, Processor};

/// Longest time the start-up read of the whole topic may take.
pub(super) const LOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// The latest valid record of one outage id, as received.
#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) value: Vec<u8>,
}

/// One outage message, read.
pub(super) struct Read {
    pub(super) partition: i32,
    pub(super) offset: i64,
    pub(super) key: Option<Vec<u8>>,
    pub(super) value: Option<Vec<u8>>,
}

impl Read {
    pub(super) fn of<M: Message>(message: &M) -> Self {
        Self {
            partition: message.partition(),
            offset: message.offset(),
            key: message.key().map(<[u8]>::to_vec),
            value: message.payload().map(<[u8]>::to_vec),
        }
    }
}

/// The instance's outage table and the consumer that follows the topic.
pub struct OutageTable {
    pub(super) consumer: Arc<BaseConsumer<LogContext>>,
    pub(super) topic: String,
    /// The input topics' partition count (a dead letter's writer is `q % badge_partitions`).
    pub(super) badge_partitions: i32,
    /// Latest valid record per outage id (the message key).
    pub(super) table: BTreeMap<Vec<u8>, Entry>,
    /// Next offset to read, per outage partition (where the table stands).
    pub(super) positions: BTreeMap<i32, i64>,
    /// First offset whose dead letter is still to be decided, per outage partition whose
    /// writer (badge partition) this instance owns.
    pub(super) cursors: BTreeMap<i32, i64>,
    /// Judges each message once (validation is the same for every partition's engine).
    pub(super) judge: Processor,
}

/// What became of one outage message for the table.
pub(super) struct Verdict {
    pub(super) outcome: Outcome,
    /// Its dead letter, when rejected.
    pub(super) dead_letter: Option<Output>,
}

impl OutageTable {
    /// Reads the whole `topics.outages` topic with `consumer` (assign-only, read_committed,
    /// `enable.partition.eof`) and keeps following it.
    pub fn load(
        consumer: BaseConsumer<LogContext>,
        config: &Config,
        badge_partitions: usize,
    ) -> Result<Self, PipelineError> {
        let started = Instant::now();
        let topic = config.processor.topics.outages.clone();
        let metadata = consumer
            .fetch_metadata(Some(&topic), CALL_TIMEOUT)
            .map_err(PipelineError::kafka("reading the site-outages metadata"))?;
        let partitions: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic)
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        let mut tpl = TopicPartitionList::new();
        for &q in &partitions {
            tpl.add_partition_offset(&topic, q, Offset::Beginning)
                .map_err(PipelineError::kafka("building an offset list"))?;
        }
        consumer
            .assign(&tpl)
            .map_err(PipelineError::kafka("assigning the site-outages topic"))?;
        let mut table = Self {
            consumer: Arc::new(consumer),
            topic,
            badge_partitions: i32::try_from(badge_partitions.max(1)).unwrap_or(i32::MAX),
            table: BTreeMap::new(),
            positions: partitions.iter().map(|&q| (q, 0)).collect(),
            cursors: BTreeMap::new(),
            judge: Processor::new(config),
        };
        let mut remaining: std::collections::BTreeSet<i32> = partitions.into_iter().collect();
        let mut messages = 0u64;
        while !remaining.is_empty() {
            if started.elapsed() > LOAD_TIMEOUT {
                return Err(PipelineError::Kafka {
                    context: "reading the site-outages topic to its end (timed out)",
                    source: KafkaError::NoMessageReceived,
                });
            }
            match table.consumer.clone().poll(Duration::from_millis(100)) {
                None => {}
                Some(Ok(message)) => {
                    let read = Read::of(&message);
                    table.positions.insert(read.partition, read.offset + 1);
                    table.update(&read);
                    messages += 1;
                }
                Some(Err(KafkaError::PartitionEOF(q))) => {
                    remaining.remove(&q);
                }
                Some(Err(e @ KafkaError::MessageConsumptionFatal(_))) => {
                    return Err(PipelineError::kafka("reading the site-outages topic")(e))
                }
                Some(Err(e)) => tracing::warn!(error = %e, "site-outages read error (retrying)"),
            }
        }
        tracing::info!(
            topic = %table.topic,
            messages,
            outages = table.table.len(),
            seconds = started.elapsed().as_secs_f64(),
            "site outages read"
        );
        Ok(table)
    }

    /// Judges `read` and updates the table: a valid record replaces its id's entry, a valid
    /// tombstone removes it, a rejected message changes nothing.
    pub(super) fn update(&mut self, read: &Read) -> Verdict {
        let source = self.source(read.partition, read.offset);
        let mut out: Vec<Output> = Vec::new();
        let outcome = self.judge.outage(
            read.key.as_deref(),
            read.value.as_deref(),
            source.clone(),
            &mut out,
        );
        let dead_letter = out.into_iter().find(|o| matches!(o, Output::DeadLetter(_)));
        if let Outcome::DeadLettered(_) = outcome {
            return Verdict {
                outcome,
                dead_letter,
            };
        }
        let key = read.key.clone().unwrap_or_default();
        match &read.value {
            None => {
                self.table.remove(&key);
            }
            Some(value) => {
                self.table.insert(
                    key,
                    Entry {
                        value: value.clone(),
                    },
                );
            }
        }
        Verdict {
            outcome,
            dead_letter: None,
        }
    }

    pub(super) fn source(&self, partition: i32, offset: i64) -> Source {
        Source::Kafka {
            topic: compact_str::CompactString::new(&self.topic),
            partition,
            offset,
        }
    }

    /// The badge partition whose owner writes the dead letters of outage partition `q`.
    pub(super) fn writer(&self, q: i32) -> i32 {
        q.rem_euclid(self.badge_partitions)
    }

    /// Forgets the dead-letter cursors of outage partitions written by `partitions`.
    pub(super) fn forget(&mut self, partitions: &[i32]) {
        let badge_partitions = self.badge_partitions;
        self.cursors
            .retain(|q, _| !partitions.contains(&q.rem_euclid(badge_partitions)));
    }

    /// Outage ids in the table.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether the table holds no outage.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::ClientConfig;

    fn table(badge_partitions: i32) -> OutageTable {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
        let config = match Config::load_with_env(&dir, Vec::<(String, String)>::new()) {
            Ok(loaded) => loaded.config,
            Err(e) => panic!("example config: {e}"),
        };
        // Created, never polled: no broker is contacted.
        let consumer: BaseConsumer<LogContext> = match ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:9")
            .create_with_context(LogContext::default())
        {
            Ok(c) => c,
            Err(e) => panic!("consumer: {e}"),
        };
        OutageTable {
            consumer: Arc::new(consumer),
            topic: "site-outages".to_owned(),
            badge_partitions,
            table: BTreeMap::new(),
            positions: BTreeMap::new(),
            cursors: BTreeMap::new(),
            judge: Processor::new(&config),
        }
    }

    fn read(offset: i64, key: &str, value: Option<&str>) -> Read {
        Read {
            partition: 0,
            offset,
            key: Some(key.as_bytes().to_vec()),
            value: value.map(|v| v.as_bytes().to_vec()),
        }
    }

    fn outage(id: &str, site: &str, status: &str) -> String {
        format!(
            r#"{{"outage_id":"{id}","site_id":"{site}","start_date":"2026-05-06","end_date":"2026-05-06","status":"{status}"}}"#
        )
    }

    fn held(t: &OutageTable, key: &str) -> Option<String> {
        t.table
            .get(key.as_bytes())
            .map(|e| String::from_utf8_lossy(&e.value).into_owned())
    }

    #[test]
    fn the_table_keeps_the_latest_valid_record_per_key() {
        let mut t = table(2);
        let first = outage("o-1", "SEA-1", "active");
        let v = t.update(&read(0, "o-1", Some(&first)));
        assert_eq!(
            (v.outcome, v.dead_letter.is_none()),
            (Outcome::Applied, true)
        );
        assert_eq!(held(&t, "o-1"), Some(first.clone()));

        // An invalid record is dead-lettered and changes nothing.
        let v = t.update(&read(1, "o-1", Some(&outage("o-1", "XX-9", "active"))));
        assert_eq!(
            v.outcome,
            Outcome::DeadLettered(crate::domain::DeadLetterReason::UnknownSite)
        );
        assert!(matches!(v.dead_letter, Some(Output::DeadLetter(_))));
        assert_eq!(held(&t, "o-1"), Some(first));

        // A cancelled record replaces it; a tombstone removes it.
        let cancelled = outage("o-1", "SEA-1", "cancelled");
        t.update(&read(2, "o-1", Some(&cancelled)));
        assert_eq!(held(&t, "o-1"), Some(cancelled));
        let v = t.update(&read(3, "o-1", None));
        assert_eq!(v.outcome, Outcome::Applied);
        assert!(t.is_empty());

        // A tombstone whose key is no outage id is rejected.
        let v = t.update(&read(4, "", None));
        assert!(matches!(v.outcome, Outcome::DeadLettered(_)));
    }

    #[test]
    fn each_outage_partition_has_one_writer_and_forgetting_drops_its_cursor() {
        let mut t = table(3);
        assert_eq!([0, 1, 2, 3, 4].map(|q| t.writer(q)), [0, 1, 2, 0, 1]);
        t.cursors.extend([(0, 5), (1, 6), (3, 7), (4, 8)]);
        t.forget(&[0]);
        assert_eq!(t.cursors.keys().copied().collect::<Vec<_>>(), [1, 4]);
    }
}
