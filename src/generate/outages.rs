//! Site outages (SPEC §1.5): badge readers offline, offices closed for a
//! power cut or planned maintenance, written to `outages.jsonl`.
//!
//! Every site has an outage in about one week in eight (a little over one
//! and a half per quarter): 60% last one day, 25% two days, 15% three to five
//! days (calendar days, weekends included). One in five is later cancelled
//! (a second record with the same outage_id and `"status":"cancelled"`: the
//! closure was called off, or filed in error) and one in ten is extended by a
//! day (a second, active record with a later end date). Planned maintenance
//! is filed one to two weeks ahead, anything else on its first day.
//!
//! While an outage stands (not cancelled), nobody's badge at its site is
//! recorded on its days: the badge generator leaves those visits out, so the
//! outage days are exempt days (§4.2) that a real feed would have no badges on.

use std::fmt::Write as _;
use std::io::Write;

use chrono::{Days, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::{SITES, UNKNOWN_SITE};
use super::output::{bad_due, object, quote, LineSink};
use super::GenerateError;

/// Chance that a site has an outage starting in a given week.
pub(crate) const WEEKLY_CHANCE: f64 = 0.125;
/// Share of outages later cancelled.
pub(crate) const CANCELLED_SHARE: f64 = 0.2;
/// Share of outages (not cancelled) later extended by one day.
pub(crate) const EXTENDED_SHARE: f64 = 0.1;

/// Reasons given for an outage; the first is planned ahead.
const REASONS: [&str; 5] = [
    "planned maintenance: building closed",
    "badge readers offline",
    "power outage: office closed",
    "network outage: badge system down",
    "water damage: floor closed",
];

/// Expected dead-letter reason of each bad outage line kind, in cycle order.
pub(crate) const BAD_OUTAGE_REASONS: [&str; 5] = [
    "malformed_json",
    "unknown_site",
    "invalid_field",
    "invalid_field",
    "missing_field",
];

/// One outage record as written.
#[derive(Debug, Clone)]
struct OutageRecord {
    /// Day the record is filed; only orders the file.
    filed: NaiveDate,
    /// Number in `o-NNNNN`.
    id: u32,
    /// 0 for the first record of an outage, 1 for its replacement.
    version: u8,
    site: u8,
    start: NaiveDate,
    end: NaiveDate,
    reason: Option<&'static str>,
    cancelled: bool,
}

/// The outages that stand (their latest record is active), per site.
#[derive(Debug, Default)]
pub(crate) struct OutageBook {
    spans: Vec<Vec<(NaiveDate, NaiveDate)>>,
}

impl OutageBook {
    /// Whether `site` has a standing outage on `day`.
    pub(crate) fn is_down(&self, site: u8, day: NaiveDate) -> bool {
        self.spans.get(usize::from(site)).is_some_and(|spans| {
            spans
                .iter()
                .any(|(start, end)| (*start..=*end).contains(&day))
        })
    }
}

/// Counts of what [`write_outages`] wrote.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct OutageCounts {
    /// Well-formed records (first records, cancellations and extensions).
    pub(crate) records: u64,
    /// Distinct outage ids among them.
    pub(crate) outages: u64,
    /// Cancellations among them.
    pub(crate) cancellations: u64,
    /// Bad lines, one per entry of [`BAD_OUTAGE_REASONS`] cycled.
    pub(crate) bad_lines: u64,
}

fn draw_records(rng: &mut ChaCha8Rng, start_monday: NaiveDate, weeks: u32) -> Vec<OutageRecord> {
    let mut records = Vec::new();
    let mut next_id = 1u32;
    for week in 0..u64::from(weeks) {
        let monday = start_monday + Days::new(week * 7);
        for site in 0..SITES.len() as u8 {
            if !rng.random_bool(WEEKLY_CHANCE) {
                continue;
            }
            let start = monday + Days::new(rng.random_range(0..5));
            let days = match rng.random_range(0..20) {
                0..=11 => 1,
                12..=16 => 2,
                _ => rng.random_range(3..=5),
            };
            let end = start + Days::new(days - 1);
            let reason_index = rng.random_range(0..REASONS.len());
            let filed = if reason_index == 0 {
                start - Days::new(rng.random_range(7..=14))
            } else {
                start
            };
            let first = OutageRecord {
                filed,
                id: next_id,
                version: 0,
                site,
                start,
                end,
                reason: (!rng.random_bool(0.1)).then_some(REASONS[reason_index]),
                cancelled: false,
            };
            next_id += 1;
            let roll: f64 = rng.random();
            if roll < CANCELLED_SHARE {
                let mut cancellation = first.clone();
                cancellation.version = 1;
                cancellation.filed = filed + Days::new(rng.random_range(1..=5));
                cancellation.cancelled = true;
                records.push(cancellation);
            } else if roll < CANCELLED_SHARE + EXTENDED_SHARE {
                let mut extension = first.clone();
                extension.version = 1;
                extension.end = end + Days::new(1);
                extension.filed = end.max(filed);
                records.push(extension);
            }
            records.push(first);
        }
    }
    records.sort_by_key(|record| (record.filed, record.id, record.version));
    records
}

fn write_record(line: &mut String, record: &OutageRecord) {
    let _ = write!(
        line,
        "{{\"outage_id\":\"o-{:05}\",\"site_id\":\"{}\",\"start_date\":\"{}\",\"end_date\":\"{}\"",
        record.id,
        SITES[usize::from(record.site)].id,
        record.start,
        record.end,
    );
    let status = if record.cancelled {
        "cancelled"
    } else {
        "active"
    };
    let _ = write!(line, ",\"status\":\"{status}\"");
    if let Some(reason) = record.reason {
        let _ = write!(line, ",\"reason\":\"{reason}\"");
    }
    line.push('}');
}

/// Bad line `number` (1-based, it makes the id unique), a variant of
/// `record`; `kind` indexes [`BAD_OUTAGE_REASONS`].
fn bad_line(kind: usize, number: u64, record: &OutageRecord) -> String {
    let id = quote(&format!("o-9{number:05}"));
    let site = quote(SITES[usize::from(record.site)].id);
    let start = quote(&record.start.to_string());
    let end = quote(&record.end.to_string());
    let reason = quote(REASONS[1]);
    let fields = |site: &str, start: &str, end: Option<&str>| {
        let mut fields = vec![("outage_id", id.as_str()), ("site_id", site)];
        fields.push(("start_date", start));
        if let Some(end) = end {
            fields.push(("end_date", end));
        }
        fields.push(("status", "\"active\""));
        fields.push(("reason", reason.as_str()));
        object(&fields)
    };
    match kind {
        // Truncated mid-object.
        0 => {
            let mut line = fields(&site, &start, Some(&end));
            line.truncate(line.len() / 2);
            line
        }
        // A site that is not configured.
        1 => fields(&quote(UNKNOWN_SITE), &start, Some(&end)),
        // Ends before it starts.
        2 => {
            let later = quote(&(record.end + Days::new(2)).to_string());
            fields(&site, &later, Some(&start))
        }
        // Spans more than 366 days.
        3 => {
            let far = quote(&(record.start + Days::new(400)).to_string());
            fields(&site, &start, Some(&far))
        }
        // No end date.
        _ => fields(&site, &start, None),
    }
}

/// Draws the outages, writes `outages.jsonl` and returns the standing
/// outages for the badge generator.
pub(crate) fn write_outages<W: Write>(
    rng: &mut ChaCha8Rng,
    start_monday: NaiveDate,
    weeks: u32,
    bad_fraction: f64,
    sink: &mut LineSink<W>,
) -> Result<(OutageBook, OutageCounts), GenerateError> {
    let records = draw_records(rng, start_monday, weeks);
    // The latest record of each id wins (ids are 1..=n, file order is time order).
    let mut latest: Vec<Option<&OutageRecord>> = Vec::new();
    for record in &records {
        let slot = record.id as usize;
        if latest.len() <= slot {
            latest.resize(slot + 1, None);
        }
        latest[slot] = Some(record);
    }
    let mut book = OutageBook {
        spans: vec![Vec::new(); SITES.len()],
    };
    for record in latest.iter().flatten().filter(|record| !record.cancelled) {
        book.spans[usize::from(record.site)].push((record.start, record.end));
    }

    let total = records.len() as u64;
    let wanted_bad = super::bad_line_count(bad_fraction, total, BAD_OUTAGE_REASONS.len());
    let mut counts = OutageCounts {
        outages: latest.iter().flatten().count() as u64,
        ..OutageCounts::default()
    };
    let mut line = String::new();
    for (position, record) in records.iter().enumerate() {
        line.clear();
        write_record(&mut line, record);
        sink.write_line(&line)?;
        counts.records += 1;
        counts.cancellations += u64::from(record.cancelled);
        while bad_due(position as u64, total, wanted_bad, counts.bad_lines) {
            let kind = (counts.bad_lines % BAD_OUTAGE_REASONS.len() as u64) as usize;
            sink.write_line(&bad_line(kind, counts.bad_lines + 1, record))?;
            counts.bad_lines += 1;
        }
    }
    Ok((book, counts))
}
