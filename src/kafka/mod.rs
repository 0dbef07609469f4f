//! The Kafka shell of the live service: consumer group, transactional producer, changelog
//! restore. Drives [`crate::processor::Processor`] (the only path from raw messages to
//! outputs) and owns no business rule.
//!
//! Threads: [`run_pipeline`] runs on a dedicated OS thread. It owns a `BaseConsumer` (group
//! member, badge topic), three assign-only consumers following the assignment (roster,
//! absences, adjustments), one reading the whole site-outages topic, a restore consumer and
//! a `ThreadedProducer`. Transactional calls block, so none of this runs on an async runtime;
//! rebalance callbacks run inside `poll` on the same thread and commit or restore before the
//! assignment changes.
//!
//! Exactly-once: per batch (at most `state.batch_max_messages` messages or
//! `state.batch_max_wait`), the outputs, the changelog records of every changed partition
//! and the consumed offsets of the inputs commit in one transaction. A crash loses the
//! open transaction only; restore + committed offsets resume exactly after the last commit.
//! See `docs/LIVE.md` for the design notes.

pub mod access;
pub mod access_log;
pub mod allocator;
pub mod clients;
pub mod context;
pub mod instances;
pub mod pipeline;
pub mod records;
pub mod restore;
pub mod startup;
pub mod topics;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::producer::{Producer, ThreadedProducer};
use rdkafka::ClientConfig;

use crate::clock::Clock;
use crate::config::Config;
use crate::health::Health;
use crate::metrics::Metrics;

use context::{GroupContext, LogContext};
use pipeline::{Clients, Pipeline, PipelineError, Services};

/// Counters of committed work, for callers that wait for a run to finish (the demo, where
/// the mock cluster keeps no committed offsets to look at).
#[derive(Debug, Default)]
pub struct Progress {
    /// Input messages whose transaction committed.
    pub inputs: std::sync::atomic::AtomicU64,
    /// Output records whose transaction committed.
    pub outputs: std::sync::atomic::AtomicU64,
    /// Transactions committed.
    pub transactions: std::sync::atomic::AtomicU64,
    /// Transactions aborted.
    pub aborts: std::sync::atomic::AtomicU64,
}

/// What [`run_pipeline`] needs.
pub struct LiveOptions {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Processing clock.
    pub clock: Arc<dyn Clock>,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Readiness, reported by `/readyz`.
    pub health: Health,
    /// Set to stop: the open batch commits, the consumer leaves the group, the call returns.
    pub stop: Arc<AtomicBool>,
    /// Committed work, counted.
    pub progress: Arc<Progress>,
    /// The record API's requests, answered between batches (`None`: no API).
    pub records: Option<crate::api::requests::Requests>,
    /// The record API's instance directory entry, written on assignment changes (`None`: no
    /// API).
    pub announcer: Option<Arc<instances::Announcer>>,
}

/// `error: cause: cause` on one line, for logs; a cause whose text the line already holds
/// is left out (librdkafka's errors repeat their code as their source).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn create<T: rdkafka::config::FromClientConfigAndContext<LogContext>>(
    config: &ClientConfig,
    what: &'static str,
) -> Result<T, PipelineError> {
    config
        .create_with_context(LogContext::default())
        .map_err(PipelineError::kafka(what))
}

/// Initializes the transactional producer, fencing any earlier producer with the same
/// transactional id (our own crashed predecessor) and aborting its open transaction.
fn init_producer(config: &Config) -> Result<ThreadedProducer<LogContext>, PipelineError> {
    let kafka = &config.processor.kafka;
    let producer: ThreadedProducer<LogContext> = create(
        &clients::transactional_producer(kafka),
        "creating the producer",
    )?;
    let started = Instant::now();
    loop {
        match producer.init_transactions(pipeline::CALL_TIMEOUT) {
            Ok(()) => break,
            Err(KafkaError::Transaction(e))
                if e.is_retriable() && started.elapsed() < Duration::from_secs(300) =>
            {
                tracing::warn!(error = %e, "initializing transactions: retrying");
            }
            Err(source) => {
                return Err(PipelineError::Kafka {
                    context: "initializing transactions",
                    source,
                })
            }
        }
    }
    tracing::info!(
        transactional_id = %clients::transactional_id(kafka),
        "transactional producer ready"
    );
    Ok(producer)
}

/// At most this many in-process restarts per [`RESTART_WINDOW`] (then the error is fatal).
const MAX_RESTARTS: usize = 5;
const RESTART_WINDOW: Duration = Duration::from_secs(600);

/// Whether a fatal error is one a fresh set of clients recovers from: a static member fenced
/// after a group coordinator failover (librdkafka makes `FENCED_INSTANCE_ID` fatal for the
/// consumer; a new consumer with the same `group.instance.id` takes the membership back), or
/// transactions refused again and again for a membership the consumer does not regain, or an
/// abort that failed without a fatal error.
/// Everything committed is safe; the open transaction is aborted by the new producer's
/// `init_transactions`.
fn is_restartable(error: &PipelineError) -> bool {
    matches!(
        error,
        PipelineError::Kafka {
            source: KafkaError::MessageConsumptionFatal(
                rdkafka::types::RDKafkaErrorCode::FencedInstanceId
            ),
            ..
        } | PipelineError::MembershipLost { .. }
            | PipelineError::AbortFailed(_)
    )
}

/// Runs the live pipeline until `options.stop` is set or a fatal error occurs. A consumer
/// fenced by a coordinator failover is recreated in-process (at most `MAX_RESTARTS` times
/// in ten minutes); any other fatal error returns.
pub fn run_pipeline(options: LiveOptions) -> Result<(), PipelineError> {
    let mut restarts: std::collections::VecDeque<Instant> = std::collections::VecDeque::new();
    loop {
        match run_once(&options) {
            Err(e) if is_restartable(&e) && !options.stop.load(Ordering::Relaxed) => {
                restarts.retain(|t| t.elapsed() < RESTART_WINDOW);
                if restarts.len() >= MAX_RESTARTS {
                    return Err(e);
                }
                restarts.push_back(Instant::now());
                tracing::warn!(
                    error = %error_chain(&e),
                    "restarting the Kafka clients (state is restored from the changelog)"
                );
                options.health.set_starting();
                std::thread::sleep(Duration::from_secs(1));
            }
            other => return other,
        }
    }
}

fn run_once(options: &LiveOptions) -> Result<(), PipelineError> {
    let config = options.config.clone();
    let kafka = &config.processor.kafka;
    let topics = &config.processor.topics;

    let metadata: BaseConsumer<LogContext> = create(
        &clients::metadata_client(kafka),
        "creating a metadata client",
    )?;
    let partitions = topics::check_topics(
        &metadata,
        &kafka.brokers,
        topics,
        config
            .processor
            .api
            .listen
            .map(|_| config.processor.api.access_log_topic.as_str()),
        kafka.startup_timeout,
    )?;
    drop(metadata);
    tracing::info!(
        partitions,
        badges = %topics.badges,
        group = %kafka.group_id,
        "topics checked"
    );

    let producer = init_producer(&config)?;
    let table_config = clients::assign_only_consumer(kafka);
    // Every outage before any partition: the whole topic is read now (SPEC §1.5).
    let outages = pipeline::OutageTable::load(
        create(&table_config, "creating the site-outages consumer")?,
        &config,
        partitions,
    )?;
    let pipeline = Pipeline::new(
        Clients {
            producer,
            roster: create(&table_config, "creating the roster consumer")?,
            absences: create(&table_config, "creating the absences consumer")?,
            adjustments: create(&table_config, "creating the adjustments consumer")?,
            outages,
            restorer: create(&table_config, "creating the restore consumer")?,
            watermarks: create(
                &clients::watermark_client(kafka),
                "creating the watermark client",
            )?,
        },
        Services {
            config: config.clone(),
            clock: options.clock.clone(),
            metrics: options.metrics.clone(),
            health: options.health.clone(),
            progress: options.progress.clone(),
            announcer: options.announcer.clone(),
        },
    );
    let consumer: BaseConsumer<GroupContext> = clients::group_consumer(kafka)
        .create_with_context(GroupContext::new(pipeline))
        .map_err(PipelineError::kafka("creating the group consumer"))?;
    consumer
        .subscribe(&[topics.badges.as_str()])
        .map_err(PipelineError::kafka("subscribing"))?;

    let result = main_loop(
        &consumer,
        &options.stop,
        options.records.as_ref(),
        partitions,
    );
    if result.as_ref().is_err_and(is_restartable) {
        // Nothing more to commit with fenced clients: forget the open batch and the
        // partitions (the next producer's init_transactions aborts the batch's transaction).
        consumer.context().pipeline().abandon();
        return result;
    }
    options.health.set_stopping();
    let result = result.and_then(|()| {
        tracing::info!("stopping: committing the open batch");
        consumer.context().pipeline().shutdown(&consumer)
    });
    if let Err(e) = &result {
        // Logged once by whoever handles it: `run_pipeline` (a restart, WARN) or the command
        // (a fatal error, ERROR).
        tracing::debug!(error = %error_chain(e), "pipeline failed");
        return result;
    }
    // Leave the group: the revoke callback finds no open batch; close() sends LeaveGroup
    // (unless group.instance.id makes this a static member, which keeps its partitions until
    // session.timeout.ms so that a quick restart gets them back without a rebalance).
    consumer.unsubscribe();
    drop(consumer);
    tracing::info!("stopped");
    Ok(())
}

/// The longest idle poll while the record API is on: a request waits for the pipeline's
/// loop at most this long when no input arrives (1,000 wake-ups a second when idle, a few
/// microseconds each).
const API_POLL_WAIT: Duration = Duration::from_millis(1);

/// Polls tables, then badges, then housekeeping, until stopped.
fn main_loop(
    consumer: &BaseConsumer<GroupContext>,
    stop: &AtomicBool,
    records: Option<&crate::api::requests::Requests>,
    partitions: usize,
) -> Result<(), PipelineError> {
    let context = consumer.context().clone();
    let mut trimmer = allocator::Trimmer::new(Instant::now());
    while !stop.load(Ordering::Relaxed) {
        if let Some(fatal) = context.take_fatal() {
            return Err(fatal);
        }
        let (tables_busy, wait, full) = {
            let mut pipeline = context.pipeline();
            pipeline.start_round();
            let busy = match pipeline.poll_tables(consumer) {
                Ok(busy) => busy,
                Err(e) => {
                    pipeline.recover(consumer, e)?;
                    true
                }
            };
            let wait = if busy {
                Duration::ZERO
            } else {
                pipeline.poll_wait()
            };
            (busy, wait, pipeline.batch_full())
        };
        // With the record API on, an idle poll returns within API_POLL_WAIT so that a request
        // does not wait for the whole 20 ms (the pipeline cannot be woken from the listener).
        let mut wait = if records.is_some() {
            wait.min(API_POLL_WAIT)
        } else {
            wait
        };
        // Up to 1000 badges per round, then tables and housekeeping again (none when the
        // tables filled the batch: it commits first).
        let rounds = if full { 0 } else { 1000 };
        for _ in 0..rounds {
            match consumer.poll(wait) {
                None => break,
                Some(Ok(message)) => {
                    let mut pipeline = context.pipeline();
                    if let Err(e) = pipeline.handle_badge(consumer, &message) {
                        drop(message);
                        pipeline.recover(consumer, e)?;
                        break;
                    }
                    // A record request waits for a message at most, not for the round.
                    if let Some(records) = records {
                        pipeline.answer_records(records, partitions);
                    }
                    if pipeline.batch_full() {
                        break;
                    }
                }
                Some(Err(KafkaError::PartitionEOF(_))) => {}
                Some(Err(e @ KafkaError::MessageConsumptionFatal(_))) => {
                    return Err(PipelineError::kafka("consuming badges")(e));
                }
                Some(Err(e)) => {
                    // Connection errors: librdkafka reconnects (and logged them already).
                    tracing::debug!(error = %e, "consumer error (librdkafka retries)");
                    break;
                }
            }
            wait = Duration::ZERO;
        }
        let _ = tables_busy;
        let mut pipeline = context.pipeline();
        if let Err(e) = pipeline.tick(consumer) {
            pipeline.recover(consumer, e)?;
        }
        if let Some(records) = records {
            pipeline.answer_records(records, partitions);
        }
        drop(pipeline);
        trimmer.maybe_trim(Instant::now());
    }
    Ok(())
}

#[cfg(test)]
mod restart_tests {
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};

    use super::{is_restartable, PipelineError};

    #[test]
    fn a_lost_membership_restarts_the_clients_and_a_plain_kafka_error_does_not() {
        let lost = PipelineError::MembershipLost {
            context: "sending offsets to the transaction",
            source: KafkaError::ConsumerCommit(RDKafkaErrorCode::UnknownMemberId),
        };
        assert!(is_restartable(&lost));
        let fenced = PipelineError::Kafka {
            context: "polling",
            source: KafkaError::MessageConsumptionFatal(RDKafkaErrorCode::FencedInstanceId),
        };
        assert!(is_restartable(&fenced));
        let other = PipelineError::Kafka {
            context: "polling",
            source: KafkaError::ConsumerCommit(RDKafkaErrorCode::UnknownMemberId),
        };
        assert!(!is_restartable(&other));
        let abort =
            PipelineError::AbortFailed(KafkaError::Flush(RDKafkaErrorCode::OperationTimedOut));
        assert!(is_restartable(&abort));
    }
}
