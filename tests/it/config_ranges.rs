//! Property: any configuration `check-config` accepts can drive the engine. Policies (with
//! each kind of v2 `rule` and the presence keys, drawn in `policies`) and processor settings
//! are drawn in, at the ends of and beyond their ranges (`config::limits`); whatever loads builds a processor that runs the basic-week scenario, a
//! badge near the end of time and a watermark advance to 9999-12-31 without panicking and
//! with a bounded number of weeks closed. Whatever is within every range loads.

mod policies;

use std::time::Duration;

use proptest::prelude::*;

use attendance_compliance::config::limits::{self, format_duration};
use attendance_compliance::config::Config;
use attendance_compliance::domain::output::Source;
use attendance_compliance::domain::time::parse_timestamp;
use attendance_compliance::engine::{Output, MAX_CATCH_UP_WEEKS};
use attendance_compliance::processor::Processor;

use crate::helpers::root;
use policies::{policy_case, PolicyCase, RuleCase};

/// A whole number inside or at the ends of `(min, max)`; when `wild`, also just outside or
/// far outside.
fn number((min, max): (i64, i64), wild: bool) -> BoxedStrategy<i64> {
    if !wild {
        return prop_oneof![2 => min..=max, 1 => Just(min), 1 => Just(max)].boxed();
    }
    prop_oneof![
        4 => min..=max,
        1 => Just(min),
        1 => Just(max),
        1 => Just(min - 1),
        1 => Just(max + 1),
        1 => any::<i64>(),
    ]
    .boxed()
}

/// A duration as text, inside, at the ends of, just outside or far outside `(min, max)`,
/// sometimes beyond what the parser or chrono can hold.
fn duration((min, max): (Duration, Duration), wild: bool) -> BoxedStrategy<String> {
    let (lo, hi) = (min.as_millis() as u64, max.as_millis() as u64);
    if !wild {
        return prop_oneof![
            2 => (lo..=hi).prop_map(|ms| format_duration(Duration::from_millis(ms))),
            1 => Just(format_duration(min)),
            1 => Just(format_duration(max)),
        ]
        .boxed();
    }
    prop_oneof![
        4 => (lo..=hi).prop_map(|ms| format_duration(Duration::from_millis(ms))),
        1 => Just(format_duration(min)),
        1 => Just(format_duration(max)),
        1 => Just(format!("{}ms", hi + 1)),
        1 => Just("0s".to_owned()),
        1 => Just("100000000d".to_owned()),
        1 => any::<u64>().prop_map(|ms| format!("{ms}ms")),
    ]
    .boxed()
}

#[derive(Debug, Clone)]
struct Case {
    policies: Vec<PolicyCase>,
    allowed_lateness: String,
    idle_advance_after: String,
    max_future_skew: String,
    correction_weeks: i64,
    batch_max_messages: i64,
    batch_max_wait: String,
}

/// Half the cases keep every value in range (so that most of them load), half may not.
fn case() -> impl Strategy<Value = Case> {
    any::<bool>().prop_flat_map(case_with)
}

fn case_with(wild: bool) -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(policy_case(wild), 1..4),
        duration(limits::ALLOWED_LATENESS, wild),
        duration(limits::IDLE_ADVANCE_AFTER, wild),
        duration(limits::MAX_FUTURE_SKEW, wild),
        number(limits::CORRECTION_WEEKS, wild),
        number(limits::BATCH_MAX_MESSAGES, wild),
        duration(limits::BATCH_MAX_WAIT, wild),
    )
        .prop_map(
            |(policies, lateness, idle, skew, correction, messages, wait)| Case {
                policies,
                allowed_lateness: lateness,
                idle_advance_after: idle,
                max_future_skew: skew,
                correction_weeks: correction,
                batch_max_messages: messages,
                batch_max_wait: wait,
            },
        )
}

fn in_range(value: i64, (min, max): (i64, i64)) -> bool {
    (min..=max).contains(&value)
}

fn duration_in_range(text: &str, (min, max): (Duration, Duration)) -> bool {
    attendance_compliance::config::parse_duration(text).is_ok_and(|d| (min..=max).contains(&d))
}

impl Case {
    /// Whether every value is within its range (the configuration must then load).
    fn within_ranges(&self) -> bool {
        let policies = self.policies.iter().all(|p| {
            p.year >= 1970
                && in_range(p.required_days, limits::REQUIRED_DAYS)
                && p.rule.within_ranges()
                && p.presence_within_ranges()
                && in_range(p.grace, limits::NEW_HIRE_GRACE_WEEKS)
                && in_range(p.hold, limits::PROMOTION_HOLD_AFTER_WEEKS)
                && p.rungs.iter().all(|r| in_range(*r, limits::AFTER_WEEKS))
                && p.rungs.windows(2).all(|w| w[0] < w[1])
        });
        policies
            && duration_in_range(&self.allowed_lateness, limits::ALLOWED_LATENESS)
            && duration_in_range(&self.idle_advance_after, limits::IDLE_ADVANCE_AFTER)
            && duration_in_range(&self.max_future_skew, limits::MAX_FUTURE_SKEW)
            && in_range(self.correction_weeks, limits::CORRECTION_WEEKS)
            && in_range(self.batch_max_messages, limits::BATCH_MAX_MESSAGES)
            && duration_in_range(&self.batch_max_wait, limits::BATCH_MAX_WAIT)
    }

    fn policies_toml(&self) -> String {
        let mut text = String::new();
        for (i, p) in self.policies.iter().enumerate() {
            // Distinct years per entry: one group never has two entries on the same date.
            let rungs: Vec<String> = p
                .rungs
                .iter()
                .map(|r| format!("{{ after_weeks = {r}, level = \"l{r}\" }}"))
                .collect();
            text.push_str(&format!(
                "[[policy]]\nid = \"p{i}\"\nversion = 1\npolicy_groups = [\"corporate\"]\n\
                 effective_from = \"{:04}-01-{:02}\"\nrequired_days = {}\n{}{}\
                 count_weekends = {}\nnew_hire_grace_weeks = {}\n\
                 promotion_hold_after_weeks = {}\nescalation = [{}]\n\n",
                p.year,
                5 + i,
                p.required_days,
                p.rule.toml(),
                p.presence_toml(),
                i % 2 == 1,
                p.grace,
                p.hold,
                rungs.join(", ")
            ));
        }
        text
    }

    fn processor_toml(&self) -> String {
        format!(
            "[time]\nallowed_lateness = \"{}\"\nidle_advance_after = \"{}\"\n\
             max_future_skew = \"{}\"\ncorrection_weeks = {}\n\
             [state]\nbatch_max_messages = {}\nbatch_max_wait = \"{}\"\n",
            self.allowed_lateness,
            self.idle_advance_after,
            self.max_future_skew,
            self.correction_weeks,
            self.batch_max_messages,
            self.batch_max_wait
        )
    }
}

fn lines(name: &str) -> Vec<String> {
    std::fs::read_to_string(root().join("tests/scenarios/basic-week").join(name))
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

fn source(offset: usize) -> Source {
    Source::File {
        file: "case.jsonl".into(),
        line: offset as u64 + 1,
    }
}

/// Runs the basic-week inputs, a badge in 9999 and an advance to the end of 9999; returns
/// the weeks closed by that last jump.
fn drive(config: &Config) -> usize {
    let now = parse_timestamp("2026-05-19T07:00:00Z").expect("now");
    let end = parse_timestamp("9999-12-31T23:59:59Z").expect("end of time");
    let mut processor = Processor::new(config);
    let mut out: Vec<Output> = Vec::new();
    for (i, line) in lines("roster.jsonl").iter().enumerate() {
        processor.roster(None, Some(line.as_bytes()), source(i), &mut out);
    }
    for (i, line) in lines("absences.jsonl").iter().enumerate() {
        processor.absence(line.as_bytes(), source(i), &mut out);
    }
    for (i, line) in lines("badges.jsonl").iter().enumerate() {
        processor.badge(line.as_bytes(), source(i), now, &mut out);
    }
    processor.advance_watermark(now, &mut out);
    out.clear();
    let far = br#"{"event_id":"far","employee_id":"e-1","site_id":"SEA-1","timestamp":"9999-12-30T12:00:00Z","direction":"in"}"#;
    processor.badge(far, source(99), end, &mut out);
    processor.advance_watermark(end, &mut out);
    let late = br#"{"event_id":"old","employee_id":"e-2","site_id":"SEA-1","timestamp":"1971-01-05T12:00:00Z","direction":"in"}"#;
    processor.badge(late, source(100), end, &mut out);
    out.iter()
        .filter(|o| matches!(o, Output::WeekClosed(_)))
        .count()
}

fn config_dir(case: &Case) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let scenario = root().join("tests/scenarios/basic-week/config");
    for file in ["sites.toml", "holidays.toml"] {
        std::fs::copy(scenario.join(file), dir.path().join(file)).expect("copy");
    }
    std::fs::write(dir.path().join("policies.toml"), case.policies_toml()).expect("write");
    std::fs::write(dir.path().join("processor.toml"), case.processor_toml()).expect("write");
    dir
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn any_accepted_config_drives_the_engine_with_bounded_work(case in case()) {
        let dir = config_dir(&case);
        let loaded = Config::load_with_env(dir.path(), Vec::<(String, String)>::new());
        prop_assert_eq!(
            loaded.is_ok(),
            case.within_ranges(),
            "loaded: {:?}\npolicies.toml:\n{}\nprocessor.toml:\n{}",
            loaded.as_ref().err().map(ToString::to_string),
            case.policies_toml(),
            case.processor_toml()
        );
        if let Ok(loaded) = loaded {
            let (closed, bound) = drive_bounded(&loaded.config);
            prop_assert!(closed <= bound, "{} weeks closed, bound {}", closed, bound);
        }
    }
}

/// Drives the engine; returns the weeks closed by the jump to 9999 and their bound: at most
/// MAX_CATCH_UP_WEEKS + retention (+ the weeks still open under allowed_lateness) per zone.
fn drive_bounded(config: &Config) -> (usize, usize) {
    let zones = config
        .sites
        .iter()
        .map(|s| s.timezone.to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let bound = zones * (MAX_CATCH_UP_WEEKS as usize + limits::MAX_RETENTION_WEEKS as usize + 16);
    (drive(config), bound)
}

#[test]
fn configs_at_the_ends_of_every_range_drive_the_engine() {
    let at = |pick: fn((i64, i64)) -> i64, pick_d: fn((Duration, Duration)) -> Duration| Case {
        policies: [
            RuleCase::RollingWeeks(Some(pick(limits::ROLLING_WEEKS))),
            RuleCase::RollingAverage(pick(limits::ROLLING_AVERAGE_WEEKS)),
            RuleCase::MissedWeeks(pick(limits::MISSED_WEEKS), pick(limits::MAX_MISSED)),
        ]
        .into_iter()
        .map(|rule| PolicyCase {
            year: 2026,
            required_days: pick(limits::REQUIRED_DAYS),
            rule,
            min_presence: Some(format_duration(pick_d(limits::MIN_PRESENCE))),
            unverified_presence: Some("ignore"),
            grace: pick(limits::NEW_HIRE_GRACE_WEEKS),
            hold: pick(limits::PROMOTION_HOLD_AFTER_WEEKS),
            rungs: vec![pick(limits::AFTER_WEEKS)],
        })
        .collect(),
        allowed_lateness: format_duration(pick_d(limits::ALLOWED_LATENESS)),
        idle_advance_after: format_duration(pick_d(limits::IDLE_ADVANCE_AFTER)),
        max_future_skew: format_duration(pick_d(limits::MAX_FUTURE_SKEW)),
        correction_weeks: pick(limits::CORRECTION_WEEKS),
        batch_max_messages: pick(limits::BATCH_MAX_MESSAGES),
        batch_max_wait: format_duration(pick_d(limits::BATCH_MAX_WAIT)),
    };
    for case in [at(|r| r.0, |r| r.0), at(|r| r.1, |r| r.1)] {
        assert!(case.within_ranges());
        let dir = config_dir(&case);
        let loaded = Config::load_with_env(dir.path(), Vec::<(String, String)>::new())
            .unwrap_or_else(|e| panic!("{e}\n{}\n{}", case.policies_toml(), case.processor_toml()));
        let retention = Processor::new(&loaded.config)
            .engine()
            .rules()
            .retention_weeks;
        assert!(
            i64::from(retention) <= limits::MAX_RETENTION_WEEKS,
            "the engine keeps {retention} weeks, more than the documented maximum"
        );
        let (closed, bound) = drive_bounded(&loaded.config);
        assert!(closed > 0, "the jump to 9999 closes weeks");
        assert!(closed <= bound, "{closed} weeks closed, bound {bound}");
    }
}
