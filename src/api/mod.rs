//! The record API (SPEC §10): bearer-token authentication, authorization by the roster's
//! reporting lines, and the answer to `GET /v1/employees/{employee_id}/record`, without I/O.
//! The record itself is the engine's view ([`crate::engine::Record`]).

pub mod access;
pub mod audit;
pub mod auth;
pub mod handler;
pub mod lookup;
pub mod requests;
pub mod routing;

pub use access::{authorize, route, Access, Route};
pub use audit::{AccessRecord, AuditSink};
pub use auth::{AuthError, Caller, Verifier, MAX_TOKEN_BYTES};
pub use handler::{answer, Answer, Lookup, RecordSource};
pub use lookup::{resolve, Held, Resolved};
pub use routing::{decide, partition_for, Decision, Directory, InstanceEntry};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_live;
