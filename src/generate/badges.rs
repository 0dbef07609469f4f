//! Streams `badges.jsonl` (SPEC §1.1): every office visit of every employee
//! (its `in`, then the `out` badges of its stay), day by day, written in the
//! order a badge feed would deliver them. A visit on a day that a standing
//! outage of its site or a standing credit of its employee covers is drawn
//! but not written: the readers did not register it.
//!
//! Each badge gets a *release* instant — when it reaches the feed — and the
//! file is in release order. On-time badges are released at their own
//! timestamp, so the file is in timestamp order across employees and sites.
//! A delayed badge is released later (hours; after its week closed; or about
//! five weeks later, after its week has left the correction window, so that
//! replay dead-letters it `too_late`), and a
//! duplicate is the same line released again a few minutes later.
//!
//! Memory stays bounded: a min-heap holds only badges not yet released. After
//! local date D is generated for every site, no badge still to be generated
//! can be released before D+1 00:00 at UTC+14, so everything released
//! earlier is written out. The heap holds about two days of badges plus the
//! few delayed ones.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fmt::Write as _;
use std::io::Write;

use chrono::{Datelike, Days, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::absences::AbsenceBook;
use super::adjustments::CreditBook;
use super::bad::{bad_line, BadKind, Base, MAX_TOO_LARGE_LINES, REASONS, SCHEDULE, TOO_LATE};
use super::calendar::{local_midnight, Holidays};
use super::config::SITES;
use super::outages::OutageBook;
use super::output::LineSink;
use super::people::{employee_id, Employee};
use super::plan::{day_swipes, plan_week, Direction, Swipe, WeekPlan};
use super::stays::{Stays, STAY_KINDS};
use super::timefmt::push_rfc3339;
use super::{rng_stream, GenerateError, GenerateOptions};

const DAY: i64 = 86_400;

/// Counts of what [`write_badges`] wrote.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct BadgeCounts {
    /// Well-formed badge lines (including delayed ones and duplicate copies).
    pub(crate) lines: u64,
    /// Distinct badge events (well-formed lines minus duplicate copies).
    pub(crate) events: u64,
    /// Lines written after their release was delayed (including too-late ones).
    pub(crate) late: u64,
    /// Lines that replay must dead-letter as `too_late` (with their copies).
    pub(crate) too_late: u64,
    /// Duplicate copies.
    pub(crate) duplicates: u64,
    /// Bad lines.
    pub(crate) bad_lines: u64,
    /// Well-formed `out` lines (including delayed ones and duplicate copies).
    pub(crate) out_lines: u64,
    /// Recorded office visits per [`StayKind`] (lunch breaks do not count).
    pub(crate) stays: [u64; STAY_KINDS],
    /// Visits left out because a standing outage or credit covers their day.
    pub(crate) unrecorded_visits: u64,
    /// Expected dead letters per reason, indexed like [`REASONS`].
    pub(crate) reasons: [u64; REASONS.len()],
}

/// A numbered badge waiting in the heap for its release instant.
#[derive(Debug, Clone, Copy)]
struct Pending {
    release: i64,
    seq: u64,
    event: u64,
    employee: u32,
    swipe: Swipe,
    late: bool,
    too_late: bool,
    duplicate: bool,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    /// Reversed, so that `BinaryHeap` pops the earliest release first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.release, other.seq).cmp(&(self.release, self.seq))
    }
}

/// When the ISO week holding local date `day` closes for an employee of
/// `home` zone: the next Monday 00:00 there plus the default allowed lateness.
fn week_close(home: chrono_tz::Tz, day: NaiveDate) -> i64 {
    let next_monday = day + Days::new(7 - u64::from(day.weekday().num_days_from_monday()));
    local_midnight(home, next_monday) + DAY
}

struct Scheduler<'a, W: Write> {
    opts: &'a GenerateOptions,
    people: &'a [Employee],
    delivery: ChaCha8Rng,
    bad: ChaCha8Rng,
    heap: BinaryHeap<Pending>,
    seq: u64,
    next_event: u64,
    /// Latest release for a `too_late` badge: on-time badges must follow it
    /// in the file, or the watermark would not have passed its window.
    too_late_cutoff: i64,
    now_secs: i64,
    sink: &'a mut LineSink<W>,
    line: String,
    bad_text: String,
    /// Bad lines owed so far (fractional), see [`Scheduler::write`].
    bad_credit: f64,
    counts: BadgeCounts,
}

impl<W: Write> Scheduler<'_, W> {
    fn schedule(&mut self, employee: u32, swipe: Swipe, day: NaiveDate) {
        self.seq += 1;
        self.next_event += 1;
        let late_roll: f64 = self.delivery.random();
        let class_roll: f64 = self.delivery.random();
        let duplicate_roll: f64 = self.delivery.random();
        let mut pending = Pending {
            release: swipe.secs,
            seq: self.seq,
            event: self.next_event,
            employee,
            swipe,
            late: false,
            too_late: false,
            duplicate: false,
        };
        if late_roll < self.opts.late_fraction {
            pending.late = true;
            let home = SITES[usize::from(self.people[employee as usize].home_site)].zone;
            // One to three days after week W+4 has closed, W being the badge's
            // week: W has then left the correction window (4 weeks), and the
            // day of margin covers the watermark trailing the feed.
            let too_late_release =
                week_close(home, day + Days::new(28)) + self.delivery.random_range(DAY..3 * DAY);
            if class_roll < 0.08 && too_late_release <= self.too_late_cutoff {
                pending.release = too_late_release;
                pending.too_late = true;
            } else if class_roll < 0.40 {
                pending.release =
                    week_close(home, day) + self.delivery.random_range(2 * 3600..40 * 3600);
            } else {
                pending.release = swipe.secs + self.delivery.random_range(3600..6 * 3600);
            }
        }
        self.heap.push(pending);
        if duplicate_roll < self.opts.duplicate_fraction {
            self.seq += 1;
            let mut copy = pending;
            copy.seq = self.seq;
            copy.release += self.delivery.random_range(5..600);
            copy.duplicate = true;
            self.heap.push(copy);
        }
    }

    /// Writes every badge released before `until`.
    fn release_until(&mut self, until: i64) -> Result<(), GenerateError> {
        while self
            .heap
            .peek()
            .is_some_and(|pending| pending.release < until)
        {
            if let Some(pending) = self.heap.pop() {
                self.write(&pending)?;
            }
        }
        Ok(())
    }

    fn write(&mut self, pending: &Pending) -> Result<(), GenerateError> {
        let swipe = &pending.swipe;
        let site = SITES[usize::from(swipe.site)];
        self.line.clear();
        let _ = write!(
            self.line,
            "{{\"event_id\":\"b-{}\",\"employee_id\":\"{}\",\"site_id\":\"{}\",\"timestamp\":\"",
            pending.event,
            employee_id(pending.employee),
            site.id
        );
        push_rfc3339(
            &mut self.line,
            swipe.secs,
            swipe.nanos,
            site.zone,
            swipe.style,
        );
        self.line.push('"');
        match swipe.direction {
            Direction::In => self.line.push_str(",\"direction\":\"in\""),
            Direction::Out => self.line.push_str(",\"direction\":\"out\""),
            Direction::InNull => self.line.push_str(",\"direction\":null"),
            Direction::InImplicit => {}
        }
        self.line.push('}');
        self.sink.write_line(&self.line)?;
        let counts = &mut self.counts;
        counts.lines += 1;
        counts.out_lines += u64::from(swipe.direction == Direction::Out);
        counts.events += u64::from(!pending.duplicate);
        counts.duplicates += u64::from(pending.duplicate);
        counts.late += u64::from(pending.late);
        counts.too_late += u64::from(pending.too_late);
        counts.reasons[TOO_LATE] += u64::from(pending.too_late);

        // Bad lines follow regular ones at bad_fraction of the regular rate,
        // with a random spacing (credit grows by 0..2 x the fraction).
        self.bad_credit += self.opts.bad_fraction * self.bad.random_range(0.0..2.0);
        if self.bad_credit >= 1.0 {
            self.bad_credit -= 1.0;
            let line = std::mem::take(&mut self.line);
            let base = Base {
                line: &line,
                employee: pending.employee,
                site: swipe.site,
                secs: swipe.secs,
            };
            let written = self.write_bad(base);
            self.line = line;
            written?;
        }
        Ok(())
    }

    fn write_bad(&mut self, base: Base<'_>) -> Result<(), GenerateError> {
        let mut kind = SCHEDULE[(self.counts.bad_lines % SCHEDULE.len() as u64) as usize];
        if kind == BadKind::TooLarge && self.counts.reasons[0] >= MAX_TOO_LARGE_LINES {
            kind = BadKind::Truncated;
        }
        self.write_bad_kind(kind, base)
    }

    fn write_bad_kind(&mut self, kind: BadKind, base: Base<'_>) -> Result<(), GenerateError> {
        let number = self.counts.bad_lines + 1;
        bad_line(
            &mut self.bad,
            kind,
            base,
            number,
            self.now_secs,
            &mut self.bad_text,
        );
        self.sink.write_line(&self.bad_text)?;
        self.counts.bad_lines += 1;
        self.counts.reasons[kind.reason()] += 1;
        Ok(())
    }

    /// With a positive bad fraction, makes sure every bad kind occurs at
    /// least once, even in a small file.
    fn write_missing_kinds(&mut self) -> Result<(), GenerateError> {
        if self.opts.bad_fraction <= 0.0 || self.counts.lines == 0 {
            return Ok(());
        }
        let base_line = self.line.clone();
        let (employee, site, secs) = (0, 0, self.now_secs - 2 * DAY);
        let base = Base {
            line: &base_line,
            employee,
            site,
            secs,
        };
        let written = self.counts.bad_lines;
        for (position, kind) in SCHEDULE.iter().enumerate() {
            // Kinds are used in schedule order, so a kind whose first slot
            // is at or after `written` has not occurred yet.
            let first = SCHEDULE.iter().position(|other| other == kind) == Some(position);
            if first && written <= position as u64 {
                self.write_bad_kind(*kind, base)?;
            }
        }
        Ok(())
    }
}

/// Everything the badge feed is drawn from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Company<'a> {
    /// The run's options.
    pub(crate) opts: &'a GenerateOptions,
    /// The workforce.
    pub(crate) people: &'a [Employee],
    /// Holidays per region.
    pub(crate) holidays: &'a Holidays,
    /// Standing absences.
    pub(crate) absences: &'a AbsenceBook,
    /// Standing outages: no badge at their site on their days.
    pub(crate) outages: &'a OutageBook,
    /// Standing credits: no badge of their employee on their day.
    pub(crate) credits: &'a CreditBook,
    /// The suggested `--now` (Unix seconds), for `future_timestamp` lines.
    pub(crate) now_secs: i64,
}

/// Generates and writes every badge; returns what was written. Attendance,
/// delivery faults and bad lines draw from separate streams of the seed.
pub(crate) fn write_badges<W: Write>(
    company: Company<'_>,
    sink: &mut LineSink<W>,
) -> Result<BadgeCounts, GenerateError> {
    let Company {
        opts,
        people,
        holidays,
        absences,
        outages,
        credits,
        now_secs,
    } = company;
    let mut attendance = rng_stream(opts.seed, 3);
    let mut stays = Stays::new(opts.seed, people.len());
    let period_end = opts.start_monday + Days::new(u64::from(opts.weeks) * 7);
    let mut scheduler = Scheduler {
        opts,
        people,
        delivery: rng_stream(opts.seed, 4),
        bad: rng_stream(opts.seed, 5),
        heap: BinaryHeap::new(),
        seq: 0,
        next_event: 0,
        // Friday 00:00 UTC of the last week: on-time badges still follow.
        too_late_cutoff: local_midnight(chrono_tz::UTC, period_end) - 3 * DAY,
        now_secs,
        sink,
        line: String::with_capacity(256),
        bad_text: String::with_capacity(256),
        bad_credit: 0.0,
        counts: BadgeCounts::default(),
    };
    let mut plans = vec![WeekPlan::default(); people.len()];
    let mut swipes = Vec::new();
    for week in 0..opts.weeks {
        let monday = opts.start_monday + Days::new(u64::from(week) * 7);
        for (index, person) in people.iter().enumerate() {
            plans[index] = plan_week(
                &mut attendance,
                index as u32,
                person,
                week,
                monday,
                holidays,
                absences,
            );
        }
        for weekday in 0..7u8 {
            let day = monday + Days::new(u64::from(weekday));
            for (index, person) in people.iter().enumerate() {
                let plan = plans[index];
                if plan.days & (1 << weekday) == 0 {
                    continue;
                }
                swipes.clear();
                let who = (index as u32, person);
                let stay = day_swipes(
                    &mut attendance,
                    &mut stays,
                    who,
                    plan.site,
                    day,
                    &mut swipes,
                );
                // Drawn all the same, so that the other visits do not move.
                if outages.is_down(plan.site, day) || credits.is_credited(index as u32, day) {
                    scheduler.counts.unrecorded_visits += 1;
                    continue;
                }
                scheduler.counts.stays[stay as usize] += 1;
                for swipe in &swipes {
                    scheduler.schedule(index as u32, *swipe, day);
                }
            }
            // No badge of a later local date can be released before this.
            let next_day = local_midnight(chrono_tz::UTC, day + Days::new(1)) - 14 * 3600;
            scheduler.release_until(next_day)?;
        }
    }
    scheduler.release_until(i64::MAX)?;
    scheduler.write_missing_kinds()?;
    Ok(scheduler.counts)
}
