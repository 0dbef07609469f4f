//! Fast RFC 3339 formatting of badge timestamps (SPEC §1.1): a site's local
//! offset or `Z`, with 0, 3 or 6 fraction digits.
//!
//! `chrono`'s `format` re-parses its pattern on every call; the generator
//! writes millions of timestamps, so this formats the digits directly.

use chrono::{DateTime, Datelike, Offset, TimeZone, Timelike};
use chrono_tz::Tz;

use crate::domain::time::push_digits;

/// How a timestamp is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimeStyle {
    /// The site's offset, whole seconds: `2026-05-05T08:59:12-07:00`.
    SiteOffset,
    /// UTC, whole seconds: `2026-05-05T15:59:12Z`.
    Zulu,
    /// The site's offset with milliseconds: `2026-05-05T08:59:12.345-07:00`.
    SiteOffsetMillis,
    /// UTC with microseconds: `2026-05-05T15:59:12.345678Z`.
    ZuluMicros,
}

impl TimeStyle {
    /// Number of fraction digits written.
    pub(crate) fn fraction_digits(self) -> u32 {
        match self {
            TimeStyle::SiteOffset | TimeStyle::Zulu => 0,
            TimeStyle::SiteOffsetMillis => 3,
            TimeStyle::ZuluMicros => 6,
        }
    }
}

/// Appends the RFC 3339 form of `secs`.`nanos` (Unix time) in `style`,
/// using `zone` for the local offset. Fraction digits beyond the style's
/// precision are truncated (the generator only draws representable values).
pub(crate) fn push_rfc3339(out: &mut String, secs: i64, nanos: u32, zone: Tz, style: TimeStyle) {
    let Some(utc) = DateTime::from_timestamp(secs, 0) else {
        out.push_str("1970-01-01T00:00:00Z");
        return;
    };
    let offset = match style {
        TimeStyle::SiteOffset | TimeStyle::SiteOffsetMillis => zone
            .offset_from_utc_datetime(&utc.naive_utc())
            .fix()
            .local_minus_utc(),
        TimeStyle::Zulu | TimeStyle::ZuluMicros => 0,
    };
    let local = utc.naive_utc() + chrono::Duration::seconds(i64::from(offset));
    push_digits(out, local.year().clamp(0, 9999) as u32, 4);
    out.push('-');
    push_digits(out, local.month(), 2);
    out.push('-');
    push_digits(out, local.day(), 2);
    out.push('T');
    push_digits(out, local.hour(), 2);
    out.push(':');
    push_digits(out, local.minute(), 2);
    out.push(':');
    push_digits(out, local.second(), 2);
    let digits = style.fraction_digits();
    if digits > 0 {
        out.push('.');
        push_digits(out, nanos / 10u32.pow(9 - digits), digits as usize);
    }
    match style {
        TimeStyle::Zulu | TimeStyle::ZuluMicros => out.push('Z'),
        TimeStyle::SiteOffset | TimeStyle::SiteOffsetMillis => {
            out.push(if offset < 0 { '-' } else { '+' });
            let minutes = offset.unsigned_abs() / 60;
            push_digits(out, minutes / 60, 2);
            out.push(':');
            push_digits(out, minutes % 60, 2);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(secs: i64, nanos: u32, zone: Tz, style: TimeStyle) -> String {
        let mut out = String::new();
        push_rfc3339(&mut out, secs, nanos, zone, style);
        out
    }

    #[test]
    fn formats_match_chrono_and_parse_back() {
        let instant = DateTime::parse_from_rfc3339("2026-05-05T15:59:12Z").expect("valid");
        let secs = instant.timestamp();
        let cases = [
            (
                chrono_tz::America::Los_Angeles,
                TimeStyle::SiteOffset,
                "2026-05-05T08:59:12-07:00",
            ),
            (
                chrono_tz::Asia::Kolkata,
                TimeStyle::SiteOffset,
                "2026-05-05T21:29:12+05:30",
            ),
            (
                chrono_tz::Australia::Sydney,
                TimeStyle::SiteOffsetMillis,
                "2026-05-06T01:59:12.123+10:00",
            ),
            (
                chrono_tz::Europe::London,
                TimeStyle::Zulu,
                "2026-05-05T15:59:12Z",
            ),
            (
                chrono_tz::Europe::Berlin,
                TimeStyle::ZuluMicros,
                "2026-05-05T15:59:12.123456Z",
            ),
        ];
        for (zone, style, expected) in cases {
            let text = render(secs, 123_456_000, zone, style);
            assert_eq!(text, expected);
            let parsed = DateTime::parse_from_rfc3339(&text).expect("parses back");
            assert_eq!(parsed.timestamp(), secs);
        }
    }
}
