//! Answering a record request from the partitions an instance holds (§10): the employee is
//! served by the partition whose engine holds their roster record; while any partition that
//! could hold them is restoring, or when another instance may own them, the answer is
//! "retry later". Pure over the engines, so the live pipeline can call it between batches.

use crate::domain::EmployeeId;
use crate::engine::{Engine, Record};

use super::handler::{Lookup, RecordSource};

/// `Retry-After` while a partition restores or is owned elsewhere, in seconds.
pub const RETRY_AFTER_SECONDS: u32 = 2;

/// One partition as the lookup sees it.
#[derive(Debug, Clone, Copy)]
pub struct Held<'a> {
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

/// Looks `employee_id` up in `held`, the partitions this instance owns; `owns_all` says
/// whether they are every partition of the input topics (so an employee found in none does
/// not exist, rather than living elsewhere).
pub fn resolve<'a>(
    held: impl IntoIterator<Item = Held<'a>>,
    owns_all: bool,
    employee_id: &EmployeeId,
) -> Resolved {
    let mut complete = true;
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
        complete &= partition.ready;
    }
    if owns_all && complete {
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
