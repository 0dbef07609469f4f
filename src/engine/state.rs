//! Per-employee state, kept compact (§8): office days as 7 bits per week, absences as date
//! ranges, and per closed week only what corrections, streaks and alerts need (status,
//! streak, revision, a fingerprint of the decision's content). No raw badge timestamps.

use crate::domain::{AdjustmentAction, Day, Status, Week};

mod index;
mod recent;

pub use index::EmployeeHint;
pub(super) use index::EmployeeIndex;
pub(super) use recent::{Entry, Recent};

/// An interned string (manager, VP, org, policy group, absence kind).
pub(super) type Sym = u32;

/// Interns the low-cardinality strings of the roster so each employee stores 4-byte symbols.
/// Each string is held once, in `strings`, inline up to 24 bytes (manager and org names
/// usually are): turning a symbol into text is then one load of a 24-byte entry, where a
/// boxed string was two dependent loads (the pointer, then the bytes) and a cache miss each
/// for a manager's name in a week close. The index stores only symbols, hashed by the text
/// they point to, so no string is held twice.
#[derive(Debug, Default, Clone)]
pub(super) struct Interner {
    strings: Vec<compact_str::CompactString>,
    index: hashbrown::HashTable<Sym>,
    bytes: usize,
}

impl Interner {
    /// The symbol of `s`, interning it when new.
    pub(super) fn intern(&mut self, s: &str) -> Sym {
        let strings = &self.strings;
        let hash = hash_text(s);
        if let Some(&sym) = self.index.find(hash, |&k| strings[k as usize] == s) {
            return sym;
        }
        let sym = self.strings.len() as Sym;
        let text = compact_str::CompactString::new(s);
        // The entry, its heap block when longer than 24 bytes, and the index's slot.
        self.bytes += std::mem::size_of_val(&text)
            + if text.is_heap_allocated() { s.len() } else { 0 }
            + std::mem::size_of::<Sym>()
            + 1;
        self.strings.push(text);
        let strings = &self.strings;
        self.index
            .insert_unique(hash, sym, |&k| hash_text(&strings[k as usize]));
        sym
    }

    /// Approximate bytes held (what compaction is triggered on).
    pub(super) fn approx_bytes(&self) -> usize {
        self.bytes
    }

    /// The string of `sym`.
    pub(super) fn get(&self, sym: Sym) -> &str {
        self.strings.get(sym as usize).map_or("", |s| s)
    }

    /// The string of `sym` as an output's copy (inline up to 24 bytes: no allocation).
    pub(super) fn owned(&self, sym: Sym) -> compact_str::CompactString {
        self.strings.get(sym as usize).cloned().unwrap_or_default()
    }

    /// Starts loading the entry of `sym` (a sweep's hint, [`prefetch_heap`]).
    fn prefetch(&self, sym: Sym) {
        if let Some(entry) = self.strings.get(sym as usize) {
            prefetch(std::ptr::from_ref(entry).cast());
        }
    }
}

/// The hash of an interned string or an employee id.
fn hash_text(text: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(text)
}

/// The roster facts of an employee, interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Roster {
    /// Manager, when there is one.
    pub(super) manager: Option<Sym>,
    /// VP, when there is one.
    pub(super) vp: Option<Sym>,
    /// Organisation.
    pub(super) org: Sym,
    /// Policy group (the string is in the interner).
    pub(super) group: Sym,
    /// The group's index in the rules (`None`: no policy names this group).
    pub(super) group_rule: Option<u16>,
    /// Home site index.
    pub(super) home_site: u16,
    /// Home zone index (of the home site).
    pub(super) zone: u16,
    /// Region index (of the home site).
    pub(super) region: u16,
    /// Hire date, local.
    pub(super) hire: Option<Day>,
    /// `status == active`.
    pub(super) active: bool,
    /// Approved for remote work.
    pub(super) remote: bool,
}

/// An absence as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Absence {
    /// Its id.
    pub(super) id: Box<str>,
    /// First day, inclusive.
    pub(super) start: Day,
    /// Last day, inclusive.
    pub(super) end: Day,
    /// Its kind, interned.
    pub(super) kind: Option<Sym>,
    /// Approved (true) or cancelled.
    pub(super) approved: bool,
}

/// An attendance adjustment as stored (§1.6): no reason, requester or approver — the engine
/// needs none of them and §8 keeps the reason out of state it does not need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Adjustment {
    /// Its id (unique per employee).
    pub(super) id: Box<str>,
    /// The local date it concerns.
    pub(super) day: Day,
    /// Credit or excuse.
    pub(super) action: AdjustmentAction,
    /// Approved (true) or cancelled.
    pub(super) approved: bool,
}

/// Presence evidence of one local date (§3.7): the first `in` and the latest `out` instant
/// whose site-local date it is, in whole seconds. Only kept when a policy has
/// `min_presence`. 8 bytes, packed in one `u64` (the layout is in docs/ARCHITECTURE.md):
///
/// - bits 38–63: the date, days since 1970-01-01 plus [`DAY_BIAS`];
/// - bits 19–37: the earliest `in`, seconds after the date's 00:00 UTC plus [`OFFSET_BIAS`],
///   or [`NONE`];
/// - bits 0–18: the latest `out` (whether or not after the `in`), the same way.
///
/// A site-local date's instants lie within a day and a half of its 00:00 UTC, well inside
/// the offsets that fit (two days before to four days after); the dates that fit span
/// ±91,000 years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Presence(u64);

/// Bits of one instant's offset.
const OFFSET_BITS: u32 = 19;
/// The offset field's "no instant" value (all ones; offsets stay below it).
const NONE: u64 = (1 << OFFSET_BITS) - 1;
/// Added to an offset (seconds after the date's 00:00 UTC) so that it is stored unsigned.
const OFFSET_BIAS: i64 = 2 * 86_400;
/// Bits of the date.
const DAY_BITS: u32 = 64 - 2 * OFFSET_BITS;
/// Added to a date (days since 1970-01-01) so that it is stored unsigned.
const DAY_BIAS: i64 = 1 << (DAY_BITS - 1);

impl Presence {
    fn origin(day: Day) -> i64 {
        i64::from(day.0) * 86_400
    }

    /// The offset field of instant `t` (Unix seconds) on `day`, when it fits.
    fn encode(day: Day, t: i64) -> Option<u64> {
        let biased = t.checked_sub(Self::origin(day))?.checked_add(OFFSET_BIAS)?;
        u64::try_from(biased).ok().filter(|v| *v < NONE)
    }

    /// No instant yet for `day`; `None` when the date does not fit.
    fn empty(day: Day) -> Option<Self> {
        let biased = u64::try_from(i64::from(day.0) + DAY_BIAS)
            .ok()
            // The last date is left out: its encoding with no instants is `VACANT`.
            .filter(|v| *v < (1 << DAY_BITS) - 1)?;
        Some(Self(
            biased << (2 * OFFSET_BITS) | NONE << OFFSET_BITS | NONE,
        ))
    }

    /// Evidence of `day` from absolute instants (Unix seconds); `None` when the date or an
    /// instant does not fit (no badge of that date can be that far from it).
    pub(super) fn new(day: Day, first_in: Option<i64>, latest_out: Option<i64>) -> Option<Self> {
        let mut p = Self::empty(day)?;
        if let Some(t) = first_in {
            p.set_in(Self::encode(day, t)?);
        }
        if let Some(t) = latest_out {
            p.set_out(Self::encode(day, t)?);
        }
        Some(p)
    }

    /// The local date.
    pub(super) fn day(&self) -> Day {
        Day((((self.0 >> (2 * OFFSET_BITS)) as i64) - DAY_BIAS) as i32)
    }

    fn in_field(&self) -> u64 {
        (self.0 >> OFFSET_BITS) & NONE
    }

    fn out_field(&self) -> u64 {
        self.0 & NONE
    }

    fn set_in(&mut self, field: u64) {
        self.0 = (self.0 & !(NONE << OFFSET_BITS)) | field << OFFSET_BITS;
    }

    fn set_out(&mut self, field: u64) {
        self.0 = (self.0 & !NONE) | field;
    }

    fn instant(&self, field: u64) -> Option<i64> {
        (field != NONE).then(|| Self::origin(self.day()) + field as i64 - OFFSET_BIAS)
    }

    /// The earliest `in`, Unix seconds.
    pub(super) fn first_in(&self) -> Option<i64> {
        self.instant(self.in_field())
    }

    /// The latest `out`, Unix seconds.
    pub(super) fn latest_out(&self) -> Option<i64> {
        self.instant(self.out_field())
    }

    /// `last_out(D) − first_in(D)` in seconds when `last_out(D)` exists (§3.7).
    pub(super) fn span(&self) -> Option<i64> {
        let (first_in, latest_out) = (self.in_field(), self.out_field());
        (first_in != NONE && latest_out != NONE && latest_out > first_in)
            .then(|| latest_out as i64 - first_in as i64)
    }
}

impl Entry for Presence {
    type Key = Day;
    /// All ones: the date after the last that fits, with no instants.
    const VACANT: Self = Self(u64::MAX);
    fn key(&self) -> Day {
        self.day()
    }
}

/// Office-day bits of one week: bit d set when day d (Monday = 0) is an office day.
pub(super) type OfficeWeek = (Week, u8);

impl Entry for OfficeWeek {
    type Key = Week;
    /// No real week has no office day.
    const VACANT: Self = (Week(i32::MIN), 0);
    fn key(&self) -> Week {
        self.0
    }
}

/// What is remembered of one emitted decision, in 16 bytes: the 64-bit fingerprint of its
/// content (§6: a change means a re-emit) and, packed in one `u64`, its week, status, streak,
/// revision and whether its alert stands. The widths hold every value the engine can reach:
///
/// | bits | field | range |
/// |---|---|---|
/// | 0–23 | week, two's complement | ±8.3M weeks; years 0000–9999 span ~522k |
/// | 24–25 | status | compliant, non_compliant, exempt |
/// | 26 | a non_compliant alert for this week stands (not retracted) | |
/// | 27–47 | streak (§4.4) | up to [`MAX_STREAK`] |
/// | 48–63 | revision, saturating | 65,535 corrections of one week is far beyond any input |
///
/// A streak counts closed weeks in a row, so it stays below the ~522k weeks of years
/// 0000–9999 that badges can carry; a restored snapshot holding more is refused as corrupt.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct DecisionRecord {
    packed: u64,
    fingerprint: u64,
}

/// A status's code, in a [`DecisionRecord`] and in the changelog's snapshots.
pub(super) fn status_code(status: Status) -> u8 {
    match status {
        Status::Compliant => 0,
        Status::NonCompliant => 1,
        Status::Exempt => 2,
    }
}

/// The status of `code` ([`status_code`]); `None` for a code no status has.
pub(super) fn status_of_code(code: u8) -> Option<Status> {
    match code {
        0 => Some(Status::Compliant),
        1 => Some(Status::NonCompliant),
        2 => Some(Status::Exempt),
        _ => None,
    }
}

/// The greatest streak a [`DecisionRecord`] holds (21 bits).
pub(super) const MAX_STREAK: u32 = (1 << 21) - 1;

impl DecisionRecord {
    const STATUS_SHIFT: u32 = 24;
    const ALERTED_BIT: u64 = 1 << 26;
    const STREAK_SHIFT: u32 = 27;
    const REVISION_SHIFT: u32 = 48;

    /// A record; a streak over [`MAX_STREAK`] is held as [`MAX_STREAK`] (unreachable: see the
    /// type's doc).
    pub(super) fn new(
        week: Week,
        status: Status,
        streak: u32,
        revision: u16,
        fingerprint: u64,
        alerted: bool,
    ) -> Self {
        debug_assert!(
            (-(1 << 23)..1 << 23).contains(&week.0),
            "{week:?} over 24 bits"
        );
        let packed = u64::from(week.0 as u32 & 0x00ff_ffff)
            | u64::from(status_code(status)) << Self::STATUS_SHIFT
            | if alerted { Self::ALERTED_BIT } else { 0 }
            | u64::from(streak.min(MAX_STREAK)) << Self::STREAK_SHIFT
            | u64::from(revision) << Self::REVISION_SHIFT;
        Self {
            packed,
            fingerprint,
        }
    }

    /// The week decided.
    pub(super) fn week(self) -> Week {
        // Sign-extends the low 24 bits.
        Week(((self.packed as u32) << 8) as i32 >> 8)
    }

    /// Its status.
    pub(super) fn status(self) -> Status {
        // `new` writes only codes of statuses.
        status_of_code((self.packed >> Self::STATUS_SHIFT) as u8 & 3).unwrap_or(Status::Exempt)
    }

    /// A non_compliant alert for this week stands (not retracted).
    pub(super) fn alerted(self) -> bool {
        self.packed & Self::ALERTED_BIT != 0
    }

    /// Its streak (§4.4).
    pub(super) fn streak(self) -> u32 {
        (self.packed >> Self::STREAK_SHIFT) as u32 & MAX_STREAK
    }

    /// Its revision.
    pub(super) fn revision(self) -> u16 {
        (self.packed >> Self::REVISION_SHIFT) as u16
    }

    /// Fingerprint of the decision's content.
    pub(super) fn fingerprint(self) -> u64 {
        self.fingerprint
    }
}

impl std::fmt::Debug for DecisionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionRecord")
            .field("week", &self.week())
            .field("status", &self.status())
            .field("streak", &self.streak())
            .field("revision", &self.revision())
            .field("fingerprint", &self.fingerprint)
            .field("alerted", &self.alerted())
            .finish()
    }
}

/// One employee's state.
#[derive(Debug, Default)]
pub(super) struct Employee {
    /// The employee id (inline up to 24 bytes).
    pub(super) id: compact_str::CompactString,
    /// Roster facts; `None` while the employee is not (yet) in the roster.
    pub(super) roster: Option<Roster>,
    /// Office days per week (the latest week inline).
    pub(super) office: Recent<OfficeWeek>,
    /// Absences, in arrival order.
    pub(super) absences: Box<[Absence]>,
    /// Adjustments (§1.6), in arrival order.
    pub(super) adjustments: Box<[Adjustment]>,
    /// Presence evidence per local date (§3.7; empty unless a policy has `min_presence`;
    /// the latest date inline).
    pub(super) presence: Recent<Presence>,
    /// Decisions of closed weeks still within retention, sorted by week.
    pub(super) decisions: Vec<DecisionRecord>,
    /// Streak of the latest decision already forgotten.
    pub(super) carried_streak: u32,
    /// Status of the latest closed, evaluated week.
    pub(super) current: Option<Status>,
    /// The latest week closed for this employee.
    pub(super) last_closed: Option<Week>,
    /// The latest week an at-risk alert was raised for.
    pub(super) at_risk_week: Option<Week>,
    /// Changed since the last changelog flush.
    pub(super) dirty: bool,
}

/// An employee's office weeks and presence dates read in increasing order (see
/// [`Employee::lookup_from`]).
#[derive(Debug, Clone)]
pub(super) struct Lookup<'a> {
    office: recent::Cursor<'a, OfficeWeek>,
    presence: recent::Cursor<'a, Presence>,
}

impl Lookup<'_> {
    /// Office-day bits of `week` (weeks asked in increasing order).
    pub(super) fn office_bits(&mut self, week: Week) -> u8 {
        self.office.get(week).map_or(0, |(_, bits)| *bits)
    }

    /// Presence evidence of `day` (dates asked in increasing order).
    pub(super) fn presence_on(&mut self, day: Day) -> Option<Presence> {
        self.presence.get(day).copied()
    }
}

/// A copy with the same spare capacity in every list, so that a copy behaves as the
/// original would: the benchmarks close weeks on copies of a loaded engine, and a derived
/// clone (capacity = length) would make every first push after it reallocate, which a
/// running engine, with its slack, does not (BENCHMARKS.md, issue 12).
impl Clone for Employee {
    fn clone(&self) -> Self {
        Self {
            id: self.id.clone(),
            roster: self.roster,
            office: self.office.clone(),
            absences: self.absences.clone(),
            adjustments: self.adjustments.clone(),
            presence: self.presence.clone(),
            decisions: recent::clone_with_capacity(&self.decisions),
            carried_streak: self.carried_streak,
            current: self.current,
            last_closed: self.last_closed,
            at_risk_week: self.at_risk_week,
            dirty: self.dirty,
        }
    }
}

impl Employee {
    /// A new, empty employee.
    pub(super) fn new(id: &str) -> Self {
        Self {
            id: id.into(),
            ..Self::default()
        }
    }

    /// Cursors over the office weeks and presence dates from `week` on, for lookups of
    /// weeks (and their dates) in increasing order.
    pub(super) fn lookup_from(&self, week: Week) -> Lookup<'_> {
        Lookup {
            office: self.office.cursor_from(week),
            presence: self.presence.cursor_from(week.monday()),
        }
    }

    /// Marks `day` as an office day; returns whether it was new.
    pub(super) fn add_office_day(&mut self, day: Day) -> bool {
        let week = day.week();
        let bit = 1u8 << day.weekday_index();
        let entry = self.office.get_or_insert(week, || (week, 0));
        let was = entry.1;
        entry.1 |= bit;
        was & bit == 0
    }

    /// Records a badge's instant (whole seconds) as presence evidence of its site-local
    /// `day`; returns whether the evidence changed.
    pub(super) fn record_presence(&mut self, day: Day, secs: i64, is_in: bool) -> bool {
        let (Some(field), Some(empty)) = (Presence::encode(day, secs), Presence::empty(day)) else {
            return false;
        };
        let p = self.presence.get_or_insert(day, || empty);
        // NONE is above every offset: the first `in` always lowers it.
        if is_in && field < p.in_field() {
            p.set_in(field);
            true
        } else if !is_in && (p.out_field() == NONE || field > p.out_field()) {
            p.set_out(field);
            true
        } else {
            false
        }
    }

    /// The presence evidence of `day`, if any.
    pub(super) fn presence_on(&self, day: Day) -> Option<&Presence> {
        self.presence.get(day)
    }

    /// Day bits (Monday = bit 0, all seven days) of `week` named by approved adjustments
    /// with `action`.
    pub(super) fn adjustment_bits(&self, week: Week, action: AdjustmentAction) -> u8 {
        let monday = week.monday();
        self.adjustments
            .iter()
            .filter(|a| a.approved && a.action == action)
            .filter(|a| a.day >= monday && a.day <= week.sunday())
            .fold(0, |bits, a| bits | 1 << (a.day.0 - monday.0))
    }

    /// Ids of the approved adjustments dated in `week`, in byte order (§6 `adjustments`).
    pub(super) fn adjustment_ids(&self, week: Week) -> Vec<Box<str>> {
        let (monday, sunday) = (week.monday(), week.sunday());
        let mut ids: Vec<Box<str>> = self
            .adjustments
            .iter()
            .filter(|a| a.approved && a.day >= monday && a.day <= sunday)
            .map(|a| a.id.clone())
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Approved-absence weekday bits of `week` (Monday = bit 0, weekdays only).
    pub(super) fn absence_bits(&self, week: Week) -> u8 {
        let monday = week.monday();
        let mut bits = 0u8;
        for a in self.absences.iter().filter(|a| a.approved) {
            for d in 0..5 {
                let day = monday.plus(d);
                if a.start <= day && day <= a.end {
                    bits |= 1 << d;
                }
            }
        }
        bits
    }

    /// The approved absence covering `day`, if any (for explanations).
    pub(super) fn approved_absence_on(&self, day: Day) -> Option<&Absence> {
        self.absences
            .iter()
            .find(|a| a.approved && a.start <= day && day <= a.end)
    }

    /// The streak of the latest decision before `week` (0 when there is none).
    pub(super) fn streak_before(&self, week: Week) -> u32 {
        let n = self.decisions.partition_point(|d| d.week() < week);
        match n.checked_sub(1) {
            Some(i) => self.decisions[i].streak(),
            None => self.carried_streak,
        }
    }

    /// Forgets weeks before `horizon` (§8), carrying the streak of the last forgotten decision.
    pub(super) fn forget_before(&mut self, horizon: Week) {
        let n = self.decisions.partition_point(|d| d.week() < horizon);
        if n > 0 {
            self.carried_streak = self.decisions[n - 1].streak();
            self.decisions.drain(..n);
        }
        // Steady state adds one week and forgets one: keep the vectors from doubling.
        if self.decisions.capacity() > self.decisions.len() + 4 {
            self.decisions.shrink_to(self.decisions.len() + 2);
        }
        self.office.forget_before(horizon, 4);
        let monday = horizon.monday();
        retain(&mut self.absences, |a| a.end >= monday);
        retain(&mut self.adjustments, |a| a.day >= monday);
        self.presence.forget_before(monday, 16);
    }

    /// Starts loading the parts of the heap blocks a sweep reads (office weeks, presence
    /// dates, absences, adjustments, decisions, a long id). The blocks are sorted oldest
    /// first and a sweep reads their newest entries (the week it closes or checks, the
    /// window before it, the latest decision) and their first (what it forgets), so each
    /// block is asked for at its first line and its last two; asking for whole blocks
    /// filled the CPU's queue of outstanding loads and stalled the sweep. Reads the struct's
    /// pointers, so it pays off once the struct is cached.
    fn prefetch_heap(&self) {
        fn ends<T>(v: &[T]) {
            let bytes = std::mem::size_of_val(v);
            if bytes == 0 {
                return;
            }
            let start = v.as_ptr().cast::<u8>();
            prefetch(start);
            prefetch(start.wrapping_add(bytes.saturating_sub(65)));
            prefetch(start.wrapping_add(bytes - 1));
        }
        if self.id.is_heap_allocated() {
            prefetch(self.id.as_ptr());
        }
        ends(self.office.heap_entries());
        ends(&self.absences);
        ends(&self.adjustments);
        ends(self.presence.heap_entries());
        ends(&self.decisions);
    }

    /// Approximate heap and inline bytes held by this employee.
    pub(super) fn approx_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + if self.id.is_heap_allocated() {
                self.id.len()
            } else {
                0
            }
            + self.office.heap_bytes()
            + self.decisions.capacity() * std::mem::size_of::<DecisionRecord>()
            + self
                .absences
                .iter()
                .map(|a| std::mem::size_of::<Absence>() + a.id.len())
                .sum::<usize>()
            + self
                .adjustments
                .iter()
                .map(|a| std::mem::size_of::<Adjustment>() + a.id.len())
                .sum::<usize>()
            + self.presence.heap_bytes()
    }
}

/// Adds `item` to a list held at its exact length (absences and adjustments change rarely;
/// a `Vec` would cost 8 more bytes per employee and its spare capacity).
pub(super) fn push<T>(list: &mut Box<[T]>, item: T) {
    let mut v = std::mem::take(list).into_vec();
    v.push(item);
    *list = v.into_boxed_slice();
}

/// Keeps the items of `list` for which `keep` holds.
fn retain<T>(list: &mut Box<[T]>, mut keep: impl FnMut(&T) -> bool) {
    if !list.iter().all(&mut keep) {
        let mut v = std::mem::take(list).into_vec();
        v.retain(keep);
        *list = v.into_boxed_slice();
    }
}

/// Asks the CPU to start loading the cache line holding `address` into its caches, and goes
/// on at once. No load is made and nothing observable changes: the instruction never
/// faults, whatever the address, which is why a pointer that is only computed suffices.
#[allow(unsafe_code)]
fn prefetch(address: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: PREFETCHT0 is a hint: it does not dereference `address` in the language's
    // sense, cannot fault, and has no effect besides the cache's contents.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(address.cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = address;
}

/// How many members ahead of the one it decides a sweep (week close, at-risk check) asks
/// for each member's heap blocks; it asks for the struct twice as far ahead, so that the
/// struct's pointers are cached when the heap blocks are asked for.
pub(super) const SWEEP_AHEAD: usize = 8;

/// Starts loading the struct of the employee in `slot`: a sweep's first hint (see
/// [`SWEEP_AHEAD`]; members are visited in id order, slots were given in arrival order, so
/// each struct is a cache miss the sweep would otherwise wait for), and the read-ahead's
/// second ([`EmployeeIndex::prefetch_employee`]).
pub(super) fn prefetch_struct(employees: &[Employee], slot: u32) {
    if let Some(employee) = employees.get(slot as usize) {
        let start = std::ptr::from_ref(employee).cast::<u8>();
        for offset in (0..std::mem::size_of::<Employee>()).step_by(64) {
            prefetch(start.wrapping_add(offset));
        }
    }
}

/// Starts loading the heap blocks of the employee in `slot` and its manager's interner
/// entry (each output carries the manager's name; managers are spread over the whole
/// interner): a sweep's second hint, once the struct is cached.
pub(super) fn prefetch_heap(employees: &[Employee], interner: &Interner, slot: u32) {
    if let Some(employee) = employees.get(slot as usize) {
        employee.prefetch_heap();
        if let Some(manager) = employee.roster.and_then(|r| r.manager) {
            interner.prefetch(manager);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_employee_is_216_bytes_with_ids_of_up_to_24_bytes_inline() {
        assert_eq!(std::mem::size_of::<Employee>(), 216);
        let short = Employee::new("e-000001");
        assert!(!short.id.is_heap_allocated());
        assert!(!Employee::new(&"x".repeat(24)).id.is_heap_allocated());
        assert!(Employee::new(&"x".repeat(25)).id.is_heap_allocated());
    }

    #[test]
    fn a_copy_keeps_each_lists_spare_capacity() {
        let mut e = Employee::new("e-1");
        for w in 0..5 {
            e.add_office_day(Day(20_577 + 7 * w));
            e.decisions.push(DecisionRecord::new(
                Week(2940 + w),
                Status::Compliant,
                0,
                0,
                7,
                false,
            ));
        }
        e.decisions.reserve_exact(3);
        let copy = e.clone();
        assert_eq!(copy.decisions, e.decisions);
        assert_eq!(copy.decisions.capacity(), e.decisions.capacity());
        assert_eq!(copy.office.heap_bytes(), e.office.heap_bytes());
        assert!(copy.office.sorted().eq(e.office.sorted()));
    }

    #[test]
    fn repeated_office_days_count_once() {
        let mut e = Employee::new("e-1");
        let day = Day(20_577);
        assert!(e.add_office_day(day));
        assert!(!e.add_office_day(day));
        let week = day.week();
        assert_eq!(e.lookup_from(week).office_bits(week).count_ones(), 1);
    }

    #[test]
    fn presence_keeps_the_first_in_and_latest_out_in_eight_bytes() {
        assert_eq!(std::mem::size_of::<Presence>(), 8);
        let mut e = Employee::new("e-1");
        let day = Day(20_577);
        let at = |h: i64| i64::from(day.0) * 86_400 + h * 3600;
        assert!(
            e.record_presence(day, at(17), false),
            "an out before any in is kept"
        );
        assert!(e.record_presence(day, at(9), true));
        assert!(
            !e.record_presence(day, at(10), true),
            "a later in changes nothing"
        );
        assert!(
            !e.record_presence(day, at(16), false),
            "an earlier out changes nothing"
        );
        let p = e.presence_on(day).copied().expect("evidence");
        assert_eq!((p.first_in(), p.latest_out()), (Some(at(9)), Some(at(17))));
        assert_eq!(p.span(), Some(8 * 3600));
        assert!(
            e.record_presence(day, at(-10), true),
            "local dates east of UTC start earlier"
        );
        assert_eq!(e.presence_on(day).and_then(Presence::span), Some(27 * 3600));
    }

    #[test]
    fn presence_round_trips_every_date_and_offset_that_fits() {
        // Years 0000 to 9999 (RFC 3339), and the edges of the offsets that fit.
        for day in [-719_528, -1, 0, 20_577, 2_932_896].map(Day) {
            let origin = i64::from(day.0) * 86_400;
            let low = origin - OFFSET_BIAS;
            let high = origin + (NONE as i64 - 1) - OFFSET_BIAS;
            for (first_in, latest_out) in [
                (None, None),
                (Some(low), Some(high)),
                (Some(origin - 14 * 3600), None),
                (None, Some(origin + 36 * 3600)),
                (Some(high), Some(low)),
            ] {
                let p = Presence::new(day, first_in, latest_out).expect("fits");
                assert_eq!(p.day(), day);
                assert_eq!((p.first_in(), p.latest_out()), (first_in, latest_out));
                let span = match (first_in, latest_out) {
                    (Some(i), Some(o)) if o > i => Some(o - i),
                    _ => None,
                };
                assert_eq!(p.span(), span, "{day:?} {first_in:?} {latest_out:?}");
            }
            assert_eq!(Presence::new(day, Some(low - 1), None), None);
            assert_eq!(Presence::new(day, None, Some(high + 1)), None);
            assert_eq!(Presence::new(day, Some(i64::MIN), None), None);
            assert_eq!(Presence::new(day, None, Some(i64::MAX)), None);
        }
        assert_eq!(Presence::new(Day(i32::MAX), None, None), None);
        assert_eq!(Presence::new(Day(i32::MIN), None, None), None);
    }

    #[test]
    fn a_decision_record_is_sixteen_bytes_and_keeps_every_field() {
        assert_eq!(std::mem::size_of::<DecisionRecord>(), 16);
        // Around the weeks of 0000-01-01 and 9999-12-31, and of 1970 and 2026.
        let weeks = [-102_791, -1, 0, 1, 2_960, 418_986];
        for (n, week) in weeks.into_iter().enumerate() {
            for status in [Status::Compliant, Status::NonCompliant, Status::Exempt] {
                for (streak, revision, fingerprint, alerted) in [
                    (0, 0, 0, false),
                    (1, 1, u64::MAX, true),
                    (MAX_STREAK, u16::MAX, 0x0123_4567_89ab_cdef, n % 2 == 0),
                ] {
                    let r = DecisionRecord::new(
                        Week(week),
                        status,
                        streak,
                        revision,
                        fingerprint,
                        alerted,
                    );
                    assert_eq!(
                        (
                            r.week(),
                            r.status(),
                            r.streak(),
                            r.revision(),
                            r.fingerprint(),
                            r.alerted()
                        ),
                        (Week(week), status, streak, revision, fingerprint, alerted)
                    );
                }
            }
        }
        let held = DecisionRecord::new(Week(0), Status::Exempt, u32::MAX, 0, 0, false);
        assert_eq!((held.streak(), held.status()), (MAX_STREAK, Status::Exempt));
    }

    #[test]
    fn forgetting_carries_the_streak() {
        let mut e = Employee::new("e-1");
        for (i, streak) in [1, 2, 3].into_iter().enumerate() {
            e.decisions.push(DecisionRecord::new(
                Week(100 + i as i32),
                Status::NonCompliant,
                streak,
                0,
                0,
                true,
            ));
        }
        e.forget_before(Week(102));
        assert_eq!(e.carried_streak, 2);
        assert_eq!(e.streak_before(Week(102)), 2);
        assert_eq!(e.streak_before(Week(103)), 3);
    }
}
