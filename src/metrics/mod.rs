//! Prometheus metrics: this module owns every metric name, label key and label value.
//!
//! Other code calls the typed helpers of [`Metrics`] and never names a metric itself. Names
//! follow `attendance_<what>_<unit>`, counters end in `_total`, durations are seconds.
//! Labels are bounded by construction: a topic is an [`InputTopic`] or [`OutputTopic`] (the
//! *setting* names of `[topics]`, so renaming a topic in `processor.toml` does not change
//! the series), a partition number, or a value from a fixed enum. No helper takes an employee
//! or manager id (SPEC §8); the weekly compliance gauges name an organisation only when at
//! least [`MIN_ORG_GROUP`] employees share it, smaller ones are folded into `org="other"`.
//!
//! Every label combination that can be known in advance is created at zero when [`Metrics`]
//! is built, so that `rate()` and the dashboard have series from the first scrape.
//!
//! Threading: `Metrics` is `Send + Sync`; share it as `Arc<Metrics>`. Every helper is cheap
//! (atomic updates); only decisions take a short mutex (the weekly compliance tally).

mod http;
mod labels;
mod tally;
mod weekly;

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::{
    Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};

pub use crate::config::{InputTopic, OutputTopic};
pub use http::{HttpCloseReason, HttpMetrics, API_OUTCOMES, FORWARD_RESULTS};
pub use labels::{output_label, RebalanceKind};
pub use tally::OutputTally;
pub use weekly::{WeeklyCompliance, MIN_ORG_GROUP, OTHER_ORG};

use crate::domain::output::Decision;
use crate::domain::{DeadLetterReason, Timestamp};
use crate::engine::Output;
use crate::processor::Outcome;
use labels::ALERT_KINDS;
use weekly::WeeklyTally;

/// Every metric of the processor, in its own [`Registry`].
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    input_messages: IntCounterVec,
    output_records: IntCounterVec,
    alerts_without_manager: IntCounterVec,
    corrections: IntCounter,
    changelog_records: IntCounter,
    refused_messages: IntCounter,
    watermark: GaugeVec,
    watermark_lag: GaugeVec,
    consumer_lag: IntGaugeVec,
    transactions: IntCounterVec,
    transaction_duration: Histogram,
    batch_duration: Histogram,
    batch_messages: Histogram,
    event_to_emit: Histogram,
    state_employees: IntGaugeVec,
    state_unrostered: IntGaugeVec,
    state_bytes: IntGaugeVec,
    restore_duration: Histogram,
    restore_records: IntCounter,
    restores_in_progress: IntGauge,
    rebalances: IntCounterVec,
    week_close_duration: Histogram,
    weekly_compliance: IntGaugeVec,
    weekly_compliance_week: Gauge,
    build_info: IntGaugeVec,
    tally: Mutex<WeeklyTally>,
    http: HttpMetrics,
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn timestamp_seconds(t: Timestamp) -> f64 {
    t.unix_seconds() as f64 + f64::from(t.subsec_nanos()) / 1e9
}

impl Metrics {
    /// Creates and registers every metric; label combinations known in advance start at 0.
    pub fn new() -> Self {
        let registry = Registry::new();
        // Registration fails only on a duplicate or malformed name: a bug here, caught by the
        // tests, so panicking at start-up with the name is the right response.
        fn reg<C: prometheus::core::Collector + Clone + 'static>(r: &Registry, c: C) -> C {
            r.register(Box::new(c.clone()))
                .unwrap_or_else(|e| panic!("metric registration: {e}"));
            c
        }
        fn opts(name: &str, help: &str) -> Opts {
            Opts::new(name, help)
        }
        fn hist(r: &Registry, name: &str, help: &str, buckets: &[f64]) -> Histogram {
            let h = Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
                .unwrap_or_else(|e| panic!("histogram {name}: {e}"));
            reg(r, h)
        }
        fn counter_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
            let c = IntCounterVec::new(opts(name, help), labels)
                .unwrap_or_else(|e| panic!("counter {name}: {e}"));
            reg(r, c)
        }
        fn gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
            let g = IntGaugeVec::new(opts(name, help), labels)
                .unwrap_or_else(|e| panic!("gauge {name}: {e}"));
            reg(r, g)
        }
        fn float_gauge_vec(r: &Registry, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
            let g = GaugeVec::new(opts(name, help), labels)
                .unwrap_or_else(|e| panic!("gauge {name}: {e}"));
            reg(r, g)
        }
        const FAST: &[f64] = &[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ];
        const SLOW: &[f64] = &[
            0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
        ];
        const LATENCY: &[f64] = &[
            0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
            21600.0, 86400.0, 604800.0,
        ];
        const SIZES: &[f64] = &[1.0, 10.0, 100.0, 1000.0, 5000.0, 10000.0, 50000.0];
        let r = &registry;
        let m = Self {
            input_messages: counter_vec(
                r,
                "attendance_input_messages_total",
                "Input messages handled, by topic setting, outcome (applied, applied_late, \
                 dead_lettered) and dead-letter reason (none when applied).",
                &["topic", "outcome", "reason"],
            ),
            output_records: counter_vec(
                r,
                "attendance_output_records_total",
                "Output records emitted, by topic setting and kind (decision, \
                 compliance_change, alert kind, dead_letter).",
                &["topic", "kind"],
            ),
            alerts_without_manager: counter_vec(
                r,
                "attendance_alerts_without_manager_total",
                "Alerts not sent because the employee has no manager, by alert kind.",
                &["kind"],
            ),
            corrections: reg(
                r,
                IntCounter::with_opts(opts(
                    "attendance_corrections_total",
                    "Decisions re-emitted as corrections after late or corrected data.",
                ))
                .unwrap_or_else(|e| panic!("corrections: {e}")),
            ),
            changelog_records: reg(
                r,
                IntCounter::with_opts(opts(
                    "attendance_changelog_records_total",
                    "State changelog records written (committed with their batch).",
                ))
                .unwrap_or_else(|e| panic!("changelog records: {e}")),
            ),
            refused_messages: reg(
                r,
                IntCounter::with_opts(opts(
                    "attendance_refused_messages_total",
                    "Input messages dead-lettered because the broker refused a record made \
                     from them for good (e.g. larger than a topic's max.message.bytes).",
                ))
                .unwrap_or_else(|e| panic!("refused messages: {e}")),
            ),
            watermark: float_gauge_vec(
                r,
                "attendance_watermark_seconds",
                "Watermark (event time) per input partition, unix seconds.",
                &["partition"],
            ),
            watermark_lag: float_gauge_vec(
                r,
                "attendance_watermark_lag_seconds",
                "Wall clock minus watermark per input partition, computed at scrape time.",
                &["partition"],
            ),
            consumer_lag: gauge_vec(
                r,
                "attendance_consumer_lag_messages",
                "Messages between the consumer position and the high watermark, per input \
                 topic setting and partition.",
                &["topic", "partition"],
            ),
            transactions: counter_vec(
                r,
                "attendance_transactions_total",
                "Kafka transactions ended, by result (committed, aborted).",
                &["result"],
            ),
            transaction_duration: hist(
                r,
                "attendance_transaction_duration_seconds",
                "Time from begin_transaction to the end of commit or abort.",
                FAST,
            ),
            batch_duration: hist(
                r,
                "attendance_batch_duration_seconds",
                "Time to process one batch: decode, engine, produce, commit.",
                FAST,
            ),
            batch_messages: hist(
                r,
                "attendance_batch_messages",
                "Input messages per batch.",
                SIZES,
            ),
            event_to_emit: hist(
                r,
                "attendance_event_to_emit_seconds",
                "Wall clock at commit minus the event time of each applied badge.",
                LATENCY,
            ),
            state_employees: gauge_vec(
                r,
                "attendance_state_employees",
                "Employees with state, per input partition.",
                &["partition"],
            ),
            state_unrostered: gauge_vec(
                r,
                "attendance_state_unrostered_employees",
                "Employees held without a roster record (their badges wait for one and are \
                 forgotten after the retention), per input partition.",
                &["partition"],
            ),
            state_bytes: gauge_vec(
                r,
                "attendance_state_bytes",
                "Approximate bytes of per-employee state, per input partition.",
                &["partition"],
            ),
            restore_duration: hist(
                r,
                "attendance_restore_duration_seconds",
                "Time to restore one partition's state from the changelog.",
                SLOW,
            ),
            restore_records: reg(
                r,
                IntCounter::with_opts(opts(
                    "attendance_restore_records_total",
                    "Changelog records read while restoring state.",
                ))
                .unwrap_or_else(|e| panic!("restore records: {e}")),
            ),
            restores_in_progress: reg(
                r,
                IntGauge::with_opts(opts(
                    "attendance_restoring_partitions",
                    "Partitions whose state is being restored right now.",
                ))
                .unwrap_or_else(|e| panic!("restores in progress: {e}")),
            ),
            rebalances: counter_vec(
                r,
                "attendance_rebalances_total",
                "Consumer group rebalance events, by kind (assign, revoke, lost).",
                &["kind"],
            ),
            week_close_duration: hist(
                r,
                "attendance_week_close_duration_seconds",
                "Engine time of a watermark advance that closed weeks.",
                FAST,
            ),
            weekly_compliance: gauge_vec(
                r,
                "attendance_weekly_compliance_employees",
                "Employees by policy, status and org in the latest closed week (orgs under 5 \
                 employees are folded into org=\"other\").",
                &["policy", "status", "org"],
            ),
            weekly_compliance_week: reg(
                r,
                Gauge::with_opts(opts(
                    "attendance_weekly_compliance_week_start_seconds",
                    "Monday 00:00 UTC of the week attendance_weekly_compliance_employees \
                     describes, unix seconds (0 before the first decision).",
                ))
                .unwrap_or_else(|e| panic!("weekly compliance week: {e}")),
            ),
            build_info: gauge_vec(
                r,
                "attendance_build_info",
                "Always 1; the labels describe the running build.",
                &["version"],
            ),
            tally: Mutex::new(WeeklyTally::default()),
            http: HttpMetrics::register(r),
            registry,
        };
        m.register_process_metrics();
        m.initialise();
        m
    }

    /// The standard `process_*` metrics of this process (CPU seconds, resident and virtual
    /// memory, open and maximum file descriptors, threads, start time), read from `/proc` at
    /// each scrape by the prometheus crate's collector; on the registry `/metrics` serves
    /// (the crate registers one on its own default registry only, which nothing serves).
    /// Linux only: elsewhere the collector does not exist and nothing is registered.
    fn register_process_metrics(&self) {
        #[cfg(target_os = "linux")]
        self.registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .unwrap_or_else(|e| panic!("metric registration: {e}"));
    }

    /// Creates the series whose labels are known in advance, at 0.
    fn initialise(&self) {
        for topic in InputTopic::ALL {
            let t = topic.as_str();
            self.input_messages
                .with_label_values(&[t, "applied", "none"]);
            if topic == InputTopic::Badges {
                self.input_messages
                    .with_label_values(&[t, "applied_late", "none"]);
            }
            for reason in DeadLetterReason::ALL {
                self.input_messages
                    .with_label_values(&[t, "dead_lettered", reason.as_str()]);
            }
        }
        self.output_records
            .with_label_values(&[OutputTopic::Decisions.as_str(), "decision"]);
        self.output_records
            .with_label_values(&[OutputTopic::Changes.as_str(), "compliance_change"]);
        self.output_records
            .with_label_values(&[OutputTopic::DeadLetters.as_str(), "dead_letter"]);
        for kind in ALERT_KINDS {
            self.output_records
                .with_label_values(&[OutputTopic::Alerts.as_str(), kind.as_str()]);
            self.alerts_without_manager
                .with_label_values(&[kind.as_str()]);
        }
        for result in ["committed", "aborted"] {
            self.transactions.with_label_values(&[result]);
        }
        for kind in [
            RebalanceKind::Assign,
            RebalanceKind::Revoke,
            RebalanceKind::Lost,
        ] {
            self.rebalances.with_label_values(&[kind.as_str()]);
        }
        self.build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
    }

    /// The HTTP listener's metrics (crate::http).
    pub fn http(&self) -> &HttpMetrics {
        &self.http
    }

    /// The registry, for callers that want to add their own collectors or gather directly.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Counts one input message from `topic` and what became of it (§2: every message is
    /// either applied or dead-lettered, and counted).
    pub fn record_input(&self, topic: InputTopic, outcome: Outcome) {
        let (outcome, reason) = match outcome {
            Outcome::Applied => ("applied", "none"),
            Outcome::AppliedLate => ("applied_late", "none"),
            Outcome::DeadLettered(reason) => ("dead_lettered", reason.as_str()),
        };
        self.input_messages
            .with_label_values(&[topic.as_str(), outcome, reason])
            .inc();
    }

    /// Counts the outputs of a committed transaction (live) or of a finished run: records by
    /// topic and kind, corrections, alerts without manager, changelog records.
    pub fn record_committed(&self, tally: &OutputTally) {
        let records = |topic: OutputTopic, kind: &str, n: u64| {
            if n > 0 {
                self.output_records
                    .with_label_values(&[topic.as_str(), kind])
                    .inc_by(n);
            }
        };
        records(OutputTopic::Decisions, "decision", tally.decisions);
        records(OutputTopic::Changes, "compliance_change", tally.changes);
        records(OutputTopic::DeadLetters, "dead_letter", tally.dead_letters);
        for (kind, (&alerts, &without_manager)) in ALERT_KINDS
            .iter()
            .zip(tally.alerts.iter().zip(&tally.alerts_without_manager))
        {
            records(OutputTopic::Alerts, kind.as_str(), alerts);
            if without_manager > 0 {
                self.alerts_without_manager
                    .with_label_values(&[kind.as_str()])
                    .inc_by(without_manager);
            }
        }
        if tally.corrections > 0 {
            self.corrections.inc_by(tally.corrections);
        }
        if tally.changelog > 0 {
            self.changelog_records.inc_by(tally.changelog);
        }
    }

    /// Feeds a decision into the weekly compliance gauges.
    ///
    /// The weekly tally keeps, per employee of the latest week, the highest revision seen, so
    /// feeding the same decision twice changes nothing: the live shell calls this when the
    /// decision is sent, before its transaction commits (an aborted transaction's decisions
    /// are emitted again, identically, after the rewind).
    pub fn record_decision(&self, decision: &Decision) {
        self.tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .add(decision);
    }

    /// Counts one engine output as [`Metrics::record_committed`] does and feeds a decision
    /// to [`Metrics::record_decision`]: for shells that write outputs without transactions.
    pub fn record_output(&self, output: &Output) {
        let mut tally = OutputTally::default();
        tally.add(output);
        self.record_committed(&tally);
        if let Output::Decision(decision) = output {
            self.record_decision(decision);
        }
    }

    /// [`Metrics::record_output`] for each output.
    pub fn record_outputs<'a>(&self, outputs: impl IntoIterator<Item = &'a Output>) {
        for output in outputs {
            self.record_output(output);
        }
    }

    /// Counts state changelog records written in a committed batch.
    pub fn record_changelog_writes(&self, records: usize) {
        self.changelog_records.inc_by(records as u64);
    }

    /// Sets a partition's watermark; its lag behind the wall clock is computed at scrape.
    pub fn set_watermark(&self, partition: i32, watermark: Timestamp) {
        self.watermark
            .with_label_values(&[&partition.to_string()])
            .set(timestamp_seconds(watermark));
    }

    /// Sets the consumer lag (high watermark minus position) of a partition of `topic`.
    pub fn set_consumer_lag(&self, topic: InputTopic, partition: i32, lag: i64) {
        self.consumer_lag
            .with_label_values(&[topic.as_str(), &partition.to_string()])
            .set(lag.max(0));
    }

    /// Sets a partition's state size, from `Engine::employees_tracked`,
    /// `Engine::unrostered_held` and `Engine::state_bytes`.
    pub fn set_state_size(
        &self,
        partition: i32,
        employees: usize,
        unrostered: usize,
        bytes: usize,
    ) {
        let p = partition.to_string();
        self.state_employees
            .with_label_values(&[&p])
            .set(i64::try_from(employees).unwrap_or(i64::MAX));
        self.state_unrostered
            .with_label_values(&[&p])
            .set(i64::try_from(unrostered).unwrap_or(i64::MAX));
        self.state_bytes
            .with_label_values(&[&p])
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// Removes every per-partition series of `partition` (call when it is revoked or lost),
    /// so that a partition owned by another instance is not reported twice.
    pub fn forget_partition(&self, partition: i32) {
        let p = partition.to_string();
        let _ = self.watermark.remove_label_values(&[&p]);
        let _ = self.watermark_lag.remove_label_values(&[&p]);
        let _ = self.state_employees.remove_label_values(&[&p]);
        let _ = self.state_unrostered.remove_label_values(&[&p]);
        let _ = self.state_bytes.remove_label_values(&[&p]);
        for topic in InputTopic::ALL {
            let _ = self.consumer_lag.remove_label_values(&[topic.as_str(), &p]);
        }
    }

    /// Counts an input message marked for dead-lettering because the broker refused a record
    /// made from it for good.
    pub fn record_refusal(&self) {
        self.refused_messages.inc();
    }

    /// Records a finished transaction: its duration and whether it committed or aborted.
    pub fn observe_transaction(&self, duration: Duration, committed: bool) {
        self.transaction_duration.observe(seconds(duration));
        let result = if committed { "committed" } else { "aborted" };
        self.transactions.with_label_values(&[result]).inc();
    }

    /// Records a processed batch: its wall-clock duration and number of input messages.
    pub fn observe_batch(&self, duration: Duration, messages: usize) {
        self.batch_duration.observe(seconds(duration));
        self.batch_messages.observe(messages as f64);
    }

    /// Records, for one applied badge, the time from its event timestamp to `emitted_at`
    /// (the wall clock when its outputs were committed). Negative spans count as 0.
    pub fn observe_event_to_emit(&self, event_time: Timestamp, emitted_at: Timestamp) {
        let span = timestamp_seconds(emitted_at) - timestamp_seconds(event_time);
        self.event_to_emit.observe(span.max(0.0));
    }

    /// Records the engine time of a watermark advance (or badge) that closed weeks.
    pub fn observe_week_close(&self, duration: Duration) {
        self.week_close_duration.observe(seconds(duration));
    }

    /// A partition's restore from the changelog began.
    pub fn restore_started(&self) {
        self.restores_in_progress.inc();
    }

    /// A partition's restore finished after `duration`, having read `records` changelog
    /// records. Pair every call with one [`Metrics::restore_started`].
    pub fn restore_finished(&self, duration: Duration, records: u64) {
        self.restores_in_progress.dec();
        self.restore_duration.observe(seconds(duration));
        self.restore_records.inc_by(records);
    }

    /// Counts a rebalance callback.
    pub fn record_rebalance(&self, kind: RebalanceKind) {
        self.rebalances.with_label_values(&[kind.as_str()]).inc();
    }

    /// Replaces the weekly compliance gauges with `summary` (e.g. computed by
    /// [`WeeklyCompliance::from_decisions`]). [`Metrics::record_decision`] maintains them
    /// incrementally; use this when the decisions are at hand instead (replay, tests).
    pub fn set_weekly_compliance(&self, summary: &WeeklyCompliance) {
        let tally = WeeklyTally::starting_at(summary.week);
        *self
            .tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = tally;
        self.publish_weekly(summary);
    }

    fn publish_weekly(&self, summary: &WeeklyCompliance) {
        self.weekly_compliance.reset();
        for ((policy, status, org), n) in &summary.employees {
            self.weekly_compliance
                .with_label_values(&[policy.as_str(), status, org.as_str()])
                .set(i64::try_from(*n).unwrap_or(i64::MAX));
        }
        self.weekly_compliance_week
            .set(summary.week_start_unix().map_or(0.0, |s| s as f64));
    }

    /// Refreshes what is computed at scrape time: watermark lag, weekly compliance.
    fn refresh(&self) {
        let now = unix_now();
        for family in self.registry.gather() {
            if family.name() != "attendance_watermark_seconds" {
                continue;
            }
            for metric in family.get_metric() {
                if let Some(label) = metric.get_label().iter().find(|l| l.name() == "partition") {
                    self.watermark_lag
                        .with_label_values(&[label.value()])
                        .set(now - metric.get_gauge().get_value());
                }
            }
        }
        let summary = self
            .tally
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .changed_summary();
        if let Some(summary) = summary {
            self.publish_weekly(&summary);
        }
    }

    /// Every metric in the Prometheus text exposition format (version 0.0.4).
    pub fn gather_text(&self) -> String {
        self.refresh();
        let mut buffer = Vec::new();
        // Encoding into a Vec fails only on malformed metric families, which the registry
        // does not produce; an empty answer is better than a panic in the scrape path.
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buffer)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buffer).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
