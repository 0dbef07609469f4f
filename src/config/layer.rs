//! Applying one layer of processor settings (`processor.toml`, or one environment variable)
//! on top of the layers below it, validating each value as it is applied.
//!
//! Every value is checked where it comes from, so a problem names the file or variable that
//! set it. Checks that involve several settings (distinct topic names, the pseudonym key)
//! run once in [`finish`], after the last layer.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use super::files::PROCESSOR_FILE;
use super::limits;
use super::raw::RawProcessor;
use super::{values, Findings, LogFormat, ProcessorConfig, Secret, DEV_PSEUDONYM_KEY};

/// librdkafka properties that the dedicated settings own.
const RESERVED_CLIENT_PROPERTIES: [(&str, &str); 4] = [
    ("bootstrap.servers", "kafka.brokers"),
    ("metadata.broker.list", "kafka.brokers"),
    ("group.id", "kafka.group_id"),
    ("transactional.id", "kafka.transactional_id_prefix"),
];

/// Where a layer's values come from, and how its problems name a setting.
pub(crate) struct Source {
    file: String,
    /// `None`: settings are named by their TOML path; `Some(name)`: by this variable.
    variable: Option<String>,
}

impl Source {
    /// A file layer; problems name settings by TOML path (`time.allowed_lateness`).
    pub(crate) fn file(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            variable: None,
        }
    }

    /// One environment variable; problems name the variable.
    pub(crate) fn variable(file: &str, name: &str) -> Self {
        Self {
            file: file.to_owned(),
            variable: Some(name.to_owned()),
        }
    }

    fn field(&self, path: &str) -> String {
        self.variable.clone().unwrap_or_else(|| path.to_owned())
    }
}

/// Which layer last set each setting, as `(file, field)`; unset settings are absent.
#[derive(Debug, Default)]
pub(crate) struct Provenance(BTreeMap<String, (String, String)>);

impl Provenance {
    /// `(file, field)` to name in a problem about the setting at `path`.
    fn of(&self, path: &str) -> (String, String) {
        self.0
            .get(path)
            .cloned()
            .unwrap_or_else(|| (PROCESSOR_FILE.to_owned(), path.to_owned()))
    }
}

/// `set!(layer, config, time.allowed_lateness, parse)`: applies the raw section's key to the
/// same key of `config`, the setting's name (`"time.allowed_lateness"`) spelled by the macro
/// so that it cannot drift from the field.
macro_rules! set {
    ($layer:ident, $config:ident, $section:ident . $key:ident, $parse:expr) => {
        $layer.set(
            concat!(stringify!($section), ".", stringify!($key)),
            $section.$key,
            &mut $config.$section.$key,
            $parse,
        )
    };
}

/// Applies the settings present in `raw` to `config`, recording problems and provenance.
///
/// Every raw field is read here; the compiler's dead-code check catches a raw key that is
/// parsed but never applied.
pub(crate) fn apply(
    config: &mut ProcessorConfig,
    raw: RawProcessor,
    source: &Source,
    provenance: &mut Provenance,
    findings: &mut Findings,
) {
    let mut layer = Layer {
        source,
        provenance,
        findings,
    };
    if let Some(time) = raw.time {
        set!(layer, config, time.allowed_lateness, |text| {
            values::duration_in(text, limits::ALLOWED_LATENESS)
        });
        set!(layer, config, time.idle_advance_after, |text| {
            values::duration_in(text, limits::IDLE_ADVANCE_AFTER)
        });
        set!(layer, config, time.max_future_skew, |text| {
            values::duration_in(text, limits::MAX_FUTURE_SKEW)
        });
        set!(layer, config, time.correction_weeks, |n| {
            values::in_range(n, limits::CORRECTION_WEEKS)
        });
    }
    if let Some(kafka) = raw.kafka {
        set!(layer, config, kafka.brokers, values::broker_list);
        set!(layer, config, kafka.group_id, |text| {
            values::text_in(text, limits::GROUP_ID_BYTES)
        });
        set!(layer, config, kafka.transactional_id_prefix, |text| {
            values::text_in(text, limits::TRANSACTIONAL_ID_PREFIX_BYTES)
        });
        set!(layer, config, kafka.sasl_password_file, values::secret_file);
        set!(
            layer,
            config,
            kafka.ssl_key_password_file,
            values::secret_file
        );
        set!(layer, config, kafka.startup_timeout, |text| {
            values::duration_in(text, limits::STARTUP_TIMEOUT)
        });
        layer.client_properties(&mut config.kafka.client, kafka.client.unwrap_or_default());
    }
    if let Some(topics) = raw.topics {
        set!(layer, config, topics.badges, values::topic_name);
        set!(layer, config, topics.roster, values::topic_name);
        set!(layer, config, topics.absences, values::topic_name);
        set!(layer, config, topics.outages, values::topic_name);
        set!(layer, config, topics.adjustments, values::topic_name);
        set!(layer, config, topics.decisions, values::topic_name);
        set!(layer, config, topics.changes, values::topic_name);
        set!(layer, config, topics.alerts, values::topic_name);
        set!(layer, config, topics.dead_letters, values::topic_name);
        set!(layer, config, topics.changelog, values::topic_name);
        set!(layer, config, topics.instances, values::topic_name);
    }
    if let Some(http) = raw.http {
        set!(layer, config, http.listen, values::socket_address);
    }
    if let Some(api) = raw.api {
        set!(layer, config, api.listen, values::optional_socket_address);
        set!(layer, config, api.jwks_file, values::readable_file);
        set!(layer, config, api.hs256_secret_file, values::secret_file);
        set!(layer, config, api.audience, |text| {
            values::text_in(text, limits::API_AUDIENCE_BYTES)
        });
        set!(layer, config, api.tls_cert_file, values::readable_file);
        set!(layer, config, api.tls_key_file, values::readable_file);
        set!(layer, config, api.access_log_topic, values::topic_name);
        set!(layer, config, api.advertise_url, values::optional_base_url);
        set!(layer, config, api.forward_ca_file, values::readable_file);
    }
    if let Some(state) = raw.state {
        set!(layer, config, state.batch_max_messages, |n| {
            values::in_range(n, limits::BATCH_MAX_MESSAGES)
        });
        set!(layer, config, state.batch_max_wait, |text| {
            values::duration_in(text, limits::BATCH_MAX_WAIT)
        });
    }
    if let Some(privacy) = raw.privacy {
        set!(layer, config, privacy.log_employee_ids, Ok);
        set!(layer, config, privacy.pseudonym_key, |key: String| {
            let (min, max) = limits::PSEUDONYM_KEY_BYTES;
            if (min..=max).contains(&key.len()) {
                Ok(Secret::new(key))
            } else {
                // Never echo the key itself.
                Err(format!(
                    "must be {min} to {max} bytes, got {} bytes",
                    key.len()
                ))
            }
        });
    }
    if let Some(log) = raw.log {
        set!(layer, config, log.format, |text| LogFormat::from_str(&text));
        if let Some(warning) = log.level.as_deref().and_then(values::log_level_warning) {
            let field = source.field("log.level");
            layer.findings.warn(&source.file, &field, warning);
        }
        set!(layer, config, log.level, |text| {
            values::text_in(text, limits::LOG_LEVEL_BYTES)
        });
    }
}

/// Cross-setting checks after the last layer; also replaces an unset pseudonym key by
/// [`DEV_PSEUDONYM_KEY`], with a warning.
pub(crate) fn finish(
    config: &mut ProcessorConfig,
    provenance: &Provenance,
    findings: &mut Findings,
) {
    let topics = config.topics.named();
    for (index, (name, topic)) in topics.iter().enumerate() {
        if let Some((first, _)) = topics[..index].iter().find(|(_, other)| other == topic) {
            // Name the setting a layer changed; two defaults never collide.
            let later = if provenance.0.contains_key(&format!("topics.{name}")) {
                name
            } else {
                first
            };
            let other = if later == name { first } else { name };
            let (file, field) = provenance.of(&format!("topics.{later}"));
            findings.error(
                &file,
                &field,
                format!("topic {topic:?} is also used for topics.{other}; every topic must differ"),
            );
        }
    }

    // A batch is one transaction: open longer than the transaction timeout, the broker
    // aborts it and the batch is retried for ever.
    if let Some(timeout) = config.kafka.client.get("transaction.timeout.ms") {
        let wait = config.state.batch_max_wait;
        match timeout.trim().parse::<u64>() {
            Ok(ms) if u128::from(ms) <= wait.as_millis() => {
                let (file, field) = provenance.of("state.batch_max_wait");
                findings.error(
                    &file,
                    &field,
                    format!(
                        "{} is not shorter than kafka.client.transaction.timeout.ms ({ms} ms): \
                         every batch would be aborted",
                        limits::format_duration(wait)
                    ),
                );
            }
            Ok(_) => {}
            Err(_) => {
                let (file, field) = provenance.of("kafka.client.transaction.timeout.ms");
                findings.error(
                    &file,
                    &field,
                    format!("expected a whole number of milliseconds, got {timeout:?}"),
                );
            }
        }
    }

    super::api::check(config, |path| provenance.of(path), findings);

    let (file, field) = provenance.of("privacy.pseudonym_key");
    let key = config.privacy.pseudonym_key.expose();
    if key.is_empty() || key == DEV_PSEUDONYM_KEY {
        config.privacy.pseudonym_key = Secret::new(DEV_PSEUDONYM_KEY);
        findings.warn(
            &file,
            &field,
            "not set: employee pseudonyms in logs use the public development key; set a long \
             random secret (e.g. ATTENDANCE__PRIVACY__PSEUDONYM_KEY) in production",
        );
    } else if key.len() < 16 {
        findings.warn(
            &file,
            &field,
            "shorter than 16 bytes; use at least 32 random bytes",
        );
    }
}

/// One layer being applied.
struct Layer<'a> {
    source: &'a Source,
    provenance: &'a mut Provenance,
    findings: &'a mut Findings,
}

impl Layer<'_> {
    /// Parses `raw`, when present, into `target`; records an error or the provenance.
    fn set<R, T>(
        &mut self,
        path: &str,
        raw: Option<R>,
        target: &mut T,
        parse: impl FnOnce(R) -> Result<T, String>,
    ) {
        let Some(raw) = raw else { return };
        match parse(raw) {
            Ok(value) => {
                *target = value;
                self.record(path);
            }
            Err(message) => self.error(path, message),
        }
    }

    /// Merges `[kafka.client]` properties into `client`, property by property.
    fn client_properties(&mut self, client: &mut BTreeMap<String, String>, raw: toml::Table) {
        let mut properties = Vec::new();
        values::flatten_client(raw, "", &mut properties);
        let mut seen = BTreeSet::new();
        for (name, value) in properties {
            let path = format!("kafka.client.{name}");
            let reserved = RESERVED_CLIENT_PROPERTIES
                .iter()
                .find(|(key, _)| *key == name);
            let checked = if let Some((_, setting)) = reserved {
                Err(format!("set {setting} instead"))
            } else if name.is_empty() {
                Err("empty property name".to_owned())
            } else if name.len() > limits::MAX_CLIENT_NAME_BYTES
                || name.chars().any(super::is_unsafe_char)
            {
                Err(format!(
                    "property names are 1 to {} bytes without control characters",
                    limits::MAX_CLIENT_NAME_BYTES
                ))
            } else if !seen.insert(name.clone()) {
                Err("set twice (quoted and as a dotted key)".to_owned())
            } else if !client.contains_key(&name) && client.len() >= limits::MAX_CLIENT_PROPERTIES {
                Err(format!(
                    "more than {} properties; at most {} are allowed",
                    limits::MAX_CLIENT_PROPERTIES,
                    limits::MAX_CLIENT_PROPERTIES
                ))
            } else {
                value.and_then(|value| {
                    if value.len() > limits::MAX_CLIENT_VALUE_BYTES {
                        Err(format!(
                            "value of {} bytes; at most {} are allowed",
                            value.len(),
                            limits::MAX_CLIENT_VALUE_BYTES
                        ))
                    } else {
                        Ok(value)
                    }
                })
            };
            match checked {
                Ok(value) => {
                    self.record(&path);
                    client.insert(name, value);
                }
                Err(message) => self.error(&path, message),
            }
        }
    }

    fn record(&mut self, path: &str) {
        let entry = (self.source.file.clone(), self.source.field(path));
        self.provenance.0.insert(path.to_owned(), entry);
    }

    fn error(&mut self, path: &str, message: String) {
        let field = self.source.field(path);
        self.findings.error(&self.source.file, &field, message);
    }
}
