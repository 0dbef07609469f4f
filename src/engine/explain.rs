//! One-sentence explanations of decisions and alerts, built from their evidence.

use crate::config::{Policy, Rule, UnverifiedPresence};
use crate::domain::output::WeekDays;
use crate::domain::{AdjustmentAction, Day, Reason, Week};

use super::evaluate::{AtRisk, Evaluation, WeekFacts};
use super::rules::Rules;
use super::state::{Employee, Interner};

/// Appends the decimal digits of `n`.
fn num(s: &mut String, n: impl itoa::Integer) {
    s.push_str(itoa::Buffer::new().format(n));
}

/// Appends "1 day" or "2 days".
fn plural(s: &mut String, n: u32, one: &str, many: &str) {
    num(s, n);
    s.push(' ');
    s.push_str(if n == 1 { one } else { many });
}

/// Appends `items`, separated by ", ".
fn join<T>(
    s: &mut String,
    items: impl IntoIterator<Item = T>,
    mut item: impl FnMut(&mut String, T),
) {
    for (n, x) in items.into_iter().enumerate() {
        if n > 0 {
            s.push_str(", ");
        }
        item(s, x);
    }
}

fn push_day(s: &mut String, day: Day) {
    s.push_str(day.date_text().as_str());
}

fn push_week(s: &mut String, week: Week) {
    s.push_str(week.label_text().as_str());
}

/// Appends "; 1 day excused (holiday 2026-05-25)", nothing when nothing was excused. Each
/// day is named by the first of: holiday, absence kind, site outage, excusing adjustment.
fn excused(
    s: &mut String,
    employee: &Employee,
    interner: &Interner,
    rules: &Rules,
    home_site: u16,
    week: Week,
    facts: &WeekFacts,
) {
    if facts.exempt == 0 {
        return;
    }
    s.push_str("; ");
    plural(s, facts.exempt.count_ones(), "day", "days");
    s.push_str(" excused (");
    let weekdays = (0..5).filter(|d| facts.exempt & (1 << d) != 0);
    join(s, weekdays, |s, d| {
        let day = week.monday().plus(d);
        if facts.holidays & (1 << d) != 0 {
            s.push_str("holiday");
        } else if let Some(absence) = employee.approved_absence_on(day) {
            match absence.kind {
                Some(kind) if !interner.get(kind).is_empty() => s.push_str(interner.get(kind)),
                _ => s.push_str("absence"),
            }
        } else if facts.outages & (1 << d) != 0 {
            let site = rules
                .sites
                .get(usize::from(home_site))
                .map_or("", |s| &s.id);
            s.push_str("site outage ");
            s.push_str(site);
        } else {
            match approved_on(employee, day, AdjustmentAction::ExcuseDay) {
                Some(id) => {
                    s.push_str("adjustment ");
                    s.push_str(id);
                }
                None => s.push_str("excused"),
            }
        }
        s.push(' ');
        push_day(s, day);
    });
    s.push(')');
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

/// Appends a duration in seconds as `1h12m`, `2h`, `30m`, `1m30s`, `0s`.
fn duration(s: &mut String, secs: u64) {
    let (h, m, sec) = (secs / 3600, secs % 3600 / 60, secs % 60);
    if h > 0 {
        num(s, h);
        s.push('h');
    }
    if m > 0 {
        num(s, m);
        s.push('m');
    }
    if sec > 0 || (h == 0 && m == 0) {
        num(s, sec);
        s.push('s');
    }
}

/// Appends what counted and what did not in the week (§3.7, §1.6), e.g.
/// "; 1 day too short (1h12m of 2h: 2026-05-27); 1 day credited (adj-12)".
fn presence_and_credits(s: &mut String, employee: &Employee, policy: &Policy, eval: &Evaluation) {
    let (week, facts) = (eval.week, &eval.facts);
    if facts.short != 0 {
        let days = WeekDays::new(week, facts.short);
        s.push_str("; ");
        plural(s, days.len() as u32, "day", "days");
        s.push_str(" too short (");
        join(s, days.iter(), |s, d| {
            let span = employee.presence_on(d).and_then(|p| p.span()).unwrap_or(0);
            duration(s, span.max(0) as u64);
        });
        s.push_str(" of ");
        duration(s, policy.min_presence.map_or(0, |m| m.as_secs()));
        s.push_str(": ");
        join(s, days.iter(), push_day);
        s.push(')');
    }
    if facts.unverified != 0 {
        let days = WeekDays::new(week, facts.unverified);
        let counted = if policy.unverified_presence == UnverifiedPresence::Count {
            "counted"
        } else {
            "not counted"
        };
        s.push_str("; ");
        plural(s, days.len() as u32, "day", "days");
        s.push_str(" without a badge-out (");
        s.push_str(counted);
        s.push_str(": ");
        join(s, days.iter(), push_day);
        s.push(')');
    }
    if facts.credited != 0 {
        let ids = WeekDays::new(week, facts.credited)
            .iter()
            .filter_map(|d| approved_on(employee, d, AdjustmentAction::CreditOfficeDay));
        s.push_str("; ");
        plural(s, facts.credited.count_ones(), "day", "days");
        s.push_str(" credited (");
        join(s, ids, |s, id| s.push_str(id));
        s.push(')');
    }
}

/// Appends "missed the target in 5 of the last 8 weeks (4 allowed): 2026-W15, …" (§4.3
/// rule 7).
fn missed_weeks(s: &mut String, eval: &Evaluation, max_missed: u32) {
    s.push_str("missed the target in ");
    num(s, eval.window.missed.len());
    s.push_str(" of the last ");
    plural(s, eval.window.weeks.len() as u32, "week", "weeks");
    s.push_str(" (");
    num(s, max_missed);
    s.push_str(" allowed)");
    if !eval.window.missed.is_empty() {
        s.push_str(": ");
        join(s, eval.window.missed.iter().copied(), push_week);
    }
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
    let mut s = String::with_capacity(96);
    let week = eval.week;
    let home = employee.roster.map_or(0, |r| r.home_site);
    // What counted and what was excused, after the sentence's head.
    let tail = |s: &mut String| {
        presence_and_credits(s, employee, policy, eval);
        excused(s, employee, interner, rules, home, week, &eval.facts);
    };
    match eval.reason {
        Reason::RemoteApproved => {
            s.push_str("exempt in ");
            push_week(&mut s, week);
            s.push_str(": approved for remote work");
        }
        Reason::NewHireGrace => {
            s.push_str("exempt in ");
            push_week(&mut s, week);
            s.push_str(": new-hire grace week ");
            num(&mut s, grace_week.unwrap_or(1));
            s.push_str(" of ");
            num(&mut s, policy.new_hire_grace_weeks);
        }
        Reason::FullyExcused if policy.required_days == 0 => {
            s.push_str("exempt in ");
            push_week(&mut s, week);
            s.push_str(": policy ");
            s.push_str(&policy.id);
            s.push_str(" requires no office days");
        }
        Reason::FullyExcused => {
            s.push_str("exempt in ");
            push_week(&mut s, week);
            s.push_str(": no office days required");
            tail(&mut s);
        }
        Reason::MetRequirement | Reason::BelowRequired | Reason::TooManyMissedWeeks => {
            match policy.rule {
                Rule::MissedWeeks { max_missed, .. } => {
                    missed_weeks(&mut s, eval, max_missed);
                    s.push_str("; ");
                }
                Rule::RollingAverage { .. } if eval.window.weeks.len() > 1 => {
                    num(&mut s, eval.window.office);
                    s.push_str(" of ");
                    num(&mut s, eval.window.required);
                    s.push_str(" required office days over ");
                    plural(&mut s, eval.window.weeks.len() as u32, "week", "weeks");
                    s.push_str(" (");
                    join(&mut s, eval.window.weeks.iter().copied(), push_week);
                    s.push_str("); ");
                }
                _ => {}
            }
            num(&mut s, eval.facts.office.count_ones());
            s.push_str(" of ");
            num(&mut s, eval.facts.required);
            s.push_str(" required office days in ");
            push_week(&mut s, week);
            tail(&mut s);
        }
    }
    s
}

/// A non_compliant alert's explanation.
pub(super) fn non_compliant_alert(
    eval: &Evaluation,
    policy: &Policy,
    level: Option<&str>,
    vp_hold: bool,
) -> String {
    let mut s = String::with_capacity(96);
    match policy.rule {
        Rule::MissedWeeks { max_missed, .. } => missed_weeks(&mut s, eval, max_missed),
        _ => {
            num(&mut s, eval.window.office);
            s.push_str(" of ");
            num(&mut s, eval.window.required);
            s.push_str(" required office days in ");
            push_week(&mut s, eval.week);
        }
    }
    s.push_str("; ");
    plural(&mut s, eval.streak, "week", "weeks");
    s.push_str(" non-compliant in a row");
    match level {
        Some(level) => {
            s.push_str(", escalation ");
            s.push_str(level);
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
    let mut s = String::with_capacity(96);
    s.push_str("met the requirement in ");
    push_week(&mut s, eval.week);
    s.push_str(" (");
    num(&mut s, eval.window.office);
    s.push_str(" of ");
    num(&mut s, eval.window.required);
    s.push_str(" required office days) after ");
    plural(&mut s, previous_streak, "week", "weeks");
    s.push_str(" non-compliant");
    s
}

/// A retracted alert's explanation.
pub(super) fn retracted_alert(eval: &Evaluation) -> String {
    let mut s = String::with_capacity(96);
    s.push_str("non-compliant alert for ");
    push_week(&mut s, eval.week);
    s.push_str(" withdrawn: corrected data makes the week ");
    s.push_str(&eval.status.as_str().replace('_', "-"));
    s
}

/// An at-risk alert's explanation.
pub(super) fn at_risk_alert(week: Week, risk: AtRisk) -> String {
    let mut s = String::with_capacity(112);
    s.push_str("at risk in ");
    push_week(&mut s, week);
    s.push_str(": ");
    num(&mut s, risk.so_far);
    s.push_str(" of ");
    num(&mut s, risk.required);
    s.push_str(" required office days so far with ");
    plural(&mut s, risk.remaining, "working day", "working days");
    s.push_str(" left");
    if let Some((missed, allowed)) = risk.missed_before {
        s.push_str("; ");
        num(&mut s, missed);
        s.push_str(" missed week(s) in the window already (");
        num(&mut s, allowed);
        s.push_str(" allowed)");
    }
    s
}
