//! One side of a simulation: a [`Sink`] that keeps, as the engine's outputs stream past,
//! only what §9's counts need — each employee-week's final decision (latest revision) as a
//! few small numbers, and its alert records by kind. Nothing is written, no record is kept.

use std::collections::HashMap;

use crate::domain::output::Decision;
use crate::domain::{AlertKind, EmployeeId, Status, Week};
use crate::engine::{Output, Sink};

/// The four alert kinds in the order of [`AlertCounts`](super::summary::AlertCounts).
pub(crate) const ALERT_KINDS: [AlertKind; 4] = [
    AlertKind::NonCompliant,
    AlertKind::AtRisk,
    AlertKind::Resolved,
    AlertKind::Retracted,
];

/// The highest office-day count kept apart: a week has at most 7 days.
pub(crate) const MAX_OFFICE_DAYS: usize = 7;

/// Names (orgs, policy ids) stored once per side and referred to by number.
#[derive(Debug, Default)]
pub(crate) struct Names {
    index: HashMap<String, u32>,
    names: Vec<String>,
}

impl Names {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.index.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), id);
        id
    }

    /// The name numbered `id`.
    pub(crate) fn get(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }
}

/// An employee-week's final decision, as counted: 12 bytes, so that a side of 100k
/// employees × 13 weeks stays near 50 MB (BENCHMARKS.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Final {
    /// Its status.
    pub(crate) status: Status,
    /// Its office days (§4.2), at most [`MAX_OFFICE_DAYS`].
    pub(crate) office_days: u8,
    /// Its policy id, in [`Tally::policies`] (at most `MAX_POLICIES` = 1,000 ids).
    pub(crate) policy: u16,
    /// Its org, in [`Tally::orgs`].
    pub(crate) org: u32,
    revision: u32,
}

/// What one side holds for one employee and week.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cell {
    /// The latest revision of the week's decision, if one was emitted.
    pub(crate) decision: Option<Final>,
    /// Alert records emitted for the week, by kind in [`ALERT_KINDS`] order (a handful at
    /// most; saturating).
    pub(crate) alerts: [u16; 4],
}

/// One side's tally: employee → the weeks with a decision or an alert.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Per employee, `(week, cell)` in the order first seen (a handful of weeks each).
    pub(crate) cells: HashMap<EmployeeId, Vec<(Week, Cell)>>,
    /// Orgs named by decisions.
    pub(crate) orgs: Names,
    /// Policy ids named by decisions.
    pub(crate) policies: Names,
}

impl Tally {
    fn cell(&mut self, employee: EmployeeId, week: Week) -> &mut Cell {
        let weeks = self.cells.entry(employee).or_default();
        let at = match weeks.iter().position(|(w, _)| *w == week) {
            Some(at) => at,
            None => {
                weeks.push((week, Cell::default()));
                weeks.len() - 1
            }
        };
        &mut weeks[at].1
    }

    fn decision(&mut self, decision: Decision) {
        let policy = u16::try_from(self.policies.intern(&decision.policy.id)).unwrap_or(u16::MAX);
        let org = self.orgs.intern(&decision.org);
        let office_days = decision.office_days.len().min(MAX_OFFICE_DAYS) as u8;
        let new = Final {
            status: decision.status,
            revision: decision.revision,
            policy,
            org,
            office_days,
        };
        let cell = self.cell(decision.employee_id, decision.week);
        // Revisions only grow in the stream; the check keeps "latest revision" explicit.
        if cell.decision.is_none_or(|old| old.revision <= new.revision) {
            cell.decision = Some(new);
        }
    }

    /// The employee-weeks held, for inspection in tests.
    #[cfg(test)]
    pub(crate) fn get(&self, employee: &str, week: Week) -> Option<&Cell> {
        let id = EmployeeId::parse(employee)?;
        self.cells
            .get(&id)?
            .iter()
            .find(|(w, _)| *w == week)
            .map(|(_, c)| c)
    }
}

impl Sink for Tally {
    fn emit(&mut self, output: Output) {
        match output {
            Output::Decision(decision) => self.decision(decision),
            Output::Alert(alert) => {
                let slot = ALERT_KINDS
                    .iter()
                    .position(|k| *k == alert.kind)
                    .unwrap_or(0);
                let count = &mut self.cell(alert.employee_id, alert.week).alerts[slot];
                *count = count.saturating_add(1);
            }
            // Only records emitted count (§9); dead letters are the same on both sides.
            Output::Change(_)
            | Output::AlertWithoutManager(_)
            | Output::DeadLetter(_)
            | Output::WeekClosed(_) => {}
        }
    }
}
