//! Reading the four output topics back (the demo's summary): a background consumer that
//! tallies final decisions per week (with their short, unverified and exempt days and the
//! adjustments they list, SPEC §6 v2), alerts by kind and level, dead letters by reason and a
//! few example explanations. Read-only; never part of the service's own path.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;

use crate::config::Config;
use crate::generate::GenerateSummary;
use crate::kafka::context::LogContext;
use crate::kafka::Progress;

/// The latest revision of one decision, reduced to what the summary prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Final {
    revision: u64,
    status: String,
    /// Lengths of `short_days`, `unverified_days`, `exempt_days` and `adjustments`.
    short_days: u64,
    unverified_days: u64,
    exempt_days: u64,
    adjustments: u64,
}

/// Day counts summed over the latest revision of every decision.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct DayTotals {
    short: u64,
    unverified: u64,
    exempt: u64,
    /// Adjustment ids listed (an adjustment is dated in one week, so listed once).
    adjustments: u64,
}

/// Per week: compliant, non-compliant, exempt decisions, then short and unverified days.
type WeekRow = [u64; 5];

/// What the output topics held.
#[derive(Debug, Default)]
pub struct Summary {
    /// Latest revision per (employee, week).
    decisions: HashMap<(String, String), Final>,
    /// Decision records (all revisions).
    decision_records: u64,
    /// Re-issued decisions (revision > 0).
    corrections: u64,
    /// Compliance change records.
    changes: u64,
    /// Alerts per kind, then per escalation level (`-` for none).
    alerts: BTreeMap<String, BTreeMap<String, u64>>,
    /// Dead letters per reason.
    dead_letters: BTreeMap<String, u64>,
    /// A few explanations: (label, employee, week, text).
    examples: BTreeMap<&'static str, (String, String, String)>,
}

impl Summary {
    fn add(&mut self, kind: usize, value: &[u8]) {
        let Ok(v) = serde_json::from_slice::<Value>(value) else {
            return;
        };
        let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        match kind {
            0 => {
                self.decision_records += 1;
                let revision = v["revision"].as_u64().unwrap_or(0);
                if revision > 0 {
                    self.corrections += 1;
                }
                let key = (text("employee_id"), text("week"));
                let status = text("status");
                let count = |k: &str| v[k].as_array().map_or(0, |list| list.len() as u64);
                let decision = Final {
                    revision,
                    status,
                    short_days: count("short_days"),
                    unverified_days: count("unverified_days"),
                    exempt_days: count("exempt_days"),
                    adjustments: count("adjustments"),
                };
                let label = match (decision.status.as_str(), revision > 0) {
                    (_, true) => "correction after late data",
                    ("non_compliant", _) => "non-compliant week",
                    ("exempt", _) => "exempt week",
                    _ => "compliant week",
                };
                self.example(label, &v, "explanation");
                if decision.short_days > 0 {
                    self.example("week with short days", &v, "explanation");
                }
                if decision.adjustments > 0 {
                    self.example("week with an adjustment", &v, "explanation");
                }
                match self.decisions.entry(key) {
                    Entry::Occupied(mut entry) if revision >= entry.get().revision => {
                        entry.insert(decision);
                    }
                    Entry::Occupied(_) => {}
                    Entry::Vacant(entry) => {
                        entry.insert(decision);
                    }
                }
            }
            1 => self.changes += 1,
            2 => {
                let kind = text("kind");
                let level = v["escalation_level"].as_str().unwrap_or("-").to_owned();
                let label = match kind.as_str() {
                    "at_risk" => "at-risk alert",
                    "retracted" => "retracted alert",
                    "non_compliant" => "manager alert",
                    _ => "resolved alert",
                };
                self.example(label, &v, "explanation");
                *self
                    .alerts
                    .entry(kind)
                    .or_default()
                    .entry(level)
                    .or_default() += 1;
            }
            _ => {
                let reason = text("reason");
                if !self.dead_letters.contains_key(&reason) {
                    let detail = format!("{reason}: {}", text("detail"));
                    self.examples.entry("dead letter").or_insert((
                        String::new(),
                        String::new(),
                        detail,
                    ));
                }
                *self.dead_letters.entry(reason).or_default() += 1;
            }
        }
    }

    fn example(&mut self, label: &'static str, v: &Value, field: &str) {
        if !self.examples.contains_key(label) {
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            self.examples
                .insert(label, (s("employee_id"), s("week"), s(field)));
        }
    }

    /// Per week, decisions by status and short and unverified days (latest revisions).
    fn weeks(&self) -> BTreeMap<&str, WeekRow> {
        let mut weeks: BTreeMap<&str, WeekRow> = BTreeMap::new();
        for ((_, week), decision) in &self.decisions {
            let slot = match decision.status.as_str() {
                "compliant" => 0,
                "non_compliant" => 1,
                _ => 2,
            };
            let row = weeks.entry(week.as_str()).or_default();
            row[slot] += 1;
            row[3] += decision.short_days;
            row[4] += decision.unverified_days;
        }
        weeks
    }

    /// Day counts over the latest revision of every decision.
    fn day_totals(&self) -> DayTotals {
        let mut totals = DayTotals::default();
        for decision in self.decisions.values() {
            totals.short += decision.short_days;
            totals.unverified += decision.unverified_days;
            totals.exempt += decision.exempt_days;
            totals.adjustments += decision.adjustments;
        }
        totals
    }

    /// Prints the summary.
    pub fn print(
        &self,
        generated: &GenerateSummary,
        progress: &Progress,
        partitions: i32,
        elapsed: Duration,
    ) {
        let weeks = self.weeks();
        println!();
        println!(
            "== attendance-compliance demo: {} employees, {} .. {}, {partitions} partitions, \
             embedded mock Kafka ==",
            generated.employees, generated.period_start, generated.period_end
        );
        println!(
            "input: {} badge lines ({} late, {} duplicates, {} out), {} roster, {} absence, {} \
             outage and {} adjustment records, {} bad lines",
            generated.badges + generated.bad_badge_lines,
            generated.late_badges,
            generated.duplicate_badges,
            generated.out_badges,
            generated.roster_records,
            generated.absence_records,
            generated.outage_records,
            generated.adjustment_records,
            generated.bad_lines
        );
        println!(
            "generated visits: {} of 6-9 h, {} coffee badges (under an hour), {} past midnight, \
             {} without an out; {} site outages ({} cancelled), {} adjustments ({} credits, {} \
             cancelled)",
            generated.regular_stays,
            generated.coffee_stays,
            generated.late_night_stays,
            generated.stays_without_out,
            generated.outages,
            generated.outage_cancellations,
            generated.adjustment_records - generated.adjustment_cancellations,
            generated.adjustment_credits,
            generated.adjustment_cancellations
        );
        println!(
            "live pipeline: {} input messages in {} transactions ({} aborted), {} output \
             records; total {:.1}s",
            progress.inputs.load(Ordering::Relaxed),
            progress.transactions.load(Ordering::Relaxed),
            progress.aborts.load(Ordering::Relaxed),
            progress.outputs.load(Ordering::Relaxed),
            elapsed.as_secs_f64()
        );
        println!();
        println!("Compliance per week (latest revision of each decision)");
        println!(
            "  {:<9} {:>10} {:>14} {:>8} {:>11} {:>11} {:>11}",
            "week",
            "compliant",
            "non-compliant",
            "exempt",
            "compliance",
            "short days",
            "unverified"
        );
        for (week, [c, n, e, short, unverified]) in &weeks {
            let rate = if c + n > 0 {
                format!("{:.1}%", 100.0 * *c as f64 / (c + n) as f64)
            } else {
                "-".into()
            };
            println!("  {week:<9} {c:>10} {n:>14} {e:>8} {rate:>11} {short:>11} {unverified:>11}");
        }
        println!(
            "  {} decision records, {} of them corrections after late data; {} compliance changes",
            self.decision_records, self.corrections, self.changes
        );
        let days = self.day_totals();
        println!(
            "  in the latest decisions: {} short days (presence under min_presence), {} unverified \
             days (no out), {} exempt days (holidays, absences, outages, excused days), {} \
             approved adjustments listed",
            days.short, days.unverified, days.exempt, days.adjustments
        );
        println!();
        println!("Manager alerts by kind and escalation level");
        for (kind, levels) in &self.alerts {
            let total: u64 = levels.values().sum();
            let detail: Vec<String> = levels
                .iter()
                .filter(|(l, _)| l.as_str() != "-" || levels.len() > 1)
                .map(|(l, n)| {
                    let l = if l == "-" { "no level yet" } else { l };
                    format!("{l} {n}")
                })
                .collect();
            if detail.is_empty() {
                println!("  {kind:<14} {total:>6}");
            } else {
                println!("  {kind:<14} {total:>6}  ({})", detail.join(", "));
            }
        }
        println!();
        println!("Dead letters by reason");
        for (reason, n) in &self.dead_letters {
            println!("  {reason:<17} {n:>5}");
        }
        println!();
        println!("Example explanations");
        for (label, (employee, week, text)) in &self.examples {
            if employee.is_empty() {
                println!("  {label}: {text}");
            } else {
                println!("  {label} ({employee}, {week}): {text}");
            }
        }
    }
}

/// A background reader of the four output topics.
pub struct OutputReader {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<anyhow::Result<Summary>>,
}

impl OutputReader {
    /// Starts reading every partition of the output topics from the beginning.
    pub fn start(config: &Config) -> anyhow::Result<Self> {
        let consumer: BaseConsumer<LogContext> = ClientConfig::new()
            .set("bootstrap.servers", &config.processor.kafka.brokers)
            .set(
                "group.id",
                format!("{}-summary", config.processor.kafka.group_id),
            )
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .create_with_context(LogContext::default())?;
        let t = &config.processor.topics;
        let topics = [
            t.decisions.clone(),
            t.changes.clone(),
            t.alerts.clone(),
            t.dead_letters.clone(),
        ];
        let mut tpl = TopicPartitionList::new();
        let metadata = consumer.fetch_metadata(None, Duration::from_secs(10))?;
        for topic in &topics {
            let partitions = metadata
                .topics()
                .iter()
                .find(|m| m.name() == topic)
                .map_or(0, |m| m.partitions().len());
            for p in 0..partitions as i32 {
                tpl.add_partition_offset(topic, p, Offset::Beginning)?;
            }
        }
        consumer.assign(&tpl)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::Builder::new()
            .name("demo-reader".into())
            .spawn(move || read(&consumer, &topics, &flag))?;
        Ok(Self { stop, handle })
    }

    /// Reads up to the end of every partition, then returns the summary.
    pub fn finish(self) -> anyhow::Result<Summary> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle
            .join()
            .map_err(|_| anyhow::anyhow!("the output reader panicked"))?
    }
}

fn read(
    consumer: &BaseConsumer<LogContext>,
    topics: &[String; 4],
    stop: &AtomicBool,
) -> anyhow::Result<Summary> {
    let mut summary = Summary::default();
    // After `stop` (the pipeline committed everything), a second without records means the
    // end: transaction markers make high watermarks unusable as "end" here.
    let mut quiet_since: Option<Instant> = None;
    loop {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                let kind = topics.iter().position(|t| t == m.topic()).unwrap_or(3);
                if let Some(payload) = m.payload() {
                    summary.add(kind, payload);
                }
                quiet_since = None;
            }
            Some(Err(e)) => tracing::debug!(error = %e, "demo reader"),
            None => {
                if stop.load(Ordering::Relaxed) {
                    let since = *quiet_since.get_or_insert_with(Instant::now);
                    if since.elapsed() >= Duration::from_secs(1) {
                        return Ok(summary);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
