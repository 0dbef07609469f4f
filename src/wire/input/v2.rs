//! Decoding of the two v2 input topics: site outages (§1.5) and attendance adjustments
//! (§1.6). The same rules and precedence as the v1 topics (§2), except that
//! `future_timestamp` and `too_late` never apply here: these records carry dates, not
//! instants, and lateness is the engine's call (§3.5).

use super::{
    bounded_string, date, employee_id, invalid, read_fields, require, status, string, Validator,
};
use crate::domain::{
    AdjustmentAction, AdjustmentRecord, DeadLetterReason, OutageRecord, Rejection,
};
use crate::wire::json::FieldValue;

/// The longest outage, in days, counting both ends (§1.5).
pub const MAX_OUTAGE_DAYS: i32 = 366;

/// The longest free-text `reason` of an outage or an adjustment, in bytes (§1.5, §1.6).
pub const MAX_REASON_BYTES: usize = 500;

/// The longest `outage_id` and `adjustment_id`, in bytes.
const MAX_ID_BYTES: usize = 128;

impl Validator {
    /// Decodes a site-outage record (§1.5, v2). A `cancelled` record is validated in full;
    /// the optional `reason` is checked but not kept.
    pub fn decode_outage(&self, bytes: &[u8]) -> Result<OutageRecord, Rejection> {
        const NAMES: [&str; 6] = [
            "outage_id",
            "site_id",
            "start_date",
            "end_date",
            "status",
            "reason",
        ];
        let f = read_fields(bytes, &NAMES)?;
        require(&f, &NAMES, 5)?;
        let outage_id = bounded_string(&f[0], "outage_id", MAX_ID_BYTES)?;
        let site_id = string(&f[1], "site_id")?;
        let start = date(&f[2], "start_date")?;
        let end = date(&f[3], "end_date")?;
        let active = status(&f[4], "active")?;
        match &f[5] {
            None | Some(FieldValue::Null) => {}
            Some(FieldValue::Str(s)) if s.len() <= MAX_REASON_BYTES => {}
            Some(FieldValue::Str(s)) => {
                return Err(Rejection::new(
                    DeadLetterReason::InvalidField,
                    format!(
                        "reason must be at most {MAX_REASON_BYTES} bytes, got {}",
                        s.len()
                    ),
                ))
            }
            Some(other) => return Err(invalid("reason", "must be a string or null", other)),
        }
        if start > end {
            return Err(Rejection::new(
                DeadLetterReason::InvalidField,
                format!("start_date {start} is after end_date {end}"),
            ));
        }
        let days = i64::from(end.0) - i64::from(start.0) + 1;
        if days > i64::from(MAX_OUTAGE_DAYS) {
            return Err(Rejection::new(
                DeadLetterReason::InvalidField,
                format!(
                    "outage {start} to {end} spans {days} days, at most {MAX_OUTAGE_DAYS} are allowed"
                ),
            ));
        }
        let site = self.site(&site_id)?;
        Ok(OutageRecord {
            outage_id: outage_id.into_owned(),
            site,
            start,
            end,
            active,
        })
    }

    /// Decodes an attendance adjustment (§1.6, v2). A `cancelled` record is validated in
    /// full. `reason`, `approved_by` and `requested_by` are checked but not kept, and the
    /// reason's text never enters a rejection's detail (§8: it may hold personal data).
    pub fn decode_adjustment(&self, bytes: &[u8]) -> Result<AdjustmentRecord, Rejection> {
        const NAMES: [&str; 8] = [
            "adjustment_id",
            "employee_id",
            "date",
            "action",
            "status",
            "reason",
            "approved_by",
            "requested_by",
        ];
        let f = read_fields(bytes, &NAMES)?;
        require(&f, &NAMES, 7)?;
        let adjustment_id = bounded_string(&f[0], "adjustment_id", MAX_ID_BYTES)?;
        let employee = employee_id(&f[1], "employee_id")?;
        let day = date(&f[2], "date")?;
        let action = match &f[3] {
            Some(FieldValue::Str(s)) if s == "credit_office_day" => {
                AdjustmentAction::CreditOfficeDay
            }
            Some(FieldValue::Str(s)) if s == "excuse_day" => AdjustmentAction::ExcuseDay,
            Some(other) => {
                return Err(invalid(
                    "action",
                    "must be \"credit_office_day\" or \"excuse_day\"",
                    other,
                ))
            }
            None => AdjustmentAction::ExcuseDay,
        };
        let approved = status(&f[4], "approved")?;
        // bounded_string names only the length (or the JSON type) in its detail, never the text.
        bounded_string(&f[5], "reason", MAX_REASON_BYTES)?;
        let approved_by = employee_id(&f[6], "approved_by")?;
        if approved_by == employee {
            return Err(Rejection::new(
                DeadLetterReason::InvalidField,
                "approved_by must differ from employee_id: nobody approves their own adjustment",
            ));
        }
        match &f[7] {
            None | Some(FieldValue::Null) => {}
            requested_by => {
                employee_id(requested_by, "requested_by")?;
            }
        }
        Ok(AdjustmentRecord {
            adjustment_id: adjustment_id.into_owned(),
            employee_id: employee,
            date: day,
            action,
            approved,
        })
    }
}

#[cfg(test)]
mod tests;
