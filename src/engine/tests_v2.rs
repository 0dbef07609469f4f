//! Behaviour tests of SPEC v2 in the engine, one per rule: presence (§3.7), the
//! `missed_weeks` rule (§4.3 rule 7) and its at-risk check (§5), site outages (§1.5) and
//! adjustments (§1.6) with their lateness (§3.5).

use std::time::Duration;

use crate::config::{Config, Rule, UnverifiedPresence};
use crate::domain::time::parse_date;
use crate::domain::{
    AdjustmentAction, AdjustmentRecord, AlertKind, Day, EmployeeId, OutageChange, OutageRecord,
    Reason, Status,
};
use crate::processor::Outcome;

use super::tests::{load_config, Company, HOLIDAYS, POLICIES, SITES};

/// W19 (Mon 2026-05-04) closes for Los Angeles at 2026-05-12T07:00Z; each later week 7 days on.
fn close_la(week: u32) -> String {
    let day = 12 + 7 * (week - 19);
    let date = Day::from_date(chrono::NaiveDate::from_ymd_opt(2026, 5, 1).expect("date"))
        .plus(day as i32 - 1);
    format!("{date}T07:00:00Z")
}

fn day(s: &str) -> Day {
    parse_date(s).expect("test date")
}

/// A company whose policies are edited after loading (the config parser's keys for v2 are
/// tested in `config::tests`).
fn company(edit: impl FnOnce(&mut Config)) -> Company {
    let mut config = load_config(SITES, HOLIDAYS, POLICIES, "");
    edit(&mut config);
    Company::with_config(&config)
}

/// rto-3 v1 (3 days, LA employees) with a presence rule.
fn presence(min: u64, unverified: UnverifiedPresence) -> Company {
    company(|c| {
        for p in &mut c.policies {
            p.min_presence = Some(Duration::from_secs(min));
            p.unverified_presence = unverified;
        }
    })
}

/// rto-3 v1 as Amazon-style `missed_weeks` with a window of `weeks` and `max_missed`.
fn missed(weeks: u32, max_missed: u32) -> Company {
    company(|c| c.policies[0].rule = Rule::MissedWeeks { weeks, max_missed })
}

fn visit(c: &mut Company, employee: &str, date: &str, from: &str, to: Option<&str>) {
    let at = |t: &str| format!("{date}T{t}-07:00");
    assert_ne!(
        c.badge_dir(employee, "SEA-1", &at(from), "in"),
        Outcome::DeadLettered(crate::domain::DeadLetterReason::TooLate)
    );
    if let Some(to) = to {
        c.badge_dir(employee, "SEA-1", &at(to), "out");
    }
}

fn outage(c: &mut Company, id: &str, site: usize, from: &str, to: &str, active: bool) {
    let record = OutageRecord {
        outage_id: id.into(),
        site,
        start: day(from),
        end: day(to),
        active,
    };
    let result = c
        .processor
        .engine_mut()
        .apply_outage(OutageChange::Upsert(record), &mut c.out);
    assert_eq!(result, Ok(()));
}

fn adjust(
    c: &mut Company,
    id: &str,
    employee: &str,
    date: &str,
    action: AdjustmentAction,
    approved: bool,
) {
    let record = AdjustmentRecord {
        adjustment_id: id.into(),
        employee_id: EmployeeId::parse(employee).expect("id"),
        date: day(date),
        action,
        approved,
    };
    let result = c
        .processor
        .engine_mut()
        .apply_adjustment(record, &mut c.out);
    assert_eq!(result, Ok(()));
}

fn start(c: &mut Company) {
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
}

#[test]
fn presence_met_short_and_unverified_count() {
    let mut c = presence(2 * 3600, UnverifiedPresence::Count);
    start(&mut c);
    visit(&mut c, "e-1", "2026-05-04", "09:00:00", Some("17:00:00"));
    visit(&mut c, "e-1", "2026-05-05", "09:00:00", Some("10:12:00"));
    visit(&mut c, "e-1", "2026-05-06", "09:00:00", None);
    c.advance(&close_la(19));
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(d.office_days, ["2026-05-04", "2026-05-06"]);
    assert_eq!(d.short_days, ["2026-05-05"]);
    assert_eq!(d.unverified_days, ["2026-05-06"]);
    assert_eq!((d.status, d.window.missed_weeks), (Status::NonCompliant, 1));
    assert_eq!(
        d.explanation,
        "2 of 3 required office days in 2026-W19; 1 day too short (1h12m of 2h: 2026-05-05); \
         1 day without a badge-out (counted: 2026-05-06)"
    );
}

#[test]
fn presence_unverified_ignore_does_not_count_the_day() {
    let mut c = presence(2 * 3600, UnverifiedPresence::Ignore);
    start(&mut c);
    visit(&mut c, "e-1", "2026-05-04", "09:00:00", Some("17:00:00"));
    visit(&mut c, "e-1", "2026-05-06", "09:00:00", None);
    c.advance(&close_la(19));
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(d.office_days, ["2026-05-04"]);
    assert_eq!(d.unverified_days, ["2026-05-06"]);
}

#[test]
fn presence_truncates_to_whole_seconds_and_ties_meet_the_minimum() {
    let mut c = presence(2 * 3600, UnverifiedPresence::Count);
    start(&mut c);
    // 1h59m59.2s apart, but 09:00:00 → 11:00:00 once truncated: exactly 2 h, met.
    visit(
        &mut c,
        "e-1",
        "2026-05-04",
        "09:00:00.900",
        Some("11:00:00.100"),
    );
    // In and out in the same second: no last_out, unverified.
    visit(
        &mut c,
        "e-1",
        "2026-05-05",
        "09:00:00.100",
        Some("09:00:00.900"),
    );
    c.advance(&close_la(19));
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(d.office_days, ["2026-05-04", "2026-05-05"]);
    assert!(d.short_days.is_empty());
    assert_eq!(d.unverified_days, ["2026-05-05"]);
}

#[test]
fn an_out_before_the_first_in_leaves_the_day_unverified_whatever_the_arrival_order() {
    let mut c = presence(3600, UnverifiedPresence::Ignore);
    start(&mut c);
    // Tuesday: the out (17:00) arrives before the in (09:00): verified.
    c.badge_dir("e-1", "SEA-1", "2026-05-05T17:00:00-07:00", "out");
    c.badge_dir("e-1", "SEA-1", "2026-05-05T09:00:00-07:00", "in");
    // Wednesday: the only out is before the first in.
    c.badge_dir("e-1", "SEA-1", "2026-05-06T08:00:00-07:00", "out");
    c.badge_dir("e-1", "SEA-1", "2026-05-06T09:00:00-07:00", "in");
    c.advance(&close_la(19));
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(d.office_days, ["2026-05-05"]);
    assert_eq!(d.unverified_days, ["2026-05-06"]);
}

#[test]
fn an_out_after_local_midnight_or_at_a_site_on_the_next_date_never_verifies_the_day() {
    let mut c = presence(3600, UnverifiedPresence::Ignore);
    start(&mut c);
    // Tuesday 22:00 → Wednesday 01:00 local: Tuesday has no out, Wednesday no in.
    visit(&mut c, "e-1", "2026-05-05", "22:00:00", None);
    c.badge_dir("e-1", "SEA-1", "2026-05-06T01:00:00-07:00", "out");
    // Thursday in at Seattle, out 9 h later at London, where it is already Friday.
    visit(&mut c, "e-1", "2026-05-07", "09:00:00", None);
    c.badge_dir("e-1", "LON-1", "2026-05-07T18:00:00-07:00", "out");
    c.advance(&close_la(19));
    let d = c.decision("e-1", "2026-W19");
    assert!(d.office_days.is_empty(), "{:?}", d.office_days);
    assert_eq!(d.unverified_days, ["2026-05-05", "2026-05-07"]);
}

#[test]
fn presence_is_elapsed_time_across_a_dst_change() {
    // Sunday 2026-11-01, Los Angeles falls back at 02:00 PDT: 00:30 PDT to 02:00 PST is 2h30m
    // elapsed though the wall clocks are 1h30m apart. The weekend policy counts Sundays.
    let mut c = presence(2 * 3600, UnverifiedPresence::Count);
    c.employee("e-1", "weekend", "SEA-1");
    c.kickoff("2026-10-26T00:00:00-07:00");
    c.badge_dir("e-1", "SEA-1", "2026-11-01T00:30:00-07:00", "in");
    c.badge_dir("e-1", "SEA-1", "2026-11-01T02:00:00-08:00", "out");
    c.advance("2026-11-03T09:00:00Z");
    let d = c.decision("e-1", "2026-W44");
    assert_eq!(d.office_days, ["2026-11-01"]);
    assert!(d.short_days.is_empty());
}

#[test]
fn a_late_out_badge_corrects_the_week_it_verifies() {
    let mut c = presence(2 * 3600, UnverifiedPresence::Ignore);
    start(&mut c);
    for date in ["2026-05-04", "2026-05-05", "2026-05-06"] {
        visit(&mut c, "e-1", date, "09:00:00", Some("17:00:00"));
    }
    visit(&mut c, "e-1", "2026-05-07", "09:00:00", None);
    c.advance(&close_la(19));
    assert_eq!(
        c.decision("e-1", "2026-W19").unverified_days,
        ["2026-05-07"]
    );
    assert_eq!(
        c.badge_dir("e-1", "SEA-1", "2026-05-07T10:00:00-07:00", "out"),
        Outcome::AppliedLate
    );
    let d = c.decision("e-1", "2026-W19");
    assert_eq!((d.revision, d.correction), (1, true));
    assert_eq!(d.short_days, ["2026-05-07"]);
    assert!(d.unverified_days.is_empty());
}

#[test]
fn a_credit_makes_a_short_day_an_office_day() {
    let mut c = presence(2 * 3600, UnverifiedPresence::Count);
    start(&mut c);
    visit(&mut c, "e-1", "2026-05-04", "09:00:00", Some("09:10:00"));
    adjust(
        &mut c,
        "adj-2",
        "e-1",
        "2026-05-04",
        AdjustmentAction::CreditOfficeDay,
        true,
    );
    c.advance(&close_la(19));
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(d.office_days, ["2026-05-04"]);
    assert!(d.short_days.is_empty());
    assert_eq!(d.adjustments, ["adj-2"]);
    assert!(
        d.explanation.contains("1 day credited (adj-2)"),
        "{}",
        d.explanation
    );
}

/// Office days per week from W19: `counts[k]` days (Monday on) in week 19 + k.
fn attend(c: &mut Company, employee: &str, counts: &[u32]) {
    for (k, &n) in counts.iter().enumerate() {
        let monday = day("2026-05-04").plus(7 * k as i32);
        for d in 0..n {
            let date = monday.plus(d as i32).to_string();
            visit(c, employee, &date, "09:00:00", None);
        }
    }
}

#[test]
fn missed_weeks_allows_exactly_k_missed_weeks() {
    let mut c = missed(4, 1);
    start(&mut c);
    attend(&mut c, "e-1", &[1, 3, 1]);
    c.advance(&close_la(21));
    let w19 = c.decision("e-1", "2026-W19");
    assert_eq!(
        (w19.status, w19.window.missed_weeks),
        (Status::Compliant, 1)
    );
    assert_eq!(w19.reason, Reason::MetRequirement);
    let w21 = c.decision("e-1", "2026-W21");
    assert_eq!(w21.window.weeks, ["2026-W19", "2026-W20", "2026-W21"]);
    assert_eq!((w21.window.office_days, w21.window.required_days), (5, 9));
    assert_eq!(w21.window.missed_weeks, 2);
    assert_eq!(
        (w21.status, w21.reason),
        (Status::NonCompliant, Reason::TooManyMissedWeeks)
    );
    assert!(
        w21.explanation.starts_with(
            "missed the target in 2 of the last 3 weeks (1 allowed): 2026-W19, 2026-W21; 1 of 3"
        ),
        "{}",
        w21.explanation
    );
    let alert = c.alerts_of("e-1");
    assert!(alert
        .iter()
        .any(|a| a.kind == AlertKind::NonCompliant && a.week.label() == "2026-W21"));
}

#[test]
fn missed_weeks_window_leaves_out_exempt_weeks_and_slides() {
    let mut c = missed(2, 0);
    start(&mut c);
    // W19 missed; W20 fully excused by an absence; W21 met.
    assert_eq!(
        c.absence(r#"{"absence_id":"a-1","employee_id":"e-1","start_date":"2026-05-11","end_date":"2026-05-15","status":"approved"}"#),
        Outcome::Applied
    );
    attend(&mut c, "e-1", &[1, 0, 3, 3]);
    c.advance(&close_la(22));
    assert_eq!(c.decision("e-1", "2026-W20").reason, Reason::FullyExcused);
    assert_eq!(c.decision("e-1", "2026-W20").window.missed_weeks, 0);
    let w21 = c.decision("e-1", "2026-W21");
    assert_eq!(
        w21.window.weeks,
        ["2026-W21"],
        "W20 left out, W19 outside the 2-week window"
    );
    assert_eq!(w21.status, Status::Compliant);
    // W22 has the Memorial Day holiday: required 2, met with 3.
    let w22 = c.decision("e-1", "2026-W22");
    assert_eq!(w22.window.weeks, ["2026-W21", "2026-W22"]);
    assert_eq!(w22.window.missed_weeks, 0);
}

#[test]
fn at_risk_under_missed_weeks_fires_only_when_the_window_has_used_its_allowance() {
    // e-1 missed W19 (allowance of 1 used); e-2 met W19. Neither badges in W20: at Wednesday
    // 00:00 both can at best just meet 3 days, but only e-1's week would tip the window.
    let mut c = missed(4, 1);
    c.employee("e-2", "corporate", "SEA-1");
    start(&mut c);
    attend(&mut c, "e-1", &[1]);
    attend(&mut c, "e-2", &[3]);
    c.advance("2026-05-13T07:00:00Z");
    let risk = |c: &Company, e: &str| {
        c.alerts_of(e)
            .iter()
            .filter(|a| a.kind == AlertKind::AtRisk)
            .count()
    };
    assert_eq!(risk(&c, "e-1"), 1);
    assert_eq!(risk(&c, "e-2"), 0);
}

#[test]
fn an_outage_at_the_home_site_excuses_its_weekdays_but_not_elsewhere() {
    let mut c = Company::new();
    c.employee("e-2", "corporate", "LON-1");
    start(&mut c);
    outage(&mut c, "o-1", 0, "2026-05-06", "2026-05-06", true);
    attend(&mut c, "e-1", &[2]);
    c.advance("2026-05-13T00:00:00Z");
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(d.exempt_days, ["2026-05-06"]);
    assert_eq!((d.required_days, d.status), (2, Status::Compliant));
    assert_eq!(
        d.explanation,
        "2 of 2 required office days in 2026-W19; 1 day excused (site outage SEA-1 2026-05-06)"
    );
    let london = c.decision("e-2", "2026-W19");
    assert!(london.exempt_days.is_empty());
}

#[test]
fn a_late_outage_corrects_and_its_cancellation_corrects_back() {
    let mut c = Company::new();
    start(&mut c);
    attend(&mut c, "e-1", &[2]);
    c.advance(&close_la(19));
    assert_eq!(c.decision("e-1", "2026-W19").status, Status::NonCompliant);
    outage(&mut c, "o-1", 0, "2026-05-07", "2026-05-08", true);
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(
        (d.revision, d.status, d.required_days),
        (1, Status::Compliant, 1)
    );
    assert!(c
        .alerts_of("e-1")
        .iter()
        .any(|a| a.kind == AlertKind::Retracted));
    outage(&mut c, "o-1", 0, "2026-05-07", "2026-05-08", false);
    let d = c.decision("e-1", "2026-W19");
    assert_eq!((d.revision, d.status), (2, Status::NonCompliant));
    // Moving the outage to another site withdraws it here too (replacement, §1.5).
    outage(&mut c, "o-1", 0, "2026-05-07", "2026-05-08", true);
    outage(&mut c, "o-1", 3, "2026-05-07", "2026-05-08", true);
    assert_eq!(c.decision("e-1", "2026-W19").status, Status::NonCompliant);
}

#[test]
fn a_credit_then_its_cancellation() {
    let mut c = Company::new();
    start(&mut c);
    attend(&mut c, "e-1", &[2]);
    adjust(
        &mut c,
        "adj-1",
        "e-1",
        "2026-05-08",
        AdjustmentAction::CreditOfficeDay,
        true,
    );
    c.advance(&close_la(19));
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(d.office_days, ["2026-05-04", "2026-05-05", "2026-05-08"]);
    assert_eq!(
        (d.status, d.adjustments.clone()),
        (Status::Compliant, vec!["adj-1".to_owned()])
    );
    adjust(
        &mut c,
        "adj-1",
        "e-1",
        "2026-05-08",
        AdjustmentAction::CreditOfficeDay,
        false,
    );
    let d = c.decision("e-1", "2026-W19");
    assert_eq!((d.revision, d.status), (1, Status::NonCompliant));
    assert!(
        d.adjustments.is_empty(),
        "cancelled adjustments are not listed"
    );
}

#[test]
fn an_excuse_on_a_weekend_excuses_nothing_but_is_listed() {
    let mut c = Company::new();
    start(&mut c);
    attend(&mut c, "e-1", &[3]);
    adjust(
        &mut c,
        "adj-9",
        "e-1",
        "2026-05-09",
        AdjustmentAction::ExcuseDay,
        true,
    );
    adjust(
        &mut c,
        "adj-10",
        "e-1",
        "2026-05-08",
        AdjustmentAction::ExcuseDay,
        true,
    );
    c.advance(&close_la(19));
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(d.exempt_days, ["2026-05-08"]);
    assert_eq!(d.required_days, 2);
    assert_eq!(d.adjustments, ["adj-10", "adj-9"], "byte order");
}

#[test]
fn a_late_adjustment_corrects_inside_the_correction_window_and_is_stored_beyond() {
    let mut c = Company::new();
    start(&mut c);
    attend(&mut c, "e-1", &[2]);
    c.advance(&close_la(23)); // W19..W23 closed; correction_weeks 4: W20..W23 correctable
    let before = c.decisions_of("e-1").len();
    adjust(
        &mut c,
        "adj-old",
        "e-1",
        "2026-05-08",
        AdjustmentAction::CreditOfficeDay,
        true,
    );
    assert_eq!(
        c.decisions_of("e-1").len(),
        before,
        "W19 is beyond correction_weeks"
    );
    adjust(
        &mut c,
        "adj-new",
        "e-1",
        "2026-05-15",
        AdjustmentAction::ExcuseDay,
        true,
    );
    let d = c.decision("e-1", "2026-W20");
    assert_eq!((d.revision, d.required_days), (1, 2));
    assert_eq!(d.adjustments, ["adj-new"]);
    // The stored old credit is not re-judged later either: W19 keeps its decision.
    assert_eq!(c.decision("e-1", "2026-W19").revision, 0);
}

#[test]
fn an_adjustment_moved_to_another_date_corrects_both_weeks() {
    let mut c = Company::new();
    start(&mut c);
    attend(&mut c, "e-1", &[2, 2]);
    adjust(
        &mut c,
        "adj-1",
        "e-1",
        "2026-05-06",
        AdjustmentAction::CreditOfficeDay,
        true,
    );
    c.advance(&close_la(20));
    assert_eq!(c.decision("e-1", "2026-W19").status, Status::Compliant);
    assert_eq!(c.decision("e-1", "2026-W20").status, Status::NonCompliant);
    adjust(
        &mut c,
        "adj-1",
        "e-1",
        "2026-05-13",
        AdjustmentAction::CreditOfficeDay,
        true,
    );
    assert_eq!(c.decision("e-1", "2026-W19").status, Status::NonCompliant);
    assert_eq!(c.decision("e-1", "2026-W20").status, Status::Compliant);
}
