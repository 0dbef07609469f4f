//! Human-written durations such as `"30s"`, `"5m"`, `"24h"` or `"1h30m"`.
//!
//! This module owns the one grammar used for every duration setting, whether it comes from
//! `processor.toml` or from an environment variable. It knows nothing about which settings
//! are durations.

use std::time::Duration;

/// The units a duration may use, largest first, with their length in milliseconds.
const UNITS: [(&str, u64); 5] = [
    ("d", 86_400_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a duration written as one or more `<whole number><unit>` groups.
///
/// Units are `ms`, `s`, `m`, `h` and `d` (24 hours), written in lower case. Groups go
/// from the largest unit to the smallest, each unit at most once: `"1h30m"`, `"2d12h"`,
/// `"1s500ms"`. There are no fractions, signs or spaces. `"0s"` is the zero duration.
///
/// The error is one line naming the input and what is wrong with it, e.g.
/// `invalid duration "5x": unknown unit "x" (use ms, s, m, h or d)`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let fail = |why: &str| Err(format!("invalid duration {text:?}: {why}"));
    if text.is_empty() {
        return fail("empty (write e.g. \"30s\", \"5m\" or \"24h\")");
    }
    let mut rest = text;
    let mut total_millis: u64 = 0;
    // Index into UNITS of the last unit used; the next one must come strictly after it.
    let mut previous_unit: Option<usize> = None;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return match rest.chars().next() {
                Some('-') => fail("must not be negative"),
                Some('+') => fail("write the number without a sign"),
                Some('.') | Some(',') => fail("fractions are not supported (write e.g. \"1h30m\")"),
                Some(c) if c.is_whitespace() => fail("must not contain spaces"),
                _ => fail("expected a number followed by a unit"),
            };
        }
        let (number, after_number) = rest.split_at(digits);
        let unit_len = after_number
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after_number.len());
        let (unit, after_unit) = after_number.split_at(unit_len);
        if unit.contains(char::is_whitespace) {
            return fail("must not contain spaces");
        }
        if unit.is_empty() {
            return fail("missing unit after the number (use ms, s, m, h or d)");
        }
        if unit.starts_with('.') || unit.starts_with(',') {
            return fail("fractions are not supported (write e.g. \"1h30m\")");
        }
        let Some(unit_index) = UNITS.iter().position(|(name, _)| *name == unit) else {
            return fail(&format!("unknown unit {unit:?} (use ms, s, m, h or d)"));
        };
        if previous_unit.is_some_and(|previous| unit_index <= previous) {
            return fail("units must go from largest to smallest, each at most once");
        }
        previous_unit = Some(unit_index);
        let too_large = || fail("too large");
        let Ok(count) = number.parse::<u64>() else {
            return too_large();
        };
        let Some(millis) = count.checked_mul(UNITS[unit_index].1) else {
            return too_large();
        };
        let Some(sum) = total_millis.checked_add(millis) else {
            return too_large();
        };
        total_millis = sum;
        rest = after_unit;
    }
    Ok(Duration::from_millis(total_millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Duration {
        parse_duration(text).unwrap_or_else(|e| panic!("{text:?} should parse: {e}"))
    }

    fn err(text: &str) -> String {
        match parse_duration(text) {
            Ok(d) => panic!("{text:?} should be rejected, parsed as {d:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn single_units_parse() {
        assert_eq!(ok("30s"), Duration::from_secs(30));
        assert_eq!(ok("5m"), Duration::from_secs(300));
        assert_eq!(ok("24h"), Duration::from_secs(86_400));
        assert_eq!(ok("250ms"), Duration::from_millis(250));
        assert_eq!(ok("2d"), Duration::from_secs(172_800));
        assert_eq!(ok("0s"), Duration::ZERO);
    }

    #[test]
    fn compound_durations_add_up() {
        assert_eq!(ok("1h30m"), Duration::from_secs(5_400));
        assert_eq!(ok("1d2h3m4s5ms"), Duration::from_millis(93_784_005));
        assert_eq!(ok("1s500ms"), Duration::from_millis(1_500));
    }

    #[test]
    fn empty_input_is_rejected() {
        assert!(err("").contains("empty"));
    }

    #[test]
    fn negative_and_signed_durations_are_rejected() {
        assert!(err("-5m").contains("negative"));
        assert!(err("+5m").contains("sign"));
    }

    #[test]
    fn unknown_units_are_rejected_and_named() {
        let message = err("5x");
        assert!(message.contains("unknown unit \"x\""), "{message}");
        assert!(err("5M").contains("unknown unit \"M\""));
        assert!(err("5sec").contains("unknown unit \"sec\""));
        assert!(err("5us").contains("unknown unit"));
    }

    #[test]
    fn a_number_without_unit_is_rejected() {
        assert!(err("30").contains("missing unit"));
        assert!(err("1h30").contains("missing unit"));
    }

    #[test]
    fn fractions_spaces_and_stray_text_are_rejected() {
        assert!(err("1.5h").contains("fractions"));
        assert!(err("5 m").contains("spaces"));
        assert!(err("24 hours").contains("spaces"));
        assert!(err(" 5m").contains("spaces"));
        assert!(err("h").contains("expected a number"));
    }

    #[test]
    fn units_out_of_order_or_repeated_are_rejected() {
        assert!(err("30m1h").contains("largest to smallest"));
        assert!(err("1h1h").contains("largest to smallest"));
    }

    #[test]
    fn overflow_is_rejected() {
        assert!(err("99999999999999999999s").contains("too large"));
        assert!(err("18446744073709551615d").contains("too large"));
        assert!(err("213503982334d213503982334h").contains("too large"));
    }

    #[test]
    fn errors_quote_the_input() {
        assert_eq!(
            err("48x"),
            "invalid duration \"48x\": unknown unit \"x\" (use ms, s, m, h or d)"
        );
    }
}
