//! The allowed range of every configuration value, in one place.
//!
//! Validation (`validate`, `layer`), docs/CONFIGURATION.md (the "range" column, checked by
//! `tests/observability/config_reference.rs`) and the tests all use these numbers. Each range
//! is generous for real use and safe for the engine: it bounds the weeks a watermark advance
//! may close, the loops and allocations a value drives, and keeps every date and duration far
//! from the edges of the date arithmetic.
//!
//! Why each bound:
//! - weeks: the engine keeps `retention_weeks` = longest window (`rolling_weeks` or a
//!   `rule`'s `weeks`, all at most 26) + `correction_weeks` closed weeks per employee (§8),
//!   and a watermark jump closes at most `MAX_CATCH_UP_WEEKS` (53) + `retention_weeks` weeks
//!   per zone; so both are bounded, and their sum is at most [`MAX_RETENTION_WEEKS`];
//! - `min_presence` is compared with a day's span, so it is at most a day (SPEC §4.1);
//! - durations: `allowed_lateness` is added to week ends and walked week by week when the
//!   schedules start, `max_future_skew` is added to the processing clock and
//!   `idle_advance_after` subtracted from it: bounded far below where chrono or the
//!   timestamp arithmetic saturates or panics. Intervals the live loop waits on are not zero;
//! - counts: sites, regions and policy groups are `u16` indices inside the engine, so their
//!   limits are far below 65 535; names end up in every output record, so they are short;
//! - files: a configuration file is read whole, so it has a size limit, and the number of
//!   problems reported per file and in total is bounded (a file of a million typos is
//!   reported in bounded time, the first ones by place).

use std::time::Duration;

use chrono::NaiveDate;

mod range;

pub use range::{format_duration, Range};

/// The earliest date a policy or holiday may name: no policy or holiday is older than the
/// Unix epoch (and TOML cannot write years after 9999).
pub const MIN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(date) => date,
    None => panic!("1970-01-01 is a date"),
};
/// The latest date a policy or holiday may name.
pub const MAX_DATE: NaiveDate = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(date) => date,
    None => panic!("9999-12-31 is a date"),
};

// ---- sites.toml, holidays.toml, policies.toml ----

/// Most `[[site]]` tables (site, zone and region indices are `u16` in the engine).
pub const MAX_SITES: usize = 10_000;
/// Most regions in `holidays.toml`.
pub const MAX_HOLIDAY_REGIONS: usize = 1_000;
/// Most dates listed for one holiday region.
pub const MAX_HOLIDAYS_PER_REGION: usize = 1_000;
/// Most `[[policy]]` tables.
pub const MAX_POLICIES: usize = 1_000;
/// Most distinct policy groups over all policies, and most groups listed by one policy
/// (group indices are `u16` in the engine).
pub const MAX_POLICY_GROUPS: usize = 10_000;
/// Most escalation rungs of one policy.
pub const MAX_ESCALATION_RUNGS: usize = 32;
/// Longest site id, region, policy id, policy group or escalation level, in bytes (the
/// roster's `policy_group` has the same limit, §1.2).
pub const MAX_NAME_BYTES: usize = 128;

/// `policy.version`.
pub const VERSION: (i64, i64) = (0, u32::MAX as i64);
/// `policy.required_days`.
pub const REQUIRED_DAYS: (i64, i64) = (0, 7);
/// `policy.rolling_weeks` (SPEC §4.1 v2 bounds `rolling_average` windows to 26 as well).
pub const ROLLING_WEEKS: (i64, i64) = (1, 26);
/// `policy.rule.weeks` of `{kind = "rolling_average"}` (SPEC §4.1 v2; one week is `weekly`).
pub const ROLLING_AVERAGE_WEEKS: (i64, i64) = (2, ROLLING_WEEKS.1);
/// `policy.rule.weeks` of `{kind = "missed_weeks"}` (SPEC §4.1 v2).
pub const MISSED_WEEKS: (i64, i64) = (1, ROLLING_WEEKS.1);
/// `policy.rule.max_missed` of `{kind = "missed_weeks"}`: also less than that rule's `weeks`.
pub const MAX_MISSED: (i64, i64) = (0, MISSED_WEEKS.1 - 1);
/// `policy.min_presence` (SPEC §4.1 v2).
pub const MIN_PRESENCE: (Duration, Duration) =
    (Duration::from_secs(60), Duration::from_secs(24 * 3600));
/// `policy.new_hire_grace_weeks`: up to two years.
pub const NEW_HIRE_GRACE_WEEKS: (i64, i64) = (0, 104);
/// `policy.promotion_hold_after_weeks`: up to ten years of streak.
pub const PROMOTION_HOLD_AFTER_WEEKS: (i64, i64) = (0, 520);
/// `policy.escalation[].after_weeks`: up to ten years of streak.
pub const AFTER_WEEKS: (i64, i64) = (1, 520);

// ---- processor.toml ----

/// `time.correction_weeks`: a year of closed weeks.
pub const CORRECTION_WEEKS: (i64, i64) = (0, 52);
/// Longest retention the engine can be configured to (`rolling_weeks` + `correction_weeks`
/// at their maxima): how many closed weeks it keeps per employee.
pub const MAX_RETENTION_WEEKS: i64 = ROLLING_WEEKS.1 + CORRECTION_WEEKS.1;
/// `time.allowed_lateness`: up to 90 days.
pub const ALLOWED_LATENESS: (Duration, Duration) = (Duration::ZERO, days(90));
/// `time.idle_advance_after`: at least a second (the live loop checks once a second); at
/// most ten years, which in effect turns the idle advance off.
pub const IDLE_ADVANCE_AFTER: (Duration, Duration) = (Duration::from_secs(1), days(3650));
/// `time.max_future_skew`: up to 30 days.
pub const MAX_FUTURE_SKEW: (Duration, Duration) = (Duration::ZERO, days(30));
/// `state.batch_max_messages`.
pub const BATCH_MAX_MESSAGES: (i64, i64) = (1, 100_000);
/// `state.batch_max_wait`: not zero (a transaction per poll), and well below librdkafka's
/// default `transaction.timeout.ms` of 60 s (a batch open longer is aborted by the broker).
pub const BATCH_MAX_WAIT: (Duration, Duration) =
    (Duration::from_millis(1), Duration::from_secs(10));
/// `kafka.brokers`, in bytes.
pub const BROKERS_BYTES: (usize, usize) = (1, 4_096);
/// Most bytes a secret file (`kafka.sasl_password_file`, `kafka.ssl_key_password_file`) may
/// hold: more is not read.
pub const SECRET_FILE_MAX_BYTES: usize = 65_536;
/// `kafka.startup_timeout`: at least a second (the wait polls a few times a second); at most
/// an hour, so that a wrong `kafka.brokers` still ends in an exit an orchestrator sees.
pub const STARTUP_TIMEOUT: (Duration, Duration) =
    (Duration::from_secs(1), Duration::from_secs(3600));
/// `kafka.group_id`, in bytes.
pub const GROUP_ID_BYTES: (usize, usize) = (1, 249);
/// `kafka.transactional_id_prefix`, in bytes (the instance id is appended to it).
pub const TRANSACTIONAL_ID_PREFIX_BYTES: (usize, usize) = (1, 200);
/// Most `kafka.client` properties.
pub const MAX_CLIENT_PROPERTIES: usize = 100;
/// Longest `kafka.client` property name, in bytes.
pub const MAX_CLIENT_NAME_BYTES: usize = 128;
/// Longest `kafka.client` property value, in bytes (an inline PEM certificate fits).
pub const MAX_CLIENT_VALUE_BYTES: usize = 65_536;
/// A topic name, in bytes (Kafka's own limit).
pub const TOPIC_BYTES: (usize, usize) = (1, 249);
/// `privacy.pseudonym_key`, in bytes (empty: the development key, with a warning).
pub const PSEUDONYM_KEY_BYTES: (usize, usize) = (0, 4_096);
/// Shortest HS256 secret (`api.hs256_secret_file`), in bytes (RFC 7518 §3.2: at least the
/// hash's size).
pub const MIN_HS256_SECRET_BYTES: usize = 32;
/// Most bytes a TLS PEM file (`api.tls_cert_file`, `api.tls_key_file`) may hold: a chain of
/// a few certificates is a few KiB.
pub const TLS_PEM_MAX_BYTES: u64 = 1 << 20;
/// `api.audience`, in bytes (empty: unset, required when `api.listen` is set).
pub const API_AUDIENCE_BYTES: (usize, usize) = (0, 1_024);
/// `log.level`, in bytes.
pub const LOG_LEVEL_BYTES: (usize, usize) = (1, 1_024);

// ---- files and problem reports ----

/// Largest configuration file, in bytes.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// Most unreadable keys (unknown key, wrong type) reported per file; reading stops there.
pub const MAX_KEY_PROBLEMS_PER_FILE: usize = 100;
/// Each unreadable key costs one more reading of the whole file: a large file stops after
/// fewer (about this many bytes read in all, and at least one key reported).
pub const MAX_TOLERANT_READ_BYTES: usize = 32 * 1024 * 1024;
/// Most problems listed by one load; the rest are counted in a last line.
pub const MAX_REPORTED_PROBLEMS: usize = 1_000;

const fn days(n: u64) -> Duration {
    Duration::from_secs(n * 86_400)
}

/// The range of every `processor.toml` setting, by `section.key`.
pub const PROCESSOR_RANGES: [(&str, Range); 37] = [
    ("time.allowed_lateness", Range::duration(ALLOWED_LATENESS)),
    (
        "time.idle_advance_after",
        Range::duration(IDLE_ADVANCE_AFTER),
    ),
    ("time.max_future_skew", Range::duration(MAX_FUTURE_SKEW)),
    ("time.correction_weeks", Range::integer(CORRECTION_WEEKS)),
    ("kafka.brokers", Range::bytes(BROKERS_BYTES)),
    ("kafka.group_id", Range::bytes(GROUP_ID_BYTES)),
    (
        "kafka.transactional_id_prefix",
        Range::bytes(TRANSACTIONAL_ID_PREFIX_BYTES),
    ),
    (
        "kafka.sasl_password_file",
        Range::Words("a file path (\"\" = none); the file holds 1 to 65536 bytes"),
    ),
    (
        "kafka.ssl_key_password_file",
        Range::Words("a file path (\"\" = none); the file holds 1 to 65536 bytes"),
    ),
    (
        "kafka.client",
        Range::Words("at most 100 properties; names 1 to 128 bytes, values at most 65536 bytes"),
    ),
    ("kafka.startup_timeout", Range::duration(STARTUP_TIMEOUT)),
    ("topics.badges", Range::bytes(TOPIC_BYTES)),
    ("topics.roster", Range::bytes(TOPIC_BYTES)),
    ("topics.absences", Range::bytes(TOPIC_BYTES)),
    ("topics.outages", Range::bytes(TOPIC_BYTES)),
    ("topics.adjustments", Range::bytes(TOPIC_BYTES)),
    ("topics.decisions", Range::bytes(TOPIC_BYTES)),
    ("topics.changes", Range::bytes(TOPIC_BYTES)),
    ("topics.alerts", Range::bytes(TOPIC_BYTES)),
    ("topics.dead_letters", Range::bytes(TOPIC_BYTES)),
    ("topics.changelog", Range::bytes(TOPIC_BYTES)),
    ("topics.instances", Range::bytes(TOPIC_BYTES)),
    ("http.listen", Range::Words("IP:port, port 0 to 65535")),
    (
        "api.listen",
        Range::Words("IP:port, port 0 to 65535, or \"\" = off"),
    ),
    (
        "api.jwks_file",
        Range::Words("a readable file path (\"\" = none)"),
    ),
    (
        "api.hs256_secret_file",
        Range::Words("a file path (\"\" = none); the file holds 32 to 65536 bytes"),
    ),
    ("api.audience", Range::bytes(API_AUDIENCE_BYTES)),
    (
        "api.tls_cert_file",
        Range::Words("a readable file path (\"\" = none) of at most 1 MiB"),
    ),
    (
        "api.tls_key_file",
        Range::Words("a readable file path (\"\" = none) of at most 1 MiB"),
    ),
    ("api.access_log_topic", Range::bytes(TOPIC_BYTES)),
    (
        "api.advertise_url",
        Range::Words(
            "http://host:port or https://host:port (https with TLS on), at most 256 bytes, \
             or \"\" = from api.listen",
        ),
    ),
    (
        "api.forward_ca_file",
        Range::Words("a readable file path (\"\" = none) of at most 1 MiB"),
    ),
    (
        "state.batch_max_messages",
        Range::integer(BATCH_MAX_MESSAGES),
    ),
    ("state.batch_max_wait", Range::duration(BATCH_MAX_WAIT)),
    ("privacy.log_employee_ids", Range::Bool),
    ("privacy.pseudonym_key", Range::bytes(PSEUDONYM_KEY_BYTES)),
    ("log.level", Range::bytes(LOG_LEVEL_BYTES)),
];

/// Settings whose range is a fixed list of words rather than a bound.
pub const PROCESSOR_CHOICES: [(&str, Range); 1] =
    [("log.format", Range::Words("auto, text or json"))];

/// The range of every key of `sites.toml`, `holidays.toml` and `policies.toml`, and of the
/// number of entries (`site`, `policy`, ...), by the key as docs/CONFIGURATION.md names it.
pub const FILE_RANGES: [(&str, Range); 25] = [
    (
        "site",
        Range::Integer {
            min: 1,
            max: MAX_SITES as i64,
        },
    ),
    ("site.id", Range::name()),
    ("site.timezone", Range::Words("an IANA time zone name")),
    ("site.region", Range::name()),
    (
        "holidays",
        Range::Integer {
            min: 0,
            max: MAX_HOLIDAY_REGIONS as i64,
        },
    ),
    (
        "holidays.<region>",
        Range::Integer {
            min: 0,
            max: MAX_HOLIDAYS_PER_REGION as i64,
        },
    ),
    ("holidays.<region>[]", Range::date()),
    (
        "policy",
        Range::Integer {
            min: 0,
            max: MAX_POLICIES as i64,
        },
    ),
    ("policy.id", Range::name()),
    ("policy.version", Range::integer(VERSION)),
    (
        "policy.policy_groups",
        Range::Integer {
            min: 1,
            max: MAX_POLICY_GROUPS as i64,
        },
    ),
    ("policy.effective_from", Range::date()),
    ("policy.required_days", Range::integer(REQUIRED_DAYS)),
    ("policy.rolling_weeks", Range::integer(ROLLING_WEEKS)),
    (
        "policy.rule.kind",
        Range::Words("weekly, rolling_average or missed_weeks"),
    ),
    (
        "policy.rule.weeks (rolling_average)",
        Range::integer(ROLLING_AVERAGE_WEEKS),
    ),
    (
        "policy.rule.weeks (missed_weeks)",
        Range::integer(MISSED_WEEKS),
    ),
    ("policy.rule.max_missed", Range::integer(MAX_MISSED)),
    ("policy.min_presence", Range::duration(MIN_PRESENCE)),
    (
        "policy.unverified_presence",
        Range::Words("count or ignore"),
    ),
    ("policy.count_weekends", Range::Bool),
    (
        "policy.new_hire_grace_weeks",
        Range::integer(NEW_HIRE_GRACE_WEEKS),
    ),
    (
        "policy.promotion_hold_after_weeks",
        Range::integer(PROMOTION_HOLD_AFTER_WEEKS),
    ),
    (
        "policy.escalation",
        Range::Integer {
            min: 0,
            max: MAX_ESCALATION_RUNGS as i64,
        },
    ),
    ("policy.escalation.after_weeks", Range::integer(AFTER_WEEKS)),
];

/// `policy.escalation.level` and `policy.policy_groups[]`: names.
pub const FILE_NAME_KEYS: [&str; 2] = ["policy.escalation.level", "policy.policy_groups[]"];

/// The range of a setting or file key by its documented name, if it has one.
pub fn range_of(key: &str) -> Option<Range> {
    if FILE_NAME_KEYS.contains(&key) {
        return Some(Range::name());
    }
    PROCESSOR_RANGES
        .iter()
        .chain(PROCESSOR_CHOICES.iter())
        .chain(FILE_RANGES.iter())
        .find(|(name, _)| *name == key)
        .map(|(_, range)| *range)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_render_in_config_notation_and_parse_back() {
        for (duration, text) in [
            (Duration::ZERO, "0s"),
            (Duration::from_millis(1), "1ms"),
            (Duration::from_secs(10), "10s"),
            (Duration::from_secs(5_400), "1h30m"),
            (days(3650), "3650d"),
        ] {
            assert_eq!(format_duration(duration), text);
            assert_eq!(super::super::parse_duration(text), Ok(duration));
        }
    }

    #[test]
    fn ranges_are_well_formed() {
        for (key, range) in PROCESSOR_RANGES.iter().chain(FILE_RANGES.iter()) {
            match range {
                Range::Integer { min, max } => assert!(min <= max, "{key}"),
                Range::Duration { min, max } => assert!(min <= max, "{key}"),
                Range::Bytes { min, max } => assert!(min <= max, "{key}"),
                Range::Date { min, max } => assert!(min <= max, "{key}"),
                Range::Bool | Range::Words(_) => {}
            }
        }
        // The engine indexes sites, regions and groups with u16.
        assert!(MAX_SITES + MAX_HOLIDAY_REGIONS < usize::from(u16::MAX));
        assert!(MAX_POLICY_GROUPS < usize::from(u16::MAX));
    }
}
