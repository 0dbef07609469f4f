//! One function per fuzz target. Each takes arbitrary bytes, must never panic or hang, and
//! asserts the invariants named in its doc comment.

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::changelog::{self, Step};
use crate::config::Config;
use crate::domain::time::{local_day, parse_date, parse_timestamp};
use crate::domain::{DeadLetterReason, Rejection, Timestamp};
use crate::engine::{Engine, Output};
use crate::fixture::{self, check_detail, check_outputs};
use crate::processor::{Outcome, Processor};
use crate::wire::input::{Validator, MAX_MESSAGE_BYTES, MAX_OUTAGE_DAYS};

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let config = fixture::config();
        Validator::new(
            config.sites.iter().map(|s| s.id.as_str()),
            config.processor.time.max_future_skew,
        )
    })
}

/// Whether `data` is one JSON object for serde_json's own complete reader (every string
/// decoded, every number in range).
fn is_json_object(data: &[u8]) -> bool {
    matches!(
        serde_json::from_slice::<serde_json::Value>(data),
        Ok(serde_json::Value::Object(_))
    )
}

/// Whether `data` is UTF-8 text holding one JSON object, read without decoding what is
/// skipped (so numbers out of f64's range and lone surrogate escapes in skipped values pass:
/// RFC 8259 allows both, and the decoders do not read those values).
fn is_lax_json_object(data: &[u8]) -> bool {
    std::str::from_utf8(data).is_ok_and(|text| text.trim_start().starts_with('{'))
        && serde_json::from_slice::<serde::de::IgnoredAny>(data).is_ok()
}

/// The checks every decoder shares: a message serde_json reads as one object in full is not
/// `malformed_json`; one that is not UTF-8 text of one syntactically valid object is (so
/// invalid UTF-8 anywhere, even in a skipped value, is malformed); details are one line.
fn check_rejection<T>(data: &[u8], result: &Result<T, Rejection>) {
    if data.len() > MAX_MESSAGE_BYTES {
        let reason = result.as_ref().err().map(|r| r.reason);
        assert_eq!(
            reason,
            Some(DeadLetterReason::TooLarge),
            "over-long message"
        );
        return;
    }
    let malformed = matches!(result, Err(r) if r.reason == DeadLetterReason::MalformedJson);
    let shown = || String::from_utf8_lossy(data).into_owned();
    if is_json_object(data) {
        assert!(!malformed, "a JSON object is malformed_json: {:?}", shown());
    }
    if !is_lax_json_object(data) {
        assert!(
            malformed,
            "not one UTF-8 JSON object, yet not malformed_json: {:?}",
            shown()
        );
    }
    if let Err(rejection) = result {
        check_detail(&rejection.detail);
    }
}

/// Badge decoder (§1.1) and the processor behind it: `malformed_json` agrees with a
/// validating JSON reader, details are one line, a decoded badge is within the skew limit
/// and names a configured site, every dead letter serializes to one line.
pub fn badge(data: &[u8]) {
    let now = fixture::now();
    let result = validator().decode_badge(data, now);
    check_rejection(data, &result);
    if let Ok(badge) = &result {
        assert!(badge.site < fixture::config().sites.len());
        assert!(!badge.event_id.is_empty() && badge.event_id.len() <= 128);
        assert!(
            badge.timestamp <= now.add_duration(fixture::config().processor.time.max_future_skew)
        );
    }
    let mut processor = fixture::processor();
    let mut out = Vec::new();
    let outcome = processor.badge(data, fixture::source(), now, &mut out);
    assert_eq!(matches!(outcome, Outcome::DeadLettered(_)), result.is_err());
    check_outputs(&out);
}

/// Roster decoder (§1.2), as a value and as a tombstone key: same checks as [`badge`].
pub fn roster(data: &[u8]) {
    let result = validator().decode_roster(data);
    check_rejection(data, &result);
    let mut processor = fixture::processor();
    let mut out = Vec::new();
    let outcome = processor.roster(None, Some(data), fixture::source(), &mut out);
    assert_eq!(matches!(outcome, Outcome::DeadLettered(_)), result.is_err());
    processor.roster(Some(data), None, fixture::source(), &mut out);
    check_outputs(&out);
}

/// Absence decoder (§1.3): same checks as [`badge`]; a decoded absence has start ≤ end.
pub fn absence(data: &[u8]) {
    let result = validator().decode_absence(data);
    check_rejection(data, &result);
    if let Ok(absence) = &result {
        assert!(absence.start <= absence.end);
    }
    let mut processor = fixture::processor();
    let mut out = Vec::new();
    processor.absence(data, fixture::source(), &mut out);
    check_outputs(&out);
}

/// Site-outage decoder (§1.5, v2), as a value and as a tombstone key: same checks as
/// [`badge`]; a decoded outage names a configured site, has a 1..=128-byte id and
/// start ≤ end within 366 days; a rejected one is dead-lettered.
pub fn outage(data: &[u8]) {
    let result = validator().decode_outage(data);
    check_rejection(data, &result);
    if let Ok(outage) = &result {
        assert!(outage.site < fixture::config().sites.len());
        assert!(!outage.outage_id.is_empty() && outage.outage_id.len() <= 128);
        assert!(outage.start <= outage.end);
        assert!(outage.end.0 - outage.start.0 < MAX_OUTAGE_DAYS);
    }
    let mut processor = fixture::processor();
    let mut out = Vec::new();
    let outcome = processor.outage(None, Some(data), fixture::source(), &mut out);
    if result.is_err() {
        assert!(matches!(outcome, Outcome::DeadLettered(_)));
    }
    processor.outage(Some(data), None, fixture::source(), &mut out);
    check_outputs(&out);
}

/// Attendance-adjustment decoder (§1.6, v2): same checks as [`badge`]; a decoded
/// adjustment has a 1..=128-byte id; a rejected one is dead-lettered; and the outcome does
/// not depend on the text of `reason` (§8: it never reaches a detail), only on its length.
pub fn adjustment(data: &[u8]) {
    let result = validator().decode_adjustment(data);
    check_rejection(data, &result);
    if let Ok(adjustment) = &result {
        assert!(!adjustment.adjustment_id.is_empty() && adjustment.adjustment_id.len() <= 128);
    }
    check_reason_is_not_shown(data);
    let mut processor = fixture::processor();
    let mut out = Vec::new();
    let outcome = processor.adjustment(data, fixture::source(), &mut out);
    if result.is_err() {
        assert!(matches!(outcome, Outcome::DeadLettered(_)));
    }
    check_outputs(&out);
}

/// For a JSON object with a string `reason`: the same object with the reason's text replaced
/// by as many other bytes decodes to the same result, detail included.
fn check_reason_is_not_shown(data: &[u8]) {
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_slice(data) else {
        return;
    };
    let Some(serde_json::Value::String(reason)) = object.get("reason") else {
        return;
    };
    let filler = if reason.starts_with('#') { "%" } else { "#" }.repeat(reason.len());
    let encode = |object: &serde_json::Map<String, serde_json::Value>| {
        serde_json::to_vec(object).unwrap_or_else(|e| panic!("a parsed object re-encodes: {e}"))
    };
    let with_reason = encode(&object);
    object.insert("reason".to_owned(), serde_json::Value::String(filler));
    let with_filler = encode(&object);
    if with_reason.len().max(with_filler.len()) > MAX_MESSAGE_BYTES {
        return;
    }
    let (a, b) = (
        validator().decode_adjustment(&with_reason),
        validator().decode_adjustment(&with_filler),
    );
    assert_eq!(
        a.map_err(|r| (r.reason, r.detail)),
        b.map_err(|r| (r.reason, r.detail)),
        "the adjustment's reason changed the outcome"
    );
}

/// The strict RFC 3339 parser (§1.1) and the date parser. A timestamp we accept is one
/// chrono accepts, at the same instant; printing it and parsing it back gives the instant
/// (to the millisecond); a date we accept prints back to the same text and has chrono's ISO
/// week; local days in far zones do not panic.
pub fn timestamp(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(t) = parse_timestamp(text) {
        match chrono::DateTime::parse_from_rfc3339(text) {
            Ok(c) => {
                assert_eq!(
                    (c.timestamp(), c.timestamp_subsec_nanos()),
                    (t.unix_seconds(), t.subsec_nanos()),
                    "instant differs from chrono's for {text:?}"
                );
            }
            Err(e) => panic!("accepted {text:?}, which chrono rejects: {e}"),
        }
        // Instants whose UTC date is within years 0000..=9999 print as RFC 3339 again.
        const YEAR_0: i64 = -62_167_219_200;
        const YEAR_10000: i64 = 253_402_300_800;
        if (YEAR_0..YEAR_10000).contains(&t.unix_seconds()) {
            let printed = t.to_rfc3339();
            let back = parse_timestamp(&printed)
                .unwrap_or_else(|e| panic!("{printed:?} (from {text:?}) does not parse: {e}"));
            let millis = t.subsec_nanos() / 1_000_000 * 1_000_000;
            assert_eq!(back, Timestamp::from_unix(t.unix_seconds(), millis));
        }
        for tz in [
            chrono_tz::Pacific::Kiritimati,
            chrono_tz::Etc::GMTPlus12,
            chrono_tz::Europe::London,
        ] {
            let _ = local_day(tz, t).week().label();
        }
    }
    if let Some(day) = parse_date(text) {
        assert_eq!(day.to_string(), text, "a date prints as it was written");
        use chrono::Datelike;
        let date = day.to_date();
        let iso = date.iso_week();
        // The ISO year of 0000-01-01..02 is -1, which four digits cannot write (the label
        // says 0000; docs/RELIABILITY.md): compared from ISO year 0 on.
        if iso.year() >= 0 {
            assert_eq!(
                day.week().label(),
                format!("{:04}-W{:02}", iso.year(), iso.week()),
                "ISO week label of {text}"
            );
        }
    }
}

/// The directory the `config` target writes its files into (one per process).
fn config_scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("attendance-fuzz-config-{}", std::process::id()));
        if let Err(e) = std::fs::create_dir_all(&dir) {
            panic!("cannot create {}: {e}", dir.display());
        }
        dir
    })
}

/// Splits the `config` target's input: parts separated by 0xFF bytes are sites.toml,
/// holidays.toml, policies.toml, processor.toml (absent when there are fewer than four
/// parts), then environment lines `NAME=VALUE`.
pub fn split_config(data: &[u8]) -> (Vec<&[u8]>, Vec<(String, String)>) {
    let mut parts: Vec<&[u8]> = data.split(|&b| b == 0xff).collect();
    let env_part = if parts.len() > 4 {
        parts.split_off(4)
    } else {
        Vec::new()
    };
    let mut env = Vec::new();
    for part in env_part {
        for line in String::from_utf8_lossy(part).lines() {
            if let Some((name, value)) = line.split_once('=') {
                env.push((name.to_owned(), value.to_owned()));
            }
        }
    }
    (parts, env)
}

/// The configuration loader: files and environment in, a validated [`Config`] or a list of
/// problems out. A rejection lists at least one problem, each naming its file and saying
/// what is wrong; a valid configuration loads the same way twice.
pub fn config(data: &[u8]) {
    let (parts, env) = split_config(data);
    let dir = config_scratch();
    let names = [
        "sites.toml",
        "holidays.toml",
        "policies.toml",
        "processor.toml",
    ];
    for (i, name) in names.iter().enumerate() {
        let path = dir.join(name);
        let written = match parts.get(i) {
            Some(content) => std::fs::write(&path, content),
            None => match std::fs::remove_file(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                other => other,
            },
        };
        if let Err(e) = written {
            panic!("cannot write {}: {e}", path.display());
        }
    }
    match Config::load_with_env(dir, env.clone()) {
        Ok(loaded) => {
            assert!(
                !loaded.config.sites.is_empty(),
                "a valid configuration has a site"
            );
            for warning in &loaded.warnings {
                assert!(!warning.message.is_empty(), "empty warning");
            }
        }
        Err(errors) => {
            assert!(!errors.problems.is_empty(), "rejected without a problem");
            for problem in &errors.problems {
                assert!(
                    !problem.file.is_empty(),
                    "problem without a file: {problem:?}"
                );
                assert!(!problem.message.is_empty(), "problem without a message");
            }
        }
    }
}

/// Changelog restore (`src/engine/snapshot.rs`): arbitrary records (see
/// [`crate::changelog`]) are restored into a fresh engine; a record that does not restore
/// ends the restore (the live shell exits then). After `finish_restore`, the live steps are
/// applied with change tracking on. Nothing may panic or hang, and every changelog record the
/// engine then writes must restore into a fresh engine (the engine reads what it writes).
pub fn changelog(data: &[u8]) {
    let steps = changelog::parse(data);
    let mut processor = fixture::processor();
    for step in &steps {
        if let Step::Restore { key, value } = step {
            if processor.engine_mut().restore(key, *value).is_err() {
                return;
            }
        }
    }
    processor.engine_mut().finish_restore();
    processor.track_changes();
    let now = fixture::now();
    let mut out: Vec<Output> = Vec::new();
    for step in &steps {
        match step {
            Step::Restore { .. } => {}
            Step::Badge(bytes) => {
                processor.badge(bytes, fixture::source(), now, &mut out);
            }
            Step::Roster(bytes) => {
                processor.roster(None, Some(bytes), fixture::source(), &mut out);
            }
            Step::Absence(bytes) => {
                processor.absence(bytes, fixture::source(), &mut out);
            }
            Step::Advance(text) => {
                let to = std::str::from_utf8(text)
                    .ok()
                    .and_then(|t| parse_timestamp(t).ok());
                if let Some(to) = to {
                    processor.advance_watermark(to, &mut out);
                }
            }
        }
        check_outputs(&out);
        out.clear();
    }
    let records = processor.take_changes();
    let mut fresh: Engine = fixture::processor().engine().clone();
    for record in &records {
        if let Err(e) = fresh.restore(&record.key, record.value.as_deref()) {
            panic!(
                "the engine's own record for {:?} does not restore: {e}",
                record.key
            );
        }
    }
    fresh.finish_restore();
}
