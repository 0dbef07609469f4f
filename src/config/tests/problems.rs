//! Tests that every kind of problem is found, named (file, field, message) and reported
//! together with all the others.

use super::*;

#[test]
fn bad_and_unknown_environment_variables_are_named() {
    let problems = load_err(
        &fixture("valid/minimal"),
        env(&[
            ("ATTENDANCE__TIME__ALLOWED_LATENESS", "2 days"),
            ("ATTENDANCE__TIME__CORRECTION_WEEKS", "four"),
            ("ATTENDANCE__TIME__IDLE_ADVANCE", "5m"),
            ("ATTENDANCE__SITES__SEA", "x"),
            ("ATTENDANCE__PRIVACY__LOG_EMPLOYEE_IDS", "yes"),
            ("ATTENDANCE__STATE__BATCH_MAX_MESSAGES", "0"),
            ("ATTENDANCE__KAFKA__CLIENT", "x"),
            ("ATTENDANCE__KAFKA__CLIENT__GROUP_ID", "other"),
            ("ATTENDANCE__LOG", "debug"),
            ("attendance__log__level", ""),
            ("ATTENDANCE__LOG__LEVEL", "info"),
        ]),
    );
    let env = "environment";
    assert_problem(
        &problems,
        env,
        "ATTENDANCE__TIME__ALLOWED_LATENESS",
        "invalid duration \"2 days\"",
    );
    assert_problem(
        &problems,
        env,
        "ATTENDANCE__TIME__CORRECTION_WEEKS",
        "expected a whole number, got \"four\"",
    );
    assert_problem(
        &problems,
        env,
        "ATTENDANCE__TIME__IDLE_ADVANCE",
        "unknown key `idle_advance`",
    );
    assert_problem(
        &problems,
        env,
        "ATTENDANCE__SITES__SEA",
        "unknown key `sites`",
    );
    assert_problem(
        &problems,
        env,
        "ATTENDANCE__PRIVACY__LOG_EMPLOYEE_IDS",
        "expected true or false",
    );
    assert_problem(
        &problems,
        env,
        "ATTENDANCE__STATE__BATCH_MAX_MESSAGES",
        "must be between 1 and",
    );
    assert_problem(
        &problems,
        env,
        "ATTENDANCE__KAFKA__CLIENT",
        "name the property",
    );
    assert_problem(
        &problems,
        env,
        "ATTENDANCE__KAFKA__CLIENT__GROUP_ID",
        "set kafka.group_id instead",
    );
    assert_problem(
        &problems,
        env,
        "ATTENDANCE__LOG",
        "expected ATTENDANCE__<SECTION>__<KEY>",
    );
    assert_problem(
        &problems,
        env,
        "attendance__log__level",
        "sets the same setting as ATTENDANCE__LOG__LEVEL",
    );
    assert_eq!(problems.len(), 10, "{problems:#?}");
}

#[test]
fn unknown_keys_are_rejected_with_their_path_and_position() {
    let dir = TempConfig::new()
        .with(
            "sites.toml",
            "[[site]]\nid = \"SEA-1\"\ntimezone = \"America/Los_Angeles\"\nregion = \"US\"\n\
             tz = \"UTC\"\nfloor = 3\n",
        )
        .with(
            "policies.toml",
            &format!("{POLICIES}escalation = [ {{ after_weeks = 1, lvl = \"notice\" }} ]\n"),
        )
        .with(
            "processor.toml",
            "[state]\nbatch_size = 5\n\n[metrics]\nport = 1\n",
        );
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "sites.toml",
        "site[0].tz",
        "unknown key `tz`, expected one of",
    );
    assert_problem(&problems, "sites.toml", "site[0].tz", "at line 5, column 1");
    assert_problem(
        &problems,
        "sites.toml",
        "site[0].floor",
        "unknown key `floor`",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].escalation[0].lvl",
        "unknown key `lvl`",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].escalation[0].level",
        "missing required key",
    );
    assert_problem(
        &problems,
        "processor.toml",
        "state.batch_size",
        "at line 2, column 1",
    );
    assert_problem(
        &problems,
        "processor.toml",
        "metrics",
        "unknown key `metrics`",
    );
    assert_eq!(problems.len(), 6, "{problems:#?}");
}

#[test]
fn a_value_of_the_wrong_type_is_reported_once_and_does_not_hide_the_rest() {
    let dir = TempConfig::new().with(
        "policies.toml",
        "[[policy]]\nid = \"rto-3\"\nversion = \"one\"\npolicy_groups = [\"a\", 5]\n\
         effective_from = 2026-05-04T09:00:00\nrequired_days = 8\n",
    );
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].version",
        "invalid type: string \"one\"",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].policy_groups[1]",
        "invalid type: integer `5`",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].effective_from",
        "without time",
    );
    assert_problem(
        &problems,
        "policies.toml",
        "policy[0].required_days",
        "must be between 0 and 7, got 8",
    );
    assert_eq!(
        problems.len(),
        4,
        "no 'missing' for unreadable keys: {problems:#?}"
    );
}

#[test]
fn every_problem_in_every_file_is_reported_at_once() {
    let problems = load_err(
        &fixture("invalid/many-problems"),
        env(&[
            ("ATTENDANCE__TIME__MAX_FUTURE_SKEW", "forever"),
            ("ATTENDANCE__NOPE__X", "1"),
        ]),
    );
    let expected = [
        ("sites.toml", "site[1].id", "must not be empty"),
        ("sites.toml", "site[1].timezone", "unknown IANA time zone \"Mars/Olympus_Mons\""),
        ("sites.toml", "site[1].region", "must not be empty"),
        ("sites.toml", "site[2].id", "duplicate site id \"SEA-1\", also site[0]"),
        ("sites.toml", "site[3].building", "unknown key `building`"),
        ("holidays.toml", "holidays.US[1]", "expected a date as YYYY-MM-DD, got \"2026-5-4\""),
        ("holidays.toml", "holidays.US[2]", "\"2026-02-30\" is not a calendar date"),
        ("policies.toml", "policy[0].id", "missing required key"),
        ("policies.toml", "policy[0].version", "missing required key"),
        ("policies.toml", "policy[0].policy_groups", "at least one policy group"),
        ("policies.toml", "policy[0].required_days", "must be between 0 and 7, got 9"),
        ("policies.toml", "policy[0].rolling_weeks", "must be between 1 and 26, got 0"),
        ("policies.toml", "policy[1].escalation[1].after_weeks", "escalation rungs out of order"),
        ("policies.toml", "policy[1].escalation[2].after_weeks", "must be between 1 and 520, got 0"),
        ("policies.toml", "policy[1].escalation[3].level", "must not be empty"),
        ("policies.toml", "policy[3].effective_from", "policy group \"corporate\" has two entries effective from 2026-05-04: policy[2] (\"rto-3\" version 1) and policy[3] (\"rto-4\" version 1)"),
        ("policies.toml", "policy[4]", "duplicate policy id \"rto-3\" version 1, also policy[2]"),
        ("policies.toml", "policy[5].effective_from", "expected a date as YYYY-MM-DD, got \"May 4th\""),
        ("policies.toml", "policy[5].requried_days", "unknown key `requried_days`"),
        ("policies.toml", "policy[5].required_days", "missing required key"),
        ("policies.toml", "policy[6].rule", "set either rule or rolling_weeks, not both"),
        ("policies.toml", "policy[6].rule.max_missed", "must be less than weeks (4), got 4"),
        ("policies.toml", "policy[6].unverified_presence", "needs min_presence"),
        ("policies.toml", "policy[7].rule.kind", "unknown rule kind \"monthly\""),
        ("policies.toml", "policy[7].min_presence", "must be between 1m and 1d, got \"30s\""),
        ("processor.toml", "time.allowed_lateness", "invalid duration \"24 hours\""),
        ("processor.toml", "time.correction_weeks", "must be between 0 and 52, got 60"),
        ("processor.toml", "topics.alerts", "topic \"compliance-decisions\" is also used for topics.decisions"),
        ("processor.toml", "http.listen", "expected IP:port"),
        ("processor.toml", "state.batch_size", "unknown key `batch_size`"),
        ("processor.toml", "log.format", "must be \"auto\", \"text\" or \"json\", got \"yaml\""),
        ("environment", "ATTENDANCE__TIME__MAX_FUTURE_SKEW", "invalid duration \"forever\""),
        ("environment", "ATTENDANCE__NOPE__X", "unknown key `nope`"),
    ];
    for (file, field, fragment) in expected {
        assert_problem(&problems, file, field, fragment);
    }
    assert_eq!(problems.len(), expected.len(), "{problems:#?}");
}

#[test]
fn warnings_do_not_stop_loading() {
    let dir = TempConfig::new()
        .with(
            "holidays.toml",
            "[holidays]\nUS = [\"2026-05-25\"]\nXX = [2026-01-01]\n",
        )
        .with(
            "policies.toml",
            &POLICIES
                .replace("2026-05-04", "2026-05-06")
                .replace("= 3", "= 6"),
        )
        .with("processor.toml", "[log]\nlevel = \"verbose\"\n");
    let loaded = load_ok(dir.path(), no_env());
    let warnings = &loaded.warnings;
    assert_problem(
        warnings,
        "holidays.toml",
        "holidays.XX",
        "no site has region \"XX\"",
    );
    assert_problem(warnings, "policies.toml", "policy[0].effective_from", "2026-05-06 is a Wednesday, not a Monday; the first week evaluated under this policy starts 2026-05-11");
    assert_problem(
        warnings,
        "policies.toml",
        "policy[0].required_days",
        "nobody can comply",
    );
    assert_problem(warnings, "processor.toml", "log.level", "not a level");
    assert_problem(
        warnings,
        "processor.toml",
        "privacy.pseudonym_key",
        "development key",
    );
    assert_eq!(warnings.len(), 5, "{warnings:#?}");
    assert_eq!(loaded.config.policies[0].effective_from, date("2026-05-06"));
}

#[test]
fn missing_required_files_are_each_named() {
    let problems = load_err(&fixture("invalid/missing-files"), no_env());
    for file in ["sites.toml", "holidays.toml", "policies.toml"] {
        assert_problem(&problems, file, "", "required file is missing");
    }
    assert_eq!(problems.len(), 3, "{problems:#?}");
}

#[test]
fn a_missing_directory_is_one_problem() {
    let problems = load_err(&fixture("does-not-exist"), no_env());
    assert_eq!(problems.len(), 1);
    assert!(problems[0].message.contains("directory not found"));
}

#[test]
fn syntax_errors_give_line_and_column() {
    let problems = load_err(&fixture("invalid/syntax-error"), no_env());
    assert_problem(
        &problems,
        "sites.toml",
        "",
        "syntax error at line 3, column 32",
    );
    assert!(
        problems.iter().all(|p| p.file == "sites.toml"),
        "{problems:#?}"
    );
}

#[test]
fn processor_values_are_checked() {
    let dir = TempConfig::new().with(
        "processor.toml",
        "[time]\nidle_advance_after = \"0s\"\nmax_future_skew = 30\n\n\
         [kafka]\nbrokers = \"a:9092,\"\ngroup_id = \" \"\n\n\
         [kafka.client]\n\"bootstrap.servers\" = \"x\"\n\"ssl.ca.location\" = [1]\n\n\
         [topics]\nbadges = \"badge events\"\n\n[privacy]\npseudonym_key = \"short\"\n",
    );
    let problems = load_err(dir.path(), no_env());
    let file = "processor.toml";
    assert_problem(
        &problems,
        file,
        "time.idle_advance_after",
        "must be longer than zero",
    );
    assert_problem(
        &problems,
        file,
        "time.max_future_skew",
        "expected a duration string such as \"30s\"",
    );
    assert_problem(&problems, file, "kafka.brokers", "comma-separated");
    assert_problem(&problems, file, "kafka.group_id", "must not be empty");
    assert_problem(
        &problems,
        file,
        "kafka.client.bootstrap.servers",
        "set kafka.brokers instead",
    );
    assert_problem(&problems, file, "kafka.client.ssl.ca.location", "got array");
    assert_problem(
        &problems,
        file,
        "topics.badges",
        "invalid Kafka topic name \"badge events\"",
    );
    assert_eq!(problems.len(), 7, "{problems:#?}");
}

#[test]
fn empty_files_are_problems_where_nothing_could_run() {
    let dir = TempConfig::new()
        .with("sites.toml", "# no sites\n")
        .with("holidays.toml", "")
        .with("policies.toml", "");
    let problems = load_err(dir.path(), no_env());
    assert_problem(
        &problems,
        "sites.toml",
        "site",
        "at least one site is required",
    );
    assert_eq!(problems.len(), 1, "{problems:#?}");
}
