//! Applying input messages to the owned partitions inside the open transaction: table
//! polling and the badge gate, badges, outputs and changelog records on the producer, the
//! idle advance, and when a batch is due.

use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::Offset;

use super::quarantine::Poison;
use super::{GroupConsumer, Pipeline, PipelineError, CALL_TIMEOUT};
use crate::config::InputTopic;
use crate::domain::output::{DeadLetter, PayloadPrefix, Source};
use crate::domain::DeadLetterReason;
use crate::engine::Output;
use crate::kafka::context::LogContext;
use crate::kafka::records::to_record;
use crate::telemetry;

impl Pipeline {
    /// Reads what the site-outage and table consumers have (outages first, then roster,
    /// absences, adjustments); true when anything was read.
    pub fn poll_tables(&mut self, consumer: &GroupConsumer) -> Result<bool, PipelineError> {
        let mut any = self.poll_outages()?;
        if self.batch_full() {
            return Ok(true);
        }
        for input in super::TABLES {
            for _ in 0..1000 {
                // A clone of the handle: the message borrows it, not `self`.
                let table = self.table(input);
                match table.poll(Duration::ZERO) {
                    None => break,
                    Some(Ok(message)) => {
                        any = true;
                        let step = Step::of(&message);
                        self.apply(input, &message, step)?;
                        if self.batch_full() {
                            return Ok(true);
                        }
                    }
                    Some(Err(KafkaError::PartitionEOF(p))) => self.table_end(consumer, input, p)?,
                    Some(Err(e @ KafkaError::MessageConsumptionFatal(_))) => {
                        return Err(PipelineError::kafka("reading a table topic")(e))
                    }
                    // Broker connection errors: librdkafka reconnects (and logged them).
                    Some(Err(e)) => tracing::debug!(error = %e, "table consumer error (retrying)"),
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
            InputTopic::Adjustments => task.adjustments_ready = true,
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
        let now = self.round.now;
        let source = Source::Kafka {
            topic: compact_str::CompactString::new(message.topic()),
            partition: p,
            offset: step.offset,
        };
        if let Some(poison) = self.quarantine.poison(input, p, step.offset) {
            return self.dead_letter_refused(input, message, source, poison.clone());
        }
        let Some(task) = self.tasks.get_mut(&p) else {
            return Ok(());
        };
        let payload = message.payload().unwrap_or_default();
        // Engine time of a badge, observed when its watermark advance closed weeks.
        let mut engine_time = None;
        let outcome = match input {
            InputTopic::Badges => {
                task.last_badge = self.round.at;
                let started = Instant::now();
                let outcome = task
                    .processor
                    .badge(payload, source, now, &mut self.scratch);
                engine_time = Some(started.elapsed());
                // Event time to emit: an on-time badge's timestamp is the partition's
                // watermark right after it is applied.
                if outcome == crate::processor::Outcome::Applied {
                    if let Some(event_time) = task.processor.engine().watermark() {
                        self.shared.metrics.observe_event_to_emit(event_time, now);
                    }
                }
                outcome
            }
            InputTopic::Roster => {
                task.processor
                    .roster(message.key(), message.payload(), source, &mut self.scratch)
            }
            InputTopic::Absences => task.processor.absence(payload, source, &mut self.scratch),
            InputTopic::Adjustments => {
                task.processor
                    .adjustment(payload, source, &mut self.scratch)
            }
            // Outages are not partitioned by employee: `poll_outages` applies them.
            InputTopic::Outages => return Ok(()),
        };
        task.dirty = true;
        self.shared.metrics.record_input(input, outcome);
        self.batch.offsets.insert((input, p), step.offset + 1);
        self.batch.messages += 1;
        let sent = self.send_outputs(message.key())?;
        if let (true, Some(elapsed)) = (sent.week_closed, engine_time) {
            self.shared.metrics.observe_week_close(elapsed);
        }
        Ok(())
    }

    /// Dead-letters, instead of applying, a message whose records the broker refused for
    /// good (see `quarantine`): `too_large`, payload and key cut to what the poison mark allows.
    fn dead_letter_refused(
        &mut self,
        input: InputTopic,
        message: &BorrowedMessage<'_>,
        source: Source,
        poison: Poison,
    ) -> Result<(), PipelineError> {
        let payload = message.payload().unwrap_or_default();
        let mut seen = PayloadPrefix::of(payload);
        seen.prefix.truncate(poison.payload_prefix());
        let detail = format!(
            "a record made from this message was refused by the broker for good ({}): \
             dead-lettered instead of applied",
            poison.error
        );
        tracing::warn!(
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            bytes = payload.len(),
            error = %poison.error,
            "dead-lettering a message whose records the broker refuses"
        );
        self.scratch.push(Output::DeadLetter(DeadLetter::truncated(
            DeadLetterReason::TooLarge,
            detail,
            source,
            seen,
        )));
        self.shared.metrics.record_input(
            input,
            crate::processor::Outcome::DeadLettered(DeadLetterReason::TooLarge),
        );
        self.batch
            .offsets
            .insert((input, message.partition()), message.offset() + 1);
        self.batch.messages += 1;
        let key = message
            .key()
            .map(|k| &k[..k.len().min(poison.key_prefix())]);
        self.send_outputs(key)?;
        Ok(())
    }

    /// Begins a transaction unless one is open.
    pub(super) fn ensure_transaction(&mut self) -> Result<(), PipelineError> {
        if !self.batch.open {
            self.kafka
                .producer
                .begin_transaction()
                .map_err(PipelineError::kafka("beginning a transaction"))?;
            self.batch.open = true;
            self.batch.started = Some(Instant::now());
        }
        Ok(())
    }

    /// Sends the outputs in `scratch` (dead letters keyed by `input_key`), counts them in the
    /// batch's tally, feeds decisions to the weekly compliance gauges and empties `scratch`.
    pub(super) fn send_outputs(&mut self, input_key: Option<&[u8]>) -> Result<Sent, PipelineError> {
        let mut sent = Sent::default();
        if self.scratch.is_empty() {
            return Ok(sent);
        }
        let topics = &self.shared.config.processor.topics;
        for output in &self.scratch {
            if let Some(record) = to_record(
                output,
                topics,
                input_key,
                &self.shared.ce_source,
                &self.round.now_text,
            ) {
                let mut base = BaseRecord::to(record.topic)
                    .payload(record.payload.as_slice())
                    .headers(record.headers);
                if let Some(key) = record.key {
                    base = base.key(key);
                }
                send(&self.kafka.producer, base)?;
            }
            self.batch.tally.add(output);
            telemetry::log_output(&self.shared.pseudonym, output);
            match output {
                Output::Decision(decision) => self.shared.metrics.record_decision(decision),
                Output::WeekClosed(_) => sent.week_closed = true,
                _ => {}
            }
        }
        self.scratch.clear();
        Ok(sent)
    }

    /// Sends one changelog record to partition `p`.
    pub(super) fn send_changelog(
        &self,
        p: i32,
        key: &str,
        value: Option<&[u8]>,
    ) -> Result<(), PipelineError> {
        let mut base = BaseRecord::to(&self.shared.config.processor.topics.changelog)
            .partition(p)
            .key(key.as_bytes());
        if let Some(value) = value {
            base = base.payload(value);
        }
        send(&self.kafka.producer, base)
    }

    /// The idle advance of §3.3: a partition without a badge for `idle_advance_after` has its
    /// watermark moved to `now - idle_advance_after`. Checked at most once a second. Returns
    /// the partitions whose watermark moved (their watermark gauge is already published,
    /// whether or not the advance emitted anything).
    pub fn idle_advance(&mut self) -> Result<Vec<i32>, PipelineError> {
        // While a refused record is searched for, it must be a message's own: the advance
        // waits until that is done.
        if self.timers.idle_check.elapsed() < Duration::from_secs(1) || self.quarantine.active() {
            return Ok(Vec::new());
        }
        self.timers.idle_check = Instant::now();
        let idle = self.shared.config.processor.time.idle_advance_after;
        let target = self.shared.clock.now().sub_duration(idle);
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
        for &p in &due {
            let Some(task) = self.tasks.get_mut(&p) else {
                continue;
            };
            let started = Instant::now();
            task.processor.advance_watermark(target, &mut self.scratch);
            let elapsed = started.elapsed();
            if let Some(w) = task.processor.engine().watermark() {
                self.shared.metrics.set_watermark(p, w);
            }
            if self
                .scratch
                .iter()
                .all(|o| matches!(o, Output::WeekClosed(_)))
            {
                // Nothing to send. An advance without records is written with the
                // partition's next batch (its changes stay tracked): replaying it after a
                // crash emits nothing either.
                if !self.scratch.is_empty() {
                    self.shared.metrics.observe_week_close(elapsed);
                    self.scratch.clear();
                }
                continue;
            }
            // Outputs and the state that produced them commit together.
            task.dirty = true;
            tracing::debug!(partition = p, outputs = self.scratch.len(), "idle advance");
            self.ensure_transaction()?;
            if self.send_outputs(None)?.week_closed {
                self.shared.metrics.observe_week_close(elapsed);
            }
        }
        Ok(due)
    }

    /// How long the next badge poll may block: until the batch is due, at most 20 ms.
    pub fn poll_wait(&self) -> Duration {
        let cap = Duration::from_millis(20);
        match self.batch.started {
            Some(started) if self.batch.open => self
                .shared
                .config
                .processor
                .state
                .batch_max_wait
                .saturating_sub(started.elapsed())
                .min(cap),
            _ => cap,
        }
    }

    /// Whether the open batch holds `batch_max_messages` (checked per message), or fewer
    /// while a message whose record the broker refused is searched for (see `quarantine`).
    pub fn batch_full(&self) -> bool {
        let max = self
            .quarantine
            .batch_limit(self.shared.config.processor.state.batch_max_messages as usize);
        self.batch.open && self.batch.messages >= max
    }

    /// Whether the open batch should be committed now (full, or open for `batch_max_wait`).
    pub fn batch_due(&self) -> bool {
        self.batch_full()
            || (self.batch.open
                && self.batch.started.is_some_and(|s| {
                    s.elapsed() >= self.shared.config.processor.state.batch_max_wait
                }))
    }
}

/// What [`Pipeline::send_outputs`] saw.
#[derive(Default)]
pub(super) struct Sent {
    /// A zone closed a week ([`Output::WeekClosed`]).
    pub(super) week_closed: bool,
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
