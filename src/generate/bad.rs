//! Bad badge lines, one kind per dead-letter reason of SPEC §2.
//!
//! Each bad line is derived from the regular badge written just before it, so
//! it looks like a real upstream fault (a truncated write, a bad export, a
//! misconfigured reader). Every line fails exactly the rule its kind names
//! and passes every rule that comes earlier in §2's order, so its expected
//! dead-letter reason is known.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::config::{SITES, UNKNOWN_SITE};
use super::output::{object, quote};
use super::people::employee_id;
use super::timefmt::{push_rfc3339, TimeStyle};

/// Dead-letter reasons in SPEC §2's precedence order.
pub(crate) const REASONS: [&str; 7] = [
    "too_large",
    "malformed_json",
    "missing_field",
    "invalid_field",
    "unknown_site",
    "future_timestamp",
    "too_late",
];

/// Index of `too_late` in [`REASONS`].
pub(crate) const TOO_LATE: usize = 6;

/// Largest valid message, SPEC §1.1 (64 KiB).
pub(crate) const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// At most this many `too_large` lines per file: each is over 64 KiB.
pub(crate) const MAX_TOO_LARGE_LINES: u64 = 25;

/// The kinds of bad badge line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadKind {
    /// JSON cut off mid-object.
    Truncated,
    /// Valid JSON that is not an object.
    NotAnObject,
    /// A required field absent or null.
    MissingField,
    /// A timestamp not in SPEC §1.1's RFC 3339 profile.
    InvalidTimestamp,
    /// A direction other than `in`/`out`.
    InvalidDirection,
    /// A bad employee_id or event_id.
    InvalidId,
    /// A site that is not configured.
    UnknownSite,
    /// Over 64 KiB (a huge unknown field).
    TooLarge,
    /// More than `max_future_skew` after the suggested `--now`.
    FutureTimestamp,
}

impl BadKind {
    /// Index into [`REASONS`] of the dead letter this line must produce.
    pub(crate) fn reason(self) -> usize {
        match self {
            BadKind::TooLarge => 0,
            BadKind::Truncated | BadKind::NotAnObject => 1,
            BadKind::MissingField => 2,
            BadKind::InvalidTimestamp | BadKind::InvalidDirection | BadKind::InvalidId => 3,
            BadKind::UnknownSite => 4,
            BadKind::FutureTimestamp => 5,
        }
    }
}

/// The order in which bad kinds are used (the schedule repeats): common
/// faults often, oversized lines rarely.
pub(crate) const SCHEDULE: [BadKind; 20] = [
    BadKind::Truncated,
    BadKind::NotAnObject,
    BadKind::MissingField,
    BadKind::InvalidTimestamp,
    BadKind::InvalidDirection,
    BadKind::InvalidId,
    BadKind::UnknownSite,
    BadKind::TooLarge,
    BadKind::FutureTimestamp,
    BadKind::MissingField,
    BadKind::InvalidTimestamp,
    BadKind::UnknownSite,
    BadKind::Truncated,
    BadKind::MissingField,
    BadKind::InvalidTimestamp,
    BadKind::InvalidId,
    BadKind::UnknownSite,
    BadKind::FutureTimestamp,
    BadKind::MissingField,
    BadKind::Truncated,
];

/// The regular badge a bad line is derived from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Base<'a> {
    /// The regular line as written.
    pub(crate) line: &'a str,
    /// Its employee index.
    pub(crate) employee: u32,
    /// Its site index.
    pub(crate) site: u8,
    /// Its timestamp (Unix seconds).
    pub(crate) secs: i64,
}

/// Writes a bad line of `kind` into `out`; `number` makes its event id unique.
pub(crate) fn bad_line(
    rng: &mut ChaCha8Rng,
    kind: BadKind,
    base: Base<'_>,
    number: u64,
    now_secs: i64,
    out: &mut String,
) {
    out.clear();
    let zone = SITES[usize::from(base.site)].zone;
    let event = format!("b-x{number}");
    let employee = employee_id(base.employee);
    let site = SITES[usize::from(base.site)].id;
    let mut timestamp = String::new();
    push_rfc3339(&mut timestamp, base.secs, 0, zone, TimeStyle::SiteOffset);
    let (q_event, q_employee, q_site, q_ts) = (
        quote(&event),
        quote(&employee),
        quote(site),
        quote(&timestamp),
    );
    // A badge from already JSON-encoded field values.
    let badge = |out: &mut String, event: &str, employee: &str, site: &str, ts: &str, dir: &str| {
        out.push_str(&object(&[
            ("event_id", event),
            ("employee_id", employee),
            ("site_id", site),
            ("timestamp", ts),
            ("direction", dir),
        ]));
    };
    match kind {
        BadKind::Truncated => {
            let cut = rng
                .random_range(10..base.line.len().max(11) - 1)
                .min(base.line.len());
            // Cut before the closing brace: never valid JSON.
            out.push_str(&base.line[..cut]);
        }
        BadKind::NotAnObject => {
            let choices = ["[1,2]", "\"badge\"", "42", "true", "[]"];
            out.push_str(choices[rng.random_range(0..choices.len())]);
        }
        BadKind::MissingField => {
            let (event, employee, site, ts) = (&q_event, &q_employee, &q_site, &q_ts);
            let fields: &[(&str, &str)] = match rng.random_range(0..4) {
                0 => &[("event_id", event), ("site_id", site), ("timestamp", ts)],
                1 => &[
                    ("event_id", event),
                    ("employee_id", employee),
                    ("timestamp", ts),
                ],
                2 => &[
                    ("event_id", event),
                    ("employee_id", employee),
                    ("site_id", site),
                ],
                _ => &[
                    ("event_id", "null"),
                    ("employee_id", employee),
                    ("site_id", site),
                    ("timestamp", ts),
                ],
            };
            out.push_str(&object(fields));
        }
        BadKind::InvalidTimestamp => {
            let date = &timestamp[..10];
            let bad = match rng.random_range(0..5) {
                0 => timestamp[..16].replace('T', " "),
                1 => timestamp[..19].to_string(),
                2 => timestamp.replace('T', "t"),
                3 => format!("{date}T23:59:60Z"),
                _ => format!("{date}T25:10:00Z"),
            };
            badge(out, &q_event, &q_employee, &q_site, &quote(&bad), "\"in\"");
        }
        BadKind::InvalidDirection => {
            let dir = ["\"sideways\"", "\"IN\"", "1"][rng.random_range(0..3)];
            badge(out, &q_event, &q_employee, &q_site, &q_ts, dir);
        }
        BadKind::InvalidId => match rng.random_range(0..4) {
            0 => badge(
                out,
                &q_event,
                &quote(&employee.replace('-', " ")),
                &q_site,
                &q_ts,
                "\"in\"",
            ),
            1 => badge(
                out,
                &q_event,
                &(base.employee + 1).to_string(),
                &q_site,
                &q_ts,
                "\"in\"",
            ),
            2 => badge(out, "\"\"", &q_employee, &q_site, &q_ts, "\"in\""),
            _ => badge(
                out,
                &q_event,
                &quote(&format!("{employee}-{}", "x".repeat(60))),
                &q_site,
                &q_ts,
                "\"out\"",
            ),
        },
        BadKind::UnknownSite => {
            let unknown = [UNKNOWN_SITE, "LON-2"][rng.random_range(0..2)];
            badge(out, &q_event, &q_employee, &quote(unknown), &q_ts, "\"in\"");
        }
        BadKind::TooLarge => {
            // A valid badge carrying a huge unknown field.
            let filler = MAX_MESSAGE_BYTES + rng.random_range(1..4096);
            let dump = quote(&"x".repeat(filler));
            out.push_str(&object(&[
                ("event_id", &q_event),
                ("employee_id", &q_employee),
                ("site_id", &q_site),
                ("timestamp", &q_ts),
                ("debug_dump", &dump),
            ]));
        }
        BadKind::FutureTimestamp => {
            let ahead = rng.random_range(2 * 86_400 + 3600..45 * 86_400);
            let mut future = String::new();
            push_rfc3339(
                &mut future,
                now_secs + ahead,
                0,
                zone,
                TimeStyle::SiteOffset,
            );
            badge(
                out,
                &q_event,
                &q_employee,
                &q_site,
                &quote(&future),
                "\"in\"",
            );
        }
    }
}
