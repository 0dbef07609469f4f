//! Engine state as changelog records (issue: recoverable state). Pure: bytes in, bytes out.
//!
//! One record per employee (key = employee_id, value = a versioned postcard encoding of
//! [`EmployeeSnapshot`], or none for a removed employee) and one per engine (key
//! [`META_KEY`], which no employee id can be since `#` is outside §1.1's alphabet), holding the
//! watermark and the first applied badge. Applying every record of a partition's changelog to
//! a fresh engine and calling [`Engine::finish_restore`] rebuilds the state exactly: zone
//! schedules are derived from the first badge and the watermark.
//!
//! Snapshots carry strings (site ids, manager ids), never interned symbols, so they move
//! between instances and configuration reloads.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::domain::{AdjustmentAction, Day, EmployeeId, Status, Timestamp, Week};

use super::state::{
    status_code, status_of_code, Absence, Adjustment, DecisionRecord, Presence, Recent, Roster,
    MAX_STREAK,
};
use super::Engine;

/// The changelog key of the engine-wide record.
pub(super) const META_KEY: &str = "#meta";

/// Format version byte leading every value written. Version 2 (SPEC v2) adds adjustments
/// and presence evidence to the employee record; version 1 records are still read (their
/// employees have neither), so a changelog written before the upgrade restores.
const FORMAT_VERSION: u8 = 2;

/// A changelog record produced by [`Engine::take_changes`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateRecord {
    /// Employee id, or [`META_KEY`].
    pub key: String,
    /// Encoded state; `None` is a tombstone.
    pub value: Option<Vec<u8>>,
}

/// Why a changelog record could not be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// The value does not start with a known format version.
    #[error("unknown state format version {0}")]
    Version(u8),
    /// The value is not a valid encoding.
    #[error("corrupt state record: {0}")]
    Corrupt(String),
    /// The employee's home site is no longer configured.
    #[error("state names site '{0}', which is not configured")]
    UnknownSite(String),
}

// Strings are `Cow`: borrowed from the interner when encoding and from the record's bytes when
// decoding (postcard reads a `str` in place), so neither direction allocates them. The encoding
// is the same as `String`'s.
#[derive(Debug, Serialize, Deserialize)]
struct RosterSnapshot<'a> {
    #[serde(borrow)]
    manager: Option<Cow<'a, str>>,
    #[serde(borrow)]
    vp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    org: Cow<'a, str>,
    #[serde(borrow)]
    group: Cow<'a, str>,
    #[serde(borrow)]
    home_site: Cow<'a, str>,
    hire: Option<i32>,
    active: bool,
    remote: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct AbsenceSnapshot<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    start: i32,
    end: i32,
    #[serde(borrow)]
    kind: Option<Cow<'a, str>>,
    approved: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct DecisionSnapshot {
    week: i32,
    status: u8,
    streak: u32,
    revision: u32,
    fingerprint: u64,
    alerted: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct AdjustmentSnapshot<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    day: i32,
    /// 0 = credit_office_day, 1 = excuse_day.
    action: u8,
    approved: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct EmployeeSnapshot<'a> {
    #[serde(borrow)]
    roster: Option<RosterSnapshot<'a>>,
    office: Vec<(i32, u8)>,
    #[serde(borrow)]
    absences: Vec<AbsenceSnapshot<'a>>,
    decisions: Vec<DecisionSnapshot>,
    carried_streak: u32,
    current: Option<u8>,
    last_closed: Option<i32>,
    at_risk_week: Option<i32>,
    #[serde(borrow)]
    adjustments: Vec<AdjustmentSnapshot<'a>>,
    /// (day, first `in`, latest `out`), Unix seconds, sorted by day.
    presence: Vec<(i32, Option<i64>, Option<i64>)>,
}

/// The employee record of format version 1 (before SPEC v2).
#[derive(Debug, Deserialize)]
struct EmployeeSnapshotV1<'a> {
    #[serde(borrow)]
    roster: Option<RosterSnapshot<'a>>,
    office: Vec<(i32, u8)>,
    #[serde(borrow)]
    absences: Vec<AbsenceSnapshot<'a>>,
    decisions: Vec<DecisionSnapshot>,
    carried_streak: u32,
    current: Option<u8>,
    last_closed: Option<i32>,
    at_risk_week: Option<i32>,
}

impl<'a> From<EmployeeSnapshotV1<'a>> for EmployeeSnapshot<'a> {
    fn from(v1: EmployeeSnapshotV1<'a>) -> Self {
        Self {
            roster: v1.roster,
            office: v1.office,
            absences: v1.absences,
            decisions: v1.decisions,
            carried_streak: v1.carried_streak,
            current: v1.current,
            last_closed: v1.last_closed,
            at_risk_week: v1.at_risk_week,
            adjustments: Vec::new(),
            presence: Vec::new(),
        }
    }
}

/// An employee record of either format version.
fn decode_employee(bytes: &[u8]) -> Result<EmployeeSnapshot<'_>, SnapshotError> {
    match bytes.first() {
        Some(1) => postcard::from_bytes::<EmployeeSnapshotV1>(&bytes[1..])
            .map(EmployeeSnapshot::from)
            .map_err(|e| SnapshotError::Corrupt(e.to_string())),
        _ => decode(bytes),
    }
}

fn action_code(a: AdjustmentAction) -> u8 {
    match a {
        AdjustmentAction::CreditOfficeDay => 0,
        AdjustmentAction::ExcuseDay => 1,
    }
}

fn action_of(code: u8) -> Result<AdjustmentAction, SnapshotError> {
    match code {
        0 => Ok(AdjustmentAction::CreditOfficeDay),
        1 => Ok(AdjustmentAction::ExcuseDay),
        other => Err(SnapshotError::Corrupt(format!(
            "adjustment action code {other}"
        ))),
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct MetaSnapshot {
    watermark: Option<(i64, u32)>,
    first_badge: Option<(i64, u32)>,
}

fn status_of(code: u8) -> Result<Status, SnapshotError> {
    status_of_code(code).ok_or_else(|| SnapshotError::Corrupt(format!("status code {code}")))
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.push(FORMAT_VERSION);
    // Serializing plain structs into a Vec cannot fail.
    postcard::to_extend(value, out).unwrap_or_else(|_| vec![FORMAT_VERSION])
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, SnapshotError> {
    match bytes.split_first() {
        // The engine record's layout is the same in versions 1 and 2.
        Some((&(1 | FORMAT_VERSION), rest)) => {
            postcard::from_bytes(rest).map_err(|e| SnapshotError::Corrupt(e.to_string()))
        }
        Some((&v, _)) => Err(SnapshotError::Version(v)),
        None => Err(SnapshotError::Corrupt("empty value".into())),
    }
}

fn ts_pair(t: Option<Timestamp>) -> Option<(i64, u32)> {
    t.map(|t| (t.unix_seconds(), t.subsec_nanos()))
}

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z, in Unix seconds: the instants RFC 3339 can
/// write, the only ones a badge can carry (the engine's date arithmetic is exact there).
const FIRST_INSTANT: i64 = -62_167_219_200;
const LAST_INSTANT: i64 = 253_402_300_799;
/// 0000-01-01 and 9999-12-31 as days since 1970-01-01 (local dates of such instants may lie
/// a day beyond, so the range is widened by a week on each side).
const FIRST_DAY: i32 = -719_528 - 7;
const LAST_DAY: i32 = 2_932_896 + 7;

/// An instant of a `#meta` record, checked against the range a badge can carry (an instant
/// beyond it would overflow the engine's calendar arithmetic).
fn instant(pair: Option<(i64, u32)>, what: &str) -> Result<Option<Timestamp>, SnapshotError> {
    match pair {
        None => Ok(None),
        Some((secs, nanos))
            if (FIRST_INSTANT..=LAST_INSTANT).contains(&secs) && nanos < 1_000_000_000 =>
        {
            Ok(Some(Timestamp::from_unix(secs, nanos)))
        }
        Some((secs, nanos)) => Err(SnapshotError::Corrupt(format!(
            "{what} ({secs} s, {nanos} ns) is outside years 0000 to 9999"
        ))),
    }
}

/// A stored day, checked against the range of dates (years 0000 to 9999, see [`instant`]).
fn day(value: i32, what: &str) -> Result<Day, SnapshotError> {
    if (FIRST_DAY..=LAST_DAY).contains(&value) {
        Ok(Day(value))
    } else {
        Err(SnapshotError::Corrupt(format!(
            "{what} {value} is outside years 0000 to 9999"
        )))
    }
}

/// A stored week (days since the epoch of its Thursday, see [`Week`]), range-checked.
fn week(value: i32, what: &str) -> Result<Week, SnapshotError> {
    if (FIRST_DAY / 7..=LAST_DAY / 7).contains(&value) {
        Ok(Week(value))
    } else {
        Err(SnapshotError::Corrupt(format!(
            "{what} {value} is outside years 0000 to 9999"
        )))
    }
}

/// A streak counts closed weeks (§4.4), at most the ~522k weeks of years 0000 to 9999; one
/// over [`MAX_STREAK`] (2,097,151, what a [`DecisionRecord`] holds) is corrupt.
fn streak(value: u32, what: &str) -> Result<u32, SnapshotError> {
    if value <= MAX_STREAK {
        Ok(value)
    } else {
        Err(SnapshotError::Corrupt(format!(
            "{what} {value} is more weeks than years 0000 to 9999 hold"
        )))
    }
}

/// Checks that `weeks` is strictly increasing (the engine's vectors are sorted by week and
/// searched by bisection).
fn strictly_increasing(weeks: impl Iterator<Item = Week>, what: &str) -> Result<(), SnapshotError> {
    let mut previous: Option<Week> = None;
    for w in weeks {
        if previous.is_some_and(|p| p >= w) {
            return Err(SnapshotError::Corrupt(format!(
                "{what} are not sorted by week"
            )));
        }
        previous = Some(w);
    }
    Ok(())
}

impl Engine {
    /// Starts recording which employees change, for [`Engine::take_changes`]. Replay leaves
    /// it off; the live shell turns it on.
    pub fn track_changes(&mut self) {
        self.tracking = true;
    }

    pub(super) fn touch(&mut self, i: usize) {
        if self.tracking && !self.employees[i].dirty {
            self.employees[i].dirty = true;
            self.dirty.push(i as u32);
        }
    }

    /// The changelog records for everything changed since the last call (employees in the
    /// order they were first changed, then the engine record).
    pub fn take_changes(&mut self) -> Vec<StateRecord> {
        let mut out = Vec::with_capacity(self.dirty.len() + self.removed.len() + 1);
        for key in self.removed.drain(..) {
            out.push(StateRecord {
                key: key.into(),
                value: None,
            });
        }
        let dirty = std::mem::take(&mut self.dirty);
        for i in dirty {
            let i = i as usize;
            if !self.employees[i].dirty {
                continue; // listed twice (its slot was freed and reused) or released
            }
            self.employees[i].dirty = false;
            if self.employees[i].id.is_empty() {
                continue; // removed after it was touched
            }
            out.push(StateRecord {
                key: self.employees[i].id.to_string(),
                value: Some(self.encode_employee(i)),
            });
        }
        if self.tracking {
            out.push(StateRecord {
                key: META_KEY.into(),
                value: Some(encode(&MetaSnapshot {
                    watermark: ts_pair(self.watermark),
                    first_badge: ts_pair(self.first_badge),
                })),
            });
        }
        out
    }

    fn encode_employee(&self, i: usize) -> Vec<u8> {
        let employee = &self.employees[i];
        let s = |sym| Cow::Borrowed(self.interner.get(sym));
        let snapshot = EmployeeSnapshot {
            roster: employee.roster.map(|r| RosterSnapshot {
                manager: r.manager.map(s),
                vp: r.vp.map(s),
                org: s(r.org),
                group: s(r.group),
                home_site: Cow::Borrowed(&self.rules.sites[usize::from(r.home_site)].id),
                hire: r.hire.map(|d| d.0),
                active: r.active,
                remote: r.remote,
            }),
            office: employee.office.sorted().map(|(w, b)| (w.0, b)).collect(),
            absences: employee
                .absences
                .iter()
                .map(|a| AbsenceSnapshot {
                    id: Cow::Borrowed(&a.id),
                    start: a.start.0,
                    end: a.end.0,
                    kind: a.kind.map(s),
                    approved: a.approved,
                })
                .collect(),
            decisions: employee
                .decisions
                .iter()
                .map(|d| DecisionSnapshot {
                    week: d.week().0,
                    status: status_code(d.status()),
                    streak: d.streak(),
                    revision: u32::from(d.revision()),
                    fingerprint: d.fingerprint(),
                    alerted: d.alerted(),
                })
                .collect(),
            carried_streak: employee.carried_streak,
            current: employee.current.map(status_code),
            last_closed: employee.last_closed.map(|w| w.0),
            at_risk_week: employee.at_risk_week.map(|w| w.0),
            adjustments: employee
                .adjustments
                .iter()
                .map(|a| AdjustmentSnapshot {
                    id: Cow::Borrowed(&a.id),
                    day: a.day.0,
                    action: action_code(a.action),
                    approved: a.approved,
                })
                .collect(),
            presence: employee
                .presence
                .sorted()
                .map(|p| (p.day().0, p.first_in(), p.latest_out()))
                .collect(),
        };
        encode(&snapshot)
    }

    /// Applies one changelog record to an engine being restored. Later records for the same
    /// key replace earlier ones; call [`Engine::finish_restore`] after the last.
    ///
    /// A record the engine cannot have written is [`SnapshotError::Corrupt`] and changes
    /// nothing: instants, days and weeks outside years 0000 to 9999, a watermark without or
    /// before the first badge, office days or decisions not sorted by week, office-day bits
    /// beyond Sunday, an absence ending before it starts, an unknown status code.
    pub fn restore(&mut self, key: &str, value: Option<&[u8]>) -> Result<(), SnapshotError> {
        if key == META_KEY {
            if let Some(bytes) = value {
                let meta: MetaSnapshot = decode(bytes)?;
                let watermark = instant(meta.watermark, "watermark")?;
                let first_badge = instant(meta.first_badge, "first badge")?;
                match (watermark, first_badge) {
                    (Some(_), None) => {
                        return Err(SnapshotError::Corrupt(
                            "a watermark without a first badge".into(),
                        ))
                    }
                    (Some(w), Some(f)) if w < f => {
                        return Err(SnapshotError::Corrupt(
                            "the watermark is before the first badge".into(),
                        ))
                    }
                    _ => {}
                }
                self.watermark = watermark;
                self.first_badge = first_badge;
            }
            return Ok(());
        }
        let Some(bytes) = value else {
            if let Some(i) = self.index.remove(&self.employees, key) {
                self.release_slot(i as usize);
            }
            return Ok(());
        };
        if !EmployeeId::is_valid(key) {
            return Err(SnapshotError::Corrupt(format!(
                "key {:?} is not an employee id",
                key.chars()
                    .take(EmployeeId::MAX_LEN + 1)
                    .collect::<String>()
            )));
        }
        let snap = decode_employee(bytes)?;
        // Everything is checked before the first symbol is interned or the slot is taken.
        let mut office = Vec::with_capacity(snap.office.len());
        for &(w, bits) in &snap.office {
            if bits == 0 || bits > 0x7f {
                return Err(SnapshotError::Corrupt(format!("office-day bits {bits:#x}")));
            }
            office.push((week(w, "office week")?, bits));
        }
        strictly_increasing(office.iter().map(|(w, _)| *w), "office days")?;
        let mut absence_days = Vec::with_capacity(snap.absences.len());
        for a in &snap.absences {
            let (start, end) = (day(a.start, "absence start")?, day(a.end, "absence end")?);
            if start > end {
                return Err(SnapshotError::Corrupt(format!(
                    "absence from {start} to {end} ends before it starts"
                )));
            }
            absence_days.push((start, end));
        }
        let mut adjustments = Vec::with_capacity(snap.adjustments.len());
        for a in &snap.adjustments {
            adjustments.push(Adjustment {
                id: a.id.as_ref().into(),
                day: day(a.day, "adjustment date")?,
                action: action_of(a.action)?,
                approved: a.approved,
            });
        }
        let mut presence = Vec::with_capacity(snap.presence.len());
        for &(d, first_in, latest_out) in &snap.presence {
            let date = day(d, "presence date")?;
            let evidence = Presence::new(date, first_in, latest_out).ok_or_else(|| {
                SnapshotError::Corrupt(format!("presence instant of {date} is days away from it"))
            })?;
            presence.push(evidence);
        }
        if presence.windows(2).any(|w| w[0].day() >= w[1].day()) {
            return Err(SnapshotError::Corrupt(
                "presence days are not sorted".into(),
            ));
        }
        let mut decisions = Vec::with_capacity(snap.decisions.len());
        for d in &snap.decisions {
            decisions.push(DecisionRecord::new(
                week(d.week, "decision week")?,
                status_of(d.status)?,
                streak(d.streak, "decision streak")?,
                u16::try_from(d.revision).unwrap_or(u16::MAX),
                d.fingerprint,
                d.alerted,
            ));
        }
        strictly_increasing(decisions.iter().map(|d| d.week()), "decisions")?;
        let carried_streak = streak(snap.carried_streak, "carried streak")?;
        let current = snap.current.map(status_of).transpose()?;
        let last_closed = snap
            .last_closed
            .map(|w| week(w, "last closed week"))
            .transpose()?;
        let at_risk_week = snap
            .at_risk_week
            .map(|w| week(w, "at-risk week"))
            .transpose()?;
        let hire = match snap.roster.as_ref().and_then(|r| r.hire) {
            Some(h) => Some(day(h, "hire date")?),
            None => None,
        };
        if let Some(r) = &snap.roster {
            if !self.rules.sites.iter().any(|s| s.id == r.home_site) {
                return Err(SnapshotError::UnknownSite(r.home_site.to_string()));
            }
        }
        let roster = match snap.roster {
            None => None,
            Some(r) => {
                let site = self
                    .rules
                    .sites
                    .iter()
                    .position(|s| s.id == r.home_site)
                    .ok_or_else(|| SnapshotError::UnknownSite(r.home_site.to_string()))?;
                let rule = &self.rules.sites[site];
                let (zone, region) = (rule.zone as u16, rule.region as u16);
                Some(Roster {
                    manager: r.manager.as_deref().map(|m| self.interner.intern(m)),
                    vp: r.vp.as_deref().map(|v| self.interner.intern(v)),
                    org: self.interner.intern(&r.org),
                    group: self.interner.intern(&r.group),
                    group_rule: self.rules.group_index(&r.group),
                    home_site: site as u16,
                    zone,
                    region,
                    hire,
                    active: r.active,
                    remote: r.remote,
                })
            }
        };
        let mut absences = Vec::with_capacity(snap.absences.len());
        for (a, (start, end)) in snap.absences.into_iter().zip(absence_days) {
            absences.push(Absence {
                id: a.id.into(),
                start,
                end,
                kind: a.kind.as_deref().map(|k| self.interner.intern(k)),
                approved: a.approved,
            });
        }
        let i = self.employee_slot(key);
        let employee = &mut self.employees[i];
        employee.roster = roster;
        employee.office = Recent::from_sorted(office);
        employee.absences = absences.into_boxed_slice();
        employee.adjustments = adjustments.into_boxed_slice();
        employee.presence = Recent::from_sorted(presence);
        employee.decisions = decisions;
        employee.carried_streak = carried_streak;
        employee.current = current;
        employee.last_closed = last_closed;
        employee.at_risk_week = at_risk_week;
        Ok(())
    }

    /// Sizes the id index for about `records` more employees before a restore, so that it
    /// does not grow by rehashing record by record; capped at 2^21 (a partition's offsets
    /// count every record of an uncompacted log, far more than its employees). A hint only.
    pub fn reserve_for_restore(&mut self, records: u64) {
        let n = usize::try_from(records).unwrap_or(usize::MAX).min(1 << 21);
        self.index.reserve(n);
    }

    /// Rebuilds what is derived from the restored records: zone memberships and the close
    /// and at-risk schedules (fast-forwarded to the watermark without firing: the restored
    /// state already holds their effects).
    pub fn finish_restore(&mut self) {
        for zone in &mut self.zones {
            zone.members.clear();
            zone.sorted = false;
        }
        self.free.clear();
        self.unrostered = 0;
        for (i, employee) in self.employees.iter().enumerate() {
            match &employee.roster {
                Some(r) => self.zones[usize::from(r.zone)].members.push(i as u32),
                None if employee.id.is_empty() => self.free.push(i as u32),
                None => self.unrostered += 1,
            }
        }
        self.maybe_compact_interner();
        if let Some(first) = self.first_badge {
            self.start_schedules(first);
            if let Some(wm) = self.watermark {
                self.jump_schedules_near(wm);
                self.fast_forward(wm);
            }
        }
        for i in 0..self.employees.len() {
            self.employees[i].dirty = false;
        }
        self.dirty.clear();
        self.removed.clear();
    }

    /// Moves each zone's schedules, in one step, to a week shortly before `watermark` when
    /// they lag it by more than [`super::MAX_CATCH_UP_WEEKS`], so that
    /// [`Engine::fast_forward`] walks a bounded number of weeks however far the restored
    /// watermark lies from the first badge (up to 10,000 years of weeks otherwise). The
    /// result is the one the walk reaches: the week jumped to closes, and its at-risk check
    /// is due, before `watermark` (a week of margin beyond the allowed lateness covers DST).
    fn jump_schedules_near(&mut self, watermark: Timestamp) {
        let lateness_weeks = (self.rules.allowed_lateness.as_secs() / (7 * 86_400)) as i32;
        for z in 0..self.zones.len() {
            let tz = self.zones[z].tz;
            let target = crate::domain::time::local_day(tz, watermark).week();
            let close_from = target.plus(-lateness_weeks - 3);
            if close_from.0 - self.zones[z].next_close.0 > super::MAX_CATCH_UP_WEEKS {
                self.zones[z].next_close = close_from;
                self.zones[z].close_at = self.close_instant(tz, close_from);
            }
            let risk_from = target.plus(-1);
            let zone = &mut self.zones[z];
            if risk_from.0 - zone.risk_week.0 > super::MAX_CATCH_UP_WEEKS {
                zone.risk_week = risk_from;
                zone.risk_day = 0;
                zone.risk_at = crate::domain::time::local_midnight(tz, risk_from.monday());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::tests::{load_config, ts, HOLIDAYS, POLICIES, SITES};

    fn engine() -> Engine {
        Engine::new(&load_config(SITES, HOLIDAYS, POLICIES, ""))
    }

    fn meta(watermark: Option<(i64, u32)>, first_badge: Option<(i64, u32)>) -> Vec<u8> {
        encode(&MetaSnapshot {
            watermark,
            first_badge,
        })
    }

    fn pair(s: &str) -> Option<(i64, u32)> {
        ts_pair(Some(ts(s)))
    }

    fn employee(edit: impl FnOnce(&mut EmployeeSnapshot)) -> Vec<u8> {
        let mut snapshot = EmployeeSnapshot {
            roster: None,
            office: vec![(2_940, 0b1), (2_941, 0b11)],
            absences: vec![AbsenceSnapshot {
                id: "a-1".into(),
                start: 20_580,
                end: 20_582,
                kind: None,
                approved: true,
            }],
            decisions: Vec::new(),
            carried_streak: 0,
            current: None,
            last_closed: None,
            at_risk_week: None,
            adjustments: Vec::new(),
            presence: Vec::new(),
        };
        edit(&mut snapshot);
        encode(&snapshot)
    }

    #[test]
    fn version_1_employee_records_restore_without_adjustments_or_presence() {
        #[derive(Serialize)]
        struct V1 {
            roster: Option<RosterSnapshot<'static>>,
            office: Vec<(i32, u8)>,
            absences: Vec<AbsenceSnapshot<'static>>,
            decisions: Vec<DecisionSnapshot>,
            carried_streak: u32,
            current: Option<u8>,
            last_closed: Option<i32>,
            at_risk_week: Option<i32>,
        }
        let mut bytes = vec![1u8];
        bytes.extend(
            postcard::to_allocvec(&V1 {
                roster: None,
                office: vec![(2_940, 0b101)],
                absences: Vec::new(),
                decisions: Vec::new(),
                carried_streak: 3,
                current: None,
                last_closed: None,
                at_risk_week: None,
            })
            .expect("encodes"),
        );
        let mut e = engine();
        assert_eq!(e.restore("e-1", Some(&bytes)), Ok(()));
        let i = e.index.get(&e.employees, "e-1").expect("restored");
        let employee = &e.employees[i as usize];
        assert_eq!(
            employee.office.sorted().collect::<Vec<_>>(),
            [(Week(2_940), 0b101)]
        );
        assert_eq!(employee.carried_streak, 3);
        assert!(employee.adjustments.is_empty() && employee.presence.is_empty());
    }

    #[test]
    fn unsorted_presence_or_unknown_adjustment_actions_are_corrupt() {
        let mut e = engine();
        let unsorted =
            employee(|s| s.presence = vec![(20_580, Some(1), None), (20_579, None, None)]);
        assert!(is_corrupt(e.restore("e-1", Some(&unsorted))));
        let action = employee(|s| {
            s.adjustments = vec![AdjustmentSnapshot {
                id: "adj-1".into(),
                day: 20_580,
                action: 7,
                approved: true,
            }]
        });
        assert!(is_corrupt(e.restore("e-1", Some(&action))));
        let far = employee(|s| s.presence = vec![(20_580, Some(i64::MAX), None)]);
        assert!(is_corrupt(e.restore("e-1", Some(&far))));
        assert_eq!(e.employees_tracked(), 0);
    }

    fn is_corrupt(result: Result<(), SnapshotError>) -> bool {
        matches!(result, Err(SnapshotError::Corrupt(_)))
    }

    #[test]
    fn meta_instants_outside_years_0000_to_9999_are_corrupt() {
        let mut e = engine();
        for first in [
            (i64::MAX, 999_999_999),
            (i64::MIN, 0),
            (FIRST_INSTANT - 1, 0),
            (LAST_INSTANT + 1, 0),
            (0, 1_000_000_000),
        ] {
            let value = meta(Some(first), Some(first));
            assert!(is_corrupt(e.restore(META_KEY, Some(&value))), "{first:?}");
            assert_eq!(e.watermark(), None);
        }
        let edge = meta(Some((LAST_INSTANT, 999_999_999)), Some((FIRST_INSTANT, 0)));
        assert_eq!(e.restore(META_KEY, Some(&edge)), Ok(()));
    }

    #[test]
    fn a_watermark_without_or_before_the_first_badge_is_corrupt() {
        let mut e = engine();
        let alone = meta(pair("2026-05-04T00:00:00Z"), None);
        assert!(is_corrupt(e.restore(META_KEY, Some(&alone))));
        let before = meta(pair("2026-05-04T00:00:00Z"), pair("2026-05-05T00:00:00Z"));
        assert!(is_corrupt(e.restore(META_KEY, Some(&before))));
        assert_eq!(e.watermark(), None);
    }

    fn schedules(e: &Engine) -> Vec<(Week, Timestamp, Week, u32, Timestamp)> {
        e.zones
            .iter()
            .map(|z| (z.next_close, z.close_at, z.risk_week, z.risk_day, z.risk_at))
            .collect()
    }

    #[test]
    fn a_far_watermark_restores_the_schedules_a_week_by_week_walk_reaches() {
        // Three years apart: far beyond MAX_CATCH_UP_WEEKS, near enough to walk.
        let value = meta(pair("2029-07-04T13:00:00Z"), pair("2026-05-04T08:00:00Z"));
        let mut jumped = engine();
        jumped.restore(META_KEY, Some(&value)).expect("restores");
        let mut walked = jumped.clone();
        jumped.finish_restore();
        walked.start_schedules(ts("2026-05-04T08:00:00Z"));
        walked.fast_forward(ts("2029-07-04T13:00:00Z"));
        assert_eq!(schedules(&jumped), schedules(&walked));
        assert_eq!(jumped.next_due, walked.next_due);
    }

    #[test]
    fn a_watermark_ten_thousand_years_after_the_first_badge_restores() {
        let value = meta(Some((LAST_INSTANT, 0)), Some((FIRST_INSTANT, 0)));
        let mut e = engine();
        e.restore(META_KEY, Some(&value)).expect("restores");
        e.finish_restore();
        let last = Timestamp::from_unix(LAST_INSTANT, 0);
        for zone in &e.zones {
            assert!(zone.close_at > last && zone.risk_at > last);
            assert!(zone.next_close.0 > Day(LAST_DAY).week().0 - 10);
        }
    }

    #[test]
    fn employee_records_the_engine_cannot_write_are_corrupt_and_change_nothing() {
        let mut e = engine();
        assert_eq!(e.restore("e-1", Some(&employee(|_| {}))), Ok(()));
        let bad = [
            employee(|s| s.office = vec![(i32::MAX, 1)]),
            employee(|s| s.office = vec![(2_941, 1), (2_940, 1)]),
            employee(|s| s.office = vec![(2_940, 1), (2_940, 2)]),
            employee(|s| s.office = vec![(2_940, 0x80)]),
            employee(|s| s.office = vec![(2_940, 0)]),
            employee(|s| s.absences[0].end = i32::MIN),
            employee(|s| s.absences[0].start = 20_583),
            employee(|s| s.last_closed = Some(i32::MIN)),
            employee(|s| s.at_risk_week = Some(i32::MAX)),
            employee(|s| s.current = Some(3)),
            employee(|s| {
                s.decisions = vec![DecisionSnapshot {
                    week: 2_940,
                    status: 0,
                    streak: 0,
                    revision: 0,
                    fingerprint: 0,
                    alerted: false,
                }];
                s.decisions.push(DecisionSnapshot { ..s.decisions[0] });
            }),
            employee(|s| {
                s.decisions = vec![DecisionSnapshot {
                    week: 2_940,
                    status: 1,
                    streak: MAX_STREAK + 1,
                    revision: 0,
                    fingerprint: 0,
                    alerted: true,
                }];
            }),
            employee(|s| s.carried_streak = u32::MAX),
        ];
        for (n, value) in bad.iter().enumerate() {
            assert!(is_corrupt(e.restore("e-2", Some(value))), "case {n}");
        }
        e.finish_restore();
        assert_eq!(e.employees_tracked(), 1);
    }
}
