//! The weekly compliance gauges: employees by policy, status and org in the latest closed
//! week, small orgs folded into [`OTHER_ORG`].

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};

use crate::domain::output::Decision;
use crate::domain::{Status, Week};

/// Smallest number of employees an organisation needs (in a week's decisions) to appear by
/// name in `attendance_weekly_compliance_employees`; smaller ones are counted as `other`.
pub const MIN_ORG_GROUP: u64 = 5;

/// The `org` label value that holds the organisations below [`MIN_ORG_GROUP`].
pub const OTHER_ORG: &str = "other";

/// Weekly compliance of the latest week in a set of decisions: employees by
/// (policy id, status, org), orgs under [`MIN_ORG_GROUP`] employees folded into `other`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyCompliance {
    /// The ISO week described; `None` when there were no decisions.
    pub week: Option<Week>,
    /// Employee counts by (policy id, status wire name, org or `other`).
    pub employees: BTreeMap<(String, &'static str, String), u64>,
}

impl WeeklyCompliance {
    /// Computes the summary of the latest week (the greatest `week`) in `decisions`; for an
    /// employee with several revisions of that week, the highest revision counts.
    pub fn from_decisions<'a>(decisions: impl IntoIterator<Item = &'a Decision>) -> Self {
        let mut tally = WeeklyTally::default();
        for decision in decisions {
            tally.add(decision);
        }
        tally.summary().unwrap_or_default()
    }

    /// Employees in `status` under `policy`, over every org.
    pub fn count(&self, policy: &str, status: Status) -> u64 {
        self.employees
            .iter()
            .filter(|((p, s, _), _)| p == policy && *s == status.as_str())
            .map(|(_, n)| n)
            .sum()
    }

    /// Monday 00:00 UTC of [`WeeklyCompliance::week`], unix seconds.
    pub(super) fn week_start_unix(&self) -> Option<i64> {
        Some(i64::from(self.week?.monday().0) * 86_400)
    }
}

/// Incremental tally of the latest week's decisions. Employees are keyed by a 64-bit hash
/// of their id (memory: about 40 bytes per employee of the latest week; ids are not kept).
#[derive(Debug, Default)]
pub(super) struct WeeklyTally {
    week: Option<Week>,
    /// Changed since the gauges were last published.
    dirty: bool,
    by_employee: HashMap<u64, (u32, usize, Status, usize)>,
    policies: Vec<String>,
    orgs: Vec<String>,
}

fn intern(names: &mut Vec<String>, name: &str) -> usize {
    names.iter().position(|n| n == name).unwrap_or_else(|| {
        names.push(name.to_owned());
        names.len() - 1
    })
}

impl WeeklyTally {
    /// An empty tally of `week`: decisions of earlier weeks are ignored.
    pub(super) fn starting_at(week: Option<Week>) -> Self {
        Self {
            week,
            ..Self::default()
        }
    }

    /// The summary, when decisions were added since the last call.
    pub(super) fn changed_summary(&mut self) -> Option<WeeklyCompliance> {
        if std::mem::take(&mut self.dirty) {
            self.summary()
        } else {
            None
        }
    }

    pub(super) fn add(&mut self, d: &Decision) {
        match self.week {
            Some(week) if d.week < week => return,
            Some(week) if d.week == week => {}
            _ => {
                self.week = Some(d.week);
                self.by_employee.clear();
                self.policies.clear();
                self.orgs.clear();
            }
        }
        self.dirty = true;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        d.employee_id.hash(&mut hasher);
        let key = hasher.finish();
        let policy = intern(&mut self.policies, &d.policy.id);
        let org = intern(&mut self.orgs, &d.org);
        let entry = (d.revision, policy, d.status, org);
        match self.by_employee.get(&key) {
            Some(old) if old.0 > d.revision => {}
            _ => {
                self.by_employee.insert(key, entry);
            }
        }
    }

    pub(super) fn summary(&self) -> Option<WeeklyCompliance> {
        let week = self.week?;
        let mut org_sizes = vec![0_u64; self.orgs.len()];
        for &(_, _, _, org) in self.by_employee.values() {
            org_sizes[org] += 1;
        }
        let mut employees = BTreeMap::new();
        for &(_, policy, status, org) in self.by_employee.values() {
            let org = if org_sizes[org] >= MIN_ORG_GROUP {
                self.orgs[org].clone()
            } else {
                OTHER_ORG.to_owned()
            };
            *employees
                .entry((self.policies[policy].clone(), status.as_str(), org))
                .or_insert(0) += 1;
        }
        Some(WeeklyCompliance {
            week: Some(week),
            employees,
        })
    }
}
