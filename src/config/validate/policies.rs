//! `policies.toml` (SPEC §4.1): each `[[policy]]` entry, its escalation ladder, and the
//! entries together (unique `(id, version)`, one entry per group and date).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate, Weekday};

use super::super::files::POLICIES_FILE;
use super::super::limits;
use super::super::raw::{RawPoliciesFile, RawPolicy, RawRung};
use super::super::{EscalationRung, Findings, Policy};
use super::{name_ok, parse_date, ranged, required, rule, too_many};

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
    let rule = rule::rule(index, raw.rule, raw.rolling_weeks, findings);
    let presence = rule::presence(index, raw.min_presence, raw.unverified_presence, findings);
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
        rule: rule?,
        min_presence: presence?.0,
        unverified_presence: presence?.1,
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
