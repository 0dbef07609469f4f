//! murmur2 against Kafka's and librdkafka's own vectors, the partition of a key, the
//! directory's folding of entries, and the routing decision.

use serde_json::{json, Value};

use super::*;
use crate::domain::Timestamp;

#[test]
fn murmur2_matches_the_java_client_and_librdkafka() {
    // Kafka's UtilsTest.testMurmur2 (clients/src/test/java/.../utils/UtilsTest.java).
    let java: [(&[u8], i32); 6] = [
        (b"21", -973_932_308),
        (b"foobar", -790_332_482),
        (b"a-little-bit-long-string", -985_981_536),
        (b"a-little-bit-longer-string", -1_486_304_829),
        (
            b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        (b"abc", 479_470_107),
    ];
    // librdkafka's rdmurmur2.c unit test (unsigned there), and every tail length.
    let librdkafka: [(&[u8], u32); 6] = [
        (b"kafka", 0xd067_cf64),
        (b"giberish123456789", 0x8f55_2b0c),
        (b"1234", 0x9fc9_7b14),
        (b"234", 0xe7c0_09ca),
        (b"34", 0x8739_30da),
        (b"4", 0x5a4b_5ca1),
    ];
    for (key, expected) in java {
        assert_eq!(murmur2(key), expected, "{}", String::from_utf8_lossy(key));
    }
    for (key, expected) in librdkafka {
        assert_eq!(
            murmur2(key) as u32,
            expected,
            "{}",
            String::from_utf8_lossy(key)
        );
    }
    assert_eq!(murmur2(b"") as u32, 0x106e_08d9);
}

#[test]
fn the_partition_is_the_positive_hash_modulo_the_count() {
    // (-973932308 & 0x7fffffff) = 1173551340; 479470107 for "abc".
    assert_eq!(partition_for(b"21", 4), Some(0));
    assert_eq!(partition_for(b"21", 7), Some(3)); // 1173551340 % 7
    assert_eq!(partition_for(b"abc", 4), Some(3));
    assert_eq!(partition_for(b"abc", 10), Some(7));
    assert_eq!(partition_for(b"anything", 1), Some(0));
    assert_eq!(partition_for(b"anything", 0), None);
    // Spread: 1000 ids over 4 partitions reach every partition.
    let mut seen = [0u32; 4];
    for i in 0..1000 {
        let p = partition_for(format!("e-{i}").as_bytes(), 4).expect("partition");
        seen[usize::try_from(p).expect("non-negative")] += 1;
    }
    assert!(seen.iter().all(|&n| n > 150), "{seen:?}");
}

#[test]
fn base_urls_are_http_or_https_host_and_port() {
    for (text, normal) in [
        (
            "http://pod-0.attendance:8081",
            "http://pod-0.attendance:8081",
        ),
        ("http://10.0.0.7:8081/", "http://10.0.0.7:8081"),
        ("http://[::1]:8081", "http://[::1]:8081"),
        ("http://api_host", "http://api_host"),
        (
            "https://pod-0.attendance:8443/",
            "https://pod-0.attendance:8443",
        ),
        ("https://[::1]", "https://[::1]"),
    ] {
        assert_eq!(parse_base_url(text).as_deref(), Ok(normal), "{text}");
    }
    for bad in [
        "",
        "pod-0:8081",
        "ftp://pod-0:8081",
        "HTTPS://pod-0:8081",
        "https://",
        "https://pod-0:8081/v1",
        "http://",
        "http://pod-0:8081/v1",
        "http://user@pod-0:8081",
        "http://pod-0:99999",
        "http://pod-0:",
        "http://pod 0:8081",
        "http://[zz]:8081",
        "http://[::1]x",
        "http://pod-0:8081?x=1",
        &format!("http://{}", "a".repeat(300)),
    ] {
        assert!(parse_base_url(bad).is_err(), "{bad}");
    }
}

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_unix(1_780_000_000 + seconds, 0)
}

fn entry(instance: &str, partitions: &[i32], seconds: i64) -> Vec<u8> {
    let url = format!("http://{instance}:8081");
    serde_json::to_vec(&InstanceEntry::new(instance, &url, partitions, at(seconds))).expect("json")
}

fn owner_of(d: &Directory, p: i32) -> Option<&str> {
    d.owner(p).map(|o| o.instance.as_str())
}

#[test]
fn the_directory_maps_partitions_to_the_latest_claim_and_ignores_itself() {
    let mut d = Directory::new("me");
    assert_eq!(
        d.apply(Some(b"a"), Some(&entry("a", &[0, 1], 1))),
        Ok(Applied::Updated)
    );
    assert_eq!(
        d.apply(Some(b"me"), Some(&entry("me", &[2, 3], 1))),
        Ok(Applied::Own)
    );
    assert_eq!((owner_of(&d, 0), owner_of(&d, 1)), (Some("a"), Some("a")));
    assert_eq!(owner_of(&d, 2), None, "its own entries are ignored");
    assert_eq!(
        d.owner(0).map(|o| o.api_url.as_str()),
        Some("http://a:8081")
    );

    // b takes partition 1 later: the later claim holds it; a's older claim does not win back.
    d.apply(Some(b"b"), Some(&entry("b", &[1, 2], 5)))
        .expect("applied");
    assert_eq!(
        (owner_of(&d, 0), owner_of(&d, 1), owner_of(&d, 2)),
        (Some("a"), Some("b"), Some("b"))
    );
    d.apply(Some(b"a"), Some(&entry("a", &[0, 1], 3)))
        .expect("applied");
    assert_eq!(owner_of(&d, 1), Some("b"));

    // A new entry replaces the instance's claims; a tombstone withdraws them.
    d.apply(Some(b"b"), Some(&entry("b", &[3], 6)))
        .expect("applied");
    assert_eq!((owner_of(&d, 2), owner_of(&d, 3)), (None, Some("b")));
    d.apply(Some(b"a"), None).expect("tombstone");
    assert_eq!((owner_of(&d, 0), owner_of(&d, 1)), (None, None));
    assert_eq!(d.len(), 1);
}

#[test]
fn malformed_directory_records_change_nothing() {
    let mut d = Directory::new("me");
    d.apply(Some(b"a"), Some(&entry("a", &[0], 1)))
        .expect("applied");
    let good: Value = serde_json::from_slice(&entry("a", &[0], 2)).expect("json");
    let with = |field: &str, value: Value| {
        let mut v = good.clone();
        v[field] = value;
        serde_json::to_vec(&v).expect("json")
    };
    let cases: Vec<(Option<&[u8]>, Vec<u8>)> = vec![
        (None, entry("a", &[1], 2)),
        (Some(b""), entry("a", &[1], 2)),
        (Some(b"\xff"), entry("a", &[1], 2)),
        (Some(b"b"), entry("a", &[1], 2)),
        (Some(b"a"), b"not json".to_vec()),
        (Some(b"a"), b"[]".to_vec()),
        (Some(b"a"), with("schema_version", json!(2))),
        (Some(b"a"), with("api_url", json!("ftp://a"))),
        (Some(b"a"), with("partitions", json!([-1]))),
        (Some(b"a"), with("partitions", json!([MAX_PARTITIONS]))),
        (Some(b"a"), with("partitions", json!("0"))),
        (Some(b"a"), with("at", json!("yesterday"))),
        (Some(b"a"), vec![b' '; MAX_ENTRY_BYTES + 1]),
    ];
    for (key, value) in cases {
        let result = d.apply(key, Some(&value));
        assert!(
            result.is_err(),
            "{:?} {}",
            key,
            String::from_utf8_lossy(&value)
        );
        assert_eq!(owner_of(&d, 0), Some("a"));
        assert_eq!(d.len(), 1);
    }
}

#[test]
fn entries_follow_the_schema() {
    let path = format!(
        "{}/schemas/instance.schema.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema = jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{path}: {e}"));
    for partitions in [&[][..], &[3, 0, 1, 1]] {
        let e = InstanceEntry::new("pod-0", "http://pod-0.attendance:8081", partitions, at(0));
        let value = serde_json::to_value(&e).expect("json");
        let errors: Vec<String> = schema.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{errors:?}\n{value}");
        let bytes = serde_json::to_vec(&e).expect("json");
        assert_eq!(
            InstanceEntry::parse("pod-0", &bytes).map(|(e, _)| e.partitions),
            Ok(if partitions.is_empty() {
                vec![]
            } else {
                vec![0, 1, 3]
            })
        );
    }
    let mut bad =
        serde_json::to_value(InstanceEntry::new("a", "http://a:1", &[0], at(0))).expect("json");
    bad["partitions"] = json!([-1]);
    assert!(!schema.is_valid(&bad), "the schema is not vacuous");
}

#[test]
fn only_employees_of_other_instances_are_forwarded_and_never_twice() {
    let mut d = Directory::new("me");
    d.apply(Some(b"a"), Some(&entry("a", &[1], 1)))
        .expect("applied");
    let served = Lookup::Served(None);
    let restoring = Lookup::Unavailable {
        retry_after_seconds: 2,
    };
    assert_eq!(decide(&served, false, &d), Decision::Answer);
    assert_eq!(decide(&restoring, false, &d), Decision::Answer);
    assert_eq!(
        decide(&Lookup::Elsewhere { partition: 1 }, false, &d),
        Decision::Forward {
            instance: "a".into(),
            api_url: "http://a:8081".into()
        }
    );
    assert_eq!(
        decide(&Lookup::Elsewhere { partition: 1 }, true, &d),
        Decision::Refuse(Refusal::Loop)
    );
    assert_eq!(
        decide(&Lookup::Elsewhere { partition: 0 }, false, &d),
        Decision::Refuse(Refusal::NoOwner)
    );
}
