//! The fast path of [`read_object`](super::json::read_object) for the common shape of an
//! input line: one flat JSON object whose values are plain strings, `null`, `true` or
//! `false`. It borrows every string from the line (no allocation) and returns exactly what
//! `read_object` returns for the same bytes, or `None` — and then the caller takes the
//! serde_json path — for anything it does not fully understand: an escape (`\`) or a
//! control character in a string, a number, an array or a nested object, a trailing comma,
//! bytes after the object, text that is not JSON at all. So every error, and so every dead
//! letter's reason and detail, still comes from the full path.
//!
//! What it accepts is a subset of what serde_json accepts, with the same result:
//!
//! - white space is JSON's (space, tab, line feed, carriage return), anywhere JSON allows it;
//! - keys are matched against the wanted names byte for byte (a key without escapes is its
//!   own text); keys not wanted are skipped with their values, as `read_object` skips them;
//! - a duplicate key overwrites the earlier value (the last one wins, as in `read_object`);
//! - a string may hold any character but `"`, `\` and the control characters U+0000–U+001F
//!   (serde_json rejects those unescaped); the whole line must be valid UTF-8 (as
//!   `read_object` checks last; serde_json checks the strings it reads on the way).

use std::borrow::Cow;

use super::json::FieldValue;

/// The values of `names` in `bytes` (in order, `None` for an absent key) when `bytes` is a
/// flat object of plain values; `None` when the full path must decide.
pub(crate) fn read_plain_object<'a, const N: usize>(
    bytes: &'a [u8],
    names: &[&'static str; N],
) -> Option<[Option<FieldValue<'a>>; N]> {
    let mut out = std::array::from_fn(|_| None);
    read_plain_object_into(bytes, names, &mut out).then_some(out)
}

/// [`read_plain_object`] into `out` (the hot path: no array moved through an `Option`).
/// Returns whether `out` holds the fields; when not, `out` holds nothing of use.
pub(crate) fn read_plain_object_into<'a, const N: usize>(
    bytes: &'a [u8],
    names: &[&'static str; N],
    out: &mut [Option<FieldValue<'a>>; N],
) -> bool {
    out.iter_mut().for_each(|v| *v = None);
    read_into(bytes, names, out).is_some()
}

fn read_into<'a, const N: usize>(
    bytes: &'a [u8],
    names: &[&'static str; N],
    out: &mut [Option<FieldValue<'a>>; N],
) -> Option<()> {
    // UTF-8 once for the whole line (ASCII is checked a word at a time); strings are then
    // slices of `text` between two ASCII quotes, so always on character boundaries.
    let text = std::str::from_utf8(bytes).ok()?;
    let mut i = skip_ws(bytes, 0);
    if bytes.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(bytes, i + 1);
    // Keys usually come in the order of `names`: try the one after the last match first.
    let mut hint = 0;
    if bytes.get(i) == Some(&b'}') {
        i += 1;
    } else {
        loop {
            if bytes.get(i) != Some(&b'"') {
                return None;
            }
            let start = i + 1;
            let (k, end) = match names.get(hint) {
                Some(name) if key_at(bytes, start, name.as_bytes()) => {
                    (Some(hint), start + name.len())
                }
                _ => {
                    let end = string_end(bytes, start)?;
                    let key = bytes.get(start..end)?;
                    (names.iter().position(|n| same(n.as_bytes(), key)), end)
                }
            };
            i = skip_ws(bytes, end + 1);
            if bytes.get(i) != Some(&b':') {
                return None;
            }
            i = skip_ws(bytes, i + 1);
            let (value, next) = match bytes.get(i)? {
                b'"' => {
                    let end = string_end(bytes, i + 1)?;
                    (
                        FieldValue::Str(Cow::Borrowed(text.get(i + 1..end)?)),
                        end + 1,
                    )
                }
                b'n' => (FieldValue::Null, literal(bytes, i, b"null")?),
                b't' => (FieldValue::Bool(true), literal(bytes, i, b"true")?),
                b'f' => (FieldValue::Bool(false), literal(bytes, i, b"false")?),
                _ => return None,
            };
            if let Some(k) = k {
                out[k] = Some(value);
                hint = k + 1;
            }
            i = skip_ws(bytes, next);
            match bytes.get(i)? {
                b',' => i = skip_ws(bytes, i + 1),
                b'}' => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    (skip_ws(bytes, i) == bytes.len()).then_some(())
}

/// The index of the first byte at or after `i` that is not JSON white space.
fn skip_ws(bytes: &[u8], mut i: usize) -> usize {
    while let Some(b' ' | b'\t' | b'\n' | b'\r') = bytes.get(i) {
        i += 1;
    }
    i
}

/// Whether the string whose content starts at `start` is exactly `name`. `name` holds no
/// quote, backslash or control character (the decoders' field names), so `name` followed
/// by a quote is the whole string, without escapes.
fn key_at(bytes: &[u8], start: usize, name: &[u8]) -> bool {
    debug_assert!(!name.iter().any(|&c| c == b'"' || c == b'\\' || c < 0x20));
    let end = start + name.len();
    bytes.get(end) == Some(&b'"') && bytes.get(start..end).is_some_and(|key| same(key, name))
}

/// `a == b` for short slices, without a call to `memcmp`: two (overlapping) eight-byte
/// words cover up to 16 bytes.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match (
        a.first_chunk::<8>(),
        a.last_chunk::<8>(),
        b.first_chunk::<8>(),
        b.last_chunk::<8>(),
    ) {
        (Some(a0), Some(a1), Some(b0), Some(b1)) if a.len() <= 16 => a0 == b0 && a1 == b1,
        _ if a.len() < 8 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

/// The index of the closing quote of the string whose content starts at `start` (just after
/// its opening quote); `None` for an escape, a control character or no closing quote.
fn string_end(bytes: &[u8], start: usize) -> Option<usize> {
    let mut at = start;
    // Eight bytes at a time while there are eight; the last few one by one.
    while let Some(chunk) = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>) {
        let special = special_bytes(u64::from_le_bytes(*chunk));
        if special != 0 {
            let first = at + (special.trailing_zeros() / 8) as usize;
            return (bytes.get(first) == Some(&b'"')).then_some(first);
        }
        at += 8;
    }
    for (k, &c) in bytes.get(at..)?.iter().enumerate() {
        match c {
            b'"' => return Some(at + k),
            b'\\' | 0x00..=0x1f => return None,
            _ => {}
        }
    }
    None
}

/// The high bit of each byte of `w` (read little-endian) that is `"`, `\` or below 0x20,
/// exactly: no carry crosses a byte (the zero-byte test of "Bit Twiddling Hacks" with the
/// high bits masked off first).
fn special_bytes(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |v: u64| !(((v & LOW7) + LOW7) | v | LOW7);
    let quote = zero(w ^ (ONES * u64::from(b'"')));
    let backslash = zero(w ^ (ONES * u64::from(b'\\')));
    // (b & 0x7f) + 0x60 has its high bit set exactly when b & 0x7f ≥ 0x20.
    let control = !(((w & LOW7) + ONES * 0x60) | w) & HIGH;
    quote | backslash | control
}

/// The index after the literal `word` at `i`, or `None` when it is not there.
fn literal(bytes: &[u8], i: usize, word: &[u8]) -> Option<usize> {
    let end = i + word.len();
    (bytes.get(i..end)? == word).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::json::read_object;

    const NAMES: [&str; 3] = ["a", "b", "c"];

    #[test]
    fn reads_what_read_object_reads() {
        for line in [
            &br#"{"a":"x","b":null,"c":true}"#[..],
            br#" { "c" : false , "a":"" ,"zz":"skip","b":"y"} "#,
            b"{}",
            b"\t\r\n{\"a\":\"caf\xc3\xa9\",\"a\":\"second\"}\n",
            br#"{"a":"0123456789abcdefghijklmnopqrstuvwxyz~"}"#,
            b"{\"a\":\"\x7f\"}",
        ] {
            let plain = read_plain_object(line, &NAMES);
            assert!(plain.is_some(), "{}", String::from_utf8_lossy(line));
            assert_eq!(plain, read_object(line, &NAMES).ok());
        }
    }

    #[test]
    fn leaves_the_rest_to_the_full_path() {
        for line in [
            &br#"{"a":"x\"y"}"#[..],
            br#"{"a\u0062":"x"}"#,
            b"{\"a\":\"x\ty\"}",
            br#"{"a":1}"#,
            br#"{"a":[]}"#,
            br#"{"a":{}}"#,
            br#"{"a":"x",}"#,
            br#"{"a":"x"} x"#,
            br#"{"a":nul}"#,
            br#"{"a":"x""#,
            br#"{"a":"x"#,
            b"{\"a\":\"\xff\"}",
            b"{\"z\":\"\xc3\"}",
            b"",
            b"[]",
            br#"{"a" "x"}"#,
            b"{\"a\":\"x\"}\x0c",
        ] {
            assert_eq!(
                read_plain_object(line, &NAMES),
                None,
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn same_is_slice_equality() {
        let texts: Vec<&[u8]> = vec![
            b"",
            b"a",
            b"b",
            b"event_id",
            b"event_iD",
            b"employee_id",
            b"employee_ie",
            b"fmployee_id",
            b"0123456789abcdef",
            b"0123456789abcdeF",
            b"0123456789abcdefg",
            b"0123456789abcdefh",
            b"x123456789abcdefg",
        ];
        for a in &texts {
            for b in &texts {
                assert_eq!(same(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn the_word_test_marks_exactly_the_special_bytes() {
        let special = |b: u8| b == b'"' || b == b'\\' || b < 0x20;
        let fillers = [b'x', 0x00, b'"', 0x80, 0xff, 0x21, 0x1f, 0xa0];
        for pos in 0..8 {
            for b in 0..=255u8 {
                for filler in fillers {
                    let mut w = [filler; 8];
                    w[pos] = b;
                    let mask = special_bytes(u64::from_le_bytes(w));
                    for (k, &byte) in w.iter().enumerate() {
                        let marked = mask >> (8 * k + 7) & 1 == 1;
                        assert_eq!(marked, special(byte), "{w:x?} byte {k}");
                    }
                    assert_eq!(mask & !0x8080_8080_8080_8080, 0);
                }
            }
        }
    }
}
