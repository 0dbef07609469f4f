//! Approved absences (PTO, sickness, business travel, longer leave) and their
//! cancellations (SPEC §1.3), plus the absence days the badge generator keeps
//! away from the office.
//!
//! Records are written in the order HR would file them: an absence is filed a
//! little before it starts, a cancellation a few days after its absence, so a
//! cancellation always follows the record it replaces.

use std::io::Write;

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::output::{object, quote, LineSink};
use super::people::{employee_id, Employee};
use super::GenerateError;

/// One absence record as written (an approval, or the cancellation of one).
#[derive(Debug, Clone)]
struct AbsenceRecord {
    /// Day the record is filed; only orders the file.
    filed: NaiveDate,
    /// Number in `a-NNNNNN`.
    id: u32,
    employee: u32,
    start: NaiveDate,
    end: NaiveDate,
    kind: Option<&'static str>,
    cancelled: bool,
}

/// The absences that stand (approved and not cancelled), per employee.
#[derive(Debug, Default)]
pub(crate) struct AbsenceBook {
    spans: Vec<Vec<(NaiveDate, NaiveDate)>>,
}

impl AbsenceBook {
    /// Whether `employee` is on an approved absence on `day`.
    pub(crate) fn is_absent(&self, employee: u32, day: NaiveDate) -> bool {
        self.spans.get(employee as usize).is_some_and(|spans| {
            spans
                .iter()
                .any(|(start, end)| (*start..=*end).contains(&day))
        })
    }
}

/// Counts of what [`write_absences`] wrote.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct AbsenceCounts {
    /// Well-formed records (approvals and cancellations).
    pub(crate) records: u64,
    /// Cancellations among them.
    pub(crate) cancellations: u64,
    /// Bad lines, one per entry of [`BAD_ABSENCE_REASONS`] cycled.
    pub(crate) bad_lines: u64,
}

/// Expected dead-letter reason of each bad absence line kind, in cycle order.
pub(crate) const BAD_ABSENCE_REASONS: [&str; 5] = [
    "malformed_json",
    "missing_field",
    "invalid_field",
    "invalid_field",
    "invalid_field",
];

/// `count` weekdays from `start` (inclusive), as an inclusive date span.
fn weekday_span(start: NaiveDate, count: u32) -> (NaiveDate, NaiveDate) {
    let mut end = start;
    let mut left = count.saturating_sub(1);
    while left > 0 {
        end = end + Days::new(1);
        if !matches!(end.weekday(), Weekday::Sat | Weekday::Sun) {
            left -= 1;
        }
    }
    (start, end)
}

fn draw_records(
    rng: &mut ChaCha8Rng,
    people: &[Employee],
    start_monday: NaiveDate,
    weeks: u32,
) -> Vec<AbsenceRecord> {
    let mut records = Vec::new();
    let mut next_id = 1u32;
    for (index, person) in people.iter().enumerate() {
        // From two weeks before the period, so that some absences are
        // already running when it starts.
        let first_monday = start_monday - Days::new(14);
        for week in 0..u64::from(weeks) + 2 {
            let monday = first_monday + Days::new(week * 7);
            let roll: f64 = rng.random();
            let (kind, length) = if roll < 0.05 {
                let short = rng.random_bool(0.6);
                (
                    "pto",
                    if short {
                        rng.random_range(1..=3)
                    } else {
                        rng.random_range(4..=10)
                    },
                )
            } else if roll < 0.08 {
                ("sick", rng.random_range(1..=3))
            } else if roll < 0.09 {
                ("travel", rng.random_range(2..=4))
            } else if roll < 0.0905 {
                ("leave", rng.random_range(20..=60))
            } else if roll < 0.091 {
                ("accommodation", rng.random_range(5..=30))
            } else {
                continue;
            };
            let first = monday + Days::new(rng.random_range(0..5));
            if !person.is_employed_on(first) {
                continue;
            }
            let (start, end) = weekday_span(first, length);
            if end < start_monday {
                continue;
            }
            let filed = start - Days::new(rng.random_range(1..=21));
            let kind = (!rng.random_bool(0.05)).then_some(kind);
            let approval = AbsenceRecord {
                filed,
                id: next_id,
                employee: index as u32,
                start,
                end,
                kind,
                cancelled: false,
            };
            next_id += 1;
            if rng.random_bool(0.06) {
                let mut cancellation = approval.clone();
                cancellation.filed = filed + Days::new(rng.random_range(1..=10));
                cancellation.cancelled = true;
                records.push(cancellation);
            }
            records.push(approval);
        }
    }
    // Filing order; a cancellation is filed after its approval, and on the
    // same day the approval (cancelled = false) sorts first.
    records.sort_by_key(|record| (record.filed, record.id, record.cancelled));
    records
}

fn write_record(line: &mut String, record: &AbsenceRecord) {
    use std::fmt::Write as _;
    let _ = write!(
        line,
        "{{\"absence_id\":\"a-{:06}\",\"employee_id\":\"{}\"",
        record.id,
        employee_id(record.employee),
    );
    let _ = write!(
        line,
        ",\"start_date\":\"{}\",\"end_date\":\"{}\"",
        record.start, record.end
    );
    if let Some(kind) = record.kind {
        let _ = write!(line, ",\"kind\":\"{kind}\"");
    }
    let status = if record.cancelled {
        "cancelled"
    } else {
        "approved"
    };
    let _ = write!(line, ",\"status\":\"{status}\"}}");
}

/// A bad variant of `record`; `kind` indexes [`BAD_ABSENCE_REASONS`].
fn bad_line(kind: usize, record: &AbsenceRecord) -> String {
    let id = quote(&format!("a-9{:06}", record.id));
    let employee = quote(&employee_id(record.employee));
    let (start, end) = (
        quote(&record.start.to_string()),
        quote(&record.end.to_string()),
    );
    let head = [
        ("absence_id", id.as_str()),
        ("employee_id", employee.as_str()),
    ];
    let fields = |rest: &[(&str, &str)]| object(&[&head[..], rest].concat());
    match kind {
        // Truncated mid-object.
        0 => {
            let mut line = fields(&[("start_date", &start)]);
            line.truncate(line.len() - 8);
            line
        }
        // No status.
        1 => fields(&[
            ("start_date", &start),
            ("end_date", &end),
            ("kind", "\"pto\""),
        ]),
        // A date in the wrong format.
        2 => {
            let slashed = quote(&record.start.format("%Y/%m/%d").to_string());
            fields(&[
                ("start_date", &slashed),
                ("end_date", &end),
                ("kind", "\"pto\""),
                ("status", "\"approved\""),
            ])
        }
        // Ends before it starts.
        3 => {
            let later = quote(&(record.start + Days::new(3)).to_string());
            fields(&[
                ("start_date", &later),
                ("end_date", &start),
                ("kind", "\"sick\""),
                ("status", "\"approved\""),
            ])
        }
        // A status that does not exist.
        _ => fields(&[
            ("start_date", &start),
            ("end_date", &end),
            ("kind", "\"pto\""),
            ("status", "\"pending\""),
        ]),
    }
}

/// Draws the absences, writes `absences.jsonl` and returns the standing
/// absences for the badge generator.
pub(crate) fn write_absences<W: Write>(
    rng: &mut ChaCha8Rng,
    people: &[Employee],
    start_monday: NaiveDate,
    weeks: u32,
    bad_fraction: f64,
    sink: &mut LineSink<W>,
) -> Result<(AbsenceBook, AbsenceCounts), GenerateError> {
    let records = draw_records(rng, people, start_monday, weeks);
    let mut book = AbsenceBook {
        spans: vec![Vec::new(); people.len()],
    };
    let mut cancelled_ids: Vec<u32> = records
        .iter()
        .filter(|record| record.cancelled)
        .map(|record| record.id)
        .collect();
    cancelled_ids.sort_unstable();
    for record in records.iter().filter(|record| !record.cancelled) {
        if cancelled_ids.binary_search(&record.id).is_err() {
            book.spans[record.employee as usize].push((record.start, record.end));
        }
    }

    let wanted_bad = super::bad_line_count(bad_fraction, records.len() as u64, 5);
    let mut counts = AbsenceCounts::default();
    let mut line = String::new();
    for (position, record) in records.iter().enumerate() {
        line.clear();
        write_record(&mut line, record);
        sink.write_line(&line)?;
        counts.records += 1;
        counts.cancellations += u64::from(record.cancelled);
        // Spread the bad lines evenly; the last record flushes any left.
        while counts.bad_lines < wanted_bad
            && (position as u64 + 1) * wanted_bad >= (counts.bad_lines + 1) * records.len() as u64
        {
            let kind = (counts.bad_lines % BAD_ABSENCE_REASONS.len() as u64) as usize;
            sink.write_line(&bad_line(kind, record))?;
            counts.bad_lines += 1;
        }
    }
    Ok((book, counts))
}
