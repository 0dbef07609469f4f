//! The input format of the `changelog` target: a sequence of framed steps, each
//! `tag: u8, length: u16 (little-endian), body: [u8; length]` (a short last body is taken as
//! it is). Tags, taken modulo [`TAG_COUNT`]:
//!
//! | tag | step |
//! |---|---|
//! | 0 | restore `#meta` with value `body` |
//! | 1 | restore a `#meta` tombstone |
//! | 2..=5 | restore employee `e-1`..`e-4` with value `body` |
//! | 6..=9 | restore a tombstone for employee `e-1`..`e-4` |
//! | 10 | restore key `body[1..1+body[0]]` (any text) with value the rest of `body` |
//! | 11 | after the restore: a badge message `body` |
//! | 12 | after the restore: a roster message `body` |
//! | 13 | after the restore: an absence message `body` |
//! | 14 | after the restore: advance the watermark to the RFC 3339 instant `body` |
//!
//! Restore steps after the first live step (11..=14) are still restore steps: the target
//! restores everything first, in order, and then applies the live steps, in order.

/// Number of distinct tags.
pub const TAG_COUNT: u8 = 15;

/// One decoded step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step<'a> {
    /// A changelog record to restore (`value = None`: tombstone).
    Restore {
        /// Record key (`#meta` or an employee id, or anything for tag 10).
        key: std::borrow::Cow<'a, str>,
        /// Record value.
        value: Option<&'a [u8]>,
    },
    /// A badge message.
    Badge(&'a [u8]),
    /// A roster message.
    Roster(&'a [u8]),
    /// An absence message.
    Absence(&'a [u8]),
    /// Advance the watermark to this text's instant (ignored if it does not parse).
    Advance(&'a [u8]),
}

const EMPLOYEES: [&str; 4] = ["e-1", "e-2", "e-3", "e-4"];

/// Splits `data` into steps.
pub fn parse(mut data: &[u8]) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    while let Some((&tag, rest)) = data.split_first() {
        let (len, rest) = match rest {
            [a, b, rest @ ..] => (usize::from(u16::from_le_bytes([*a, *b])), rest),
            _ => (0, &rest[rest.len()..]),
        };
        let len = len.min(rest.len());
        let (body, rest) = rest.split_at(len);
        data = rest;
        let tag = tag % TAG_COUNT;
        let step = match tag {
            0 => Step::Restore {
                key: "#meta".into(),
                value: Some(body),
            },
            1 => Step::Restore {
                key: "#meta".into(),
                value: None,
            },
            2..=5 => Step::Restore {
                key: EMPLOYEES[usize::from(tag - 2)].into(),
                value: Some(body),
            },
            6..=9 => Step::Restore {
                key: EMPLOYEES[usize::from(tag - 6)].into(),
                value: None,
            },
            10 => {
                let (key_len, rest) = match body.split_first() {
                    Some((&n, rest)) => (usize::from(n).min(rest.len()), rest),
                    None => (0, body),
                };
                let (key, value) = rest.split_at(key_len);
                Step::Restore {
                    key: String::from_utf8_lossy(key),
                    value: Some(value),
                }
            }
            11 => Step::Badge(body),
            12 => Step::Roster(body),
            13 => Step::Absence(body),
            _ => Step::Advance(body),
        };
        steps.push(step);
    }
    steps
}

/// Appends one framed step (for seed generation).
pub fn frame(out: &mut Vec<u8>, tag: u8, body: &[u8]) {
    let len = u16::try_from(body.len()).unwrap_or(u16::MAX);
    out.push(tag);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&body[..usize::from(len)]);
}

/// The tag restoring `key` (`#meta`, `e-1`..`e-4`, else tag 10 with the key in the body).
pub fn frame_record(out: &mut Vec<u8>, key: &str, value: Option<&[u8]>) {
    match (key, value) {
        ("#meta", Some(v)) => frame(out, 0, v),
        ("#meta", None) => frame(out, 1, &[]),
        _ => match (EMPLOYEES.iter().position(|e| *e == key), value) {
            (Some(i), Some(v)) => frame(out, 2 + i as u8, v),
            (Some(i), None) => frame(out, 6 + i as u8, &[]),
            (None, v) => {
                let key = &key.as_bytes()[..key.len().min(255)];
                let mut body = vec![key.len() as u8];
                body.extend_from_slice(key);
                body.extend_from_slice(v.unwrap_or_default());
                frame(out, 10, &body);
            }
        },
    }
}
