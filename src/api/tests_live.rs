//! The pieces the live listener will use: resolving a request against the partitions held
//! (served, unknown, restoring, owned elsewhere) and the audit record of each answer.

use serde_json::Value;

use crate::domain::time::parse_timestamp;
use crate::domain::EmployeeId;
use crate::engine::tests::Company;
use crate::engine::{Engine, Reporting};

use super::*;

fn engine_with(ids: &[&str]) -> Engine {
    let mut c = Company::new();
    for id in ids {
        c.employee(id, "corporate", "SEA-1");
    }
    c.processor.engine().clone()
}

fn id(s: &str) -> EmployeeId {
    EmployeeId::parse(s).expect("id")
}

fn held(partition: i32, engine: &Engine, ready: bool) -> Held<'_> {
    Held {
        partition,
        ready,
        engine,
    }
}

/// The first id `e-<n>` that Kafka's partitioner puts in `partition` of `partitions`.
fn id_in(partition: i32, partitions: usize) -> String {
    named_in("e", partition, partitions)
}

/// The first id `<prefix>-<n>` in `partition` of `partitions`.
fn named_in(prefix: &str, partition: i32, partitions: usize) -> String {
    (0..)
        .map(|n| format!("{prefix}-{n}"))
        .find(|id| routing::partition_for(id.as_bytes(), partitions) == Some(partition))
        .expect("some id")
}

#[test]
fn an_employee_is_served_by_the_partition_that_holds_them() {
    let (a, b) = (id_in(0, 2), id_in(1, 2));
    let (p0, p1) = (engine_with(&[&a]), engine_with(&[&b]));
    let r = resolve([held(0, &p0, true), held(1, &p1, true)], 2, &id(&b));
    assert_eq!(
        r.lookup,
        Lookup::Served(Some(Reporting {
            manager_id: Some("m-1".into()),
            vp_id: Some("vp-1".into())
        }))
    );
    assert_eq!(r.record, p1.record(&b));
    assert!(r.record.is_some());
    // The owner of the employee's partition alone serves them too.
    let r = resolve([held(1, &p1, true)], 2, &id(&b));
    assert_eq!(r.record, p1.record(&b));
}

#[test]
fn unknown_is_said_by_the_owner_of_the_employees_partition_once_it_is_ready() {
    let (a, b) = (id_in(0, 2), id_in(1, 2));
    let (p0, p1) = (engine_with(&[&a]), engine_with(&[&b]));
    let nobody = named_in("nobody", 1, 2);
    let unknown = Lookup::Served(None);
    let retry = Lookup::Unavailable {
        retry_after_seconds: lookup::RETRY_AFTER_SECONDS,
    };
    // Every partition here and ready.
    let all = resolve([held(0, &p0, true), held(1, &p1, true)], 2, &id(&nobody));
    assert_eq!((all.lookup, all.record), (unknown.clone(), None));
    // The owner of partition 1 alone.
    assert_eq!(
        resolve([held(1, &p1, true)], 2, &id(&nobody)).lookup,
        unknown
    );
    // ... while it reads its tables: retry.
    assert_eq!(
        resolve([held(1, &p1, false)], 2, &id(&nobody)).lookup,
        retry
    );
    // Another instance owns partition 1: elsewhere, whoever is held here.
    for r in [
        resolve([held(0, &p0, true)], 2, &id(&b)),
        resolve([held(0, &p0, true)], 2, &id(&nobody)),
        resolve([], 2, &id(&b)),
    ] {
        assert_eq!(r.lookup, Lookup::Elsewhere { partition: 1 });
        assert_eq!(r.record, None);
    }
    // With every partition here, a partition still restoring may hold them.
    let r = resolve([held(0, &p0, true), held(1, &p1, false)], 2, &id(&nobody));
    assert_eq!(r.lookup, retry);
    // An employee found in a partition still restoring is not served from half its state.
    let r = resolve([held(0, &p0, true), held(1, &p1, false)], 2, &id(&b));
    assert_eq!((r.lookup, r.record), (retry, None));
}

#[test]
fn an_instance_holding_every_partition_finds_employees_another_partitioner_placed() {
    // `b` belongs in partition 1 by murmur2, but the producer put them in partition 0.
    let b = id_in(1, 2);
    let (p0, p1) = (engine_with(&[&b]), engine_with(&[]));
    let r = resolve([held(0, &p0, true), held(1, &p1, true)], 2, &id(&b));
    assert!(matches!(r.lookup, Lookup::Served(Some(_))));
    assert_eq!(r.record, p0.record(&b));
}

#[test]
fn the_resolved_state_answers_the_request() {
    let p0 = engine_with(&["e-1"]);
    let resolved = resolve([held(0, &p0, true)], 1, &id("e-1"));
    let verifier = Verifier::new("aud", None, Some(&[b'k'; 32])).expect("verifier");
    // No token: 401 and the audit record says so, without caller or employee.
    let a = answer(
        &verifier,
        &resolved,
        "GET",
        "/v1/employees/e-1/record",
        None,
    );
    assert_eq!(a.status, 401);
    let at = parse_timestamp("2026-05-20T10:00:00Z").expect("ts");
    let record = AccessRecord::of(&a, at, "instance-a", 7);
    assert_eq!(
        (record.caller.as_deref(), record.employee_id.as_deref()),
        (None, None)
    );
    assert_eq!(record.key(), "");
}

fn access_schema() -> jsonschema::Validator {
    let path = format!(
        "{}/schemas/access-log.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn access_records_follow_the_schema_and_ids_differ_per_request() {
    let schema = access_schema();
    let at = parse_timestamp("2026-05-20T10:00:00Z").expect("ts");
    let answered = Answer {
        status: 403,
        headers: Vec::new(),
        body: String::new(),
        caller: Some("m-2".into()),
        employee_id: Some(id("e-1")),
    };
    let first = AccessRecord::of(&answered, at, "instance-a", 1);
    let value = serde_json::to_value(&first).expect("json");
    let errors: Vec<String> = schema.iter_errors(&value).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{value}");
    assert_eq!(value["outcome"], 403);
    assert_eq!(value["caller"], "m-2");
    assert_eq!(first.key(), "e-1");
    assert_eq!(first, AccessRecord::of(&answered, at, "instance-a", 1));
    assert_ne!(
        first.access_id,
        AccessRecord::of(&answered, at, "instance-a", 2).access_id
    );
    assert_ne!(
        first.access_id,
        AccessRecord::of(&answered, at, "instance-b", 1).access_id
    );
    let mut bad = value.clone();
    bad["outcome"] = serde_json::json!(500);
    assert!(!schema.is_valid(&bad), "the schema is not vacuous");
}
