//! Behaviour tests of the engine, one per rule of SPEC §2–§6, driven through the
//! [`Processor`] exactly as the shells drive it.

use std::path::Path;

use crate::config::Config;
use crate::domain::output::{ComplianceChange, Decision, ManagerAlert, Source};
use crate::domain::time::parse_timestamp;
use crate::domain::{AlertKind, DeadLetterReason, Reason, Status, Timestamp};
use crate::engine::Output;
use crate::processor::{Outcome, Processor};

pub(crate) const SITES: &str = r#"
[[site]]
id = "SEA-1"
timezone = "America/Los_Angeles"
region = "US"
[[site]]
id = "SYD-1"
timezone = "Australia/Sydney"
region = "AU"
[[site]]
id = "BLR-1"
timezone = "Asia/Kolkata"
region = "IN"
[[site]]
id = "LON-1"
timezone = "Europe/London"
region = "UK"
"#;

pub(crate) const HOLIDAYS: &str = r#"
[holidays]
US = ["2026-05-25", "2026-07-03"]
AU = ["2026-06-08"]
"#;

pub(crate) const POLICIES: &str = r#"
[[policy]]
id = "rto-3"
version = 1
policy_groups = ["corporate"]
effective_from = "2026-01-05"
required_days = 3
new_hire_grace_weeks = 2
promotion_hold_after_weeks = 2
escalation = [ { after_weeks = 1, level = "notice" },
               { after_weeks = 2, level = "verbal_warning" },
               { after_weeks = 3, level = "written_warning" } ]

[[policy]]
id = "rto-3"
version = 2
policy_groups = ["corporate"]
effective_from = "2026-06-01"
required_days = 2

[[policy]]
id = "eng-rolling"
version = 1
policy_groups = ["eng"]
effective_from = "2026-01-05"
required_days = 2
rolling_weeks = 3

[[policy]]
id = "weekend"
version = 1
policy_groups = ["weekend"]
effective_from = "2026-01-05"
required_days = 3
count_weekends = true
"#;

/// A company under test: a processor and everything it emitted.
pub(crate) struct Company {
    pub(crate) processor: Processor,
    pub(crate) out: Vec<Output>,
    next_event: u64,
    now: Timestamp,
}

pub(crate) fn load_config(sites: &str, holidays: &str, policies: &str, processor: &str) -> Config {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| {
        std::fs::write(dir.path().join(name), text).expect("write config");
    };
    write("sites.toml", sites);
    write("holidays.toml", holidays);
    write("policies.toml", policies);
    if !processor.is_empty() {
        write("processor.toml", processor);
    }
    load_dir(dir.path())
}

fn load_dir(dir: &Path) -> Config {
    match Config::load_with_env(dir, Vec::<(String, String)>::new()) {
        Ok(loaded) => loaded.config,
        Err(e) => panic!("test config is invalid: {e}"),
    }
}

pub(crate) fn ts(s: &str) -> Timestamp {
    parse_timestamp(s).expect("test timestamp")
}

impl Company {
    pub(crate) fn new() -> Self {
        Self::with_processor_toml("")
    }

    pub(crate) fn with_processor_toml(processor: &str) -> Self {
        Self::with_config(&load_config(SITES, HOLIDAYS, POLICIES, processor))
    }

    pub(crate) fn with_engine(engine: crate::engine::Engine) -> Self {
        Self {
            processor: Processor::from_engine(engine),
            out: Vec::new(),
            next_event: 1_000_000,
            now: ts("2030-01-01T00:00:00Z"),
        }
    }

    pub(crate) fn with_config(config: &Config) -> Self {
        Self {
            processor: Processor::new(config),
            out: Vec::new(),
            next_event: 0,
            now: ts("2030-01-01T00:00:00Z"),
        }
    }

    fn source() -> Source {
        Source::File {
            file: "test".into(),
            line: 0,
        }
    }

    pub(crate) fn roster(&mut self, json: &str) -> Outcome {
        self.processor
            .roster(None, Some(json.as_bytes()), Self::source(), &mut self.out)
    }

    /// A roster tombstone for `id`.
    pub(crate) fn roster_tombstone(&mut self, id: &str) -> Outcome {
        self.processor
            .roster(Some(id.as_bytes()), None, Self::source(), &mut self.out)
    }

    /// An active corporate employee at `site`, managed by m-1, hired long ago.
    pub(crate) fn employee(&mut self, id: &str, group: &str, site: &str) {
        let json = format!(
            r#"{{"employee_id":"{id}","manager_id":"m-1","vp_id":"vp-1","org":"retail","policy_group":"{group}","home_site":"{site}","hire_date":"2020-01-06","status":"active"}}"#
        );
        assert_eq!(self.roster(&json), Outcome::Applied);
    }

    pub(crate) fn absence(&mut self, json: &str) -> Outcome {
        self.processor
            .absence(json.as_bytes(), Self::source(), &mut self.out)
    }

    pub(crate) fn raw_badge(&mut self, json: &str) -> Outcome {
        self.processor
            .badge(json.as_bytes(), Self::source(), self.now, &mut self.out)
    }

    pub(crate) fn badge_dir(
        &mut self,
        employee: &str,
        site: &str,
        at: &str,
        direction: &str,
    ) -> Outcome {
        self.next_event += 1;
        let json = format!(
            r#"{{"event_id":"b-{}","employee_id":"{employee}","site_id":"{site}","timestamp":"{at}","direction":"{direction}"}}"#,
            self.next_event
        );
        self.raw_badge(&json)
    }

    pub(crate) fn badge(&mut self, employee: &str, site: &str, at: &str) -> Outcome {
        self.badge_dir(employee, site, at, "in")
    }

    /// A badge of an employee nobody knows, to start the processor's clock at `at`.
    pub(crate) fn kickoff(&mut self, at: &str) {
        assert_eq!(self.badge("kickoff", "SEA-1", at), Outcome::Applied);
    }

    pub(crate) fn advance(&mut self, to: &str) {
        self.processor.advance_watermark(ts(to), &mut self.out);
    }

    pub(crate) fn decisions(&self) -> Vec<&Decision> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Decision(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn decisions_of(&self, employee: &str) -> Vec<&Decision> {
        self.decisions()
            .into_iter()
            .filter(|d| d.employee_id == employee)
            .collect()
    }

    pub(crate) fn decision(&self, employee: &str, week: &str) -> &Decision {
        self.decisions_of(employee)
            .into_iter()
            .rev()
            .find(|d| d.week.label() == week)
            .unwrap_or_else(|| panic!("no decision for {employee} in {week}"))
    }

    pub(crate) fn alerts_of(&self, employee: &str) -> Vec<&ManagerAlert> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Alert(a) if a.employee_id == employee => Some(a),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn changes_of(&self, employee: &str) -> Vec<&ComplianceChange> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::Change(c) if c.employee_id == employee => Some(c),
                _ => None,
            })
            .collect()
    }

    pub(crate) fn dead_letter_reasons(&self) -> Vec<DeadLetterReason> {
        self.out
            .iter()
            .filter_map(|o| match o {
                Output::DeadLetter(d) => Some(d.reason),
                _ => None,
            })
            .collect()
    }
}

/// Week 2026-W19 (Mon 05-04) closes for LA at Mon 05-11 00:00 PDT + 24 h = 05-12 07:00Z.
const W19_CLOSE_LA: &str = "2026-05-12T07:00:00Z";

fn three_days(c: &mut Company, employee: &str, site: &str, days: &[&str]) {
    for d in days {
        assert_eq!(
            c.badge(employee, site, &format!("{d}T09:00:00-07:00")),
            Outcome::Applied
        );
    }
}

#[test]
fn three_office_days_is_compliant() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    three_days(
        &mut c,
        "e-1",
        "SEA-1",
        &["2026-05-04", "2026-05-05", "2026-05-06"],
    );
    c.advance(W19_CLOSE_LA);
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(d.status, Status::Compliant);
    assert_eq!(d.reason, Reason::MetRequirement);
    assert_eq!(d.office_days, ["2026-05-04", "2026-05-05", "2026-05-06"]);
    assert_eq!(d.required_days, 3);
    assert_eq!(d.window.weeks, ["2026-W19"]);
    assert_eq!(d.explanation, "3 of 3 required office days in 2026-W19");
    let changes = c.changes_of("e-1");
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].previous_status, None);
    assert_eq!(changes[0].status, Status::Compliant);
}

#[test]
fn a_week_closes_exactly_when_the_watermark_reaches_its_end_plus_lateness() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    c.advance("2026-05-12T06:59:59Z");
    assert!(c.decisions_of("e-1").is_empty());
    c.advance(W19_CLOSE_LA);
    assert_eq!(c.decisions_of("e-1").len(), 1);
}

#[test]
fn two_office_days_is_non_compliant_with_a_notice() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    three_days(&mut c, "e-1", "SEA-1", &["2026-05-04", "2026-05-05"]);
    c.advance(W19_CLOSE_LA);
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(
        (d.status, d.reason),
        (Status::NonCompliant, Reason::BelowRequired)
    );
    assert_eq!(d.consecutive_non_compliant_weeks, 1);
    let alerts = c.alerts_of("e-1");
    let nc = alerts
        .iter()
        .find(|a| a.kind == AlertKind::NonCompliant)
        .expect("alert");
    assert_eq!(nc.escalation_level.as_deref(), Some("notice"));
    assert!(!nc.promotion_requires_vp_approval);
    assert_eq!(nc.manager_id, "m-1");
    assert_eq!(nc.vp_id.as_deref(), Some("vp-1"));
    assert_eq!(nc.decision_id.as_deref(), Some(d.decision_id.as_str()));
}

#[test]
fn escalation_climbs_with_the_streak_and_vp_approval_follows_the_hold() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    // No office day at all in W19..W21: streak 1, 2, 3.
    c.advance("2026-05-26T07:00:00Z");
    let alerts: Vec<_> = c
        .alerts_of("e-1")
        .into_iter()
        .filter(|a| a.kind == AlertKind::NonCompliant)
        .map(|a| {
            (
                a.week.label(),
                a.escalation_level.clone(),
                a.promotion_requires_vp_approval,
            )
        })
        .collect();
    assert_eq!(
        alerts,
        [
            ("2026-W19".into(), Some("notice".into()), false),
            ("2026-W20".into(), Some("verbal_warning".into()), true),
            ("2026-W21".into(), Some("written_warning".into()), true),
        ]
    );
    // Then a compliant week resolves the streak.
    three_days(
        &mut c,
        "e-1",
        "SEA-1",
        &["2026-05-26", "2026-05-27", "2026-05-28"],
    );
    c.advance("2026-06-02T07:00:00Z");
    let resolved = c
        .alerts_of("e-1")
        .into_iter()
        .find(|a| a.kind == AlertKind::Resolved)
        .expect("resolved");
    assert_eq!(resolved.week.label(), "2026-W22");
    assert_eq!(resolved.consecutive_non_compliant_weeks, 0);
    assert_eq!(resolved.escalation_level, None);
}

#[test]
fn inactive_employees_and_future_hires_are_not_evaluated() {
    let mut c = Company::new();
    c.roster(r#"{"employee_id":"e-in","policy_group":"corporate","home_site":"SEA-1","status":"inactive"}"#);
    c.roster(r#"{"employee_id":"e-new","policy_group":"corporate","home_site":"SEA-1","status":"active","hire_date":"2026-05-11"}"#);
    c.kickoff("2026-05-04T00:00:00-07:00");
    c.advance(W19_CLOSE_LA);
    assert!(c.decisions_of("e-in").is_empty());
    assert!(c.decisions_of("e-new").is_empty());
}

#[test]
fn remote_approval_exempts() {
    let mut c = Company::new();
    c.roster(r#"{"employee_id":"e-1","policy_group":"corporate","home_site":"SEA-1","status":"active","remote_approved":true,"manager_id":"m-1"}"#);
    c.kickoff("2026-05-04T00:00:00-07:00");
    c.advance(W19_CLOSE_LA);
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(
        (d.status, d.reason),
        (Status::Exempt, Reason::RemoteApproved)
    );
    assert!(c.alerts_of("e-1").is_empty());
}

#[test]
fn new_hires_get_their_grace_weeks() {
    let mut c = Company::new();
    // Hired on a Wednesday of W19: W19 and W20 are grace weeks, W21 is judged.
    c.roster(r#"{"employee_id":"e-1","policy_group":"corporate","home_site":"SEA-1","status":"active","hire_date":"2026-05-06"}"#);
    c.kickoff("2026-05-04T00:00:00-07:00");
    c.advance("2026-05-26T07:00:00Z");
    let reasons: Vec<_> = c
        .decisions_of("e-1")
        .iter()
        .map(|d| (d.week.label(), d.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            ("2026-W19".into(), Reason::NewHireGrace),
            ("2026-W20".into(), Reason::NewHireGrace),
            ("2026-W21".into(), Reason::BelowRequired),
        ]
    );
    // The first judged week starts the streak at 1: exempt weeks carry 0.
    assert_eq!(
        c.decision("e-1", "2026-W21")
            .consecutive_non_compliant_weeks,
        1
    );
}

#[test]
fn holidays_and_absences_reduce_the_requirement_and_can_excuse_fully() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.employee("e-2", "corporate", "SEA-1");
    // W22: Memorial Day (Mon 05-25) is a US holiday.
    c.absence(r#"{"absence_id":"a-1","employee_id":"e-2","start_date":"2026-05-26","end_date":"2026-05-27","kind":"pto","status":"approved"}"#);
    c.kickoff("2026-05-25T00:00:00-07:00");
    assert_eq!(
        c.badge("e-1", "SEA-1", "2026-05-26T09:00:00-07:00"),
        Outcome::Applied
    );
    c.advance("2026-06-02T07:00:00Z");
    let d1 = c.decision("e-1", "2026-W22");
    assert_eq!(d1.required_days, 2);
    assert_eq!(d1.exempt_days, ["2026-05-25"]);
    assert_eq!(d1.status, Status::NonCompliant);
    assert_eq!(
        d1.explanation,
        "1 of 2 required office days in 2026-W22; 1 day excused (holiday 2026-05-25)"
    );
    let d2 = c.decision("e-2", "2026-W22");
    assert_eq!(
        (d2.status, d2.reason),
        (Status::Exempt, Reason::FullyExcused)
    );
    assert_eq!(d2.exempt_days, ["2026-05-25", "2026-05-26", "2026-05-27"]);
    assert_eq!(d2.required_days, 0);
}

#[test]
fn a_cancelled_absence_no_longer_excuses() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.absence(r#"{"absence_id":"a-1","employee_id":"e-1","start_date":"2026-05-04","end_date":"2026-05-08","kind":"pto","status":"approved"}"#);
    c.absence(r#"{"absence_id":"a-1","employee_id":"e-1","start_date":"2026-05-04","end_date":"2026-05-08","kind":"pto","status":"cancelled"}"#);
    c.kickoff("2026-05-04T00:00:00-07:00");
    c.advance(W19_CLOSE_LA);
    let d = c.decision("e-1", "2026-W19");
    assert!(d.exempt_days.is_empty());
    assert_eq!(d.status, Status::NonCompliant);
}

#[test]
fn office_days_on_exempt_days_still_count() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-25T00:00:00-07:00");
    three_days(&mut c, "e-1", "SEA-1", &["2026-05-25", "2026-05-26"]);
    c.advance("2026-06-02T07:00:00Z");
    let d = c.decision("e-1", "2026-W22");
    assert_eq!(d.office_days, ["2026-05-25", "2026-05-26"]);
    assert_eq!(d.status, Status::Compliant);
}

#[test]
fn weeks_before_the_first_badge_are_not_judged() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    // First badge on a Tuesday: W19 was not seen from its start, W20 is.
    c.kickoff("2026-05-05T10:00:00-07:00");
    c.advance("2026-05-19T07:00:00Z");
    let weeks: Vec<_> = c
        .decisions_of("e-1")
        .iter()
        .map(|d| d.week.label())
        .collect();
    assert_eq!(weeks, ["2026-W20"]);
}

#[test]
fn out_badges_never_make_office_days() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    for d in ["2026-05-04", "2026-05-05", "2026-05-06"] {
        c.badge_dir("e-1", "SEA-1", &format!("{d}T17:00:00-07:00"), "out");
    }
    c.advance(W19_CLOSE_LA);
    assert!(c.decision("e-1", "2026-W19").office_days.is_empty());
}

#[test]
fn a_late_badge_within_correction_weeks_re_emits_and_retracts() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    three_days(&mut c, "e-1", "SEA-1", &["2026-05-04", "2026-05-05"]);
    c.advance(W19_CLOSE_LA);
    let first = c.decision("e-1", "2026-W19").clone();
    assert_eq!(first.status, Status::NonCompliant);
    // The third day's badge arrives after the close: a correction.
    assert_eq!(
        c.badge("e-1", "SEA-1", "2026-05-06T09:00:00-07:00"),
        Outcome::AppliedLate
    );
    let corrected = c.decision("e-1", "2026-W19");
    assert_eq!(corrected.status, Status::Compliant);
    assert_eq!(corrected.revision, 1);
    assert!(corrected.correction);
    assert_ne!(corrected.decision_id, first.decision_id);
    let retracted = c
        .alerts_of("e-1")
        .into_iter()
        .find(|a| a.kind == AlertKind::Retracted)
        .expect("retracted");
    assert_eq!(
        retracted.decision_id.as_deref(),
        Some(corrected.decision_id.as_str())
    );
    assert_eq!(retracted.escalation_level, None);
    let last_change = *c.changes_of("e-1").last().expect("change");
    assert!(last_change.correction);
    assert_eq!(last_change.previous_status, Some(Status::NonCompliant));
    assert_eq!(last_change.status, Status::Compliant);
}

#[test]
fn a_duplicate_late_badge_changes_nothing() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    three_days(&mut c, "e-1", "SEA-1", &["2026-05-04"]);
    c.advance(W19_CLOSE_LA);
    let before = c.out.len();
    assert_eq!(
        c.badge("e-1", "SEA-1", "2026-05-04T12:00:00-07:00"),
        Outcome::AppliedLate
    );
    assert_eq!(c.out.len(), before);
}

#[test]
fn a_correction_of_an_older_week_updates_later_streaks_but_not_the_current_status() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    three_days(&mut c, "e-1", "SEA-1", &["2026-05-04", "2026-05-05"]);
    // W20: non-compliant too (no badges). Close W19 and W20.
    c.advance("2026-05-19T07:00:00Z");
    assert_eq!(
        c.decision("e-1", "2026-W20")
            .consecutive_non_compliant_weeks,
        2
    );
    let changes_before = c.changes_of("e-1").len();
    c.badge("e-1", "SEA-1", "2026-05-06T09:00:00-07:00");
    assert_eq!(c.decision("e-1", "2026-W19").status, Status::Compliant);
    let w20 = c.decision("e-1", "2026-W20");
    assert_eq!((w20.revision, w20.consecutive_non_compliant_weeks), (1, 1));
    // The latest week stays non-compliant: no compliance change.
    assert_eq!(c.changes_of("e-1").len(), changes_before);
    // W20's alert is not repeated (still non-compliant); W19's is retracted.
    let kinds: Vec<_> = c
        .alerts_of("e-1")
        .iter()
        .filter(|a| a.kind != AlertKind::AtRisk)
        .map(|a| (a.week.label(), a.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("2026-W19".into(), AlertKind::NonCompliant),
            ("2026-W20".into(), AlertKind::NonCompliant),
            ("2026-W19".into(), AlertKind::Retracted),
        ]
    );
}

#[test]
fn a_badge_older_than_correction_weeks_is_too_late() {
    let mut c = Company::with_processor_toml("[time]\ncorrection_weeks = 1\n");
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    c.advance("2026-05-19T07:00:00Z"); // W19 and W20 closed
    assert_eq!(
        c.badge("e-1", "SEA-1", "2026-05-12T09:00:00-07:00"),
        Outcome::AppliedLate
    );
    assert_eq!(
        c.badge("e-1", "SEA-1", "2026-05-06T09:00:00-07:00"),
        Outcome::DeadLettered(DeadLetterReason::TooLate)
    );
    // Out badges are judged by time alone, too; unknown employees are never late.
    assert_eq!(
        c.badge_dir("e-1", "SEA-1", "2026-05-06T17:00:00-07:00", "out"),
        Outcome::DeadLettered(DeadLetterReason::TooLate)
    );
    assert_eq!(
        c.badge("e-unknown", "SEA-1", "2026-05-06T09:00:00-07:00"),
        Outcome::Applied
    );
}

#[test]
fn an_absence_approved_after_the_close_corrects_the_week() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    three_days(&mut c, "e-1", "SEA-1", &["2026-05-04"]);
    c.advance(W19_CLOSE_LA);
    assert_eq!(c.decision("e-1", "2026-W19").status, Status::NonCompliant);
    c.absence(r#"{"absence_id":"a-9","employee_id":"e-1","start_date":"2026-05-06","end_date":"2026-05-08","kind":"sick","status":"approved"}"#);
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(
        (d.status, d.reason, d.revision),
        (Status::Exempt, Reason::FullyExcused, 1)
    );
    assert!(c
        .alerts_of("e-1")
        .iter()
        .any(|a| a.kind == AlertKind::Retracted));
}

#[test]
fn los_angeles_spring_forward_week_closes_after_167_hours() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    // W10 2026: Mon 03-02 .. Sun 03-08 (DST starts 03-08). Ends Mon 03-09 00:00 PDT = 07:00Z.
    c.kickoff("2026-03-02T00:00:00-08:00");
    c.advance("2026-03-10T06:59:59Z");
    assert!(c.decisions_of("e-1").is_empty());
    c.advance("2026-03-10T07:00:00Z");
    assert_eq!(c.decision("e-1", "2026-W10").week_start, "2026-03-02");
}

#[test]
fn sydney_fall_back_week_closes_after_169_hours() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SYD-1");
    // W14 2026: Mon 03-30 (AEDT +11) .. Sun 04-05 (DST ends). Ends Mon 04-06 00:00 AEST (+10)
    // = 04-05 14:00Z; plus 24 h = 04-06 14:00Z.
    c.kickoff("2026-03-30T00:00:00+11:00");
    c.advance("2026-04-06T13:59:59Z");
    assert!(c.decisions_of("e-1").is_empty());
    c.advance("2026-04-06T14:00:00Z");
    assert_eq!(c.decisions_of("e-1").len(), 1);
}

#[test]
fn kolkata_half_hour_offset_decides_the_office_day() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "BLR-1");
    c.kickoff("2026-05-04T00:00:00+05:30");
    // 18:29:59Z is 23:59:59 IST Monday; 18:30Z is Tuesday 00:00 IST.
    c.badge("e-1", "BLR-1", "2026-05-04T18:29:59Z");
    c.badge("e-1", "BLR-1", "2026-05-04T18:30:00Z");
    c.advance("2026-05-12T00:00:00Z");
    assert_eq!(
        c.decision("e-1", "2026-W19").office_days,
        ["2026-05-04", "2026-05-05"]
    );
}

#[test]
fn a_traveller_badging_in_another_zone_gets_that_sites_local_date() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    // Tue 05-05 16:00 PDT is Wed 05-06 09:00 AEST in Sydney.
    c.badge("e-1", "SYD-1", "2026-05-06T09:00:00+10:00");
    c.advance(W19_CLOSE_LA);
    assert_eq!(c.decision("e-1", "2026-W19").office_days, ["2026-05-06"]);
}

#[test]
fn at_risk_fires_when_the_remaining_days_only_just_suffice() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.employee("e-2", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    c.badge("e-2", "SEA-1", "2026-05-04T09:00:00-07:00");
    // Wed 00:00: e-1 has 0 so far and 3 days left (3 <= 3: at risk); e-2 has 1 + 3 > 3.
    c.advance("2026-05-06T00:00:00-07:00");
    let a = c.alerts_of("e-1");
    assert_eq!(a.len(), 1);
    assert_eq!(
        (a[0].kind, a[0].week.label().as_str()),
        (AlertKind::AtRisk, "2026-W19")
    );
    assert_eq!(a[0].decision_id, None);
    assert!(c.alerts_of("e-2").is_empty());
    // Thursday: e-2 has 1 so far, 2 left: 3 <= 3, at risk. e-1 is not alerted twice.
    c.advance("2026-05-07T00:00:00-07:00");
    assert_eq!(c.alerts_of("e-1").len(), 1);
    assert_eq!(c.alerts_of("e-2").len(), 1);
}

#[test]
fn at_risk_is_one_instant_too_early_before_midnight() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    c.advance("2026-05-05T23:59:59-07:00");
    assert!(c.alerts_of("e-1").is_empty());
    c.advance("2026-05-06T00:00:00-07:00");
    assert_eq!(c.alerts_of("e-1").len(), 1);
}

#[test]
fn rolling_windows_sum_weeks_and_skip_exempt_ones() {
    let mut c = Company::new();
    c.employee("e-1", "eng", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    // W19: 2 days. W20: fully excused by PTO. W21: 1 day.
    three_days(&mut c, "e-1", "SEA-1", &["2026-05-04", "2026-05-05"]);
    c.absence(r#"{"absence_id":"a-1","employee_id":"e-1","start_date":"2026-05-11","end_date":"2026-05-15","kind":"pto","status":"approved"}"#);
    three_days(&mut c, "e-1", "SEA-1", &["2026-05-18"]);
    c.advance("2026-05-26T07:00:00Z");
    let w20 = c.decision("e-1", "2026-W20");
    assert_eq!(
        (w20.status, w20.reason),
        (Status::Exempt, Reason::FullyExcused)
    );
    let w21 = c.decision("e-1", "2026-W21");
    assert_eq!(w21.window.weeks, ["2026-W19", "2026-W21"]);
    assert_eq!((w21.window.office_days, w21.window.required_days), (3, 4));
    assert_eq!(w21.status, Status::NonCompliant);
    assert_eq!(w21.required_days, 2);
}

#[test]
fn a_new_policy_version_applies_from_its_effective_week() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-25T00:00:00-07:00");
    three_days(&mut c, "e-1", "SEA-1", &["2026-06-01", "2026-06-02"]);
    c.advance("2026-06-09T07:00:00Z");
    let w22 = c.decision("e-1", "2026-W22");
    assert_eq!((w22.policy.id.as_str(), w22.policy.version), ("rto-3", 1));
    let w23 = c.decision("e-1", "2026-W23");
    assert_eq!(
        (
            w23.policy.id.as_str(),
            w23.policy.version,
            w23.required_days
        ),
        ("rto-3", 2, 2)
    );
    assert_eq!(w23.status, Status::Compliant);
}

#[test]
fn weekends_count_only_under_count_weekends() {
    let mut c = Company::new();
    c.employee("e-1", "weekend", "SEA-1");
    c.employee("e-2", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    for e in ["e-1", "e-2"] {
        three_days(
            &mut c,
            e,
            "SEA-1",
            &["2026-05-08", "2026-05-09", "2026-05-10"],
        );
    }
    c.advance(W19_CLOSE_LA);
    assert_eq!(c.decision("e-1", "2026-W19").status, Status::Compliant);
    assert_eq!(c.decision("e-2", "2026-W19").office_days, ["2026-05-08"]);
}

#[test]
fn every_dead_letter_reason_is_produced() {
    let mut c = Company::with_processor_toml("[time]\ncorrection_weeks = 1\n");
    c.employee("e-1", "corporate", "SEA-1");
    c.kickoff("2026-05-04T00:00:00-07:00");
    c.advance("2026-05-19T07:00:00Z");
    let pad = "x".repeat(70_000);
    let lines = [
        format!(r#"{{"pad":"{pad}"}}"#),
        "{not json".to_owned(),
        r#"{"event_id":"b","employee_id":"e-1","timestamp":"2026-05-12T09:00:00Z"}"#.to_owned(),
        r#"{"event_id":"b","employee_id":"e 1","site_id":"SEA-1","timestamp":"2026-05-12T09:00:00Z"}"#.to_owned(),
        r#"{"event_id":"b","employee_id":"e-1","site_id":"XX-9","timestamp":"2026-05-12T09:00:00Z"}"#.to_owned(),
        r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"2029-01-01T09:00:00Z"}"#.to_owned(),
        r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"2026-05-05T09:00:00Z"}"#.to_owned(),
    ];
    c.now = ts("2026-05-20T00:00:00Z");
    for l in &lines {
        c.raw_badge(l);
    }
    assert_eq!(c.dead_letter_reasons(), DeadLetterReason::ALL);
}

#[test]
fn employees_without_a_manager_get_no_alerts() {
    let mut c = Company::new();
    c.roster(r#"{"employee_id":"e-1","policy_group":"corporate","home_site":"SEA-1","status":"active","manager_id":null}"#);
    c.kickoff("2026-05-04T00:00:00-07:00");
    c.advance(W19_CLOSE_LA);
    assert_eq!(c.decision("e-1", "2026-W19").status, Status::NonCompliant);
    assert!(c.alerts_of("e-1").is_empty());
    assert!(c
        .out
        .iter()
        .any(|o| matches!(o, Output::AlertWithoutManager(AlertKind::NonCompliant))));
}

#[test]
fn badges_before_the_roster_record_are_kept() {
    let mut c = Company::new();
    c.kickoff("2026-05-04T00:00:00-07:00");
    three_days(
        &mut c,
        "e-1",
        "SEA-1",
        &["2026-05-04", "2026-05-05", "2026-05-06"],
    );
    c.employee("e-1", "corporate", "SEA-1");
    c.advance(W19_CLOSE_LA);
    assert_eq!(c.decision("e-1", "2026-W19").status, Status::Compliant);
}
