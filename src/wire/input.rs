//! Decoding and validation of the input topics (§1, §2): raw bytes in, a validated domain
//! record or a [`Rejection`] with its dead-letter reason out. The v2 topics (site outages,
//! adjustments) are decoded in the `v2` submodule with the helpers defined here.
//!
//! Parse, don't validate: the engine only ever sees records built here. The reasons follow
//! §2's precedence: too_large, malformed_json, missing_field, invalid_field, unknown_site,
//! future_timestamp (too_late is the engine's call, it needs state).

use std::borrow::Cow;

use rustc_hash::FxHashMap;

#[cfg(test)]
mod fast_path_tests;
mod v2;

pub use v2::{MAX_OUTAGE_DAYS, MAX_REASON_BYTES};

use super::json::{read_object, FieldValue};
use super::plain::{read_plain_object, read_plain_object_into};
use crate::domain::time::{parse_date, parse_timestamp};
use crate::domain::{
    AbsenceRecord, Badge, DeadLetterReason, Direction, EmployeeId, Rejection, RosterRecord,
    Timestamp,
};

/// The largest message accepted: 64 KiB.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Validates input messages against the configured sites and the future-skew limit.
#[derive(Debug, Clone)]
pub struct Validator {
    sites: FxHashMap<String, usize>,
    max_future_skew: std::time::Duration,
}

type Fields<'a, const N: usize> = [Option<FieldValue<'a>>; N];

/// The fields of a badge event (§1.1), the four required ones first.
const BADGE_FIELDS: [&str; 5] = [
    "event_id",
    "employee_id",
    "site_id",
    "timestamp",
    "direction",
];

/// The roster record's fields (§1.2), in the order [`Validator::decode_roster`] reads them.
const ROSTER_FIELDS: [&str; 9] = [
    "employee_id",
    "policy_group",
    "home_site",
    "status",
    "manager_id",
    "vp_id",
    "org",
    "hire_date",
    "remote_approved",
];

impl Validator {
    /// A validator for sites `site_ids` (their index is the site's index) and the skew limit.
    pub fn new<'s>(
        site_ids: impl IntoIterator<Item = &'s str>,
        max_future_skew: std::time::Duration,
    ) -> Self {
        let sites = site_ids
            .into_iter()
            .enumerate()
            .map(|(i, s)| (s.to_owned(), i))
            .collect();
        Self {
            sites,
            max_future_skew,
        }
    }

    fn site(&self, id: &str) -> Result<usize, Rejection> {
        self.sites.get(id).copied().ok_or_else(|| {
            Rejection::new(
                DeadLetterReason::UnknownSite,
                format!("site '{}' is not configured", printable(id)),
            )
        })
    }

    /// Decodes a badge event (§1.1). `now` is the processing clock for `future_timestamp`.
    pub fn decode_badge(&self, bytes: &[u8], now: Timestamp) -> Result<Badge, Rejection> {
        // `read_fields`, with its fast path writing into a local array (no array moved
        // through a `Result`: this is the hot path of every ingest).
        if bytes.len() > MAX_MESSAGE_BYTES {
            return Err(too_large(bytes.len() as u64));
        }
        let mut f: Fields<'_, 5> = Default::default();
        if read_plain_object_into(bytes, &BADGE_FIELDS, &mut f) {
            return self.badge_from_fields(&f, now);
        }
        self.badge_from_fields(&read_fields_full(bytes, &BADGE_FIELDS)?, now)
    }

    /// The validation half of [`Validator::decode_badge`].
    fn badge_from_fields(&self, f: &Fields<'_, 5>, now: Timestamp) -> Result<Badge, Rejection> {
        const NAMES: [&str; 5] = BADGE_FIELDS;
        require(f, &NAMES, 4)?;
        let event_id = bounded_string(&f[0], "event_id", 128)?;
        let employee_id = employee_id(&f[1], "employee_id")?;
        let site_id = string(&f[2], "site_id")?;
        let ts_text = string(&f[3], "timestamp")?;
        let timestamp = parse_timestamp(&ts_text).map_err(|e| {
            Rejection::new(
                DeadLetterReason::InvalidField,
                format!("timestamp '{}' is not RFC 3339: {e}", printable(&ts_text)),
            )
        })?;
        let direction = match &f[4] {
            None | Some(FieldValue::Null) => Direction::In,
            Some(FieldValue::Str(s)) if s == "in" => Direction::In,
            Some(FieldValue::Str(s)) if s == "out" => Direction::Out,
            Some(other) => {
                return Err(invalid("direction", "must be \"in\" or \"out\"", other));
            }
        };
        let site = self.site(&site_id)?;
        let limit = now.add_duration(self.max_future_skew);
        if timestamp > limit {
            return Err(Rejection::new(
                DeadLetterReason::FutureTimestamp,
                format!(
                    "timestamp {} is more than {}s after the processing clock {}",
                    printable(&ts_text),
                    self.max_future_skew.as_secs(),
                    now
                ),
            ));
        }
        Ok(Badge {
            event_id: compact_str::CompactString::new(&event_id),
            employee_id,
            site,
            timestamp,
            direction,
        })
    }

    /// Decodes a roster record (§1.2). A tombstone is not a payload: shells that see a null
    /// Kafka value build [`crate::domain::RosterChange::Remove`] themselves.
    pub fn decode_roster(&self, bytes: &[u8]) -> Result<RosterRecord, Rejection> {
        let f = read_fields(bytes, &ROSTER_FIELDS)?;
        require(&f, &ROSTER_FIELDS, 4)?;
        let employee_id = employee_id(&f[0], "employee_id")?;
        let policy_group = bounded_string(&f[1], "policy_group", 128)?;
        let home_site = string(&f[2], "home_site")?;
        let active = match &f[3] {
            Some(FieldValue::Str(s)) if s == "active" => true,
            Some(FieldValue::Str(s)) if s == "inactive" => false,
            Some(other) => {
                return Err(invalid(
                    "status",
                    "must be \"active\" or \"inactive\"",
                    other,
                ))
            }
            None => false,
        };
        let manager_id = optional_string(&f[4], "manager_id")?.filter(|s| !s.is_empty());
        let vp_id = optional_string(&f[5], "vp_id")?.filter(|s| !s.is_empty());
        let org = optional_string(&f[6], "org")?.unwrap_or_else(|| "unassigned".to_owned());
        let hire_date = match optional_string(&f[7], "hire_date")? {
            None => None,
            Some(text) => Some(parse_date(&text).ok_or_else(|| {
                Rejection::new(
                    DeadLetterReason::InvalidField,
                    format!("hire_date '{}' is not a YYYY-MM-DD date", printable(&text)),
                )
            })?),
        };
        let remote_approved = match &f[8] {
            None | Some(FieldValue::Null) => false,
            Some(FieldValue::Bool(b)) => *b,
            Some(other) => return Err(invalid("remote_approved", "must be a boolean", other)),
        };
        let home_site = self.site(&home_site)?;
        Ok(RosterRecord {
            employee_id,
            manager_id,
            vp_id,
            org,
            policy_group: policy_group.into_owned(),
            home_site,
            hire_date,
            active,
            remote_approved,
        })
    }

    /// Decodes an absence record (§1.3).
    pub fn decode_absence(&self, bytes: &[u8]) -> Result<AbsenceRecord, Rejection> {
        const NAMES: [&str; 6] = [
            "absence_id",
            "employee_id",
            "start_date",
            "end_date",
            "status",
            "kind",
        ];
        let f = read_fields(bytes, &NAMES)?;
        require(&f, &NAMES, 5)?;
        let absence_id = bounded_string(&f[0], "absence_id", 128)?;
        let employee_id = employee_id(&f[1], "employee_id")?;
        let start = date(&f[2], "start_date")?;
        let end = date(&f[3], "end_date")?;
        let approved = status(&f[4], "approved")?;
        let kind = optional_string(&f[5], "kind")?;
        if start > end {
            return Err(Rejection::new(
                DeadLetterReason::InvalidField,
                format!("start_date {start} is after end_date {end}"),
            ));
        }
        Ok(AbsenceRecord {
            absence_id: absence_id.into_owned(),
            employee_id,
            start,
            end,
            kind,
            approved,
        })
    }
}

/// A `status` field of `yes` or `"cancelled"` (§1.3, §1.5, §1.6): whether it is `yes`.
/// Absent counts as cancelled (callers have already required the field).
fn status(value: &Option<FieldValue<'_>>, yes: &str) -> Result<bool, Rejection> {
    match value {
        Some(FieldValue::Str(s)) if s == yes => Ok(true),
        Some(FieldValue::Str(s)) if s == "cancelled" => Ok(false),
        Some(other) => Err(invalid(
            "status",
            &format!("must be \"{yes}\" or \"cancelled\""),
            other,
        )),
        None => Ok(false),
    }
}

/// The `employee_id` a badge line most likely carries, found without decoding it: the text
/// between the quotes after the first `"employee_id":` (white space allowed around the
/// colon). A hint for prefetching only ([`crate::engine::Engine::prefetch_employee`]): it may
/// be wrong for a line that is not a plain badge object, and the line is decoded and
/// validated as always when it is applied.
pub fn badge_employee_id_hint(line: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\"employee_id\"";
    // Built once: building a searcher per line cost more than the search.
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(KEY));
    let at = FINDER.find(line)? + KEY.len();
    let rest = line.get(at..)?;
    let colon = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = rest.get(colon..)?.strip_prefix(b":")?;
    let quote = rest.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = rest.get(quote..)?.strip_prefix(b"\"")?;
    let end = memchr::memchr(b'"', rest)?;
    std::str::from_utf8(rest.get(..end)?).ok()
}

/// The `too_large` rejection of a message of `len` bytes (over [`MAX_MESSAGE_BYTES`]).
pub fn too_large(len: u64) -> Rejection {
    Rejection::new(
        DeadLetterReason::TooLarge,
        format!("message is {len} bytes, the limit is {MAX_MESSAGE_BYTES}"),
    )
}

fn read_fields<'a, const N: usize>(
    bytes: &'a [u8],
    names: &[&'static str; N],
) -> Result<Fields<'a, N>, Rejection> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    // The common shape (a flat object of plain strings) without serde_json; anything else,
    // and so every malformed_json detail, goes the full way (wire/plain.rs).
    if let Some(fields) = read_plain_object(bytes, names) {
        return Ok(fields);
    }
    read_fields_full(bytes, names)
}

/// [`read_fields`] without its fast path (and without the size check).
fn read_fields_full<'a, const N: usize>(
    bytes: &'a [u8],
    names: &[&'static str; N],
) -> Result<Fields<'a, N>, Rejection> {
    read_object(bytes, names).map_err(|e| Rejection::new(DeadLetterReason::MalformedJson, e.0))
}

/// The first `required` names must be present and not null.
fn require<const N: usize>(
    f: &Fields<'_, N>,
    names: &[&'static str; N],
    required: usize,
) -> Result<(), Rejection> {
    for (value, name) in f.iter().zip(names).take(required) {
        if matches!(value, None | Some(FieldValue::Null)) {
            return Err(Rejection::new(
                DeadLetterReason::MissingField,
                format!("required field '{name}' is absent or null"),
            ));
        }
    }
    Ok(())
}

fn invalid(field: &str, rule: &str, got: &FieldValue<'_>) -> Rejection {
    let got = match got {
        FieldValue::Str(s) => format!("'{}'", printable(s)),
        other => other.type_name().to_owned(),
    };
    Rejection::new(
        DeadLetterReason::InvalidField,
        format!("{field} {rule}, got {got}"),
    )
}

fn string<'a>(v: &Option<FieldValue<'a>>, field: &str) -> Result<Cow<'a, str>, Rejection> {
    match v {
        Some(FieldValue::Str(s)) => Ok(s.clone()),
        Some(other) => Err(invalid(field, "must be a string", other)),
        None => Err(Rejection::new(
            DeadLetterReason::MissingField,
            format!("required field '{field}' is absent"),
        )),
    }
}

fn bounded_string<'a>(
    v: &Option<FieldValue<'a>>,
    field: &str,
    max: usize,
) -> Result<Cow<'a, str>, Rejection> {
    let s = string(v, field)?;
    if s.is_empty() || s.len() > max {
        return Err(Rejection::new(
            DeadLetterReason::InvalidField,
            format!("{field} must be 1 to {max} bytes, got {}", s.len()),
        ));
    }
    Ok(s)
}

fn optional_string(v: &Option<FieldValue<'_>>, field: &str) -> Result<Option<String>, Rejection> {
    match v {
        None | Some(FieldValue::Null) => Ok(None),
        Some(FieldValue::Str(s)) => Ok(Some(s.clone().into_owned())),
        Some(other) => Err(invalid(field, "must be a string or null", other)),
    }
}

fn employee_id(v: &Option<FieldValue<'_>>, field: &str) -> Result<EmployeeId, Rejection> {
    let s = string(v, field)?;
    EmployeeId::parse(&s).ok_or_else(|| {
        Rejection::new(
            DeadLetterReason::InvalidField,
            format!(
                "{field} '{}' must be 1 to 64 bytes of [A-Za-z0-9._:@-]",
                printable(&s)
            ),
        )
    })
}

fn date(v: &Option<FieldValue<'_>>, field: &str) -> Result<crate::domain::Day, Rejection> {
    let s = string(v, field)?;
    parse_date(&s).ok_or_else(|| {
        Rejection::new(
            DeadLetterReason::InvalidField,
            format!("{field} '{}' is not a YYYY-MM-DD date", printable(&s)),
        )
    })
}

/// A value echoed into a detail: [`printable_within`] 80 bytes.
fn printable(s: &str) -> String {
    printable_within(s, 80)
}

/// `s` on one line: control characters (and the Unicode line and paragraph separators)
/// escaped as in Rust (`\n`, `\u{1b}`), then shortened to `max` bytes with `…`.
pub(crate) fn printable_within(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max + 3));
    for c in s.chars() {
        let escape = c.is_control() || c == '\u{2028}' || c == '\u{2029}';
        let len = if escape {
            c.escape_default().count()
        } else {
            c.len_utf8()
        };
        if out.len() + len > max {
            out.push('…');
            break;
        }
        if escape {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn validator() -> Validator {
        Validator::new(["SEA-1", "BLR-1"], Duration::from_secs(86_400))
    }

    #[test]
    fn the_employee_id_hint_is_the_quoted_text_after_the_key_or_nothing() {
        fn hint(line: &str) -> Option<&str> {
            badge_employee_id_hint(line.as_bytes())
        }
        assert_eq!(
            hint(r#"{"event_id":"b-1","employee_id":"e-42","site_id":"SEA-1"}"#),
            Some("e-42")
        );
        assert_eq!(hint(r#"{ "employee_id" :  "e-7" }"#), Some("e-7"));
        assert_eq!(hint(r#"{"employee_id":42}"#), None);
        assert_eq!(hint(r#"{"employee_id":"e-1"#), None, "no closing quote");
        assert_eq!(hint(r#"{"employee":"e-1"}"#), None);
        assert_eq!(hint(""), None);
        // Only a hint: an escaped id yields its raw text, which decoding then judges.
        assert_eq!(hint(r#"{"employee_id":"e\u002d1"}"#), Some(r"e\u002d1"));
    }

    fn now() -> Timestamp {
        parse_timestamp("2026-05-10T00:00:00Z").unwrap()
    }

    fn badge_reason(line: &str) -> DeadLetterReason {
        validator()
            .decode_badge(line.as_bytes(), now())
            .unwrap_err()
            .reason
    }

    #[test]
    fn invalid_utf8_in_a_field_the_decoder_skips_is_malformed_json() {
        let line = b"{\"event_id\":\"b-1\",\"employee_id\":\"e-42\",\"site_id\":\"SEA-1\",\"timestamp\":\"2026-05-05T08:59:12Z\",\"note\":\"\xff\xfe\"}";
        let rejection = validator().decode_badge(line, now()).unwrap_err();
        assert_eq!(rejection.reason, DeadLetterReason::MalformedJson);
        let roster = b"{\"employee_id\":\"e-1\",\"policy_group\":\"c\",\"home_site\":\"SEA-1\",\"status\":\"active\",\"x\":[\"\xc0\"]}";
        let rejection = validator().decode_roster(roster).unwrap_err();
        assert_eq!(rejection.reason, DeadLetterReason::MalformedJson);
    }

    #[test]
    fn details_that_echo_input_stay_one_line() {
        let line = r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA\n1\u001b[2J\u2028x","timestamp":"2026-05-05T08:00:00Z"}"#;
        let rejection = validator()
            .decode_badge(line.as_bytes(), now())
            .unwrap_err();
        assert_eq!(rejection.reason, DeadLetterReason::UnknownSite);
        assert_eq!(
            rejection.detail,
            "site 'SEA\\n1\\u{1b}[2J\\u{2028}x' is not configured"
        );
    }

    #[test]
    fn printable_keeps_short_text_and_cuts_long_text_at_a_character() {
        assert_eq!(printable("SEA-1"), "SEA-1");
        let long = format!("{}é{}", "x".repeat(79), "y".repeat(10));
        assert_eq!(printable(&long), format!("{}…", "x".repeat(79)));
        let controls = "\u{7}".repeat(30);
        let shown = printable(&controls);
        assert!(shown.len() <= 80 + '…'.len_utf8(), "{shown}");
        assert!(!shown.chars().any(char::is_control));
    }

    #[test]
    fn a_valid_badge_defaults_to_in() {
        let b = validator()
            .decode_badge(
                br#"{"event_id":"b-1","employee_id":"e-42","site_id":"SEA-1","timestamp":"2026-05-05T08:59:12-07:00","extra":{"x":1},"direction":null}"#,
                now(),
            )
            .unwrap();
        assert_eq!(b.direction, Direction::In);
        assert_eq!(b.site, 0);
        assert_eq!(b.employee_id, "e-42");
    }

    #[test]
    fn dead_letter_reasons_follow_the_precedence_of_section_2() {
        use DeadLetterReason::*;
        let big = format!(r#"{{"pad":"{}"}}"#, "x".repeat(MAX_MESSAGE_BYTES));
        assert_eq!(badge_reason(&big), TooLarge);
        assert_eq!(badge_reason("{\"event_id\":"), MalformedJson);
        assert_eq!(badge_reason("[1,2]"), MalformedJson);
        // Missing beats invalid: employee_id is invalid but site_id is missing.
        assert_eq!(
            badge_reason(r#"{"event_id":"b","employee_id":"e 1","timestamp":"x"}"#),
            MissingField
        );
        assert_eq!(
            badge_reason(
                r#"{"event_id":"b","employee_id":null,"site_id":"SEA-1","timestamp":"2026-05-05T08:00:00Z"}"#
            ),
            MissingField
        );
        // Invalid beats unknown site.
        assert_eq!(
            badge_reason(
                r#"{"event_id":"b","employee_id":"e-1","site_id":"XX","timestamp":"2026-05-05 08:00:00Z"}"#
            ),
            InvalidField
        );
        assert_eq!(
            badge_reason(
                r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"2026-05-05T08:00:00Z","direction":"sideways"}"#
            ),
            InvalidField
        );
        assert_eq!(
            badge_reason(
                r#"{"event_id":"b","employee_id":"e-1","site_id":7,"timestamp":"2026-05-05T08:00:00Z"}"#
            ),
            InvalidField
        );
        assert_eq!(
            badge_reason(&format!(
                r#"{{"event_id":"{}","employee_id":"e-1","site_id":"SEA-1","timestamp":"2026-05-05T08:00:00Z"}}"#,
                "x".repeat(129)
            )),
            InvalidField
        );
        // Unknown site beats future timestamp.
        assert_eq!(
            badge_reason(
                r#"{"event_id":"b","employee_id":"e-1","site_id":"XX-9","timestamp":"2030-05-05T08:00:00Z"}"#
            ),
            UnknownSite
        );
        assert_eq!(
            badge_reason(
                r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"2026-05-11T00:00:01Z"}"#
            ),
            FutureTimestamp
        );
    }

    #[test]
    fn exactly_the_skew_is_not_in_the_future() {
        assert!(validator()
            .decode_badge(
                br#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"2026-05-11T00:00:00Z"}"#,
                now()
            )
            .is_ok());
    }

    #[test]
    fn a_message_of_exactly_64_kib_is_not_too_large() {
        let head = r#"{"event_id":"b","employee_id":"e-1","site_id":"SEA-1","timestamp":"2026-05-05T08:00:00Z","pad":""#;
        let pad = MAX_MESSAGE_BYTES - head.len() - 2;
        let line = format!("{head}{}\"}}", "x".repeat(pad));
        assert_eq!(line.len(), MAX_MESSAGE_BYTES);
        assert!(validator().decode_badge(line.as_bytes(), now()).is_ok());
    }

    #[test]
    fn roster_defaults_and_empty_manager_means_none() {
        let r = validator()
            .decode_roster(br#"{"employee_id":"e-1","policy_group":"corporate","home_site":"BLR-1","status":"active","manager_id":""}"#)
            .unwrap();
        assert_eq!(r.manager_id, None);
        assert_eq!(r.org, "unassigned");
        assert!(!r.remote_approved);
        assert_eq!(r.home_site, 1);
        let v = validator();
        let reason = |s: &str| v.decode_roster(s.as_bytes()).unwrap_err().reason;
        assert_eq!(
            reason(
                r#"{"employee_id":"e-1","policy_group":"c","home_site":"NOPE","status":"active"}"#
            ),
            DeadLetterReason::UnknownSite
        );
        assert_eq!(
            reason(
                r#"{"employee_id":"e-1","policy_group":"c","home_site":"SEA-1","status":"gone"}"#
            ),
            DeadLetterReason::InvalidField
        );
        assert_eq!(
            reason(
                r#"{"employee_id":"e-1","policy_group":"c","home_site":"SEA-1","status":"active","remote_approved":"yes"}"#
            ),
            DeadLetterReason::InvalidField
        );
        assert_eq!(
            reason(r#"{"employee_id":"e-1","home_site":"SEA-1","status":"active"}"#),
            DeadLetterReason::MissingField
        );
    }

    #[test]
    fn absence_dates_must_be_ordered() {
        let v = validator();
        let ok = v
            .decode_absence(br#"{"absence_id":"a","employee_id":"e-1","start_date":"2026-05-06","end_date":"2026-05-06","status":"cancelled"}"#)
            .unwrap();
        assert!(!ok.approved);
        assert_eq!(ok.kind, None);
        let err = v
            .decode_absence(br#"{"absence_id":"a","employee_id":"e-1","start_date":"2026-05-07","end_date":"2026-05-06","status":"approved"}"#)
            .unwrap_err();
        assert_eq!(err.reason, DeadLetterReason::InvalidField);
    }
}
