//! Per-employee state, kept compact (§8): office days as 7 bits per week, absences as date
//! ranges, and per closed week only what corrections, streaks and alerts need (status,
//! streak, revision, a fingerprint of the decision's content). No raw badge timestamps.

use rustc_hash::FxHashMap;

use crate::domain::{Day, Status, Week};

/// An interned string (manager, VP, org, policy group, absence kind).
pub type Sym = u32;

/// Interns the low-cardinality strings of the roster so each employee stores 4-byte symbols.
#[derive(Debug, Default, Clone)]
pub struct Interner {
    strings: Vec<Box<str>>,
    index: FxHashMap<Box<str>, Sym>,
}

impl Interner {
    /// The symbol of `s`, interning it when new.
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&sym) = self.index.get(s) {
            return sym;
        }
        let sym = self.strings.len() as Sym;
        self.strings.push(s.into());
        self.index.insert(s.into(), sym);
        sym
    }

    /// The string of `sym`.
    pub fn get(&self, sym: Sym) -> &str {
        self.strings.get(sym as usize).map_or("", |s| s)
    }
}

/// Employee id → slot, storing only the slot: the id itself lives once, in the [`Employee`]
/// (a map keyed by the id would keep every id twice).
#[derive(Debug, Default, Clone)]
pub struct EmployeeIndex {
    table: hashbrown::HashTable<u32>,
}

fn hash_id(id: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(id)
}

impl EmployeeIndex {
    /// The slot of `id`.
    pub fn get(&self, employees: &[Employee], id: &str) -> Option<u32> {
        self.table
            .find(hash_id(id), |&i| &*employees[i as usize].id == id)
            .copied()
    }

    /// Records that `employees[slot]` holds its id.
    pub fn insert(&mut self, employees: &[Employee], slot: u32) {
        let hash = hash_id(&employees[slot as usize].id);
        self.table
            .insert_unique(hash, slot, |&i| hash_id(&employees[i as usize].id));
    }

    /// Forgets `id`; returns its slot.
    pub fn remove(&mut self, employees: &[Employee], id: &str) -> Option<u32> {
        self.table
            .find_entry(hash_id(id), |&i| &*employees[i as usize].id == id)
            .ok()
            .map(|entry| entry.remove().0)
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Bytes held by the table.
    pub fn approx_bytes(&self) -> usize {
        self.table.capacity() * (std::mem::size_of::<u32>() + 1)
    }
}

/// The roster facts of an employee, interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roster {
    /// Manager, when there is one.
    pub manager: Option<Sym>,
    /// VP, when there is one.
    pub vp: Option<Sym>,
    /// Organisation.
    pub org: Sym,
    /// Policy group (the string is in the interner).
    pub group: Sym,
    /// The group's index in the rules (`None`: no policy names this group).
    pub group_rule: Option<u16>,
    /// Home site index.
    pub home_site: u16,
    /// Home zone index (of the home site).
    pub zone: u16,
    /// Region index (of the home site).
    pub region: u16,
    /// Hire date, local.
    pub hire: Option<Day>,
    /// `status == active`.
    pub active: bool,
    /// Approved for remote work.
    pub remote: bool,
}

/// An absence as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Absence {
    /// Its id.
    pub id: Box<str>,
    /// First day, inclusive.
    pub start: Day,
    /// Last day, inclusive.
    pub end: Day,
    /// Its kind, interned.
    pub kind: Option<Sym>,
    /// Approved (true) or cancelled.
    pub approved: bool,
}

/// What is remembered of one emitted decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecisionRecord {
    /// The week decided.
    pub week: Week,
    /// Its status.
    pub status: Status,
    /// Its streak (§4.4).
    pub streak: u32,
    /// Its revision (saturating: 65,535 corrections of one week is far beyond any input).
    pub revision: u16,
    /// Fingerprint of the decision's content (§6): a change means a re-emit.
    pub fingerprint: u64,
    /// A non_compliant alert for this week stands (not retracted).
    pub alerted: bool,
}

/// One employee's state.
#[derive(Debug, Clone, Default)]
pub struct Employee {
    /// The employee id.
    pub id: Box<str>,
    /// Roster facts; `None` while the employee is not (yet) in the roster.
    pub roster: Option<Roster>,
    /// Office days: per week, bit d set when day d (Monday = 0) is an office day. Sorted.
    pub office: Vec<(Week, u8)>,
    /// Absences, in arrival order.
    pub absences: Vec<Absence>,
    /// Decisions of closed weeks still within retention, sorted by week.
    pub decisions: Vec<DecisionRecord>,
    /// Streak of the latest decision already forgotten.
    pub carried_streak: u32,
    /// Status of the latest closed, evaluated week.
    pub current: Option<Status>,
    /// The latest week closed for this employee.
    pub last_closed: Option<Week>,
    /// The latest week an at-risk alert was raised for.
    pub at_risk_week: Option<Week>,
    /// Changed since the last changelog flush.
    pub dirty: bool,
}

impl Employee {
    /// A new, empty employee.
    pub fn new(id: &str) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// Office-day bits of `week`.
    pub fn office_bits(&self, week: Week) -> u8 {
        match self.office.binary_search_by_key(&week, |(w, _)| *w) {
            Ok(i) => self.office[i].1,
            Err(_) => 0,
        }
    }

    /// Marks `day` as an office day; returns whether it was new.
    pub fn add_office_day(&mut self, day: Day) -> bool {
        let week = day.week();
        let bit = 1u8 << day.weekday_index();
        match self.office.binary_search_by_key(&week, |(w, _)| *w) {
            Ok(i) => {
                let was = self.office[i].1;
                self.office[i].1 |= bit;
                was & bit == 0
            }
            Err(i) => {
                self.office.insert(i, (week, bit));
                true
            }
        }
    }

    /// Approved-absence weekday bits of `week` (Monday = bit 0, weekdays only).
    pub fn absence_bits(&self, week: Week) -> u8 {
        let monday = week.monday();
        let mut bits = 0u8;
        for a in self.absences.iter().filter(|a| a.approved) {
            for d in 0..5 {
                let day = monday.plus(d);
                if a.start <= day && day <= a.end {
                    bits |= 1 << d;
                }
            }
        }
        bits
    }

    /// The kind of the approved absence covering `day`, if any (for explanations).
    pub fn absence_kind(&self, day: Day) -> Option<Option<Sym>> {
        self.absences
            .iter()
            .find(|a| a.approved && a.start <= day && day <= a.end)
            .map(|a| a.kind)
    }

    /// The decision of `week`, if one was made and is remembered.
    pub fn decision_index(&self, week: Week) -> Option<usize> {
        self.decisions.binary_search_by_key(&week, |d| d.week).ok()
    }

    /// The streak of the latest decision before `week` (0 when there is none).
    pub fn streak_before(&self, week: Week) -> u32 {
        let n = self.decisions.partition_point(|d| d.week < week);
        match n.checked_sub(1) {
            Some(i) => self.decisions[i].streak,
            None => self.carried_streak,
        }
    }

    /// Forgets weeks before `horizon` (§8), carrying the streak of the last forgotten decision.
    pub fn forget_before(&mut self, horizon: Week) {
        let n = self.decisions.partition_point(|d| d.week < horizon);
        if n > 0 {
            self.carried_streak = self.decisions[n - 1].streak;
            self.decisions.drain(..n);
        }
        let n = self.office.partition_point(|(w, _)| *w < horizon);
        self.office.drain(..n);
        // Steady state adds one week and forgets one: keep the vectors from doubling.
        if self.decisions.capacity() > self.decisions.len() + 4 {
            self.decisions.shrink_to(self.decisions.len() + 2);
        }
        if self.office.capacity() > self.office.len() + 4 {
            self.office.shrink_to(self.office.len() + 2);
        }
        let monday = horizon.monday();
        self.absences.retain(|a| a.end >= monday);
    }

    /// Approximate heap and inline bytes held by this employee.
    pub fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.id.len()
            + self.office.capacity() * std::mem::size_of::<(Week, u8)>()
            + self.decisions.capacity() * std::mem::size_of::<DecisionRecord>()
            + self
                .absences
                .iter()
                .map(|a| std::mem::size_of::<Absence>() + a.id.len())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_office_days_count_once() {
        let mut e = Employee::new("e-1");
        let day = Day(20_577);
        assert!(e.add_office_day(day));
        assert!(!e.add_office_day(day));
        assert_eq!(e.office_bits(day.week()).count_ones(), 1);
    }

    #[test]
    fn forgetting_carries_the_streak() {
        let mut e = Employee::new("e-1");
        for (i, streak) in [1, 2, 3].into_iter().enumerate() {
            e.decisions.push(DecisionRecord {
                week: Week(100 + i as i32),
                status: Status::NonCompliant,
                streak,
                revision: 0,
                fingerprint: 0,
                alerted: true,
            });
        }
        e.forget_before(Week(102));
        assert_eq!(e.carried_streak, 2);
        assert_eq!(e.streak_before(Week(102)), 2);
        assert_eq!(e.streak_before(Week(103)), 3);
    }
}
