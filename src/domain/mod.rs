//! Domain vocabulary shared by the engine and the shells: validated inputs, statuses and ids.
//!
//! Everything here is pure data; nothing performs I/O or reads a clock.

pub mod ids;
pub mod output;
pub mod time;

use serde::Serialize;

pub use ids::EmployeeId;
pub use time::{Day, Timestamp, Week};

/// Direction of a badge swipe (§1.1). Only `In` creates an office day in v1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Entering a site.
    In,
    /// Leaving a site.
    Out,
}

/// A validated badge event (§1.1): the engine never sees an invalid one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    /// The access system's id of the swipe (kept for tracing only). Inline up to 24 bytes:
    /// decoding a badge allocates nothing for the usual ids.
    pub event_id: compact_str::CompactString,
    /// Employee who swiped.
    pub employee_id: EmployeeId,
    /// Index of the site in the configuration's site list.
    pub site: usize,
    /// Event time.
    pub timestamp: Timestamp,
    /// In or out.
    pub direction: Direction,
}

/// A validated roster record (§1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRecord {
    /// The employee.
    pub employee_id: EmployeeId,
    /// Direct manager; `None` when absent, null or empty.
    pub manager_id: Option<String>,
    /// The VP above the manager, for alerts.
    pub vp_id: Option<String>,
    /// Organisation; `"unassigned"` by default.
    pub org: String,
    /// Which policies apply (§4.1).
    pub policy_group: String,
    /// Index of the home site in the configuration's site list.
    pub home_site: usize,
    /// First working day, a local date.
    pub hire_date: Option<Day>,
    /// `status == "active"`.
    pub active: bool,
    /// Approved for remote work: every evaluated week is exempt.
    pub remote_approved: bool,
}

/// A roster message: an upsert, or a tombstone removing the employee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RosterChange {
    /// The latest record for the employee.
    Upsert(RosterRecord),
    /// Null value on the compacted topic: forget the employee.
    Remove {
        /// The employee to forget.
        employee_id: EmployeeId,
    },
}

/// A validated absence record (§1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbsenceRecord {
    /// Identity of the absence; a later record with the same id replaces the earlier one.
    pub absence_id: String,
    /// The absent employee.
    pub employee_id: EmployeeId,
    /// First day, inclusive, local date.
    pub start: Day,
    /// Last day, inclusive, local date.
    pub end: Day,
    /// Free text such as `pto` or `sick`.
    pub kind: Option<String>,
    /// `approved` (true) or `cancelled` (false).
    pub approved: bool,
}

/// A validated site outage (§1.5, v2): the site's badge readers were down, so its
/// employees' weekdays inside it are exempt (§4.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutageRecord {
    /// Identity of the outage (1..=128 bytes); a later record with the same id replaces it.
    pub outage_id: String,
    /// Index of the site in the configuration's site list.
    pub site: usize,
    /// First day, inclusive, local date of the site.
    pub start: Day,
    /// Last day, inclusive (at most 366 days after `start`, counting both).
    pub end: Day,
    /// `active` (true) or `cancelled` (false).
    pub active: bool,
}

/// A site-outage message: a record, or a tombstone (null value on the compacted topic)
/// that withdraws the outage named by the key, like a `cancelled` record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutageChange {
    /// The latest record for the outage.
    Upsert(OutageRecord),
    /// Null value: forget the outage with this id.
    Remove {
        /// The outage id (the message key).
        outage_id: String,
    },
}

/// What an approved adjustment does (§1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AdjustmentAction {
    /// The date is an office day (§3.1), whatever its badges and presence.
    CreditOfficeDay,
    /// The date is an exempt day when it is a weekday (§4.2).
    ExcuseDay,
}

impl AdjustmentAction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AdjustmentAction::CreditOfficeDay => "credit_office_day",
            AdjustmentAction::ExcuseDay => "excuse_day",
        }
    }
}

/// A validated attendance adjustment (§1.6, v2). The free-text `reason`, `requested_by`
/// and `approved_by` are validated but not carried: the engine needs none of them, and
/// §8 keeps the reason out of logs and metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdjustmentRecord {
    /// Identity of the adjustment (1..=128 bytes), per employee.
    pub adjustment_id: String,
    /// The employee whose record it corrects.
    pub employee_id: EmployeeId,
    /// The local date it concerns.
    pub date: Day,
    /// Credit or excuse.
    pub action: AdjustmentAction,
    /// `approved` (true) or `cancelled` (false).
    pub approved: bool,
}

/// The status of a weekly decision (§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Met the requirement.
    Compliant,
    /// Below the requirement.
    NonCompliant,
    /// Not held to the requirement this week.
    Exempt,
}

impl Status {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Compliant => "compliant",
            Status::NonCompliant => "non_compliant",
            Status::Exempt => "exempt",
        }
    }
}

/// Why a decision has its status (§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Rule 2.
    RemoteApproved,
    /// Rule 3.
    NewHireGrace,
    /// Rule 4.
    FullyExcused,
    /// Rules 5/6, compliant.
    MetRequirement,
    /// Rules 5/6, non-compliant.
    BelowRequired,
    /// Rule 7 (v2), non-compliant: more than `max_missed` weeks of the window missed.
    TooManyMissedWeeks,
}

impl Reason {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::RemoteApproved => "remote_approved",
            Reason::NewHireGrace => "new_hire_grace",
            Reason::FullyExcused => "fully_excused",
            Reason::MetRequirement => "met_requirement",
            Reason::BelowRequired => "below_required",
            Reason::TooManyMissedWeeks => "too_many_missed_weeks",
        }
    }
}

/// Kinds of manager alert (§5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A week closed (or was corrected to) non-compliant.
    NonCompliant,
    /// A compliant week after a streak.
    Resolved,
    /// The requirement can at best just be met this week.
    AtRisk,
    /// A correction withdrew an earlier non-compliant alert.
    Retracted,
}

impl AlertKind {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::NonCompliant => "non_compliant",
            AlertKind::Resolved => "resolved",
            AlertKind::AtRisk => "at_risk",
            AlertKind::Retracted => "retracted",
        }
    }
}

/// Dead-letter reasons of §2, in precedence order (first wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadLetterReason {
    /// Message over 64 KiB.
    TooLarge,
    /// Not JSON, or not a JSON object.
    MalformedJson,
    /// A required field is absent or null.
    MissingField,
    /// A field has the wrong type or format.
    InvalidField,
    /// The site is not configured.
    UnknownSite,
    /// More than `max_future_skew` after the processing clock.
    FutureTimestamp,
    /// The badge's week closed beyond `correction_weeks`.
    TooLate,
}

impl DeadLetterReason {
    /// Every reason, in precedence order.
    pub const ALL: [DeadLetterReason; 7] = [
        DeadLetterReason::TooLarge,
        DeadLetterReason::MalformedJson,
        DeadLetterReason::MissingField,
        DeadLetterReason::InvalidField,
        DeadLetterReason::UnknownSite,
        DeadLetterReason::FutureTimestamp,
        DeadLetterReason::TooLate,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadLetterReason::TooLarge => "too_large",
            DeadLetterReason::MalformedJson => "malformed_json",
            DeadLetterReason::MissingField => "missing_field",
            DeadLetterReason::InvalidField => "invalid_field",
            DeadLetterReason::UnknownSite => "unknown_site",
            DeadLetterReason::FutureTimestamp => "future_timestamp",
            DeadLetterReason::TooLate => "too_late",
        }
    }
}

/// Why an input message is not applied: its dead-letter reason and a one-line detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The §2 reason.
    pub reason: DeadLetterReason,
    /// A human-readable detail naming the field and the problem.
    pub detail: String,
}

impl Rejection {
    /// A rejection with `reason` and `detail`.
    pub fn new(reason: DeadLetterReason, detail: impl Into<String>) -> Self {
        Self {
            reason,
            detail: detail.into(),
        }
    }
}
