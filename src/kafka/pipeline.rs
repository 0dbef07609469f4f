//! The live pipeline of one instance: one [`Processor`] per owned partition, fed from the
//! three co-partitioned input topics, writing outputs and changelog records in producer
//! transactions (see [`super::txn`] for commit, abort and rewind).
//!
//! Ownership: the group consumer subscribes to the badge topic only; owning badge partition
//! p means owning roster p, absences p and changelog p too. Roster and absences are read by
//! assign-only consumers that follow the assignment (cooperative-sticky assigns topics
//! independently, so subscribing to all three would not keep partition p's topics together).
//!
//! Per partition, on assignment: restore from changelog p, then read roster p and absences p
//! up to their end before the first badge of p (badges p stay paused until both reported
//! end-of-partition). This gives the order replay uses (§7: roster and absences first) for
//! everything already in the table topics; later table updates interleave with badges in
//! arrival order. Tables are always polled before badges.
//!
//! Precondition: each partition is processed in offset order by one thread (this one).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::ThreadedProducer;
use rdkafka::{Offset, TopicPartitionList};

use super::context::{GroupContext, LogContext};
use super::restore::{self, RestoreError};
use super::{Clock, Progress};
use crate::config::Config;
use crate::engine::Output;
use crate::http::Health;
use crate::metrics::{InputTopic, Metrics};
use crate::processor::Processor;

/// Timeout of blocking Kafka calls (transaction steps, committed-offset fetches).
pub(super) const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// A fatal pipeline error: the process exits non-zero (state is recoverable, a restart
/// resumes from the last committed transaction).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The open transaction failed and must be aborted; the caller aborts it and rewinds
    /// every partition to its last commit ([`Pipeline::recover`]). Not fatal by itself.
    #[error("kafka: {context} (transaction must abort)")]
    Abortable {
        /// What was being done.
        context: &'static str,
        /// The cause.
        #[source]
        source: KafkaError,
    },
    /// A Kafka call failed in a way that cannot be retried or aborted.
    #[error("kafka: {context}")]
    Kafka {
        /// What was being done.
        context: &'static str,
        /// The cause.
        #[source]
        source: KafkaError,
    },
    /// A partition's state could not be restored.
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// The topics are missing or not co-partitioned.
    #[error(transparent)]
    Topics(#[from] super::topics::TopicError),
}

impl PipelineError {
    pub(super) fn kafka(context: &'static str) -> impl FnOnce(KafkaError) -> Self {
        move |source| Self::Kafka { context, source }
    }
}

/// One owned partition.
pub(super) struct Task {
    pub(super) processor: Processor,
    /// Roster p reported end-of-partition since assignment.
    pub(super) roster_ready: bool,
    /// Absences p reported end-of-partition since assignment.
    pub(super) absences_ready: bool,
    /// Wall-clock instant of the last badge (or of the assignment): drives the idle advance.
    pub(super) last_badge: Instant,
    /// Changed since the last changelog write.
    pub(super) dirty: bool,
}

impl Task {
    pub(super) fn gated(&self) -> bool {
        !(self.roster_ready && self.absences_ready)
    }
}

/// The open transaction's bookkeeping.
#[derive(Default)]
pub(super) struct Batch {
    pub(super) open: bool,
    pub(super) started: Option<Instant>,
    pub(super) messages: usize,
    /// Next offset to consume, per (input, partition).
    pub(super) offsets: BTreeMap<(InputTopic, i32), i64>,
    /// Outputs sent in this transaction, counted in metrics once it commits.
    pub(super) outputs: Vec<Output>,
}

/// Everything the pipeline needs besides the group consumer.
pub struct Pipeline {
    pub(super) config: Arc<Config>,
    pub(super) producer: ThreadedProducer<LogContext>,
    pub(super) roster: Arc<BaseConsumer<LogContext>>,
    pub(super) absences: Arc<BaseConsumer<LogContext>>,
    restorer: BaseConsumer<LogContext>,
    pub(super) watermarks: BaseConsumer<LogContext>,
    pub(super) tasks: BTreeMap<i32, Task>,
    pub(super) batch: Batch,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) metrics: Arc<Metrics>,
    pub(super) health: Health,
    pub(super) progress: Arc<Progress>,
    pub(super) ce_source: String,
    pub(super) scratch: Vec<Output>,
    pub(super) last_idle_check: Instant,
    /// The processing clock, read once per round of the main loop (per message it cost
    /// ~4% of the CPU in `clock_gettime`; a few ms of staleness do not matter for §2's
    /// `future_timestamp` or the headers' `ce_time`).
    pub(super) now: crate::domain::Timestamp,
    /// `now` as RFC 3339, for `ce_time`.
    pub(super) now_text: String,
    /// The monotonic instant of the round (badge arrival, for the idle advance).
    pub(super) round_at: Instant,
    pub(super) last_state_report: Instant,
}

/// The consumer type the pipeline works with.
pub type GroupConsumer = BaseConsumer<GroupContext>;

impl Pipeline {
    /// A pipeline owning no partition yet.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: Arc<Config>,
        producer: ThreadedProducer<LogContext>,
        roster: BaseConsumer<LogContext>,
        absences: BaseConsumer<LogContext>,
        restorer: BaseConsumer<LogContext>,
        watermarks: BaseConsumer<LogContext>,
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        health: Health,
        progress: Arc<Progress>,
    ) -> Self {
        let now = clock.now();
        let ce_source = format!("/attendance-compliance/{}", config.processor.kafka.group_id);
        Self {
            config,
            producer,
            roster: Arc::new(roster),
            absences: Arc::new(absences),
            restorer,
            watermarks,
            tasks: BTreeMap::new(),
            batch: Batch::default(),
            clock,
            metrics,
            health,
            progress,
            ce_source,
            scratch: Vec::new(),
            last_idle_check: Instant::now(),
            now,
            now_text: now.to_rfc3339(),
            round_at: Instant::now(),
            last_state_report: Instant::now(),
        }
    }

    /// Starts a round of the main loop: reads the clocks once for the messages that follow.
    pub fn start_round(&mut self) {
        self.round_at = Instant::now();
        self.now = self.clock.now();
        self.now_text = self.now.to_rfc3339();
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The partitions owned.
    pub fn partitions(&self) -> Vec<i32> {
        self.tasks.keys().copied().collect()
    }

    pub(super) fn topic(&self, input: InputTopic) -> &str {
        let t = &self.config.processor.topics;
        match input {
            InputTopic::Badges => &t.badges,
            InputTopic::Roster => &t.roster,
            InputTopic::Absences => &t.absences,
        }
    }

    pub(super) fn tpl(&self, input: InputTopic, partitions: &[i32]) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        for &p in partitions {
            tpl.add_partition(self.topic(input), p);
        }
        tpl
    }

    /// Takes over `partitions`: restore their state, start reading their tables from the
    /// committed offsets, and hold their badges until the tables are read.
    pub fn on_assign(
        &mut self,
        consumer: &GroupConsumer,
        partitions: &[i32],
    ) -> Result<(), PipelineError> {
        if partitions.is_empty() {
            self.health.set_ready();
            return Ok(());
        }
        // Badges wait for the restore and the tables (pause purges anything prefetched).
        consumer
            .pause(&self.tpl(InputTopic::Badges, partitions))
            .map_err(PipelineError::kafka("pausing badge partitions"))?;
        self.health.set_restoring();
        for _ in partitions {
            self.metrics.restore_started();
        }
        tracing::info!(?partitions, "partitions assigned: restoring state");
        restore::wait_for_open_transactions(
            &self.restorer,
            &self.watermarks,
            &self.config.processor.topics.changelog,
            partitions,
        )?;
        let restored = restore::restore(
            &self.restorer,
            &self.config.processor.topics.changelog,
            partitions,
            &self.config,
        )?;
        let per_partition = restored.elapsed / partitions.len().max(1) as u32;
        for records in restored.records.values() {
            self.metrics.restore_finished(per_partition, *records);
        }
        tracing::info!(
            ?partitions,
            records = restored.records.values().sum::<u64>(),
            seconds = restored.elapsed.as_secs_f64(),
            "state restored"
        );
        for (input, table) in [
            (InputTopic::Roster, &self.roster),
            (InputTopic::Absences, &self.absences),
        ] {
            let committed = committed_offsets(consumer, self.tpl(input, partitions))?;
            table
                .incremental_assign(&committed)
                .map_err(PipelineError::kafka("assigning table partitions"))?;
        }
        let now = Instant::now();
        for (p, processor) in restored.processors {
            self.tasks.insert(
                p,
                Task {
                    processor,
                    roster_ready: false,
                    absences_ready: false,
                    last_badge: now,
                    dirty: false,
                },
            );
        }
        self.health.set_ready();
        Ok(())
    }

    /// Stops reading the tables of `partitions` and forgets their state.
    pub(super) fn drop_partitions(&mut self, partitions: &[i32]) {
        for (input, table) in [
            (InputTopic::Roster, &self.roster),
            (InputTopic::Absences, &self.absences),
        ] {
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
        for p in partitions {
            self.tasks.remove(p);
            self.metrics.forget_partition(*p);
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

fn committed_offsets(
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
