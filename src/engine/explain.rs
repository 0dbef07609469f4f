//! One-sentence explanations of decisions and alerts, built from their evidence.

use std::fmt::Write as _;

use crate::config::{Policy, Rule, UnverifiedPresence};
use crate::domain::{AdjustmentAction, Day, Reason, Week};

use super::evaluate::{AtRisk, Evaluation, WeekFacts};
use super::rules::Rules;
use super::state::{Employee, Interner};

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "; 1 day excused (holiday 2026-05-25)" or "" when nothing was excused. Each day is
/// named by the first of: holiday, absence kind, site outage, excusing adjustment.
fn excused(
    employee: &Employee,
    interner: &Interner,
    rules: &Rules,
    home_site: u16,
    week: Week,
    facts: &WeekFacts,
) -> String {
    if facts.exempt == 0 {
        return String::new();
    }
    let mut items = Vec::new();
    for d in 0..5 {
        if facts.exempt & (1 << d) == 0 {
            continue;
        }
        let day = week.monday().plus(d);
        let what = if facts.holidays & (1 << d) != 0 {
            "holiday".to_owned()
        } else if let Some(absence) = employee.approved_absence_on(day) {
            match absence.kind {
                Some(kind) if !interner.get(kind).is_empty() => interner.get(kind).to_owned(),
                _ => "absence".to_owned(),
            }
        } else if facts.outages & (1 << d) != 0 {
            let site = rules
                .sites
                .get(usize::from(home_site))
                .map_or("", |s| &s.id);
            format!("site outage {site}")
        } else {
            match approved_on(employee, day, AdjustmentAction::ExcuseDay) {
                Some(id) => format!("adjustment {id}"),
                None => "excused".to_owned(),
            }
        };
        items.push(format!("{what} {day}"));
    }
    format!(
        "; {} excused ({})",
        plural(facts.exempt.count_ones(), "day", "days"),
        items.join(", ")
    )
}

/// The id of the first (byte order) approved adjustment with `action` on `day`.
fn approved_on(employee: &Employee, day: Day, action: AdjustmentAction) -> Option<&str> {
    employee
        .adjustments
        .iter()
        .filter(|a| a.approved && a.action == action && a.day == day)
        .map(|a| &*a.id)
        .min()
}

/// A duration in seconds as `1h12m`, `2h`, `30m`, `1m30s`, `0s`.
pub(super) fn duration(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::new();
    if h > 0 {
        let _ = write!(out, "{h}h");
    }
    if m > 0 {
        let _ = write!(out, "{m}m");
    }
    if s > 0 || out.is_empty() {
        let _ = write!(out, "{s}s");
    }
    out
}

fn days_of(week: Week, bits: u8) -> Vec<Day> {
    (0..7)
        .filter(|d| bits & (1 << d) != 0)
        .map(|d| week.monday().plus(d))
        .collect()
}

fn join_days(days: &[Day]) -> String {
    days.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// What counted and what did not in the week (§3.7, §1.6), e.g.
/// "; 1 day too short (1h12m of 2h: 2026-05-27); 1 day credited (adj-12)".
fn presence_and_credits(employee: &Employee, policy: &Policy, eval: &Evaluation) -> String {
    let (week, facts) = (eval.week, &eval.facts);
    let mut s = String::new();
    if facts.short != 0 {
        let days = days_of(week, facts.short);
        let spans: Vec<String> = days
            .iter()
            .map(|d| {
                let span = employee.presence_on(*d).and_then(|p| p.span()).unwrap_or(0);
                duration(span.max(0) as u64)
            })
            .collect();
        let min = policy.min_presence.map_or(0, |m| m.as_secs());
        let _ = write!(
            s,
            "; {} too short ({} of {}: {})",
            plural(days.len() as u32, "day", "days"),
            spans.join(", "),
            duration(min),
            join_days(&days)
        );
    }
    if facts.unverified != 0 {
        let days = days_of(week, facts.unverified);
        let counted = if policy.unverified_presence == UnverifiedPresence::Count {
            "counted"
        } else {
            "not counted"
        };
        let _ = write!(
            s,
            "; {} without a badge-out ({counted}: {})",
            plural(days.len() as u32, "day", "days"),
            join_days(&days)
        );
    }
    if facts.credited != 0 {
        let ids: Vec<&str> = days_of(week, facts.credited)
            .into_iter()
            .filter_map(|d| approved_on(employee, d, AdjustmentAction::CreditOfficeDay))
            .collect();
        let _ = write!(
            s,
            "; {} credited ({})",
            plural(facts.credited.count_ones(), "day", "days"),
            ids.join(", ")
        );
    }
    s
}

/// "missed the target in 5 of the last 8 weeks (4 allowed): 2026-W15, …" (§4.3 rule 7).
fn missed_weeks(eval: &Evaluation, max_missed: u32) -> String {
    let mut s = format!(
        "missed the target in {} of the last {} ({max_missed} allowed)",
        eval.window.missed.len(),
        plural(eval.window.weeks.len() as u32, "week", "weeks"),
    );
    if !eval.window.missed.is_empty() {
        let weeks: Vec<String> = eval.window.missed.iter().map(|w| w.label()).collect();
        let _ = write!(s, ": {}", weeks.join(", "));
    }
    s
}

/// The decision's explanation, e.g.
/// `1 of 2 required office days in 2026-W22; 1 day excused (holiday 2026-05-25)`.
pub(super) fn decision(
    eval: &Evaluation,
    policy: &Policy,
    employee: &Employee,
    interner: &Interner,
    rules: &Rules,
    grace_week: Option<i32>,
) -> String {
    let week = eval.week.label();
    let home = employee.roster.map_or(0, |r| r.home_site);
    let excused = excused(employee, interner, rules, home, eval.week, &eval.facts);
    let details = presence_and_credits(employee, policy, eval);
    match eval.reason {
        Reason::RemoteApproved => format!("exempt in {week}: approved for remote work"),
        Reason::NewHireGrace => format!(
            "exempt in {week}: new-hire grace week {} of {}",
            grace_week.unwrap_or(1),
            policy.new_hire_grace_weeks
        ),
        Reason::FullyExcused if policy.required_days == 0 => {
            format!(
                "exempt in {week}: policy {} requires no office days",
                policy.id
            )
        }
        Reason::FullyExcused => {
            format!("exempt in {week}: no office days required{details}{excused}")
        }
        Reason::MetRequirement | Reason::BelowRequired | Reason::TooManyMissedWeeks => {
            let own = format!(
                "{} of {} required office days in {week}{details}{excused}",
                eval.facts.office.count_ones(),
                eval.facts.required
            );
            match policy.rule {
                Rule::MissedWeeks { max_missed, .. } => {
                    format!("{}; {own}", missed_weeks(eval, max_missed))
                }
                Rule::RollingAverage { .. } if eval.window.weeks.len() > 1 => {
                    let weeks: Vec<String> = eval.window.weeks.iter().map(|w| w.label()).collect();
                    format!(
                        "{} of {} required office days over {} ({}); {own}",
                        eval.window.office,
                        eval.window.required,
                        plural(eval.window.weeks.len() as u32, "week", "weeks"),
                        weeks.join(", "),
                    )
                }
                _ => own,
            }
        }
    }
}

/// A non_compliant alert's explanation.
pub(super) fn non_compliant_alert(
    eval: &Evaluation,
    policy: &Policy,
    level: Option<&str>,
    vp_hold: bool,
) -> String {
    let mut s = match policy.rule {
        Rule::MissedWeeks { max_missed, .. } => missed_weeks(eval, max_missed),
        _ => format!(
            "{} of {} required office days in {}",
            eval.window.office,
            eval.window.required,
            eval.week.label(),
        ),
    };
    let _ = write!(
        s,
        "; {} non-compliant in a row",
        plural(eval.streak, "week", "weeks")
    );
    match level {
        Some(level) => {
            let _ = write!(s, ", escalation {level}");
        }
        None => s.push_str(", no escalation yet"),
    }
    if vp_hold {
        s.push_str("; VP approval needed for promotion");
    }
    s
}

/// A resolved alert's explanation.
pub(super) fn resolved_alert(eval: &Evaluation, previous_streak: u32) -> String {
    format!(
        "met the requirement in {} ({} of {} required office days) after {} non-compliant",
        eval.week.label(),
        eval.window.office,
        eval.window.required,
        plural(previous_streak, "week", "weeks"),
    )
}

/// A retracted alert's explanation.
pub(super) fn retracted_alert(eval: &Evaluation) -> String {
    format!(
        "non-compliant alert for {} withdrawn: corrected data makes the week {}",
        eval.week.label(),
        eval.status.as_str().replace('_', "-"),
    )
}

/// An at-risk alert's explanation.
pub(super) fn at_risk_alert(week: Week, risk: AtRisk) -> String {
    format!(
        "at risk in {}: {} of {} required office days so far with {} left",
        week.label(),
        risk.so_far,
        risk.required,
        plural(risk.remaining, "working day", "working days"),
    ) + &match risk.missed_before {
        Some((missed, allowed)) => {
            format!("; {missed} missed week(s) in the window already ({allowed} allowed)")
        }
        None => String::new(),
    }
}
