//! Applying the instance's site-outage table ([`super::outage_table`]) in the pipeline:
//! following the topic, applying each outage to every owned partition, re-applying the table
//! after a restore, and writing each invalid message's dead letter once cluster-wide (by the
//! owner of badge partition `q % badge_partitions` for outage partition q, in the same
//! transaction as the group's offset of q, which records how far dead letters are written;
//! a new owner of that badge partition re-reads q from that offset to where its table
//! stands and writes what is missing).

use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use super::assign::committed_offsets;
use super::outage_table::{Entry, Read, Verdict, LOAD_TIMEOUT};
use super::{GroupConsumer, Pipeline, PipelineError};
use crate::config::InputTopic;
use crate::domain::output::Source;
use crate::engine::Output;

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
        // The whole table is loaded first, then each employee re-evaluated once: applying
        // the records one by one would correct weeks for the outages not loaded yet, and
        // diverge from replay; an outage the previous owner had not applied is applied now.
        for &p in partitions {
            let Some(task) = self.tasks.get_mut(&p) else {
                continue;
            };
            for (_, entry) in &entries {
                task.processor.load_outage(&entry.value);
            }
            task.processor
                .engine_mut()
                .refresh_outages(&mut self.scratch);
            task.dirty = true;
            if !self.scratch.is_empty() {
                self.ensure_transaction()?;
                self.send_outputs(None)?;
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
