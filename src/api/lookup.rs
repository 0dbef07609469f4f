//! Answering a record request from the partitions an instance holds (§10): the employee
//! belongs to the badge partition Kafka's murmur2 partitioner gives their id
//! ([`super::routing::partition_for`]). When this instance holds that partition, it answers
//! from it ("retry later" while it reads its tables); when it does not, the employee is
//! [`Lookup::Elsewhere`] and the listener forwards the request to the owner. An instance that
//! holds every partition looks the employee up in all of them, so that inputs placed by
//! another partitioner are still served by a single instance. Pure over the engines, so the
//! live pipeline can call it between batches.

use crate::domain::EmployeeId;
use crate::engine::{Engine, Record};

use super::handler::{Lookup, RecordSource};
use super::routing::partition_for;

/// `Retry-After` while a partition restores or is owned elsewhere, in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 2;

/// One partition as the lookup sees it.
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
    /// Its number (badge partition).
    pub partition: i32,
    /// Its tables and changelog are read: its engine is complete.
    pub ready: bool,
    /// Its engine.
    pub engine: &'a Engine,
}

/// The state's answer for one employee, taken at once so that the roster lines authorized
/// against and the record served are the same state's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// Served here (with the roster lines, `None` when unknown) or unavailable.
    pub lookup: Lookup,
    /// The record, when served here and known.
    pub record: Option<Record>,
}

impl Resolved {
    fn unavailable() -> Self {
        Self {
            lookup: Lookup::Unavailable {
                retry_after_seconds: RETRY_AFTER_SECONDS,
            },
            record: None,
        }
    }
}

/// Looks `employee_id` up in `held`, the partitions this instance owns, of the `partitions`
/// partitions of the input topics.
pub fn resolve<'a>(
    held: impl IntoIterator<Item = Held<'a>>,
    partitions: usize,
    employee_id: &EmployeeId,
) -> Resolved {
    let held: Vec<Held<'a>> = held.into_iter().collect();
    if held.len() >= partitions {
        // Every partition is here: an employee found in none does not exist.
        return resolve_in(&held, employee_id);
    }
    let Some(target) = partition_for(employee_id.as_str().as_bytes(), partitions) else {
        return Resolved::unavailable();
    };
    match held.iter().find(|h| h.partition == target) {
        Some(home) => resolve_in(std::slice::from_ref(home), employee_id),
        None => Resolved {
            lookup: Lookup::Elsewhere { partition: target },
            record: None,
        },
    }
}

/// The employee's state in `held`, the partitions that may hold them: found in none of them
/// once all are ready, they do not exist.
fn resolve_in(held: &[Held<'_>], employee_id: &EmployeeId) -> Resolved {
    let mut ready = true;
    for partition in held {
        if let Some(reporting) = partition.engine.reporting(employee_id.as_str()) {
            if !partition.ready {
                return Resolved::unavailable();
            }
            return Resolved {
                lookup: Lookup::Served(Some(reporting)),
                record: partition.engine.record(employee_id.as_str()),
            };
        }
        ready &= partition.ready;
    }
    if ready {
        Resolved {
            lookup: Lookup::Served(None),
            record: None,
        }
    } else {
        Resolved::unavailable()
    }
}

impl RecordSource for Resolved {
    fn lookup(&self, _employee_id: &EmployeeId) -> Lookup {
        self.lookup.clone()
    }

    fn record(&self, _employee_id: &EmployeeId) -> Option<Record> {
        self.record.clone()
    }
}
