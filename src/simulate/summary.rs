//! `summary.json` (§9): the counts of both sides per week, per policy id and per org, the
//! inputs they came from and the policies of both sides. Its layout is documented by
//! `schemas/simulate-summary.schema.json`.
//!
//! Byte-deterministic: maps are `BTreeMap`s, lists are sorted, every number is an integer.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{Policy, Rule, UnverifiedPresence};

/// The `schema_version` of `summary.json`.
pub const SUMMARY_SCHEMA_VERSION: u32 = 1;

/// The org name that folded orgs are counted under (§9).
pub const OTHER_ORG: &str = "other";

/// The policy id that alerts of a week without a final decision on that side are counted
/// under in `by_policy`.
pub const NO_POLICY: &str = "(no decision)";

/// Employees by the status of their final decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct StatusCounts {
    /// `compliant`.
    pub compliant: u64,
    /// `non_compliant`.
    pub non_compliant: u64,
    /// `exempt`.
    pub exempt: u64,
}

impl StatusCounts {
    /// Employees with a final decision.
    pub fn decided(&self) -> u64 {
        self.compliant + self.non_compliant + self.exempt
    }
}

/// Alert records emitted, by kind (corrections' re-issued alerts included, retractions not
/// netted out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct AlertCounts {
    /// `non_compliant` alerts.
    pub non_compliant: u64,
    /// `at_risk` alerts.
    pub at_risk: u64,
    /// `resolved` alerts.
    pub resolved: u64,
    /// `retracted` alerts.
    pub retracted: u64,
}

/// One side's counts for a group of employee-weeks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SideCounts {
    /// Employees by final status.
    pub employees: StatusCounts,
    /// Alert records by kind.
    pub alerts: AlertCounts,
    /// `office_days[n]`: employees whose final decision has n office days (0 to 7).
    pub office_days: [u64; 8],
}

impl SideCounts {
    /// Adds `other` into these counts.
    pub fn add(&mut self, other: &SideCounts) {
        let (e, o) = (&mut self.employees, &other.employees);
        e.compliant += o.compliant;
        e.non_compliant += o.non_compliant;
        e.exempt += o.exempt;
        let (a, o) = (&mut self.alerts, &other.alerts);
        a.non_compliant += o.non_compliant;
        a.at_risk += o.at_risk;
        a.resolved += o.resolved;
        a.retracted += o.retracted;
        for (mine, theirs) in self.office_days.iter_mut().zip(other.office_days) {
            *mine += theirs;
        }
    }
}

/// Both sides' counts for one group, and how many of its employees changed status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Compared {
    /// Employees whose final status differs between the sides (decided on one side only
    /// included).
    pub changed: u64,
    /// With the configuration's policies.
    pub current: SideCounts,
    /// With the alternative policies.
    pub alternative: SideCounts,
}

impl Compared {
    /// Adds `other` into these counts.
    pub fn add(&mut self, other: &Compared) {
        self.changed += other.changed;
        self.current.add(&other.current);
        self.alternative.add(&other.alternative);
    }
}

/// One side's counts for one policy id, with the employees of that side's policy whose
/// status differs on the other side.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyCounts {
    /// Employees decided under this policy whose final status differs on the other side.
    pub changed: u64,
    /// The counts.
    #[serde(flatten)]
    pub counts: SideCounts,
}

/// Per policy id, each side grouped by its own decisions' policy ids.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ByPolicy {
    /// The current side's policy ids.
    pub current: BTreeMap<String, PolicyCounts>,
    /// The alternative side's policy ids.
    pub alternative: BTreeMap<String, PolicyCounts>,
}

/// One week's counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WeekRow {
    /// The ISO week, `2026-W22`.
    pub week: String,
    /// The week's counts over every employee.
    #[serde(flatten)]
    pub all: Compared,
    /// Per policy id.
    pub by_policy: ByPolicy,
    /// Per org; orgs with fewer than 5 decided employees on either side folded into
    /// `"other"`.
    pub by_org: BTreeMap<String, Compared>,
    /// The employees counted in `changed`, sorted (only with `--with-ids`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changed_employees: Option<Vec<String>>,
}

/// One input file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputFile {
    /// `roster`, `absences`, `outages`, `adjustments` or `badges`.
    pub kind: &'static str,
    /// The file's base name.
    pub file: String,
    /// Its non-blank lines.
    pub lines: u64,
}

/// What the simulation was computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inputs {
    /// The configuration directory's base name.
    pub config: String,
    /// The alternative policies file's base name.
    pub alternative: String,
    /// The input files in order of application.
    pub files: Vec<InputFile>,
    /// `--now`, when given.
    pub now: Option<String>,
    /// Input lines dead-lettered (the same on both sides).
    pub dead_letters: u64,
    /// Badges applied to a closed week (corrections), on the current side.
    pub late_badges: u64,
}

/// A policy as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyInfo {
    /// `id`.
    pub id: String,
    /// `version`.
    pub version: u32,
    /// `effective_from`.
    pub effective_from: String,
    /// `policy_groups`.
    pub policy_groups: Vec<String>,
    /// `required_days`.
    pub required_days: u8,
    /// The rule in words, e.g. `"missed_weeks: at most 4 of 8 weeks missed"`.
    pub rule: String,
    /// `min_presence` in whole minutes, absent without a presence rule.
    pub min_presence_minutes: Option<u64>,
    /// `unverified_presence`: `"count"` or `"ignore"`.
    pub unverified_presence: &'static str,
    /// `count_weekends`.
    pub count_weekends: bool,
}

impl PolicyInfo {
    /// The report's view of `policy`.
    pub fn of(policy: &Policy) -> Self {
        let rule = match policy.rule {
            Rule::Weekly => "weekly".to_owned(),
            Rule::RollingAverage { weeks } => format!("rolling_average over {weeks} weeks"),
            Rule::MissedWeeks { weeks, max_missed } => {
                format!("missed_weeks: at most {max_missed} of {weeks} weeks missed")
            }
        };
        Self {
            id: policy.id.clone(),
            version: policy.version,
            effective_from: policy.effective_from.to_string(),
            policy_groups: policy.policy_groups.clone(),
            required_days: policy.required_days,
            rule,
            min_presence_minutes: policy.min_presence.map(|d| d.as_secs() / 60),
            unverified_presence: match policy.unverified_presence {
                UnverifiedPresence::Count => "count",
                UnverifiedPresence::Ignore => "ignore",
            },
            count_weekends: policy.count_weekends,
        }
    }

    /// Every policy of `policies`, sorted by id, then version.
    pub fn all(policies: &[Policy]) -> Vec<Self> {
        let mut all: Vec<Self> = policies.iter().map(Self::of).collect();
        all.sort_by(|a, b| (&a.id, a.version).cmp(&(&b.id, b.version)));
        all
    }
}

/// The policies of both sides.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policies {
    /// The configuration's.
    pub current: Vec<PolicyInfo>,
    /// The alternative file's.
    pub alternative: Vec<PolicyInfo>,
}

/// `summary.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// [`SUMMARY_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Whether employee ids are included (`--with-ids`).
    pub with_ids: bool,
    /// What it was computed from.
    pub inputs: Inputs,
    /// Both sides' policies.
    pub policies: Policies,
    /// The weeks with a decision or an alert on either side, sorted.
    pub weeks: Vec<WeekRow>,
}

impl Summary {
    /// The file's bytes: pretty-printed JSON and a final newline.
    pub fn to_bytes(&self) -> serde_json::Result<Vec<u8>> {
        let mut bytes = serde_json::to_vec_pretty(self)?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
