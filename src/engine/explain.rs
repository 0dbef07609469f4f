//! One-sentence explanations of decisions and alerts, built from their evidence.

use std::fmt::Write as _;

use crate::config::Policy;
use crate::domain::{Reason, Status, Week};

use super::evaluate::{AtRisk, Evaluation, WeekFacts};
use super::state::{Employee, Interner};

fn plural(n: u32, one: &str, many: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "; 1 day excused (holiday 2026-05-25)" or "" when nothing was excused.
fn excused(employee: &Employee, interner: &Interner, week: Week, facts: &WeekFacts) -> String {
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
        } else {
            match employee.approved_absence_on(day).and_then(|a| a.kind) {
                Some(kind) if !interner.get(kind).is_empty() => interner.get(kind).to_owned(),
                _ => "absence".to_owned(),
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

/// The decision's explanation, e.g.
/// `1 of 2 required office days in 2026-W22; 1 day excused (holiday 2026-05-25)`.
pub(super) fn decision(
    eval: &Evaluation,
    policy: &Policy,
    employee: &Employee,
    interner: &Interner,
    grace_week: Option<i32>,
) -> String {
    let week = eval.week.label();
    let excused = excused(employee, interner, eval.week, &eval.facts);
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
        Reason::FullyExcused => format!("exempt in {week}: no office days required{excused}"),
        Reason::MetRequirement | Reason::BelowRequired | Reason::TooManyMissedWeeks
            if eval.window.weeks.len() <= 1 =>
        {
            format!(
                "{} of {} required office days in {week}{excused}",
                eval.window.office, eval.window.required
            )
        }
        Reason::MetRequirement | Reason::BelowRequired | Reason::TooManyMissedWeeks => {
            let weeks: Vec<String> = eval.window.weeks.iter().map(|w| w.label()).collect();
            let mut s = format!(
                "{} of {} required office days over {} ({}){excused}",
                eval.window.office,
                eval.window.required,
                plural(eval.window.weeks.len() as u32, "week", "weeks"),
                weeks.join(", "),
            );
            if eval.status == Status::NonCompliant {
                let _ = write!(s, "; {} in {week} alone", eval.facts.office.count_ones());
            }
            s
        }
    }
}

/// A non_compliant alert's explanation.
pub(super) fn non_compliant_alert(eval: &Evaluation, level: Option<&str>, vp_hold: bool) -> String {
    let mut s = format!(
        "{} of {} required office days in {}; {} non-compliant in a row",
        eval.window.office,
        eval.window.required,
        eval.week.label(),
        plural(eval.streak, "week", "weeks"),
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
    )
}
