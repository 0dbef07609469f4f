//! [`Range`]: how the docs show the allowed values of a setting, and the configuration's own
//! notation for durations ([`format_duration`]).

use std::fmt;
use std::time::Duration;

use chrono::NaiveDate;

use super::{MAX_DATE, MAX_NAME_BYTES, MIN_DATE};

/// The allowed values of one setting, as the docs show them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    /// A whole number from `min` to `max`, both included.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// A duration from `min` to `max`, both included.
    Duration {
        /// Shortest allowed duration.
        min: Duration,
        /// Longest allowed duration.
        max: Duration,
    },
    /// Text of `min` to `max` bytes (further rules in the meaning).
    Bytes {
        /// Shortest allowed length.
        min: usize,
        /// Longest allowed length.
        max: usize,
    },
    /// A date from `min` to `max`, both included.
    Date {
        /// Earliest allowed date.
        min: NaiveDate,
        /// Latest allowed date.
        max: NaiveDate,
    },
    /// `true` or `false`.
    Bool,
    /// Anything else, described in words.
    Words(&'static str),
}

impl Range {
    pub(super) const fn integer((min, max): (i64, i64)) -> Self {
        Self::Integer { min, max }
    }
    pub(super) const fn duration((min, max): (Duration, Duration)) -> Self {
        Self::Duration { min, max }
    }
    pub(super) const fn bytes((min, max): (usize, usize)) -> Self {
        Self::Bytes { min, max }
    }
    pub(super) const fn name() -> Self {
        Self::Bytes {
            min: 1,
            max: MAX_NAME_BYTES,
        }
    }
    pub(super) const fn date() -> Self {
        Self::Date {
            min: MIN_DATE,
            max: MAX_DATE,
        }
    }

    /// Whether `value` is within an [`Range::Integer`] (false for other kinds).
    pub fn contains_integer(&self, value: i64) -> bool {
        matches!(self, Self::Integer { min, max } if (*min..=*max).contains(&value))
    }
}

impl fmt::Display for Range {
    /// As the docs' range column writes it, e.g. `1 to 26`, `1s to 3650d`, `1 to 128 bytes`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Integer { min, max } => write!(f, "{min} to {max}"),
            Self::Duration { min, max } => {
                write!(f, "{} to {}", format_duration(*min), format_duration(*max))
            }
            Self::Bytes { min, max } => write!(f, "{min} to {max} bytes"),
            Self::Date { min, max } => write!(f, "{min} to {max}"),
            Self::Bool => f.write_str("true or false"),
            Self::Words(words) => f.write_str(words),
        }
    }
}

/// A duration in the configuration's own notation, largest units first: `90d`, `1h30m`,
/// `100ms`, `0s`.
pub fn format_duration(duration: Duration) -> String {
    let mut millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, size) in [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ] {
        if millis >= size {
            out.push_str(&format!("{}{unit}", millis / size));
            millis %= size;
        }
    }
    out
}
