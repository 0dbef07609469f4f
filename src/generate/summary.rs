//! What a generation run wrote, returned to the caller and saved as
//! `summary.json` next to the data.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;

use super::absences::{AbsenceCounts, BAD_ABSENCE_REASONS};
use super::adjustments::{AdjustmentCounts, BAD_ADJUSTMENT_REASONS};
use super::bad::REASONS;
use super::badges::BadgeCounts;
use super::outages::{OutageCounts, BAD_OUTAGE_REASONS};
use super::roster::{RosterCounts, BAD_ROSTER_REASONS};
use super::stays::StayKind;
use super::GenerateOptions;

/// What each file's writer counted.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counts {
    /// `roster.jsonl`.
    pub(crate) roster: RosterCounts,
    /// `absences.jsonl`.
    pub(crate) absences: AbsenceCounts,
    /// `outages.jsonl`.
    pub(crate) outages: OutageCounts,
    /// `adjustments.jsonl`.
    pub(crate) adjustments: AdjustmentCounts,
    /// `badges.jsonl`.
    pub(crate) badges: BadgeCounts,
}

/// Counts of the generated files and the suggested replay clock.
///
/// Per file, regular lines plus bad lines is the file's line count:
/// `badges + bad_badge_lines`, `roster_records + bad_roster_lines`,
/// `absence_records + bad_absence_lines`, `outage_records +
/// bad_outage_lines` and `adjustment_records + bad_adjustment_lines`.
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
    /// Bad lines over all five input files.
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
    /// Well-formed `out` badge lines among `badges` (late and duplicate
    /// copies included).
    pub out_badges: u64,
    /// Recorded office visits that end 6 to 9 hours after arrival.
    pub regular_stays: u64,
    /// Recorded visits that end 5 to 50 minutes after arrival (coffee badges).
    pub coffee_stays: u64,
    /// Recorded visits whose `out` falls after the next local midnight.
    pub late_night_stays: u64,
    /// Recorded visits without an `out` badge.
    pub stays_without_out: u64,
    /// Visits not in `badges.jsonl` because a standing outage of their site
    /// or a standing credit of their employee covers their day.
    pub unrecorded_visits: u64,
    /// Well-formed outage lines, including cancellations and extensions.
    pub outage_records: u64,
    /// Distinct outage ids among them.
    pub outages: u64,
    /// Cancellations among `outage_records`.
    pub outage_cancellations: u64,
    /// Bad lines in `outages.jsonl`.
    pub bad_outage_lines: u64,
    /// Well-formed adjustment lines, including cancellations.
    pub adjustment_records: u64,
    /// `credit_office_day` approvals among them (the other approvals are
    /// `excuse_day`; cancellations are not counted).
    pub adjustment_credits: u64,
    /// Cancellations among `adjustment_records`.
    pub adjustment_cancellations: u64,
    /// Bad lines in `adjustments.jsonl`.
    pub bad_adjustment_lines: u64,
    /// Dead letters a correct replay of all five files with `--now` =
    /// [`Self::now`] produces, by reason.
    pub expected_dead_letters: BTreeMap<String, u64>,
    /// The same by input file name (`badges.jsonl`, …), then by reason; a
    /// file without dead letters is left out.
    pub expected_dead_letters_by_file: BTreeMap<String, BTreeMap<String, u64>>,
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
    out_badges: u64,
    regular_stays: u64,
    coffee_stays: u64,
    late_night_stays: u64,
    stays_without_out: u64,
    unrecorded_visits: u64,
    outage_records: u64,
    outages: u64,
    outage_cancellations: u64,
    bad_outage_lines: u64,
    adjustment_records: u64,
    adjustment_credits: u64,
    adjustment_cancellations: u64,
    bad_adjustment_lines: u64,
    expected_dead_letters: &'a BTreeMap<String, u64>,
    expected_dead_letters_by_file: &'a BTreeMap<String, BTreeMap<String, u64>>,
    options: OptionsFile<'a>,
}

/// The expected reasons of `lines` bad lines that cycle through `kinds`.
fn cycled(kinds: &[&str], lines: u64) -> BTreeMap<String, u64> {
    let mut reasons = BTreeMap::new();
    for position in 0..lines {
        let reason = kinds[(position % kinds.len() as u64) as usize];
        *reasons.entry(reason.to_string()).or_default() += 1;
    }
    reasons
}

impl GenerateSummary {
    pub(crate) fn new(opts: &GenerateOptions, now: DateTime<Utc>, counts: &Counts) -> Self {
        let Counts {
            roster,
            absences,
            outages,
            adjustments,
            badges,
        } = counts;
        let badge_reasons = REASONS
            .iter()
            .zip(badges.reasons)
            .filter(|(_, count)| *count > 0)
            .map(|(reason, count)| ((*reason).to_string(), count))
            .collect();
        let by_file: BTreeMap<String, BTreeMap<String, u64>> = [
            ("badges.jsonl", badge_reasons),
            (
                "roster.jsonl",
                cycled(&BAD_ROSTER_REASONS, roster.bad_lines),
            ),
            (
                "absences.jsonl",
                cycled(&BAD_ABSENCE_REASONS, absences.bad_lines),
            ),
            (
                "outages.jsonl",
                cycled(&BAD_OUTAGE_REASONS, outages.bad_lines),
            ),
            (
                "adjustments.jsonl",
                cycled(&BAD_ADJUSTMENT_REASONS, adjustments.bad_lines),
            ),
        ]
        .into_iter()
        .filter(|(_, reasons)| !reasons.is_empty())
        .map(|(file, reasons)| (file.to_string(), reasons))
        .collect();
        let mut expected_dead_letters = BTreeMap::new();
        for (reason, count) in by_file.values().flatten() {
            *expected_dead_letters.entry(reason.clone()).or_default() += count;
        }
        let stays = |kind: StayKind| badges.stays[kind as usize];
        GenerateSummary {
            employees: opts.employees,
            badges: badges.lines,
            roster_records: roster.records,
            absence_records: absences.records,
            bad_lines: badges.bad_lines
                + roster.bad_lines
                + absences.bad_lines
                + outages.bad_lines
                + adjustments.bad_lines,
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
            out_badges: badges.out_lines,
            regular_stays: stays(StayKind::Regular),
            coffee_stays: stays(StayKind::Coffee),
            late_night_stays: stays(StayKind::LateNight),
            stays_without_out: stays(StayKind::NoOut),
            unrecorded_visits: badges.unrecorded_visits,
            outage_records: outages.records,
            outages: outages.outages,
            outage_cancellations: outages.cancellations,
            bad_outage_lines: outages.bad_lines,
            adjustment_records: adjustments.records,
            adjustment_credits: adjustments.credits,
            adjustment_cancellations: adjustments.cancellations,
            bad_adjustment_lines: adjustments.bad_lines,
            expected_dead_letters,
            expected_dead_letters_by_file: by_file,
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
            out_badges: self.out_badges,
            regular_stays: self.regular_stays,
            coffee_stays: self.coffee_stays,
            late_night_stays: self.late_night_stays,
            stays_without_out: self.stays_without_out,
            unrecorded_visits: self.unrecorded_visits,
            outage_records: self.outage_records,
            outages: self.outages,
            outage_cancellations: self.outage_cancellations,
            bad_outage_lines: self.bad_outage_lines,
            adjustment_records: self.adjustment_records,
            adjustment_credits: self.adjustment_credits,
            adjustment_cancellations: self.adjustment_cancellations,
            bad_adjustment_lines: self.bad_adjustment_lines,
            expected_dead_letters: &self.expected_dead_letters,
            expected_dead_letters_by_file: &self.expected_dead_letters_by_file,
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
