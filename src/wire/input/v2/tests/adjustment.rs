//! Attendance adjustments (§1.6), and §8's rule for their reason.

use serde_json::{json, Value};

use super::{adjustment, adjustment_err, adjustment_with, day, validator, with};
use crate::domain::AdjustmentAction;
use crate::domain::DeadLetterReason::*;
use crate::wire::input::{MAX_MESSAGE_BYTES, MAX_REASON_BYTES};

#[test]
fn the_adjustment_example_of_section_1_6_decodes() {
    let a = validator()
        .decode_adjustment(&serde_json::to_vec(&adjustment()).expect("json"))
        .unwrap();
    assert_eq!(a.adjustment_id, "adj-12");
    assert_eq!(a.employee_id, "e-42");
    assert_eq!(a.date, day("2026-05-07"));
    assert_eq!(a.action, AdjustmentAction::CreditOfficeDay);
    assert!(a.approved);
    let excuse = validator()
        .decode_adjustment(&with(adjustment(), "action", Some(json!("excuse_day"))))
        .unwrap();
    assert_eq!(excuse.action, AdjustmentAction::ExcuseDay);
    let cancelled = validator()
        .decode_adjustment(&with(adjustment(), "status", Some(json!("cancelled"))))
        .unwrap();
    assert!(!cancelled.approved);
}

#[test]
fn adjustment_fields_follow_their_rules() {
    assert_eq!(
        adjustment_with("adjustment_id", Some(json!(""))),
        InvalidField
    );
    assert_eq!(
        adjustment_with("adjustment_id", Some(json!("a".repeat(129)))),
        InvalidField
    );
    assert!(validator()
        .decode_adjustment(&with(
            adjustment(),
            "adjustment_id",
            Some(json!("a".repeat(128)))
        ))
        .is_ok());
    assert_eq!(
        adjustment_with("employee_id", Some(json!("e 42"))),
        InvalidField
    );
    assert_eq!(
        adjustment_with("employee_id", Some(json!("e".repeat(65)))),
        InvalidField
    );
    assert_eq!(
        adjustment_with("date", Some(json!("2026-05-07T00:00:00Z"))),
        InvalidField
    );
    assert_eq!(
        adjustment_with("action", Some(json!("credit"))),
        InvalidField
    );
    assert_eq!(adjustment_with("action", Some(json!(1))), InvalidField);
    assert_eq!(
        adjustment_with("status", Some(json!("active"))),
        InvalidField
    );
    assert_eq!(adjustment_with("reason", Some(json!(""))), InvalidField);
    assert_eq!(
        adjustment_with("reason", Some(json!("r".repeat(501)))),
        InvalidField
    );
    assert_eq!(adjustment_with("reason", Some(json!(["r"]))), InvalidField);
    assert!(validator()
        .decode_adjustment(&with(
            adjustment(),
            "reason",
            Some(json!("r".repeat(MAX_REASON_BYTES)))
        ))
        .is_ok());
    assert_eq!(
        adjustment_with("approved_by", Some(json!("m 7"))),
        InvalidField
    );
    assert_eq!(
        adjustment_with("approved_by", Some(json!(""))),
        InvalidField
    );
}

#[test]
fn nobody_approves_their_own_adjustment() {
    let err = adjustment_err(&with(adjustment(), "approved_by", Some(json!("e-42"))));
    assert_eq!(err.reason, InvalidField);
    assert!(
        err.detail.starts_with("approved_by must differ"),
        "{}",
        err.detail
    );
    // Ids compare as given: another case is another id.
    assert!(validator()
        .decode_adjustment(&with(adjustment(), "approved_by", Some(json!("E-42"))))
        .is_ok());
}

#[test]
fn requested_by_is_optional_may_be_the_employee_and_is_never_empty() {
    let v = validator();
    for requested_by in [
        None,
        Some(json!(null)),
        Some(json!("e-42")),
        Some(json!("hr.bot@x")),
    ] {
        assert!(v
            .decode_adjustment(&with(adjustment(), "requested_by", requested_by))
            .is_ok());
    }
    assert_eq!(
        adjustment_with("requested_by", Some(json!(""))),
        InvalidField
    );
    assert_eq!(
        adjustment_with("requested_by", Some(json!("e/42"))),
        InvalidField
    );
    assert_eq!(
        adjustment_with("requested_by", Some(json!(42))),
        InvalidField
    );
}

#[test]
fn a_cancelled_adjustment_is_validated_in_full() {
    let mut a = adjustment();
    a["status"] = json!("cancelled");
    let err = |field: &str, value: Value| adjustment_err(&with(a.clone(), field, Some(value)));
    assert_eq!(err("approved_by", json!("e-42")).reason, InvalidField);
    assert_eq!(err("reason", json!("")).reason, InvalidField);
    assert_eq!(err("reason", json!(null)).reason, MissingField);
    assert_eq!(err("action", json!("undo")).reason, InvalidField);
}

#[test]
fn adjustment_reasons_follow_the_precedence_of_section_2() {
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_MESSAGE_BYTES));
    assert_eq!(adjustment_err(big.as_bytes()).reason, TooLarge);
    for not_an_object in [
        "null",
        "[]",
        "42",
        "{\"adjustment_id\":\"a\",}",
        "\u{feff}{}",
    ] {
        assert_eq!(
            adjustment_err(not_an_object.as_bytes()).reason,
            MalformedJson
        );
    }
    for field in [
        "adjustment_id",
        "employee_id",
        "date",
        "action",
        "status",
        "reason",
        "approved_by",
    ] {
        assert_eq!(adjustment_with(field, None), MissingField, "{field} absent");
        assert_eq!(
            adjustment_with(field, Some(json!(null))),
            MissingField,
            "{field} null"
        );
    }
    // Missing beats invalid: the date is invalid but approved_by is missing.
    let mut a = adjustment();
    a["date"] = json!("yesterday");
    assert_eq!(
        adjustment_err(&with(a, "approved_by", None)).reason,
        MissingField
    );
    // Never future_timestamp.
    assert!(validator()
        .decode_adjustment(&with(adjustment(), "date", Some(json!("2999-12-31"))))
        .is_ok());
}

#[test]
fn the_adjustment_reason_never_appears_in_a_detail() {
    const SECRET: &str = "diagnosis-SECRET";
    let secret = |n: usize| json!(SECRET.repeat(n));
    let mut rejected = Vec::new();
    // The reason itself at fault: too long, and every other field at fault beside it.
    rejected.push(with(adjustment(), "reason", Some(secret(40))));
    let mut a = adjustment();
    a["reason"] = secret(1);
    for (field, value) in [
        ("adjustment_id", json!("")),
        ("employee_id", json!("e 42")),
        ("date", json!("2026-13-01")),
        ("action", json!("credit")),
        ("status", json!("done")),
        ("approved_by", json!("e-42")),
        ("requested_by", json!("")),
        ("approved_by", json!(null)),
    ] {
        rejected.push(with(a.clone(), field, Some(value)));
    }
    rejected.push(format!(r#"{{"reason":"{SECRET}","#).into_bytes());
    for bytes in &rejected {
        let err = adjustment_err(bytes);
        assert!(
            !err.detail.contains(SECRET),
            "{:?}: {}",
            err.reason,
            err.detail
        );
        assert!(!err.detail.contains("diagnosis"), "{}", err.detail);
    }
    assert_eq!(rejected.len(), 10);
}
