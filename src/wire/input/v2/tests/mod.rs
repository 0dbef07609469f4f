//! Every rule of §1.5 and §1.6, and §2's precedence, for the two v2 decoders.

mod adjustment;
mod outage;

use std::time::Duration;

use serde_json::{json, Value};

use crate::domain::time::parse_date;
use crate::domain::{DeadLetterReason, Rejection};
use crate::wire::input::Validator;

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
fn unknown_fields_are_ignored() {
    assert!(validator()
        .decode_outage(&with(outage(), "extra", Some(json!({"a":[1,2]}))))
        .is_ok());
    assert!(validator()
        .decode_adjustment(&with(adjustment(), "ticket", Some(json!(12))))
        .is_ok());
}
