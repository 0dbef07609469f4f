//! The org chart: the company's orgs and each org's management tree.
//!
//! Teams have about eight reports; their managers are grouped the same way
//! one level up, until a single head reports to the org's VP. About 1% of
//! employees have no manager on record, written three ways (absent, null,
//! empty), as SPEC §1.2 allows.

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::EXECUTIVE_GROUP;
use super::people::{Employee, Habit, Manager};

/// One org of the company.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Org {
    /// Org name, as written in the roster.
    pub(crate) name: &'static str,
    /// Relative size (per mille of the workforce).
    pub(crate) weight: u32,
    /// Policy group of the org's employees (index into `POLICY_GROUPS`).
    pub(crate) group: u8,
    /// VP of the org (`vp-NN`).
    pub(crate) vp: u8,
    /// Home sites allowed for the org's employees; empty means any site.
    pub(crate) sites: &'static [u8],
}

/// The company's orgs; a few are deliberately small.
pub(crate) const ORGS: [Org; 17] = [
    Org {
        name: "retail-tech",
        weight: 140,
        group: 1,
        vp: 1,
        sites: &[],
    },
    Org {
        name: "payments",
        weight: 100,
        group: 1,
        vp: 1,
        sites: &[],
    },
    Org {
        name: "platform",
        weight: 120,
        group: 1,
        vp: 2,
        sites: &[],
    },
    Org {
        name: "data-science",
        weight: 50,
        group: 1,
        vp: 2,
        sites: &[],
    },
    Org {
        name: "security",
        weight: 20,
        group: 1,
        vp: 2,
        sites: &[0, 2, 3],
    },
    Org {
        name: "research-lab",
        weight: 4,
        group: 1,
        vp: 2,
        sites: &[1],
    },
    Org {
        name: "finance",
        weight: 80,
        group: 0,
        vp: 3,
        sites: &[],
    },
    Org {
        name: "legal",
        weight: 20,
        group: 0,
        vp: 3,
        sites: &[0, 2, 3],
    },
    Org {
        name: "people",
        weight: 30,
        group: 0,
        vp: 3,
        sites: &[],
    },
    Org {
        name: "marketing",
        weight: 50,
        group: 0,
        vp: 4,
        sites: &[],
    },
    Org {
        name: "customer-support",
        weight: 120,
        group: 0,
        vp: 4,
        sites: &[],
    },
    Org {
        name: "office-of-the-ceo",
        weight: 3,
        group: 0,
        vp: 5,
        sites: &[2],
    },
    Org {
        name: "sales-americas",
        weight: 70,
        group: 2,
        vp: 4,
        sites: &[0, 1, 2],
    },
    Org {
        name: "sales-emea",
        weight: 50,
        group: 2,
        vp: 4,
        sites: &[3, 4],
    },
    Org {
        name: "sales-apac",
        weight: 40,
        group: 2,
        vp: 4,
        sites: &[5, 6, 7],
    },
    Org {
        name: "field-ops",
        weight: 80,
        group: 3,
        vp: 5,
        sites: &[],
    },
    Org {
        name: "facilities",
        weight: 13,
        group: 3,
        vp: 5,
        sites: &[],
    },
];

/// Builds each org's tree: teams of about eight reports, whose managers are
/// grouped the same way one level up, until one head reports to the VP.
pub(crate) fn assign_managers(rng: &mut ChaCha8Rng, people: &mut [Employee]) {
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); ORGS.len()];
    for (index, person) in people.iter().enumerate() {
        if let Some(org) = person.record.org {
            members[usize::from(org)].push(index as u32);
        } else {
            // No org written, but the person still sits in a team of the org
            // their VP runs: the first org of that VP.
            let vp = person.vp.unwrap_or(1);
            let org = ORGS.iter().position(|org| org.vp == vp).unwrap_or(0);
            members[org].push(index as u32);
        }
    }
    for (org, mut level) in members.into_iter().enumerate() {
        level.shuffle(rng);
        while level.len() > 1 {
            let bosses = level.len().div_ceil(9);
            for (position, &report) in level[bosses..].iter().enumerate() {
                let boss = level[position % bosses];
                people[report as usize].record.manager = Manager::Employee(boss);
            }
            level.truncate(bosses);
            level.shuffle(rng);
        }
        if let Some(&head) = level.first() {
            let person = &mut people[head as usize];
            person.record.manager = Manager::Vp(ORGS[org].vp);
            person.record.group = EXECUTIVE_GROUP;
            if person.record.org.is_some() {
                person.habit = Habit::AlwaysIn;
            }
        }
    }
    // About 1% have no manager on record, written three different ways.
    for person in people.iter_mut() {
        if rng.random_bool(0.01) {
            person.record.manager = match rng.random_range(0..3) {
                0 => Manager::Absent,
                1 => Manager::Null,
                _ => Manager::Empty,
            };
        }
    }
}
