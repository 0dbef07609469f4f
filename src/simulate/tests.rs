//! Unit tests of the tally (latest revision, alerts by kind) and of the comparison (changed,
//! per policy, the fold of small orgs).

use super::compare::{compare, MIN_ORG_EMPLOYEES};
use super::summary::{NO_POLICY, OTHER_ORG};
use super::tally::Tally;
use crate::domain::output::{
    Decision, ManagerAlert, PolicyRef, WeekDays, Window, DECISION_SCHEMA_VERSION,
};
use crate::domain::{AlertKind, EmployeeId, Reason, Status, Week};
use crate::engine::{Output, Sink};

const W1: Week = Week(2940);
const W2: Week = Week(2941);

fn id(employee: &str) -> EmployeeId {
    EmployeeId::parse(employee).unwrap_or_else(|| panic!("{employee} is a valid id"))
}

struct D<'a> {
    employee: &'a str,
    week: Week,
    status: Status,
    revision: u32,
    org: &'a str,
    policy: &'a str,
    office_days: usize,
}

fn decision(d: &D<'_>) -> Output {
    Output::Decision(Decision {
        schema_version: DECISION_SCHEMA_VERSION,
        decision_id: crate::domain::ids::decision_id(d.employee, d.week, d.revision),
        employee_id: id(d.employee),
        week: d.week,
        week_start: d.week.monday(),
        status: d.status,
        reason: Reason::MetRequirement,
        office_days: WeekDays::new(d.week, ((1u16 << d.office_days.min(7)) - 1) as u8),
        required_days: 3,
        exempt_days: WeekDays::none(d.week),
        short_days: WeekDays::none(d.week),
        unverified_days: WeekDays::none(d.week),
        adjustments: Vec::new(),
        policy: PolicyRef {
            id: d.policy.into(),
            version: 1,
        },
        window: Window {
            weeks: Vec::new(),
            office_days: 0,
            required_days: 3,
            missed_weeks: 0,
        },
        revision: d.revision,
        correction: d.revision > 0,
        consecutive_non_compliant_weeks: 0,
        manager_id: Some("m-1".into()),
        org: d.org.into(),
        explanation: String::new(),
    })
}

fn alert(employee: &str, week: Week, kind: AlertKind) -> Output {
    Output::Alert(ManagerAlert {
        schema_version: 1,
        alert_id: crate::domain::ids::at_risk_alert_id(employee, week),
        manager_id: "m-1".into(),
        vp_id: None,
        employee_id: id(employee),
        week,
        kind,
        escalation_level: None,
        consecutive_non_compliant_weeks: 0,
        promotion_requires_vp_approval: false,
        decision_id: None,
        explanation: String::new(),
    })
}

/// `n` employees `{prefix}-{i}` of `org` with `status` in W1 under `policy`.
fn people(tally: &mut Tally, prefix: &str, n: usize, org: &str, policy: &str, status: Status) {
    for i in 0..n {
        let employee = format!("{prefix}-{i}");
        tally.emit(decision(&D {
            employee: &employee,
            week: W1,
            status,
            revision: 0,
            org,
            policy,
            office_days: 3,
        }));
    }
}

#[test]
fn the_tally_keeps_the_latest_revision_and_every_alert_record() {
    let mut tally = Tally::default();
    let base = D {
        employee: "e-1",
        week: W1,
        status: Status::NonCompliant,
        revision: 0,
        org: "retail",
        policy: "rto-3",
        office_days: 7,
    };
    tally.emit(decision(&base));
    tally.emit(alert("e-1", W1, AlertKind::NonCompliant));
    tally.emit(decision(&D {
        status: Status::Compliant,
        revision: 1,
        ..base
    }));
    tally.emit(alert("e-1", W1, AlertKind::Retracted));
    tally.emit(alert("e-1", W1, AlertKind::NonCompliant));
    let cell = tally.get("e-1", W1).unwrap_or_else(|| panic!("cell"));
    let final_decision = cell.decision.unwrap_or_else(|| panic!("decision"));
    assert_eq!(final_decision.status, Status::Compliant);
    assert_eq!(final_decision.office_days, 7, "a whole week");
    assert_eq!(cell.alerts, [2, 0, 0, 1], "retractions are not netted out");
    assert!(tally.get("e-1", W2).is_none());
}

#[test]
fn changed_counts_employees_decided_differently_or_on_one_side_only() {
    let (mut current, mut alternative) = (Tally::default(), Tally::default());
    people(&mut current, "same", 5, "big", "a", Status::Compliant);
    people(&mut alternative, "same", 5, "big", "b", Status::Compliant);
    people(&mut current, "flip", 5, "big", "a", Status::Compliant);
    people(
        &mut alternative,
        "flip",
        5,
        "big",
        "b",
        Status::NonCompliant,
    );
    people(&mut current, "only", 2, "big", "a", Status::Exempt);
    let rows = compare(&current, &alternative, true);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.all.changed, 7);
    assert_eq!(row.all.current.employees.compliant, 10);
    assert_eq!(row.all.current.employees.exempt, 2);
    assert_eq!(row.all.alternative.employees.non_compliant, 5);
    assert_eq!(row.all.current.office_days[3], 12);
    // Each side by its own policy ids; changed from that side's employees.
    assert_eq!(row.by_policy.current["a"].changed, 7);
    assert_eq!(row.by_policy.alternative["b"].changed, 5);
    assert!(!row.by_policy.alternative.contains_key("a"));
    let ids = row
        .changed_employees
        .as_ref()
        .unwrap_or_else(|| panic!("ids"));
    assert_eq!(ids.len(), 7);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "sorted: {ids:?}");
    assert!(compare(&current, &alternative, false)[0]
        .changed_employees
        .is_none());
}

#[test]
fn orgs_under_five_on_either_side_fold_into_other_on_both_sides() {
    let (mut current, mut alternative) = (Tally::default(), Tally::default());
    let n = MIN_ORG_EMPLOYEES as usize;
    // "kept": 5 on both sides. "thin": 5 current, 4 alternative. "tiny": 1 on both.
    people(&mut current, "k", n, "kept", "p", Status::Compliant);
    people(&mut alternative, "k", n, "kept", "p", Status::Compliant);
    people(&mut current, "t", n, "thin", "p", Status::Compliant);
    people(&mut alternative, "t", n - 1, "thin", "p", Status::Compliant);
    people(&mut current, "x", 1, "<tiny>", "p", Status::NonCompliant);
    people(&mut alternative, "x", 1, "<tiny>", "p", Status::Compliant);
    let orgs = &compare(&current, &alternative, false)[0].by_org;
    let names: Vec<&str> = orgs.keys().map(String::as_str).collect();
    assert_eq!(names, ["kept", OTHER_ORG]);
    let other = &orgs[OTHER_ORG];
    assert_eq!(other.current.employees.decided(), 6);
    assert_eq!(other.alternative.employees.decided(), 5);
    assert_eq!(
        other.changed, 2,
        "t-4 decided on one side only, x-0 flipped"
    );
    assert_eq!(orgs["kept"].changed, 0);
}

#[test]
fn alerts_without_a_decision_take_the_employees_org_and_no_policy() {
    let (mut current, alternative) = (Tally::default(), Tally::default());
    people(&mut current, "e", 5, "ops", "p", Status::Compliant);
    current.emit(alert("e-0", W2, AlertKind::AtRisk));
    current.emit(alert("stranger", W2, AlertKind::AtRisk));
    let rows = compare(&current, &alternative, false);
    assert_eq!(rows.len(), 2, "a week with an alert only is a row");
    let w2 = &rows[1];
    assert_eq!(w2.week, W2.label());
    assert_eq!(w2.all.current.alerts.at_risk, 2);
    assert_eq!(w2.all.changed, 0, "no decision on either side");
    assert_eq!(w2.by_policy.current[NO_POLICY].counts.alerts.at_risk, 2);
    // Neither ops (no decision in W2) nor the unknown org reach 5: both fold.
    assert_eq!(w2.by_org[OTHER_ORG].current.alerts.at_risk, 2);
    // Week 1: ops has 5 on the current side but none on the alternative: folded too.
    assert!(rows[0].by_org.contains_key(OTHER_ORG));
}
