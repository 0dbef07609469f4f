//! The record API's route and its authorization rule (§10), as pure functions.

use crate::domain::EmployeeId;
use crate::engine::Reporting;

use super::auth::Caller;

/// The path prefix and suffix of `GET /v1/employees/{employee_id}/record`.
const PREFIX: &str = "/v1/employees/";
const SUFFIX: &str = "/record";

/// What a request path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// The record of one employee (the id follows §1.1).
    Record(EmployeeId),
    /// Nothing this API serves: another path, an id outside §1.1's alphabet, `.` or `..`
    /// (path traversal), a percent-encoded id (no valid id needs encoding).
    NotFound,
}

/// The route of `target` (path, optionally with a query, which is ignored).
pub fn route(target: &str) -> Route {
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let Some(id) = path
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.strip_suffix(SUFFIX))
    else {
        return Route::NotFound;
    };
    // `.` and `..` follow §1.1's alphabet but are path segments, never ids to look up.
    if id == "." || id == ".." {
        return Route::NotFound;
    }
    EmployeeId::parse(id).map_or(Route::NotFound, Route::Record)
}

/// The authorization decision for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The caller may read the record.
    Allowed,
    /// 403: not self, not the roster's manager or VP, no `hr` role — or the employee does not
    /// exist and the caller has no `hr` role (no enumeration).
    Forbidden,
    /// 404: the employee does not exist and the caller has the `hr` role.
    NotFound,
}

/// §10's rule: `reporting` is the employee's roster lines, `None` when the employee does not
/// exist.
pub fn authorize(caller: &Caller, employee_id: &str, reporting: Option<&Reporting>) -> Access {
    let Some(lines) = reporting else {
        return if caller.hr {
            Access::NotFound
        } else {
            Access::Forbidden
        };
    };
    let is = |who: &Option<String>| who.as_deref() == Some(caller.sub.as_str());
    if caller.hr || caller.sub == employee_id || is(&lines.manager_id) || is(&lines.vp_id) {
        Access::Allowed
    } else {
        Access::Forbidden
    }
}
