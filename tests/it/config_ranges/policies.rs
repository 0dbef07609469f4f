//! The policies the property draws: every key of a `[[policy]]`, including each kind of v2
//! `rule` and the presence keys, in, at the ends of and (when wild) beyond their ranges.

use proptest::prelude::*;

use attendance_compliance::config::limits;

use super::{duration, duration_in_range, in_range, number};

/// How a drawn policy chooses its rule (SPEC §4.1, v2).
#[derive(Debug, Clone)]
pub(super) enum RuleCase {
    /// `rolling_weeks = N` (v1), or neither key.
    RollingWeeks(Option<i64>),
    /// `rule = { kind = "weekly" }`.
    Weekly,
    /// `rule = { kind = "rolling_average", weeks = N }`.
    RollingAverage(i64),
    /// `rule = { kind = "missed_weeks", weeks = N, max_missed = K }`.
    MissedWeeks(i64, i64),
    /// Both `rolling_weeks = 2` and a weekly rule: always an error.
    Both,
}

impl RuleCase {
    pub(super) fn within_ranges(&self) -> bool {
        match *self {
            Self::RollingWeeks(weeks) => weeks.is_none_or(|n| in_range(n, limits::ROLLING_WEEKS)),
            Self::Weekly => true,
            Self::RollingAverage(n) => in_range(n, limits::ROLLING_AVERAGE_WEEKS),
            Self::MissedWeeks(n, k) => {
                in_range(n, limits::MISSED_WEEKS) && in_range(k, limits::MAX_MISSED) && k < n
            }
            Self::Both => false,
        }
    }

    pub(super) fn toml(&self) -> String {
        match self {
            Self::RollingWeeks(None) => String::new(),
            Self::RollingWeeks(Some(n)) => format!("rolling_weeks = {n}\n"),
            Self::Weekly => "rule = { kind = \"weekly\" }\n".to_owned(),
            Self::RollingAverage(n) => {
                format!("rule = {{ kind = \"rolling_average\", weeks = {n} }}\n")
            }
            Self::MissedWeeks(n, k) => {
                format!("rule = {{ kind = \"missed_weeks\", weeks = {n}, max_missed = {k} }}\n")
            }
            Self::Both => "rolling_weeks = 2\nrule = { kind = \"weekly\" }\n".to_owned(),
        }
    }
}

fn rule_case(wild: bool) -> BoxedStrategy<RuleCase> {
    // In range, max_missed is drawn below weeks; wild, each on its own.
    let missed = if wild {
        (
            number(limits::MISSED_WEEKS, true),
            number(limits::MAX_MISSED, true),
        )
            .boxed()
    } else {
        number(limits::MISSED_WEEKS, false)
            .prop_flat_map(|n| (Just(n), 0..n))
            .boxed()
    };
    let rules = prop_oneof![
        2 => proptest::option::of(number(limits::ROLLING_WEEKS, wild)).prop_map(RuleCase::RollingWeeks),
        1 => Just(RuleCase::Weekly),
        1 => number(limits::ROLLING_AVERAGE_WEEKS, wild).prop_map(RuleCase::RollingAverage),
        2 => missed.prop_map(|(n, k)| RuleCase::MissedWeeks(n, k)),
    ];
    if wild {
        prop_oneof![8 => rules, 1 => Just(RuleCase::Both)].boxed()
    } else {
        rules.boxed()
    }
}

/// `min_presence` and `unverified_presence`; in range, the latter only with the former.
fn presence(wild: bool) -> BoxedStrategy<(Option<String>, Option<&'static str>)> {
    let word = if wild {
        prop_oneof![Just("count"), Just("ignore"), Just("maybe")].boxed()
    } else {
        prop_oneof![Just("count"), Just("ignore")].boxed()
    };
    let duration = duration(limits::MIN_PRESENCE, wild);
    if wild {
        (proptest::option::of(duration), proptest::option::of(word)).boxed()
    } else {
        prop_oneof![
            Just((None, None)),
            (duration, proptest::option::of(word)).prop_map(|(d, w)| (Some(d), w)),
        ]
        .boxed()
    }
}

#[derive(Debug, Clone)]
pub(super) struct PolicyCase {
    pub(super) year: i64,
    pub(super) required_days: i64,
    pub(super) rule: RuleCase,
    pub(super) min_presence: Option<String>,
    pub(super) unverified_presence: Option<&'static str>,
    pub(super) grace: i64,
    pub(super) hold: i64,
    pub(super) rungs: Vec<i64>,
}

pub(super) fn policy_case(wild: bool) -> impl Strategy<Value = PolicyCase> {
    let years = if wild {
        prop_oneof![Just(1969i64), Just(1970), Just(2026), Just(9990)].boxed()
    } else {
        prop_oneof![Just(1970i64), Just(2026), Just(9990)].boxed()
    };
    (
        years,
        number(limits::REQUIRED_DAYS, wild),
        rule_case(wild),
        presence(wild),
        number(limits::NEW_HIRE_GRACE_WEEKS, wild),
        number(limits::PROMOTION_HOLD_AFTER_WEEKS, wild),
        proptest::collection::vec(number(limits::AFTER_WEEKS, wild), 0..4),
    )
        .prop_map(
            |(
                year,
                required_days,
                rule,
                (min_presence, unverified_presence),
                grace,
                hold,
                rungs,
            )| {
                PolicyCase {
                    year,
                    required_days,
                    rule,
                    min_presence,
                    unverified_presence,
                    grace,
                    hold,
                    rungs,
                }
            },
        )
}

impl PolicyCase {
    /// Whether the presence keys are valid: `min_presence` within its range, and
    /// `unverified_presence` one of its words and only with `min_presence`.
    pub(super) fn presence_within_ranges(&self) -> bool {
        let min = self
            .min_presence
            .as_deref()
            .is_none_or(|d| duration_in_range(d, limits::MIN_PRESENCE));
        let unverified = self
            .unverified_presence
            .is_none_or(|w| matches!(w, "count" | "ignore") && self.min_presence.is_some());
        min && unverified
    }

    pub(super) fn presence_toml(&self) -> String {
        let mut text = String::new();
        if let Some(d) = &self.min_presence {
            text.push_str(&format!("min_presence = \"{d}\"\n"));
        }
        if let Some(w) = self.unverified_presence {
            text.push_str(&format!("unverified_presence = \"{w}\"\n"));
        }
        text
    }
}
