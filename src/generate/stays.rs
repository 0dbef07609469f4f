//! How long an office visit lasts: when the `out` badge follows the `in`
//! (SPEC §1.1 `direction`, the presence of §3.7).
//!
//! Stays draw from their own stream of the seed, so that changing a share
//! here never moves who came in when. Per visit, for most employees:
//!
//! - **regular** (about 88% of visits): out 6 to 9 hours after arrival, around
//!   the employee's usual day; one in ten of these has a lunch break (an `out`
//!   and an `in` about four hours after arrival);
//! - **no out** (6%): the employee left without badging out (a tailgate, a
//!   door held open);
//! - **coffee** (2%): a "coffee badge", out 5 to 50 minutes after arrival;
//! - **late night** (2%): out between 00:05 and 02:30 local time on the next
//!   day, so the `out` falls on the next local date.
//!
//! Some employees are habitual coffee badgers ([`COFFEE_BADGER_SHARE`]): on
//! [`BADGER_COFFEE_SHARE`] of their visits they leave within the hour, the
//! rest of their visits follow the shares above. Over a company, about 3.5%
//! of visits are coffee badges.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::rng_stream;

/// Share of employees who are habitual coffee badgers.
pub(crate) const COFFEE_BADGER_SHARE: f64 = 0.04;
/// Share of a habitual coffee badger's visits that are coffee badges.
pub(crate) const BADGER_COFFEE_SHARE: f64 = 0.4;
/// Share of visits without an `out` badge.
pub(crate) const NO_OUT_SHARE: f64 = 0.06;
/// Share of visits that are coffee badges (besides the habitual badgers').
pub(crate) const COFFEE_SHARE: f64 = 0.02;
/// Share of visits that end after local midnight.
pub(crate) const LATE_NIGHT_SHARE: f64 = 0.02;
/// Share of regular visits with a lunch break (`out`, then `in` again).
pub(crate) const LUNCH_SHARE: f64 = 0.10;

/// Shortest and longest regular stay, minutes.
pub(crate) const REGULAR_MINUTES: (i64, i64) = (6 * 60, 9 * 60);
/// Shortest and longest coffee badge, minutes.
pub(crate) const COFFEE_MINUTES: (i64, i64) = (5, 50);
/// Earliest and latest late-night `out`, minutes after the next local midnight.
pub(crate) const LATE_NIGHT_OUT_MINUTES: (i64, i64) = (5, 150);

/// The kinds of stay, for the counts in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StayKind {
    /// Out 6 to 9 hours after arrival.
    Regular = 0,
    /// Out 5 to 50 minutes after arrival.
    Coffee = 1,
    /// Out after the next local midnight.
    LateNight = 2,
    /// No out at all.
    NoOut = 3,
}

/// Number of [`StayKind`]s.
pub(crate) const STAY_KINDS: usize = 4;

/// One drawn stay. Offsets are seconds after arrival, except a late-night
/// `out`, which is seconds after the next local midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stay {
    /// The kind.
    pub(crate) kind: StayKind,
    /// A lunch break: (`out`, `in`) seconds after arrival.
    pub(crate) lunch: Option<(i64, i64)>,
    /// When the final `out` is (see the struct's doc); `None` for no out.
    pub(crate) out: Option<i64>,
}

/// The stay stream of a run and who the habitual coffee badgers are.
#[derive(Debug)]
pub(crate) struct Stays {
    /// Draws of stays, and of how their badges are written.
    pub(crate) rng: ChaCha8Rng,
    badgers: Vec<bool>,
}

impl Stays {
    /// The stays of `employees` employees under `seed`.
    pub(crate) fn new(seed: u64, employees: usize) -> Stays {
        let mut rng = rng_stream(seed, 6);
        let badgers = (0..employees)
            .map(|_| rng.random_bool(COFFEE_BADGER_SHARE))
            .collect();
        Stays { rng, badgers }
    }

    /// Draws the stay of one visit of employee `index`, whose usual day
    /// lasts `day_minutes`.
    pub(crate) fn draw(&mut self, index: u32, day_minutes: u16) -> Stay {
        let rng = &mut self.rng;
        let badger = self.badgers.get(index as usize).copied().unwrap_or(false);
        let coffee = |rng: &mut ChaCha8Rng| Stay {
            kind: StayKind::Coffee,
            lunch: None,
            out: Some(rng.random_range(COFFEE_MINUTES.0 * 60..=COFFEE_MINUTES.1 * 60)),
        };
        if badger && rng.random_bool(BADGER_COFFEE_SHARE) {
            return coffee(rng);
        }
        let roll: f64 = rng.random();
        if roll < NO_OUT_SHARE {
            return Stay {
                kind: StayKind::NoOut,
                lunch: None,
                out: None,
            };
        }
        if roll < NO_OUT_SHARE + COFFEE_SHARE {
            return coffee(rng);
        }
        if roll < NO_OUT_SHARE + COFFEE_SHARE + LATE_NIGHT_SHARE {
            let (first, last) = LATE_NIGHT_OUT_MINUTES;
            return Stay {
                kind: StayKind::LateNight,
                lunch: None,
                out: Some(rng.random_range(first * 60..=last * 60)),
            };
        }
        // The usual day (7.5 to 9.5 h) shifted to 6.5 to 8.5 h, give or take
        // half an hour, within 6 to 9 h.
        let usual = (i64::from(day_minutes) - 60) * 60;
        let (shortest, longest) = (REGULAR_MINUTES.0 * 60, REGULAR_MINUTES.1 * 60);
        let stay = (usual + rng.random_range(-30 * 60..=30 * 60)).clamp(shortest, longest);
        let lunch = rng.random_bool(LUNCH_SHARE).then(|| {
            let out = rng.random_range(210 * 60..270 * 60);
            (out, out + rng.random_range(20 * 60..60 * 60))
        });
        Stay {
            kind: StayKind::Regular,
            lunch,
            out: Some(stay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_lengths_are_as_documented() {
        let mut stays = Stays::new(42, 1000);
        let mut kinds = [0u32; STAY_KINDS];
        let mut lunches = 0u32;
        let draws = 100_000u32;
        for draw in 0..draws {
            let stay = stays.draw(draw % 1000, 450 + (draw % 121) as u16);
            kinds[stay.kind as usize] += 1;
            let out = stay.out.unwrap_or(-1);
            match stay.kind {
                StayKind::Regular => {
                    assert!((6 * 3600..=9 * 3600).contains(&out), "{stay:?}");
                    if let Some((lunch_out, lunch_in)) = stay.lunch {
                        lunches += 1;
                        assert!(lunch_out < lunch_in && lunch_in < out, "{stay:?}");
                    }
                }
                StayKind::Coffee => assert!((300..=3000).contains(&out), "{stay:?}"),
                StayKind::LateNight => assert!((300..=9000).contains(&out), "{stay:?}"),
                StayKind::NoOut => assert_eq!(stay.out, None),
            }
        }
        let share = |kind: StayKind| f64::from(kinds[kind as usize]) / f64::from(draws);
        assert!(
            (0.85..0.91).contains(&share(StayKind::Regular)),
            "{kinds:?}"
        );
        assert!((0.02..0.06).contains(&share(StayKind::Coffee)), "{kinds:?}");
        assert!((0.015..0.025).contains(&share(StayKind::LateNight)));
        assert!((0.05..0.07).contains(&share(StayKind::NoOut)));
        let lunch_share = f64::from(lunches) / f64::from(kinds[0]);
        assert!((0.08..0.12).contains(&lunch_share), "{lunch_share}");
    }

    #[test]
    fn habitual_badgers_coffee_badge_far_more_often() {
        let mut stays = Stays::new(7, 2000);
        let badger = stays.badgers.iter().position(|is| *is);
        let regular = stays.badgers.iter().position(|is| !*is);
        let (Some(badger), Some(regular)) = (badger, regular) else {
            panic!("2000 employees hold both kinds");
        };
        let mut coffee = [0u32; 2];
        for _ in 0..4000 {
            for (slot, index) in [badger, regular].into_iter().enumerate() {
                let kind = stays.draw(index as u32, 500).kind;
                coffee[slot] += u32::from(kind == StayKind::Coffee);
            }
        }
        assert!(coffee[0] > 1500 && coffee[1] < 150, "{coffee:?}");
    }
}
