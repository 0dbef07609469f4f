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
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

use super::context::{GroupContext, LogContext};
use super::records::to_record;
use super::restore::{self, RestoreError};
use super::{Clock, Progress};
use crate::config::Config;
use crate::engine::Output;
use crate::http::Health;
use crate::metrics::{InputTopic, Metrics};
use crate::processor::Processor;
use crate::wire::output::Source;

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
    roster_ready: bool,
    /// Absences p reported end-of-partition since assignment.
    absences_ready: bool,
    /// Wall-clock instant of the last badge (or of the assignment): drives the idle advance.
    last_badge: Instant,
    /// Changed since the last changelog write.
    pub(super) dirty: bool,
}

impl Task {
    fn gated(&self) -> bool {
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
    roster: Arc<BaseConsumer<LogContext>>,
    absences: Arc<BaseConsumer<LogContext>>,
    restorer: BaseConsumer<LogContext>,
    pub(super) tasks: BTreeMap<i32, Task>,
    pub(super) batch: Batch,
    clock: Arc<dyn Clock>,
    pub(super) metrics: Arc<Metrics>,
    health: Health,
    pub(super) progress: Arc<Progress>,
    ce_source: String,
    scratch: Vec<Output>,
    last_idle_check: Instant,
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
        clock: Arc<dyn Clock>,
        metrics: Arc<Metrics>,
        health: Health,
        progress: Arc<Progress>,
    ) -> Self {
        let ce_source = format!("/attendance-compliance/{}", config.processor.kafka.group_id);
        Self {
            config,
            producer,
            roster: Arc::new(roster),
            absences: Arc::new(absences),
            restorer,
            tasks: BTreeMap::new(),
            batch: Batch::default(),
            clock,
            metrics,
            health,
            progress,
            ce_source,
            scratch: Vec::new(),
            last_idle_check: Instant::now(),
            last_state_report: Instant::now(),
        }
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The partitions owned.
    pub fn partitions(&self) -> Vec<i32> {
        self.tasks.keys().copied().collect()
    }

    fn topic(&self, input: InputTopic) -> &str {
        let t = &self.config.processor.topics;
        match input {
            InputTopic::Badges => &t.badges,
            InputTopic::Roster => &t.roster,
            InputTopic::Absences => &t.absences,
        }
    }

    fn tpl(&self, input: InputTopic, partitions: &[i32]) -> TopicPartitionList {
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

    /// Reads what the table consumers have (roster first); true when anything was read.
    pub fn poll_tables(&mut self, consumer: &GroupConsumer) -> Result<bool, PipelineError> {
        let mut any = false;
        for input in [InputTopic::Roster, InputTopic::Absences] {
            for _ in 0..1000 {
                // A clone of the handle: the message borrows it, not `self`.
                let table = match input {
                    InputTopic::Roster => self.roster.clone(),
                    _ => self.absences.clone(),
                };
                match table.poll(Duration::ZERO) {
                    None => break,
                    Some(Ok(message)) => {
                        any = true;
                        let step = Step::of(&message);
                        self.apply(input, &message, step)?;
                    }
                    Some(Err(KafkaError::PartitionEOF(p))) => self.table_end(consumer, input, p)?,
                    Some(Err(e @ KafkaError::MessageConsumptionFatal(_))) => {
                        return Err(PipelineError::kafka("reading a table topic")(e))
                    }
                    Some(Err(e)) => tracing::warn!(error = %e, "table consumer error (retrying)"),
                }
            }
        }
        Ok(any)
    }

    fn table_end(
        &mut self,
        consumer: &GroupConsumer,
        input: InputTopic,
        p: i32,
    ) -> Result<(), PipelineError> {
        let Some(task) = self.tasks.get_mut(&p) else {
            return Ok(());
        };
        let was_gated = task.gated();
        match input {
            InputTopic::Roster => task.roster_ready = true,
            _ => task.absences_ready = true,
        }
        if was_gated && !task.gated() {
            task.last_badge = Instant::now();
            tracing::debug!(partition = p, "tables read: releasing badges");
            consumer
                .resume(&self.tpl(InputTopic::Badges, &[p]))
                .map_err(PipelineError::kafka("resuming a badge partition"))?;
        }
        Ok(())
    }

    /// Handles one badge message from the group consumer.
    pub fn handle_badge(
        &mut self,
        consumer: &GroupConsumer,
        message: &BorrowedMessage<'_>,
    ) -> Result<(), PipelineError> {
        let p = message.partition();
        match self.tasks.get(&p) {
            None => return Ok(()), // no longer ours: its new owner reads it from the commit
            Some(task) if task.gated() => {
                // Prefetched before the pause took effect: read it again once released.
                let topic = self.topic(InputTopic::Badges).to_owned();
                consumer
                    .seek(&topic, p, Offset::Offset(message.offset()), CALL_TIMEOUT)
                    .and_then(|()| consumer.pause(&self.tpl(InputTopic::Badges, &[p])))
                    .map_err(PipelineError::kafka("re-pausing a badge partition"))?;
                return Ok(());
            }
            Some(_) => {}
        }
        let step = Step::of(message);
        self.apply(InputTopic::Badges, message, step)
    }

    /// Applies one input message of an owned partition inside the open transaction.
    fn apply(
        &mut self,
        input: InputTopic,
        message: &BorrowedMessage<'_>,
        step: Step,
    ) -> Result<(), PipelineError> {
        let p = step.partition;
        if !self.tasks.contains_key(&p) {
            return Ok(());
        }
        self.ensure_transaction()?;
        let now = self.clock.now();
        let source = Source::Kafka {
            topic: message.topic().to_owned(),
            partition: p,
            offset: step.offset,
        };
        let Some(task) = self.tasks.get_mut(&p) else {
            return Ok(());
        };
        let payload = message.payload().unwrap_or_default();
        let outcome = match input {
            InputTopic::Badges => {
                task.last_badge = Instant::now();
                task.processor
                    .badge(payload, source, now, &mut self.scratch)
            }
            InputTopic::Roster => {
                task.processor
                    .roster(message.key(), message.payload(), source, &mut self.scratch)
            }
            InputTopic::Absences => task.processor.absence(payload, source, &mut self.scratch),
        };
        task.dirty = true;
        self.metrics.record_input(input, outcome);
        self.batch.offsets.insert((input, p), step.offset + 1);
        self.batch.messages += 1;
        self.send_outputs(message.key())
    }

    /// Begins a transaction unless one is open.
    pub(super) fn ensure_transaction(&mut self) -> Result<(), PipelineError> {
        if !self.batch.open {
            self.producer
                .begin_transaction()
                .map_err(PipelineError::kafka("beginning a transaction"))?;
            self.batch.open = true;
            self.batch.started = Some(Instant::now());
        }
        Ok(())
    }

    /// Sends the outputs in `scratch` (dead letters keyed by `input_key`).
    fn send_outputs(&mut self, input_key: Option<&[u8]>) -> Result<(), PipelineError> {
        if self.scratch.is_empty() {
            return Ok(());
        }
        let time = self.clock.now().to_rfc3339();
        let topics = &self.config.processor.topics;
        for output in &self.scratch {
            if let Some(record) = to_record(output, topics, input_key, &self.ce_source, &time) {
                let mut base = BaseRecord::to(record.topic)
                    .payload(record.payload.as_slice())
                    .headers(record.headers);
                if let Some(key) = record.key {
                    base = base.key(key);
                }
                send(&self.producer, base)?;
            }
        }
        self.batch.outputs.append(&mut self.scratch);
        Ok(())
    }

    /// Sends one changelog record to partition `p`.
    pub(super) fn send_changelog(
        &self,
        p: i32,
        key: &str,
        value: Option<&[u8]>,
    ) -> Result<(), PipelineError> {
        let mut base = BaseRecord::to(&self.config.processor.topics.changelog)
            .partition(p)
            .key(key.as_bytes());
        if let Some(value) = value {
            base = base.payload(value);
        }
        send(&self.producer, base)
    }

    /// The idle advance of §3.3: a partition without a badge for `idle_advance_after` has its
    /// watermark moved to `now - idle_advance_after`. Checked at most once a second.
    pub fn idle_advance(&mut self) -> Result<(), PipelineError> {
        if self.last_idle_check.elapsed() < Duration::from_secs(1) {
            return Ok(());
        }
        self.last_idle_check = Instant::now();
        let idle = self.config.processor.time.idle_advance_after;
        let target = self.clock.now().sub_duration(idle);
        let due: Vec<i32> = self
            .tasks
            .iter()
            .filter(|(_, t)| {
                !t.gated()
                    && t.last_badge.elapsed() >= idle
                    && t.processor.engine().watermark().is_some_and(|w| w < target)
            })
            .map(|(p, _)| *p)
            .collect();
        for p in due {
            let Some(task) = self.tasks.get_mut(&p) else {
                continue;
            };
            task.processor.advance_watermark(target, &mut self.scratch);
            if !self.scratch.is_empty() {
                // Outputs and the state that produced them commit together. An advance
                // without outputs is written with the partition's next batch (its changes
                // stay tracked): replaying it after a crash emits nothing either.
                task.dirty = true;
                tracing::debug!(partition = p, outputs = self.scratch.len(), "idle advance");
                self.ensure_transaction()?;
                self.send_outputs(None)?;
            }
        }
        Ok(())
    }

    /// How long the next badge poll may block: until the batch is due, at most 20 ms.
    pub fn poll_wait(&self) -> Duration {
        let cap = Duration::from_millis(20);
        match self.batch.started {
            Some(started) if self.batch.open => self
                .config
                .processor
                .state
                .batch_max_wait
                .saturating_sub(started.elapsed())
                .min(cap),
            _ => cap,
        }
    }

    /// Whether the open batch should be committed now.
    pub fn batch_due(&self) -> bool {
        let state = &self.config.processor.state;
        self.batch.open
            && (self.batch.messages >= state.batch_max_messages as usize
                || self
                    .batch
                    .started
                    .is_some_and(|s| s.elapsed() >= state.batch_max_wait))
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

/// The coordinates of a message, read before it is applied.
#[derive(Clone, Copy)]
struct Step {
    partition: i32,
    offset: i64,
}

impl Step {
    fn of(message: &BorrowedMessage<'_>) -> Self {
        Self {
            partition: message.partition(),
            offset: message.offset(),
        }
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

/// Sends a record, waiting while the producer queue is full. Any other error fails the
/// transaction (the caller aborts and rewinds).
fn send(
    producer: &ThreadedProducer<LogContext>,
    mut record: BaseRecord<'_, [u8], [u8]>,
) -> Result<(), PipelineError> {
    loop {
        match producer.send(record) {
            Ok(()) => return Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                record = back;
                // The producer's own thread drains the queue; give it a moment.
                std::thread::sleep(Duration::from_millis(1));
            }
            Err((source, _)) => {
                return Err(PipelineError::Abortable {
                    context: "producing a record",
                    source,
                })
            }
        }
    }
}
