//! Label values that are not topics: rebalance kinds, alert kinds, and the topic and kind of
//! an output record.

use crate::config::OutputTopic;
use crate::domain::AlertKind;
use crate::engine::Output;

/// The topic and `kind` label of an engine output; `None` for an output that is not a
/// record ([`Output::AlertWithoutManager`], [`Output::WeekClosed`]).
pub fn output_label(output: &Output) -> Option<(OutputTopic, &'static str)> {
    match output {
        Output::Decision(_) => Some((OutputTopic::Decisions, "decision")),
        Output::Change(_) => Some((OutputTopic::Changes, "compliance_change")),
        Output::Alert(alert) => Some((OutputTopic::Alerts, alert.kind.as_str())),
        Output::DeadLetter(_) => Some((OutputTopic::DeadLetters, "dead_letter")),
        Output::AlertWithoutManager(_) | Output::WeekClosed(_) => None,
    }
}

/// What a rebalance callback reported (the `kind` label of `attendance_rebalances_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RebalanceKind {
    /// Partitions were assigned.
    Assign,
    /// Partitions were revoked (cleanly).
    Revoke,
    /// The assignment was lost (session timeout, fencing).
    Lost,
}

impl RebalanceKind {
    /// The label value.
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Revoke => "revoke",
            Self::Lost => "lost",
        }
    }
}

/// Every alert kind, in the order of the per-kind counts of [`super::OutputTally`].
pub(super) const ALERT_KINDS: [AlertKind; 4] = [
    AlertKind::NonCompliant,
    AlertKind::Resolved,
    AlertKind::AtRisk,
    AlertKind::Retracted,
];

/// The position of `kind` in [`ALERT_KINDS`].
pub(super) fn alert_index(kind: AlertKind) -> usize {
    match kind {
        AlertKind::NonCompliant => 0,
        AlertKind::Resolved => 1,
        AlertKind::AtRisk => 2,
        AlertKind::Retracted => 3,
    }
}
