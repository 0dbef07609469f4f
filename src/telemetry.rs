//! Logging: the `tracing` subscriber set up from `[log]`, and keyed pseudonyms for employee
//! ids (`[privacy]`, SPEC §8).
//!
//! Format (`log.format`): `text` is human-readable, `json` one JSON object per line, `auto`
//! text when stderr is a terminal and JSON otherwise (a container's log collector). Logs go
//! to stderr; stdout stays free for command output (the demo summary, `check-config`).
//! The filter is `log.level`: a level or `tracing` directives
//! (`"info,attendance_compliance::kafka=debug"`). The environment variable `RUST_LOG`, when
//! set and not blank, replaces it (the same syntax, [`EnvFilter`]): precedence is
//! `RUST_LOG` > `ATTENDANCE__LOG__LEVEL` > `processor.toml` `log.level` > `info`.
//!
//! Level bar, the same for every module:
//!
//! | level | what | examples |
//! |---|---|---|
//! | ERROR | data lost or corrupt, or the process is about to fail | producer fenced, changelog record unreadable, fatal Kafka error |
//! | WARN | degraded, recovering by itself | transaction aborted and retried, assignment lost, development pseudonym key in use |
//! | INFO | lifecycle, a few lines per minute at most | started (version, listen address), partitions assigned/revoked, restore begun/finished (records, seconds), ready, shutdown begun/finished |
//! | DEBUG | per batch, per week close, per rebalance detail | batch of N messages committed in T ms |
//! | TRACE | per message (badge, roster, absence, output record) | badge applied for employee `p:…` |
//!
//! Nothing per badge is logged above DEBUG. Wherever an employee appears in a log line it is
//! written as [`Pseudonym::name`]: `p:` and 16 hex digits of HMAC-SHA256(key, employee_id),
//! or the raw id only when `privacy.log_employee_ids = true`. Manager ids are employee ids
//! too and get the same treatment. Metrics never carry either (see `metrics`).

use std::io::IsTerminal;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use tracing::Subscriber;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat, PrivacyConfig};
use crate::engine::Output;

/// Why logging could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// `log.level` (or `RUST_LOG`) is neither a level nor valid `tracing` filter directives.
    #[error("{setting} {level:?} is not a valid filter: {message}")]
    InvalidFilter {
        /// Where the filter came from: `log.level` or `RUST_LOG`.
        setting: &'static str,
        /// The configured filter.
        level: String,
        /// The parser's complaint.
        message: String,
    },
    /// A global subscriber was already installed (init called twice, or by a test harness).
    #[error("a global tracing subscriber is already installed")]
    AlreadyInitialised,
}

/// Whether `format` gives JSON lines when the output is (or is not) a terminal.
pub fn uses_json(format: LogFormat, terminal: bool) -> bool {
    match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !terminal,
    }
}

/// A subscriber for `log` writing to `writer`; `terminal` says whether the output is a
/// terminal (it decides `auto` and colours). [`init`] installs one for stderr; tests build
/// their own with an in-memory writer.
pub fn subscriber<W>(
    log: &LogConfig,
    terminal: bool,
    writer: W,
) -> Result<Box<dyn Subscriber + Send + Sync>, TelemetryError>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = parse_filter("log.level", &log.level)?;
    Ok(build(log, filter, terminal, writer))
}

/// The environment variable whose filter directives replace `log.level` when set and not blank.
pub const RUST_LOG: &str = "RUST_LOG";

/// The filter in force and where it comes from: `RUST_LOG` when `rust_log` (its value) is set
/// and not blank, else `log.level`.
pub fn filter_source<'a>(log: &'a LogConfig, rust_log: Option<&'a str>) -> (&'static str, &'a str) {
    match rust_log {
        Some(directives) if !directives.trim().is_empty() => (RUST_LOG, directives),
        _ => ("log.level", &log.level),
    }
}

/// Checks the filter in force (see [`filter_source`]): `check-config` reports the error
/// `run` would stop on.
pub fn check_filter(log: &LogConfig, rust_log: Option<&str>) -> Result<(), TelemetryError> {
    let (setting, directives) = filter_source(log, rust_log);
    parse_filter(setting, directives).map(drop)
}

fn parse_filter(setting: &'static str, directives: &str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::try_new(directives).map_err(|e| TelemetryError::InvalidFilter {
        setting,
        level: directives.to_owned(),
        message: e.to_string(),
    })
}

fn build<W>(
    log: &LogConfig,
    filter: EnvFilter,
    terminal: bool,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true);
    if uses_json(log.format, terminal) {
        Box::new(
            builder
                .json()
                .with_current_span(true)
                .with_span_list(false)
                .flatten_event(true)
                .finish(),
        )
    } else {
        Box::new(builder.with_ansi(terminal).finish())
    }
}

/// Installs the global subscriber for `log`, writing to stderr, with `RUST_LOG` (when set
/// and not blank) in place of `log.level`. Call once, early in `main`.
pub fn init(log: &LogConfig) -> Result<(), TelemetryError> {
    let terminal = std::io::stderr().is_terminal();
    let rust_log = std::env::var(RUST_LOG).ok();
    let (setting, directives) = filter_source(log, rust_log.as_deref());
    let filter = parse_filter(setting, directives)?;
    let subscriber = build(log, filter, terminal, std::io::stderr);
    tracing::subscriber::set_global_default(subscriber)
        .map_err(|_| TelemetryError::AlreadyInitialised)
}

/// How employees are named in logs: a keyed pseudonym, or the raw id when configured.
///
/// The pseudonym is stable for one key (the same employee always gets the same name, so log
/// lines can be correlated) and cannot be reversed or recomputed without the key. Rotate
/// `privacy.pseudonym_key` to unlink old logs from new ones.
#[derive(Clone)]
pub struct Pseudonym {
    mac: Option<Hmac<Sha256>>,
}

impl std::fmt::Debug for Pseudonym {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pseudonym")
            .field("raw_ids", &self.mac.is_none())
            .finish_non_exhaustive()
    }
}

/// Length of the hex digest in a pseudonym (64 bits: collisions are negligible for any
/// realistic workforce, and the name stays short in log lines).
const HEX_DIGITS: usize = 16;

impl Pseudonym {
    /// From `[privacy]`: raw ids when `log_employee_ids`, else HMAC-SHA256 under
    /// `pseudonym_key`.
    pub fn new(privacy: &PrivacyConfig) -> Self {
        if privacy.log_employee_ids {
            return Self { mac: None };
        }
        Self::keyed(privacy.pseudonym_key.expose().as_bytes())
    }

    /// Pseudonyms under `key` (any length).
    pub fn keyed(key: &[u8]) -> Self {
        // HMAC accepts keys of every length, so this cannot fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key).ok();
        Self {
            mac: Some(mac.unwrap_or_else(|| unreachable!("HMAC takes keys of any length"))),
        }
    }

    /// Whether raw ids are logged (`privacy.log_employee_ids = true`).
    pub fn logs_raw_ids(&self) -> bool {
        self.mac.is_none()
    }

    /// The name of `employee_id` in logs: `p:` + 16 hex digits, or the id itself when raw
    /// ids are configured.
    pub fn name(&self, employee_id: &str) -> String {
        let Some(mac) = &self.mac else {
            return employee_id.to_owned();
        };
        let mut mac = mac.clone();
        mac.update(employee_id.as_bytes());
        let digest = mac.finalize().into_bytes();
        let mut out = String::with_capacity(2 + HEX_DIGITS);
        out.push_str("p:");
        for byte in digest.iter().take(HEX_DIGITS / 2) {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }
}

/// Logs one output that concerns an employee at DEBUG, naming people only through
/// `pseudonym`: an operator who must trace one complaint enables `debug` and looks up the
/// employee's pseudonym (computed with the same key) in the logs. Nothing is computed unless
/// DEBUG is enabled for this module.
pub fn log_output(pseudonym: &Pseudonym, output: &Output) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    match output {
        Output::Decision(d) => tracing::debug!(
            employee = %pseudonym.name(d.employee_id.as_str()),
            week = %d.week,
            status = d.status.as_str(),
            revision = d.revision,
            "decision"
        ),
        Output::Change(c) => tracing::debug!(
            employee = %pseudonym.name(c.employee_id.as_str()),
            week = %c.week,
            status = c.status.as_str(),
            "compliance change"
        ),
        Output::Alert(a) => tracing::debug!(
            employee = %pseudonym.name(a.employee_id.as_str()),
            manager = %pseudonym.name(&a.manager_id),
            week = %a.week,
            kind = a.kind.as_str(),
            "manager alert"
        ),
        Output::AlertWithoutManager(_) | Output::DeadLetter(_) | Output::WeekClosed(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(level: &str) -> LogConfig {
        LogConfig {
            format: LogFormat::Json,
            level: level.to_owned(),
        }
    }

    #[test]
    fn rust_log_replaces_the_configured_level_when_set_and_not_blank() {
        let config = log("info");
        assert_eq!(filter_source(&config, None), ("log.level", "info"));
        assert_eq!(filter_source(&config, Some("  ")), ("log.level", "info"));
        assert_eq!(
            filter_source(&config, Some("debug,librdkafka=warn")),
            (RUST_LOG, "debug,librdkafka=warn")
        );
    }

    #[test]
    fn an_invalid_filter_names_where_it_came_from() {
        let error = check_filter(&log("info"), Some("info,[")).expect_err("invalid RUST_LOG");
        assert!(
            error.to_string().starts_with("RUST_LOG \"info,[\""),
            "{error}"
        );
        let error = check_filter(&log("info,["), None).expect_err("invalid log.level");
        assert!(error.to_string().starts_with("log.level "), "{error}");
        assert!(check_filter(&log("info,["), Some("warn")).is_ok());
        assert!(check_filter(&log("warn,attendance_compliance::kafka=debug"), None).is_ok());
    }
}
