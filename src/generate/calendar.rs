//! Calendar facts for the synthetic company: public holidays per region, the
//! period's dates and local midnights.
//!
//! Holidays follow the real rules of each region (fixed dates, "n-th weekday of
//! a month", Easter-based dates, weekend substitutes where the region has them).
//! Indian festival dates follow a lunar calendar; a small table covers
//! 2025–2027 (approximate dates, good enough for synthetic data). On top of
//! these the company has one "recharge day" in every region, so each region has
//! at least one holiday inside any period of two weeks or more.

use chrono::{Datelike, Days, NaiveDate, TimeZone, Weekday};

/// Regions of the generated sites, in the order of [`Region::index`].
pub(crate) const REGIONS: [&str; 5] = ["US", "UK", "DE", "IN", "AU"];

/// The holiday calendar: for each region of [`REGIONS`], its sorted holidays.
#[derive(Debug, Clone)]
pub(crate) struct Holidays {
    by_region: Vec<Vec<NaiveDate>>,
}

impl Holidays {
    /// Builds the holidays of every year the period touches, plus the
    /// company recharge day (the Friday of the period's middle week).
    pub(crate) fn for_period(start_monday: NaiveDate, weeks: u32) -> Holidays {
        let end = start_monday + Days::new(u64::from(weeks) * 7 - 1);
        let recharge_day =
            (weeks >= 2).then(|| start_monday + Days::new(u64::from(weeks / 2) * 7 + 4));
        let by_region = (0..REGIONS.len())
            .map(|region| {
                let mut dates: Vec<NaiveDate> = (start_monday.year()..=end.year())
                    .flat_map(|year| region_holidays(region, year))
                    .collect();
                dates.extend(recharge_day);
                dates.sort_unstable();
                dates.dedup();
                dates
            })
            .collect();
        Holidays { by_region }
    }

    /// Whether `date` is a holiday of `region` (an index into [`REGIONS`]).
    pub(crate) fn is_holiday(&self, region: usize, date: NaiveDate) -> bool {
        self.by_region[region].binary_search(&date).is_ok()
    }

    /// The sorted holidays of `region`.
    pub(crate) fn of_region(&self, region: usize) -> &[NaiveDate] {
        &self.by_region[region]
    }
}

fn date(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(year, month, day)
}

fn nth_weekday(year: i32, month: u32, weekday: Weekday, n: u8) -> Option<NaiveDate> {
    NaiveDate::from_weekday_of_month_opt(year, month, weekday, n)
}

fn last_weekday(year: i32, month: u32, weekday: Weekday) -> Option<NaiveDate> {
    nth_weekday(year, month, weekday, 5).or_else(|| nth_weekday(year, month, weekday, 4))
}

/// US rule: a Saturday holiday is observed on Friday, a Sunday one on Monday.
fn us_observed(day: Option<NaiveDate>) -> Option<NaiveDate> {
    let day = day?;
    match day.weekday() {
        Weekday::Sat => day.pred_opt(),
        Weekday::Sun => day.succ_opt(),
        _ => Some(day),
    }
}

/// UK/AU rule: a weekend holiday moves to the next weekday not already taken.
fn substitute(days: &mut Vec<NaiveDate>, day: Option<NaiveDate>) {
    let Some(mut day) = day else { return };
    while matches!(day.weekday(), Weekday::Sat | Weekday::Sun) || days.contains(&day) {
        match day.succ_opt() {
            Some(next) => day = next,
            None => return,
        }
    }
    days.push(day);
}

/// Easter Sunday (anonymous Gregorian algorithm).
pub(crate) fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    date(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

fn easter_offset(year: i32, offset: i64) -> Option<NaiveDate> {
    let easter = easter_sunday(year)?;
    if offset >= 0 {
        easter.checked_add_days(Days::new(offset.unsigned_abs()))
    } else {
        easter.checked_sub_days(Days::new(offset.unsigned_abs()))
    }
}

/// Indian festivals whose dates follow a lunar calendar (approximate).
const INDIA_LUNAR: [(i32, u32, u32); 15] = [
    (2025, 3, 14),  // Holi
    (2025, 3, 31),  // Id-ul-Fitr
    (2025, 6, 7),   // Id-ul-Zuha (Bakrid)
    (2025, 8, 27),  // Ganesh Chaturthi
    (2025, 10, 20), // Diwali
    (2026, 3, 4),   // Holi
    (2026, 3, 21),  // Id-ul-Fitr
    (2026, 5, 27),  // Id-ul-Zuha (Bakrid)
    (2026, 6, 26),  // Muharram
    (2026, 9, 14),  // Ganesh Chaturthi
    (2026, 11, 9),  // Diwali
    (2027, 3, 22),  // Holi
    (2027, 3, 10),  // Id-ul-Fitr
    (2027, 5, 17),  // Id-ul-Zuha (Bakrid)
    (2027, 10, 29), // Diwali
];

/// The public holidays of `region` (an index into [`REGIONS`]) in `year`.
fn region_holidays(region: usize, year: i32) -> Vec<NaiveDate> {
    use Weekday::{Mon, Thu};
    let mut days = Vec::new();
    match REGIONS[region] {
        "US" => {
            let thanksgiving = nth_weekday(year, 11, Thu, 4);
            days.extend(
                [
                    us_observed(date(year, 1, 1)),
                    nth_weekday(year, 1, Mon, 3),
                    nth_weekday(year, 2, Mon, 3),
                    last_weekday(year, 5, Mon),
                    us_observed(date(year, 6, 19)),
                    us_observed(date(year, 7, 4)),
                    nth_weekday(year, 9, Mon, 1),
                    thanksgiving,
                    thanksgiving.and_then(|day| day.succ_opt()),
                    us_observed(date(year, 12, 25)),
                ]
                .into_iter()
                .flatten(),
            );
        }
        "UK" => {
            days.extend(
                [
                    easter_offset(year, -2),
                    easter_offset(year, 1),
                    nth_weekday(year, 5, Mon, 1),
                    last_weekday(year, 5, Mon),
                    last_weekday(year, 8, Mon),
                ]
                .into_iter()
                .flatten(),
            );
            substitute(&mut days, date(year, 1, 1));
            substitute(&mut days, date(year, 12, 25));
            substitute(&mut days, date(year, 12, 26));
        }
        "DE" => days.extend(
            [
                date(year, 1, 1),
                date(year, 3, 8), // Internationaler Frauentag (Berlin)
                easter_offset(year, -2),
                easter_offset(year, 1),
                date(year, 5, 1),
                easter_offset(year, 39),
                easter_offset(year, 50),
                date(year, 10, 3),
                date(year, 12, 25),
                date(year, 12, 26),
            ]
            .into_iter()
            .flatten(),
        ),
        "IN" => {
            days.extend(
                [
                    date(year, 1, 26),
                    date(year, 5, 1), // Karnataka
                    date(year, 8, 15),
                    date(year, 10, 2),
                    date(year, 11, 1), // Kannada Rajyotsava
                    date(year, 12, 25),
                ]
                .into_iter()
                .flatten(),
            );
            days.extend(
                INDIA_LUNAR
                    .iter()
                    .filter(|(y, _, _)| *y == year)
                    .filter_map(|&(y, m, d)| date(y, m, d)),
            );
        }
        _ => {
            // AU, New South Wales.
            days.extend(
                [
                    easter_offset(year, -2),
                    easter_offset(year, 1),
                    date(year, 4, 25),
                    nth_weekday(year, 6, Mon, 2),
                    nth_weekday(year, 10, Mon, 1),
                ]
                .into_iter()
                .flatten(),
            );
            substitute(&mut days, date(year, 1, 1));
            substitute(&mut days, date(year, 1, 26));
            substitute(&mut days, date(year, 12, 25));
            substitute(&mut days, date(year, 12, 26));
        }
    }
    days
}

/// Unix seconds of `day` 00:00 in `zone` (the earliest, should a zone ever
/// skip midnight).
pub(crate) fn local_midnight(zone: chrono_tz::Tz, day: NaiveDate) -> i64 {
    let naive = day.and_time(chrono::NaiveTime::MIN);
    zone.from_local_datetime(&naive)
        .earliest()
        .map_or_else(|| naive.and_utc().timestamp(), |at| at.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    #[test]
    fn easter_dates_match_known_years() {
        assert_eq!(easter_sunday(2025), Some(d("2025-04-20")));
        assert_eq!(easter_sunday(2026), Some(d("2026-04-05")));
        assert_eq!(easter_sunday(2027), Some(d("2027-03-28")));
    }

    #[test]
    fn default_period_has_holidays_in_every_region() {
        let start = d("2026-05-04");
        let holidays = Holidays::for_period(start, 6);
        let end = start + Days::new(41);
        for (region, name) in REGIONS.iter().enumerate() {
            let inside = holidays
                .of_region(region)
                .iter()
                .filter(|day| (start..=end).contains(day))
                .count();
            assert!(inside >= 2, "{name} has {inside} holidays in the period");
        }
        assert!(holidays.is_holiday(0, d("2026-05-25")), "US Memorial Day");
        assert!(
            holidays.is_holiday(1, d("2026-12-28")),
            "UK Boxing Day substitute"
        );
        assert!(
            holidays.is_holiday(4, d("2026-06-08")),
            "AU King's Birthday"
        );
    }
}
