//! [`OutputTally`]: what a transaction's outputs add to the metrics, counted as they are sent
//! and recorded once it commits.

use super::labels::{alert_index, ALERT_KINDS};
use crate::engine::Output;

/// Counts of engine outputs by what [`super::Metrics::record_committed`] reports: a fixed-size
/// summary of a transaction's outputs, added to as each output is sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputTally {
    /// Every output added, records or not.
    pub(super) outputs: u64,
    pub(super) decisions: u64,
    pub(super) corrections: u64,
    pub(super) changes: u64,
    pub(super) dead_letters: u64,
    /// Alerts per kind, in [`ALERT_KINDS`] order.
    pub(super) alerts: [u64; ALERT_KINDS.len()],
    /// Alerts without manager per kind, in [`ALERT_KINDS`] order.
    pub(super) alerts_without_manager: [u64; ALERT_KINDS.len()],
    /// State changelog records written.
    pub(super) changelog: u64,
}

impl OutputTally {
    /// Counts one output.
    pub fn add(&mut self, output: &Output) {
        self.outputs += 1;
        match output {
            Output::Decision(decision) => {
                self.decisions += 1;
                if decision.correction {
                    self.corrections += 1;
                }
            }
            Output::Change(_) => self.changes += 1,
            Output::Alert(alert) => self.alerts[alert_index(alert.kind)] += 1,
            Output::AlertWithoutManager(kind) => {
                self.alerts_without_manager[alert_index(*kind)] += 1;
            }
            Output::DeadLetter(_) => self.dead_letters += 1,
            Output::WeekClosed(_) => {}
        }
    }

    /// Counts `records` state changelog records written.
    pub fn add_changelog(&mut self, records: usize) {
        self.changelog += records as u64;
    }

    /// Outputs added, records or not.
    pub fn outputs(&self) -> u64 {
        self.outputs
    }

    /// Output records (decisions, changes, alerts, dead letters): the outputs that
    /// [`super::output_label`] names.
    pub fn records(&self) -> u64 {
        self.decisions + self.changes + self.dead_letters + self.alerts.iter().sum::<u64>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AlertKind, Week};
    use crate::metrics::labels::ALERT_KINDS;
    use crate::metrics::Metrics;

    #[test]
    fn alert_index_follows_alert_kinds() {
        for (i, kind) in ALERT_KINDS.into_iter().enumerate() {
            assert_eq!(alert_index(kind), i);
        }
    }

    #[test]
    fn a_tally_counts_records_and_events() {
        let mut tally = OutputTally::default();
        tally.add(&Output::AlertWithoutManager(AlertKind::AtRisk));
        tally.add(&Output::WeekClosed(Week(0)));
        assert_eq!((tally.outputs(), tally.records()), (2, 0));
        let metrics = Metrics::new();
        metrics.record_committed(&tally);
        assert_eq!(
            metrics
                .alerts_without_manager
                .with_label_values(&["at_risk"])
                .get(),
            1
        );
    }
}
