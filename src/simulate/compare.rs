//! The two sides' tallies side by side: §9's counts per week, per policy id and per org,
//! with `changed` and the fold of small orgs into `"other"`.
//!
//! An employee-week is counted on a side when that side has its final decision (status,
//! office days) or alerts for it. Its org is the one its current decision names, else its
//! alternative decision's, else the latest org any decision of the employee named (a week
//! with alerts only), else `"(unknown)"` (which always folds). Its policy is each side's
//! own decision's policy id, or [`NO_POLICY`] for alerts without a decision on that side.

use std::collections::{BTreeMap, HashSet};

use super::summary::{ByPolicy, Compared, PolicyCounts, SideCounts, WeekRow, NO_POLICY, OTHER_ORG};
use super::tally::{Cell, Tally, MAX_OFFICE_DAYS};
use crate::domain::{EmployeeId, Status, Week};

/// An org with fewer employees holding a final decision than this, on either side, is
/// folded into `"other"` (§9).
pub(crate) const MIN_ORG_EMPLOYEES: u64 = 5;

/// The org of employee-weeks whose org no decision names.
const UNKNOWN_ORG: &str = "(unknown)";

/// One week being summed, names borrowed from the tallies.
#[derive(Default)]
struct WeekSums<'a> {
    all: Compared,
    by_policy: [BTreeMap<&'a str, PolicyCounts>; 2],
    by_org: BTreeMap<&'a str, Compared>,
    changed: Vec<&'a str>,
}

/// The counts of one side's cell for one employee-week.
fn counts_of(cell: &Cell) -> SideCounts {
    let mut counts = SideCounts::default();
    if let Some(decision) = cell.decision {
        match decision.status {
            Status::Compliant => counts.employees.compliant = 1,
            Status::NonCompliant => counts.employees.non_compliant = 1,
            Status::Exempt => counts.employees.exempt = 1,
        }
        counts.office_days[usize::from(decision.office_days).min(MAX_OFFICE_DAYS)] = 1;
    }
    let [non_compliant, at_risk, resolved, retracted] = cell.alerts.map(u64::from);
    counts.alerts.non_compliant = non_compliant;
    counts.alerts.at_risk = at_risk;
    counts.alerts.resolved = resolved;
    counts.alerts.retracted = retracted;
    counts
}

fn find(weeks: Option<&Vec<(Week, Cell)>>, week: Week) -> Option<&Cell> {
    weeks?.iter().find(|(w, _)| *w == week).map(|(_, c)| c)
}

/// The org of the latest week any decision of the employee names on `side`.
fn latest_org<'a>(side: &'a Tally, weeks: Option<&Vec<(Week, Cell)>>) -> Option<&'a str> {
    weeks?
        .iter()
        .filter_map(|(w, c)| Some((*w, c.decision?.org)))
        .max_by_key(|(w, _)| *w)
        .map(|(_, org)| side.orgs.get(org))
}

/// Compares the sides: one row per week with a decision or an alert on either side, sorted.
pub(crate) fn compare(current: &Tally, alternative: &Tally, with_ids: bool) -> Vec<WeekRow> {
    let sides = [current, alternative];
    let employees: HashSet<&EmployeeId> = current
        .cells
        .keys()
        .chain(alternative.cells.keys())
        .collect();
    let mut weeks: BTreeMap<Week, WeekSums<'_>> = BTreeMap::new();
    for employee in employees {
        let cells = sides.map(|side| side.cells.get(employee));
        let known_org = latest_org(current, cells[0]).or_else(|| latest_org(alternative, cells[1]));
        let mut employee_weeks: Vec<Week> = cells
            .iter()
            .flatten()
            .flat_map(|weeks| weeks.iter().map(|(w, _)| *w))
            .collect();
        employee_weeks.sort_unstable();
        employee_weeks.dedup();
        for week in employee_weeks {
            let cell = [find(cells[0], week), find(cells[1], week)];
            let decision = cell.map(|c| c.and_then(|c| c.decision));
            let org = decision[0]
                .map(|d| current.orgs.get(d.org))
                .or_else(|| decision[1].map(|d| alternative.orgs.get(d.org)))
                .or(known_org)
                .unwrap_or(UNKNOWN_ORG);
            let changed = decision[0].map(|d| d.status) != decision[1].map(|d| d.status);
            let sums = weeks.entry(week).or_default();
            let row = sums.by_org.entry(org).or_default();
            for (index, side) in sides.iter().enumerate() {
                let Some(cell) = cell[index] else { continue };
                let counts = counts_of(cell);
                let (all, in_org) = if index == 0 {
                    (&mut sums.all.current, &mut row.current)
                } else {
                    (&mut sums.all.alternative, &mut row.alternative)
                };
                all.add(&counts);
                in_org.add(&counts);
                let policy =
                    decision[index].map_or(NO_POLICY, |d| side.policies.get(u32::from(d.policy)));
                let by_policy = sums.by_policy[index].entry(policy).or_default();
                by_policy.counts.add(&counts);
                by_policy.changed += u64::from(changed && decision[index].is_some());
            }
            if changed {
                sums.all.changed += 1;
                row.changed += 1;
                if with_ids {
                    sums.changed.push(employee.as_str());
                }
            }
        }
    }
    weeks
        .into_iter()
        .map(|(week, sums)| row_of(week, sums, with_ids))
        .collect()
}

fn row_of(week: Week, sums: WeekSums<'_>, with_ids: bool) -> WeekRow {
    let [current, alternative] = sums
        .by_policy
        .map(|side| side.into_iter().map(|(k, v)| (k.to_owned(), v)).collect());
    let changed_employees = with_ids.then(|| {
        let mut ids: Vec<String> = sums.changed.iter().map(|id| (*id).to_owned()).collect();
        ids.sort_unstable();
        ids
    });
    WeekRow {
        week: week.label(),
        all: sums.all,
        by_policy: ByPolicy {
            current,
            alternative,
        },
        by_org: fold_orgs(sums.by_org),
        changed_employees,
    }
}

/// Folds every org with fewer than [`MIN_ORG_EMPLOYEES`] employees holding a final decision
/// on either side into `"other"`, on both sides (an org really named "other" is counted
/// with them).
pub(crate) fn fold_orgs(orgs: BTreeMap<&str, Compared>) -> BTreeMap<String, Compared> {
    let mut folded: BTreeMap<String, Compared> = BTreeMap::new();
    for (org, counts) in orgs {
        let smallest = counts
            .current
            .employees
            .decided()
            .min(counts.alternative.employees.decided());
        let name = if smallest < MIN_ORG_EMPLOYEES {
            OTHER_ORG
        } else {
            org
        };
        folded.entry(name.to_owned()).or_default().add(&counts);
    }
    folded
}
