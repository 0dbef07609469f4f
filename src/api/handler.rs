//! One record-API request from start to answer (§10), without I/O: authenticate, route,
//! ask the state, authorize, serialize. The listener supplies the request's parts and a
//! [`RecordSource`]; it writes the [`Answer`] and its audit facts.

use crate::domain::EmployeeId;
use crate::engine::{Record, Reporting};

use super::access::{authorize, route, Access, Route};
use super::auth::{AuthError, Verifier};

/// What the instance knows of an employee's partition right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// The partition is served here; the employee's roster lines, `None` when unknown.
    Served(Option<Reporting>),
    /// The partition is restoring or moving, or the pipeline did not answer: try again after
    /// this many seconds.
    Unavailable {
        /// The `Retry-After` value.
        retry_after_seconds: u32,
    },
    /// Another instance owns the employee's partition: the request is forwarded to it when
    /// the directory names it (SPEC §10 "Routing"), else answered like
    /// [`Lookup::Unavailable`] with [`super::lookup::RETRY_AFTER_SECONDS`].
    Elsewhere {
        /// The employee's badge partition.
        partition: i32,
    },
}

/// Where records come from (the pipeline's engines, or a test's).
pub trait RecordSource {
    /// The employee's partition state and roster lines.
    fn lookup(&self, employee_id: &EmployeeId) -> Lookup;
    /// The employee's record (§10), `None` when unknown.
    fn record(&self, employee_id: &EmployeeId) -> Option<Record>;
}

/// The HTTP answer and what the audit record needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// 200, 401, 403, 404, 405 or 503.
    pub status: u16,
    /// Extra headers (`WWW-Authenticate`, `Retry-After`, `Allow`).
    pub headers: Vec<(&'static str, String)>,
    /// JSON body.
    pub body: String,
    /// The caller's `sub`, when the token was valid.
    pub caller: Option<String>,
    /// The employee asked for, when the path named a valid id.
    pub employee_id: Option<EmployeeId>,
}

impl Answer {
    fn error(status: u16, message: &str) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: serde_json::json!({ "error": message }).to_string(),
            caller: None,
            employee_id: None,
        }
    }
}

/// Answers `method target` carrying `authorization` (the header's raw value).
pub fn answer(
    verifier: &Verifier,
    source: &dyn RecordSource,
    method: &str,
    target: &str,
    authorization: Option<&[u8]>,
) -> Answer {
    let caller = match verifier.verify(authorization) {
        Ok(caller) => caller,
        Err(e) => {
            let mut a = Answer::error(
                401,
                match e {
                    AuthError::Missing => "a bearer token is required",
                    AuthError::TooLarge => "the token is too large",
                    AuthError::Invalid => "the token is not valid",
                },
            );
            a.headers
                .push(("WWW-Authenticate", e.challenge().to_owned()));
            return a;
        }
    };
    let mut a = answer_for(source, method, target, &caller);
    a.caller = Some(caller.sub);
    a
}

/// 503 with `Retry-After` for `id`.
fn unavailable(id: EmployeeId, retry_after_seconds: u32) -> Answer {
    let mut a = Answer::error(503, "this employee's records are not available yet");
    a.headers
        .push(("Retry-After", retry_after_seconds.to_string()));
    a.employee_id = Some(id);
    a
}

fn answer_for(
    source: &dyn RecordSource,
    method: &str,
    target: &str,
    caller: &super::auth::Caller,
) -> Answer {
    let Route::Record(id) = route(target) else {
        return Answer::error(404, "no such resource");
    };
    if method != "GET" {
        let mut a = Answer::error(405, "only GET is served");
        a.headers.push(("Allow", "GET".to_owned()));
        a.employee_id = Some(id);
        return a;
    }
    let reporting = match source.lookup(&id) {
        Lookup::Served(reporting) => reporting,
        Lookup::Unavailable {
            retry_after_seconds,
        } => return unavailable(id, retry_after_seconds),
        Lookup::Elsewhere { .. } => {
            return unavailable(id, super::lookup::RETRY_AFTER_SECONDS);
        }
    };
    let mut a = match authorize(caller, id.as_str(), reporting.as_ref()) {
        Access::Forbidden => Answer::error(403, "not allowed to read this record"),
        Access::NotFound => Answer::error(404, "no such employee"),
        Access::Allowed => match source.record(&id).map(|r| serde_json::to_string(&r)) {
            Some(Ok(body)) => Answer {
                status: 200,
                headers: Vec::new(),
                body,
                caller: None,
                employee_id: None,
            },
            // Gone between the two calls (a roster tombstone), or unserializable.
            _ if caller.hr => Answer::error(404, "no such employee"),
            _ => Answer::error(403, "not allowed to read this record"),
        },
    };
    a.employee_id = Some(id);
    a
}
