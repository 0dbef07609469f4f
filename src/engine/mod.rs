//! The pure engine: validated inputs in, outputs out. No I/O, no async, no clock reads —
//! event time arrives inside badges and the wall clock (idle advance, replay's `--now`)
//! arrives as an explicit [`Engine::advance_watermark`].
//!
//! Order of operations (§3.6): for each applied badge, classify it against the watermark
//! before it, apply it (re-evaluating corrected weeks), then advance the watermark and fire
//! every week close and at-risk check that became due, ordered by (instant, close before
//! at-risk, home zone name, employee_id).

mod emit;
mod evaluate;
mod explain;
mod outages;
mod record;
mod rules;
mod snapshot;
mod state;

use chrono_tz::Tz;

use crate::config::Config;
use crate::domain::output::{ComplianceChange, DeadLetter, Decision, ManagerAlert};
use crate::domain::time::{local_day, local_midnight, LocalDayCache};
use crate::domain::Rejection;
use crate::domain::{
    AbsenceRecord, AdjustmentRecord, Badge, Day, DeadLetterReason, Direction, OutageChange,
    RosterChange, RosterRecord, Timestamp, Week,
};

use evaluate::ZoneContext;
pub use record::{CurrentWeek, DecisionRef, Record, RecordPolicy, Reporting, RuleView};
pub use rules::Rules;
pub use snapshot::{SnapshotError, StateRecord};
pub use state::EmployeeHint;
use state::{Absence, Adjustment, Employee, EmployeeIndex, Interner, Roster};

/// Something the engine emits; the shell turns it into a record or a metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// A weekly decision (or a corrected revision of one).
    Decision(Decision),
    /// An employee's current status moved.
    Change(ComplianceChange),
    /// An alert for a manager.
    Alert(ManagerAlert),
    /// An alert that was not sent because the employee has no manager (counted, §5).
    AlertWithoutManager(crate::domain::AlertKind),
    /// An input that could not be used.
    DeadLetter(DeadLetter),
    /// A zone closed a week (§3.4): every member's decision for it has been emitted. Not a
    /// record; shells use it to time week closes.
    WeekClosed(Week),
}

/// Where the engine puts its outputs, as it produces them (so a week close for a whole zone
/// streams instead of piling up). `Vec<Output>` is a sink.
pub trait Sink {
    /// Takes one output.
    fn emit(&mut self, output: Output);
}

impl Sink for Vec<Output> {
    fn emit(&mut self, output: Output) {
        self.push(output);
    }
}

/// What applying a badge did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadgeEffect {
    /// Its week is still open (or the employee has no home zone yet).
    OnTime,
    /// Its week had closed and was re-evaluated (§3.5).
    Correction,
}

/// What fires at a zone's scheduled instant (§3.4, §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Firing {
    /// The week closes: decisions for every member. Ordered before an at-risk check due at
    /// the same instant.
    WeekClose,
    /// The Monday–Friday 00:00 at-risk check.
    AtRiskCheck,
}

/// The next firing: when, what, which zone (the derived order is the firing order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Due {
    at: Timestamp,
    firing: Firing,
    zone: usize,
}

#[derive(Debug, Clone)]
struct ZoneState {
    tz: Tz,
    members: Vec<u32>,
    sorted: bool,
    first_day: Option<Day>,
    next_close: Week,
    close_at: Timestamp,
    risk_week: Week,
    risk_day: u32,
    risk_at: Timestamp,
    /// Weeks `[from, resume)` to skip when the schedules reach them (bounded catch-up).
    skip: Option<(Week, Week)>,
}

/// The attendance-compliance state machine for one input partition (or a whole replay).
#[derive(Debug, Clone)]
pub struct Engine {
    rules: Rules,
    interner: Interner,
    employees: Vec<Employee>,
    index: EmployeeIndex,
    zones: Vec<ZoneState>,
    site_days: Vec<LocalDayCache>,
    watermark: Option<Timestamp>,
    first_badge: Option<Timestamp>,
    next_due: Option<Timestamp>,
    tracking: bool,
    dirty: Vec<u32>,
    removed: Vec<Box<str>>,
    /// Slots of removed employees, reused before the vector grows.
    free: Vec<u32>,
    /// Employees held without a roster record (their badges wait for one, §2).
    unrostered: usize,
    /// The UTC week of the watermark when employees without a roster record were last
    /// pruned (see [`Engine::prune_unrostered`]).
    pruned_at: Option<Week>,
    /// Interner size (bytes) at which it is next compacted.
    interner_compact_at: usize,
    /// Unix seconds before which no zone can lag a watermark by more than
    /// [`MAX_CATCH_UP_WEEKS`], so [`Engine::skip_empty_stretch`] has nothing to check (it
    /// converts the watermark to every zone's local week, which every badge would pay for).
    /// Zones' `next_close` only grows, so a value computed earlier is only ever too early.
    skip_check_at: i64,
}

/// A single watermark advance that would close more weeks than this in a zone skips the
/// empty stretch in between (see [`Engine::advance_watermark`]).
pub const MAX_CATCH_UP_WEEKS: i32 = 53;

/// At most this many absence records per employee (§1.3); more are dead-lettered
/// `too_large` so that one employee's changelog record stays far below a Kafka record's size.
pub const MAX_ABSENCES_PER_EMPLOYEE: usize = 1_000;

/// At most this many bytes of absence ids and kinds per employee (same reason).
pub const MAX_ABSENCE_TEXT_BYTES: usize = 256 * 1024;

/// At most this many adjustment records per employee (§1.6); more are dead-lettered
/// `too_large` (ids are at most 128 bytes, so this bounds the changelog record too).
pub const MAX_ADJUSTMENTS_PER_EMPLOYEE: usize = 1_000;

pub use outages::MAX_OUTAGES;

/// The interner is never compacted below this size.
const INTERNER_COMPACT_MIN: usize = 1 << 20;

impl Engine {
    /// A fresh engine for a validated configuration.
    pub fn new(config: &Config) -> Self {
        let rules = Rules::new(config);
        let zones = rules
            .zones
            .iter()
            .map(|&tz| ZoneState {
                tz,
                members: Vec::new(),
                sorted: true,
                first_day: None,
                next_close: Week(0),
                close_at: Timestamp::from_unix(i64::MAX, 0),
                risk_week: Week(0),
                risk_day: 0,
                risk_at: Timestamp::from_unix(i64::MAX, 0),
                skip: None,
            })
            .collect();
        let site_days = rules
            .sites
            .iter()
            .map(|s| LocalDayCache::new(s.tz))
            .collect();
        Self {
            rules,
            interner: Interner::default(),
            employees: Vec::new(),
            index: EmployeeIndex::default(),
            zones,
            site_days,
            watermark: None,
            first_badge: None,
            next_due: None,
            tracking: false,
            dirty: Vec::new(),
            removed: Vec::new(),
            free: Vec::new(),
            unrostered: 0,
            pruned_at: None,
            interner_compact_at: INTERNER_COMPACT_MIN,
            skip_check_at: i64::MIN,
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The current watermark (§3.3), `None` before the first applied badge.
    pub fn watermark(&self) -> Option<Timestamp> {
        self.watermark
    }

    /// Number of employees with state.
    pub fn employees_tracked(&self) -> usize {
        self.index.len()
    }

    /// Number of employees held without a roster record: their office days wait for one and
    /// are forgotten after `retention_weeks` (§8, docs/SEMANTICS.md).
    pub fn unrostered_held(&self) -> usize {
        self.unrostered
    }

    /// Approximate bytes of per-employee state.
    pub fn state_bytes(&self) -> usize {
        self.employees
            .iter()
            .map(Employee::approx_bytes)
            .sum::<usize>()
            + self.index.approx_bytes()
            + self.interner.approx_bytes()
            + self.rules.outages.approx_bytes()
    }

    fn employee_slot(&mut self, id: &str) -> usize {
        if let Some(i) = self.index.get(&self.employees, id) {
            return i as usize;
        }
        let i = match self.free.pop() {
            Some(slot) => {
                self.employees[slot as usize] = Employee::new(id);
                slot as usize
            }
            None => {
                self.employees.push(Employee::new(id));
                self.employees.len() - 1
            }
        };
        self.index.insert(&self.employees, i as u32);
        self.unrostered += 1;
        self.touch(i);
        i
    }

    /// Forgets the employee in slot `i` (already removed from the index) and frees the slot.
    /// Zone member lists drop it lazily ([`Engine::sort_members`]).
    fn release_slot(&mut self, i: usize) {
        let employee = &mut self.employees[i];
        match employee.roster.take() {
            Some(r) => self.zones[usize::from(r.zone)].sorted = false,
            None => self.unrostered = self.unrostered.saturating_sub(1),
        }
        if self.tracking {
            self.removed
                .push(std::mem::take(&mut employee.id).as_str().into());
        }
        *employee = Employee::new("");
        self.free.push(i as u32);
    }

    fn zone_context(&self, zone: u16) -> ZoneContext {
        ZoneContext {
            first_day: self.zones.get(usize::from(zone)).and_then(|z| z.first_day),
        }
    }

    /// The latest closed week in `zone`, `None` before the first badge.
    fn closed_through(&self, zone: u16) -> Option<Week> {
        let z = self.zones.get(usize::from(zone))?;
        z.first_day.map(|_| z.next_close.plus(-1))
    }

    /// Applies a roster change (§1.2).
    pub fn apply_roster(&mut self, change: RosterChange) {
        match change {
            RosterChange::Upsert(record) => self.upsert_roster(record),
            RosterChange::Remove { employee_id } => {
                if let Some(i) = self.index.remove(&self.employees, employee_id.as_str()) {
                    self.release_slot(i as usize);
                }
            }
        }
    }

    fn upsert_roster(&mut self, r: RosterRecord) {
        let i = self.employee_slot(r.employee_id.as_str());
        let site = &self.rules.sites[r.home_site];
        let (zone, region) = (site.zone as u16, site.region as u16);
        let roster = Roster {
            manager: r.manager_id.as_deref().map(|m| self.interner.intern(m)),
            vp: r.vp_id.as_deref().map(|v| self.interner.intern(v)),
            org: self.interner.intern(&r.org),
            group: self.interner.intern(&r.policy_group),
            group_rule: self.rules.group_index(&r.policy_group),
            home_site: r.home_site as u16,
            zone,
            region,
            hire: r.hire_date,
            active: r.active,
            remote: r.remote_approved,
        };
        let old_zone = self.employees[i].roster.as_ref().map(|o| o.zone);
        if old_zone != Some(zone) {
            match old_zone {
                // The old zone's list drops `i` lazily (sort_members), in O(1) here.
                Some(old) => self.zones[usize::from(old)].sorted = false,
                None => self.unrostered = self.unrostered.saturating_sub(1),
            }
            let z = &mut self.zones[usize::from(zone)];
            z.members.push(i as u32);
            z.sorted = false;
        }
        self.employees[i].roster = Some(roster);
        self.touch(i);
        self.maybe_compact_interner();
    }

    /// Applies an absence record (§1.3); re-evaluates closed weeks it touches within the
    /// correction window (§3.5). Returns a `too_large` rejection, changing nothing, when the
    /// employee would hold more than [`MAX_ABSENCES_PER_EMPLOYEE`] absences or
    /// [`MAX_ABSENCE_TEXT_BYTES`] of their ids and kinds.
    pub fn apply_absence(&mut self, a: AbsenceRecord, out: &mut dyn Sink) -> Result<(), Rejection> {
        if let Some(i) = self.index.get(&self.employees, a.employee_id.as_str()) {
            self.check_absence_budget(i as usize, &a)?;
        }
        let i = self.employee_slot(a.employee_id.as_str());
        let kind = a.kind.as_deref().map(|k| self.interner.intern(k));
        let record = Absence {
            id: a.absence_id.as_str().into(),
            start: a.start,
            end: a.end,
            kind,
            approved: a.approved,
        };
        let employee = &mut self.employees[i];
        let mut touched = (record.start, record.end);
        match employee.absences.iter_mut().find(|x| x.id == record.id) {
            Some(old) => {
                touched = (old.start.min(record.start), old.end.max(record.end));
                *old = record;
            }
            None => state::push(&mut employee.absences, record),
        }
        self.touch(i);
        self.maybe_compact_interner();
        self.correct_touched(i, touched.0, touched.1, out);
        Ok(())
    }

    /// Applies a site-outage change (§1.5, v2): the latest record per outage id is kept,
    /// and every employee whose home site is the old or the new site has the closed weeks
    /// of the old and new dates re-evaluated within the correction window (§3.5). Returns a
    /// `too_large` rejection, changing nothing, when a new id would exceed [`MAX_OUTAGES`].
    pub fn apply_outage(
        &mut self,
        change: OutageChange,
        out: &mut dyn Sink,
    ) -> Result<(), Rejection> {
        let (old, new) = self.store_outage(change)?;
        self.correct_outage(old, new, out);
        Ok(())
    }

    /// Stores a site-outage change without re-evaluating anything: for an engine restored
    /// from the changelog, whose decisions already reflect the outages in force when they
    /// were written (re-evaluating after each of a table's outages in turn would emit
    /// corrections for the outages not loaded yet). Same limit as [`Engine::apply_outage`].
    pub fn load_outage(&mut self, change: OutageChange) -> Result<(), Rejection> {
        self.store_outage(change).map(|_| ())
    }

    /// After [`Engine::load_outage`] of a whole outage table into a restored engine:
    /// re-evaluates, once per employee, the correctable closed weeks touched by any held
    /// outage of the home site, so an outage the changelog's writer had not applied yet is
    /// applied now, and one it had changes nothing (the content is the same).
    pub fn refresh_outages(&mut self, out: &mut dyn Sink) {
        let mut spans: Vec<Option<(Day, Day)>> = vec![None; self.rules.sites.len()];
        for o in self.rules.outages.records() {
            if let Some(span) = spans.get_mut(usize::from(o.site)) {
                *span = Some(match *span {
                    Some((a, b)) => (a.min(o.start), b.max(o.end)),
                    None => (o.start, o.end),
                });
            }
        }
        let mut affected: Vec<(usize, Day, Day)> = self
            .employees
            .iter()
            .enumerate()
            .filter_map(|(i, e)| {
                let home = usize::from(e.roster?.home_site);
                spans.get(home).copied().flatten().map(|(a, b)| (i, a, b))
            })
            .collect();
        affected.sort_unstable_by(|a, b| self.employees[a.0].id.cmp(&self.employees[b.0].id));
        for (i, first, last) in affected {
            self.correct_touched(i, first, last, out);
        }
    }

    fn store_outage(
        &mut self,
        change: OutageChange,
    ) -> Result<(Option<outages::Outage>, Option<outages::Outage>), Rejection> {
        Ok(match change {
            OutageChange::Upsert(r) => {
                let outages = &self.rules.outages;
                if !outages.contains(&r.outage_id) && outages.len() >= MAX_OUTAGES {
                    return Err(Rejection::new(
                        DeadLetterReason::TooLarge,
                        format!(
                            "{} site outages are held, the limit is {MAX_OUTAGES}",
                            outages.len()
                        ),
                    ));
                }
                let outage = outages::Outage {
                    site: r.site as u16,
                    start: r.start,
                    end: r.end,
                    active: r.active,
                };
                let old = self.rules.outages.upsert(&r.outage_id, outage);
                (old, Some(outage))
            }
            OutageChange::Remove { outage_id } => (self.rules.outages.remove(&outage_id), None),
        })
    }

    fn correct_outage(
        &mut self,
        old: Option<outages::Outage>,
        new: Option<outages::Outage>,
        out: &mut dyn Sink,
    ) {
        let touched: Vec<outages::Outage> = old.into_iter().chain(new).collect();
        let mut affected: Vec<(usize, Day, Day)> = Vec::new();
        for (i, employee) in self.employees.iter().enumerate() {
            let Some(home) = employee.roster.map(|r| r.home_site) else {
                continue;
            };
            let mut span: Option<(Day, Day)> = None;
            for o in touched.iter().filter(|o| o.site == home) {
                span = Some(match span {
                    Some((a, b)) => (a.min(o.start), b.max(o.end)),
                    None => (o.start, o.end),
                });
            }
            if let Some((first, last)) = span {
                affected.push((i, first, last));
            }
        }
        // Deterministic output order: by employee id, like a week close.
        affected.sort_unstable_by(|a, b| self.employees[a.0].id.cmp(&self.employees[b.0].id));
        for (i, first, last) in affected {
            self.correct_touched(i, first, last, out);
        }
    }

    /// Applies an attendance adjustment (§1.6, v2); a later record with the same id for the
    /// same employee replaces the earlier one. Re-evaluates the closed weeks of its old and
    /// new dates within the correction window (§3.5). Returns a `too_large` rejection,
    /// changing nothing, when the employee would hold more than
    /// [`MAX_ADJUSTMENTS_PER_EMPLOYEE`] adjustments.
    pub fn apply_adjustment(
        &mut self,
        a: AdjustmentRecord,
        out: &mut dyn Sink,
    ) -> Result<(), Rejection> {
        if let Some(i) = self.index.get(&self.employees, a.employee_id.as_str()) {
            let held = &self.employees[i as usize].adjustments;
            if held.len() >= MAX_ADJUSTMENTS_PER_EMPLOYEE
                && !held.iter().any(|x| *x.id == *a.adjustment_id)
            {
                return Err(Rejection::new(
                    DeadLetterReason::TooLarge,
                    format!(
                        "the employee already holds {} adjustments, the limit is \
                         {MAX_ADJUSTMENTS_PER_EMPLOYEE} per employee",
                        held.len()
                    ),
                ));
            }
        }
        let i = self.employee_slot(a.employee_id.as_str());
        let record = Adjustment {
            id: a.adjustment_id.as_str().into(),
            day: a.date,
            action: a.action,
            approved: a.approved,
        };
        let employee = &mut self.employees[i];
        let mut touched = (record.day, record.day);
        match employee.adjustments.iter_mut().find(|x| x.id == record.id) {
            Some(old) => {
                touched = (old.day.min(record.day), old.day.max(record.day));
                *old = record;
            }
            None => state::push(&mut employee.adjustments, record),
        }
        self.touch(i);
        self.correct_touched(i, touched.0, touched.1, out);
        Ok(())
    }

    /// After a change to employee `i`'s absences, adjustments or outages dated from `first`
    /// to `last`: re-evaluates from the oldest touched closed week that can still be
    /// corrected (§3.5); older weeks keep their decisions (the change is stored).
    fn correct_touched(&mut self, i: usize, first: Day, last: Day, out: &mut dyn Sink) {
        let Some(zone) = self.employees[i].roster.as_ref().map(|r| r.zone) else {
            return;
        };
        let Some(closed) = self.closed_through(zone) else {
            return;
        };
        let oldest_correctable = closed.plus(1 - self.rules.correction_weeks as i32);
        let from = first.week().max(oldest_correctable);
        if from <= closed && last.week() >= from {
            self.reevaluate_from(i, from, out);
        }
    }

    fn check_absence_budget(&self, i: usize, a: &AbsenceRecord) -> Result<(), Rejection> {
        let employee = &self.employees[i];
        let text = |id: &str, kind: usize| id.len() + kind;
        let mut count = employee.absences.len();
        let mut bytes: usize = employee
            .absences
            .iter()
            .map(|x| text(&x.id, x.kind.map_or(0, |k| self.interner.get(k).len())))
            .sum();
        if let Some(old) = employee.absences.iter().find(|x| *x.id == *a.absence_id) {
            count -= 1;
            bytes -= text(&old.id, old.kind.map_or(0, |k| self.interner.get(k).len()));
        }
        count += 1;
        bytes += text(&a.absence_id, a.kind.as_deref().map_or(0, str::len));
        if count > MAX_ABSENCES_PER_EMPLOYEE {
            return Err(Rejection::new(
                DeadLetterReason::TooLarge,
                format!(
                    "the employee already holds {} absences, the limit is \
                     {MAX_ABSENCES_PER_EMPLOYEE} per employee",
                    count - 1
                ),
            ));
        }
        if bytes > MAX_ABSENCE_TEXT_BYTES {
            return Err(Rejection::new(
                DeadLetterReason::TooLarge,
                format!(
                    "the employee's absences would hold {bytes} bytes of ids and kinds, the \
                     limit is {MAX_ABSENCE_TEXT_BYTES} per employee"
                ),
            ));
        }
        Ok(())
    }

    /// Rebuilds the interner from the strings still referenced once it has doubled since
    /// the last compaction, so free-text values that are no longer used (an org renamed, an
    /// absence kind forgotten) do not accumulate. Amortized O(1) per interned string.
    fn maybe_compact_interner(&mut self) {
        if self.interner.approx_bytes() < self.interner_compact_at {
            return;
        }
        let old = std::mem::take(&mut self.interner);
        let map = |sym: &mut state::Sym, new: &mut Interner| *sym = new.intern(old.get(*sym));
        let mut new = Interner::default();
        for employee in &mut self.employees {
            if let Some(r) = employee.roster.as_mut() {
                if let Some(m) = r.manager.as_mut() {
                    map(m, &mut new);
                }
                if let Some(v) = r.vp.as_mut() {
                    map(v, &mut new);
                }
                map(&mut r.org, &mut new);
                map(&mut r.group, &mut new);
            }
            for absence in &mut employee.absences {
                if let Some(k) = absence.kind.as_mut() {
                    map(k, &mut new);
                }
            }
        }
        self.interner = new;
        self.interner_compact_at = (2 * self.interner.approx_bytes()).max(INTERNER_COMPACT_MIN);
    }

    /// First of two hints that a badge of `employee_id` comes soon (a shell reading ahead
    /// gives it some lines early): starts loading the index bucket that leads to the
    /// employee, without waiting for it. Changes nothing.
    pub fn employee_hint(&self, employee_id: &str) -> EmployeeHint {
        let hint = EmployeeHint::of(employee_id);
        self.index.prefetch_bucket(hint);
        hint
    }

    /// [`Engine::employee_hint`] for a hint already made (by another engine fed the same
    /// lines).
    pub fn prefetch_bucket(&self, hint: EmployeeHint) {
        self.index.prefetch_bucket(hint);
    }

    /// Second hint, some lines after the first: starts loading the employee's struct,
    /// without waiting for it. Changes nothing.
    pub fn prefetch_employee(&self, hint: EmployeeHint) {
        self.index.prefetch_employee(&self.employees, hint);
    }

    /// Applies a badge (§3.1, §3.5) and then advances the watermark (§3.6). Returns the
    /// `too_late` rejection for a badge whose week closed beyond `correction_weeks`.
    pub fn apply_badge(
        &mut self,
        badge: &Badge,
        out: &mut dyn Sink,
    ) -> Result<BadgeEffect, Rejection> {
        let day = self.site_days[badge.site].local_day(badge.timestamp);
        let week = day.week();
        let i = self.employee_slot(badge.employee_id.as_str());
        let mut effect = BadgeEffect::OnTime;
        if let Some(zone) = self.employees[i].roster.as_ref().map(|r| r.zone) {
            if let Some(closed) = self.closed_through(zone) {
                if week <= closed {
                    let age = i64::from(closed.0) - i64::from(week.0);
                    if age >= i64::from(self.rules.correction_weeks) {
                        return Err(Rejection::new(
                            DeadLetterReason::TooLate,
                            format!(
                                "office day {day} is in {week}, which closed more than \
                                 {} week(s) ago (latest closed week {closed})",
                                self.rules.correction_weeks
                            ),
                        ));
                    }
                    effect = BadgeEffect::Correction;
                }
            }
        } else if let Some(horizon) = self.unrostered_horizon() {
            if week < horizon {
                return Err(Rejection::new(
                    DeadLetterReason::TooLate,
                    format!(
                        "office day {day} is in {week}; badges of employees not in the roster \
                         are kept for {} weeks (the oldest week kept is {horizon})",
                        self.rules.retention_weeks
                    ),
                ));
            }
        }
        let is_in = badge.direction == Direction::In;
        let new_day = is_in && self.employees[i].add_office_day(day);
        // §3.7: whole seconds; the evidence is kept only when some policy needs it (§8).
        let new_presence = self.rules.track_presence
            && self.employees[i].record_presence(day, badge.timestamp.unix_seconds(), is_in);
        if new_day || new_presence {
            self.touch(i);
            if effect == BadgeEffect::Correction {
                self.reevaluate_from(i, week, out);
            }
        }
        if self.first_badge.is_none() {
            self.first_badge = Some(badge.timestamp);
            self.start_schedules(badge.timestamp);
        }
        self.advance_watermark(badge.timestamp, out);
        Ok(effect)
    }

    /// Moves the watermark forward to `to` (never back) and fires what became due. Shells
    /// call it for the idle advance (§3.3) and at the end of a replay with `--now` (§7). It
    /// does nothing before the first badge: there is no week the processor saw from its start.
    ///
    /// Work is bounded however far `to` lies from the previous watermark: when a zone would
    /// close more than [`MAX_CATCH_UP_WEEKS`] weeks, the weeks that start after the previous
    /// watermark (so hold no applied badge) and end more than `retention_weeks` before `to`
    /// are skipped — neither closed with decisions nor checked for at-risk; they could never
    /// be corrected anyway (docs/SEMANTICS.md, "Bounded work").
    pub fn advance_watermark(&mut self, to: Timestamp, out: &mut dyn Sink) {
        if self.first_badge.is_none() || self.watermark.is_some_and(|w| w >= to) {
            return;
        }
        let previous = self.watermark.or(self.first_badge);
        self.watermark = Some(to);
        if let Some(previous) = previous {
            self.skip_empty_stretch(previous, to);
        }
        if self.next_due.is_some_and(|due| due <= to) {
            self.fire_due(to, out);
        }
        self.prune_unrostered(to);
    }

    /// See [`Engine::advance_watermark`].
    fn skip_empty_stretch(&mut self, previous: Timestamp, to: Timestamp) {
        if to.unix_seconds() < self.skip_check_at {
            return;
        }
        let retention = self.rules.retention_weeks as i32;
        let mut skipped = false;
        // A skip is only ever set here, after the previous advance has fired everything.
        for z in 0..self.zones.len() {
            let tz = self.zones[z].tz;
            let target = local_day(tz, to).week();
            if target.0 - self.zones[z].next_close.0 <= MAX_CATCH_UP_WEEKS {
                continue;
            }
            let from = local_day(tz, previous)
                .week()
                .plus(1)
                .max(self.zones[z].next_close);
            let resume = target.plus(-retention);
            if resume > from {
                self.zones[z].skip = Some((from, resume));
                skipped |= self.apply_skip(z);
            }
        }
        if skipped {
            self.next_due = self.zones.iter().map(|z| z.close_at.min(z.risk_at)).min();
        }
        // A zone lags by more than MAX_CATCH_UP_WEEKS only once the watermark's local week is
        // at least `next_close + MAX_CATCH_UP_WEEKS + 1`, whose Monday starts at most two
        // days (any UTC offset) before the same date's 00:00 UTC.
        self.skip_check_at = self
            .zones
            .iter()
            .map(|z| {
                let monday = z.next_close.plus(MAX_CATCH_UP_WEEKS + 1).monday();
                (i64::from(monday.0) - 2) * 86_400
            })
            .min()
            .unwrap_or(i64::MAX);
    }

    /// Moves zone `z`'s schedules over its pending skip once they reach it; returns whether
    /// anything moved.
    fn apply_skip(&mut self, z: usize) -> bool {
        let Some((from, resume)) = self.zones[z].skip else {
            return false;
        };
        let tz = self.zones[z].tz;
        let mut moved = false;
        if self.zones[z].next_close >= from && self.zones[z].next_close < resume {
            self.zones[z].next_close = resume;
            self.zones[z].close_at = self.close_instant(tz, resume);
            moved = true;
        }
        let zone = &mut self.zones[z];
        if zone.risk_week >= from && zone.risk_week < resume {
            zone.risk_week = resume;
            zone.risk_day = 0;
            zone.risk_at = local_midnight(tz, resume.monday());
            moved = true;
        }
        if zone.next_close >= resume && zone.risk_week >= resume {
            zone.skip = None;
        }
        moved
    }

    /// The oldest week an employee without a roster record keeps office days for:
    /// `retention_weeks` before the watermark's UTC week.
    fn unrostered_horizon(&self) -> Option<Week> {
        let watermark = self.watermark?;
        let week = crate::domain::time::utc_day(watermark).week();
        Some(week.plus(-(self.rules.retention_weeks as i32)))
    }

    /// Once per UTC week of the watermark: employees without a roster record forget office
    /// days and absences older than [`Engine::unrostered_horizon`], and are forgotten when
    /// nothing is left (so a flood of ids that never join the roster is held for a bounded
    /// time; [`Engine::unrostered_held`] counts them).
    fn prune_unrostered(&mut self, watermark: Timestamp) {
        let week = crate::domain::time::utc_day(watermark).week();
        if self.pruned_at.is_some_and(|w| w >= week) {
            return;
        }
        self.pruned_at = Some(week);
        let Some(horizon) = self.unrostered_horizon() else {
            return;
        };
        for i in 0..self.employees.len() {
            let employee = &self.employees[i];
            if employee.roster.is_some() || employee.id.is_empty() {
                continue;
            }
            let monday = horizon.monday();
            let stale = employee.office.first_key().is_some_and(|w| w < horizon)
                || employee.absences.iter().any(|a| a.end < monday)
                || employee.adjustments.iter().any(|a| a.day < monday)
                || employee.presence.first_key().is_some_and(|d| d < monday);
            if !stale {
                continue;
            }
            let employee = &mut self.employees[i];
            employee.forget_before(horizon);
            if employee.office.is_empty()
                && employee.absences.is_empty()
                && employee.adjustments.is_empty()
                && employee.presence.is_empty()
            {
                let id = employee.id.clone();
                if let Some(slot) = self.index.remove(&self.employees, &id) {
                    self.release_slot(slot as usize);
                }
            } else {
                self.touch(i);
            }
        }
    }

    fn close_instant(&self, tz: Tz, week: Week) -> Timestamp {
        local_midnight(tz, week.plus(1).monday()).add_duration(self.rules.allowed_lateness)
    }

    fn start_schedules(&mut self, first: Timestamp) {
        let lateness_weeks = (self.rules.allowed_lateness.as_secs() / (7 * 86_400)) as i32;
        for z in 0..self.zones.len() {
            let tz = self.zones[z].tz;
            let first_day = local_day(tz, first);
            let mut week = first_day.week().plus(-lateness_weeks - 2);
            while self.close_instant(tz, week) <= first {
                week = week.plus(1);
            }
            let close_at = self.close_instant(tz, week);
            let zone = &mut self.zones[z];
            zone.first_day = Some(first_day);
            zone.next_close = week;
            zone.close_at = close_at;
            zone.risk_week = first_day.week();
            zone.risk_day = 0;
            zone.risk_at = local_midnight(tz, first_day.week().monday());
            while zone.risk_at <= first {
                Self::advance_risk(zone);
            }
        }
        self.next_due = self.zones.iter().map(|z| z.close_at.min(z.risk_at)).min();
    }

    fn advance_risk(zone: &mut ZoneState) {
        if zone.risk_day >= 4 {
            zone.risk_week = zone.risk_week.plus(1);
            zone.risk_day = 0;
        } else {
            zone.risk_day += 1;
        }
        zone.risk_at = local_midnight(zone.tz, zone.risk_week.monday().plus(zone.risk_day as i32));
    }

    /// Moves the schedules past `watermark` without firing (restore).
    fn fast_forward(&mut self, watermark: Timestamp) {
        for z in 0..self.zones.len() {
            while self.zones[z].close_at <= watermark {
                let next = self.zones[z].next_close.plus(1);
                self.zones[z].close_at = self.close_instant(self.zones[z].tz, next);
                self.zones[z].next_close = next;
            }
            while self.zones[z].risk_at <= watermark {
                Self::advance_risk(&mut self.zones[z]);
            }
        }
        self.next_due = self.zones.iter().map(|z| z.close_at.min(z.risk_at)).min();
    }

    fn fire_due(&mut self, watermark: Timestamp, out: &mut dyn Sink) {
        loop {
            for z in 0..self.zones.len() {
                self.apply_skip(z);
            }
            let mut best: Option<Due> = None;
            for (zone, state) in self.zones.iter().enumerate() {
                let candidates = [
                    Due {
                        at: state.close_at,
                        firing: Firing::WeekClose,
                        zone,
                    },
                    Due {
                        at: state.risk_at,
                        firing: Firing::AtRiskCheck,
                        zone,
                    },
                ];
                for due in candidates {
                    if due.at <= watermark && best.is_none_or(|b| due < b) {
                        best = Some(due);
                    }
                }
            }
            let Some(Due {
                firing, zone: z, ..
            }) = best
            else {
                break;
            };
            self.sort_members(z);
            match firing {
                Firing::WeekClose => {
                    let week = self.zones[z].next_close;
                    for m in 0..self.zones[z].members.len() {
                        self.warm_ahead(z, m);
                        let i = self.zones[z].members[m] as usize;
                        self.close_week(i, week, out);
                    }
                    out.emit(Output::WeekClosed(week));
                    let next = week.plus(1);
                    let at = self.close_instant(self.zones[z].tz, next);
                    self.zones[z].next_close = next;
                    self.zones[z].close_at = at;
                }
                Firing::AtRiskCheck => {
                    let (week, day) = (self.zones[z].risk_week, self.zones[z].risk_day);
                    for m in 0..self.zones[z].members.len() {
                        self.warm_ahead(z, m);
                        let i = self.zones[z].members[m] as usize;
                        self.check_at_risk(i, week, day, out);
                    }
                    Self::advance_risk(&mut self.zones[z]);
                }
            }
        }
        self.next_due = self.zones.iter().map(|z| z.close_at.min(z.risk_at)).min();
    }

    /// Before a sweep over zone `z`'s members decides member `m`: asks for the struct of
    /// the member [`state::SWEEP_AHEAD`] × 2 ahead and the heap blocks of the one
    /// [`state::SWEEP_AHEAD`] ahead (hints only: nothing waits for them), so that a member's
    /// state is cached when it is decided.
    fn warm_ahead(&self, z: usize, m: usize) {
        const AHEAD: usize = state::SWEEP_AHEAD;
        let members = &self.zones[z].members;
        if m == 0 {
            for &slot in members.iter().take(2 * AHEAD) {
                state::prefetch_struct(&self.employees, slot);
            }
        } else if let Some(&slot) = members.get(m + 2 * AHEAD - 1) {
            state::prefetch_struct(&self.employees, slot);
        }
        if let Some(&slot) = members.get(m + AHEAD) {
            state::prefetch_heap(&self.employees, &self.interner, slot);
        }
    }

    /// Sorts zone `z`'s members by employee id and drops those that left it (removed,
    /// moved to another zone, slot reused: removal is lazy so that it is O(1)).
    fn sort_members(&mut self, z: usize) {
        if !self.zones[z].sorted {
            let employees = &self.employees;
            let zone = z as u16;
            let members = &mut self.zones[z].members;
            members.retain(|&m| employees[m as usize].roster.is_some_and(|r| r.zone == zone));
            members.sort_unstable_by(|&a, &b| {
                employees[a as usize]
                    .id
                    .cmp(&employees[b as usize].id)
                    .then(a.cmp(&b))
            });
            members.dedup();
            self.zones[z].sorted = true;
        }
    }

    fn close_week(&mut self, i: usize, week: Week, out: &mut dyn Sink) {
        let employee = &self.employees[i];
        let Some(roster) = employee.roster else {
            return;
        };
        if employee.last_closed.is_some_and(|w| w >= week) {
            return;
        }
        let zone = self.zone_context(roster.zone);
        let streak_before = employee.streak_before(week);
        if let Some(eval) =
            evaluate::evaluate(&self.rules, employee, &roster, week, zone, streak_before)
        {
            self.emit_closed_decision(i, &roster, eval, streak_before, out);
        }
        let retention = self.rules.retention_weeks as i32;
        let employee = &mut self.employees[i];
        employee.last_closed = Some(week);
        employee.forget_before(week.plus(-retention));
        self.touch(i);
    }

    fn check_at_risk(&mut self, i: usize, week: Week, day: u32, out: &mut dyn Sink) {
        let employee = &self.employees[i];
        let Some(roster) = employee.roster.as_ref() else {
            return;
        };
        if employee.at_risk_week == Some(week) {
            return;
        }
        let zone = self.zone_context(roster.zone);
        let Some(risk) = evaluate::at_risk(&self.rules, employee, roster, week, day, zone) else {
            return;
        };
        let roster = *roster;
        self.emit_at_risk(i, &roster, week, risk, out);
        self.employees[i].at_risk_week = Some(week);
        self.touch(i);
    }

    /// Re-evaluates every remembered decision from `from` on; re-emits those whose content
    /// changed, with the alerts and compliance change §5–§6 prescribe.
    fn reevaluate_from(&mut self, i: usize, from: Week, out: &mut dyn Sink) {
        let Some(roster) = self.employees[i].roster else {
            return;
        };
        let zone = self.zone_context(roster.zone);
        let start = self.employees[i]
            .decisions
            .partition_point(|d| d.week() < from);
        for k in start..self.employees[i].decisions.len() {
            let employee = &self.employees[i];
            let record = employee.decisions[k];
            let streak_before = match k.checked_sub(1) {
                Some(p) => employee.decisions[p].streak(),
                None => employee.carried_streak,
            };
            let Some(eval) = evaluate::evaluate(
                &self.rules,
                employee,
                &roster,
                record.week(),
                zone,
                streak_before,
            ) else {
                continue;
            };
            if eval.fingerprint() == record.fingerprint() {
                continue;
            }
            self.emit_corrected_decision(i, k, &roster, eval, out);
        }
        self.emit_status_correction(i, &roster, out);
        self.touch(i);
    }
}

#[cfg(test)]
mod bounds;
#[cfg(test)]
mod properties;
#[cfg(test)]
pub(crate) mod tests;
#[cfg(test)]
mod tests_record;
#[cfg(test)]
mod tests_v2;
