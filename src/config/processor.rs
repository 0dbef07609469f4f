//! Validated processor settings (`processor.toml` and `ATTENDANCE__*` variables) and their
//! defaults.
//!
//! The `Default` impls here (and in `topics`) are the lowest configuration layer; `config/processor.toml`
//! shows each of them with its meaning, and a test keeps the two in step. This module holds
//! plain data: parsing and validation live in `layer`.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::TopicsConfig;

/// The pseudonym key used when `privacy.pseudonym_key` is not set, with a warning.
///
/// It is public knowledge, so pseudonyms made with it protect nothing: fine for a laptop,
/// never for production.
pub const DEV_PSEUDONYM_KEY: &str = "attendance-compliance-development-key-do-not-use";

/// Settings of the running processor.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessorConfig {
    /// `[time]`: lateness, idleness and correction window (SPEC §3).
    pub time: TimeConfig,
    /// `[kafka]`: brokers, consumer group and client properties.
    pub kafka: KafkaConfig,
    /// `[topics]`: names of the input, output and internal topics.
    pub topics: TopicsConfig,
    /// `[http]`: the metrics and health listener.
    pub http: HttpConfig,
    /// `[api]`: the record API listener (SPEC §10), off by default.
    pub api: ApiConfig,
    /// `[state]`: batching of changelog writes.
    pub state: StateConfig,
    /// `[privacy]`: how employees appear in logs (SPEC §8).
    pub privacy: PrivacyConfig,
    /// `[log]`: log format and filter.
    pub log: LogConfig,
}

/// `[time]` settings (SPEC §3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeConfig {
    /// How long after a week ends (home zone) late badges are still awaited before the week
    /// closes. Default 24h; 0s to 90d.
    pub allowed_lateness: Duration,
    /// After this long without a badge, a partition's watermark advances to
    /// `now - idle_advance_after`, so quiet weekends still close weeks. Default 5m; 1s to 3650d.
    pub idle_advance_after: Duration,
    /// Badges more than this far ahead of the processing clock are dead-lettered as
    /// `future_timestamp`. Default 24h; 0s to 30d.
    pub max_future_skew: Duration,
    /// How many of the most recently closed weeks late data may still correct; 0 to 52.
    /// Default 4.
    pub correction_weeks: u32,
}

impl Default for TimeConfig {
    fn default() -> Self {
        Self {
            allowed_lateness: Duration::from_secs(24 * 3600),
            idle_advance_after: Duration::from_secs(5 * 60),
            max_future_skew: Duration::from_secs(24 * 3600),
            correction_weeks: 4,
        }
    }
}

/// `[kafka]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaConfig {
    /// Bootstrap brokers, comma-separated `host:port`. Default `"127.0.0.1:9092"`.
    pub brokers: String,
    /// Consumer group shared by all instances. Default `"attendance-compliance"`.
    pub group_id: String,
    /// Prefix of each instance's transactional producer id. Default `"attendance-compliance"`.
    pub transactional_id_prefix: String,
    /// Extra librdkafka properties (e.g. `security.protocol`), passed through unchecked.
    /// `bootstrap.servers`, `metadata.broker.list`, `group.id` and `transactional.id` are
    /// not allowed here: they come from the settings above. Default empty.
    pub client: BTreeMap<String, String>,
    /// File holding the SASL password (librdkafka `sasl.password`), read at start-up; one
    /// trailing newline is ignored. Overrides `kafka.client.sasl.password`. Default none.
    pub sasl_password_file: Option<SecretFile>,
    /// File holding the password of the TLS client key (librdkafka `ssl.key.password`), read
    /// at start-up like `sasl_password_file`. Default none.
    pub ssl_key_password_file: Option<SecretFile>,
    /// How long start-up waits for the brokers to answer (and for the topic metadata) before
    /// `run` gives up and exits 1; connection failures are logged meanwhile and SIGTERM ends
    /// the wait. Default 30s; 1s to 1h.
    pub startup_timeout: Duration,
}

/// A secret read from a file: the path may be shown, the contents never are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretFile {
    /// Where the secret was read from.
    pub path: std::path::PathBuf,
    /// The file's contents without a trailing newline.
    pub secret: Secret,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "127.0.0.1:9092".to_owned(),
            group_id: "attendance-compliance".to_owned(),
            transactional_id_prefix: "attendance-compliance".to_owned(),
            client: BTreeMap::new(),
            sasl_password_file: None,
            ssl_key_password_file: None,
            startup_timeout: Duration::from_secs(30),
        }
    }
}

/// `[http]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Address of the `/metrics` and health listener, `IP:port`. Default `0.0.0.0:9464`.
    pub listen: SocketAddr,
}

/// `[api]` settings: the record API (SPEC §10). Every key defaults to off/empty; when
/// `listen` is set, `audience` and at least one key source are required, and the TLS files
/// go together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiConfig {
    /// Address of the record API listener, `IP:port`; `None` (`""`): no API. Default off.
    pub listen: Option<SocketAddr>,
    /// JWKS file with the RS256/ES256 keys that sign callers' tokens. Default none.
    pub jwks_file: Option<PathBuf>,
    /// File holding the HS256 shared secret (one line, at least 32 bytes). Default none.
    pub hs256_secret_file: Option<SecretFile>,
    /// The `aud` every token must carry. Default empty (required with `listen`).
    pub audience: String,
    /// PEM certificate chain for TLS on the API listener. Default none (plain HTTP, TLS at
    /// the ingress).
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file`. Default none.
    pub tls_key_file: Option<PathBuf>,
    /// Topic of the audit records, one per request. Default `"attendance-access-log"`.
    pub access_log_topic: String,
    /// The base URL other instances forward requests to (`http://host:port`, or
    /// `https://host:port`, required with TLS on; SPEC §10 "Routing"). Default none:
    /// `http(s)://<api.listen>` when its IP is not unspecified ([`ApiConfig::advertised_url`]);
    /// with `0.0.0.0` or `[::]` it must be set.
    pub advertise_url: Option<String>,
    /// PEM CA certificates that the certificate of an `https` owner must chain to when a
    /// request is forwarded to it. Default none: the system's roots plus the certificates of
    /// `tls_cert_file` (an instance trusts a peer with its own certificate or issuer).
    pub forward_ca_file: Option<PathBuf>,
}

impl ApiConfig {
    /// The base URL this instance advertises in the instance directory: `advertise_url`, else
    /// `http://<listen>` (`https://` with TLS on) when `listen` has a specific IP; `None`
    /// without a listener or when it cannot be derived (a configuration error, reported by
    /// validation).
    pub fn advertised_url(&self) -> Option<String> {
        let listen = self.listen?;
        match &self.advertise_url {
            Some(url) => Some(url.clone()),
            None if listen.ip().is_unspecified() => None,
            None => Some(format!("{}://{listen}", self.scheme())),
        }
    }

    /// `https` when the listener serves TLS (`tls_cert_file` set), else `http`.
    pub fn scheme(&self) -> &'static str {
        if self.tls_cert_file.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            listen: None,
            jwks_file: None,
            hs256_secret_file: None,
            audience: String::new(),
            tls_cert_file: None,
            tls_key_file: None,
            access_log_topic: "attendance-access-log".to_owned(),
            advertise_url: None,
            forward_ca_file: None,
        }
    }
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 9464),
        }
    }
}

/// `[state]` settings: changelog writes are batched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateConfig {
    /// Largest number of input messages handled before a batch is flushed; 1 to 100000.
    /// Default 10000.
    pub batch_max_messages: u32,
    /// Longest time a batch stays open before it is flushed; 1ms to 10s, and shorter than
    /// `kafka.client."transaction.timeout.ms"` when that is set. Default 100ms.
    pub batch_max_wait: Duration,
}

impl Default for StateConfig {
    fn default() -> Self {
        Self {
            batch_max_messages: 10_000,
            batch_max_wait: Duration::from_millis(100),
        }
    }
}

/// `[privacy]` settings (SPEC §8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrivacyConfig {
    /// Log raw employee ids instead of keyed pseudonyms. Default false.
    pub log_employee_ids: bool,
    /// Key of the pseudonyms that stand for employee ids in logs. Never empty: when not
    /// configured it is [`DEV_PSEUDONYM_KEY`] and loading warns.
    pub pseudonym_key: Secret,
}

impl PrivacyConfig {
    /// Whether the pseudonym key is the public development key.
    pub fn uses_dev_pseudonym_key(&self) -> bool {
        self.pseudonym_key.expose() == DEV_PSEUDONYM_KEY
    }
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        Self {
            log_employee_ids: false,
            pseudonym_key: Secret::new(DEV_PSEUDONYM_KEY),
        }
    }
}

/// A secret string. `Debug` and `Display` print `[redacted]`; read it with [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call only where the value is used, never to print it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `[log]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogConfig {
    /// Output format. Default `auto`.
    pub format: LogFormat,
    /// Log filter, a level (`trace`, `debug`, `info`, `warn`, `error`, `off`) or
    /// `tracing` directives such as `"info,attendance_compliance=debug"`. Default `"info"`.
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            format: LogFormat::Auto,
            level: "info".to_owned(),
        }
    }
}

/// Log output format (`log.format`), written in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// `auto`: human-readable text on a terminal, JSON lines otherwise.
    #[default]
    Auto,
    /// `text`: human-readable lines.
    Text,
    /// `json`: one JSON object per line.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    /// Parses `auto`, `text` or `json`, in any case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "auto" => Ok(Self::Auto),
            "text" => Ok(Self::Text),
            "json" => Ok(Self::Json),
            _ => Err(format!(
                "must be \"auto\", \"text\" or \"json\", got {text:?}"
            )),
        }
    }
}

impl fmt::Display for LogFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Text => "text",
            Self::Json => "json",
        })
    }
}
