//! Raw sites, holidays and policies → validated [`Site`]s, holiday sets and [`Policy`]s.
//!
//! Every check records a problem and carries on, so one run reports everything. An entry
//! with an error is left out of the result; the result is used only when there were no
//! errors at all. Processor settings are validated in `layer`; policies in `policies`, their
//! `rule` and presence keys in `rule`.

mod policies;
mod rule;

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::NaiveDate;

use super::files::{toml_key, HOLIDAYS_FILE, POLICIES_FILE, SITES_FILE};
use super::limits::{self, MAX_NAME_BYTES};
use super::raw::{DateValue, RawHolidaysFile, RawSitesFile};
use super::{Findings, Site};

pub(crate) use policies::policies;

/// Validates `sites.toml`: at least one site; ids non-empty and unique; IANA time zones;
/// non-empty regions.
pub(crate) fn sites(raw: RawSitesFile, findings: &mut Findings) -> Vec<Site> {
    let file = SITES_FILE;
    let entries = raw.site.unwrap_or_default();
    if entries.is_empty() && !findings.was_dropped(file, "site") {
        findings.error(
            file,
            "site",
            "no [[site]] tables; at least one site is required",
        );
    }
    too_many(
        findings,
        file,
        "site",
        "[[site]] tables",
        entries.len(),
        limits::MAX_SITES,
    );
    let mut first_index_of_id: BTreeMap<String, usize> = BTreeMap::new();
    let mut sites = Vec::new();
    for (index, entry) in entries.into_iter().enumerate() {
        let field = |key: &str| format!("site[{index}].{key}");
        let errors_before = findings.errors.len();
        let id = required(findings, file, &field("id"), entry.id);
        if let Some(id) = &id {
            if name_ok(findings, file, &field("id"), id) {
                if let Some(first) = first_index_of_id.get(id) {
                    findings.error(
                        file,
                        &field("id"),
                        format!("duplicate site id {id:?}, also site[{first}]"),
                    );
                } else {
                    first_index_of_id.insert(id.clone(), index);
                }
            }
        }
        let timezone =
            required(findings, file, &field("timezone"), entry.timezone).and_then(|name| {
                match chrono_tz::Tz::from_str(&name) {
                    Ok(timezone) => Some(timezone),
                    Err(_) => {
                        let message = format!(
                        "unknown IANA time zone {name:?} (expected e.g. \"America/Los_Angeles\")"
                    );
                        findings.error(file, &field("timezone"), message);
                        None
                    }
                }
            });
        let region = required(findings, file, &field("region"), entry.region);
        if let Some(region) = &region {
            name_ok(findings, file, &field("region"), region);
        }
        if let (Some(id), Some(timezone), Some(region)) = (id, timezone, region) {
            if findings.errors.len() == errors_before {
                sites.push(Site {
                    id,
                    timezone,
                    region,
                });
            }
        }
    }
    sites
}

/// Validates `holidays.toml`: every date a strict local date. Repeated dates are fine.
pub(crate) fn holidays(
    raw: RawHolidaysFile,
    findings: &mut Findings,
) -> BTreeMap<String, BTreeSet<NaiveDate>> {
    let mut holidays = BTreeMap::new();
    let regions = raw.holidays.unwrap_or_default();
    too_many(
        findings,
        HOLIDAYS_FILE,
        "holidays",
        "holiday regions",
        regions.len(),
        limits::MAX_HOLIDAY_REGIONS,
    );
    for (region, dates) in regions {
        let region_field = format!("holidays.{}", toml_key(&region));
        if region.trim().is_empty() {
            findings.error(
                HOLIDAYS_FILE,
                &region_field,
                "region name must not be empty",
            );
        } else {
            name_ok(findings, HOLIDAYS_FILE, &region_field, &region);
        }
        too_many(
            findings,
            HOLIDAYS_FILE,
            &region_field,
            "dates",
            dates.len(),
            limits::MAX_HOLIDAYS_PER_REGION,
        );
        let mut valid = BTreeSet::new();
        for (index, date) in dates.iter().enumerate() {
            match parse_date(date) {
                Ok(date) => {
                    valid.insert(date);
                }
                Err(message) => {
                    findings.error(HOLIDAYS_FILE, &format!("{region_field}[{index}]"), message)
                }
            }
        }
        holidays.insert(region, valid);
    }
    holidays
}

/// Warns about holiday regions that no site uses (usually a typo in a region name).
pub(crate) fn holiday_regions(
    sites: &[Site],
    holidays: &BTreeMap<String, BTreeSet<NaiveDate>>,
    findings: &mut Findings,
) {
    let used: BTreeSet<&str> = sites.iter().map(|site| site.region.as_str()).collect();
    for region in holidays.keys() {
        if !used.contains(region.as_str()) {
            findings.warn(
                HOLIDAYS_FILE,
                &format!("holidays.{}", toml_key(region)),
                format!("no site has region {region:?}; these holidays are never used"),
            );
        }
    }
}

/// `value`, or a "missing required key" problem (unless the key was unreadable).
fn required<T>(findings: &mut Findings, file: &str, field: &str, value: Option<T>) -> Option<T> {
    if value.is_none() {
        findings.missing(file, field);
    }
    value
}

/// `value` as `T` when within `min..=max`, else a problem in `policies.toml`.
fn ranged<T: TryFrom<i64>>(
    findings: &mut Findings,
    field: &str,
    value: i64,
    (min, max): (i64, i64),
) -> Option<T> {
    let converted = (min..=max)
        .contains(&value)
        .then(|| T::try_from(value).ok())
        .flatten();
    if converted.is_none() {
        findings.error(
            POLICIES_FILE,
            field,
            format!("must be between {min} and {max}, got {value}"),
        );
    }
    converted
}

/// Records a problem when a list at `field` holds more than `max` entries.
fn too_many(
    findings: &mut Findings,
    file: &str,
    field: &str,
    what: &str,
    count: usize,
    max: usize,
) {
    if count > max {
        findings.error(
            file,
            field,
            format!("{count} {what}; at most {max} are allowed"),
        );
    }
}

/// Checks a name (site id, region, policy id, policy group, escalation level): not blank,
/// at most [`MAX_NAME_BYTES`], no control characters. Records a problem and returns false
/// otherwise.
fn name_ok(findings: &mut Findings, file: &str, field: &str, name: &str) -> bool {
    let message = if name.trim().is_empty() {
        "must not be empty".to_owned()
    } else if name.len() > MAX_NAME_BYTES {
        format!(
            "must be 1 to {MAX_NAME_BYTES} bytes, got {} bytes",
            name.len()
        )
    } else if name.chars().any(super::is_unsafe_char) {
        format!("must not contain control characters, got {name:?}")
    } else {
        return true;
    };
    findings.error(file, field, message);
    false
}

/// A local date: a string exactly `YYYY-MM-DD`, or a TOML date without time or offset.
pub(crate) fn parse_date(value: &DateValue) -> Result<NaiveDate, String> {
    match value {
        DateValue::Text(text) => {
            let bytes = text.as_bytes();
            let shaped = bytes.len() == 10
                && bytes.iter().enumerate().all(|(i, b)| match i {
                    4 | 7 => *b == b'-',
                    _ => b.is_ascii_digit(),
                });
            if !shaped {
                return Err(format!("expected a date as YYYY-MM-DD, got {text:?}"));
            }
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| format!("{text:?} is not a calendar date"))
                .and_then(date_in_range)
        }
        DateValue::Toml(datetime) => match (datetime.date, datetime.time, datetime.offset) {
            (Some(date), None, None) => NaiveDate::from_ymd_opt(
                i32::from(date.year),
                u32::from(date.month),
                u32::from(date.day),
            )
            .ok_or_else(|| format!("{datetime} is not a calendar date"))
            .and_then(date_in_range),
            _ => Err(format!(
                "expected a date without time or offset, got {datetime}"
            )),
        },
    }
}

/// `date` when within [`limits::MIN_DATE`] to [`limits::MAX_DATE`].
fn date_in_range(date: NaiveDate) -> Result<NaiveDate, String> {
    if (limits::MIN_DATE..=limits::MAX_DATE).contains(&date) {
        Ok(date)
    } else {
        Err(format!(
            "must be between {} and {}, got {date}",
            limits::MIN_DATE,
            limits::MAX_DATE
        ))
    }
}
