//! librdkafka callbacks: logs and errors forwarded to `tracing`, delivery failures noted, and
//! the group consumer's rebalance callbacks handed to the [`Pipeline`].

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{DeliveryResult, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::TopicPartitionList;

use super::pipeline::{Pipeline, PipelineError};
use crate::metrics::RebalanceKind;

pub(crate) fn forward_log(level: RDKafkaLogLevel, facility: &str, message: &str) {
    match level {
        RDKafkaLogLevel::Emerg
        | RDKafkaLogLevel::Alert
        | RDKafkaLogLevel::Critical
        | RDKafkaLogLevel::Error => tracing::error!(target: "librdkafka", facility, "{message}"),
        RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", facility, "{message}"),
        RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
            tracing::info!(target: "librdkafka", facility, "{message}")
        }
        RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
    }
}

pub(crate) fn forward_error(error: &KafkaError, reason: &str) {
    // End of partition is an event we asked for (enable.partition.eof), not a problem.
    if matches!(error, KafkaError::PartitionEOF(_))
        || error.rdkafka_error_code() == Some(rdkafka::types::RDKafkaErrorCode::PartitionEOF)
    {
        return;
    }
    // Broker connection errors are retried by librdkafka itself: WARN, not ERROR.
    tracing::warn!(target: "librdkafka", error = %error, "{reason}");
}

/// Whether the broker (or the producer's own size check) refuses a record for good: it
/// would be refused again however often it is sent, so retrying its transaction cannot help
/// (the pipeline dead-letters the input message it came from instead).
pub fn is_refusal(code: RDKafkaErrorCode) -> bool {
    matches!(
        code,
        RDKafkaErrorCode::MessageSizeTooLarge
            | RDKafkaErrorCode::MessageBatchTooLarge
            | RDKafkaErrorCode::InvalidRecord
    )
}

/// A record refused for good, as the delivery report told it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The topic the record was for.
    pub topic: String,
    /// The broker's (or librdkafka's) error.
    pub error: String,
}

/// Context of the producer and the assign-only consumers. The producer's context also keeps
/// the first record refused for good since the pipeline last asked ([`LogContext::take_refusal`]).
#[derive(Debug, Default, Clone)]
pub struct LogContext {
    refused: Arc<Mutex<Option<Refusal>>>,
}

impl LogContext {
    /// The first refusal since the last call, if any.
    pub fn take_refusal(&self) -> Option<Refusal> {
        self.refused
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        forward_log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        forward_error(&error, reason);
    }
}

impl ConsumerContext for LogContext {}

impl ProducerContext for LogContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        // Inside a transaction a failed delivery also fails `commit_transaction`, which
        // aborts and rewinds the batch: nothing is lost, this line only explains why.
        if let Err((error, message)) = result {
            tracing::debug!(error = %error, "delivery failed (the transaction will abort)");
            if error.rdkafka_error_code().is_some_and(is_refusal) {
                let mut refused = self.refused.lock().unwrap_or_else(PoisonError::into_inner);
                refused.get_or_insert_with(|| Refusal {
                    topic: message.topic().to_owned(),
                    error: error.to_string(),
                });
            }
        }
    }
}

/// Context of the group consumer: owns the pipeline so that rebalance callbacks, which run
/// inside `poll` on the pipeline thread, can commit or restore before the assignment moves.
pub struct GroupContext {
    pipeline: Mutex<Pipeline>,
    fatal: Mutex<Option<PipelineError>>,
}

impl GroupContext {
    /// Wraps a pipeline.
    pub fn new(pipeline: Pipeline) -> Self {
        Self {
            pipeline: Mutex::new(pipeline),
            fatal: Mutex::new(None),
        }
    }

    /// The pipeline. Never held across `poll` (the callbacks lock it too).
    pub fn pipeline(&self) -> MutexGuard<'_, Pipeline> {
        self.pipeline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fatal error raised inside a callback, once.
    pub fn take_fatal(&self) -> Option<PipelineError> {
        self.fatal
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    fn fail(&self, error: PipelineError) {
        tracing::error!(error = %crate::kafka::error_chain(&error), "fatal error in rebalance");
        let mut fatal = self.fatal.lock().unwrap_or_else(PoisonError::into_inner);
        fatal.get_or_insert(error);
    }
}

/// The partitions of the badge topic in a rebalance list.
fn partitions(tpl: &TopicPartitionList) -> Vec<i32> {
    tpl.elements().iter().map(|e| e.partition()).collect()
}

impl ClientContext for GroupContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, log_message: &str) {
        forward_log(level, fac, log_message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        forward_error(&error, reason);
    }
}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(tpl) = rebalance {
            let lost = consumer.assignment_lost();
            let revoked = partitions(tpl);
            let mut pipeline = self.pipeline();
            pipeline.metrics().record_rebalance(if lost {
                RebalanceKind::Lost
            } else {
                RebalanceKind::Revoke
            });
            if let Err(e) = pipeline.on_revoke(consumer, &revoked, lost) {
                drop(pipeline);
                self.fail(e);
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let assigned = partitions(tpl);
                let mut pipeline = self.pipeline();
                pipeline.metrics().record_rebalance(RebalanceKind::Assign);
                if let Err(e) = pipeline.on_assign(consumer, &assigned) {
                    drop(pipeline);
                    self.fail(e);
                }
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => tracing::warn!(error = %e, "rebalance error"),
        }
    }
}
