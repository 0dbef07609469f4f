//! Rebuilding partition state from the compacted changelog (recoverable state).
//!
//! For each partition p being taken over, read changelog partition p from the beginning to
//! its end with `isolation.level=read_committed` (the end is the last stable offset: records
//! of a transaction still open, e.g. a crashed instance's, are not state yet), feed every
//! record to [`Engine::restore`](crate::engine::Engine::restore) and call
//! `finish_restore`. "End" is librdkafka's partition-EOF event, which accounts for
//! transaction markers and aborted records (a position compared with the high watermark
//! would not).
//!
//! Pure with respect to the pipeline: it returns fresh processors; the caller swaps them in.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::config::Config;
use crate::engine::SnapshotError;
use crate::processor::Processor;

/// Longest time a restore may take before the service gives up (and exits non-zero).
const RESTORE_TIMEOUT: Duration = Duration::from_secs(600);

/// Why a restore failed. Every variant is fatal: processing without the state would emit
/// wrong decisions.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The changelog could not be read.
    #[error("cannot read changelog {topic}")]
    Kafka {
        /// The changelog topic.
        topic: String,
        /// The cause.
        #[source]
        source: KafkaError,
    },
    /// A changelog record could not be decoded.
    #[error("changelog {topic} partition {partition} offset {offset} is unreadable")]
    Corrupt {
        /// The changelog topic.
        topic: String,
        /// Its partition.
        partition: i32,
        /// The record's offset.
        offset: i64,
        /// The cause.
        #[source]
        source: SnapshotError,
    },
    /// The end of the changelog was not reached in time.
    #[error(
        "restore of {topic} partitions {partitions:?} did not finish within {RESTORE_TIMEOUT:?}"
    )]
    Timeout {
        /// The changelog topic.
        topic: String,
        /// Partitions not finished.
        partitions: Vec<i32>,
    },
}

/// The outcome of a restore.
#[derive(Debug)]
pub struct Restored {
    /// One restored processor per partition, tracking changes.
    pub processors: BTreeMap<i32, Processor>,
    /// Changelog records read, per partition.
    pub records: BTreeMap<i32, u64>,
    /// How long it took.
    pub elapsed: Duration,
}

/// Waits until no transaction is open on `partitions` of `topic`: the last stable offset
/// (what `committed`, a read_committed client, reports as the end) has reached the high
/// watermark (what `uncommitted`, a read_uncommitted client, reports).
///
/// A transaction still open on a partition we are taking over can only be a dead or fenced
/// previous owner's (a live owner commits before it lets go). Restoring before the broker
/// aborts it would stop at its first record; if this instance then wrote and committed
/// after it and had to restore again while it is still open, that restore would miss its own
/// committed state. Waiting closes that window; it lasts at most the zombie's
/// `transaction.timeout.ms` plus the broker's abort check interval.
pub fn wait_for_open_transactions<C, D>(
    committed: &BaseConsumer<C>,
    uncommitted: &BaseConsumer<D>,
    topic: &str,
    partitions: &[i32],
) -> Result<(), RestoreError>
where
    C: rdkafka::consumer::ConsumerContext,
    D: rdkafka::consumer::ConsumerContext,
{
    let started = Instant::now();
    let kafka_err = |source| RestoreError::Kafka {
        topic: topic.to_owned(),
        source,
    };
    let mut logged = false;
    for &p in partitions {
        loop {
            // A broker that is restarting or busy does not answer for a while: retry until
            // the restore's deadline, then give up with the last error.
            let watermarks = committed
                .fetch_watermarks(topic, p, Duration::from_secs(10))
                .and_then(|(_, stable)| {
                    uncommitted
                        .fetch_watermarks(topic, p, Duration::from_secs(10))
                        .map(|(_, high)| (stable, high))
                });
            let (stable, high) = match watermarks {
                Ok(both) => both,
                Err(e) if started.elapsed() > RESTORE_TIMEOUT => return Err(kafka_err(e)),
                Err(e) => {
                    tracing::warn!(topic, partition = p, error = %e,
                        "reading the changelog's offsets failed: retrying");
                    std::thread::sleep(Duration::from_millis(500));
                    continue;
                }
            };
            if stable >= high {
                break;
            }
            if started.elapsed() > RESTORE_TIMEOUT {
                return Err(RestoreError::Timeout {
                    topic: topic.to_owned(),
                    partitions: vec![p],
                });
            }
            if !logged {
                tracing::warn!(
                    topic,
                    partition = p,
                    stable,
                    high,
                    "an earlier owner's transaction is still open on the changelog: waiting \
                     for the broker to abort it before restoring (one that never ends: \
                     docs/LIVE.md, \"A transaction that never ends\")"
                );
                logged = true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    if logged {
        tracing::info!(
            topic,
            seconds = started.elapsed().as_secs_f64(),
            "open transaction gone"
        );
    }
    Ok(())
}

/// Restores `partitions` of `topic` with `consumer` (an assign-only consumer with
/// `enable.partition.eof`, see [`super::clients::assign_only_consumer`]).
pub fn restore<C: rdkafka::consumer::ConsumerContext>(
    consumer: &BaseConsumer<C>,
    topic: &str,
    partitions: &[i32],
    config: &Config,
) -> Result<Restored, RestoreError> {
    let started = Instant::now();
    let kafka_err = |source| RestoreError::Kafka {
        topic: topic.to_owned(),
        source,
    };
    let mut processors: BTreeMap<i32, Processor> = partitions
        .iter()
        .map(|&p| (p, Processor::new(config)))
        .collect();
    for (&p, processor) in &mut processors {
        // A sizing hint; a broker that does not answer at once only makes the index grow.
        if let Ok((low, high)) = consumer.fetch_watermarks(topic, p, Duration::from_secs(1)) {
            let records = u64::try_from(high.saturating_sub(low)).unwrap_or(0);
            processor.engine_mut().reserve_for_restore(records);
        }
    }
    let mut records: BTreeMap<i32, u64> = partitions.iter().map(|&p| (p, 0)).collect();
    let mut remaining: BTreeSet<i32> = partitions.iter().copied().collect();
    let mut tpl = TopicPartitionList::new();
    for &p in partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .map_err(kafka_err)?;
    }
    consumer.assign(&tpl).map_err(kafka_err)?;
    let result = (|| {
        // The clock is read after an empty poll and every 1,024 records: read per record
        // it cost ~4 % of a restore.
        let mut check_clock = true;
        let mut records_since_check = 0u32;
        while !remaining.is_empty() {
            if check_clock || records_since_check >= 1024 {
                if started.elapsed() > RESTORE_TIMEOUT {
                    return Err(RestoreError::Timeout {
                        topic: topic.to_owned(),
                        partitions: remaining.iter().copied().collect(),
                    });
                }
                (check_clock, records_since_check) = (false, 0);
            }
            records_since_check += 1;
            match consumer.poll(Duration::from_millis(100)) {
                None => check_clock = true,
                Some(Ok(message)) => {
                    let p = message.partition();
                    let Some(processor) = processors.get_mut(&p) else {
                        continue;
                    };
                    let corrupt = |source| RestoreError::Corrupt {
                        topic: topic.to_owned(),
                        partition: p,
                        offset: message.offset(),
                        source,
                    };
                    let key = message
                        .key()
                        .and_then(|k| std::str::from_utf8(k).ok())
                        .ok_or_else(|| {
                            corrupt(SnapshotError::Corrupt("key is not UTF-8".into()))
                        })?;
                    processor
                        .engine_mut()
                        .restore(key, message.payload())
                        .map_err(corrupt)?;
                    *records.entry(p).or_default() += 1;
                }
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    remaining.remove(&p);
                }
                Some(Err(e @ KafkaError::MessageConsumptionFatal(_))) => return Err(kafka_err(e)),
                Some(Err(e)) => {
                    tracing::warn!(topic, error = %e, "changelog read error (retrying)");
                }
            }
        }
        Ok(())
    })();
    let _ = consumer.unassign();
    result?;
    for processor in processors.values_mut() {
        processor.engine_mut().finish_restore();
        processor.track_changes();
    }
    Ok(Restored {
        processors,
        records,
        elapsed: started.elapsed(),
    })
}
