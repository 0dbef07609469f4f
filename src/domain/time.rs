//! Event time: instants, local dates, ISO weeks and the time-zone arithmetic of SPEC §3.
//!
//! Owns the strict RFC 3339 parser of §1.1 and every conversion between an instant and a
//! local calendar date. Pure: no clock reads.

use std::cell::Cell;
use std::fmt;

use chrono::{NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

const SECONDS_PER_DAY: i64 = 86_400;

/// An instant on the UTC time line, with nanosecond precision.
///
/// Ordered by time; the representation (seconds + nanoseconds) covers every year RFC 3339
/// can write, unlike a single `i64` of nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

impl Timestamp {
    /// The instant `secs` seconds (and `nanos` nanoseconds) after 1970-01-01T00:00:00Z.
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        Self {
            secs: secs + i64::from(nanos / 1_000_000_000),
            nanos: nanos % 1_000_000_000,
        }
    }

    /// Whole seconds since the Unix epoch (rounded towards negative infinity).
    pub fn unix_seconds(self) -> i64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// This instant shifted by a signed number of seconds (saturating).
    pub fn add_seconds(self, seconds: i64) -> Self {
        Self {
            secs: self.secs.saturating_add(seconds),
            nanos: self.nanos,
        }
    }

    /// This instant moved forward by a duration (saturating).
    pub fn add_duration(self, duration: std::time::Duration) -> Self {
        let secs = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        let mut out = self.add_seconds(secs);
        out.nanos += duration.subsec_nanos();
        if out.nanos >= 1_000_000_000 {
            out.nanos -= 1_000_000_000;
            out.secs = out.secs.saturating_add(1);
        }
        out
    }

    /// This instant moved backward by a duration (saturating).
    pub fn sub_duration(self, duration: std::time::Duration) -> Self {
        let secs = i64::try_from(duration.as_secs()).unwrap_or(i64::MAX);
        let mut out = self.add_seconds(-secs);
        let sub = duration.subsec_nanos();
        if out.nanos >= sub {
            out.nanos -= sub;
        } else {
            out.nanos = out.nanos + 1_000_000_000 - sub;
            out.secs = out.secs.saturating_sub(1);
        }
        out
    }

    /// Converts from a chrono UTC date-time.
    pub fn from_chrono(t: chrono::DateTime<chrono::Utc>) -> Self {
        Self::from_unix(t.timestamp(), t.timestamp_subsec_nanos())
    }

    /// Converts to a chrono UTC date-time (saturating at chrono's range).
    pub fn to_chrono(self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp(self.secs, self.nanos)
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
    }

    /// RFC 3339 in UTC with millisecond precision, e.g. `2026-05-05T15:59:12.000Z`.
    pub fn to_rfc3339(self) -> String {
        self.to_chrono()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Why a timestamp string is not the strict RFC 3339 form of §1.1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TimestampError(&'static str);

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]` followed by `Z` or `±hh:mm` (upper-case `T` and
/// `Z`, no leap second) into an instant. Digits beyond nanoseconds are truncated.
pub fn parse_timestamp(text: &str) -> Result<Timestamp, TimestampError> {
    let b = text.as_bytes();
    if b.len() < 20 {
        return Err(TimestampError(
            "too short for YYYY-MM-DDTHH:MM:SS followed by a zone",
        ));
    }
    let day = parse_date_bytes(&b[..10]).ok_or(TimestampError("invalid date part"))?;
    if b[10] != b'T' {
        return Err(TimestampError(
            "expected upper-case 'T' between date and time",
        ));
    }
    if b[13] != b':' || b[16] != b':' {
        return Err(TimestampError("invalid time part"));
    }
    let hour = two_digits(b[11], b[12]).ok_or(TimestampError("invalid hour"))?;
    let minute = two_digits(b[14], b[15]).ok_or(TimestampError("invalid minute"))?;
    let second = two_digits(b[17], b[18]).ok_or(TimestampError("invalid second"))?;
    if hour > 23 || minute > 59 {
        return Err(TimestampError("hour or minute out of range"));
    }
    if second > 59 {
        return Err(TimestampError(
            "second out of range (leap seconds are not accepted)",
        ));
    }
    let mut i = 19;
    let mut nanos: u32 = 0;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        let mut scale = 100_000_000u32;
        while i < b.len() && b[i].is_ascii_digit() {
            nanos += u32::from(b[i] - b'0') * scale;
            scale /= 10;
            i += 1;
        }
        if i == start {
            return Err(TimestampError("empty fraction of a second"));
        }
    }
    let offset_secs: i64 = match b.get(i) {
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = two_digits(b[i + 1], b[i + 2]).ok_or(TimestampError("invalid offset"))?;
            let om = two_digits(b[i + 4], b[i + 5]).ok_or(TimestampError("invalid offset"))?;
            if oh > 23 || om > 59 {
                return Err(TimestampError("offset out of range"));
            }
            let v = i64::from(oh * 3600 + om * 60);
            if sign == b'-' {
                -v
            } else {
                v
            }
        }
        _ => return Err(TimestampError("expected 'Z' or ±hh:mm after the time")),
    };
    let local = i64::from(day.0) * SECONDS_PER_DAY + i64::from(hour * 3600 + minute * 60 + second);
    Ok(Timestamp::from_unix(local - offset_secs, nanos))
}

fn two_digits(a: u8, b: u8) -> Option<u32> {
    if a.is_ascii_digit() && b.is_ascii_digit() {
        Some(u32::from(a - b'0') * 10 + u32::from(b - b'0'))
    } else {
        None
    }
}

fn parse_date_bytes(b: &[u8]) -> Option<Day> {
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let mut year = 0i32;
    for &c in &b[..4] {
        if !c.is_ascii_digit() {
            return None;
        }
        year = year * 10 + i32::from(c - b'0');
    }
    let month = two_digits(b[5], b[6])?;
    let dom = two_digits(b[8], b[9])?;
    civil_day(year, month, dom)
}

/// The day of a proleptic Gregorian date (years 0..=9999, as four digits can write), or
/// `None` for a month or day of month that does not exist: what
/// `NaiveDate::from_ymd_opt(..).map(Day::from_date)` returns, by arithmetic (H. Hinnant's
/// `days_from_civil`); tested against chrono for every date of those years.
fn civil_day(year: i32, month: u32, dom: u32) -> Option<Day> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if dom == 0 || dom > days_in_month {
        return None;
    }
    // The year starts in March, so that the leap day is the last day of a year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + dom as i32 - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    Some(Day(era * 146_097 + doe - 719_468))
}

/// Parses a strict `YYYY-MM-DD` local date.
pub fn parse_date(text: &str) -> Option<Day> {
    parse_date_bytes(text.as_bytes())
}

/// A calendar date, as days since 1970-01-01 (a Thursday). Compact and cheap to compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

const UNIX_EPOCH_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("1970-01-01 is a valid date"),
};

impl Day {
    /// The day of a chrono date.
    pub fn from_date(date: NaiveDate) -> Self {
        // Dates RFC 3339 can write (years 0..=9999) are within ±4M days: fits in i32.
        Day((date - UNIX_EPOCH_DATE).num_days() as i32)
    }

    /// The chrono date of this day.
    pub fn to_date(self) -> NaiveDate {
        UNIX_EPOCH_DATE + chrono::Duration::days(i64::from(self.0))
    }

    /// The ISO week containing this day.
    pub fn week(self) -> Week {
        Week((self.0 + 3).div_euclid(7))
    }

    /// 0 for Monday … 6 for Sunday.
    pub fn weekday_index(self) -> u32 {
        (self.0 + 3).rem_euclid(7) as u32
    }

    /// The day `n` days later.
    pub fn plus(self, n: i32) -> Day {
        Day(self.0 + n)
    }
}

impl Day {
    /// (year, month, day) of this date, by Howard Hinnant's `civil_from_days` (no table
    /// lookups; hot when writing outputs).
    pub fn ymd(self) -> (i32, u32, u32) {
        let z = i64::from(self.0) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        (year, month, day)
    }
}

impl Day {
    /// `YYYY-MM-DD`, on the stack (outputs write many dates: no allocation). Recent dates
    /// come from a small per-thread cache: a week close writes the same few dates for every
    /// employee.
    pub fn date_text(self) -> Ascii<10> {
        DATE_TEXTS.with(|cache| {
            cached(cache, self.0, || {
                let (year, month, day) = self.ymd();
                let mut buf = [0u8; 10];
                write_date(&mut buf, year, month, day);
                Ascii(buf)
            })
        })
    }
}

thread_local! {
    /// [`Day::date_text`] of recent days, by day number modulo 64.
    static DATE_TEXTS: [Cell<Option<(i32, Ascii<10>)>>; 64] =
        const { [const { Cell::new(None) }; 64] };
    /// [`Week::label_text`] of recent weeks, by week number modulo 32.
    static WEEK_LABELS: [Cell<Option<(i32, Ascii<8>)>>; 32] =
        const { [const { Cell::new(None) }; 32] };
}

/// The value of `key` from a direct-mapped `cache` (slot `key mod N`, `N` a power of two),
/// computed by `compute` and kept when the slot holds another key.
fn cached<T: Copy, const N: usize>(
    cache: &[Cell<Option<(i32, T)>>; N],
    key: i32,
    compute: impl FnOnce() -> T,
) -> T {
    let slot = &cache[key.rem_euclid(N as i32) as usize];
    match slot.get() {
        Some((k, value)) if k == key => value,
        _ => {
            let value = compute();
            slot.set(Some((key, value)));
            value
        }
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.date_text().as_str())
    }
}

/// `day == "2026-05-25"`: the date as it is written.
impl PartialEq<&str> for Day {
    fn eq(&self, other: &&str) -> bool {
        self.date_text().as_str() == *other
    }
}

impl serde::Serialize for Day {
    /// As `YYYY-MM-DD` (§6: `"week_start": "2026-05-25"`).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.date_text().as_str())
    }
}

/// A short ASCII text kept on the stack: a date or a week label formatted without
/// allocating. Only ever holds ASCII digits, `-` and `W`, so it never needs JSON escaping.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ascii<const N: usize>([u8; N]);

impl<const N: usize> Ascii<N> {
    /// The text.
    pub fn as_str(&self) -> &str {
        // Only ASCII is ever written (see the constructors).
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The text's bytes.
    pub fn as_bytes(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for Ascii<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as i32
}

/// Writes `value` as `buf.len()` decimal digits, zero-padded (higher digits are dropped).
fn write_digits(buf: &mut [u8], mut value: u32) {
    for slot in buf.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// Writes a year as four digits (years outside 0..=9999 are clamped: §1.1 dates have four).
fn write_year(buf: &mut [u8; 4], year: i32) {
    write_digits(buf, year.clamp(0, 9999) as u32);
}

/// Appends `value` as exactly `width` decimal digits, zero-padded (at most 10).
pub fn push_digits(out: &mut String, value: u32, width: usize) {
    let mut buf = [0u8; 10];
    let digits = &mut buf[..width.min(10)];
    write_digits(digits, value);
    // write_digits only writes ASCII digits.
    out.push_str(std::str::from_utf8(digits).unwrap_or_default());
}

/// Writes `YYYY-MM-DD` without going through chrono's format machinery (hot in output).
fn write_date(buf: &mut [u8; 10], year: i32, month: u32, day: u32) {
    let mut y = [0u8; 4];
    write_year(&mut y, year);
    buf[..4].copy_from_slice(&y);
    buf[4] = b'-';
    write_digits(&mut buf[5..7], month);
    buf[7] = b'-';
    write_digits(&mut buf[8..10], day);
}

/// An ISO week (Monday to Sunday), as the number of weeks since the week of 1970-01-01.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Week(pub i32);

impl Week {
    /// The Monday of this week.
    pub fn monday(self) -> Day {
        Day(self.0 * 7 - 3)
    }

    /// The Sunday of this week.
    pub fn sunday(self) -> Day {
        Day(self.0 * 7 + 3)
    }

    /// The week `n` weeks later (or earlier, for negative `n`).
    pub fn plus(self, n: i32) -> Week {
        Week(self.0 + n)
    }

    /// The ISO label, e.g. `2026-W19`.
    pub fn label(self) -> String {
        self.label_text().as_str().to_owned()
    }

    /// The ISO label on the stack, e.g. `2026-W19` (outputs write many: no allocation).
    /// Recent labels come from a small per-thread cache: outputs label the same few weeks
    /// over and over (the week closed, its window).
    pub fn label_text(self) -> Ascii<8> {
        WEEK_LABELS.with(|cache| cached(cache, self.0, || self.compute_label()))
    }

    fn compute_label(self) -> Ascii<8> {
        // The ISO year of a week is the calendar year of its Thursday.
        let thursday = self.monday().plus(3);
        let (year, _, _) = thursday.ymd();
        let week = (thursday.0 - days_from_civil(year, 1, 1)) as u32 / 7 + 1;
        let mut buf = *b"0000-W00";
        let mut y = [0u8; 4];
        write_year(&mut y, year);
        buf[..4].copy_from_slice(&y);
        write_digits(&mut buf[6..8], week);
        // Only ASCII digits, '-' and 'W' were written.
        Ascii(buf)
    }
}

impl serde::Serialize for Week {
    /// As its ISO label (§6: `"week": "2026-W22"`).
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.label_text().as_str())
    }
}

/// `week == "2026-W19"`: the label as it is written.
impl PartialEq<&str> for Week {
    fn eq(&self, other: &&str) -> bool {
        self.label_text().as_str() == *other
    }
}

impl fmt::Display for Week {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label_text().as_str())
    }
}

/// UTC offset of `tz` at instant `t`, in seconds.
pub fn utc_offset_seconds(tz: Tz, t: Timestamp) -> i64 {
    let naive = chrono::DateTime::from_timestamp(t.secs, 0)
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
        .naive_utc();
    i64::from(tz.offset_from_utc_datetime(&naive).fix().local_minus_utc())
}

/// The local calendar date of instant `t` in zone `tz`.
pub fn local_day(tz: Tz, t: Timestamp) -> Day {
    let local = t.secs + utc_offset_seconds(tz, t);
    Day(local.div_euclid(SECONDS_PER_DAY) as i32)
}

/// The UTC calendar date of instant `t`: `local_day(chrono_tz::UTC, t)` without the zone
/// machinery.
pub fn utc_day(t: Timestamp) -> Day {
    Day(t.secs.div_euclid(SECONDS_PER_DAY) as i32)
}

/// The instant local midnight starts `day` in `tz`. DST-aware: when midnight is ambiguous the
/// earlier instant is taken; when it does not exist (a gap at midnight) the day starts at the
/// transition, i.e. midnight read with the offset in force before it.
pub fn local_midnight(tz: Tz, day: Day) -> Timestamp {
    let naive: NaiveDateTime = day.to_date().and_hms_opt(0, 0, 0).unwrap_or_default();
    let naive_secs = i64::from(day.0) * SECONDS_PER_DAY;
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Timestamp::from_unix(t.timestamp(), 0),
        chrono::LocalResult::Ambiguous(a, b) => {
            Timestamp::from_unix(a.timestamp().min(b.timestamp()), 0)
        }
        chrono::LocalResult::None => {
            let before = Timestamp::from_unix(naive_secs - SECONDS_PER_DAY, 0);
            Timestamp::from_unix(naive_secs - utc_offset_seconds(tz, before), 0)
        }
    }
}

/// Caches the UTC offset of one zone for the UTC day last asked about, so converting a stream
/// of badges to local dates costs one comparison per badge instead of a zone-table search.
#[derive(Debug, Clone)]
pub struct LocalDayCache {
    tz: Tz,
    utc_day: i64,
    offset: Option<i64>,
}

impl LocalDayCache {
    /// An empty cache for `tz`.
    pub fn new(tz: Tz) -> Self {
        Self {
            tz,
            utc_day: i64::MIN,
            offset: None,
        }
    }

    /// The zone this cache converts to.
    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The local date of `t` in this cache's zone.
    pub fn local_day(&mut self, t: Timestamp) -> Day {
        let utc_day = t.secs.div_euclid(SECONDS_PER_DAY);
        if utc_day != self.utc_day {
            self.utc_day = utc_day;
            let start = Timestamp::from_unix(utc_day * SECONDS_PER_DAY, 0);
            let end = Timestamp::from_unix(utc_day * SECONDS_PER_DAY + SECONDS_PER_DAY - 1, 0);
            let a = utc_offset_seconds(self.tz, start);
            let b = utc_offset_seconds(self.tz, end);
            // A transition inside this UTC day: do not cache, convert exactly.
            self.offset = (a == b).then_some(a);
        }
        match self.offset {
            Some(off) => Day((t.secs + off).div_euclid(SECONDS_PER_DAY) as i32),
            None => local_day(self.tz, t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    fn ts(s: &str) -> Timestamp {
        parse_timestamp(s).unwrap()
    }

    #[test]
    fn civil_day_is_chronos_day_for_every_date_four_digits_can_write() {
        for year in 0..=9999 {
            for month in 0..=13 {
                for dom in 0..=32 {
                    assert_eq!(
                        civil_day(year, month, dom),
                        NaiveDate::from_ymd_opt(year, month, dom).map(Day::from_date),
                        "{year:04}-{month:02}-{dom:02}"
                    );
                }
            }
        }
    }

    #[test]
    fn utc_day_is_the_utc_zones_local_day() {
        for secs in [
            i64::from(i32::MIN) * 86_400,
            -86_401,
            -86_400,
            -1,
            0,
            86_399,
            86_400,
            1_780_000_000,
            253_402_300_799,
            i64::from(i32::MAX) * 86_400,
        ] {
            let t = Timestamp::from_unix(secs, 0);
            assert_eq!(utc_day(t), local_day(chrono_tz::UTC, t), "at {secs}");
        }
    }

    #[test]
    fn parses_offsets_and_fractions_to_the_same_instant() {
        assert_eq!(ts("2026-05-05T08:59:12-07:00"), ts("2026-05-05T15:59:12Z"));
        assert_eq!(ts("2026-05-05T21:29:12+05:30"), ts("2026-05-05T15:59:12Z"));
        let f = ts("2026-05-05T15:59:12.5Z");
        assert_eq!(f.subsec_nanos(), 500_000_000);
        assert!(f > ts("2026-05-05T15:59:12Z"));
        assert_eq!(
            ts("2026-05-05T15:59:12.123456789123Z").subsec_nanos(),
            123_456_789
        );
    }

    #[test]
    fn rejects_non_strict_forms() {
        for bad in [
            "2026-05-05 08:59:12Z",
            "2026-05-05t08:59:12Z",
            "2026-05-05T08:59:12z",
            "2026-05-05T08:59:60Z",
            "2026-05-05T24:00:00Z",
            "2026-02-30T08:00:00Z",
            "2026-05-05T08:59:12",
            "2026-05-05T08:59:12+0700",
            "2026-05-05T08:59:12.Z",
            "2026-05-05T08:59Z",
            "2026-5-05T08:59:12Z",
            "2026-05-05T08:59:12Z ",
            "",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn weeks_start_on_monday_and_label_iso_years() {
        let monday = parse_date("2026-05-04").unwrap();
        assert_eq!(monday.weekday_index(), 0);
        assert_eq!(monday.week().monday(), monday);
        assert_eq!(monday.week().label(), "2026-W19");
        assert_eq!(parse_date("2026-05-10").unwrap().week(), monday.week());
        // 2027-01-01 is a Friday of ISO week 2026-W53.
        assert_eq!(parse_date("2027-01-01").unwrap().week().label(), "2026-W53");
        assert_eq!(parse_date("1969-12-29").unwrap().week(), Week(0));
    }

    #[test]
    fn fast_labels_agree_with_chrono_for_two_centuries() {
        for w in -600..11_000 {
            let week = Week(w);
            let iso = week.monday().to_date().iso_week();
            assert_eq!(
                week.label(),
                format!("{:04}-W{:02}", iso.year(), iso.week())
            );
            let day = week.monday().plus(w.rem_euclid(7));
            assert_eq!(
                day.to_string(),
                day.to_date().format("%Y-%m-%d").to_string()
            );
        }
    }

    #[test]
    fn cached_labels_and_dates_are_the_computed_ones_in_any_order() {
        // Jumps of 37 weeks (or days) modulo a prime visit every value in a scattered
        // order, so that cache slots are reused by many different weeks.
        let (mut w, mut d) = (0i32, 0i32);
        for _ in 0..20_011 {
            w = (w + 37) % 20_011;
            d = (d + 37) % 20_011;
            for week in [Week(w - 3_000), Week(w % 5)] {
                assert_eq!(week.label_text(), week.compute_label(), "{week:?}");
                let chrono = week.monday().to_date().iso_week();
                let label = format!("{:04}-W{:02}", chrono.year(), chrono.week());
                assert_eq!(week.label_text().as_str(), label);
            }
            for day in [Day(d * 3 - 20_000), Day(d % 7)] {
                let chrono = day.to_date().format("%Y-%m-%d").to_string();
                assert_eq!(day.date_text().as_str(), chrono, "{day:?}");
            }
        }
    }

    #[test]
    fn local_day_follows_the_zone() {
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        let t = ts("2026-05-05T06:00:00Z");
        assert_eq!(local_day(la, t).to_string(), "2026-05-04");
        let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
        assert_eq!(
            local_day(kolkata, ts("2026-05-04T18:29:59Z")).to_string(),
            "2026-05-04"
        );
        assert_eq!(
            local_day(kolkata, ts("2026-05-04T18:30:00Z")).to_string(),
            "2026-05-05"
        );
        let mut cache = LocalDayCache::new(kolkata);
        assert_eq!(
            cache.local_day(ts("2026-05-04T18:30:00Z")).to_string(),
            "2026-05-05"
        );
    }

    #[test]
    fn dst_weeks_are_167_and_169_hours_long() {
        let la: Tz = "America/Los_Angeles".parse().unwrap();
        // 2026-03-08 spring forward: the week 2026-03-02..03-09 is 167 h.
        let a = local_midnight(la, parse_date("2026-03-02").unwrap());
        let b = local_midnight(la, parse_date("2026-03-09").unwrap());
        assert_eq!(b.unix_seconds() - a.unix_seconds(), 167 * 3600);
        let sydney: Tz = "Australia/Sydney".parse().unwrap();
        // 2026-04-05 Sydney falls back: week 03-30..04-06 is 169 h.
        let a = local_midnight(sydney, parse_date("2026-03-30").unwrap());
        let b = local_midnight(sydney, parse_date("2026-04-06").unwrap());
        assert_eq!(b.unix_seconds() - a.unix_seconds(), 169 * 3600);
    }

    #[test]
    fn midnight_in_a_dst_gap_starts_at_the_transition() {
        // America/Santiago springs forward at 24:00 -> 01:00 (2026-09-06).
        let santiago: Tz = "America/Santiago".parse().unwrap();
        let day = parse_date("2026-09-06").unwrap();
        let start = local_midnight(santiago, day);
        assert_eq!(local_day(santiago, start), day);
        assert_eq!(local_day(santiago, start.add_seconds(-1)), day.plus(-1));
    }
}
