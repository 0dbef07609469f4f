//! The fast path of [`read_fields`] (wire/plain.rs) against the full serde_json path: the
//! same fields, so the same record or the same rejection (reason and detail), on generated
//! badge lines, on mutations of them and on the fuzz corpus.

use std::time::Duration;

use proptest::prelude::*;
use proptest::sample::Index;

use super::*;

fn validator() -> Validator {
    Validator::new(["SEA-1", "BLR-1"], Duration::from_secs(86_400))
}

fn now() -> Timestamp {
    parse_timestamp("2026-05-10T00:00:00Z").expect("a valid clock")
}

/// `decode_badge` without the fast path.
fn decode_badge_full(v: &Validator, bytes: &[u8], now: Timestamp) -> Result<Badge, Rejection> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    v.badge_from_fields(&read_fields_full(bytes, &BADGE_FIELDS)?, now)
}

/// Asserts that both paths agree on `bytes`; returns whether the fast path read it.
fn same_on_both_paths(bytes: &[u8]) -> bool {
    let v = validator();
    let shown = String::from_utf8_lossy(bytes);
    assert_eq!(
        v.decode_badge(bytes, now()),
        decode_badge_full(&v, bytes, now()),
        "{shown}"
    );
    let roster = read_plain_object(bytes, &ROSTER_FIELDS);
    if roster.is_some() {
        assert_eq!(roster, read_object(bytes, &ROSTER_FIELDS).ok(), "{shown}");
    }
    let plain = read_plain_object(bytes, &BADGE_FIELDS);
    if plain.is_some() {
        // The fast path never reads a line the full path would reject as malformed.
        assert_eq!(plain, read_object(bytes, &BADGE_FIELDS).ok(), "{shown}");
    }
    plain.is_some()
}

/// A JSON value as written in a generated line.
#[derive(Debug, Clone)]
enum Value {
    /// A string without `"`, `\` or control characters, written as is.
    Plain(String),
    /// Any other JSON text (escaped strings, numbers, arrays, objects, literals; of those
    /// the fast path reads only `null`, `true` and `false`).
    Raw(String),
}

impl Value {
    fn render(&self) -> String {
        match self {
            Value::Plain(s) => format!("\"{s}\""),
            Value::Raw(s) => s.clone(),
        }
    }
}

fn plain(pattern: &'static str) -> impl Strategy<Value = Value> {
    pattern.prop_map(Value::Plain)
}

fn raw(texts: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop::sample::select(texts).prop_map(|s| Value::Raw(s.to_owned()))
}

/// Mostly valid values of each field, some invalid, some of another JSON type.
fn event_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => plain("b-[0-9]{1,8}"),
        1 => plain("[a-zé€ -~&&[^\"\\\\]]{0,12}"),
        1 => plain("x{120,135}"),
        1 => raw(&["null", "7", "\"b\\u002d1\"", "true"]),
    ]
}

fn employee_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => plain("e-[0-9]{6}"),
        1 => plain("[A-Za-z0-9._:@ -]{0,3}"),
        1 => plain("e{60,70}"),
        1 => raw(&["null", "[]", "\"e\\u002d1\"", "{\"a\":1}"]),
    ]
}

fn site_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::sample::select(&["SEA-1", "BLR-1"][..]).prop_map(|s| Value::Plain(s.into())),
        1 => plain("(XX-9|sea-1|SEA-1 |)"),
        1 => raw(&["null", "1.5e3", "\"SEA\\u002d1\"", "false"]),
    ]
}

fn timestamp() -> impl Strategy<Value = Value> {
    let canonical = (
        2025..2028i32,
        1..=12u32,
        1..=31u32,
        0..24u32,
        0..60u32,
        0..60u32,
        prop::sample::select(&["", ".5", ".123", ".123456789123"][..]),
        prop::sample::select(&["Z", "+10:00", "-07:00", "+05:30", "+00:00"][..]),
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, zone)| {
            Value::Plain(format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{zone}"
            ))
        });
    prop_oneof![
        8 => canonical,
        1 => plain("20[0-9]{2}-[0-1][0-9]-[0-3][0-9][T t][0-2][0-9]:[0-6][0-9]:[0-6][0-9](Z|z|[+-][0-2][0-9]:?[0-6][0-9])?"),
        1 => raw(&["null", "1746000000", "\"2026-05-05T08:00:00\\u005a\""]),
    ]
}

fn direction() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        3 => Just(Some(Value::Plain("in".into()))),
        3 => Just(Some(Value::Plain("out".into()))),
        1 => Just(Some(Value::Raw("null".into()))),
        1 => plain("(IN|sideways|)").prop_map(Some),
        1 => raw(&["true", "0", "\"\\u0069n\""]).prop_map(Some),
    ]
}

/// Keys a badge decoder does not read, with values of every JSON type.
fn extra() -> impl Strategy<Value = (String, Value)> {
    (
        "(note|pad|x|site|é|Timestamp)",
        prop_oneof![
            plain("[ -~&&[^\"\\\\]]{0,20}"),
            raw(&[
                "null",
                "true",
                "false",
                "-0.5",
                "[1,\"a\"]",
                "{\"q\":{}}",
                "\"a\\nb\""
            ]),
        ],
    )
}

/// JSON white space between tokens (and none).
fn gaps() -> impl Strategy<Value = Vec<&'static str>> {
    prop::collection::vec(
        prop::sample::select(&["", "", "", " ", "  ", "\t", "\n", "\r\n"][..]),
        64,
    )
}

/// A badge line: the four required fields, maybe a direction, extra keys and a duplicate,
/// in any order, with white space anywhere JSON allows it.
fn badge_line() -> impl Strategy<Value = (String, bool)> {
    (
        (
            event_id(),
            employee_id(),
            site_id(),
            timestamp(),
            direction(),
        ),
        prop::collection::vec(extra(), 0..3),
        prop::option::of((0..5usize, event_id())),
        gaps(),
        any::<u64>(),
    )
        .prop_flat_map(|((e, emp, site, ts, dir), extras, dup, gaps, _)| {
            let mut members = vec![
                ("event_id".to_owned(), e),
                ("employee_id".to_owned(), emp),
                ("site_id".to_owned(), site),
                ("timestamp".to_owned(), ts),
            ];
            if let Some(d) = dir {
                members.push(("direction".to_owned(), d));
            }
            if let Some((i, v)) = dup {
                members.push((BADGE_FIELDS[i].to_owned(), v));
            }
            members.extend(extras);
            (Just(members).prop_shuffle(), Just(gaps))
        })
        .prop_map(|(members, gaps)| {
            let mut gap = gaps.iter().cycle();
            let mut g = || *gap.next().unwrap_or(&"");
            let only_plain = members.iter().all(|(_, v)| match v {
                Value::Plain(_) => true,
                Value::Raw(raw) => ["null", "true", "false"].contains(&raw.as_str()),
            });
            let mut line = format!("{}{{", g());
            for (n, (key, value)) in members.iter().enumerate() {
                if n > 0 {
                    line.push(',');
                }
                line.push_str(&format!(
                    "{}\"{key}\"{}:{}{}{}",
                    g(),
                    g(),
                    g(),
                    value.render(),
                    g()
                ));
            }
            line.push('}');
            line.push_str(g());
            (line, only_plain)
        })
}

/// One change to a line's bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(Index, u8),
    Truncate(Index),
    Insert(Index, &'static [u8]),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let snippets: &'static [&'static [u8]] = &[
        b"\\",
        b"\\\"",
        b"\\u0041",
        b"\"",
        b" ",
        b"\t",
        b"\x00",
        b"\x1f",
        b"\xff",
        b"\xc3",
        b"\xc3\xa9",
        b",",
        b":",
        b"{",
        b"}",
        b"[",
        b"1",
        b"null",
        b",\"event_id\":\"dup\"",
        b",\"direction\":\"out\"",
        b",\"site_id\":null",
        b"}{",
    ];
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), prop::sample::select(snippets)).prop_map(|(i, s)| Mutation::Insert(i, s)),
    ]
}

fn mutate(line: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = line.as_bytes().to_vec();
    for m in mutations {
        match m {
            Mutation::Flip(i, b) if !bytes.is_empty() => {
                let at = i.index(bytes.len());
                bytes[at] = *b;
            }
            Mutation::Flip(..) => {}
            Mutation::Truncate(i) => bytes.truncate(i.index(bytes.len() + 1)),
            Mutation::Insert(i, s) => {
                let at = i.index(bytes.len() + 1);
                bytes.splice(at..at, s.iter().copied());
            }
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn generated_badge_lines_decode_the_same_on_both_paths((line, only_plain) in badge_line()) {
        let fast = same_on_both_paths(line.as_bytes());
        // Lines of plain values are what the fast path is for: it must read them.
        prop_assert_eq!(fast, only_plain, "{}", line);
    }

    #[test]
    fn mutated_badge_lines_decode_the_same_on_both_paths(
        (line, _) in badge_line(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        same_on_both_paths(&mutate(&line, &mutations));
    }
}

#[test]
fn the_generators_line_shape_takes_the_fast_path() {
    let line = br#"{"event_id":"b-46053","employee_id":"e-063843","site_id":"SEA-1","timestamp":"2026-05-04T06:58:40+10:00","direction":"in"}"#;
    assert!(same_on_both_paths(line));
    let badge = validator()
        .decode_badge(line, now())
        .expect("a valid badge");
    assert_eq!(badge.event_id, "b-46053");
    assert_eq!(badge.employee_id.as_str(), "e-063843");
    assert_eq!(badge.site, 0);
    assert_eq!(badge.direction, Direction::In);
    assert_eq!(
        badge.timestamp,
        parse_timestamp("2026-05-03T20:58:40Z").expect("valid")
    );
}

#[test]
fn edge_lines_decode_the_same_on_both_paths() {
    let head = r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"2026-05-05T08:00:00Z","pad":""#;
    for pad in [
        MAX_MESSAGE_BYTES - head.len() - 2,
        MAX_MESSAGE_BYTES - head.len() - 1,
    ] {
        let line = format!("{head}{}\"}}", "x".repeat(pad));
        same_on_both_paths(line.as_bytes());
    }
    for line in [
        "",
        "{}",
        "null",
        "{\"event_id\":\"b\"}",
        r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"2026-05-11T00:00:00Z"}"#,
        r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"2026-05-11T00:00:00.000000001Z"}"#,
        r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"2024-02-29T00:00:00Z"}"#,
        r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"2026-02-29T00:00:00Z"}"#,
        r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"0000-01-01T00:00:00+23:59"}"#,
        r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"9999-12-31T23:59:59-23:59"}"#,
    ] {
        same_on_both_paths(line.as_bytes());
    }
}

#[test]
fn the_fuzz_corpus_decodes_the_same_on_both_paths() {
    let fuzz = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut count = 0;
    for kind in ["seeds", "regressions"] {
        let Ok(targets) = std::fs::read_dir(fuzz.join(kind)) else {
            continue;
        };
        for target in targets.flatten() {
            let Ok(files) = std::fs::read_dir(target.path()) else {
                continue;
            };
            for file in files.flatten() {
                let bytes = std::fs::read(file.path()).expect("a readable corpus file");
                same_on_both_paths(&bytes);
                count += 1;
            }
        }
    }
    assert!(count >= 20, "the fuzz corpus is there ({count} files)");
}
