//! Site outages (SPEC §1.5): not partitioned by employee, so every instance keeps the whole
//! topic as a table and applies each outage to every partition it owns.
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

use super::{committed_offsets, GroupConsumer, Pipeline, PipelineError, CALL_TIMEOUT};
use crate::config::{Config, InputTopic};
use crate::domain::output::Source;
use crate::engine::Output;
use crate::kafka::context::LogContext;
use crate::processor::{Outcome, Processor};

/// Longest time the start-up read of the whole topic may take.
const LOAD_TIMEOUT: Duration = Duration::from_secs(600);

/// The latest valid record of one outage id, as received.
#[derive(Debug, Clone)]
struct Entry {
    value: Vec<u8>,
    source: Source,
}

/// One outage message, read.
struct Read {
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
}

impl Read {
    fn of<M: Message>(message: &M) -> Self {
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
    consumer: Arc<BaseConsumer<LogContext>>,
    topic: String,
    /// The input topics' partition count (a dead letter's writer is `q % badge_partitions`).
    badge_partitions: i32,
    /// Latest valid record per outage id (the message key).
    table: BTreeMap<Vec<u8>, Entry>,
    /// Next offset to read, per outage partition (where the table stands).
    positions: BTreeMap<i32, i64>,
    /// First offset whose dead letter is still to be decided, per outage partition whose
    /// writer (badge partition) this instance owns.
    cursors: BTreeMap<i32, i64>,
    /// Judges each message once (validation is the same for every partition's engine).
    judge: Processor,
}

/// What became of one outage message for the table.
struct Verdict {
    outcome: Outcome,
    /// Its dead letter, when rejected.
    dead_letter: Option<Output>,
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
    fn update(&mut self, read: &Read) -> Verdict {
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
                        source,
                    },
                );
            }
        }
        Verdict {
            outcome,
            dead_letter: None,
        }
    }

    fn source(&self, partition: i32, offset: i64) -> Source {
        Source::Kafka {
            topic: self.topic.clone(),
            partition,
            offset,
        }
    }

    /// The badge partition whose owner writes the dead letters of outage partition `q`.
    fn writer(&self, q: i32) -> i32 {
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

impl Pipeline {
    /// Reads what the site-outages consumer has: each message updates the table, is applied
    /// to every owned partition and, when this instance writes for its partition, is
    /// dead-lettered (if invalid) and recorded in the transaction's offsets.
    pub(super) fn poll_outages(&mut self) -> Result<bool, PipelineError> {
        let mut any = false;
        for _ in 0..1000 {
            let consumer = self.outages.consumer.clone();
            let read = match consumer.poll(Duration::ZERO) {
                None => break,
                Some(Ok(message)) => Read::of(&message),
                Some(Err(KafkaError::PartitionEOF(_))) => continue,
                Some(Err(e @ KafkaError::MessageConsumptionFatal(_))) => {
                    return Err(PipelineError::kafka("reading the site-outages topic")(e))
                }
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "site-outages consumer error (retrying)");
                    break;
                }
            };
            any = true;
            self.outages
                .positions
                .insert(read.partition, read.offset + 1);
            let verdict = self.outages.update(&read);
            if verdict.dead_letter.is_none() {
                let source = self.outages.source(read.partition, read.offset);
                let partitions = self.partitions();
                for p in partitions {
                    self.apply_outage(p, read.key.as_deref(), read.value.as_deref(), &source)?;
                }
            }
            let writes = self
                .outages
                .cursors
                .get(&read.partition)
                .is_some_and(|&cursor| read.offset >= cursor);
            if writes {
                self.write_outage_verdict(&read, verdict)?;
            }
            if self.batch_full() {
                break;
            }
        }
        Ok(any)
    }

    /// Applies one outage message to partition `p`'s engine, sending what it emits (but no
    /// dead letter: those are written once, see the module doc).
    fn apply_outage(
        &mut self,
        p: i32,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        source: &Source,
    ) -> Result<(), PipelineError> {
        let Some(task) = self.tasks.get_mut(&p) else {
            return Ok(());
        };
        task.processor
            .outage(key, value, source.clone(), &mut self.scratch);
        task.dirty = true;
        self.scratch.retain(|o| !matches!(o, Output::DeadLetter(_)));
        if !self.scratch.is_empty() {
            self.ensure_transaction()?;
            self.send_outputs(None)?;
        }
        Ok(())
    }

    /// The writer's part of one outage message: its dead letter (if any), its input metric
    /// and the offset of its partition, in the open transaction.
    fn write_outage_verdict(&mut self, read: &Read, verdict: Verdict) -> Result<(), PipelineError> {
        self.ensure_transaction()?;
        if let Some(dead_letter) = verdict.dead_letter {
            self.scratch.push(dead_letter);
            self.send_outputs(read.key.as_deref())?;
        }
        self.shared
            .metrics
            .record_input(InputTopic::Outages, verdict.outcome);
        self.batch
            .offsets
            .insert((InputTopic::Outages, read.partition), read.offset + 1);
        self.batch.messages += 1;
        self.outages.cursors.insert(read.partition, read.offset + 1);
        Ok(())
    }

    /// Applies every outage of the table to the freshly restored `partitions`.
    pub(super) fn apply_outage_table(&mut self, partitions: &[i32]) -> Result<(), PipelineError> {
        if self.outages.is_empty() {
            return Ok(());
        }
        let entries: Vec<(Vec<u8>, Entry)> = self
            .outages
            .table
            .iter()
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        for &p in partitions {
            for (key, entry) in &entries {
                self.apply_outage(p, Some(key), Some(&entry.value), &entry.source)?;
            }
        }
        tracing::info!(?partitions, outages = entries.len(), "site outages applied");
        Ok(())
    }

    /// For each outage partition q written by one of `partitions`: writes the dead letters
    /// of q's messages from the group's committed offset up to where the table stands (what
    /// an earlier writer has not committed), then follows from there.
    pub(super) fn catch_up_outage_dead_letters(
        &mut self,
        consumer: &GroupConsumer,
        partitions: &[i32],
    ) -> Result<(), PipelineError> {
        let mine: Vec<(i32, i64)> = self
            .outages
            .positions
            .iter()
            .filter(|(q, _)| partitions.contains(&self.outages.writer(**q)))
            .map(|(q, at)| (*q, *at))
            .collect();
        if mine.is_empty() {
            return Ok(());
        }
        let mut tpl = TopicPartitionList::new();
        for (q, _) in &mine {
            tpl.add_partition(&self.outages.topic, *q);
        }
        let committed = committed_offsets(consumer, tpl)?;
        for (q, to) in mine {
            let from = match committed
                .find_partition(&self.outages.topic, q)
                .map(|e| e.offset())
            {
                Some(Offset::Offset(o)) => o,
                _ => 0,
            };
            if from < to {
                for read in self.reread(q, from, to)? {
                    let verdict = self.judge_again(&read);
                    self.write_outage_verdict(&read, verdict)?;
                }
                // Nothing to write in the rest: the writer's offset still moves to `to`.
                self.ensure_transaction()?;
                self.batch.offsets.insert((InputTopic::Outages, q), to);
            }
            self.outages.cursors.insert(q, to.max(from));
        }
        Ok(())
    }

    /// Whether an already-read message is rejected (the judge only; the table stays as it is).
    fn judge_again(&mut self, read: &Read) -> Verdict {
        let source = self.outages.source(read.partition, read.offset);
        let mut out: Vec<Output> = Vec::new();
        let outcome =
            self.outages
                .judge
                .outage(read.key.as_deref(), read.value.as_deref(), source, &mut out);
        Verdict {
            outcome,
            dead_letter: out.into_iter().find(|o| matches!(o, Output::DeadLetter(_))),
        }
    }

    /// Messages `from..to` of outage partition `q`, read again with the restore consumer.
    fn reread(&self, q: i32, from: i64, to: i64) -> Result<Vec<Read>, PipelineError> {
        let restorer = &self.kafka.restorer;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.outages.topic, q, Offset::Offset(from))
            .map_err(PipelineError::kafka("building an offset list"))?;
        restorer
            .assign(&tpl)
            .map_err(PipelineError::kafka("assigning a site-outages partition"))?;
        let started = Instant::now();
        let mut reads = Vec::new();
        let result = loop {
            if started.elapsed() > LOAD_TIMEOUT {
                break Err(PipelineError::Kafka {
                    context: "re-reading a site-outages partition (timed out)",
                    source: KafkaError::NoMessageReceived,
                });
            }
            match restorer.poll(Duration::from_millis(100)) {
                None => {}
                Some(Ok(message)) if message.offset() >= to => break Ok(()),
                Some(Ok(message)) => reads.push(Read::of(&message)),
                Some(Err(KafkaError::PartitionEOF(_))) => break Ok(()),
                Some(Err(e @ KafkaError::MessageConsumptionFatal(_))) => {
                    break Err(PipelineError::kafka("re-reading site outages")(e))
                }
                Some(Err(e)) => tracing::warn!(error = %e, "site-outages read error (retrying)"),
            }
        };
        let _ = restorer.unassign();
        result.map(|()| reads)
    }
}
