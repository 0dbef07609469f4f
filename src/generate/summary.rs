//! What a generation run wrote, returned to the caller and saved as
//! `summary.json` next to the data.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;

use super::absences::{AbsenceCounts, BAD_ABSENCE_REASONS};
use super::bad::REASONS;
use super::badges::BadgeCounts;
use super::roster::{RosterCounts, BAD_ROSTER_REASONS};
use super::GenerateOptions;

/// Counts of the generated files and the suggested replay clock.
///
/// Per file, regular lines plus bad lines is the file's line count:
/// `badges + bad_badge_lines`, `roster_records + bad_roster_lines` and
/// `absence_records + bad_absence_lines`.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateSummary {
    /// Employees in the roster.
    pub employees: u32,
    /// Well-formed badge lines in `badges.jsonl`, including late ones and
    /// duplicate copies (bad lines excluded).
    pub badges: u64,
    /// Well-formed roster lines, including updates (bad lines excluded).
    pub roster_records: u64,
    /// Well-formed absence lines, including cancellations (bad lines excluded).
    pub absence_records: u64,
    /// Bad lines over all three files.
    pub bad_lines: u64,
    /// Suggested `--now` for replay: one hour after the last week has closed
    /// (its end plus the default 24 h `allowed_lateness`) in every zone. Bad
    /// `future_timestamp` lines lie more than 48 h after it.
    pub now: DateTime<Utc>,
    /// First day of the period (a Monday).
    pub period_start: NaiveDate,
    /// Last day of the period (a Sunday).
    pub period_end: NaiveDate,
    /// Distinct badge events (`badges` minus `duplicate_badges`).
    pub badge_events: u64,
    /// Badge lines delivered late on purpose (including `too_late_badges`).
    pub late_badges: u64,
    /// Badge lines (with their duplicate copies) delivered after their week
    /// left the correction window, which replay dead-letters as `too_late`.
    pub too_late_badges: u64,
    /// Duplicate copies among the badge lines.
    pub duplicate_badges: u64,
    /// Bad lines in `badges.jsonl`.
    pub bad_badge_lines: u64,
    /// Roster updates: second records of an employee, later in the file.
    pub roster_updates: u64,
    /// Bad lines in `roster.jsonl`.
    pub bad_roster_lines: u64,
    /// Absence cancellations among `absence_records`.
    pub absence_cancellations: u64,
    /// Bad lines in `absences.jsonl`.
    pub bad_absence_lines: u64,
    /// Dead letters a correct replay with `--now` = [`Self::now`] produces,
    /// by reason (all three files).
    pub expected_dead_letters: BTreeMap<String, u64>,
}

#[derive(Serialize)]
struct OptionsFile<'a> {
    employees: u32,
    weeks: u32,
    start_monday: &'a str,
    seed: u64,
    late_fraction: f64,
    duplicate_fraction: f64,
    bad_fraction: f64,
}

#[derive(Serialize)]
struct SummaryFile<'a> {
    now: &'a str,
    period_start: &'a str,
    period_end: &'a str,
    employees: u32,
    badges: u64,
    roster_records: u64,
    absence_records: u64,
    bad_lines: u64,
    badge_events: u64,
    late_badges: u64,
    too_late_badges: u64,
    duplicate_badges: u64,
    bad_badge_lines: u64,
    roster_updates: u64,
    bad_roster_lines: u64,
    absence_cancellations: u64,
    bad_absence_lines: u64,
    expected_dead_letters: &'a BTreeMap<String, u64>,
    options: OptionsFile<'a>,
}

/// Adds the expected reasons of `lines` bad lines that cycle through `kinds`.
fn add_cycled(reasons: &mut BTreeMap<String, u64>, kinds: &[&str], lines: u64) {
    for position in 0..lines {
        let reason = kinds[(position % kinds.len() as u64) as usize];
        *reasons.entry(reason.to_string()).or_default() += 1;
    }
}

impl GenerateSummary {
    pub(crate) fn new(
        opts: &GenerateOptions,
        now: DateTime<Utc>,
        roster: &RosterCounts,
        absences: &AbsenceCounts,
        badges: &BadgeCounts,
    ) -> GenerateSummary {
        let mut expected_dead_letters = BTreeMap::new();
        for (reason, count) in REASONS.iter().zip(badges.reasons) {
            if count > 0 {
                expected_dead_letters.insert((*reason).to_string(), count);
            }
        }
        add_cycled(
            &mut expected_dead_letters,
            &BAD_ROSTER_REASONS,
            roster.bad_lines,
        );
        add_cycled(
            &mut expected_dead_letters,
            &BAD_ABSENCE_REASONS,
            absences.bad_lines,
        );
        GenerateSummary {
            employees: opts.employees,
            badges: badges.lines,
            roster_records: roster.records,
            absence_records: absences.records,
            bad_lines: badges.bad_lines + roster.bad_lines + absences.bad_lines,
            now,
            period_start: opts.start_monday,
            period_end: opts.start_monday + Days::new(u64::from(opts.weeks) * 7 - 1),
            badge_events: badges.events,
            late_badges: badges.late,
            too_late_badges: badges.too_late,
            duplicate_badges: badges.duplicates,
            bad_badge_lines: badges.bad_lines,
            roster_updates: roster.updates,
            bad_roster_lines: roster.bad_lines,
            absence_cancellations: absences.cancellations,
            bad_absence_lines: absences.bad_lines,
            expected_dead_letters,
        }
    }

    /// The summary and the options as pretty JSON (`now` in RFC 3339).
    pub(crate) fn to_json(&self, opts: &GenerateOptions) -> String {
        let now = self.now.to_rfc3339_opts(SecondsFormat::Secs, true);
        let (start, end) = (self.period_start.to_string(), self.period_end.to_string());
        let start_monday = opts.start_monday.to_string();
        let file = SummaryFile {
            now: &now,
            period_start: &start,
            period_end: &end,
            employees: self.employees,
            badges: self.badges,
            roster_records: self.roster_records,
            absence_records: self.absence_records,
            bad_lines: self.bad_lines,
            badge_events: self.badge_events,
            late_badges: self.late_badges,
            too_late_badges: self.too_late_badges,
            duplicate_badges: self.duplicate_badges,
            bad_badge_lines: self.bad_badge_lines,
            roster_updates: self.roster_updates,
            bad_roster_lines: self.bad_roster_lines,
            absence_cancellations: self.absence_cancellations,
            bad_absence_lines: self.bad_absence_lines,
            expected_dead_letters: &self.expected_dead_letters,
            options: OptionsFile {
                employees: opts.employees,
                weeks: opts.weeks,
                start_monday: &start_monday,
                seed: opts.seed,
                late_fraction: opts.late_fraction,
                duplicate_fraction: opts.duplicate_fraction,
                bad_fraction: opts.bad_fraction,
            },
        };
        let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
        text.push('\n');
        text
    }
}
