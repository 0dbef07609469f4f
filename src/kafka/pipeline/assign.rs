//! Taking partitions over and letting them go: restore, the outage table, table consumers
//! following the assignment, committed offsets.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};

use super::restore;
use super::{GroupConsumer, Pipeline, PipelineError, Task, CALL_TIMEOUT, TABLES};
use crate::config::InputTopic;
use crate::kafka::context::LogContext;

impl Pipeline {
    /// Takes over `partitions`: restore their state, start reading their tables from the
    /// committed offsets, and hold their badges until the tables are read.
    pub fn on_assign(
        &mut self,
        consumer: &GroupConsumer,
        partitions: &[i32],
    ) -> Result<(), PipelineError> {
        if partitions.is_empty() {
            self.shared.health.set_ready();
            return Ok(());
        }
        // Badges wait for the restore and the tables (pause purges anything prefetched).
        consumer
            .pause(&self.tpl(InputTopic::Badges, partitions))
            .map_err(PipelineError::kafka("pausing badge partitions"))?;
        self.shared.health.set_restoring();
        for _ in partitions {
            self.shared.metrics.restore_started();
        }
        tracing::info!(?partitions, "partitions assigned: restoring state");
        restore::wait_for_open_transactions(
            &self.kafka.restorer,
            &self.kafka.watermarks,
            &self.shared.config.processor.topics.changelog,
            partitions,
        )?;
        let restored = restore::restore(
            &self.kafka.restorer,
            &self.shared.config.processor.topics.changelog,
            partitions,
            &self.shared.config,
        )?;
        let per_partition = restored.elapsed / partitions.len().max(1) as u32;
        for records in restored.records.values() {
            self.shared
                .metrics
                .restore_finished(per_partition, *records);
        }
        tracing::info!(
            ?partitions,
            records = restored.records.values().sum::<u64>(),
            seconds = restored.elapsed.as_secs_f64(),
            "state restored"
        );
        for input in TABLES {
            let committed = committed_offsets(consumer, self.tpl(input, partitions))?;
            self.table(input)
                .incremental_assign(&committed)
                .map_err(PipelineError::kafka("assigning table partitions"))?;
            self.remember_committed(input, &committed);
        }
        // Badge consumer lag counts from the committed offsets until the consumer has read
        // something (a partition with nothing new has no position): one short attempt, a
        // gauge is not worth delaying the assignment for.
        let badges = self.tpl(InputTopic::Badges, partitions);
        match consumer.committed_offsets(badges, Duration::from_secs(5)) {
            Ok(committed) => self.remember_committed(InputTopic::Badges, &committed),
            Err(e) => tracing::debug!(error = %e, "committed badge offsets for consumer lag"),
        }
        let now = Instant::now();
        for (p, processor) in restored.processors {
            self.tasks.insert(
                p,
                Task {
                    processor,
                    roster_ready: false,
                    absences_ready: false,
                    adjustments_ready: false,
                    last_badge: now,
                    dirty: false,
                },
            );
        }
        // Before any table message or badge: the outages in force, and the dead letters of
        // outage messages this instance now answers for.
        self.apply_outage_table(partitions)?;
        self.catch_up_outage_dead_letters(consumer, partitions)?;
        // The restored watermarks, state sizes and consumer lags, now: a partition with
        // nothing new would otherwise have no series until its first commit.
        self.publish_all(consumer);
        self.shared.health.set_ready();
        self.announce();
        Ok(())
    }

    /// Stops reading the tables of `partitions` and forgets their state.
    pub(super) fn drop_partitions(&mut self, partitions: &[i32]) {
        for input in TABLES {
            let table = self.table(input);
            let mut tpl = TopicPartitionList::new();
            for &p in partitions {
                if self.tasks.contains_key(&p) {
                    tpl.add_partition(self.topic(input), p);
                }
            }
            if tpl.count() > 0 {
                if let Err(e) = table.incremental_unassign(&tpl) {
                    tracing::warn!(error = %e, "unassigning table partitions");
                }
            }
        }
        let owned = partitions.iter().any(|p| self.tasks.contains_key(p));
        for p in partitions {
            self.tasks.remove(p);
            self.shared.metrics.forget_partition(*p);
        }
        self.next_offsets
            .retain(|(_, p), _| !partitions.contains(p));
        self.outages.forget(partitions);
        if owned {
            self.announce();
        }
    }

    /// The assign-only consumer of a co-partitioned table topic (a shared handle: a polled
    /// message borrows the clone, not the pipeline).
    pub(super) fn table(&self, input: InputTopic) -> Arc<BaseConsumer<LogContext>> {
        match input {
            InputTopic::Roster => self.kafka.roster.clone(),
            InputTopic::Adjustments => self.kafka.adjustments.clone(),
            _ => self.kafka.absences.clone(),
        }
    }

    /// Committed offsets for `tpl` (unset ones become the beginning), retried while the
    /// coordinator is busy or offsets are unstable (a dead instance's transaction pending).
    pub(super) fn committed(
        &self,
        consumer: &GroupConsumer,
        input: InputTopic,
        partitions: &[i32],
    ) -> Result<TopicPartitionList, PipelineError> {
        committed_offsets(consumer, self.tpl(input, partitions))
    }
}

pub(super) fn committed_offsets(
    consumer: &GroupConsumer,
    tpl: TopicPartitionList,
) -> Result<TopicPartitionList, PipelineError> {
    let started = Instant::now();
    loop {
        match consumer.committed_offsets(tpl.clone(), CALL_TIMEOUT) {
            Ok(committed) => {
                let mut fixed = TopicPartitionList::new();
                for e in committed.elements() {
                    let offset = match e.offset() {
                        Offset::Offset(o) => Offset::Offset(o),
                        _ => Offset::Beginning,
                    };
                    fixed
                        .add_partition_offset(e.topic(), e.partition(), offset)
                        .map_err(PipelineError::kafka("building an offset list"))?;
                }
                return Ok(fixed);
            }
            Err(e) if started.elapsed() < Duration::from_secs(300) => {
                tracing::warn!(error = %e, "fetching committed offsets (retrying)");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err(e) => return Err(PipelineError::kafka("fetching committed offsets")(e)),
        }
    }
}
