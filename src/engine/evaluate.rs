//! The weekly decision of §4 as pure functions of the rules and one employee's state.

use crate::config::{Policy, Rule, UnverifiedPresence};
use crate::domain::{AdjustmentAction, Day, Reason, Status, Week};

use super::rules::Rules;
use super::state::{Employee, Lookup, Roster};

/// Weekday mask: Monday to Friday.
pub(super) const WEEKDAYS: u8 = 0b001_1111;
/// Whole-week mask.
pub(super) const ALL_DAYS: u8 = 0b111_1111;

/// The §4.2 and §3.7 quantities of one week under one policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct WeekFacts {
    /// Office days counted by the policy (weekends only with `count_weekends`), as bits:
    /// presence-qualified `in` days and credited days.
    pub(super) office: u8,
    /// Exempt weekdays: holidays, approved absences, outages of the home site, excused days.
    pub(super) exempt: u8,
    /// The holiday subset of `exempt`.
    pub(super) holidays: u8,
    /// The outage subset of `exempt`.
    pub(super) outages: u8,
    /// Counted days credited by an approved `credit_office_day` adjustment.
    pub(super) credited: u8,
    /// Counted days whose presence is below `min_presence` (§3.7).
    pub(super) short: u8,
    /// Counted days with an `in` and no later `out` (§3.7), counted or not per the policy.
    pub(super) unverified: u8,
    /// required(W) = max(0, required_days − |exempt_days|).
    pub(super) required: u32,
}

impl WeekFacts {
    /// Whether the week is missed: fewer office days than required (§4.3 rule 7).
    pub(super) fn missed(&self) -> bool {
        self.office.count_ones() < self.required
    }
}

/// §4.2 and §3.7 for `week` under `policy`.
pub(super) fn week_facts(
    rules: &Rules,
    employee: &Employee,
    roster: &Roster,
    policy: &Policy,
    week: Week,
) -> WeekFacts {
    let mut lookup = employee.lookup_from(week);
    week_facts_with(rules, employee, roster, policy, week, &mut lookup)
}

/// [`week_facts`], reading office weeks and presence dates through `lookup` (so weeks must
/// come in increasing order).
fn week_facts_with(
    rules: &Rules,
    employee: &Employee,
    roster: &Roster,
    policy: &Policy,
    week: Week,
    lookup: &mut Lookup<'_>,
) -> WeekFacts {
    let mask = if policy.count_weekends {
        ALL_DAYS
    } else {
        WEEKDAYS
    };
    let holidays = rules.holiday_bits(usize::from(roster.region), week) & WEEKDAYS;
    let outages = rules.outage_bits(roster.home_site, week) & WEEKDAYS;
    let excused = employee.adjustment_bits(week, AdjustmentAction::ExcuseDay) & WEEKDAYS;
    let exempt = holidays | employee.absence_bits(week) | outages | excused;
    let credited = employee.adjustment_bits(week, AdjustmentAction::CreditOfficeDay);
    let badged = lookup.office_bits(week);
    let (mut office, mut short, mut unverified) = (badged, 0u8, 0u8);
    if let Some(min) = policy.min_presence {
        let min = i64::try_from(min.as_secs()).unwrap_or(i64::MAX);
        let monday = week.monday();
        office = 0;
        for d in (0..7).filter(|d| badged & (1 << d) != 0) {
            let bit = 1u8 << d;
            match lookup.presence_on(monday.plus(d)).and_then(|p| p.span()) {
                Some(span) if span >= min => office |= bit,
                Some(_) => short |= bit,
                None => {
                    unverified |= bit;
                    if policy.unverified_presence == UnverifiedPresence::Count {
                        office |= bit;
                    }
                }
            }
        }
    }
    office |= credited;
    WeekFacts {
        office: office & mask,
        exempt,
        holidays,
        outages,
        credited: credited & mask,
        short: short & !credited & mask,
        unverified: unverified & !credited & mask,
        required: u32::from(policy.required_days).saturating_sub(exempt.count_ones()),
    }
}

/// A weekly decision's content (everything but ids, revision and presentation fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Evaluation {
    /// The week.
    pub(super) week: Week,
    /// Index of the policy in force.
    pub(super) policy: usize,
    /// Status.
    pub(super) status: Status,
    /// Reason.
    pub(super) reason: Reason,
    /// The week's own facts.
    pub(super) facts: WeekFacts,
    /// The weeks judged and their sums.
    pub(super) window: Window,
    /// Streak at this week (§4.4).
    pub(super) streak: u32,
    /// Ids of the approved adjustments dated in the week, byte order (§6 v2).
    pub(super) adjustments: Vec<Box<str>>,
}

/// The weeks a decision was judged on (§4.3 rules 6–7) and their sums.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct Window {
    /// Weeks that entered the window, oldest first.
    pub(super) weeks: Vec<Week>,
    /// Σ office days over `weeks`.
    pub(super) office: u32,
    /// Σ required days over `weeks`.
    pub(super) required: u32,
    /// The missed weeks among `weeks` (office days below required days), oldest first.
    pub(super) missed: Vec<Week>,
}

impl Window {
    /// A window of `week` alone; `judged` false (exempt decisions) counts no missed week.
    fn single(week: Week, facts: &WeekFacts, judged: bool) -> Self {
        Self {
            weeks: vec![week],
            office: facts.office.count_ones(),
            required: facts.required,
            missed: if judged && facts.missed() {
                vec![week]
            } else {
                Vec::new()
            },
        }
    }
}

/// The at-risk test's figures (§5), for the alert's explanation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct AtRisk {
    /// Office days before the check's day, plus credited days from it on.
    pub(super) so_far: u32,
    /// Working days left, the check's day included, exempt and credited days excluded.
    pub(super) remaining: u32,
    /// required(W).
    pub(super) required: u32,
    /// Under `missed_weeks`: missed weeks of the window before W, and the allowance K.
    pub(super) missed_before: Option<(u32, u32)>,
}

impl Evaluation {
    /// A stable 64-bit fingerprint of the content (FNV-1a), to detect changes on re-evaluation.
    pub(super) fn fingerprint(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |v: u64| {
            for b in v.to_le_bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(self.policy as u64);
        eat(self.status as u64);
        eat(self.reason as u64);
        eat(u64::from(self.facts.office));
        eat(u64::from(self.facts.exempt));
        eat(u64::from(self.facts.required));
        eat(u64::from(self.facts.short) | u64::from(self.facts.unverified) << 8);
        for w in &self.window.weeks {
            eat(w.0 as u64);
        }
        eat(u64::from(self.window.office));
        eat(u64::from(self.window.required));
        eat(self.window.missed.len() as u64);
        eat(u64::from(self.streak));
        for id in &self.adjustments {
            eat(id.len() as u64);
            for chunk in id.as_bytes().chunks(8) {
                let mut word = [0u8; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                eat(u64::from_le_bytes(word));
            }
        }
        h
    }
}

/// Context of the employee's home zone: the local date of the first badge the processor
/// applied (§3.4); `None` before any.
#[derive(Debug, Clone, Copy)]
pub(super) struct ZoneContext {
    /// First-badge date in the home zone.
    pub(super) first_day: Option<Day>,
}

impl ZoneContext {
    /// Whether the processor saw `week` from its start.
    pub(super) fn saw_from_start(&self, week: Week) -> bool {
        self.first_day.is_some_and(|d| week.monday() >= d)
    }
}

/// The policy under which `week` is evaluated, or `None` when it is not evaluated
/// (§4.1 no version in force, §4.3 rule 1, or §3.4 not seen from its start).
pub(super) fn evaluable_policy(
    rules: &Rules,
    roster: &Roster,
    week: Week,
    zone: ZoneContext,
) -> Option<usize> {
    if !roster.active || roster.hire.is_some_and(|h| h > week.sunday()) {
        return None;
    }
    if !zone.saw_from_start(week) {
        return None;
    }
    rules.policy_for(roster.group_rule, week)
}

/// Whether `week` is among the first `new_hire_grace_weeks` ISO weeks from the hire week.
pub(super) fn in_new_hire_grace(policy: &Policy, roster: &Roster, week: Week) -> bool {
    roster.hire.is_some_and(|h| {
        let first = h.week();
        week >= first && i64::from(week.0 - first.0) < i64::from(policy.new_hire_grace_weeks)
    })
}

/// §4.3 and §4.4 for `week`, given the streak of the latest decision before it.
pub(super) fn evaluate(
    rules: &Rules,
    employee: &Employee,
    roster: &Roster,
    week: Week,
    zone: ZoneContext,
    streak_before: u32,
) -> Option<Evaluation> {
    let policy_index = evaluable_policy(rules, roster, week, zone)?;
    let policy = &rules.policies[policy_index];
    let facts = week_facts(rules, employee, roster, policy, week);
    let exempt = if roster.remote {
        Some(Reason::RemoteApproved)
    } else if in_new_hire_grace(policy, roster, week) {
        Some(Reason::NewHireGrace)
    } else if facts.required == 0 {
        Some(Reason::FullyExcused)
    } else {
        None
    };
    let adjustments = employee.adjustment_ids(week);
    let own = |status, reason, streak, window| Evaluation {
        week,
        policy: policy_index,
        status,
        reason,
        facts,
        window,
        streak,
        adjustments,
    };
    if let Some(reason) = exempt {
        let window = Window::single(week, &facts, false);
        return Some(own(Status::Exempt, reason, streak_before, window));
    }
    // The window's last week is this one, whose facts are known.
    let last = Some(&facts);
    let (window, met, below) = match policy.rule {
        Rule::Weekly => (
            Window::single(week, &facts, true),
            None,
            Reason::BelowRequired,
        ),
        Rule::RollingAverage { weeks } => (
            window(rules, employee, roster, policy, week, zone, weeks, last),
            None,
            Reason::BelowRequired,
        ),
        Rule::MissedWeeks { weeks, max_missed } => (
            window(rules, employee, roster, policy, week, zone, weeks, last),
            Some(max_missed),
            Reason::TooManyMissedWeeks,
        ),
    };
    let compliant = match met {
        Some(max_missed) => window.missed.len() as u64 <= u64::from(max_missed),
        None => window.office >= window.required,
    };
    Some(if compliant {
        own(Status::Compliant, Reason::MetRequirement, 0, window)
    } else {
        own(Status::NonCompliant, below, streak_before + 1, window)
    })
}

/// §4.3 rules 6–7: the `n` ISO weeks ending with `week` (without `week` itself unless
/// `last` gives its facts, already computed), each judged under `week`'s policy; weeks that
/// policy would exempt or not evaluate, and weeks never evaluable, are left out.
#[allow(clippy::too_many_arguments)]
fn window(
    rules: &Rules,
    employee: &Employee,
    roster: &Roster,
    policy: &Policy,
    week: Week,
    zone: ZoneContext,
    n: u32,
    last: Option<&WeekFacts>,
) -> Window {
    let n = n.max(1) as i32;
    let mut out = Window::default();
    let first = if last.is_some() { 0 } else { 1 };
    // The weeks are read oldest first: one walk over the employee's lists.
    let mut lookup = employee.lookup_from(week.plus(1 - n));
    for k in (first..n).rev() {
        let w = week.plus(-k);
        let never_evaluable =
            rules.policy_for(roster.group_rule, w).is_none() || !zone.saw_from_start(w);
        let not_evaluated = !roster.active || roster.hire.is_some_and(|h| h > w.sunday());
        if never_evaluable || not_evaluated || roster.remote || in_new_hire_grace(policy, roster, w)
        {
            continue;
        }
        let f = match last {
            Some(facts) if k == 0 => *facts,
            _ => week_facts_with(rules, employee, roster, policy, w, &mut lookup),
        };
        if f.required == 0 {
            continue;
        }
        out.weeks.push(w);
        out.office += f.office.count_ones();
        out.required += f.required;
        if f.missed() {
            out.missed.push(w);
        }
    }
    out
}

/// The at-risk test of §5 at 00:00 of weekday `day` (Monday = 0) of `week`: `Some` when the
/// employee can at best just meet the requirement (and, under `missed_weeks`, missing the
/// week would make it non-compliant).
pub(super) fn at_risk(
    rules: &Rules,
    employee: &Employee,
    roster: &Roster,
    week: Week,
    day: u32,
    zone: ZoneContext,
) -> Option<AtRisk> {
    let policy = &rules.policies[evaluable_policy(rules, roster, week, zone)?];
    if matches!(policy.rule, Rule::RollingAverage { .. })
        || roster.remote
        || in_new_hire_grace(policy, roster, week)
    {
        return None;
    }
    if too_early_for_risk(rules, employee, roster, policy, week, day) {
        debug_assert!(
            risk_from_facts(rules, employee, roster, policy, week, day, zone).is_none(),
            "the struct-only bound said no risk, the facts say otherwise"
        );
        return None;
    }
    risk_from_facts(rules, employee, roster, policy, week, day, zone)
}

/// [`at_risk`]'s test on the week's facts, `policy` being the one in force.
fn risk_from_facts(
    rules: &Rules,
    employee: &Employee,
    roster: &Roster,
    policy: &Policy,
    week: Week,
    day: u32,
    zone: ZoneContext,
) -> Option<AtRisk> {
    let facts = week_facts(rules, employee, roster, policy, week);
    if facts.required == 0 {
        return None;
    }
    let before = (1u8 << day) - 1;
    let so_far = (facts.office & before | facts.credited & !before).count_ones();
    let remaining = days_left(policy, day, facts.exempt | facts.credited);
    if so_far >= facts.required || so_far + remaining > facts.required {
        return None;
    }
    let missed_before = match policy.rule {
        Rule::MissedWeeks { weeks, max_missed } => {
            let prior = window(rules, employee, roster, policy, week, zone, weeks, None);
            let missed = prior.missed.len() as u32;
            if missed < max_missed {
                return None;
            }
            Some((missed, max_missed))
        }
        _ => None,
    };
    Some(AtRisk {
        so_far,
        remaining,
        required: facts.required,
        missed_before,
    })
}

/// Whether [`at_risk`] finds no risk whatever the employee's office days, known from the
/// struct alone: with no absence and no adjustment, the exempt days are the week's holidays
/// and outages and no day is credited, so the days left and the days required follow from
/// the rules; more days left than required means no risk even with no office day so far.
/// The week's first sweeps (Monday's and Tuesday's under a 3-day policy) then skip the
/// employee's office weeks and presence dates.
fn too_early_for_risk(
    rules: &Rules,
    employee: &Employee,
    roster: &Roster,
    policy: &Policy,
    week: Week,
    day: u32,
) -> bool {
    if !employee.absences.is_empty() || !employee.adjustments.is_empty() {
        return false;
    }
    let exempt = (rules.holiday_bits(usize::from(roster.region), week)
        | rules.outage_bits(roster.home_site, week))
        & WEEKDAYS;
    let required = u32::from(policy.required_days).saturating_sub(exempt.count_ones());
    required == 0 || days_left(policy, day, exempt) > required
}

/// The days from weekday `day` (Monday = 0) to the week's last counted day (Friday, or
/// Sunday with `count_weekends`) that are not in `taken` (exempt or already credited).
pub(super) fn days_left(policy: &Policy, day: u32, taken: u8) -> u32 {
    let last = if policy.count_weekends { 6 } else { 4 };
    (day..=last).filter(|d| taken & (1 << d) == 0).count() as u32
}

/// The escalation level for `streak`: the highest rung with `after_weeks ≤ streak`.
pub(super) fn escalation_level(policy: &Policy, streak: u32) -> Option<&str> {
    policy
        .escalation
        .iter()
        .filter(|r| r.after_weeks <= streak)
        .max_by_key(|r| r.after_weeks)
        .map(|r| r.level.as_str())
}
