//! Attendance habits turned into office days and badge times.
//!
//! Once a week every employee plans which days they go in and where (home
//! site, or another site when travelling); each office day then yields an
//! `in` badge between about 07:30 and 10:00 local time (sometimes a double
//! badge), then the `out` badges of the visit's stay (`stays`).

use chrono::{Days, NaiveDate, NaiveTime, TimeZone};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::absences::AbsenceBook;
use super::calendar::local_midnight;
use super::calendar::Holidays;
use super::config::{FIELD_GROUP, SITES};
use super::people::{Employee, Habit};
use super::stays::{StayKind, Stays};
use super::timefmt::TimeStyle;

/// Direction of a badge, with how an `in` is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Direction {
    /// `"direction":"in"`.
    In,
    /// No `direction` field (means `in`).
    InImplicit,
    /// `"direction":null` (means `in`).
    InNull,
    /// `"direction":"out"`.
    Out,
}

/// One badge swipe, before it is numbered and scheduled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Swipe {
    /// Unix seconds.
    pub(crate) secs: i64,
    /// Sub-second part, representable in `style`.
    pub(crate) nanos: u32,
    /// Index into [`SITES`].
    pub(crate) site: u8,
    /// Direction.
    pub(crate) direction: Direction,
    /// How the timestamp is written.
    pub(crate) style: TimeStyle,
}

/// An employee's plan for one week.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct WeekPlan {
    /// Bit `d` set: in the office on Monday + `d` days.
    pub(crate) days: u8,
    /// Index into [`SITES`] for the week.
    pub(crate) site: u8,
}

/// Preference for each weekday, Monday to Friday (Tuesday–Thursday favoured).
const WEEKDAY_WEIGHTS: [u32; 5] = [7, 13, 13, 12, 5];

fn days_wanted(rng: &mut ChaCha8Rng, habit: Habit, week: u32) -> u32 {
    let steady = |rng: &mut ChaCha8Rng| match rng.random_range(0..10) {
        0 => 2,
        1 => 4,
        _ => 3,
    };
    let struggling = |rng: &mut ChaCha8Rng| match rng.random_range(0..20) {
        0..=2 => 0,
        3..=10 => 1,
        _ => 2,
    };
    match habit {
        Habit::AlwaysIn => {
            if rng.random_bool(0.6) {
                5
            } else {
                4
            }
        }
        Habit::Steady => steady(rng),
        Habit::TwoDays => match rng.random_range(0..10) {
            0 => 1,
            1 | 2 => 3,
            _ => 2,
        },
        Habit::Struggling => struggling(rng),
        Habit::Drifting { from_week } if week >= from_week => struggling(rng),
        Habit::Improving { from_week } if week < from_week => struggling(rng),
        Habit::Drifting { .. } | Habit::Improving { .. } => steady(rng),
        Habit::Remote => u32::from(rng.random_bool(0.04)),
    }
}

/// Plans week `week` (0-based, starting `monday`) for employee `index`.
pub(crate) fn plan_week(
    rng: &mut ChaCha8Rng,
    index: u32,
    person: &Employee,
    week: u32,
    monday: NaiveDate,
    holidays: &Holidays,
    absences: &AbsenceBook,
) -> WeekPlan {
    let mut site = person.home_site;
    let is_field = person.record.group == FIELD_GROUP;
    let travel_chance = match (is_field, person.traveller) {
        (true, _) => 0.5,
        (false, true) => 0.15,
        (false, false) => 0.01,
    };
    if rng.random_bool(travel_chance) {
        site = rng.random_range(0..SITES.len() as u8);
    }
    let home_region = SITES[usize::from(person.home_site)].region;
    let site_region = SITES[usize::from(site)].region;

    let mut wanted = days_wanted(rng, person.habit, week);
    let mut weights = [0u32; 5];
    for (offset, weight) in weights.iter_mut().enumerate() {
        let day = monday + Days::new(offset as u64);
        let holiday =
            holidays.is_holiday(home_region, day) || holidays.is_holiday(site_region, day);
        let possible = person.is_employed_on(day)
            && (!holiday || rng.random_bool(0.02))
            && (!absences.is_absent(index, day) || rng.random_bool(0.03));
        if possible {
            *weight = WEEKDAY_WEIGHTS[offset];
        }
    }
    let mut days = 0u8;
    while wanted > 0 {
        let total: u32 = weights.iter().sum();
        if total == 0 {
            break;
        }
        let mut draw = rng.random_range(0..total);
        for (offset, weight) in weights.iter_mut().enumerate() {
            if draw < *weight {
                days |= 1 << offset;
                *weight = 0;
                break;
            }
            draw -= *weight;
        }
        wanted -= 1;
    }
    let saturday_chance = if person.record.group == 2 {
        0.03
    } else {
        0.004
    };
    if rng.random_bool(saturday_chance) && person.is_employed_on(monday + Days::new(5)) {
        days |= 1 << 5;
    }
    WeekPlan { days, site }
}

fn pick_style(rng: &mut ChaCha8Rng) -> (TimeStyle, u32) {
    match rng.random_range(0..100) {
        0..=84 => (TimeStyle::SiteOffset, 0),
        85..=92 => (TimeStyle::Zulu, 0),
        93..=97 => (
            TimeStyle::SiteOffsetMillis,
            rng.random_range(0..1000) * 1_000_000,
        ),
        _ => (TimeStyle::ZuluMicros, rng.random_range(0..1_000_000) * 1000),
    }
}

fn in_direction(rng: &mut ChaCha8Rng) -> Direction {
    match rng.random_range(0..1000) {
        0..=29 => Direction::InImplicit,
        30..=34 => Direction::InNull,
        _ => Direction::In,
    }
}

/// The swipes of `person` (employee `index`) at `site` on local date `day`,
/// in time order; returns the kind of stay drawn. The arrival draws from
/// `rng` (attendance), everything after it from `stays`.
pub(crate) fn day_swipes(
    rng: &mut ChaCha8Rng,
    stays: &mut Stays,
    (index, person): (u32, &Employee),
    site: u8,
    day: NaiveDate,
    swipes: &mut Vec<Swipe>,
) -> StayKind {
    let zone = SITES[usize::from(site)].zone;
    // Triangular-ish jitter of about ±35 minutes around the usual arrival.
    let jitter: i32 = (0..3).map(|_| rng.random_range(-12..=12)).sum();
    let arrival_minute = (i32::from(person.arrival_minute) + jitter).clamp(6 * 60 + 45, 11 * 60);
    let arrival_second = arrival_minute as u32 * 60 + rng.random_range(0..60);
    let stay = stays.draw(index, person.day_minutes);
    let Some(time) = NaiveTime::from_num_seconds_from_midnight_opt(arrival_second, 0) else {
        return stay.kind;
    };
    // Arrivals are after 06:45, so never inside a DST gap; `earliest` covers
    // any zone rule change anyway.
    let Some(arrived) = zone.from_local_datetime(&day.and_time(time)).earliest() else {
        return stay.kind;
    };
    let arrived = arrived.timestamp();
    let push = |swipes: &mut Vec<Swipe>, rng: &mut ChaCha8Rng, secs: i64, direction| {
        let (style, nanos) = pick_style(rng);
        swipes.push(Swipe {
            secs,
            nanos,
            site,
            direction,
            style,
        });
    };
    let in_direction_now = in_direction(rng);
    push(swipes, rng, arrived, in_direction_now);
    if rng.random_bool(0.02) {
        // The reader did not beep: badged again a few seconds later.
        let again = arrived + rng.random_range(5..90);
        push(swipes, rng, again, Direction::In);
    }
    let stays_rng = &mut stays.rng;
    if let Some((lunch_out, lunch_in)) = stay.lunch {
        push(swipes, stays_rng, arrived + lunch_out, Direction::Out);
        let direction = in_direction(stays_rng);
        push(swipes, stays_rng, arrived + lunch_in, direction);
    }
    let out = match (stay.kind, stay.out) {
        (_, None) => return stay.kind,
        (StayKind::LateNight, Some(after_midnight)) => {
            local_midnight(zone, day + Days::new(1)) + after_midnight
        }
        // At least 5 minutes: after a double badge (at most 90 s) too.
        (_, Some(after_arrival)) => arrived + after_arrival,
    };
    push(swipes, stays_rng, out, Direction::Out);
    stay.kind
}
