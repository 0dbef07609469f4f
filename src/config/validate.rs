//! Raw sites, holidays and policies → validated [`Site`]s, holiday sets and [`Policy`]s.
//!
//! Every check records a problem and carries on, so one run reports everything. An entry
//! with an error is left out of the result; the result is used only when there were no
//! errors at all. Processor settings are validated in `layer`.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, Weekday};

use super::files::{toml_key, HOLIDAYS_FILE, POLICIES_FILE, SITES_FILE};
use super::limits::{self, MAX_NAME_BYTES};
use super::raw::{DateValue, RawHolidaysFile, RawPoliciesFile, RawPolicy, RawRung, RawSitesFile};
use super::{EscalationRung, Findings, Policy, Rule, Site, UnverifiedPresence};

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

/// Validates `policies.toml` (SPEC §4.1), each entry and then the entries together.
pub(crate) fn policies(raw: RawPoliciesFile, findings: &mut Findings) -> Vec<Policy> {
    let entries = raw.policy.unwrap_or_default();
    if entries.is_empty() && !findings.was_dropped(POLICIES_FILE, "policy") {
        findings.warn(
            POLICIES_FILE,
            "policy",
            "no [[policy]] tables: no week will be evaluated",
        );
    }
    too_many(
        findings,
        POLICIES_FILE,
        "policy",
        "[[policy]] tables",
        entries.len(),
        limits::MAX_POLICIES,
    );
    let valid: Vec<(usize, Policy)> = entries
        .into_iter()
        .enumerate()
        .filter_map(|(index, entry)| policy(index, entry, findings).map(|p| (index, p)))
        .collect();

    let mut by_id_version: BTreeMap<(&str, u32), usize> = BTreeMap::new();
    let mut by_group_start: BTreeMap<(&str, NaiveDate), (usize, &Policy)> = BTreeMap::new();
    for (index, policy) in &valid {
        let key = (policy.id.as_str(), policy.version);
        if let Some(first) = by_id_version.insert(key, *index) {
            findings.error(
                POLICIES_FILE,
                &format!("policy[{index}]"),
                format!(
                    "duplicate policy id {:?} version {}, also policy[{first}]",
                    policy.id, policy.version
                ),
            );
        }
        for group in &policy.policy_groups {
            let key = (group.as_str(), policy.effective_from);
            if let Some((first, other)) = by_group_start.get(&key) {
                findings.error(
                    POLICIES_FILE,
                    &format!("policy[{index}].effective_from"),
                    format!(
                        "policy group {group:?} has two entries effective from {}: policy[{first}] \
                         ({:?} version {}) and policy[{index}] ({:?} version {})",
                        policy.effective_from, other.id, other.version, policy.id, policy.version
                    ),
                );
            } else {
                by_group_start.insert(key, (*index, policy));
            }
        }
    }
    let groups: BTreeSet<&str> = valid
        .iter()
        .flat_map(|(_, policy)| policy.policy_groups.iter().map(String::as_str))
        .collect();
    if groups.len() > limits::MAX_POLICY_GROUPS {
        findings.error(
            POLICIES_FILE,
            "policy",
            format!(
                "{} distinct policy groups over all policies; at most {} are allowed",
                groups.len(),
                limits::MAX_POLICY_GROUPS
            ),
        );
    }
    let has_errors = findings.errors.iter().any(|p| p.file == POLICIES_FILE);
    if has_errors {
        Vec::new()
    } else {
        valid.into_iter().map(|(_, policy)| policy).collect()
    }
}

/// Validates one `[[policy]]` entry; `None` when it has an error.
fn policy(index: usize, raw: RawPolicy, findings: &mut Findings) -> Option<Policy> {
    let file = POLICIES_FILE;
    let field = |key: &str| format!("policy[{index}].{key}");
    let errors_before = findings.errors.len();

    let id = required(findings, file, &field("id"), raw.id);
    if let Some(id) = &id {
        name_ok(findings, file, &field("id"), id);
    }
    let version = required(findings, file, &field("version"), raw.version)
        .and_then(|n| ranged(findings, &field("version"), n, limits::VERSION));

    let policy_groups = required(findings, file, &field("policy_groups"), raw.policy_groups);
    if let Some(groups) = &policy_groups {
        if groups.is_empty() {
            findings.error(
                file,
                &field("policy_groups"),
                "must list at least one policy group",
            );
        }
        too_many(
            findings,
            file,
            &field("policy_groups"),
            "policy groups",
            groups.len(),
            limits::MAX_POLICY_GROUPS,
        );
        let mut seen = BTreeSet::new();
        for (position, group) in groups.iter().enumerate() {
            let group_field = format!("{}[{position}]", field("policy_groups"));
            if name_ok(findings, file, &group_field, group) && !seen.insert(group) {
                findings.warn(
                    file,
                    &group_field,
                    format!("policy group {group:?} listed twice"),
                );
            }
        }
    }

    let effective_from = required(findings, file, &field("effective_from"), raw.effective_from)
        .and_then(|value| match parse_date(&value) {
            Ok(date) => Some(date),
            Err(message) => {
                findings.error(file, &field("effective_from"), message);
                None
            }
        });
    if let Some(date) = effective_from.filter(|date| date.weekday() != Weekday::Mon) {
        let next_monday =
            date + chrono::Days::new(u64::from(7 - date.weekday().num_days_from_monday()));
        findings.warn(
            file,
            &field("effective_from"),
            format!(
                "{date} is a {}, not a Monday; the first week evaluated under this policy \
                 starts {next_monday}",
                date.format("%A")
            ),
        );
    }

    let required_days = required(findings, file, &field("required_days"), raw.required_days)
        .and_then(|n| ranged(findings, &field("required_days"), n, limits::REQUIRED_DAYS));
    let rolling_weeks = ranged(
        findings,
        &field("rolling_weeks"),
        raw.rolling_weeks.unwrap_or(1),
        limits::ROLLING_WEEKS,
    );
    let count_weekends = raw.count_weekends.unwrap_or(false);
    if let Some(days) = required_days.filter(|days| *days > 5 && !count_weekends) {
        findings.warn(
            file,
            &field("required_days"),
            format!("{days} days are required but only the 5 weekdays count (count_weekends = false); nobody can comply"),
        );
    }
    let new_hire_grace_weeks = ranged(
        findings,
        &field("new_hire_grace_weeks"),
        raw.new_hire_grace_weeks.unwrap_or(0),
        limits::NEW_HIRE_GRACE_WEEKS,
    );
    let promotion_hold_after_weeks = ranged(
        findings,
        &field("promotion_hold_after_weeks"),
        raw.promotion_hold_after_weeks.unwrap_or(1),
        limits::PROMOTION_HOLD_AFTER_WEEKS,
    );
    let rungs = raw.escalation.unwrap_or_default();
    too_many(
        findings,
        file,
        &field("escalation"),
        "escalation rungs",
        rungs.len(),
        limits::MAX_ESCALATION_RUNGS,
    );
    let escalation = escalation(index, rungs, findings);

    if findings.errors.len() != errors_before {
        return None;
    }
    Some(Policy {
        id: id?,
        version: version?,
        policy_groups: policy_groups?,
        effective_from: effective_from?,
        required_days: required_days?,
        rule: match rolling_weeks? {
            1 => Rule::Weekly,
            weeks => Rule::RollingAverage { weeks },
        },
        min_presence: None,
        unverified_presence: UnverifiedPresence::Count,
        count_weekends,
        new_hire_grace_weeks: new_hire_grace_weeks?,
        promotion_hold_after_weeks: promotion_hold_after_weeks?,
        escalation: escalation?,
    })
}

/// Validates an escalation ladder: each rung `after_weeks ≥ 1` and a non-empty level,
/// `after_weeks` strictly increasing.
fn escalation(
    policy_index: usize,
    rungs: Vec<RawRung>,
    findings: &mut Findings,
) -> Option<Vec<EscalationRung>> {
    let file = POLICIES_FILE;
    let errors_before = findings.errors.len();
    let mut valid = Vec::new();
    let mut previous: Option<u32> = None;
    for (index, rung) in rungs.into_iter().enumerate() {
        let field = |key: &str| format!("policy[{policy_index}].escalation[{index}].{key}");
        let after_weeks = required(findings, file, &field("after_weeks"), rung.after_weeks)
            .and_then(|n| ranged(findings, &field("after_weeks"), n, limits::AFTER_WEEKS));
        if let (Some(before), Some(now)) = (previous, after_weeks) {
            if now <= before {
                findings.error(
                    file,
                    &field("after_weeks"),
                    format!(
                        "escalation rungs out of order: after_weeks {now} follows {before}; \
                         list rungs with strictly increasing after_weeks"
                    ),
                );
            }
        }
        previous = after_weeks.or(previous);
        let level = required(findings, file, &field("level"), rung.level);
        if let Some(level) = &level {
            name_ok(findings, file, &field("level"), level);
        }
        if let (Some(after_weeks), Some(level)) = (after_weeks, level) {
            valid.push(EscalationRung { after_weeks, level });
        }
    }
    (findings.errors.len() == errors_before).then_some(valid)
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
