//! The freshness gauges of every owned partition — watermark, consumer lag, state size —
//! published when they change *and* on timers, so that they tell the truth while the input
//! is quiet (no batch commits for hours) and right after a restore (nothing new to commit).
//!
//! | gauge | published |
//! |---|---|
//! | `attendance_watermark_seconds` (its lag is computed at scrape) | after each commit (changed partitions); for every partition an idle advance moves, whether or not the advance emitted anything; right after a restore; every second from the housekeeping tick; at shutdown |
//! | `attendance_consumer_lag_messages` | for the partitions an idle advance moves; right after a restore; every 10 s for every owned partition; at shutdown |
//! | `attendance_state_*` | right after a restore; every 10 s (the size walks every employee) |
//!
//! The watermark published is the one the partition's engine holds, which may be ahead of
//! the last commit by one open batch. A partition that never saw a badge has no watermark
//! (docs/SEMANTICS.md 12) and so no watermark series. Consumer lag is the high watermark
//! minus the consumer's position, or, before the consumer has read anything of the
//! partition (a restored partition with nothing new), minus the committed offset. Each lag
//! refresh queries the broker and is bounded by [`LAG_BUDGET`]: a slow or unreachable broker
//! leaves the rest of the series at their previous values instead of holding the loop.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use rdkafka::{Offset, TopicPartitionList};

use super::{GroupConsumer, Pipeline};
use crate::config::InputTopic;

/// The inputs whose consumer lag is reported (outages are read whole by every instance).
const LAGGED: [InputTopic; 4] = [
    InputTopic::Badges,
    InputTopic::Roster,
    InputTopic::Absences,
    InputTopic::Adjustments,
];

/// How long one consumer-lag refresh may query the broker, in all.
pub(super) const LAG_BUDGET: Duration = Duration::from_secs(1);

/// How often the watermarks of every owned partition are published.
pub(super) const WATERMARK_EVERY: Duration = Duration::from_secs(1);

/// How often state size and consumer lag of every owned partition are published.
pub(super) const SIZE_AND_LAG_EVERY: Duration = Duration::from_secs(10);

impl Pipeline {
    /// Publishes the watermark of each of `partitions` that has one.
    pub(super) fn publish_watermarks(&self, partitions: impl IntoIterator<Item = i32>) {
        for p in partitions {
            if let Some(w) = self
                .tasks
                .get(&p)
                .and_then(|t| t.processor.engine().watermark())
            {
                self.shared.metrics.set_watermark(p, w);
            }
        }
    }

    /// Publishes the state size of each of `partitions`.
    pub(super) fn publish_size(&self, partitions: &[i32]) {
        for p in partitions {
            if let Some(task) = self.tasks.get(p) {
                let engine = task.processor.engine();
                self.shared.metrics.set_state_size(
                    *p,
                    engine.employees_tracked(),
                    engine.unrostered_held(),
                    engine.state_bytes(),
                );
            }
        }
    }

    /// The housekeeping tick's share: every owned watermark each [`WATERMARK_EVERY`], the
    /// lag of the partitions the idle advance just moved (`advanced`), and size and lag of
    /// every owned partition each [`SIZE_AND_LAG_EVERY`].
    pub(super) fn publish_gauges(&mut self, consumer: &GroupConsumer, advanced: &[i32]) {
        if self.timers.watermark_report.elapsed() >= WATERMARK_EVERY {
            self.timers.watermark_report = Instant::now();
            self.publish_watermarks(self.tasks.keys().copied());
        }
        if self.timers.state_report.elapsed() >= SIZE_AND_LAG_EVERY {
            self.publish_all_size_and_lag(consumer);
        } else if !advanced.is_empty() {
            self.publish_lag(consumer, advanced);
        }
    }

    /// State size and consumer lag of every owned partition, now; restarts their timer.
    pub(super) fn publish_all_size_and_lag(&mut self, consumer: &GroupConsumer) {
        self.timers.state_report = Instant::now();
        let partitions = self.partitions();
        self.publish_size(&partitions);
        self.publish_lag(consumer, &partitions);
    }

    /// Everything, for every owned partition (restore done, shutdown).
    pub(super) fn publish_all(&mut self, consumer: &GroupConsumer) {
        self.timers.watermark_report = Instant::now();
        self.publish_watermarks(self.tasks.keys().copied());
        self.publish_all_size_and_lag(consumer);
    }

    /// Consumer lag (high watermark minus position) of each of `partitions` (owned ones) on
    /// every co-partitioned input, within [`LAG_BUDGET`].
    pub(super) fn publish_lag(&self, consumer: &GroupConsumer, partitions: &[i32]) {
        let started = Instant::now();
        for input in LAGGED {
            let topic = self.topic(input);
            let position = match input {
                InputTopic::Badges => consumer.position(),
                other => self.table(other).position(),
            };
            let position = positions(position.ok().as_ref(), topic);
            for &p in partitions {
                if !self.tasks.contains_key(&p) {
                    continue;
                }
                let Some(left) = LAG_BUDGET.checked_sub(started.elapsed()) else {
                    tracing::debug!("consumer lag: refresh over its time budget, rest skipped");
                    return;
                };
                let (low, high) = match self.kafka.watermarks.fetch_watermarks(topic, p, left) {
                    Ok(w) => w,
                    Err(e) => {
                        // The broker is slow or away: the next refresh tries again.
                        tracing::debug!(error = %e, topic, partition = p, "consumer lag");
                        return;
                    }
                };
                let next = position.get(&p).copied().or_else(|| {
                    match self.next_offsets.get(&(input, p)) {
                        Some(Offset::Offset(o)) => Some(*o),
                        Some(_) => Some(low),
                        None => None,
                    }
                });
                if let Some(next) = next {
                    self.shared.metrics.set_consumer_lag(input, p, high - next);
                }
            }
        }
    }

    /// Remembers the committed offsets in `committed` (of `input`) as the partitions' next
    /// offsets: what consumer lag counts from before the consumer has read anything.
    pub(super) fn remember_committed(&mut self, input: InputTopic, committed: &TopicPartitionList) {
        for e in committed.elements() {
            self.next_offsets.insert((input, e.partition()), e.offset());
        }
    }

    /// Remembers the offsets a commit stored as the partitions' next offsets.
    pub(super) fn remember_commit(&mut self, offsets: &BTreeMap<(InputTopic, i32), i64>) {
        for (&(input, p), &offset) in offsets {
            if LAGGED.contains(&input) {
                self.next_offsets.insert((input, p), Offset::Offset(offset));
            }
        }
    }
}

/// The valid positions of `topic` in `list`, by partition.
fn positions(list: Option<&TopicPartitionList>, topic: &str) -> BTreeMap<i32, i64> {
    let Some(list) = list else {
        return BTreeMap::new();
    };
    list.elements()
        .iter()
        .filter(|e| e.topic() == topic)
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect()
}
