//! Every rule of §1.5 and §1.6, and §2's precedence, for the two v2 decoders.

use std::time::Duration;

use serde_json::{json, Value};

use super::{MAX_OUTAGE_DAYS, MAX_REASON_BYTES};
use crate::domain::time::parse_date;
use crate::domain::{AdjustmentAction, DeadLetterReason, Rejection};
use crate::wire::input::{Validator, MAX_MESSAGE_BYTES};
use DeadLetterReason::*;

fn validator() -> Validator {
    Validator::new(["SEA-1", "BLR-1"], Duration::from_secs(86_400))
}

/// §1.5's example.
fn outage() -> Value {
    json!({"outage_id":"o-7","site_id":"SEA-1","start_date":"2026-05-06",
           "end_date":"2026-05-06","status":"active","reason":"badge readers offline"})
}

/// §1.6's example.
fn adjustment() -> Value {
    json!({"adjustment_id":"adj-12","employee_id":"e-42","date":"2026-05-07",
           "action":"credit_office_day","status":"approved",
           "reason":"badge reader at door 3 faulty","requested_by":"e-42","approved_by":"m-7"})
}

/// `base` with `field` set to `value` (`None`: removed).
fn with(mut base: Value, field: &str, value: Option<Value>) -> Vec<u8> {
    let map = base.as_object_mut().expect("test messages are objects");
    match value {
        Some(v) => map.insert(field.to_owned(), v),
        None => map.remove(field),
    };
    serde_json::to_vec(&base).expect("serializes")
}

fn outage_err(bytes: &[u8]) -> Rejection {
    match validator().decode_outage(bytes) {
        Ok(o) => panic!("{} decoded to {o:?}", String::from_utf8_lossy(bytes)),
        Err(e) => e,
    }
}

fn adjustment_err(bytes: &[u8]) -> Rejection {
    match validator().decode_adjustment(bytes) {
        Ok(a) => panic!("{} decoded to {a:?}", String::from_utf8_lossy(bytes)),
        Err(e) => e,
    }
}

fn outage_with(field: &str, value: Option<Value>) -> DeadLetterReason {
    outage_err(&with(outage(), field, value)).reason
}

fn adjustment_with(field: &str, value: Option<Value>) -> DeadLetterReason {
    adjustment_err(&with(adjustment(), field, value)).reason
}

fn day(text: &str) -> crate::domain::Day {
    parse_date(text).expect("test date")
}

#[test]
fn the_outage_example_of_section_1_5_decodes() {
    let o = validator()
        .decode_outage(&with(outage(), "site_id", Some(json!("BLR-1"))))
        .unwrap();
    assert_eq!(o.outage_id, "o-7");
    assert_eq!(o.site, 1);
    assert_eq!((o.start, o.end), (day("2026-05-06"), day("2026-05-06")));
    assert!(o.active);
    let cancelled = validator()
        .decode_outage(&with(outage(), "status", Some(json!("cancelled"))))
        .unwrap();
    assert!(!cancelled.active);
}

#[test]
fn an_outage_reason_is_optional_text_of_at_most_500_bytes() {
    let v = validator();
    for reason in [
        None,
        Some(json!(null)),
        Some(json!("")),
        Some(json!("x".repeat(500))),
    ] {
        assert!(v.decode_outage(&with(outage(), "reason", reason)).is_ok());
    }
    assert_eq!(
        outage_with("reason", Some(json!("x".repeat(501)))),
        InvalidField
    );
    assert_eq!(outage_with("reason", Some(json!(7))), InvalidField);
    assert_eq!(outage_with("reason", Some(json!(["x"]))), InvalidField);
}

#[test]
fn outage_fields_follow_their_rules() {
    assert_eq!(outage_with("outage_id", Some(json!(""))), InvalidField);
    assert_eq!(
        outage_with("outage_id", Some(json!("o".repeat(129)))),
        InvalidField
    );
    assert_eq!(outage_with("outage_id", Some(json!(7))), InvalidField);
    assert!(validator()
        .decode_outage(&with(outage(), "outage_id", Some(json!("o".repeat(128)))))
        .is_ok());
    assert_eq!(outage_with("site_id", Some(json!(1))), InvalidField);
    assert_eq!(
        outage_with("start_date", Some(json!("2026-5-6"))),
        InvalidField
    );
    assert_eq!(
        outage_with("end_date", Some(json!("2026-02-30"))),
        InvalidField
    );
    assert_eq!(outage_with("status", Some(json!("approved"))), InvalidField);
    assert_eq!(outage_with("status", Some(json!(true))), InvalidField);
    assert_eq!(outage_with("site_id", Some(json!("XX-9"))), UnknownSite);
    assert_eq!(outage_with("site_id", Some(json!(""))), UnknownSite);
}

#[test]
fn an_outage_spans_start_to_end_and_at_most_366_days() {
    let span = |start: &str, end: &str| {
        let mut o = outage();
        o["start_date"] = json!(start);
        o["end_date"] = json!(end);
        validator().decode_outage(&serde_json::to_vec(&o).expect("json"))
    };
    assert_eq!(
        span("2026-05-07", "2026-05-06").unwrap_err().reason,
        InvalidField
    );
    // 2026-01-01 to 2027-01-01 counts 366 days, both ends included; one more is too many.
    let longest = span("2026-01-01", "2027-01-01").unwrap();
    assert_eq!(longest.end.0 - longest.start.0 + 1, MAX_OUTAGE_DAYS);
    let too_long = span("2026-01-01", "2027-01-02").unwrap_err();
    assert_eq!(too_long.reason, InvalidField);
    assert!(too_long.detail.contains("367 days"), "{}", too_long.detail);
    // A leap year's whole year is 366 days.
    assert!(span("2028-01-01", "2028-12-31").is_ok());
    assert_eq!(
        span("0001-01-01", "9999-12-31").unwrap_err().reason,
        InvalidField
    );
}

#[test]
fn a_cancelled_outage_is_validated_in_full() {
    let mut o = outage();
    o["status"] = json!("cancelled");
    assert_eq!(outage_with_base(&o, "site_id", json!("XX-9")), UnknownSite);
    assert_eq!(
        outage_with_base(&o, "end_date", json!("2026-05-05")),
        InvalidField
    );
    assert_eq!(outage_with_base(&o, "reason", json!(false)), InvalidField);
}

fn outage_with_base(base: &Value, field: &str, value: Value) -> DeadLetterReason {
    outage_err(&with(base.clone(), field, Some(value))).reason
}

#[test]
fn outage_reasons_follow_the_precedence_of_section_2() {
    let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_MESSAGE_BYTES));
    assert_eq!(outage_err(big.as_bytes()).reason, TooLarge);
    for not_an_object in ["", "null", "[1]", "\"o-7\"", "{\"outage_id\":", "{} {}"] {
        assert_eq!(outage_err(not_an_object.as_bytes()).reason, MalformedJson);
    }
    for field in ["outage_id", "site_id", "start_date", "end_date", "status"] {
        assert_eq!(outage_with(field, None), MissingField, "{field} absent");
        assert_eq!(
            outage_with(field, Some(json!(null))),
            MissingField,
            "{field} null"
        );
    }
    // Missing beats invalid: the id is invalid but the status is missing.
    let mut o = outage();
    o["outage_id"] = json!("");
    assert_eq!(outage_with_base(&o, "status", json!(null)), MissingField);
    // Invalid beats unknown site: an unknown site, and dates in the wrong order.
    o["outage_id"] = json!("o-7");
    o["site_id"] = json!("XX-9");
    assert_eq!(
        outage_with_base(&o, "start_date", json!("2026-05-07")),
        InvalidField
    );
    // Never future_timestamp: dates far ahead of any clock are fine.
    let mut future = outage();
    future["start_date"] = json!("2999-01-01");
    future["end_date"] = json!("2999-01-02");
    assert!(validator()
        .decode_outage(&serde_json::to_vec(&future).expect("json"))
        .is_ok());
}

#[test]
fn unknown_fields_are_ignored() {
    assert!(validator()
        .decode_outage(&with(outage(), "extra", Some(json!({"a":[1,2]}))))
        .is_ok());
    assert!(validator()
        .decode_adjustment(&with(adjustment(), "ticket", Some(json!(12))))
        .is_ok());
}

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
