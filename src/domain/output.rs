//! The output vocabulary (§6): the values the engine and the processor emit, in the field
//! order they are serialized in (the spec's examples).
//!
//! Version 1 of each value; `schemas/*.schema.json` describe the same shapes.

use std::fmt;

use serde::Serialize;

use compact_str::CompactString;

use crate::domain::ids::OutputId;
use crate::domain::{AlertKind, Day, DeadLetterReason, EmployeeId, Reason, Status, Week};

mod json;

pub use json::WriteJson;

/// The schema version of changes, alerts and dead letters.
pub const SCHEMA_VERSION: u32 = 1;

/// The schema version of decisions (§6 v2: `short_days`, `unverified_days`, `adjustments`
/// and `window.missed_weeks`), whatever the configuration.
pub const DECISION_SCHEMA_VERSION: u32 = 2;

/// Some dates of one ISO week, as a set of weekdays (bit `d` is the week's Monday + `d`):
/// what a decision's day lists are made of. Serialized as the sorted array of the dates,
/// `["2026-05-25","2026-05-27"]`, without building any string.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WeekDays {
    week: Week,
    bits: u8,
}

impl WeekDays {
    /// The days of `week` whose bit is set in `bits` (bit 0 Monday … bit 6 Sunday; the
    /// eighth bit is ignored).
    pub fn new(week: Week, bits: u8) -> Self {
        Self {
            week,
            bits: bits & 0x7f,
        }
    }

    /// No day of `week`.
    pub fn none(week: Week) -> Self {
        Self::new(week, 0)
    }

    /// The week.
    pub fn week(self) -> Week {
        self.week
    }

    /// How many days.
    pub fn len(self) -> usize {
        self.bits.count_ones() as usize
    }

    /// Whether there is no day.
    pub fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// Whether `day` is one of the days.
    pub fn contains(self, day: Day) -> bool {
        day.week() == self.week && self.bits & (1 << day.weekday_index()) != 0
    }

    /// The days, in date order.
    pub fn iter(self) -> impl Iterator<Item = Day> {
        let monday = self.week.monday();
        (0..7)
            .filter(move |d| self.bits & (1 << d) != 0)
            .map(move |d| monday.plus(d))
    }
}

impl fmt::Debug for WeekDays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(Day::date_text))
            .finish()
    }
}

impl Serialize for WeekDays {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

/// `days == ["2026-05-25", "2026-05-26"]`: the dates as they are serialized, in order.
impl<const N: usize> PartialEq<[&str; N]> for WeekDays {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.len() == N
            && self
                .iter()
                .zip(other)
                .all(|(day, text)| day.date_text().as_str() == *text)
    }
}

/// The policy a decision was made under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyRef {
    /// Policy id.
    pub id: CompactString,
    /// Policy version.
    pub version: u32,
}

/// The weeks and sums a decision was judged on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Window {
    /// ISO weeks that entered the sums, oldest first (serialized as labels).
    pub weeks: Vec<Week>,
    /// Σ office days over `weeks`.
    pub office_days: u32,
    /// Σ required days over `weeks`.
    pub required_days: u32,
    /// How many of `weeks` are missed (office days below required days), under every
    /// rule; 0 for an exempt decision (v2).
    pub missed_weeks: u32,
}

/// A weekly decision (topic `compliance-decisions`, key employee_id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Always 2 ([`DECISION_SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// Deterministic id of this revision.
    pub decision_id: OutputId,
    /// The employee.
    pub employee_id: EmployeeId,
    /// ISO week, serialized as its label, e.g. `2026-W22`.
    pub week: Week,
    /// The week's Monday.
    pub week_start: Day,
    /// compliant | non_compliant | exempt.
    pub status: Status,
    /// Why.
    pub reason: Reason,
    /// Sorted office days of the week, as counted by the policy.
    pub office_days: WeekDays,
    /// required(W).
    pub required_days: u32,
    /// Sorted exempt weekdays of the week.
    pub exempt_days: WeekDays,
    /// Sorted counted dates with presence below `min_presence` (§3.7, v2).
    pub short_days: WeekDays,
    /// Sorted counted dates with an `in` and no later `out` (§3.7, v2).
    pub unverified_days: WeekDays,
    /// Ids of the employee's approved adjustments dated in the week, byte order (v2).
    pub adjustments: Vec<String>,
    /// Policy in force.
    pub policy: PolicyRef,
    /// The window judged.
    pub window: Window,
    /// 0, then +1 per correction.
    pub revision: u32,
    /// True when re-emitted after late data.
    pub correction: bool,
    /// Streak of non-compliant weeks ending at this week (§4.4).
    pub consecutive_non_compliant_weeks: u32,
    /// Manager at decision time, if any.
    pub manager_id: Option<CompactString>,
    /// Organisation.
    pub org: CompactString,
    /// One sentence for humans.
    pub explanation: String,
}

/// A compliance change (topic `compliance-changes`, key employee_id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ComplianceChange {
    /// Always 1.
    pub schema_version: u32,
    /// Deterministic id.
    pub change_id: OutputId,
    /// The employee.
    pub employee_id: EmployeeId,
    /// The week whose status is now current.
    pub week: Week,
    /// The status before (null at the first evaluation).
    pub previous_status: Option<Status>,
    /// The current status.
    pub status: Status,
    /// True when caused by a correction.
    pub correction: bool,
    /// The decision that set the status.
    pub decision_id: OutputId,
    /// Manager, if any.
    pub manager_id: Option<CompactString>,
    /// Organisation.
    pub org: CompactString,
}

/// A manager alert (topic `manager-alerts`, key manager_id).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ManagerAlert {
    /// Always 1.
    pub schema_version: u32,
    /// Deterministic id.
    pub alert_id: OutputId,
    /// The manager alerted (the record key).
    pub manager_id: CompactString,
    /// The VP, for promotion holds.
    pub vp_id: Option<CompactString>,
    /// The employee concerned.
    pub employee_id: EmployeeId,
    /// The week concerned.
    pub week: Week,
    /// non_compliant | resolved | at_risk | retracted.
    pub kind: AlertKind,
    /// Escalation rung (non_compliant only; null while none is reached).
    pub escalation_level: Option<CompactString>,
    /// Streak of the alert's decision.
    pub consecutive_non_compliant_weeks: u32,
    /// True when the streak reached `promotion_hold_after_weeks` (non_compliant only).
    pub promotion_requires_vp_approval: bool,
    /// The decision alerted on (null for at_risk).
    pub decision_id: Option<OutputId>,
    /// One sentence for the manager.
    pub explanation: String,
}

/// Where a dead-lettered message came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Source {
    /// Live: the Kafka coordinates.
    Kafka {
        /// Input topic.
        topic: CompactString,
        /// Partition.
        partition: i32,
        /// Offset.
        offset: i64,
    },
    /// Replay: the file's base name and 1-based line.
    File {
        /// File base name.
        file: CompactString,
        /// 1-based line number.
        line: u64,
    },
}

/// A dead letter keeps at most this many bytes of the original message (twice the 64 KiB
/// input limit). Longer payloads are cut to this prefix and flagged (`payload_truncated`,
/// with the full length and SHA-256), so that a dead letter always fits a Kafka record:
/// escaped as JSON (`\u0001` is 6 bytes) the kept prefix is at most 768 KiB.
pub const DEAD_LETTER_PAYLOAD_MAX: usize = 128 * 1024;

/// A dead letter (topic `attendance-dead-letters`, key as received).
///
/// A payload longer than [`DEAD_LETTER_PAYLOAD_MAX`] is truncated; only then do the three
/// `payload_truncated`, `payload_bytes` and `payload_sha256` fields appear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetter {
    /// Always 1.
    pub schema_version: u32,
    /// §2 reason.
    pub reason: DeadLetterReason,
    /// What was wrong, in one line.
    pub detail: String,
    /// Where the message came from.
    pub source: Source,
    /// The original bytes when they are UTF-8.
    pub payload: Option<String>,
    /// The original bytes, base64, when they are not UTF-8.
    pub payload_base64: Option<String>,
    /// Set when the payload holds only a prefix of the original bytes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_truncated: Option<bool>,
    /// The original length in bytes, when truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_bytes: Option<u64>,
    /// The SHA-256 of all the original bytes (lower-case hex), when truncated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_sha256: Option<String>,
}

/// What is known of a message too long to keep whole: its first
/// [`DEAD_LETTER_PAYLOAD_MAX`] bytes (or fewer), its length and its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadPrefix {
    /// The first bytes of the message.
    pub prefix: Vec<u8>,
    /// The full length in bytes.
    pub len: u64,
    /// SHA-256 of the full message.
    pub sha256: [u8; 32],
}

impl PayloadPrefix {
    /// The prefix, length and digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        let keep = bytes.len().min(DEAD_LETTER_PAYLOAD_MAX);
        Self {
            prefix: bytes[..keep].to_vec(),
            len: bytes.len() as u64,
            sha256: sha2::Sha256::digest(bytes).into(),
        }
    }
}

impl DeadLetter {
    /// A dead letter for `bytes` from `source`; truncated when longer than
    /// [`DEAD_LETTER_PAYLOAD_MAX`].
    pub fn new(reason: DeadLetterReason, detail: String, source: Source, bytes: &[u8]) -> Self {
        if bytes.len() > DEAD_LETTER_PAYLOAD_MAX {
            return Self::truncated(reason, detail, source, PayloadPrefix::of(bytes));
        }
        let (payload, payload_base64) = text_or_base64(bytes);
        Self {
            schema_version: SCHEMA_VERSION,
            reason,
            detail,
            source,
            payload,
            payload_base64,
            payload_truncated: None,
            payload_bytes: None,
            payload_sha256: None,
        }
    }

    /// A dead letter for a message of which only `seen` is known (replay does not read an
    /// over-long line whole). The payload is the prefix, cut back to a character boundary
    /// when it is text (`payload`), else base64 (`payload_base64`); a message that fits
    /// [`DEAD_LETTER_PAYLOAD_MAX`] whole is kept whole, exactly like [`DeadLetter::new`].
    pub fn truncated(
        reason: DeadLetterReason,
        detail: String,
        source: Source,
        seen: PayloadPrefix,
    ) -> Self {
        let mut prefix = &seen.prefix[..seen.prefix.len().min(DEAD_LETTER_PAYLOAD_MAX)];
        if seen.len <= prefix.len() as u64 {
            return Self::new(reason, detail, source, prefix);
        }
        if let Err(e) = std::str::from_utf8(prefix) {
            // A character cut by the limit (at most 3 bytes) does not make the text binary.
            if e.error_len().is_none() {
                prefix = &prefix[..e.valid_up_to()];
            }
        }
        let (payload, payload_base64) = text_or_base64(prefix);
        let mut hex = String::with_capacity(64);
        for byte in seen.sha256 {
            use std::fmt::Write as _;
            let _ = write!(hex, "{byte:02x}");
        }
        Self {
            schema_version: SCHEMA_VERSION,
            reason,
            detail,
            source,
            payload,
            payload_base64,
            payload_truncated: Some(true),
            payload_bytes: Some(seen.len),
            payload_sha256: Some(hex),
        }
    }
}

fn text_or_base64(bytes: &[u8]) -> (Option<String>, Option<String>) {
    use base64::Engine as _;
    match std::str::from_utf8(bytes) {
        Ok(text) => (Some(text.to_owned()), None),
        Err(_) => (
            None,
            Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source() -> Source {
        Source::File {
            file: "badges.jsonl".into(),
            line: 7,
        }
    }

    fn serialized(dl: &DeadLetter) -> Vec<u8> {
        serde_json::to_vec(dl).unwrap_or_default()
    }

    #[test]
    fn a_payload_up_to_the_limit_is_kept_whole_without_truncation_fields() {
        let bytes = vec![b'x'; DEAD_LETTER_PAYLOAD_MAX];
        let dl = DeadLetter::new(DeadLetterReason::TooLarge, "big".into(), source(), &bytes);
        assert_eq!(dl.payload.as_deref().map(str::len), Some(bytes.len()));
        let text = String::from_utf8(serialized(&dl)).unwrap_or_default();
        assert!(!text.contains("payload_truncated"), "{}", &text[..80]);
    }

    #[test]
    fn control_bytes_far_over_the_limit_fit_a_kafka_record_once_escaped() {
        let bytes = vec![1u8; 200 * 1024];
        let dl = DeadLetter::new(DeadLetterReason::TooLarge, "big".into(), source(), &bytes);
        assert_eq!(dl.payload_truncated, Some(true));
        assert_eq!(dl.payload_bytes, Some(200 * 1024));
        assert_eq!(
            dl.payload.as_deref().map(str::len),
            Some(DEAD_LETTER_PAYLOAD_MAX)
        );
        let len = serialized(&dl).len();
        assert!(len > 6 * DEAD_LETTER_PAYLOAD_MAX, "escaped: {len}");
        assert!(len < 800 * 1024, "a dead letter of {len} bytes");
    }

    #[test]
    fn the_hash_covers_all_the_bytes_and_a_cut_character_is_dropped() {
        use sha2::Digest as _;
        let mut bytes = vec![b'a'; DEAD_LETTER_PAYLOAD_MAX - 1];
        bytes.extend_from_slice("é and more".as_bytes());
        let dl = DeadLetter::new(DeadLetterReason::TooLarge, "big".into(), source(), &bytes);
        let payload = dl.payload.clone().unwrap_or_default();
        assert_eq!(payload.len(), DEAD_LETTER_PAYLOAD_MAX - 1);
        let digest: [u8; 32] = sha2::Sha256::digest(&bytes).into();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(dl.payload_sha256, Some(hex));
    }

    #[test]
    fn binary_payloads_over_the_limit_are_base64_of_the_prefix() {
        let bytes = vec![0xffu8; DEAD_LETTER_PAYLOAD_MAX + 10];
        let dl = DeadLetter::new(DeadLetterReason::TooLarge, "big".into(), source(), &bytes);
        assert!(dl.payload.is_none());
        let b64 = dl.payload_base64.unwrap_or_default();
        assert_eq!(b64.len(), DEAD_LETTER_PAYLOAD_MAX.div_ceil(3) * 4);
    }

    #[test]
    fn a_prefix_that_is_the_whole_message_is_an_ordinary_dead_letter() {
        let bytes = b"{\"oops\"".to_vec();
        let seen = PayloadPrefix::of(&bytes);
        let a = DeadLetter::truncated(DeadLetterReason::MalformedJson, "d".into(), source(), seen);
        let b = DeadLetter::new(
            DeadLetterReason::MalformedJson,
            "d".into(),
            source(),
            &bytes,
        );
        assert_eq!(a, b);
    }
}
