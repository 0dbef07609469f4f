//! Tests of the ranges of `config::limits`: each class of out-of-range value (too large, too
//! small, an overflowing duration, too many entries, a zero interval) is reported with its
//! place, all of them at once, and hostile text cannot make a problem span several lines.

use super::*;
use crate::config::limits;

fn policy(extra: &str) -> String {
    format!(
        "[[policy]]\nid = \"p\"\nversion = 1\npolicy_groups = [\"g\"]\n\
         effective_from = \"2026-05-04\"\nrequired_days = 3\n{extra}\n"
    )
}

/// A second policy (id "p2", group "g2") with `extra` lines, for the v2 keys that may not
/// stand next to `rolling_weeks`.
fn second_policy(extra: &str) -> String {
    policy(extra)
        .replace("\"p\"", "\"p2\"")
        .replace("\"g\"", "\"g2\"")
}

#[test]
fn too_large_values_are_named_with_their_range() {
    let dir = TempConfig::new()
        .with(
            "policies.toml",
            &[
                policy(
                    "rolling_weeks = 1000000\nnew_hire_grace_weeks = 105\n\
                     promotion_hold_after_weeks = 4294967295\n\
                     escalation = [{ after_weeks = 521, level = \"x\" }]",
                ),
                second_policy(
                    "rule = { kind = \"missed_weeks\", weeks = 27, max_missed = 26 }\n\
                     min_presence = \"24h1ms\"",
                ),
            ]
            .concat(),
        )
        .with(
            "processor.toml",
            "[time]\ncorrection_weeks = 53\n[state]\nbatch_max_messages = 100001\n",
        );
    let problems = load_err(dir.path(), no_env());
    let p = "policies.toml";
    assert_problem(
        &problems,
        p,
        "policy[0].rolling_weeks",
        "must be between 1 and 26, got 1000000",
    );
    assert_problem(
        &problems,
        p,
        "policy[0].new_hire_grace_weeks",
        "between 0 and 104, got 105",
    );
    assert_problem(
        &problems,
        p,
        "policy[0].promotion_hold_after_weeks",
        "between 0 and 520, got 4294967295",
    );
    assert_problem(
        &problems,
        p,
        "policy[0].escalation[0].after_weeks",
        "between 1 and 520, got 521",
    );
    assert_problem(
        &problems,
        p,
        "policy[1].rule.weeks",
        "between 1 and 26, got 27",
    );
    assert_problem(
        &problems,
        p,
        "policy[1].rule.max_missed",
        "between 0 and 25, got 26",
    );
    assert_problem(
        &problems,
        p,
        "policy[1].min_presence",
        "between 1m and 1d, got \"24h1ms\"",
    );
    let f = "processor.toml";
    assert_problem(
        &problems,
        f,
        "time.correction_weeks",
        "between 0 and 52, got 53",
    );
    assert_problem(
        &problems,
        f,
        "state.batch_max_messages",
        "between 1 and 100000, got 100001",
    );
    assert_eq!(problems.len(), 9, "{problems:#?}");
}

#[test]
fn too_small_values_are_named_with_their_range() {
    let dir = TempConfig::new()
        .with(
            "policies.toml",
            &(policy("rolling_weeks = -5\nnew_hire_grace_weeks = -1")
                + &second_policy(
                    "rule = { kind = \"rolling_average\", weeks = 1 }\nmin_presence = \"59s\"",
                )),
        )
        .with("processor.toml", "[time]\nidle_advance_after = \"999ms\"\n");
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].rolling_weeks",
        "between 1 and 26, got -5",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].new_hire_grace_weeks",
        "got -1",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[1].rule.weeks",
        "between 2 and 26, got 1",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[1].min_presence",
        "between 1m and 1d, got \"59s\"",
    );
    assert_problem(
        &problems,
        "processor.toml",
        "time.idle_advance_after",
        "must be between 1s and 3650d, got \"999ms\"",
    );
}

#[test]
fn durations_that_would_overflow_date_arithmetic_are_refused() {
    let dir = TempConfig::new().with(
        "processor.toml",
        "[time]\nallowed_lateness = \"100000000d\"\nmax_future_skew = \"213503982334d\"\n",
    );
    let problems = load_err(
        dir.path(),
        env(&[(
            "ATTENDANCE__TIME__IDLE_ADVANCE_AFTER",
            "18446744073709551615ms",
        )]),
    );
    assert_problem(
        &problems,
        "processor.toml",
        "time.allowed_lateness",
        "must be between 0s and 90d, got \"100000000d\"",
    );
    assert_problem(
        &problems,
        "processor.toml",
        "time.max_future_skew",
        "between 0s and 30d",
    );
    assert_problem(
        &problems,
        "environment",
        "ATTENDANCE__TIME__IDLE_ADVANCE_AFTER",
        "between 1s and 3650d",
    );
    // Beyond u64 milliseconds the parser itself refuses.
    let problems = load_err(
        dir.path(),
        env(&[("ATTENDANCE__STATE__BATCH_MAX_WAIT", "99999999999999999999d")]),
    );
    assert_problem(
        &problems,
        "environment",
        "ATTENDANCE__STATE__BATCH_MAX_WAIT",
        "too large",
    );
}

#[test]
fn zero_intervals_are_refused() {
    let dir = TempConfig::new().with(
        "processor.toml",
        "[time]\nidle_advance_after = \"0s\"\n[state]\nbatch_max_wait = \"0ms\"\nbatch_max_messages = 0\n",
    );
    let problems = load_err(dir.path(), no_env());
    let f = "processor.toml";
    assert_problem(
        &problems,
        f,
        "time.idle_advance_after",
        "must be longer than zero (between 1s and 3650d)",
    );
    assert_problem(
        &problems,
        f,
        "state.batch_max_wait",
        "must be longer than zero (between 1ms and 10s)",
    );
    assert_problem(
        &problems,
        f,
        "state.batch_max_messages",
        "between 1 and 100000, got 0",
    );
}

#[test]
fn too_many_policies_groups_and_rungs_are_refused() {
    let groups: Vec<String> = (0..=limits::MAX_POLICY_GROUPS)
        .map(|i| format!("\"g{i}\""))
        .collect();
    let rungs: Vec<String> = (1..=limits::MAX_ESCALATION_RUNGS + 1)
        .map(|i| format!("{{ after_weeks = {i}, level = \"l{i}\" }}"))
        .collect();
    let mut policies = format!(
        "[[policy]]\nid = \"wide\"\nversion = 1\npolicy_groups = [{}]\n\
         effective_from = \"2026-05-04\"\nrequired_days = 3\nescalation = [{}]\n",
        groups.join(", "),
        rungs.join(", ")
    );
    for i in 0..limits::MAX_POLICIES {
        policies.push_str(&policy("").replace("id = \"p\"", &format!("id = \"p{i}\"")));
    }
    let dir = TempConfig::new().with("policies.toml", &policies);
    let problems = load_err(dir.path(), no_env());
    let p = "policies.toml";
    assert_problem(
        &problems,
        p,
        "policy",
        "1001 [[policy]] tables; at most 1000 are allowed",
    );
    assert_problem(
        &problems,
        p,
        "policy[0].policy_groups",
        "10001 policy groups; at most 10000",
    );
    assert_problem(
        &problems,
        p,
        "policy[0].escalation",
        "33 escalation rungs; at most 32",
    );
}

#[test]
fn too_many_distinct_groups_over_all_policies_are_refused() {
    let mut policies = String::new();
    for i in 0..10 {
        let groups: Vec<String> = (0..1001).map(|g| format!("\"g{i}-{g}\"")).collect();
        policies.push_str(&format!(
            "[[policy]]\nid = \"p{i}\"\nversion = 1\npolicy_groups = [{}]\n\
             effective_from = \"2026-05-04\"\nrequired_days = 3\n",
            groups.join(", ")
        ));
    }
    let dir = TempConfig::new().with("policies.toml", &policies);
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "policies.toml",
        "policy",
        "10010 distinct policy groups over all policies",
    );
}

#[test]
fn too_many_sites_regions_and_dates_are_refused() {
    let mut sites = String::new();
    for i in 0..=limits::MAX_SITES {
        sites.push_str(&format!(
            "[[site]]\nid = \"S{i}\"\ntimezone = \"UTC\"\nregion = \"US\"\n"
        ));
    }
    let mut holidays = String::from("[holidays]\n");
    for i in 0..=limits::MAX_HOLIDAY_REGIONS {
        holidays.push_str(&format!("R{i} = []\n"));
    }
    let dates: Vec<String> = (0..=limits::MAX_HOLIDAYS_PER_REGION)
        .map(|d| format!("\"{}\"", date("2026-01-01") + chrono::Days::new(d as u64)))
        .collect();
    holidays.push_str(&format!("US = [{}]\n", dates.join(", ")));
    let dir = TempConfig::new()
        .with("sites.toml", &sites)
        .with("holidays.toml", &holidays);
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "sites.toml",
        "site",
        "10001 [[site]] tables; at most 10000",
    );
    assert_problem(
        &problems,
        "holidays.toml",
        "holidays",
        "1002 holiday regions; at most 1000",
    );
    assert_problem(
        &problems,
        "holidays.toml",
        "holidays.US",
        "1001 dates; at most 1000",
    );
}

#[test]
fn dates_outside_the_window_are_refused() {
    let dir = TempConfig::new()
        .with(
            "holidays.toml",
            "[holidays]\nUS = [\"1969-12-31\", 0001-01-01]\n",
        )
        .with(
            "policies.toml",
            &policy("").replace("2026-05-04", "0000-01-03"),
        );
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "holidays.toml",
        "holidays.US[0]",
        "between 1970-01-01 and 9999-12-31, got 1969-12-31",
    );
    assert_problem(
        &problems,
        "holidays.toml",
        "holidays.US[1]",
        "got 0001-01-01",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].effective_from",
        "got 0000-01-03",
    );
}

#[test]
fn long_names_and_names_with_control_characters_are_refused() {
    let long = "x".repeat(limits::MAX_NAME_BYTES + 1);
    let dir = TempConfig::new()
        .with(
            "sites.toml",
            &format!("[[site]]\nid = \"{long}\"\ntimezone = \"UTC\"\nregion = \"U\\u001b[31mS\"\n"),
        )
        .with(
            "policies.toml",
            &policy("escalation = [{ after_weeks = 1, level = \"a\\nb\" }]")
                .replace("[\"g\"]", "[\"g\\r\"]"),
        )
        .with("processor.toml", "[kafka]\ngroup_id = \"a\\u0007b\"\n");
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "sites.toml",
        "site[0].id",
        "must be 1 to 128 bytes, got 129 bytes",
    );
    assert_problem(
        &problems,
        "sites.toml",
        "site[0].region",
        "must not contain control characters, got \"U\\u{1b}[31mS\"",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].policy_groups[0]",
        "control characters",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].escalation[0].level",
        "control characters",
    );
    assert_problem(
        &problems,
        "processor.toml",
        "kafka.group_id",
        "control characters",
    );
    assert_no_raw_controls(&problems);
}

#[track_caller]
fn assert_no_raw_controls(problems: &[Problem]) {
    for problem in problems {
        let shown = problem.to_string();
        assert!(
            !shown.chars().any(crate::config::is_unsafe_char),
            "raw control character in {shown:?}"
        );
    }
}

#[test]
fn environment_names_and_values_with_control_characters_stay_on_one_line() {
    let problems = load_err(
        &fixture("valid/minimal"),
        env(&[
            (
                "ATTENDANCE__TIME__ALLOWED_LATENESS",
                "1h\r\nFAKE: all good\u{1b}[2J",
            ),
            ("ATTENDANCE__NO\nPE__X\u{1b}]0;title\u{7}", "1"),
            ("ATTENDANCE__LOG__FORMAT", "\u{202e}json"),
            ("ATTENDANCE__TIME__CORRECTION_WEEKS", "4\n"),
            ("ATTENDANCE__KAFKA__CLIENT__X\u{9b}Y", "v"),
        ]),
    );
    assert_eq!(problems.len(), 5, "{problems:#?}");
    assert_no_raw_controls(&problems);
    assert_problem(
        &problems,
        "environment",
        "ATTENDANCE__TIME__ALLOWED_LATENESS",
        "\\r\\nFAKE: all good\\u{1b}[2J",
    );
    assert_problem(
        &problems,
        "environment",
        "ATTENDANCE__NO\\nPE__X\\u{1b}]0;title\\u{7}",
        "",
    );
    assert_problem(
        &problems,
        "environment",
        "ATTENDANCE__LOG__FORMAT",
        "\\u{202e}json",
    );
    let listed = ConfigErrors { problems }.to_string();
    assert_eq!(listed.lines().count(), 5, "{listed}");
}

#[test]
fn a_problem_built_field_by_field_still_displays_on_one_line() {
    let problem = Problem {
        file: "a\nb".to_owned(),
        field: "c\rd".to_owned(),
        message: "e\u{1b}f".to_owned(),
    };
    assert_eq!(problem.to_string(), "a\\nb: c\\rd: e\\u{1b}f");
}

#[test]
fn a_file_over_the_size_limit_is_refused_unread() {
    let dir = TempConfig::new();
    let big = std::fs::File::create(dir.path().join("processor.toml")).expect("create");
    big.set_len(limits::MAX_FILE_BYTES + 1)
        .expect("sparse file");
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "processor.toml",
        "",
        "larger than 16777216 bytes",
    );
}

#[test]
fn a_file_of_many_typos_is_reported_in_bounded_time_and_length() {
    let mut text = String::from("[time]\n");
    for i in 0..20_000 {
        text.push_str(&format!("typo{i} = 1\n"));
    }
    let dir = TempConfig::new().with("processor.toml", &text);
    let problems = load_err(dir.path(), no_env());
    assert_eq!(
        problems.len(),
        limits::MAX_KEY_PROBLEMS_PER_FILE + 1,
        "{:?}",
        problems.last()
    );
    assert_problem(&problems, "processor.toml", "", "stopped reading this file");
}

#[test]
fn the_list_of_problems_is_capped_and_counts_the_rest() {
    let mut policies = String::new();
    for i in 0..(limits::MAX_REPORTED_PROBLEMS + 10) {
        policies.push_str(
            &policy("required_days = 9").replace("id = \"p\"", &format!("id = \"p{i}\"")),
        );
    }
    let policies = policies.replace("required_days = 3\n", "");
    let dir = TempConfig::new().with("policies.toml", &policies);
    let problems = load_err(dir.path(), no_env());
    assert_eq!(problems.len(), limits::MAX_REPORTED_PROBLEMS + 1);
    assert_problem(
        &problems,
        "configuration",
        "",
        "11 more problems not listed",
    );
}

#[test]
fn a_file_that_is_not_utf8_is_named() {
    let dir = TempConfig::new();
    std::fs::write(dir.path().join("sites.toml"), b"[[site]]\nid = \"\xff\"\n").expect("write");
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "sites.toml",
        "",
        "not UTF-8 (invalid byte at offset 15)",
    );
}

#[test]
fn deeply_nested_toml_is_an_error_not_a_stack_overflow() {
    let text = format!("x = {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let dir = TempConfig::new().with("processor.toml", &text);
    let problems = load_err(dir.path(), no_env());
    assert!(
        problems.iter().all(|p| p.file == "processor.toml"),
        "{problems:#?}"
    );
}

#[test]
fn values_at_the_ends_of_every_range_load() {
    let dir = TempConfig::new()
        .with(
            "policies.toml",
            &[
                policy(
                    "rolling_weeks = 26\nnew_hire_grace_weeks = 104\n\
                     promotion_hold_after_weeks = 520\n\
                     escalation = [{ after_weeks = 520, level = \"x\" }]",
                )
                .replace("2026-05-04", "9999-12-27"),
                second_policy(
                    "rule = { kind = \"missed_weeks\", weeks = 26, max_missed = 25 }\n\
                     min_presence = \"24h\"",
                ),
                second_policy("min_presence = \"1m\"")
                    .replace("2026-05-04", "2026-05-11")
                    .replace("p2", "p3"),
                second_policy("rule = { kind = \"rolling_average\", weeks = 26 }")
                    .replace("2026-05-04", "2026-05-18")
                    .replace("p2", "p4"),
            ]
            .concat(),
        )
        .with(
            "holidays.toml",
            "[holidays]\nUS = [1970-01-01, \"9999-12-31\"]\n",
        )
        .with(
            "processor.toml",
            "[time]\nallowed_lateness = \"90d\"\nidle_advance_after = \"3650d\"\n\
             max_future_skew = \"30d\"\ncorrection_weeks = 52\n\
             [state]\nbatch_max_messages = 100000\nbatch_max_wait = \"10s\"\n",
        );
    let loaded = load_ok(dir.path(), no_env());
    let policies = &loaded.config.policies;
    assert_eq!(policies[0].rule.window_weeks(), 26);
    assert_eq!(
        policies[1].rule,
        Rule::MissedWeeks {
            weeks: 26,
            max_missed: 25
        }
    );
    assert_eq!(policies[1].min_presence, Some(Duration::from_secs(86_400)));
    assert_eq!(policies[2].min_presence, Some(Duration::from_secs(60)));
    assert_eq!(policies[3].rule, Rule::RollingAverage { weeks: 26 });
    assert_eq!(loaded.config.processor.time.correction_weeks, 52);
}

#[test]
fn a_batch_must_close_before_the_transaction_timeout() {
    let dir = TempConfig::new().with("processor.toml", "[state]\nbatch_max_wait = \"10s\"\n");
    let problems = load_err(
        dir.path(),
        env(&[("ATTENDANCE__KAFKA__CLIENT__TRANSACTION_TIMEOUT_MS", "10000")]),
    );
    assert_problem(
        &problems,
        "processor.toml",
        "state.batch_max_wait",
        "10s is not shorter than kafka.client.transaction.timeout.ms (10000 ms)",
    );
    let problems = load_err(
        dir.path(),
        env(&[("ATTENDANCE__KAFKA__CLIENT__TRANSACTION_TIMEOUT_MS", "ten")]),
    );
    assert_problem(
        &problems,
        "environment",
        "ATTENDANCE__KAFKA__CLIENT__TRANSACTION_TIMEOUT_MS",
        "expected a whole number of milliseconds, got \"ten\"",
    );
    let dir = TempConfig::new().with("processor.toml", "[state]\nbatch_max_wait = \"9s\"\n");
    load_ok(
        dir.path(),
        env(&[("ATTENDANCE__KAFKA__CLIENT__TRANSACTION_TIMEOUT_MS", "10000")]),
    );
}

mod arbitrary_text {
    use super::*;
    use proptest::prelude::*;

    /// Lines built from real keys and sections, numbers, durations, dates and hostile text.
    fn line() -> impl Strategy<Value = String> {
        let key = prop_oneof![
            Just("allowed_lateness"),
            Just("correction_weeks"),
            Just("batch_max_wait"),
            Just("rolling_weeks"),
            Just("required_days"),
            Just("policy_groups"),
            Just("effective_from"),
            Just("id"),
            Just("\"a\\u001bb\""),
        ];
        let value = prop_oneof![
            any::<i64>().prop_map(|n| n.to_string()),
            "[0-9]{1,25}(ms|s|m|h|d)".prop_map(|d| format!("\"{d}\"")),
            "[0-9]{4}-[0-9]{2}-[0-9]{2}",
            "\\PC{0,12}".prop_map(|t| format!("{t:?}")),
            "[\\x00-\\x1f\\[\\]{}=\"',.]{0,12}",
        ];
        prop_oneof![
            Just("[time]".to_owned()),
            Just("[state]".to_owned()),
            Just("[[policy]]".to_owned()),
            Just("[[site]]".to_owned()),
            (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// Whatever the files hold, loading returns (no panic) and every problem is one line
        /// without control characters.
        #[test]
        fn any_text_loads_or_is_reported_on_single_lines(
            processor in proptest::collection::vec(line(), 0..12),
            policies in proptest::collection::vec(line(), 0..12),
            variable in "\\PC{0,6}[\\x00-\\x1f]?",
        ) {
            let dir = TempConfig::new()
                .with("processor.toml", &processor.join("\n"))
                .with("policies.toml", &policies.join("\n"));
            let name = format!("ATTENDANCE__TIME__{variable}");
            let result = Config::load_with_env(dir.path(), env(&[(name.as_str(), "1\n")]));
            if let Err(errors) = result {
                prop_assert!(!errors.problems.is_empty());
                for problem in &errors.problems {
                    let shown = problem.to_string();
                    prop_assert!(
                        !shown.chars().any(crate::config::is_unsafe_char),
                        "{:?}", shown
                    );
                }
            }
        }
    }
}
