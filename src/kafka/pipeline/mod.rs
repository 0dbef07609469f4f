//! The live pipeline of one instance: one [`Processor`] per owned partition, fed from the
//! four co-partitioned input topics and the whole site-outages topic, writing outputs and
//! changelog records in producer transactions (see `assign` for taking partitions over;
//! `apply` for applying messages; `txn` for commit, abort and rewind; `outage_table` and
//! `outages` for the instance's site outages).
//!
//! Ownership: the group consumer subscribes to the badge topic only; owning badge partition
//! p means owning roster p, absences p, adjustments p and changelog p too. The tables are
//! read by assign-only consumers that follow the assignment (cooperative-sticky assigns
//! topics independently, so subscribing to all four would not keep partition p's topics
//! together). Site outages are not partitioned by employee: every instance reads the whole
//! topic before it takes any partition and applies each outage to every partition it owns.
//!
//! Per partition, on assignment: restore from changelog p, apply every outage of the
//! instance's table, then read roster p, absences p and adjustments p up to their end before
//! the first badge of p (badges p stay paused until all three reported end-of-partition).
//! This gives the order replay uses (§7: tables first) for everything already in the table
//! topics; later table updates interleave with badges in arrival order. Tables are always
//! polled before badges.
//!
//! Precondition: each partition is processed in offset order by one thread (this one).

mod apply;
mod assign;
mod gauges;
mod outage_table;
mod outages;
mod quarantine;
mod txn;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::BaseConsumer;
use rdkafka::error::KafkaError;
use rdkafka::producer::ThreadedProducer;
use rdkafka::TopicPartitionList;

use super::context::{GroupContext, LogContext};
use super::restore::{self, RestoreError};
use super::Progress;
use crate::clock::Clock;
use crate::config::{Config, InputTopic};
use crate::engine::Output;
use crate::health::Health;
use crate::metrics::{Metrics, OutputTally};
use crate::processor::Processor;
use crate::telemetry::Pseudonym;
pub use outage_table::OutageTable;

/// The co-partitioned table topics, in the order they are polled (replay's order, §7).
const TABLES: [InputTopic; 3] = [
    InputTopic::Roster,
    InputTopic::Absences,
    InputTopic::Adjustments,
];

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
    /// The transaction's offsets keep being refused because this consumer lost its group
    /// membership ([`txn::is_membership_lost`]): the clients must be recreated.
    #[error("kafka: {context}: this consumer's group membership is lost")]
    MembershipLost {
        /// What was being done.
        context: &'static str,
        /// The cause.
        #[source]
        source: KafkaError,
    },
    /// Aborting the open transaction failed without a fatal producer error (the broker did
    /// not answer in time, e.g. while restarting): the producer's transaction state is
    /// unknown, and a new producer's `init_transactions` settles it, so the clients must be
    /// recreated.
    #[error("kafka: aborting the transaction failed")]
    AbortFailed(#[source] KafkaError),
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
    /// The broker refuses even the smallest dead letter of an input message: nothing can
    /// be written for it, so the partition cannot move on without losing it.
    #[error(
        "kafka: input {topic} partition {partition} offset {offset}: even its minimal dead \
         letter was refused ({error}); check the topics' max.message.bytes"
    )]
    Refused {
        /// Input topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
        /// The last refusal.
        error: String,
    },
    /// Transactions keep aborting without a commit in between.
    #[error("kafka: {aborts} transactions aborted in a row over {seconds} s without a commit; last: {last}")]
    Stuck {
        /// Aborts in a row.
        aborts: u32,
        /// Since the first of them.
        seconds: u64,
        /// The last abort's cause.
        last: String,
    },
}

impl PipelineError {
    pub(super) fn kafka(context: &'static str) -> impl FnOnce(KafkaError) -> Self {
        move |source| Self::Kafka { context, source }
    }
}

/// One owned partition.
struct Task {
    processor: Processor,
    /// Roster p reported end-of-partition since assignment.
    roster_ready: bool,
    /// Absences p reported end-of-partition since assignment.
    absences_ready: bool,
    /// Adjustments p reported end-of-partition since assignment.
    adjustments_ready: bool,
    /// Wall-clock instant of the last badge (or of the assignment): drives the idle advance.
    last_badge: Instant,
    /// Changed since the last changelog write.
    dirty: bool,
}

impl Task {
    fn gated(&self) -> bool {
        !(self.roster_ready && self.absences_ready && self.adjustments_ready)
    }
}

/// The open transaction's bookkeeping.
#[derive(Default)]
struct Batch {
    open: bool,
    started: Option<Instant>,
    messages: usize,
    /// Next offset to consume, per (input, partition).
    offsets: BTreeMap<(InputTopic, i32), i64>,
    /// Outputs sent in this transaction, counted in metrics once it commits.
    tally: OutputTally,
}

/// The Kafka clients a [`Pipeline`] drives besides the group consumer.
pub struct Clients {
    /// The transactional producer (outputs, changelog records, consumed offsets).
    pub producer: ThreadedProducer<LogContext>,
    /// Assign-only consumer of the roster topic.
    pub roster: BaseConsumer<LogContext>,
    /// Assign-only consumer of the absences topic.
    pub absences: BaseConsumer<LogContext>,
    /// Assign-only consumer of the adjustments topic.
    pub adjustments: BaseConsumer<LogContext>,
    /// The site-outage table, read whole before the pipeline starts, and its consumer.
    pub outages: OutageTable,
    /// Assign-only consumer of the changelog, for restores.
    pub restorer: BaseConsumer<LogContext>,
    /// Client for high-watermark queries (consumer lag, open transactions).
    pub watermarks: BaseConsumer<LogContext>,
}

/// What a [`Pipeline`] shares with the rest of the process.
pub struct Services {
    /// Validated configuration.
    pub config: Arc<Config>,
    /// Processing clock.
    pub clock: Arc<dyn Clock>,
    /// Metrics registry.
    pub metrics: Arc<Metrics>,
    /// Readiness, reported by `/readyz`.
    pub health: Health,
    /// Committed work, counted.
    pub progress: Arc<Progress>,
    /// Writes this instance's entry in the record API's instance directory when the
    /// partitions it serves change (`None`: no record API).
    pub announcer: Option<Arc<crate::kafka::instances::Announcer>>,
}

/// The clients as the pipeline holds them.
struct Kafka {
    producer: ThreadedProducer<LogContext>,
    /// Shared handles: a polled message borrows a clone, not the pipeline.
    roster: Arc<BaseConsumer<LogContext>>,
    absences: Arc<BaseConsumer<LogContext>>,
    adjustments: Arc<BaseConsumer<LogContext>>,
    restorer: BaseConsumer<LogContext>,
    watermarks: BaseConsumer<LogContext>,
}

/// The services, and what is derived from them once.
struct Shared {
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    health: Health,
    progress: Arc<Progress>,
    announcer: Option<Arc<crate::kafka::instances::Announcer>>,
    /// `ce_source` of every output record.
    ce_source: String,
    /// How employees are named in DEBUG logs (`[privacy]`).
    pseudonym: Pseudonym,
}

/// The clocks, read once per round of the main loop (per message they cost ~4% of the CPU
/// in `clock_gettime`; a few ms of staleness do not matter for §2's `future_timestamp` or
/// the headers' `ce_time`).
struct Round {
    /// The processing clock.
    now: crate::domain::Timestamp,
    /// `now` as RFC 3339, for `ce_time`.
    now_text: String,
    /// The monotonic instant of the round (badge arrival, for the idle advance).
    at: Instant,
}

/// When periodic housekeeping last ran.
struct Timers {
    /// The last idle-advance check.
    idle_check: Instant,
    /// The last state-size and lag report of every owned partition.
    state_report: Instant,
    /// The last watermark report of every owned partition.
    watermark_report: Instant,
}

/// Everything the pipeline needs besides the group consumer.
pub struct Pipeline {
    kafka: Kafka,
    shared: Shared,
    round: Round,
    batch: Batch,
    tasks: BTreeMap<i32, Task>,
    timers: Timers,
    /// Outputs of the message being applied, sent before the next one.
    scratch: Vec<Output>,
    /// What the last aborts taught: one message per batch, messages to dead-letter.
    quarantine: quarantine::Quarantine,
    /// The instance's site outages (applied to every owned partition).
    outages: OutageTable,
    /// Next offset per owned (input, partition) as last committed (at assignment, then by
    /// each commit): consumer lag counts from it until the consumer has a position.
    next_offsets: BTreeMap<(InputTopic, i32), rdkafka::Offset>,
    /// Aborts in a row whose cause was this consumer's lost group membership
    /// ([`txn::is_membership_lost`]); reset by a commit.
    membership_aborts: u32,
}

/// The consumer type the pipeline works with.
pub type GroupConsumer = BaseConsumer<GroupContext>;

impl Pipeline {
    /// A pipeline owning no partition yet.
    pub fn new(clients: Clients, services: Services) -> Self {
        let now = services.clock.now();
        let pseudonym = Pseudonym::new(&services.config.processor.privacy);
        let ce_source = format!(
            "/attendance-compliance/{}",
            services.config.processor.kafka.group_id
        );
        Self {
            kafka: Kafka {
                producer: clients.producer,
                roster: Arc::new(clients.roster),
                absences: Arc::new(clients.absences),
                adjustments: Arc::new(clients.adjustments),
                restorer: clients.restorer,
                watermarks: clients.watermarks,
            },
            shared: Shared {
                config: services.config,
                clock: services.clock,
                metrics: services.metrics,
                health: services.health,
                pseudonym,
                progress: services.progress,
                announcer: services.announcer,
                ce_source,
            },
            round: Round {
                now,
                now_text: now.to_rfc3339(),
                at: Instant::now(),
            },
            batch: Batch::default(),
            membership_aborts: 0,
            tasks: BTreeMap::new(),
            timers: Timers {
                idle_check: Instant::now(),
                state_report: Instant::now(),
                watermark_report: Instant::now(),
            },
            scratch: Vec::new(),
            quarantine: quarantine::Quarantine::default(),
            outages: clients.outages,
            next_offsets: BTreeMap::new(),
        }
    }

    /// Answers the record API's waiting requests from the owned partitions (§10);
    /// `partitions` is the input topics' partition count.
    pub fn answer_records(&self, requests: &crate::api::requests::Requests, partitions: usize) {
        crate::api::requests::answer_pending(requests, |id| {
            let held = self.tasks.iter().map(|(&p, t)| crate::api::Held {
                partition: p,
                ready: !t.gated(),
                engine: t.processor.engine(),
            });
            crate::api::resolve(held, partitions, id)
        });
    }

    /// Starts a round of the main loop: reads the clocks once for the messages that follow.
    pub fn start_round(&mut self) {
        self.round.at = Instant::now();
        self.round.now = self.shared.clock.now();
        self.round.now_text = self.round.now.to_rfc3339();
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// The partitions owned.
    pub fn partitions(&self) -> Vec<i32> {
        self.tasks.keys().copied().collect()
    }

    /// Tells the instance directory which partitions this instance serves now (restored).
    fn announce(&self) {
        if let Some(announcer) = &self.shared.announcer {
            announcer.announce(&self.partitions());
        }
    }

    /// The configured name of an input topic.
    fn topic(&self, input: InputTopic) -> &str {
        self.shared.config.processor.topics.input(input)
    }

    fn tpl(&self, input: InputTopic, partitions: &[i32]) -> TopicPartitionList {
        let mut tpl = TopicPartitionList::new();
        for &p in partitions {
            tpl.add_partition(self.topic(input), p);
        }
        tpl
    }
}
