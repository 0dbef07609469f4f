//! Tests of the SPEC v2 policy keys (§4.1): `rule` of each kind, `rolling_weeks` as its v1
//! form, `min_presence` and `unverified_presence`; what loads, and each problem with its
//! place.

use super::*;

/// A valid policy with `extra` lines added.
fn policy(extra: &str) -> String {
    format!("{POLICIES}{extra}\n")
}

/// The one policy loaded from a `policies.toml` of `policy(extra)`.
fn load_policy(extra: &str) -> Policy {
    let dir = TempConfig::new().with("policies.toml", &policy(extra));
    let loaded = load_ok(dir.path(), no_env());
    let policy_warnings = loaded.warnings.iter().filter(|w| w.file == "policies.toml");
    assert_eq!(policy_warnings.count(), 0, "{:?}", loaded.warnings);
    loaded.config.policies[0].clone()
}

/// The problems of a `policies.toml` of `policy(extra)`, all in `policies.toml`.
fn policy_problems(extra: &str) -> Vec<Problem> {
    let dir = TempConfig::new().with("policies.toml", &policy(extra));
    let problems = load_err(dir.path(), no_env());
    assert!(
        problems.iter().all(|p| p.file == "policies.toml"),
        "{problems:#?}"
    );
    problems
}

/// Asserts exactly one problem, at `field` in `policies.toml`, containing `fragment`.
#[track_caller]
fn assert_only_problem(extra: &str, field: &str, fragment: &str) {
    let problems = policy_problems(extra);
    assert_problem(&problems, "policies.toml", field, fragment);
    assert_eq!(problems.len(), 1, "{problems:#?}");
}

#[test]
fn each_rule_kind_loads() {
    let weekly = load_policy("rule = { kind = \"weekly\" }");
    assert_eq!(weekly.rule, Rule::Weekly);
    let rolling = load_policy("rule = { kind = \"rolling_average\", weeks = 4 }");
    assert_eq!(rolling.rule, Rule::RollingAverage { weeks: 4 });
    // Amazon's reported warning rule, exactly as §4.1 writes it.
    let missed = load_policy("rule = {kind = \"missed_weeks\", weeks = 8, max_missed = 4}");
    assert_eq!(
        missed.rule,
        Rule::MissedWeeks {
            weeks: 8,
            max_missed: 4
        }
    );
    assert_eq!(missed.required_days, 3);
    // A table written as a sub-table works as well as an inline one.
    let table = load_policy("[policy.rule]\nkind = \"missed_weeks\"\nweeks = 1\nmax_missed = 0");
    assert_eq!(
        table.rule,
        Rule::MissedWeeks {
            weeks: 1,
            max_missed: 0
        }
    );
}

#[test]
fn rolling_weeks_still_chooses_the_rule() {
    assert_eq!(load_policy("").rule, Rule::Weekly);
    assert_eq!(load_policy("rolling_weeks = 1").rule, Rule::Weekly);
    assert_eq!(
        load_policy("rolling_weeks = 3").rule,
        Rule::RollingAverage { weeks: 3 }
    );
}

#[test]
fn rule_values_at_the_ends_of_their_ranges_load() {
    for (extra, rule) in [
        (
            "rule = { kind = \"rolling_average\", weeks = 2 }",
            Rule::RollingAverage { weeks: 2 },
        ),
        (
            "rule = { kind = \"rolling_average\", weeks = 26 }",
            Rule::RollingAverage { weeks: 26 },
        ),
        (
            "rule = { kind = \"missed_weeks\", weeks = 26, max_missed = 25 }",
            Rule::MissedWeeks {
                weeks: 26,
                max_missed: 25,
            },
        ),
        (
            "rule = { kind = \"missed_weeks\", weeks = 26, max_missed = 0 }",
            Rule::MissedWeeks {
                weeks: 26,
                max_missed: 0,
            },
        ),
    ] {
        assert_eq!(load_policy(extra).rule, rule, "{extra}");
    }
}

#[test]
fn min_presence_and_unverified_presence_load() {
    let none = load_policy("");
    assert_eq!(none.min_presence, None);
    assert_eq!(none.unverified_presence, UnverifiedPresence::Count);
    let counted = load_policy("min_presence = \"2h\"");
    assert_eq!(counted.min_presence, Some(Duration::from_secs(7_200)));
    assert_eq!(counted.unverified_presence, UnverifiedPresence::Count);
    let ignored = load_policy("min_presence = \"1h30m\"\nunverified_presence = \"ignore\"");
    assert_eq!(ignored.min_presence, Some(Duration::from_secs(5_400)));
    assert_eq!(ignored.unverified_presence, UnverifiedPresence::Ignore);
    let explicit = load_policy("min_presence = \"1m\"\nunverified_presence = \"count\"");
    assert_eq!(explicit.min_presence, Some(Duration::from_secs(60)));
    assert_eq!(explicit.unverified_presence, UnverifiedPresence::Count);
    let longest = load_policy("min_presence = \"24h\"");
    assert_eq!(longest.min_presence, Some(Duration::from_secs(86_400)));
}

#[test]
fn rule_and_rolling_weeks_together_are_an_error() {
    assert_only_problem(
        "rolling_weeks = 4\nrule = { kind = \"rolling_average\", weeks = 4 }",
        "policy[0].rule",
        "set either rule or rolling_weeks, not both",
    );
}

#[test]
fn an_unknown_kind_is_named_with_the_known_ones() {
    assert_only_problem(
        "rule = { kind = \"monthly\", weeks = 4 }",
        "policy[0].rule.kind",
        "unknown rule kind \"monthly\" (expected \"weekly\", \"rolling_average\" or \
         \"missed_weeks\")",
    );
}

#[test]
fn missing_kind_weeks_and_max_missed_are_named() {
    assert_only_problem(
        "rule = { weeks = 4 }",
        "policy[0].rule.kind",
        "missing required key",
    );
    assert_only_problem(
        "rule = { kind = \"rolling_average\" }",
        "policy[0].rule.weeks",
        "missing required key",
    );
    let problems = policy_problems("rule = { kind = \"missed_weeks\" }");
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].rule.weeks",
        "missing required key",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].rule.max_missed",
        "missing required key",
    );
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

#[test]
fn a_key_of_another_kind_is_an_error() {
    assert_only_problem(
        "rule = { kind = \"rolling_average\", weeks = 4, max_missed = 1 }",
        "policy[0].rule.max_missed",
        "not a key of rule kind \"rolling_average\" (its keys: kind, weeks)",
    );
    let problems = policy_problems("rule = { kind = \"weekly\", weeks = 1, max_missed = 0 }");
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].rule.weeks",
        "not a key of rule kind \"weekly\" (its keys: kind)",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].rule.max_missed",
        "not a key of rule kind \"weekly\"",
    );
    assert_eq!(problems.len(), 2, "{problems:#?}");
}

#[test]
fn an_unknown_key_or_a_rule_that_is_not_a_table_is_an_error() {
    // Like a misspelt key anywhere: the typo, then the key it should have been.
    let problems = policy_problems("rule = { kind = \"rolling_average\", week = 4 }");
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].rule.week",
        "unknown key `week`, expected one of `kind`, `weeks`, `max_missed`",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].rule.weeks",
        "missing required key",
    );
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert_only_problem(
        "rule = \"weekly\"",
        "policy[0].rule",
        "expected a table such as { kind = \"weekly\" }",
    );
}

#[test]
fn rule_values_out_of_range_are_named_with_their_range() {
    for (extra, field, message) in [
        (
            "rule = { kind = \"rolling_average\", weeks = 1 }",
            "policy[0].rule.weeks",
            "must be between 2 and 26, got 1",
        ),
        (
            "rule = { kind = \"rolling_average\", weeks = 27 }",
            "policy[0].rule.weeks",
            "must be between 2 and 26, got 27",
        ),
        (
            "rule = { kind = \"missed_weeks\", weeks = 0, max_missed = 0 }",
            "policy[0].rule.weeks",
            "must be between 1 and 26, got 0",
        ),
        (
            "rule = { kind = \"missed_weeks\", weeks = 27, max_missed = 4 }",
            "policy[0].rule.weeks",
            "must be between 1 and 26, got 27",
        ),
        (
            "rule = { kind = \"missed_weeks\", weeks = 8, max_missed = -1 }",
            "policy[0].rule.max_missed",
            "must be between 0 and 25, got -1",
        ),
        (
            "rule = { kind = \"missed_weeks\", weeks = 8, max_missed = 8 }",
            "policy[0].rule.max_missed",
            "must be less than weeks (8), got 8",
        ),
        (
            "rule = { kind = \"missed_weeks\", weeks = 1, max_missed = 1 }",
            "policy[0].rule.max_missed",
            "must be less than weeks (1), got 1",
        ),
    ] {
        assert_only_problem(extra, field, message);
    }
}

#[test]
fn min_presence_out_of_range_or_not_a_duration_is_an_error() {
    for (extra, message) in [
        (
            "min_presence = \"59s\"",
            "must be between 1m and 1d, got \"59s\"",
        ),
        (
            "min_presence = \"24h1s\"",
            "must be between 1m and 1d, got \"24h1s\"",
        ),
        ("min_presence = \"0s\"", "must be longer than zero"),
        ("min_presence = \"2 hours\"", "invalid duration \"2 hours\""),
        ("min_presence = 120", "a duration string such as \"30s\""),
    ] {
        assert_only_problem(extra, "policy[0].min_presence", message);
    }
}

#[test]
fn unverified_presence_must_be_count_or_ignore_and_needs_min_presence() {
    assert_only_problem(
        "min_presence = \"2h\"\nunverified_presence = \"maybe\"",
        "policy[0].unverified_presence",
        "must be \"count\" or \"ignore\", got \"maybe\"",
    );
    assert_only_problem(
        "unverified_presence = \"ignore\"",
        "policy[0].unverified_presence",
        "needs min_presence",
    );
    // Said once: a min_presence that is present but wrong is its own problem.
    assert_only_problem(
        "min_presence = \"2d\"\nunverified_presence = \"ignore\"",
        "policy[0].min_presence",
        "must be between 1m and 1d",
    );
    assert_only_problem(
        "min_presence = 7200\nunverified_presence = \"ignore\"",
        "policy[0].min_presence",
        "invalid type",
    );
}

#[test]
fn problems_of_several_policies_are_reported_together() {
    let two = format!(
        "{}{}",
        policy("rolling_weeks = 2\nrule = { kind = \"weekly\" }\nunverified_presence = \"x\""),
        policy("rule = { kind = \"missed_weeks\", weeks = 4, max_missed = 9 }")
            .replace("rto-3", "rto-4")
            .replace("corporate", "sales"),
    );
    let dir = TempConfig::new().with("policies.toml", &two);
    let problems = load_err(dir.path(), no_env());
    let expected = [
        ("policy[0].rule", "not both"),
        ("policy[0].unverified_presence", "got \"x\""),
        ("policy[0].unverified_presence", "needs min_presence"),
        (
            "policy[1].rule.max_missed",
            "must be less than weeks (4), got 9",
        ),
    ];
    for (field, fragment) in expected {
        assert_problem(&problems, "policies.toml", field, fragment);
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
}
