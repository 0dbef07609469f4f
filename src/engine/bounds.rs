//! Tests of the engine's bounds on work and memory (issue 8): however hostile the input,
//! one badge or one watermark advance does bounded work, and what the engine holds stays
//! bounded.

use super::tests::{ts, Company};
use super::{MAX_ABSENCES_PER_EMPLOYEE, MAX_ABSENCE_TEXT_BYTES, MAX_CATCH_UP_WEEKS};
use crate::domain::DeadLetterReason;
use crate::processor::Outcome;

fn absence(c: &mut Company, id: &str, employee: &str, kind: &str) -> Outcome {
    c.absence(&format!(
        r#"{{"absence_id":"{id}","employee_id":"{employee}","start_date":"2026-09-01","end_date":"2026-09-02","kind":"{kind}","status":"approved"}}"#
    ))
}

#[test]
fn a_first_badge_decades_old_closes_a_bounded_number_of_weeks() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    assert_eq!(
        c.badge("x-1", "SEA-1", "1971-03-02T09:00:00Z"),
        Outcome::Applied
    );
    assert_eq!(
        c.badge("e-1", "SEA-1", "2026-05-05T09:00:00-07:00"),
        Outcome::Applied
    );
    c.advance("2026-06-01T00:00:00Z");
    let weeks = c.decisions_of("e-1").len();
    // The 1971 week and at most `retention_weeks` + the weeks up to June 2026; never the
    // 2,900 weeks in between.
    assert!((2..=20).contains(&weeks), "{weeks} decisions");
    let d = c.decision("e-1", "2026-W19");
    assert_eq!(d.office_days.len(), 1);
}

#[test]
fn a_far_future_advance_closes_a_bounded_number_of_weeks() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.employee("e-2", "corporate", "LON-1");
    assert_eq!(
        c.badge("e-1", "SEA-1", "2026-05-04T09:00:00-07:00"),
        Outcome::Applied
    );
    c.advance("9999-12-31T23:59:59Z");
    for e in ["e-1", "e-2"] {
        let weeks = c.decisions_of(e).len();
        assert!(weeks <= 2 + 20, "{e}: {weeks} decisions");
    }
    // The week that held the badge is still judged with its evidence.
    assert_eq!(c.decision("e-1", "2026-W19").office_days.len(), 1);
}

#[test]
fn a_gap_up_to_the_catch_up_bound_is_closed_week_by_week_as_the_spec_says() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    assert_eq!(
        c.badge("e-1", "SEA-1", "2026-05-05T09:00:00-07:00"),
        Outcome::Applied
    );
    // 2026-W19 .. 2027-W18: one decision per week, none skipped.
    c.advance("2027-05-05T00:00:00Z");
    let weeks = c.decisions_of("e-1").len();
    assert!(
        weeks as i32 >= MAX_CATCH_UP_WEEKS - 2 && weeks as i32 <= MAX_CATCH_UP_WEEKS,
        "{weeks} decisions"
    );
}

#[test]
fn badges_of_unknown_employees_are_forgotten_after_the_retention() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    for i in 0..100 {
        let id = format!("ghost-{i}");
        assert_eq!(
            c.badge(&id, "SEA-1", "2026-05-05T09:00:00Z"),
            Outcome::Applied
        );
    }
    let engine = c.processor.engine();
    assert_eq!(engine.unrostered_held(), 100);
    let retention = engine.rules().retention_weeks as i64;
    c.advance("2026-06-01T00:00:00Z");
    assert_eq!(c.processor.engine().unrostered_held(), 100);
    // `retention_weeks` later they are gone, and so is their state.
    let later = ts("2026-05-05T09:00:00Z").add_seconds((retention + 2) * 7 * 86_400);
    c.processor.advance_watermark(later, &mut c.out);
    assert_eq!(c.processor.engine().unrostered_held(), 0);
    assert_eq!(c.processor.engine().employees_tracked(), 1);
    // A badge that old for an unknown employee can no longer be kept: too_late.
    assert_eq!(
        c.badge("ghost-1", "SEA-1", "2026-05-05T10:00:00Z"),
        Outcome::DeadLettered(DeadLetterReason::TooLate)
    );
    // A recent one is kept.
    assert_eq!(
        c.badge("ghost-1", "SEA-1", &later.to_rfc3339()),
        Outcome::Applied
    );
    assert_eq!(c.processor.engine().unrostered_held(), 1);
}

#[test]
fn freed_slots_are_reused_and_memory_does_not_grow_with_churn() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    assert_eq!(
        c.badge("e-1", "SEA-1", "2026-05-05T09:00:00Z"),
        Outcome::Applied
    );
    let week = 7 * 86_400;
    let mut now = ts("2026-05-05T09:00:00Z");
    let mut peak = 0;
    for round in 0..30 {
        for i in 0..200 {
            let id = format!("ghost-{round}-{i}");
            assert_eq!(c.badge(&id, "SEA-1", &now.to_rfc3339()), Outcome::Applied);
        }
        now = now.add_seconds(week);
        c.processor.advance_watermark(now, &mut c.out);
        c.out.clear();
        peak = peak.max(c.processor.engine().employees_tracked());
    }
    let retention = c.processor.engine().rules().retention_weeks as usize;
    assert!(
        peak <= 1 + 200 * (retention + 2),
        "{peak} employees held at the peak"
    );
}

#[test]
fn absences_beyond_the_per_employee_limit_are_dead_lettered_too_large() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    for i in 0..MAX_ABSENCES_PER_EMPLOYEE {
        assert_eq!(
            absence(&mut c, &format!("a-{i}"), "e-1", "pto"),
            Outcome::Applied
        );
    }
    assert_eq!(
        absence(&mut c, "one-too-many", "e-1", "pto"),
        Outcome::DeadLettered(DeadLetterReason::TooLarge)
    );
    // Replacing one that is held is not a new one.
    assert_eq!(absence(&mut c, "a-7", "e-1", "sick"), Outcome::Applied);
    // Another employee has a budget of their own.
    assert_eq!(absence(&mut c, "a-0", "e-2", "pto"), Outcome::Applied);
}

#[test]
fn absence_text_beyond_the_per_employee_limit_is_dead_lettered_too_large() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    let kind = "k".repeat(60 * 1024);
    let fits = MAX_ABSENCE_TEXT_BYTES / (kind.len() + 8);
    for i in 0..fits {
        assert_eq!(
            absence(&mut c, &format!("big-{i}"), "e-1", &kind),
            Outcome::Applied
        );
    }
    assert_eq!(
        absence(&mut c, "big-last", "e-1", &kind),
        Outcome::DeadLettered(DeadLetterReason::TooLarge)
    );
    let detail = c
        .out
        .iter()
        .rev()
        .find_map(|o| match o {
            super::Output::DeadLetter(d) => Some(d.detail.clone()),
            _ => None,
        })
        .unwrap_or_default();
    assert!(detail.contains("limit is 262144"), "{detail}");
    // The changelog record of that employee stays far below a Kafka record's 1 MB.
    c.processor.engine_mut().tracking = true;
    c.processor.engine_mut().touch(0);
    let largest = c
        .processor
        .take_changes()
        .iter()
        .filter_map(|r| r.value.as_ref().map(Vec::len))
        .max()
        .unwrap_or(0);
    assert!(
        largest < 400 * 1024,
        "a changelog record of {largest} bytes"
    );
}

#[test]
fn free_text_strings_no_longer_used_are_released_from_the_interner() {
    let mut c = Company::new();
    let org = "o".repeat(1000);
    for i in 0..5_000 {
        let json = format!(
            r#"{{"employee_id":"e-1","org":"{org}-{i}","policy_group":"corporate","home_site":"SEA-1","status":"active"}}"#
        );
        assert_eq!(c.roster(&json), Outcome::Applied);
    }
    // 5 MB of distinct org names went through; a few MB at most is held.
    let held = c.processor.engine().interner.approx_bytes();
    assert!(held <= 4 << 20, "interner holds {held} bytes");
    assert_eq!(
        c.processor.engine().interner.get(
            c.processor.engine().employees[0]
                .roster
                .map_or(0, |r| r.org)
        ),
        format!("{org}-4999")
    );
}

#[test]
fn an_employee_moving_between_zones_is_decided_once_per_week_in_its_current_zone() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.employee("e-1", "corporate", "LON-1");
    c.employee("e-1", "corporate", "SEA-1");
    c.employee("e-2", "corporate", "SEA-1");
    c.roster_tombstone("e-2");
    c.employee("e-2", "corporate", "LON-1");
    assert_eq!(
        c.badge("e-1", "SEA-1", "2026-05-04T09:00:00-07:00"),
        Outcome::Applied
    );
    // 2026-W19 has closed in both zones, 2026-W20 in neither.
    c.advance("2026-05-13T00:00:00Z");
    assert_eq!(c.decisions_of("e-1").len(), 1);
    assert_eq!(c.decisions_of("e-2").len(), 1);
    assert_eq!(c.decision("e-2", "2026-W19").week.label(), "2026-W19");
}
