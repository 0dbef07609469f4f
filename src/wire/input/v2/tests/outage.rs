//! Site outages (§1.5).

use serde_json::{json, Value};

use super::{day, outage, outage_err, outage_with, validator, with};
use crate::domain::DeadLetterReason::{self, *};
use crate::wire::input::{MAX_MESSAGE_BYTES, MAX_OUTAGE_DAYS};

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
