//! Attendance adjustments (SPEC §1.6), written to `adjustments.jsonl`: the
//! audited corrections a manager approves by hand.
//!
//! In about one employee-week in 125 an employee gets an adjustment for a
//! weekday of that week: 60% `credit_office_day` (a faulty reader, a
//! forgotten badge, a day at a customer's site), 40% `excuse_day` (jury duty,
//! an off-site training, a transport strike). It is approved by the
//! employee's manager (`approved_by` = the roster's manager_id, or the VP for
//! an employee without a manager; never the employee), requested by the
//! employee (75%), by the manager (20%) or with no `requested_by` (5%).
//! Credits are filed one to seven days after their date, one in ten up to a
//! month later; excuses half ahead, half after. 8% are later cancelled (the
//! same adjustment_id re-sent in full with `"status":"cancelled"`).
//!
//! A standing credit means the employee's badges did not register that day:
//! the badge generator leaves that day's visit out.

use std::fmt::Write as _;
use std::io::Write;

use chrono::{Datelike, Days, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::output::{bad_due, object, quote, LineSink};
use super::people::{employee_id, Employee, Manager};
use super::GenerateError;

/// Chance that an employee gets an adjustment in a given week.
pub(crate) const WEEKLY_CHANCE: f64 = 0.008;
/// Share of adjustments that credit an office day (the rest excuse a day).
pub(crate) const CREDIT_SHARE: f64 = 0.6;
/// Share of adjustments later cancelled.
pub(crate) const CANCELLED_SHARE: f64 = 0.08;

const CREDIT_REASONS: [&str; 4] = [
    "badge reader at door 3 faulty",
    "forgot badge, signed in at reception",
    "working at a customer site",
    "visitor badge issued after a lost badge",
];

const EXCUSE_REASONS: [&str; 4] = [
    "jury duty",
    "off-site training",
    "transport strike",
    "medical appointment",
];

/// Expected dead-letter reason of each bad adjustment line kind, in cycle order.
pub(crate) const BAD_ADJUSTMENT_REASONS: [&str; 5] = [
    "malformed_json",
    "invalid_field",
    "invalid_field",
    "missing_field",
    "invalid_field",
];

/// One adjustment record as written (an approval, or its cancellation).
#[derive(Debug, Clone)]
struct AdjustmentRecord {
    /// Day the record is filed; only orders the file.
    filed: NaiveDate,
    /// Number in `adj-NNNNNN`.
    id: u32,
    employee: u32,
    date: NaiveDate,
    credit: bool,
    reason: &'static str,
    requested_by: Option<String>,
    approved_by: String,
    cancelled: bool,
}

/// The standing credits (approved, not cancelled), by employee and date.
#[derive(Debug, Default)]
pub(crate) struct CreditBook {
    days: Vec<(u32, NaiveDate)>,
}

impl CreditBook {
    /// Whether `employee` has a standing `credit_office_day` for `day`.
    pub(crate) fn is_credited(&self, employee: u32, day: NaiveDate) -> bool {
        self.days.binary_search(&(employee, day)).is_ok()
    }
}

/// Counts of what [`write_adjustments`] wrote.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AdjustmentCounts {
    /// Well-formed records (approvals and cancellations).
    pub(crate) records: u64,
    /// `credit_office_day` approvals among them (cancellations not counted).
    pub(crate) credits: u64,
    /// Cancellations among them.
    pub(crate) cancellations: u64,
    /// Bad lines, one per entry of [`BAD_ADJUSTMENT_REASONS`] cycled.
    pub(crate) bad_lines: u64,
}

/// Who approves `person`'s adjustments: their manager, else their VP.
fn approver(person: &Employee) -> Option<String> {
    match person.record.manager {
        Manager::Employee(boss) => Some(employee_id(boss)),
        Manager::Vp(vp) => Some(format!("vp-{vp:02}")),
        Manager::Absent | Manager::Null | Manager::Empty => {
            person.vp.map(|vp| format!("vp-{vp:02}"))
        }
    }
}

fn draw_records(
    rng: &mut ChaCha8Rng,
    people: &[Employee],
    start_monday: NaiveDate,
    weeks: u32,
) -> Vec<AdjustmentRecord> {
    let mut records = Vec::new();
    let mut next_id = 1u32;
    for (index, person) in people.iter().enumerate() {
        let index = index as u32;
        for week in 0..u64::from(weeks) {
            if !rng.random_bool(WEEKLY_CHANCE) {
                continue;
            }
            let date = start_monday + Days::new(week * 7 + rng.random_range(0..5));
            let credit = rng.random_bool(CREDIT_SHARE);
            let reasons = if credit {
                CREDIT_REASONS
            } else {
                EXCUSE_REASONS
            };
            let reason = reasons[rng.random_range(0..reasons.len())];
            let requester = rng.random_range(0..20);
            let filed = if credit && rng.random_bool(0.1) {
                date + Days::new(rng.random_range(8..=30))
            } else if credit || rng.random_bool(0.5) {
                date + Days::new(rng.random_range(1..=7))
            } else {
                date - Days::new(rng.random_range(1..=14))
            };
            let cancel = rng.random_bool(CANCELLED_SHARE);
            let cancel_after = Days::new(rng.random_range(1..=5));
            let (Some(approved_by), true) = (approver(person), person.is_employed_on(date)) else {
                continue;
            };
            if approved_by == employee_id(index) {
                continue;
            }
            let requested_by = match requester {
                0..=14 => Some(employee_id(index)),
                15..=18 => Some(approved_by.clone()),
                _ => None,
            };
            let approval = AdjustmentRecord {
                filed,
                id: next_id,
                employee: index,
                date,
                credit,
                reason,
                requested_by,
                approved_by,
                cancelled: false,
            };
            next_id += 1;
            if cancel {
                let mut cancellation = approval.clone();
                cancellation.filed = filed + cancel_after;
                cancellation.cancelled = true;
                records.push(cancellation);
            }
            records.push(approval);
        }
    }
    // Filing order; on the same day an approval sorts before its cancellation.
    records.sort_by_key(|record| (record.filed, record.id, record.cancelled));
    records
}

fn write_record(line: &mut String, record: &AdjustmentRecord) {
    let action = if record.credit {
        "credit_office_day"
    } else {
        "excuse_day"
    };
    let status = if record.cancelled {
        "cancelled"
    } else {
        "approved"
    };
    let _ = write!(
        line,
        "{{\"adjustment_id\":\"adj-{:06}\",\"employee_id\":\"{}\",\"date\":\"{}\",\
         \"action\":\"{action}\",\"status\":\"{status}\",\"reason\":\"{}\"",
        record.id,
        employee_id(record.employee),
        record.date,
        record.reason,
    );
    if let Some(requested_by) = &record.requested_by {
        let _ = write!(line, ",\"requested_by\":\"{requested_by}\"");
    }
    let _ = write!(line, ",\"approved_by\":\"{}\"}}", record.approved_by);
}

/// Bad line `number` (1-based, it makes the id unique), a variant of
/// `record`; `kind` indexes [`BAD_ADJUSTMENT_REASONS`].
fn bad_line(kind: usize, number: u64, record: &AdjustmentRecord) -> String {
    let id = quote(&format!("adj-9{number:06}"));
    let employee = quote(&employee_id(record.employee));
    let manager = quote(&record.approved_by);
    let date = quote(&record.date.to_string());
    let reason = quote(CREDIT_REASONS[0]);
    let line = |date: &str, reason: Option<&str>, requested_by: &str, approved_by: &str| {
        let mut fields = vec![
            ("adjustment_id", id.as_str()),
            ("employee_id", employee.as_str()),
            ("date", date),
            ("action", "\"credit_office_day\""),
            ("status", "\"approved\""),
        ];
        if let Some(reason) = reason {
            fields.push(("reason", reason));
        }
        fields.push(("requested_by", requested_by));
        fields.push(("approved_by", approved_by));
        object(&fields)
    };
    match kind {
        // Truncated mid-object.
        0 => {
            let mut text = line(&date, Some(&reason), &employee, &manager);
            text.truncate(text.len() / 2);
            text
        }
        // Approved by the employee themself.
        1 => line(&date, Some(&reason), &employee, &employee),
        // An empty requested_by.
        2 => line(&date, Some(&reason), "\"\"", &manager),
        // No reason.
        3 => line(&date, None, &employee, &manager),
        // A date that does not exist.
        _ => {
            let impossible = quote(&format!("{}-02-30", record.date.year()));
            line(&impossible, Some(&reason), &employee, &manager)
        }
    }
}

/// Draws the adjustments, writes `adjustments.jsonl` and returns the
/// standing credits for the badge generator.
pub(crate) fn write_adjustments<W: Write>(
    rng: &mut ChaCha8Rng,
    people: &[Employee],
    start_monday: NaiveDate,
    weeks: u32,
    bad_fraction: f64,
    sink: &mut LineSink<W>,
) -> Result<(CreditBook, AdjustmentCounts), GenerateError> {
    let records = draw_records(rng, people, start_monday, weeks);
    let mut cancelled_ids: Vec<u32> = records
        .iter()
        .filter(|record| record.cancelled)
        .map(|record| record.id)
        .collect();
    cancelled_ids.sort_unstable();
    let mut book = CreditBook::default();
    for record in records.iter().filter(|record| record.credit) {
        if !record.cancelled && cancelled_ids.binary_search(&record.id).is_err() {
            book.days.push((record.employee, record.date));
        }
    }
    book.days.sort_unstable();

    let total = records.len() as u64;
    let wanted_bad = super::bad_line_count(bad_fraction, total, BAD_ADJUSTMENT_REASONS.len());
    let mut counts = AdjustmentCounts::default();
    let mut line = String::new();
    for (position, record) in records.iter().enumerate() {
        line.clear();
        write_record(&mut line, record);
        sink.write_line(&line)?;
        counts.records += 1;
        counts.credits += u64::from(record.credit && !record.cancelled);
        counts.cancellations += u64::from(record.cancelled);
        while bad_due(position as u64, total, wanted_bad, counts.bad_lines) {
            let kind = (counts.bad_lines % BAD_ADJUSTMENT_REASONS.len() as u64) as usize;
            sink.write_line(&bad_line(kind, counts.bad_lines + 1, record))?;
            counts.bad_lines += 1;
        }
    }
    Ok((book, counts))
}
