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
//! refresh asks the broker for the high watermarks of all the partitions it covers in one
//! request, bounded by [`LAG_BUDGET`]: a slow or unreachable broker leaves the series at their
//! previous values instead of holding the loop.

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
    /// every co-partitioned input: one ListOffsets round trip for all of them (a latest-offset
    /// query, `Offset::End`, through the read_uncommitted watermark client), within
    /// [`LAG_BUDGET`].
    pub(super) fn publish_lag(&self, consumer: &GroupConsumer, partitions: &[i32]) {
        let started = Instant::now();
        let owned: Vec<i32> = partitions
            .iter()
            .copied()
            .filter(|p| self.tasks.contains_key(p))
            .collect();
        if owned.is_empty() {
            return;
        }
        let mut query = TopicPartitionList::new();
        for input in LAGGED {
            for &p in &owned {
                if query
                    .add_partition_offset(self.topic(input), p, Offset::End)
                    .is_err()
                {
                    return;
                }
            }
        }
        let highs = match self.kafka.watermarks.offsets_for_times(query, LAG_BUDGET) {
            Ok(highs) => highs,
            Err(e) => {
                // The broker is slow or away: the next refresh tries again.
                tracing::debug!(error = %e, "consumer lag: high watermarks");
                return;
            }
        };
        for input in LAGGED {
            let topic = self.topic(input);
            let position = match input {
                InputTopic::Badges => consumer.position(),
                other => self.table(other).position(),
            };
            let position = positions(position.ok().as_ref(), topic);
            for e in highs.elements().iter().filter(|e| e.topic() == topic) {
                let p = e.partition();
                let (Offset::Offset(high), Ok(())) = (e.offset(), e.error()) else {
                    continue;
                };
                let next = match (position.get(&p), self.next_offsets.get(&(input, p))) {
                    (Some(&at), _) => at,
                    (None, Some(Offset::Offset(at))) => *at,
                    // Nothing committed (a new group) and nothing read yet: counts from the
                    // partition's start, one more query (rare: a partition with messages
                    // is read at once).
                    (None, Some(_)) => {
                        let Some(left) = LAG_BUDGET.checked_sub(started.elapsed()) else {
                            continue;
                        };
                        match self.kafka.watermarks.fetch_watermarks(topic, p, left) {
                            Ok((low, _)) => low,
                            Err(_) => continue,
                        }
                    }
                    (None, None) => continue,
                };
                self.shared.metrics.set_consumer_lag(input, p, high - next);
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
