//! The output vocabulary (§6): the values the engine and the processor emit, in the field
//! order they are serialized in (the spec's examples).
//!
//! Version 1 of each value; `schemas/*.schema.json` describe the same shapes.

use serde::Serialize;

use crate::domain::{AlertKind, DeadLetterReason, EmployeeId, Reason, Status, Week};

/// The schema version every output value carries.
pub const SCHEMA_VERSION: u32 = 1;

/// The policy a decision was made under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRef {
    /// Policy id.
    pub id: String,
    /// Policy version.
    pub version: u32,
}

/// The weeks and sums a decision was judged on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// ISO weeks that entered the sums, oldest first.
    pub weeks: Vec<String>,
    /// Σ office days over `weeks`.
    pub office_days: u32,
    /// Σ required days over `weeks`.
    pub required_days: u32,
}

/// A weekly decision (topic `compliance-decisions`, key employee_id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Always 1.
    pub schema_version: u32,
    /// Deterministic id of this revision.
    pub decision_id: String,
    /// The employee.
    pub employee_id: EmployeeId,
    /// ISO week, serialized as its label, e.g. `2026-W22`.
    pub week: Week,
    /// The week's Monday.
    pub week_start: String,
    /// compliant | non_compliant | exempt.
    pub status: Status,
    /// Why.
    pub reason: Reason,
    /// Sorted office days of the week, as counted by the policy.
    pub office_days: Vec<String>,
    /// required(W).
    pub required_days: u32,
    /// Sorted exempt weekdays of the week.
    pub exempt_days: Vec<String>,
    /// Policy in force.
    pub policy: PolicyRef,
    /// The window judged.
    pub window: Window,
    /// 0, then +1 per correction.
    pub revision: u32,
    /// True when re-emitted after late data.
    pub correction: bool,
    /// Streak of non-compliant weeks ending at this week (§4.4).
    pub consecutive_non_compliant_weeks: u32,
    /// Manager at decision time, if any.
    pub manager_id: Option<String>,
    /// Organisation.
    pub org: String,
    /// One sentence for humans.
    pub explanation: String,
}

/// A compliance change (topic `compliance-changes`, key employee_id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplianceChange {
    /// Always 1.
    pub schema_version: u32,
    /// Deterministic id.
    pub change_id: String,
    /// The employee.
    pub employee_id: EmployeeId,
    /// The week whose status is now current.
    pub week: Week,
    /// The status before (null at the first evaluation).
    pub previous_status: Option<Status>,
    /// The current status.
    pub status: Status,
    /// True when caused by a correction.
    pub correction: bool,
    /// The decision that set the status.
    pub decision_id: String,
    /// Manager, if any.
    pub manager_id: Option<String>,
    /// Organisation.
    pub org: String,
}

/// A manager alert (topic `manager-alerts`, key manager_id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagerAlert {
    /// Always 1.
    pub schema_version: u32,
    /// Deterministic id.
    pub alert_id: String,
    /// The manager alerted (the record key).
    pub manager_id: String,
    /// The VP, for promotion holds.
    pub vp_id: Option<String>,
    /// The employee concerned.
    pub employee_id: EmployeeId,
    /// The week concerned.
    pub week: Week,
    /// non_compliant | resolved | at_risk | retracted.
    pub kind: AlertKind,
    /// Escalation rung (non_compliant only; null while none is reached).
    pub escalation_level: Option<String>,
    /// Streak of the alert's decision.
    pub consecutive_non_compliant_weeks: u32,
    /// True when the streak reached `promotion_hold_after_weeks` (non_compliant only).
    pub promotion_requires_vp_approval: bool,
    /// The decision alerted on (null for at_risk).
    pub decision_id: Option<String>,
    /// One sentence for the manager.
    pub explanation: String,
}

/// Where a dead-lettered message came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Source {
    /// Live: the Kafka coordinates.
    Kafka {
        /// Input topic.
        topic: String,
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
    },
    /// Replay: the file's base name and 1-based line.
    File {
        /// File base name.
        file: String,
        /// 1-based line number.
        line: u64,
    },
}

/// A dead letter (topic `attendance-dead-letters`, key as received).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// Always 1.
    pub schema_version: u32,
    /// §2 reason.
    pub reason: DeadLetterReason,
    /// What was wrong, in one line.
    pub detail: String,
    /// Where the message came from.
    pub source: Source,
    /// The original bytes when they are UTF-8.
    pub payload: Option<String>,
    /// The original bytes, base64, when they are not UTF-8.
    pub payload_base64: Option<String>,
}

impl DeadLetter {
    /// A dead letter for `bytes` from `source`.
    pub fn new(reason: DeadLetterReason, detail: String, source: Source, bytes: &[u8]) -> Self {
        use base64::Engine as _;
        let (payload, payload_base64) = match std::str::from_utf8(bytes) {
            Ok(text) => (Some(text.to_owned()), None),
            Err(_) => (
                None,
                Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            ),
        };
        Self {
            schema_version: SCHEMA_VERSION,
            reason,
            detail,
            source,
            payload,
            payload_base64,
        }
    }
}
