//! Writes `roster.jsonl` (SPEC §1.2): one record per employee in id order,
//! then the roster updates (a second, winning record for about 1% of
//! employees), with a few bad lines spread through the file.

use std::fmt::Write as _;
use std::io::Write;

use super::config::{POLICY_GROUPS, SITES, UNKNOWN_SITE};
use super::org::ORGS;
use super::output::{object, quote, LineSink};
use super::people::{employee_id, Employee, Manager, RosterFields};
use super::GenerateError;

/// Counts of what [`write_roster`] wrote.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RosterCounts {
    /// Well-formed records (first records and updates).
    pub(crate) records: u64,
    /// Updates among them (a second record for an employee).
    pub(crate) updates: u64,
    /// Bad lines, one per entry of [`BAD_ROSTER_REASONS`] cycled.
    pub(crate) bad_lines: u64,
}

/// Expected dead-letter reason of each bad roster line kind, in cycle order.
pub(crate) const BAD_ROSTER_REASONS: [&str; 6] = [
    "malformed_json",
    "missing_field",
    "invalid_field",
    "unknown_site",
    "invalid_field",
    "missing_field",
];

fn write_record(line: &mut String, index: u32, person: &Employee, fields: &RosterFields) {
    let _ = write!(line, "{{\"employee_id\":\"{}\"", employee_id(index));
    match fields.manager {
        Manager::Employee(boss) => {
            let _ = write!(line, ",\"manager_id\":\"{}\"", employee_id(boss));
        }
        Manager::Vp(vp) => {
            let _ = write!(line, ",\"manager_id\":\"vp-{vp:02}\"");
        }
        Manager::Null => line.push_str(",\"manager_id\":null"),
        Manager::Empty => line.push_str(",\"manager_id\":\"\""),
        Manager::Absent => {}
    }
    if let Some(vp) = person.vp {
        let _ = write!(line, ",\"vp_id\":\"vp-{vp:02}\"");
    }
    if let Some(org) = fields.org {
        let _ = write!(line, ",\"org\":\"{}\"", ORGS[usize::from(org)].name);
    }
    let _ = write!(
        line,
        ",\"policy_group\":\"{}\",\"home_site\":\"{}\"",
        POLICY_GROUPS[usize::from(fields.group)],
        SITES[usize::from(person.home_site)].id
    );
    if person.write_hire_date {
        let _ = write!(line, ",\"hire_date\":\"{}\"", person.hire_date);
    }
    let status = if fields.active { "active" } else { "inactive" };
    let _ = write!(line, ",\"status\":\"{status}\"");
    if person.write_remote || fields.remote_approved {
        let _ = write!(line, ",\"remote_approved\":{}", fields.remote_approved);
    }
    line.push('}');
}

/// A bad record about employee `index`; `kind` indexes [`BAD_ROSTER_REASONS`].
/// The employee's valid records stay in the file, so a bad line never
/// removes anyone.
fn bad_line(kind: usize, index: u32, person: &Employee) -> String {
    let id = quote(&employee_id(index));
    let group = quote(POLICY_GROUPS[usize::from(person.record.group)]);
    let site = quote(SITES[usize::from(person.home_site)].id);
    let active = "\"active\"";
    match kind {
        0 => {
            let mut line = object(&[("employee_id", &id), ("manager_id", "\"e-000001\"")]);
            line.truncate(line.len() - 8);
            line
        }
        1 => object(&[
            ("employee_id", &id),
            ("home_site", &site),
            ("status", active),
        ]),
        2 => object(&[
            ("employee_id", &id),
            ("policy_group", &group),
            ("home_site", &site),
            ("status", "\"on_leave\""),
        ]),
        3 => object(&[
            ("employee_id", &id),
            ("policy_group", &group),
            ("home_site", &quote(UNKNOWN_SITE)),
            ("status", active),
        ]),
        4 => object(&[
            ("employee_id", &id.replace('-', " ")),
            ("policy_group", &group),
            ("home_site", &site),
            ("status", active),
        ]),
        _ => object(&[
            ("employee_id", &id),
            ("policy_group", &group),
            ("home_site", "null"),
            ("status", active),
        ]),
    }
}

/// Writes `roster.jsonl`.
pub(crate) fn write_roster<W: Write>(
    people: &[Employee],
    bad_fraction: f64,
    sink: &mut LineSink<W>,
) -> Result<RosterCounts, GenerateError> {
    let mut counts = RosterCounts::default();
    let total = people.len() as u64;
    let wanted_bad = super::bad_line_count(bad_fraction, total, BAD_ROSTER_REASONS.len());
    let mut line = String::new();
    for (index, person) in people.iter().enumerate() {
        line.clear();
        let first = person.previous.as_ref().unwrap_or(&person.record);
        write_record(&mut line, index as u32, person, first);
        sink.write_line(&line)?;
        counts.records += 1;
        // Spread the bad lines evenly; the last employee flushes any left.
        while counts.bad_lines < wanted_bad
            && (index as u64 + 1) * wanted_bad >= (counts.bad_lines + 1) * total
        {
            let kind = (counts.bad_lines % BAD_ROSTER_REASONS.len() as u64) as usize;
            sink.write_line(&bad_line(kind, index as u32, person))?;
            counts.bad_lines += 1;
        }
    }
    for (index, person) in people.iter().enumerate() {
        if person.previous.is_some() {
            line.clear();
            write_record(&mut line, index as u32, person, &person.record);
            sink.write_line(&line)?;
            counts.records += 1;
            counts.updates += 1;
        }
    }
    Ok(counts)
}
