//! How one `[[policy]]` judges weeks and days (SPEC §4.1, v2): its `rule` (or the v1
//! `rolling_weeks`), `min_presence` and `unverified_presence`.
//!
//! Problems name the key inside the rule table (`policy[0].rule.max_missed`); a key that
//! does not belong to the rule's kind is an error, like an unknown key elsewhere.

use std::time::Duration;

use super::super::files::POLICIES_FILE;
use super::super::limits;
use super::super::raw::{DurationText, RawRule};
use super::super::{values, Findings, Rule, UnverifiedPresence};
use super::{ranged, required};

/// The kinds of `rule`, as written, with the keys each takes besides `kind`.
const KINDS: [(&str, &[&str]); 3] = [
    ("weekly", &[]),
    ("rolling_average", &["weeks"]),
    ("missed_weeks", &["weeks", "max_missed"]),
];

/// The rule of policy `index`: from `rule`, else from `rolling_weeks` (1 → weekly, N →
/// rolling average of N weeks; absent → weekly). `None` when either has an error, or both
/// are set.
pub(super) fn rule(
    index: usize,
    rule: Option<RawRule>,
    rolling_weeks: Option<i64>,
    findings: &mut Findings,
) -> Option<Rule> {
    let field = |key: &str| format!("policy[{index}].{key}");
    let from_rolling_weeks = ranged(
        findings,
        &field("rolling_weeks"),
        rolling_weeks.unwrap_or(1),
        limits::ROLLING_WEEKS,
    )
    .map(|weeks| match weeks {
        1 => Rule::Weekly,
        weeks => Rule::RollingAverage { weeks },
    });
    let Some(rule) = rule else {
        return from_rolling_weeks;
    };
    let from_rule = from_table(index, rule, findings);
    if rolling_weeks.is_some() {
        findings.error(
            POLICIES_FILE,
            &field("rule"),
            "set either rule or rolling_weeks, not both (rolling_weeks = N is the v1 form of \
             rule = { kind = \"rolling_average\", weeks = N })",
        );
        return None;
    }
    from_rule
}

/// A `rule` table: a known kind, its required keys within their ranges, no other key.
fn from_table(index: usize, raw: RawRule, findings: &mut Findings) -> Option<Rule> {
    let file = POLICIES_FILE;
    let field = |key: &str| format!("policy[{index}].rule.{key}");
    let kind = required(findings, file, &field("kind"), raw.kind)?;
    let Some((kind, keys)) = KINDS.iter().find(|(name, _)| *name == kind) else {
        findings.error(
            file,
            &field("kind"),
            format!(
                "unknown rule kind {kind:?} (expected \"weekly\", \"rolling_average\" or \
                 \"missed_weeks\")"
            ),
        );
        return None;
    };
    let errors_before = findings.errors.len();
    for (key, present) in [
        ("weeks", raw.weeks.is_some()),
        ("max_missed", raw.max_missed.is_some()),
    ] {
        if present && !keys.contains(&key) {
            let allowed: Vec<&str> = std::iter::once("kind")
                .chain(keys.iter().copied())
                .collect();
            findings.error(
                file,
                &field(key),
                format!(
                    "not a key of rule kind {kind:?} (its keys: {})",
                    allowed.join(", ")
                ),
            );
        }
    }
    let rule = match *kind {
        "weekly" => Some(Rule::Weekly),
        "rolling_average" => required(findings, file, &field("weeks"), raw.weeks)
            .and_then(|n| ranged(findings, &field("weeks"), n, limits::ROLLING_AVERAGE_WEEKS))
            .map(|weeks| Rule::RollingAverage { weeks }),
        _ => {
            let weeks = required(findings, file, &field("weeks"), raw.weeks)
                .and_then(|n| ranged::<u32>(findings, &field("weeks"), n, limits::MISSED_WEEKS));
            let max_missed = required(findings, file, &field("max_missed"), raw.max_missed)
                .and_then(|n| ranged::<u32>(findings, &field("max_missed"), n, limits::MAX_MISSED));
            match (weeks, max_missed) {
                (Some(weeks), Some(max_missed)) if max_missed >= weeks => {
                    findings.error(
                        file,
                        &field("max_missed"),
                        format!("must be less than weeks ({weeks}), got {max_missed}"),
                    );
                    None
                }
                (Some(weeks), Some(max_missed)) => Some(Rule::MissedWeeks { weeks, max_missed }),
                _ => None,
            }
        }
    };
    rule.filter(|_| findings.errors.len() == errors_before)
}

/// `min_presence` (1m to 24h; absent: no presence rule) and `unverified_presence`
/// (`"count"`, the default, or `"ignore"`; an error without `min_presence`). `None` when
/// either has an error.
pub(super) fn presence(
    index: usize,
    min_presence: Option<DurationText>,
    unverified_presence: Option<String>,
    findings: &mut Findings,
) -> Option<(Option<Duration>, UnverifiedPresence)> {
    let file = POLICIES_FILE;
    let field = |key: &str| format!("policy[{index}].{key}");
    let has_min_presence = min_presence.is_some();
    let min_presence =
        match min_presence.map(|text| values::duration_in(text, limits::MIN_PRESENCE)) {
            None => Ok(None),
            Some(Ok(duration)) => Ok(Some(duration)),
            Some(Err(message)) => {
                findings.error(file, &field("min_presence"), message);
                Err(())
            }
        };
    let unverified = match unverified_presence.as_deref() {
        None | Some("count") => Ok(UnverifiedPresence::Count),
        Some("ignore") => Ok(UnverifiedPresence::Ignore),
        Some(other) => {
            findings.error(
                file,
                &field("unverified_presence"),
                format!("must be \"count\" or \"ignore\", got {other:?}"),
            );
            Err(())
        }
    };
    let min_presence_dropped = findings.was_dropped(file, &field("min_presence"));
    if unverified_presence.is_some() && !has_min_presence && !min_presence_dropped {
        findings.error(
            file,
            &field("unverified_presence"),
            "needs min_presence: it says whether a day with an in and no out counts under \
             a minimum presence (SPEC §3.7)",
        );
        return None;
    }
    Some((min_presence.ok()?, unverified.ok()?))
}
