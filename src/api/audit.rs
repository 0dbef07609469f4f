//! The audit record of one record-API request (§10, topic `attendance-access-log`, key
//! employee_id; schemas/access-log.schema.json). Built here, without I/O; writing it is the
//! listener's job.

use serde::Serialize;
use uuid::Uuid;

use crate::domain::Timestamp;

use super::handler::Answer;

/// Schema version of access-log records.
pub const ACCESS_SCHEMA_VERSION: u32 = 1;

/// Namespace of access ids (distinct from the namespace of decision and alert ids).
const ACCESS_NAMESPACE: Uuid = Uuid::from_u128(0x2b7e_9a41_c6d3_4f08_8a15_73e0_d94b_6c2e);

/// Where audit records go (the access-log topic; a vector in tests).
pub trait AuditSink: Send + Sync {
    /// Writes one record, without waiting for it to be acknowledged.
    fn write(&self, record: &AccessRecord);
}

/// One request, allowed or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessRecord {
    /// Always [`ACCESS_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Unique per instance and request: a version-5 UUID of (instance, sequence number).
    pub access_id: String,
    /// When the request was answered, RFC 3339.
    pub at: String,
    /// The token's `sub`; null when the request was not authenticated.
    pub caller: Option<String>,
    /// The employee the path named; null when it named none.
    pub employee_id: Option<String>,
    /// The HTTP status answered.
    pub outcome: u16,
    /// The answering instance.
    pub instance: String,
}

impl AccessRecord {
    /// The record of `answer`, the `sequence`-th request `instance` answered, at `at`.
    /// `instance` must be unique among the running instances (and across restarts when
    /// `sequence` restarts at 0, e.g. by including the start time).
    pub fn of(answer: &Answer, at: Timestamp, instance: &str, sequence: u64) -> Self {
        let name = format!("access/{instance}/{sequence}");
        Self {
            schema_version: ACCESS_SCHEMA_VERSION,
            access_id: Uuid::new_v5(&ACCESS_NAMESPACE, name.as_bytes())
                .hyphenated()
                .to_string(),
            at: at.to_rfc3339(),
            caller: answer.caller.clone(),
            employee_id: answer.employee_id.as_ref().map(|e| e.as_str().to_owned()),
            outcome: answer.status,
            instance: instance.to_owned(),
        }
    }

    /// The record's Kafka key: the employee's id, or empty when the path named none.
    pub fn key(&self) -> &str {
        self.employee_id.as_deref().unwrap_or("")
    }
}
