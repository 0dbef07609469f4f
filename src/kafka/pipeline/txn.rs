//! Transactions: commit a batch (outputs already sent, then the changelog records of every
//! changed partition, then the consumed offsets), abort and rewind, and what rebalances and
//! shutdown do with the open batch.
//!
//! Error classes (librdkafka's transactional API):
//! - retriable (e.g. a timeout while the broker restarts): the same call again, with backoff,
//!   for up to [`RETRY_FOR`];
//! - abortable: abort, then rewind every owned partition to its last commit: state restored
//!   from the changelog, badges seeked to the committed offsets, tables re-read from theirs;
//! - fatal (fenced by another instance with our transactional id, ...): the process exits
//!   non-zero; the next start resumes from the last commit.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::error::{KafkaError, KafkaResult, RDKafkaErrorCode};
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};

use super::quarantine::{Escalation, Quarantine};
use super::{Batch, GroupConsumer, Pipeline, PipelineError, CALL_TIMEOUT};
use crate::config::InputTopic;
use crate::kafka::context::is_refusal;

/// How long a retriable transaction step is retried before it counts as fatal.
const RETRY_FOR: Duration = Duration::from_secs(300);

/// Runs one transactional call with the retry/abort/fatal classification above.
fn step(
    what: &'static str,
    mut call: impl FnMut() -> KafkaResult<()>,
) -> Result<(), PipelineError> {
    let started = Instant::now();
    let mut backoff = Duration::from_millis(100);
    loop {
        match call() {
            Ok(()) => return Ok(()),
            Err(KafkaError::Transaction(e))
                if e.is_retriable() && started.elapsed() < RETRY_FOR =>
            {
                tracing::warn!(error = %e, "{what}: retrying");
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
            Err(source @ KafkaError::Transaction(_)) if requires_abort(&source) => {
                return Err(PipelineError::Abortable {
                    context: what,
                    source,
                })
            }
            Err(source) => {
                return Err(PipelineError::Kafka {
                    context: what,
                    source,
                })
            }
        }
    }
}

/// Aborts in a row for a lost group membership before the clients are recreated. One is
/// normal around a rebalance (the offsets carried the generation that just ended, and the
/// next batch carries the new one); three in a row mean the consumer will not get its
/// membership back by itself.
const MEMBERSHIP_ABORTS_BEFORE_RESTART: u32 = 3;

/// Whether the transaction's offsets were refused because this consumer is no longer the
/// member the group knows: fenced by a newer member with the same `group.instance.id`, or
/// unknown to the coordinator. After a broker restart the consumer can keep a stale
/// membership that every later transaction is refused with (seen in
/// `broker_restart_mid_run_equals_replay`: 526 aborts in 300 s); only new clients rejoin.
pub(super) fn is_membership_lost(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::FencedInstanceId | RDKafkaErrorCode::UnknownMemberId)
    )
}

fn requires_abort(error: &KafkaError) -> bool {
    match error {
        KafkaError::Transaction(e) => e.txn_requires_abort() && !e.is_fatal(),
        _ => false,
    }
}

impl Pipeline {
    /// Commits the open batch: changelog records of every changed partition (to the same
    /// partition number), the consumed offsets, then the transaction.
    pub fn commit(&mut self, consumer: &GroupConsumer) -> Result<(), PipelineError> {
        if !self.batch.open {
            return Ok(());
        }
        let commit_started = Instant::now();
        let dirty: Vec<i32> = self
            .tasks
            .iter()
            .filter(|(_, t)| t.dirty)
            .map(|(p, _)| *p)
            .collect();
        let mut changelog_records = 0usize;
        for p in &dirty {
            let records = match self.tasks.get_mut(p) {
                Some(task) => {
                    task.dirty = false;
                    task.processor.take_changes()
                }
                None => continue,
            };
            changelog_records += records.len();
            for record in &records {
                self.send_changelog(*p, &record.key, record.value.as_deref())?;
            }
        }
        self.batch.tally.add_changelog(changelog_records);
        let changelog_done = commit_started.elapsed();
        if !self.batch.offsets.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for ((input, p), offset) in &self.batch.offsets {
                let topic = self.topic(*input);
                tpl.add_partition_offset(topic, *p, Offset::Offset(*offset))
                    .map_err(PipelineError::kafka("building an offset list"))?;
            }
            let group = consumer.group_metadata().ok_or(PipelineError::Kafka {
                context: "reading the consumer group metadata",
                source: KafkaError::Subscription("no group metadata".into()),
            })?;
            step("sending offsets to the transaction", || {
                self.kafka
                    .producer
                    .send_offsets_to_transaction(&tpl, &group, CALL_TIMEOUT)
            })?;
        }
        let offsets_done = commit_started.elapsed();
        self.drain()?;
        step("committing the transaction", || {
            self.kafka.producer.commit_transaction(CALL_TIMEOUT)
        })?;
        let commit_done = commit_started.elapsed();
        let batch = std::mem::take(&mut self.batch);
        self.membership_aborts = 0;
        self.quarantine.committed(&batch.offsets);
        self.remember_commit(&batch.offsets);
        let _ = self.kafka.producer.context().take_refusal();
        let elapsed = batch.started.map(|s| s.elapsed()).unwrap_or_default();
        self.shared.metrics.observe_transaction(elapsed, true);
        self.shared.metrics.observe_batch(elapsed, batch.messages);
        self.shared.metrics.record_committed(&batch.tally);
        let records = batch.tally.records();
        self.shared
            .progress
            .inputs
            .fetch_add(batch.messages as u64, Relaxed);
        self.shared
            .progress
            .outputs
            .fetch_add(records as u64, Relaxed);
        self.shared.progress.transactions.fetch_add(1, Relaxed);
        tracing::debug!(
            messages = batch.messages,
            outputs = batch.tally.outputs(),
            changelog_records,
            batch_ms = elapsed.as_millis() as u64,
            changelog_ms = changelog_done.as_millis() as u64,
            offsets_ms = (offsets_done - changelog_done).as_millis() as u64,
            commit_ms = (commit_done - offsets_done).as_millis() as u64,
            "transaction committed"
        );
        self.publish_watermarks(dirty);
        Ok(())
    }

    /// Waits until every record sent is acknowledged, in short steps.
    ///
    /// rust-rdkafka's `commit_transaction` first calls its `flush`, which, when anything is
    /// outstanding, polls for a fixed 100 ms: a floor of 100 ms per transaction. With the
    /// producer's own thread serving delivery reports, waiting here for the queue to drain
    /// lets that flush return at once (measured: commit 100 ms -> a few ms).
    fn drain(&self) -> Result<(), PipelineError> {
        let started = Instant::now();
        while self.kafka.producer.in_flight_count() > 0 {
            if started.elapsed() > CALL_TIMEOUT {
                // Leave the rest to commit_transaction's own flush and error handling.
                return Ok(());
            }
            std::thread::sleep(Duration::from_micros(250));
        }
        Ok(())
    }

    /// Aborts the open transaction (if any) and rewinds every owned partition to its last
    /// committed state and offsets.
    pub fn abort_and_rewind(&mut self, consumer: &GroupConsumer) -> Result<(), PipelineError> {
        let partitions = self.partitions();
        tracing::warn!(?partitions, "aborting the transaction and rewinding");
        // Outputs a failed send left unsent belong to the aborted batch: the rewound
        // messages produce them again.
        self.scratch.clear();
        self.abort()?;
        self.drop_partitions(&partitions);
        if partitions.is_empty() {
            return Ok(());
        }
        let badges = self.committed(consumer, InputTopic::Badges, &partitions)?;
        consumer
            .pause(&badges)
            .map_err(PipelineError::kafka("pausing badge partitions"))?;
        for e in badges.elements() {
            consumer
                .seek(e.topic(), e.partition(), e.offset(), CALL_TIMEOUT)
                .map_err(PipelineError::kafka("seeking a badge partition back"))?;
        }
        self.on_assign(consumer, &partitions)
    }

    fn abort(&mut self) -> Result<(), PipelineError> {
        if !self.batch.open {
            return Ok(());
        }
        let batch: Batch = std::mem::take(&mut self.batch);
        step("aborting the transaction", || {
            self.kafka.producer.abort_transaction(CALL_TIMEOUT)
        })
        .map_err(|e| match e {
            // An abort that itself wants an abort (never fatal, `requires_abort`) or that
            // failed without a fatal error cannot make progress here; new clients settle the
            // transaction (`kafka::is_restartable`).
            PipelineError::Abortable { source, .. } => PipelineError::AbortFailed(source),
            PipelineError::Kafka { source, .. }
                if matches!(&source, KafkaError::Transaction(e) if !e.is_fatal()) =>
            {
                PipelineError::AbortFailed(source)
            }
            other => other,
        })?;
        let elapsed = batch.started.map(|s| s.elapsed()).unwrap_or_default();
        self.shared.metrics.observe_transaction(elapsed, false);
        self.shared.progress.aborts.fetch_add(1, Relaxed);
        Ok(())
    }

    /// Turns an abortable error into abort + rewind; passes fatal errors on.
    pub fn recover(
        &mut self,
        consumer: &GroupConsumer,
        error: PipelineError,
    ) -> Result<(), PipelineError> {
        match error {
            PipelineError::Abortable { context, source } => {
                tracing::warn!(error = %source, "{context} failed");
                if is_membership_lost(&source) {
                    self.membership_aborts += 1;
                    if self.membership_aborts >= MEMBERSHIP_ABORTS_BEFORE_RESTART {
                        self.membership_aborts = 0;
                        // Restartable (`kafka::is_restartable`): new clients, state from the
                        // changelog; the next producer's init_transactions aborts this batch.
                        return Err(PipelineError::MembershipLost { context, source });
                    }
                }
                let refusal = match self.kafka.producer.context().take_refusal() {
                    Some(r) => Some(format!("{} (topic {})", r.error, r.topic)),
                    None => source
                        .rdkafka_error_code()
                        .filter(|code| is_refusal(*code))
                        .map(|_| source.to_string()),
                };
                let offsets = self.batch.offsets.clone();
                let messages = self.batch.messages;
                let poisoned = self
                    .quarantine
                    .aborted(
                        &offsets,
                        messages,
                        refusal,
                        &source.to_string(),
                        Instant::now(),
                    )
                    .map_err(|e| self.escalate(e))?;
                if let Some((input, partition, offset)) = poisoned {
                    self.shared.metrics.record_refusal();
                    tracing::warn!(
                        topic = self.topic(input),
                        partition,
                        offset,
                        "the broker refused a record made from this message for good: \
                         it will be dead-lettered"
                    );
                }
                self.abort_and_rewind(consumer)
            }
            fatal => Err(fatal),
        }
    }

    fn escalate(&self, escalation: Escalation) -> PipelineError {
        match escalation {
            Escalation::Refused {
                input,
                partition,
                offset,
                error,
            } => PipelineError::Refused {
                topic: self.topic(input).to_owned(),
                partition,
                offset,
                error,
            },
            Escalation::Stuck {
                aborts,
                seconds,
                last,
            } => PipelineError::Stuck {
                aborts,
                seconds,
                last,
            },
        }
    }

    /// Partitions are being revoked (`lost`: taken away without a chance to commit).
    pub fn on_revoke(
        &mut self,
        consumer: &GroupConsumer,
        revoked: &[i32],
        lost: bool,
    ) -> Result<(), PipelineError> {
        tracing::info!(partitions = ?revoked, lost, "partitions revoked");
        self.quarantine.forget(revoked);
        if lost {
            let open = self.batch.open;
            self.drop_partitions(revoked);
            return if open {
                self.abort_and_rewind(consumer)
            } else {
                Ok(())
            };
        }
        // Commit everything processed so far while we still own the partitions, so the new
        // owner starts exactly where we stop.
        let result = self.commit(consumer);
        self.drop_partitions(revoked);
        match result {
            Ok(()) => Ok(()),
            Err(e) => self.recover(consumer, e),
        }
    }

    /// One round of housekeeping: idle advance, commit when the batch is due, then the
    /// gauges (see `gauges`: they are published while nothing commits too).
    pub fn tick(&mut self, consumer: &GroupConsumer) -> Result<(), PipelineError> {
        let advanced = self.idle_advance()?;
        if self.batch_due() {
            self.commit(consumer)?;
        }
        self.publish_gauges(consumer, &advanced);
        Ok(())
    }

    /// Forgets the open batch and every partition without touching Kafka (the clients are
    /// about to be recreated; the next producer aborts the open transaction).
    pub fn abandon(&mut self) {
        self.batch = Batch::default();
        self.scratch.clear();
        self.quarantine = Quarantine::default();
        let partitions = self.partitions();
        self.drop_partitions(&partitions);
    }

    /// Shutdown: commit the open batch, or abort it when it cannot commit.
    pub fn shutdown(&mut self, consumer: &GroupConsumer) -> Result<(), PipelineError> {
        match self.commit(consumer) {
            Ok(()) => {
                // The last values before the partitions are let go (and their series removed).
                self.publish_all(consumer);
                Ok(())
            }
            Err(PipelineError::Abortable { context, source }) => {
                tracing::warn!(error = %source, "{context} failed at shutdown: aborting");
                self.abort()
            }
            Err(fatal) => Err(fatal),
        }
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};

    use super::is_membership_lost;

    #[test]
    fn only_a_fenced_or_unknown_member_counts_as_a_lost_membership() {
        for code in [
            RDKafkaErrorCode::FencedInstanceId,
            RDKafkaErrorCode::UnknownMemberId,
        ] {
            assert!(
                is_membership_lost(&KafkaError::ConsumerCommit(code)),
                "{code:?}"
            );
        }
        for code in [
            RDKafkaErrorCode::RequestTimedOut,
            RDKafkaErrorCode::IllegalGeneration,
            RDKafkaErrorCode::CoordinatorLoadInProgress,
            RDKafkaErrorCode::ProducerFenced,
        ] {
            assert!(
                !is_membership_lost(&KafkaError::ConsumerCommit(code)),
                "{code:?}"
            );
        }
        assert!(!is_membership_lost(&KafkaError::Canceled));
    }
}
