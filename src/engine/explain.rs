//! One-sentence explanations of decisions and alerts, built from their evidence.

use std::fmt::Write as _;

use crate::config::Policy;
use crate::domain::{Reason, Status, Week};

use super::evaluate::{Evaluation, WeekFacts};
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
            match employee.absence_kind(day) {
                Some(Some(kind)) if !interner.get(kind).is_empty() => interner.get(kind).to_owned(),
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
pub fn decision(
    e: &Evaluation,
    policy: &Policy,
    employee: &Employee,
    interner: &Interner,
    grace_week: Option<i32>,
) -> String {
    let week = e.week.label();
    let excused = excused(employee, interner, e.week, &e.facts);
    match e.reason {
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
        Reason::MetRequirement | Reason::BelowRequired if e.window.len() <= 1 => format!(
            "{} of {} required office days in {week}{excused}",
            e.window_office, e.window_required
        ),
        Reason::MetRequirement | Reason::BelowRequired => {
            let weeks: Vec<String> = e.window.iter().map(|w| w.label()).collect();
            let mut s = format!(
                "{} of {} required office days over {} ({}){excused}",
                e.window_office,
                e.window_required,
                plural(e.window.len() as u32, "week", "weeks"),
                weeks.join(", "),
            );
            if e.status == Status::NonCompliant {
                let _ = write!(s, "; {} in {week} alone", e.facts.office.count_ones());
            }
            s
        }
    }
}

/// A non_compliant alert's explanation.
pub fn non_compliant_alert(e: &Evaluation, level: Option<&str>, vp_hold: bool) -> String {
    let mut s = format!(
        "{} of {} required office days in {}; {} non-compliant in a row",
        e.window_office,
        e.window_required,
        e.week.label(),
        plural(e.streak, "week", "weeks"),
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
pub fn resolved_alert(e: &Evaluation, previous_streak: u32) -> String {
    format!(
        "met the requirement in {} ({} of {} required office days) after {} non-compliant",
        e.week.label(),
        e.window_office,
        e.window_required,
        plural(previous_streak, "week", "weeks"),
    )
}

/// A retracted alert's explanation.
pub fn retracted_alert(e: &Evaluation) -> String {
    format!(
        "non-compliant alert for {} withdrawn: corrected data makes the week {}",
        e.week.label(),
        e.status.as_str().replace('_', "-"),
    )
}

/// An at-risk alert's explanation.
pub fn at_risk_alert(week: Week, so_far: u32, remaining: u32, required: u32) -> String {
    format!(
        "at risk in {}: {so_far} of {required} required office days so far with {} left",
        week.label(),
        plural(remaining, "working day", "working days"),
    )
}
