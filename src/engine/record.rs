//! The record API's view of one employee (§10): the decisions of every week the state still
//! holds, exactly as §6 emitted them, and the open week as the engine sees it now. Pure: the
//! view is computed from the state, never stored.
//!
//! Per closed week the state keeps only a [`DecisionRecord`](super::state::DecisionRecord)
//! with a fingerprint of the decision's content, so each decision is rebuilt with the code
//! that emitted it ([`evaluate::evaluate`] and [`Engine::decision_value`]) and checked against
//! the fingerprint. A week whose rebuilt content differs (its inputs changed after it could
//! no longer be corrected, or the configuration changed) is not shown as a decision it never
//! was: it is listed in [`Record::unreproducible_weeks`] by id, status and streak
//! (docs/SEMANTICS.md, "The record API").

use serde::Serialize;

use crate::config::limits::format_duration;
use crate::config::{Policy, Rule};
use crate::domain::output::Decision;
use crate::domain::time::local_day;
use crate::domain::{ids, EmployeeId, Status, Week};

use super::evaluate::{self, WeekFacts};
use super::state::Roster;
use super::Engine;

/// One employee's record (§10 `GET /v1/employees/{employee_id}/record`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Record {
    /// The employee.
    pub employee_id: EmployeeId,
    /// The watermark of the employee's partition, RFC 3339; null before the first badge.
    pub as_of: Option<String>,
    /// The policy in force for the current week; null when none applies to the employee's
    /// policy group then (or before the first badge).
    pub policy: Option<RecordPolicy>,
    /// Status of the latest closed, evaluated week; null before the first.
    pub current_status: Option<Status>,
    /// Streak of the latest decision (§4.4), 0 before the first.
    pub consecutive_non_compliant_weeks: u32,
    /// The latest decision of every week the state still holds, newest first, as §6 emitted
    /// it.
    pub weeks: Vec<Decision>,
    /// Weeks the state holds a decision for that can no longer be rebuilt exactly, newest
    /// first (empty in the normal course).
    pub unreproducible_weeks: Vec<DecisionRef>,
    /// The open week; null before the first badge or when no policy is in force for it.
    pub current_week: Option<CurrentWeek>,
}

/// A policy as the record shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordPolicy {
    /// Policy id.
    pub id: String,
    /// Policy version.
    pub version: u32,
    /// How weeks are judged.
    pub rule: RuleView,
    /// Minimum presence per day in the configuration's duration notation (`"4h"`), or null.
    pub min_presence: Option<String>,
}

/// A policy's rule (§4.1 `rule`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleView {
    /// `weekly`, `rolling_average` or `missed_weeks`.
    pub kind: &'static str,
    /// Window length in ISO weeks (1 for weekly).
    pub weeks: u32,
    /// Missed weeks allowed (only under `missed_weeks`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_missed: Option<u32>,
}

impl RuleView {
    fn of(rule: Rule) -> Self {
        Self {
            kind: rule.kind(),
            weeks: rule.window_weeks(),
            max_missed: match rule {
                Rule::MissedWeeks { max_missed, .. } => Some(max_missed),
                _ => None,
            },
        }
    }
}

/// A decision the state remembers but can no longer rebuild exactly: its id names the
/// record on the decisions topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DecisionRef {
    /// The week.
    pub week: Week,
    /// Id of the latest revision emitted.
    pub decision_id: String,
    /// Its status.
    pub status: Status,
    /// Its revision.
    pub revision: u32,
    /// Its streak.
    pub consecutive_non_compliant_weeks: u32,
}

/// The open week (§10 `current_week`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrentWeek {
    /// The week of the watermark in the employee's home zone.
    pub week: Week,
    /// Office days so far, as §4.2 counts them.
    pub office_days: Vec<String>,
    /// required(W).
    pub required_days: u32,
    /// Days from today to Friday (Sunday under `count_weekends`) that are neither exempt
    /// nor credited, as §5 counts them.
    pub remaining_days: u32,
    /// Counted days with presence below `min_presence` so far (§3.7).
    pub short_days: Vec<String>,
    /// Counted days with an `in` and no later `out` so far (§3.7).
    pub unverified_days: Vec<String>,
    /// Exempt weekdays of the week.
    pub exempt_days: Vec<String>,
    /// Ids of approved adjustments dated in the week, byte order.
    pub adjustments: Vec<String>,
    /// §5's at-risk condition, tested as at 00:00 of today (only Monday to Friday).
    pub at_risk: bool,
}

/// Whom the roster names above an employee (§10 authorization).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reporting {
    /// The roster `manager_id`.
    pub manager_id: Option<String>,
    /// The roster `vp_id`.
    pub vp_id: Option<String>,
}

fn days(week: Week, bits: u8) -> Vec<String> {
    (0..7)
        .filter(|d| bits & (1 << d) != 0)
        .map(|d| week.monday().plus(d).to_string())
        .collect()
}

impl Engine {
    /// Whom the roster names as `employee_id`'s manager and VP; `None` when the employee has
    /// no roster record (unknown, removed, or only held without one).
    pub fn reporting(&self, employee_id: &str) -> Option<Reporting> {
        let i = self.index.get(&self.employees, employee_id)?;
        let roster = self.employees[i as usize].roster?;
        Some(Reporting {
            manager_id: roster.manager.map(|m| self.interner.get(m).to_owned()),
            vp_id: roster.vp.map(|v| self.interner.get(v).to_owned()),
        })
    }

    /// The record of `employee_id` (§10); `None` when the employee has no roster record.
    pub fn record(&self, employee_id: &str) -> Option<Record> {
        let i = self.index.get(&self.employees, employee_id)? as usize;
        let employee = &self.employees[i];
        let roster = employee.roster?;
        let (weeks, unreproducible_weeks) = self.closed_weeks(i, &roster);
        let today = self
            .watermark
            .map(|w| local_day(self.zones[usize::from(roster.zone)].tz, w));
        let open = today.and_then(|d| {
            let week = d.week();
            let policy = self.rules.policy_for(roster.group_rule, week)?;
            Some((week, d.weekday_index(), &self.rules.policies[policy]))
        });
        Some(Record {
            employee_id: EmployeeId::from_parsed(&employee.id),
            as_of: self.watermark.map(|w| w.to_rfc3339()),
            policy: open.map(|(_, _, p)| RecordPolicy {
                id: p.id.clone(),
                version: p.version,
                rule: RuleView::of(p.rule),
                min_presence: p.min_presence.map(format_duration),
            }),
            current_status: employee.current,
            consecutive_non_compliant_weeks: employee
                .decisions
                .last()
                .map_or(employee.carried_streak, |d| d.streak()),
            weeks,
            unreproducible_weeks,
            current_week: open.map(|(week, day, p)| self.current_week(i, &roster, p, week, day)),
        })
    }

    /// The closed weeks, newest first: rebuilt decisions, and the weeks that cannot be.
    fn closed_weeks(&self, i: usize, roster: &Roster) -> (Vec<Decision>, Vec<DecisionRef>) {
        let employee = &self.employees[i];
        let zone = self.zone_context(roster.zone);
        let (mut weeks, mut lost) = (Vec::new(), Vec::new());
        for (k, &record) in employee.decisions.iter().enumerate().rev() {
            let streak_before = match k.checked_sub(1) {
                Some(p) => employee.decisions[p].streak(),
                None => employee.carried_streak,
            };
            let eval = evaluate::evaluate(
                &self.rules,
                employee,
                roster,
                record.week(),
                zone,
                streak_before,
            );
            match eval {
                Some(eval) if eval.fingerprint() == record.fingerprint() => {
                    weeks.push(self.decision_value(i, roster, &eval, u32::from(record.revision())));
                }
                _ => lost.push(DecisionRef {
                    week: record.week(),
                    decision_id: ids::decision_id(
                        &employee.id,
                        record.week(),
                        u32::from(record.revision()),
                    )
                    .to_string(),
                    status: record.status(),
                    revision: u32::from(record.revision()),
                    consecutive_non_compliant_weeks: record.streak(),
                }),
            }
        }
        (weeks, lost)
    }

    /// §10 `current_week` for `week`, today being weekday `day` (Monday = 0).
    fn current_week(
        &self,
        i: usize,
        roster: &Roster,
        policy: &Policy,
        week: Week,
        day: u32,
    ) -> CurrentWeek {
        let employee = &self.employees[i];
        let facts: WeekFacts = evaluate::week_facts(&self.rules, employee, roster, policy, week);
        let remaining = evaluate::days_left(policy, day, facts.exempt | facts.credited);
        let zone = self.zone_context(roster.zone);
        let at_risk =
            day <= 4 && evaluate::at_risk(&self.rules, employee, roster, week, day, zone).is_some();
        CurrentWeek {
            week,
            office_days: days(week, facts.office),
            required_days: facts.required,
            remaining_days: remaining,
            short_days: days(week, facts.short),
            unverified_days: days(week, facts.unverified),
            exempt_days: days(week, facts.exempt),
            adjustments: employee
                .adjustment_ids(week)
                .iter()
                .map(|a| a.to_string())
                .collect(),
            at_risk,
        }
    }
}
