//! Tests of loading whole configuration directories: the shipped example in `config/`, the
//! fixtures in `tests/fixtures/config/`, and small directories written per test.
//!
//! This file holds the helpers and the tests of what loads; `problems` tests what does not,
//! `ranges` the ends of every range, `rules` the v2 policy keys (§4.1) and `examples` the
//! commented-out example policies of `config/policies.toml`.

mod api;
mod examples;
mod problems;
mod ranges;
mod rules;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;

use super::raw::{
    RawApi, RawHttp, RawKafka, RawLog, RawPrivacy, RawProcessor, RawState, RawTime, RawTopics,
};
use super::*;

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/config")
        .join(name)
}

fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_string()))
        .collect()
}

fn load_ok(dir: &Path, env: Vec<(String, String)>) -> Loaded {
    Config::load_with_env(dir, env)
        .unwrap_or_else(|errors| panic!("{} should load, got:\n{errors}", dir.display()))
}

fn load_err(dir: &Path, env: Vec<(String, String)>) -> Vec<Problem> {
    match Config::load_with_env(dir, env) {
        Ok(loaded) => panic!("{} should not load: {loaded:?}", dir.display()),
        Err(errors) => {
            assert!(!errors.problems.is_empty(), "errors without problems");
            errors.problems
        }
    }
}

/// Asserts that `problems` has one for `file` and `field` whose message contains `fragment`.
#[track_caller]
fn assert_problem(problems: &[Problem], file: &str, field: &str, fragment: &str) {
    let found = problems
        .iter()
        .any(|p| p.file == file && p.field == field && p.message.contains(fragment));
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert!(
        found,
        "expected {file}: {field}: ...{fragment}..., got:\n{}",
        listed.join("\n")
    );
}

const SITES: &str =
    "[[site]]\nid = \"SEA-1\"\ntimezone = \"America/Los_Angeles\"\nregion = \"US\"\n";
const HOLIDAYS: &str = "[holidays]\nUS = [\"2026-05-25\"]\n";
const POLICIES: &str = "[[policy]]\nid = \"rto-3\"\nversion = 1\npolicy_groups = [\"corporate\"]\n\
                        effective_from = \"2026-05-04\"\nrequired_days = 3\n";

/// A valid three-file configuration in a temporary directory, with files replaced per test.
struct TempConfig(tempfile::TempDir);

impl TempConfig {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        for (name, text) in [
            ("sites.toml", SITES),
            ("holidays.toml", HOLIDAYS),
            ("policies.toml", POLICIES),
        ] {
            std::fs::write(dir.path().join(name), text).expect("write config file");
        }
        Self(dir)
    }

    fn with(self, name: &str, text: &str) -> Self {
        std::fs::write(self.0.path().join(name), text).expect("write config file");
        self
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
}

#[test]
fn loads_the_example_config_dir() {
    let loaded = load_ok(&example_dir(), no_env());
    let config = &loaded.config;
    let site_ids: Vec<&str> = config.sites.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(site_ids, ["SEA-1", "NYC-1", "LON-1"]);
    assert_eq!(config.sites[0].timezone, chrono_tz::America::Los_Angeles);
    assert!(config.holidays["US"].contains(&date("2026-05-25")));
    assert!(config.holidays["UK"].contains(&date("2026-12-28")));
    let rto3 = &config.policies[0];
    assert_eq!((rto3.id.as_str(), rto3.version), ("rto-3", 1));
    assert_eq!(rto3.effective_from, date("2026-05-04"));
    assert_eq!(rto3.escalation.len(), 3);
    assert_eq!(config.policies.len(), 3);
    assert_eq!(config.processor, ProcessorConfig::default());
    // The example leaves the pseudonym key empty, which is worth exactly one warning.
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert_eq!(loaded.warnings[0].field, "privacy.pseudonym_key");
}

#[test]
fn example_processor_toml_shows_every_key() {
    let text = std::fs::read_to_string(example_dir().join("processor.toml")).expect("example");
    let mut findings = Findings::default();
    let raw: RawProcessor =
        load::parse_tolerantly(&text, "processor.toml", &mut findings).expect("parses");
    assert!(findings.errors.is_empty(), "{:?}", findings.errors);
    // Exhaustive patterns: a new setting fails to compile here until the example shows it.
    let RawProcessor {
        time:
            Some(RawTime {
                allowed_lateness: Some(_),
                idle_advance_after: Some(_),
                max_future_skew: Some(_),
                correction_weeks: Some(_),
            }),
        kafka:
            Some(RawKafka {
                brokers: Some(_),
                group_id: Some(_),
                transactional_id_prefix: Some(_),
                sasl_password_file: Some(_),
                ssl_key_password_file: Some(_),
                startup_timeout: Some(_),
                client: Some(_),
            }),
        topics:
            Some(RawTopics {
                badges: Some(_),
                roster: Some(_),
                absences: Some(_),
                outages: Some(_),
                adjustments: Some(_),
                decisions: Some(_),
                changes: Some(_),
                alerts: Some(_),
                dead_letters: Some(_),
                changelog: Some(_),
                instances: Some(_),
            }),
        http: Some(RawHttp { listen: Some(_) }),
        api:
            Some(RawApi {
                listen: Some(_),
                jwks_file: Some(_),
                hs256_secret_file: Some(_),
                audience: Some(_),
                tls_cert_file: Some(_),
                tls_key_file: Some(_),
                access_log_topic: Some(_),
                advertise_url: Some(_),
                forward_ca_file: Some(_),
            }),
        state:
            Some(RawState {
                batch_max_messages: Some(_),
                batch_max_wait: Some(_),
            }),
        privacy:
            Some(RawPrivacy {
                log_employee_ids: Some(_),
                pseudonym_key: Some(_),
            }),
        log: Some(RawLog {
            format: Some(_),
            level: Some(_),
        }),
    } = raw
    else {
        panic!("config/processor.toml must set every key: {raw:?}");
    };
}

#[test]
fn defaults_apply_when_processor_toml_is_absent() {
    let loaded = load_ok(&fixture("valid/minimal"), no_env());
    let processor = &loaded.config.processor;
    assert_eq!(*processor, ProcessorConfig::default());
    assert_eq!(processor.time.allowed_lateness, Duration::from_secs(86_400));
    assert_eq!(processor.time.idle_advance_after, Duration::from_secs(300));
    assert_eq!(processor.time.max_future_skew, Duration::from_secs(86_400));
    assert_eq!(processor.time.correction_weeks, 4);
    assert_eq!(processor.kafka.brokers, "127.0.0.1:9092");
    assert_eq!(processor.kafka.group_id, "attendance-compliance");
    assert!(processor.kafka.client.is_empty());
    assert_eq!(processor.topics.badges, "badge-events");
    assert_eq!(processor.topics.changelog, "attendance-state-changelog");
    assert_eq!(
        processor.http.listen,
        "0.0.0.0:9464".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(processor.state.batch_max_messages, 10_000);
    assert_eq!(processor.state.batch_max_wait, Duration::from_millis(100));
    assert!(!processor.privacy.log_employee_ids);
    assert!(processor.privacy.uses_dev_pseudonym_key());
    assert_eq!(processor.log.format, LogFormat::Auto);
    assert_eq!(processor.log.level, "info");

    let policy = &loaded.config.policies[0];
    assert_eq!(policy.rule, crate::config::Rule::Weekly);
    assert!(!policy.count_weekends);
    assert_eq!(policy.new_hire_grace_weeks, 0);
    assert_eq!(policy.promotion_hold_after_weeks, 1);
    assert!(policy.escalation.is_empty());
}

#[test]
fn every_processor_setting_is_read_from_the_file() {
    let loaded = load_ok(&fixture("valid/full"), no_env());
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let processor = &loaded.config.processor;
    assert_eq!(
        processor.time.allowed_lateness,
        Duration::from_secs(36 * 3600)
    );
    assert_eq!(processor.time.idle_advance_after, Duration::from_secs(90));
    assert_eq!(processor.time.correction_weeks, 2);
    assert_eq!(processor.kafka.brokers, "kafka-1:9092,kafka-2:9092");
    assert_eq!(
        processor.kafka.transactional_id_prefix,
        "attendance-test-tx"
    );
    let client: Vec<(&str, &str)> = processor
        .kafka
        .client
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        client,
        [
            ("enable.idempotence", "true"),
            ("security.protocol", "SASL_SSL"),
            ("session.timeout.ms", "45000"),
        ]
    );
    assert_eq!(processor.topics.badges, "test.badges");
    assert_eq!(processor.topics.roster, "employee-roster");
    assert_eq!(
        processor.http.listen,
        "127.0.0.1:19464".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(processor.state.batch_max_messages, 500);
    assert_eq!(processor.state.batch_max_wait, Duration::from_millis(250));
    assert!(processor.privacy.log_employee_ids);
    assert_eq!(
        processor.privacy.pseudonym_key.expose(),
        "fixture-key-0123456789abcdef"
    );
    assert_eq!(processor.log.format, LogFormat::Json);
    assert_eq!(processor.log.level, "debug");

    let config = &loaded.config;
    assert_eq!(config.holidays["US"].len(), 2, "repeated dates collapse");
    let v2 = &config.policies[1];
    assert_eq!(v2.policy_groups, ["corporate", "sales"]);
    assert_eq!(v2.effective_from, date("2026-09-07"));
    assert_eq!((v2.rule.window_weeks(), v2.count_weekends), (2, true));
    assert_eq!(
        (v2.new_hire_grace_weeks, v2.promotion_hold_after_weeks),
        (3, 2)
    );
    assert_eq!(
        (v2.min_presence, v2.unverified_presence),
        (None, UnverifiedPresence::Count)
    );
    let amazon = &config.policies[2];
    assert_eq!(
        amazon.rule,
        Rule::MissedWeeks {
            weeks: 8,
            max_missed: 4
        }
    );
    assert_eq!(amazon.min_presence, Some(Duration::from_secs(7_200)));
    assert_eq!(amazon.unverified_presence, UnverifiedPresence::Ignore);
}

#[test]
fn environment_overrides_file_which_overrides_default() {
    let loaded = load_ok(
        &fixture("valid/full"),
        env(&[
            ("ATTENDANCE__TIME__ALLOWED_LATENESS", "48h"),
            ("PATH", "/usr/bin"),
        ]),
    );
    let time = &loaded.config.processor.time;
    assert_eq!(
        time.allowed_lateness,
        Duration::from_secs(48 * 3600),
        "environment"
    );
    assert_eq!(time.correction_weeks, 2, "processor.toml");
    assert_eq!(
        time.max_future_skew,
        Duration::from_secs(24 * 3600),
        "default"
    );
}

#[test]
fn environment_values_are_typed_like_the_file() {
    let loaded = load_ok(
        &fixture("valid/minimal"),
        env(&[
            ("ATTENDANCE__TIME__CORRECTION_WEEKS", "2"),
            ("attendance__kafka__Brokers", "kafka:9092"),
            ("ATTENDANCE__KAFKA__GROUP_ID", "123"),
            ("ATTENDANCE__PRIVACY__LOG_EMPLOYEE_IDS", "true"),
            (
                "ATTENDANCE__PRIVACY__PSEUDONYM_KEY",
                "a-long-enough-secret-key",
            ),
            ("ATTENDANCE__KAFKA__CLIENT__SECURITY_PROTOCOL", "SSL"),
            ("ATTENDANCE__HTTP__LISTEN", "127.0.0.1:0"),
            ("ATTENDANCE__LOG__FORMAT", "JSON"),
        ]),
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let processor = &loaded.config.processor;
    assert_eq!(processor.time.correction_weeks, 2);
    assert_eq!(processor.kafka.brokers, "kafka:9092");
    assert_eq!(
        processor.kafka.group_id, "123",
        "digits stay text for a text setting"
    );
    assert!(processor.privacy.log_employee_ids);
    assert_eq!(processor.kafka.client["security.protocol"], "SSL");
    assert_eq!(processor.http.listen.port(), 0);
    assert_eq!(processor.log.format, LogFormat::Json);
}

#[test]
fn environment_client_properties_add_to_the_file_ones() {
    let loaded = load_ok(
        &fixture("valid/full"),
        env(&[("ATTENDANCE__KAFKA__CLIENT__SECURITY_PROTOCOL", "SSL")]),
    );
    let client = &loaded.config.processor.kafka.client;
    assert_eq!(client["security.protocol"], "SSL");
    assert_eq!(client["session.timeout.ms"], "45000");
}

#[test]
fn secret_never_prints() {
    let key = "super-secret-pseudonym-key-42";
    let loaded = load_ok(
        &fixture("valid/minimal"),
        env(&[("ATTENDANCE__PRIVACY__PSEUDONYM_KEY", key)]),
    );
    let secret = &loaded.config.processor.privacy.pseudonym_key;
    assert_eq!(secret.expose(), key);
    assert_eq!(format!("{secret}"), "[redacted]");
    assert_eq!(format!("{secret:?}"), "[redacted]");
    for printed in [format!("{loaded:?}"), format!("{loaded:#?}")] {
        assert!(!printed.contains(key), "secret leaked: {printed}");
        assert!(printed.contains("[redacted]"));
    }
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn problems_print_as_file_field_message_one_per_line() {
    let problem = Problem::new(
        "policies.toml",
        "policy[2].required_days",
        "must be between 0 and 7, got 9",
    );
    assert_eq!(
        problem.to_string(),
        "policies.toml: policy[2].required_days: must be between 0 and 7, got 9"
    );
    let errors = ConfigErrors {
        problems: vec![
            problem,
            Problem::new("sites.toml", "", "required file is missing"),
        ],
    };
    assert_eq!(
        errors.to_string(),
        "policies.toml: policy[2].required_days: must be between 0 and 7, got 9\n\
         sites.toml: required file is missing"
    );
}
