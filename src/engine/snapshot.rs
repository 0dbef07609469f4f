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

use serde::{Deserialize, Serialize};

use crate::domain::{Day, EmployeeId, Status, Timestamp, Week};

use super::state::{Absence, DecisionRecord, Roster};
use super::Engine;

/// The changelog key of the engine-wide record.
pub(super) const META_KEY: &str = "#meta";

/// Format version byte leading every value.
const FORMAT_VERSION: u8 = 1;

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

#[derive(Debug, Serialize, Deserialize)]
struct RosterSnapshot {
    manager: Option<String>,
    vp: Option<String>,
    org: String,
    group: String,
    home_site: String,
    hire: Option<i32>,
    active: bool,
    remote: bool,
}

#[derive(Debug, Serialize, Deserialize)]
struct AbsenceSnapshot {
    id: String,
    start: i32,
    end: i32,
    kind: Option<String>,
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
struct EmployeeSnapshot {
    roster: Option<RosterSnapshot>,
    office: Vec<(i32, u8)>,
    absences: Vec<AbsenceSnapshot>,
    decisions: Vec<DecisionSnapshot>,
    carried_streak: u32,
    current: Option<u8>,
    last_closed: Option<i32>,
    at_risk_week: Option<i32>,
}

#[derive(Debug, Serialize, Deserialize)]
struct MetaSnapshot {
    watermark: Option<(i64, u32)>,
    first_badge: Option<(i64, u32)>,
}

fn status_code(s: Status) -> u8 {
    match s {
        Status::Compliant => 0,
        Status::NonCompliant => 1,
        Status::Exempt => 2,
    }
}

fn status_of(code: u8) -> Result<Status, SnapshotError> {
    match code {
        0 => Ok(Status::Compliant),
        1 => Ok(Status::NonCompliant),
        2 => Ok(Status::Exempt),
        other => Err(SnapshotError::Corrupt(format!("status code {other}"))),
    }
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![FORMAT_VERSION];
    // Serializing plain structs into a Vec cannot fail.
    if let Ok(bytes) = postcard::to_allocvec(value) {
        out.extend_from_slice(&bytes);
    }
    out
}

fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, SnapshotError> {
    match bytes.split_first() {
        Some((&FORMAT_VERSION, rest)) => {
            postcard::from_bytes(rest).map_err(|e| SnapshotError::Corrupt(e.to_string()))
        }
        Some((&v, _)) => Err(SnapshotError::Version(v)),
        None => Err(SnapshotError::Corrupt("empty value".into())),
    }
}

fn ts_pair(t: Option<Timestamp>) -> Option<(i64, u32)> {
    t.map(|t| (t.unix_seconds(), t.subsec_nanos()))
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
        let s = |sym| self.interner.get(sym).to_owned();
        let snapshot = EmployeeSnapshot {
            roster: employee.roster.map(|r| RosterSnapshot {
                manager: r.manager.map(s),
                vp: r.vp.map(s),
                org: s(r.org),
                group: s(r.group),
                home_site: self.rules.sites[usize::from(r.home_site)].id.clone(),
                hire: r.hire.map(|d| d.0),
                active: r.active,
                remote: r.remote,
            }),
            office: employee.office.iter().map(|(w, b)| (w.0, *b)).collect(),
            absences: employee
                .absences
                .iter()
                .map(|a| AbsenceSnapshot {
                    id: a.id.to_string(),
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
                    week: d.week.0,
                    status: status_code(d.status),
                    streak: d.streak,
                    revision: u32::from(d.revision),
                    fingerprint: d.fingerprint,
                    alerted: d.alerted,
                })
                .collect(),
            carried_streak: employee.carried_streak,
            current: employee.current.map(status_code),
            last_closed: employee.last_closed.map(|w| w.0),
            at_risk_week: employee.at_risk_week.map(|w| w.0),
        };
        encode(&snapshot)
    }

    /// Applies one changelog record to an engine being restored. Later records for the same
    /// key replace earlier ones; call [`Engine::finish_restore`] after the last.
    pub fn restore(&mut self, key: &str, value: Option<&[u8]>) -> Result<(), SnapshotError> {
        if key == META_KEY {
            if let Some(bytes) = value {
                let meta: MetaSnapshot = decode(bytes)?;
                let ts = |p: Option<(i64, u32)>| p.map(|(s, n)| Timestamp::from_unix(s, n));
                self.watermark = ts(meta.watermark);
                self.first_badge = ts(meta.first_badge);
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
        let snap: EmployeeSnapshot = decode(bytes)?;
        let roster = match snap.roster {
            None => None,
            Some(r) => {
                let site = self
                    .rules
                    .sites
                    .iter()
                    .position(|s| s.id == r.home_site)
                    .ok_or_else(|| SnapshotError::UnknownSite(r.home_site.clone()))?;
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
                    hire: r.hire.map(Day),
                    active: r.active,
                    remote: r.remote,
                })
            }
        };
        let mut absences = Vec::with_capacity(snap.absences.len());
        for a in snap.absences {
            absences.push(Absence {
                id: a.id.into(),
                start: Day(a.start),
                end: Day(a.end),
                kind: a.kind.as_deref().map(|k| self.interner.intern(k)),
                approved: a.approved,
            });
        }
        let mut decisions = Vec::with_capacity(snap.decisions.len());
        for d in snap.decisions {
            decisions.push(DecisionRecord {
                week: Week(d.week),
                status: status_of(d.status)?,
                streak: d.streak,
                revision: u16::try_from(d.revision).unwrap_or(u16::MAX),
                fingerprint: d.fingerprint,
                alerted: d.alerted,
            });
        }
        let i = self.employee_slot(key);
        let employee = &mut self.employees[i];
        employee.roster = roster;
        employee.office = snap.office.into_iter().map(|(w, b)| (Week(w), b)).collect();
        employee.absences = absences;
        employee.decisions = decisions;
        employee.carried_streak = snap.carried_streak;
        employee.current = snap.current.map(status_of).transpose()?;
        employee.last_closed = snap.last_closed.map(Week);
        employee.at_risk_week = snap.at_risk_week.map(Week);
        Ok(())
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
                self.fast_forward(wm);
            }
        }
        for i in 0..self.employees.len() {
            self.employees[i].dirty = false;
        }
        self.dirty.clear();
        self.removed.clear();
    }
}
