//! Tests of the record API's view (§10): `weeks` exactly as §6 emitted them, the open week
//! as §4.2 and §5 count it, and the weeks that can no longer be rebuilt.

use std::time::Duration;

use crate::config::{Config, Rule, UnverifiedPresence};
use crate::domain::time::parse_date;
use crate::domain::{AdjustmentAction, AdjustmentRecord, EmployeeId, Status};
use crate::processor::Outcome;

use super::record::{Reporting, RuleView};
use super::tests::{load_config, ts, Company, HOLIDAYS, POLICIES, SITES};

fn company(edit: impl FnOnce(&mut Config)) -> Company {
    let mut config = load_config(SITES, HOLIDAYS, POLICIES, "");
    edit(&mut config);
    Company::with_config(&config)
}

fn start(c: &mut Company) {
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
}

/// A Los Angeles badge of `employee` on `date` at `time` (local), `in` or `out`.
fn badge(c: &mut Company, employee: &str, date: &str, time: &str, direction: &str) {
    let at = format!("{date}T{time}-07:00");
    assert_eq!(
        c.badge_dir(employee, "SEA-1", &at, direction),
        Outcome::Applied
    );
}

fn days_in(c: &mut Company, employee: &str, dates: &[&str]) {
    for d in dates {
        badge(c, employee, d, "09:00:00", "in");
    }
}

fn record(c: &Company, employee: &str) -> super::Record {
    c.processor
        .engine()
        .record(employee)
        .unwrap_or_else(|| panic!("no record for {employee}"))
}

#[test]
fn weeks_are_the_latest_emitted_decisions_newest_first_with_corrections() {
    let mut c = Company::new();
    start(&mut c);
    days_in(&mut c, "e-1", &["2026-05-04", "2026-05-05", "2026-05-06"]);
    days_in(&mut c, "e-1", &["2026-05-11"]);
    days_in(&mut c, "e-1", &["2026-05-18", "2026-05-19"]);
    // W21 closes for Los Angeles; then a late approved absence excuses two W21 days and
    // W21 is corrected to compliant.
    c.advance("2026-05-26T07:00:00Z");
    let absence = r#"{"absence_id":"a-1","employee_id":"e-1","start_date":"2026-05-20","end_date":"2026-05-21","kind":"pto","status":"approved"}"#;
    assert_eq!(c.absence(absence), Outcome::Applied);
    let latest: Vec<_> = ["2026-W21", "2026-W20", "2026-W19"]
        .iter()
        .map(|w| c.decision("e-1", w).clone())
        .collect();
    assert_eq!(latest[0].revision, 1, "W21 was corrected");
    assert_eq!(latest[0].status, Status::Compliant);
    let r = record(&c, "e-1");
    assert_eq!(r.weeks, latest);
    assert!(r.unreproducible_weeks.is_empty());
    assert_eq!(r.current_status, Some(Status::Compliant));
    assert_eq!(r.consecutive_non_compliant_weeks, 0);
    assert_eq!(r.as_of, Some(ts("2026-05-26T07:00:00Z").to_rfc3339()));
    // Serialized, each week is the JSON the decisions topic carries.
    let json = serde_json::to_value(&r).expect("json");
    let emitted = serde_json::to_value(&latest[1]).expect("json");
    assert_eq!(json["weeks"][1], emitted);
    assert_eq!(json["employee_id"], "e-1");
}

#[test]
fn the_streak_and_status_are_those_of_the_latest_decision() {
    let mut c = Company::new();
    start(&mut c);
    days_in(&mut c, "e-1", &["2026-05-04"]);
    c.advance("2026-05-19T07:00:00Z"); // W19 and W20 closed, both short
    let r = record(&c, "e-1");
    assert_eq!(r.current_status, Some(Status::NonCompliant));
    assert_eq!(r.consecutive_non_compliant_weeks, 2);
    assert_eq!(r.weeks.len(), 2);
    assert_eq!(r.weeks[0].week.label(), "2026-W20");
}

#[test]
fn the_open_week_counts_so_far_and_turns_at_risk_at_midnight() {
    let mut c = Company::new();
    start(&mut c);
    days_in(&mut c, "e-1", &["2026-05-18"]);
    // Wednesday of W21: 1 of 3 so far, Wednesday to Friday left: can still exceed.
    c.advance("2026-05-20T10:00:00-07:00");
    let r = record(&c, "e-1");
    let policy = r.policy.as_ref().expect("policy");
    assert_eq!((policy.id.as_str(), policy.version), ("rto-3", 1));
    assert_eq!(
        policy.rule,
        RuleView {
            kind: "weekly",
            weeks: 1,
            max_missed: None
        }
    );
    assert_eq!(policy.min_presence, None);
    let week = r.current_week.expect("current week");
    assert_eq!(week.week.label(), "2026-W21");
    assert_eq!(week.office_days, ["2026-05-18"]);
    assert_eq!((week.required_days, week.remaining_days), (3, 3));
    assert!(!week.at_risk);
    // Thursday 00:00: 1 so far + 2 remaining = 3 required: at risk, as the alert says.
    c.advance("2026-05-21T00:00:00-07:00");
    let week = record(&c, "e-1").current_week.expect("current week");
    assert_eq!(week.remaining_days, 2);
    assert!(week.at_risk);
    assert!(c
        .alerts_of("e-1")
        .iter()
        .any(|a| a.kind == crate::domain::AlertKind::AtRisk && a.week.label() == "2026-W21"));
}

#[test]
fn exempt_and_credited_days_are_not_remaining_and_adjustments_are_listed() {
    let mut c = Company::new();
    start(&mut c);
    c.advance("2026-05-18T08:00:00-07:00"); // Monday of W21
    let absence = r#"{"absence_id":"a-1","employee_id":"e-1","start_date":"2026-05-19","end_date":"2026-05-19","kind":"pto","status":"approved"}"#;
    assert_eq!(c.absence(absence), Outcome::Applied);
    let credit = AdjustmentRecord {
        adjustment_id: "adj-1".into(),
        employee_id: EmployeeId::parse("e-1").expect("id"),
        date: parse_date("2026-05-20").expect("date"),
        action: AdjustmentAction::CreditOfficeDay,
        approved: true,
    };
    let result = c
        .processor
        .engine_mut()
        .apply_adjustment(credit, &mut c.out);
    assert_eq!(result, Ok(()));
    let week = record(&c, "e-1").current_week.expect("current week");
    assert_eq!(week.exempt_days, ["2026-05-19"]);
    assert_eq!(week.office_days, ["2026-05-20"], "credited");
    assert_eq!(week.adjustments, ["adj-1"]);
    assert_eq!((week.required_days, week.remaining_days), (2, 3));
}

#[test]
fn presence_and_the_missed_weeks_rule_are_shown() {
    let mut c = company(|config| {
        for p in &mut config.policies {
            p.min_presence = Some(Duration::from_secs(4 * 3600 + 1800));
            p.unverified_presence = UnverifiedPresence::Count;
            p.rule = Rule::MissedWeeks {
                weeks: 8,
                max_missed: 3,
            };
        }
    });
    start(&mut c);
    badge(&mut c, "e-1", "2026-05-04", "09:00:00", "in");
    badge(&mut c, "e-1", "2026-05-04", "10:00:00", "out");
    badge(&mut c, "e-1", "2026-05-05", "09:00:00", "in");
    let r = record(&c, "e-1");
    let policy = r.policy.expect("policy");
    assert_eq!(
        policy.rule,
        RuleView {
            kind: "missed_weeks",
            weeks: 8,
            max_missed: Some(3)
        }
    );
    assert_eq!(policy.min_presence.as_deref(), Some("4h30m"));
    let week = r.current_week.expect("current week");
    assert_eq!(week.short_days, ["2026-05-04"]);
    assert_eq!(week.unverified_days, ["2026-05-05"]);
    assert_eq!(week.office_days, ["2026-05-05"], "unverified counts");
    let json = serde_json::to_value(policy.rule).expect("json");
    assert_eq!(
        json,
        serde_json::json!({"kind":"missed_weeks","weeks":8,"max_missed":3})
    );
}

#[test]
fn a_week_changed_beyond_the_correction_window_is_listed_not_rebuilt() {
    let mut c = Company::new();
    start(&mut c);
    days_in(&mut c, "e-1", &["2026-05-04", "2026-05-05"]);
    c.advance("2026-06-09T07:00:00Z"); // W19..W23 closed; W19 is beyond correction_weeks
    let w19 = c.decision("e-1", "2026-W19").clone();
    let credit = AdjustmentRecord {
        adjustment_id: "adj-old".into(),
        employee_id: EmployeeId::parse("e-1").expect("id"),
        date: parse_date("2026-05-08").expect("date"),
        action: AdjustmentAction::CreditOfficeDay,
        approved: true,
    };
    let result = c
        .processor
        .engine_mut()
        .apply_adjustment(credit, &mut c.out);
    assert_eq!(result, Ok(()));
    let r = record(&c, "e-1");
    assert!(r.weeks.iter().all(|d| d.week.label() != "2026-W19"));
    assert_eq!(r.weeks.len(), 4, "W20..W23 are still exact");
    assert_eq!(r.unreproducible_weeks.len(), 1);
    let lost = &r.unreproducible_weeks[0];
    assert_eq!(lost.decision_id, w19.decision_id);
    assert_eq!(
        (
            lost.status,
            lost.revision,
            lost.consecutive_non_compliant_weeks
        ),
        (w19.status, 0, w19.consecutive_non_compliant_weeks)
    );
}

#[test]
fn unknown_and_unrostered_employees_have_no_record_and_reporting_lines_are_given() {
    let mut c = Company::new();
    start(&mut c);
    assert_eq!(c.processor.engine().record("nobody"), None);
    // "kickoff" badged but is in no roster: held, not shown.
    assert_eq!(c.processor.engine().record("kickoff"), None);
    assert_eq!(c.processor.engine().reporting("kickoff"), None);
    assert_eq!(
        c.processor.engine().reporting("e-1"),
        Some(Reporting {
            manager_id: Some("m-1".into()),
            vp_id: Some("vp-1".into())
        })
    );
    assert_eq!(c.roster_tombstone("e-1"), Outcome::Applied);
    assert_eq!(c.processor.engine().reporting("e-1"), None);
}

#[test]
fn before_the_first_badge_there_is_no_clock_and_no_open_week() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    let r = record(&c, "e-1");
    assert_eq!(r.as_of, None);
    assert_eq!((r.policy, r.current_week), (None, None));
    assert!(r.weeks.is_empty());
    assert_eq!(r.current_status, None);
}

fn schema(name: &str) -> serde_json::Value {
    let path = format!("{}/schemas/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn records_validate_against_the_shipped_schema() {
    let decision = schema("decision.schema.json");
    let resource = jsonschema::Resource::from_contents(decision).expect("resource");
    let validator = jsonschema::options()
        .with_resource(
            "https://attendance-compliance.example/schemas/decision.schema.json",
            resource,
        )
        .build(&schema("record.schema.json"))
        .expect("record schema compiles");
    let mut c = company(|config| {
        config.policies[0].min_presence = Some(Duration::from_secs(3600));
        config.policies[0].rule = Rule::MissedWeeks {
            weeks: 4,
            max_missed: 1,
        };
    });
    c.employee("e-1", "corporate", "SEA-1");
    let before = serde_json::to_value(record(&c, "e-1")).expect("json");
    assert!(validator.is_valid(&before), "{before}");
    c.kickoff("2026-05-04T00:00:00-07:00");
    badge(&mut c, "e-1", "2026-05-04", "09:00:00", "in");
    badge(&mut c, "e-1", "2026-05-04", "09:30:00", "out");
    c.advance("2026-05-20T10:00:00-07:00");
    let r = record(&c, "e-1");
    assert_eq!(r.weeks.len(), 2);
    let json = serde_json::to_value(&r).expect("json");
    let errors: Vec<String> = validator
        .iter_errors(&json)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:?}\n{json}");
    // The schema is not vacuous: a week that is not a decision is refused.
    let mut bad = json.clone();
    bad["weeks"][0]["status"] = serde_json::json!("fine");
    assert!(!validator.is_valid(&bad));
}
