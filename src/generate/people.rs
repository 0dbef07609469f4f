//! The synthetic workforce: who works where, hire and leave dates, remote
//! approvals, roster updates and each employee's attendance habit (the org
//! chart itself is drawn by `org`).
//!
//! Everything is drawn from one seeded RNG in employee order, so the same
//! options always give the same people. Nothing here writes files.

use chrono::{Days, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::{FIELD_GROUP, SITES};
use super::org::{assign_managers, ORGS};

/// How an employee attends the office.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Habit {
    /// Four or five days a week.
    AlwaysIn,
    /// Three days a week, sometimes two or four.
    Steady,
    /// Two days a week, sometimes one or three.
    TwoDays,
    /// One or two days, some weeks none.
    Struggling,
    /// Steady until `from_week` (0-based week of the period), then struggling.
    Drifting {
        /// First week of the decline.
        from_week: u32,
    },
    /// Struggling until `from_week`, then steady.
    Improving {
        /// First week of the improvement.
        from_week: u32,
    },
    /// Almost never in.
    Remote,
}

/// Who an employee reports to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Manager {
    /// Another employee (index into the employee list).
    Employee(u32),
    /// The org's VP (top of an org's tree).
    Vp(u8),
    /// No manager, written as an absent field.
    Absent,
    /// No manager, written as `null`.
    Null,
    /// No manager, written as `""`.
    Empty,
}

/// The roster fields that can change between two records of one employee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RosterFields {
    /// Index into [`ORGS`]; `None` writes no `org` (default "unassigned").
    pub(crate) org: Option<u8>,
    /// Index into `POLICY_GROUPS`.
    pub(crate) group: u8,
    /// Manager reference.
    pub(crate) manager: Manager,
    /// Whether the record says `active`.
    pub(crate) active: bool,
    /// `remote_approved`.
    pub(crate) remote_approved: bool,
}

/// One employee; `record` is their latest (winning) roster record.
#[derive(Debug, Clone)]
pub(crate) struct Employee {
    /// Latest roster fields.
    pub(crate) record: RosterFields,
    /// An earlier roster record, written before `record` (a roster update).
    pub(crate) previous: Option<RosterFields>,
    /// VP id number; `None` writes no `vp_id`.
    pub(crate) vp: Option<u8>,
    /// Index into [`SITES`].
    pub(crate) home_site: u8,
    /// Hire date.
    pub(crate) hire_date: NaiveDate,
    /// Whether `hire_date` is written (it is optional).
    pub(crate) write_hire_date: bool,
    /// Last day at the company, for leavers.
    pub(crate) leave_date: Option<NaiveDate>,
    /// Whether `remote_approved: false` is written explicitly.
    pub(crate) write_remote: bool,
    /// Attendance habit.
    pub(crate) habit: Habit,
    /// Usual arrival, minutes after local midnight.
    pub(crate) arrival_minute: u16,
    /// Usual time between `in` and `out`, minutes.
    pub(crate) day_minutes: u16,
    /// Often works a week at another site.
    pub(crate) traveller: bool,
}

impl Employee {
    /// Whether the employee works for the company on `day`.
    pub(crate) fn is_employed_on(&self, day: NaiveDate) -> bool {
        day >= self.hire_date && self.leave_date.is_none_or(|last| day <= last)
    }
}

/// The roster-facing id of employee `index` (`e-000001` for index 0).
pub(crate) fn employee_id(index: u32) -> String {
    format!("e-{:06}", u64::from(index) + 1)
}

fn pick_weighted<T>(rng: &mut ChaCha8Rng, items: &[T], weight: impl Fn(&T) -> u32) -> usize {
    let total: u32 = items.iter().map(&weight).sum();
    let mut draw = rng.random_range(0..total.max(1));
    for (index, item) in items.iter().enumerate() {
        let w = weight(item);
        if draw < w {
            return index;
        }
        draw -= w;
    }
    items.len() - 1
}

fn pick_habit(rng: &mut ChaCha8Rng, group: u8, weeks: u32) -> Habit {
    // Shares in percent: always, steady, two days, struggling, drifting, improving, remote.
    let shares: [u32; 7] = match group {
        0 => [15, 50, 10, 12, 5, 5, 3],
        1 => [8, 30, 35, 12, 6, 5, 4],
        2 => [10, 30, 30, 15, 5, 5, 5],
        3 => [5, 15, 35, 40, 0, 0, 5],
        _ => [50, 40, 5, 5, 0, 0, 0],
    };
    let turn = |rng: &mut ChaCha8Rng| rng.random_range(1..weeks.max(2));
    match pick_weighted(rng, &shares, |share| *share) {
        0 => Habit::AlwaysIn,
        1 => Habit::Steady,
        2 => Habit::TwoDays,
        3 => Habit::Struggling,
        4 => Habit::Drifting {
            from_week: turn(rng),
        },
        5 => Habit::Improving {
            from_week: turn(rng),
        },
        _ => Habit::Remote,
    }
}

/// Draws the workforce of `count` employees.
pub(crate) fn generate_people(
    rng: &mut ChaCha8Rng,
    count: u32,
    start_monday: NaiveDate,
    weeks: u32,
) -> Vec<Employee> {
    let period_days = u64::from(weeks) * 7;
    let mut people = Vec::with_capacity(count as usize);
    for _ in 0..count {
        let org = pick_weighted(rng, &ORGS, |org| org.weight);
        let org_info = ORGS[org];
        let home_site = if org_info.sites.is_empty() {
            pick_weighted(rng, &SITES, |site| site.weight) as u8
        } else {
            org_info.sites[rng.random_range(0..org_info.sites.len())]
        };
        let habit = pick_habit(rng, org_info.group, weeks);
        let remote_approved =
            (habit == Habit::Remote && rng.random_bool(0.5)) || rng.random_bool(0.003);
        let hire_roll: f64 = rng.random();
        let hire_date = if hire_roll < 0.02 {
            // Hired during the period, most on a Monday.
            let week = rng.random_range(0..u64::from(weeks));
            let weekday = if rng.random_bool(0.8) {
                0
            } else {
                rng.random_range(1..5)
            };
            start_monday + Days::new(week * 7 + weekday)
        } else if hire_roll < 0.03 {
            start_monday - Days::new(rng.random_range(1..=28))
        } else {
            start_monday - Days::new(rng.random_range(30..12 * 365))
        };
        let leave_roll: f64 = rng.random();
        let leave_date = if leave_roll < 0.015 {
            Some(start_monday - Days::new(rng.random_range(1..=60)))
        } else if leave_roll < 0.03 {
            Some(start_monday + Days::new(rng.random_range(0..period_days)))
        } else {
            None
        }
        .filter(|last| *last >= hire_date);
        let traveller = rng.random_bool(if org_info.group == FIELD_GROUP {
            0.6
        } else {
            0.06
        });
        people.push(Employee {
            record: RosterFields {
                org: (!rng.random_bool(0.005)).then_some(org as u8),
                group: org_info.group,
                manager: Manager::Absent,
                active: leave_date.is_none(),
                remote_approved,
            },
            previous: None,
            vp: (!rng.random_bool(0.02)).then_some(org_info.vp),
            home_site,
            hire_date,
            write_hire_date: hire_roll < 0.03 || rng.random_bool(0.98),
            leave_date,
            write_remote: remote_approved || rng.random_bool(0.5),
            habit,
            arrival_minute: rng.random_range(450..=600),
            day_minutes: rng.random_range(450..=570),
            traveller,
        });
    }
    assign_managers(rng, &mut people);
    add_roster_updates(rng, &mut people);
    people
}

/// About 1% of employees get an earlier, different roster record.
fn add_roster_updates(rng: &mut ChaCha8Rng, people: &mut [Employee]) {
    let count = people.len() as u32;
    for (index, person) in people.iter_mut().enumerate() {
        let mut previous = person.record;
        if !person.record.active && person.leave_date.is_some() && rng.random_bool(0.5) {
            previous.active = true;
        } else if person.record.remote_approved && rng.random_bool(0.3) {
            previous.remote_approved = false;
        } else if rng.random_bool(0.008) && count > 1 {
            if rng.random_bool(0.5) {
                let other = rng.random_range(0..count);
                if other as usize != index {
                    previous.manager = Manager::Employee(other);
                }
            } else {
                previous.org = Some(rng.random_range(0..ORGS.len() as u8));
            }
        }
        if previous != person.record {
            person.previous = Some(previous);
        }
    }
}
