//! Site outages (§1.5): engine-wide, not per employee. The latest record per outage id, and
//! per (site, week) how many active outages cover each weekday, so that an employee's
//! exempt days (§4.2) cost five counters whatever the number of outages.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::domain::{Day, Week};

/// At most this many outage ids are held (records beyond are dead-lettered `too_large`).
/// Real programs have a few outages per site and year; the bound keeps a hostile topic from
/// growing the table (each outage costs at most 53 weekly counters).
pub const MAX_OUTAGES: usize = 50_000;

/// One outage as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Outage {
    /// Site index.
    pub(super) site: u16,
    /// First day, inclusive.
    pub(super) start: Day,
    /// Last day, inclusive.
    pub(super) end: Day,
    /// Active (true) or cancelled.
    pub(super) active: bool,
}

/// Every known outage and the weekday coverage of the active ones.
#[derive(Debug, Clone, Default)]
pub(super) struct Outages {
    records: BTreeMap<Box<str>, Outage>,
    covered: FxHashMap<(u16, Week), [u16; 5]>,
}

impl Outages {
    /// Number of outage ids held.
    pub(super) fn len(&self) -> usize {
        self.records.len()
    }

    /// Every held record (active or cancelled), in id order.
    pub(super) fn records(&self) -> impl Iterator<Item = &Outage> {
        self.records.values()
    }

    /// Whether `id` is held.
    pub(super) fn contains(&self, id: &str) -> bool {
        self.records.contains_key(id)
    }

    /// Stores `outage` under `id`, replacing and returning the previous record.
    pub(super) fn upsert(&mut self, id: &str, outage: Outage) -> Option<Outage> {
        let old = self.records.insert(id.into(), outage);
        if let Some(old) = old.filter(|o| o.active) {
            self.cover(old, false);
        }
        if outage.active {
            self.cover(outage, true);
        }
        old
    }

    /// Forgets `id`, returning its record.
    pub(super) fn remove(&mut self, id: &str) -> Option<Outage> {
        let old = self.records.remove(id)?;
        if old.active {
            self.cover(old, false);
        }
        Some(old)
    }

    fn cover(&mut self, o: Outage, add: bool) {
        let mut day = o.start;
        while day <= o.end {
            let wd = day.weekday_index() as usize;
            if wd < 5 {
                let counts = self.covered.entry((o.site, day.week())).or_insert([0; 5]);
                counts[wd] = if add {
                    counts[wd].saturating_add(1)
                } else {
                    counts[wd].saturating_sub(1)
                };
                if !add && counts.iter().all(|&c| c == 0) {
                    self.covered.remove(&(o.site, day.week()));
                }
            }
            day = day.plus(1);
        }
    }

    /// Weekday bits (Monday = bit 0) of `week` inside an active outage of `site`.
    pub(super) fn bits(&self, site: u16, week: Week) -> u8 {
        self.covered.get(&(site, week)).map_or(0, |counts| {
            counts
                .iter()
                .enumerate()
                .filter(|(_, &c)| c > 0)
                .fold(0u8, |bits, (d, _)| bits | 1 << d)
        })
    }

    /// Approximate bytes held.
    pub(super) fn approx_bytes(&self) -> usize {
        self.records.keys().map(|k| k.len() + 48).sum::<usize>() + self.covered.capacity() * 24
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outage(start: i32, end: i32, active: bool) -> Outage {
        Outage {
            site: 0,
            start: Day(start),
            end: Day(end),
            active,
        }
    }

    #[test]
    fn overlapping_outages_cover_until_both_are_withdrawn() {
        // 2026-05-04 is a Monday: day 20_577.
        let monday = Day(20_577);
        let week = monday.week();
        let mut o = Outages::default();
        o.upsert("a", outage(monday.0, monday.0 + 2, true));
        o.upsert("b", outage(monday.0 + 2, monday.0 + 6, true));
        assert_eq!(o.bits(0, week), 0b1_1111);
        assert_eq!(o.bits(1, week), 0, "another site");
        o.upsert("a", outage(monday.0, monday.0 + 2, false));
        assert_eq!(
            o.bits(0, week),
            0b1_1100,
            "cancelled a; b still covers Wed-Fri"
        );
        o.remove("b");
        assert_eq!(o.bits(0, week), 0);
        assert_eq!(o.len(), 1, "the cancelled record is still held");
    }
}
