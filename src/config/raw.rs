//! Serde shapes of the configuration files, exactly as written.
//!
//! Every struct denies unknown keys, so a typo is an error rather than a silently ignored
//! setting. Keys the spec calls required are still `Option` here: `validate` reports every
//! missing key at once instead of serde stopping at the first. Numbers are `i64` so that an
//! out-of-range value gets a message with its range rather than serde's "expected u8".
//! Durations, dates and addresses stay text until validation.

use std::collections::BTreeMap;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// `sites.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSitesFile {
    /// The `[[site]]` tables.
    pub(crate) site: Option<Vec<RawSite>>,
}

/// One `[[site]]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSite {
    pub(crate) id: Option<String>,
    pub(crate) timezone: Option<String>,
    pub(crate) region: Option<String>,
}

/// `holidays.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHolidaysFile {
    /// The `[holidays]` table: region → dates.
    pub(crate) holidays: Option<BTreeMap<String, Vec<DateValue>>>,
}

/// `policies.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPoliciesFile {
    /// The `[[policy]]` tables.
    pub(crate) policy: Option<Vec<RawPolicy>>,
}

/// One `[[policy]]` table (SPEC §4.1).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    pub(crate) id: Option<String>,
    pub(crate) version: Option<i64>,
    pub(crate) policy_groups: Option<Vec<String>>,
    pub(crate) effective_from: Option<DateValue>,
    pub(crate) required_days: Option<i64>,
    pub(crate) rolling_weeks: Option<i64>,
    /// (v2) How weeks are judged; not together with `rolling_weeks`.
    pub(crate) rule: Option<RawRule>,
    /// (v2) Minimum presence per day (§3.7).
    pub(crate) min_presence: Option<DurationText>,
    /// (v2) `"count"` or `"ignore"`; only with `min_presence`.
    pub(crate) unverified_presence: Option<String>,
    pub(crate) count_weekends: Option<bool>,
    pub(crate) new_hire_grace_weeks: Option<i64>,
    pub(crate) promotion_hold_after_weeks: Option<i64>,
    pub(crate) escalation: Option<Vec<RawRung>>,
}

/// A policy's `rule` table, e.g. `{ kind = "missed_weeks", weeks = 8, max_missed = 4 }`
/// (§4.1, v2). One shape for every kind, so that `validate` can name a missing key, or a key
/// that does not belong to the kind, instead of serde's "no variant matched".
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table such as { kind = \"weekly\" } or { kind = \"rolling_average\", weeks = 4 }"
)]
pub(crate) struct RawRule {
    pub(crate) kind: Option<String>,
    pub(crate) weeks: Option<i64>,
    pub(crate) max_missed: Option<i64>,
}

/// One escalation rung, `{ after_weeks = 1, level = "notice" }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRung {
    pub(crate) after_weeks: Option<i64>,
    pub(crate) level: Option<String>,
}

/// `processor.toml`, and also one environment variable's override (see `env`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProcessor {
    pub(crate) time: Option<RawTime>,
    pub(crate) kafka: Option<RawKafka>,
    pub(crate) topics: Option<RawTopics>,
    pub(crate) http: Option<RawHttp>,
    pub(crate) api: Option<RawApi>,
    pub(crate) state: Option<RawState>,
    pub(crate) privacy: Option<RawPrivacy>,
    pub(crate) log: Option<RawLog>,
}

/// `[time]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTime {
    pub(crate) allowed_lateness: Option<DurationText>,
    pub(crate) idle_advance_after: Option<DurationText>,
    pub(crate) max_future_skew: Option<DurationText>,
    pub(crate) correction_weeks: Option<i64>,
}

/// `[kafka]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKafka {
    pub(crate) brokers: Option<String>,
    pub(crate) group_id: Option<String>,
    pub(crate) transactional_id_prefix: Option<String>,
    pub(crate) sasl_password_file: Option<String>,
    pub(crate) ssl_key_password_file: Option<String>,
    pub(crate) startup_timeout: Option<DurationText>,
    /// `[kafka.client]`: librdkafka properties. A table because an unquoted dotted key
    /// (`security.protocol = "SSL"`) is a nested table in TOML; `layer` flattens it.
    pub(crate) client: Option<toml::Table>,
}

/// `[topics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTopics {
    pub(crate) badges: Option<String>,
    pub(crate) roster: Option<String>,
    pub(crate) absences: Option<String>,
    pub(crate) outages: Option<String>,
    pub(crate) adjustments: Option<String>,
    pub(crate) decisions: Option<String>,
    pub(crate) changes: Option<String>,
    pub(crate) alerts: Option<String>,
    pub(crate) dead_letters: Option<String>,
    pub(crate) changelog: Option<String>,
    pub(crate) instances: Option<String>,
}

/// `[http]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp {
    pub(crate) listen: Option<String>,
}

/// `[api]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawApi {
    pub(crate) listen: Option<String>,
    pub(crate) jwks_file: Option<String>,
    pub(crate) hs256_secret_file: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) tls_cert_file: Option<String>,
    pub(crate) tls_key_file: Option<String>,
    pub(crate) access_log_topic: Option<String>,
    pub(crate) advertise_url: Option<String>,
    pub(crate) forward_ca_file: Option<String>,
}

/// `[state]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawState {
    pub(crate) batch_max_messages: Option<i64>,
    pub(crate) batch_max_wait: Option<DurationText>,
}

/// `[privacy]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPrivacy {
    pub(crate) log_employee_ids: Option<bool>,
    pub(crate) pseudonym_key: Option<String>,
}

/// `[log]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLog {
    pub(crate) format: Option<String>,
    pub(crate) level: Option<String>,
}

/// A duration as written, e.g. `"30s"`; parsed by `parse_duration` during validation.
///
/// Its own type only so that a non-string gets a message showing the expected form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DurationText(pub(crate) String);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl Visitor<'_> for TextVisitor {
            type Value = DurationText;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a duration string such as \"30s\", \"5m\" or \"24h\"")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<DurationText, E> {
                Ok(DurationText(text.to_owned()))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

/// A local date, written either as a string (`"2026-05-04"`) or as a TOML date
/// (`2026-05-04`). Checked in `validate`: strings must be exactly `YYYY-MM-DD`, TOML values
/// must be a date without time or offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DateValue {
    /// Written as a string.
    Text(String),
    /// Written as a TOML date, date-time or time.
    Toml(toml::value::Datetime),
}

impl<'de> Deserialize<'de> for DateValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match toml::Value::deserialize(deserializer)? {
            toml::Value::String(text) => Ok(Self::Text(text)),
            toml::Value::Datetime(value) => Ok(Self::Toml(value)),
            other => Err(de::Error::custom(format!(
                "expected a date such as \"2026-05-04\" or 2026-05-04, got {}",
                other.type_str()
            ))),
        }
    }
}
