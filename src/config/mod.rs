//! Static configuration: the configuration directory, read, layered and validated (SPEC §1.4).
//!
//! A configuration directory holds four TOML files:
//!
//! | file | content | required |
//! |---|---|---|
//! | `sites.toml` | `[[site]]` tables: `id`, `timezone` (IANA name), `region` | yes |
//! | `holidays.toml` | `[holidays]` table: region = list of local dates | yes |
//! | `policies.toml` | `[[policy]]` tables (SPEC §4.1) | yes |
//! | `processor.toml` | `[time]`, `[kafka]`, `[topics]`, `[http]`, `[state]`, `[privacy]`, `[log]` | no |
//!
//! Processor settings are layered, later layers winning:
//! **built-in defaults < `processor.toml` < environment variables** `ATTENDANCE__<SECTION>__<KEY>`
//! (see [`Config::load_with_env`]). Sites, holidays and policies come from their files only.
//!
//! Loading is all-or-nothing and reports everything at once: every problem in every file,
//! each naming the file, the field (a TOML path such as `policy[2].escalation[1].after_weeks`,
//! entries numbered from 0 in file order) and what is wrong. Problems that do not stop the
//! program (a policy starting on a Wednesday, holidays for a region without sites, the
//! development pseudonym key) are returned as warnings next to the valid [`Config`].
//!
//! Every value has a range, defined once in [`limits`] (and shown in docs/CONFIGURATION.md):
//! a value outside it is an error like any other, so whatever loads is safe for the engine
//! (bounded weeks, loops and allocations; no date arithmetic near overflow). Problems echo
//! external text with its control characters escaped, one line each.
//!
//! The module owns file reading (`load`, file names in `files`), the serde shapes (`raw`),
//! validation (`validate`, `layer`) and environment parsing (`env`); its submodules form a
//! DAG (`load` -> `env`/`layer`/`validate` -> `raw`/`values`/`files`; `alternative`, a
//! policies file outside the directory for `simulate`, -> `load`/`validate`). It must not depend on
//! any other module of the crate, and it never exits or logs: the caller decides what to do
//! with problems and warnings.

mod alternative;
mod api;
mod duration;
mod env;
mod files;
mod layer;
pub mod limits;
mod load;
mod processor;
mod raw;
#[cfg(test)]
mod tests;
pub mod tls;
mod topics;
mod validate;
mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use chrono::NaiveDate;

pub use duration::parse_duration;
pub use env::ENV_PREFIX;
pub use processor::{
    ApiConfig, HttpConfig, KafkaConfig, LogConfig, LogFormat, PrivacyConfig, ProcessorConfig,
    Secret, SecretFile, StateConfig, TimeConfig, DEV_PSEUDONYM_KEY,
};
pub use topics::{InputTopic, OutputTopic, TopicsConfig};
pub use values::{parse_base_url, MAX_URL_BYTES};

/// The validated configuration of the processor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Every configured site, in file order; ids are unique.
    pub sites: Vec<Site>,
    /// Holidays per region: region name → local dates. Only regions listed in
    /// `holidays.toml` appear; a region without an entry has no holidays.
    pub holidays: BTreeMap<String, BTreeSet<NaiveDate>>,
    /// Every policy version, in file order. No two share `(id, version)`, and no policy
    /// group has two entries with the same `effective_from`.
    pub policies: Vec<Policy>,
    /// Settings of the running processor (defaults < `processor.toml` < environment).
    pub processor: ProcessorConfig,
}

/// An office site where badges are scanned (`[[site]]` in `sites.toml`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The site id badge events refer to, e.g. `"SEA-1"`; non-empty and unique.
    pub id: String,
    /// The site's time zone: badge timestamps are converted to it to find the office day.
    pub timezone: chrono_tz::Tz,
    /// The holiday region of the site, e.g. `"US"`; a key of `holidays.toml`.
    pub region: String,
}

/// One version of a return-to-office policy (`[[policy]]` in `policies.toml`, SPEC §4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Policy id, e.g. `"rto-3"`; non-empty.
    pub id: String,
    /// Version of the policy; `(id, version)` is unique.
    pub version: u32,
    /// Roster policy groups this entry applies to; non-empty, no empty names.
    pub policy_groups: Vec<String>,
    /// First date this version is in force: the first week evaluated under it is the one
    /// whose Monday is on or after this date (normally itself a Monday).
    pub effective_from: NaiveDate,
    /// Office days required per week, 0 to 7.
    pub required_days: u8,
    /// How weeks are judged (§4.1 `rule`, or the v1 `rolling_weeks`). Default weekly.
    pub rule: Rule,
    /// Minimum presence per day (§3.7, v2): a day counts only when its first `in` and last
    /// `out` are at least this far apart. `None`: no presence rule. 1 minute to 24 hours.
    pub min_presence: Option<std::time::Duration>,
    /// What a day with an `in` and no later `out` is under `min_presence` (§3.7).
    pub unverified_presence: UnverifiedPresence,
    /// Whether Saturday and Sunday office days count. Default false.
    pub count_weekends: bool,
    /// Number of ISO weeks, starting with the week of the hire date, that are exempt
    /// (`new_hire_grace`). Default 0.
    pub new_hire_grace_weeks: u32,
    /// Non-compliant streak at which promotions require VP approval. Default 1.
    pub promotion_hold_after_weeks: u32,
    /// Escalation ladder, `after_weeks` strictly increasing, at most
    /// [`limits::MAX_ESCALATION_RUNGS`] rungs. Default empty.
    pub escalation: Vec<EscalationRung>,
}

/// How a policy judges weeks (§4.1 `rule`, §4.3 rules 5–7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Each week alone (`{kind = "weekly"}`, or `rolling_weeks = 1`).
    Weekly,
    /// Office days summed over the last `weeks` weeks, 2 to 26 (`{kind = "rolling_average"}`,
    /// or `rolling_weeks = N`).
    RollingAverage {
        /// Window length.
        weeks: u32,
    },
    /// Non-compliant when more than `max_missed` of the last `weeks` weeks were missed
    /// (1 ≤ weeks ≤ 26, 0 ≤ max_missed < weeks).
    MissedWeeks {
        /// Window length.
        weeks: u32,
        /// Missed weeks allowed in the window.
        max_missed: u32,
    },
}

impl Rule {
    /// The number of ISO weeks of the window ending with the week judged (1 for weekly).
    pub fn window_weeks(self) -> u32 {
        match self {
            Rule::Weekly => 1,
            Rule::RollingAverage { weeks } | Rule::MissedWeeks { weeks, .. } => weeks,
        }
    }

    /// The rule's `kind` as written in `policies.toml`.
    pub fn kind(self) -> &'static str {
        match self {
            Rule::Weekly => "weekly",
            Rule::RollingAverage { .. } => "rolling_average",
            Rule::MissedWeeks { .. } => "missed_weeks",
        }
    }
}

/// `unverified_presence` (§4.1, v2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnverifiedPresence {
    /// A day with an `in` and no `out` is an office day (the default).
    #[default]
    Count,
    /// It is not.
    Ignore,
}

/// One rung of a policy's escalation ladder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationRung {
    /// Streak of non-compliant weeks from which this rung applies; 1 to 520.
    pub after_weeks: u32,
    /// Level named in manager alerts, e.g. `"verbal_warning"`; non-empty.
    pub level: String,
}

/// A successfully loaded configuration and the warnings found on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The validated configuration.
    pub config: Config,
    /// Problems that do not prevent running (e.g. a policy whose `effective_from` is not a
    /// Monday). `check-config --deny-warnings` treats them as errors.
    pub warnings: Vec<Problem>,
}

/// One problem found in the configuration: an error or a warning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where it was found: a file name such as `"policies.toml"`, or `"environment"`.
    pub file: String,
    /// The setting concerned: a TOML path such as `"policy[2].escalation[1].after_weeks"`
    /// (entries numbered from 0), an environment variable name, or empty when the problem
    /// concerns the whole file.
    pub field: String,
    /// What is wrong, one line, e.g. `"must be between 0 and 7, got 9"`.
    pub message: String,
}

impl Problem {
    /// A problem in `file` about `field` (empty for the whole file).
    ///
    /// Control characters (and the Unicode bidirectional overrides) in any of the three are
    /// escaped (`\n`, `\u{1b}`), since they may echo external text such as an environment
    /// variable's name or value: a problem is always one line that cannot move the cursor,
    /// recolour the terminal or forge a log line.
    pub fn new(
        file: impl Into<String>,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: escape_controls(file.into()),
            field: escape_controls(field.into()),
            message: escape_controls(message.into()),
        }
    }
}

/// Whether `c` is a control character or a Unicode bidirectional override or isolate.
pub(crate) fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [unsafe character](is_unsafe_char) written as its Rust escape
/// (`\n`, `\r`, `\t`, `\u{1b}`); text without one is returned as it is.
pub(crate) fn escape_controls(text: String) -> String {
    if !text.chars().any(is_unsafe_char) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_unsafe_char(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

impl fmt::Display for Problem {
    /// `file: field: message`, or `file: message` when there is no field; always one line
    /// (control characters escaped, also in a `Problem` built field by field).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = escape_controls(self.file.clone());
        let message = escape_controls(self.message.clone());
        if self.field.is_empty() {
            write!(f, "{file}: {message}")
        } else {
            let field = escape_controls(self.field.clone());
            write!(f, "{file}: {field}: {message}")
        }
    }
}

/// The configuration is invalid; holds every error found (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigErrors {
    /// Every error, in the order found: file by file, then within each file.
    pub problems: Vec<Problem>,
}

impl fmt::Display for ConfigErrors {
    /// One problem per line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl Config {
    /// Reads `<dir>/sites.toml`, `holidays.toml`, `policies.toml` (required) and
    /// `processor.toml` (optional), layers defaults < `processor.toml` < environment
    /// (from [`std::env::vars_os`]), validates everything and collects ALL problems.
    pub fn load(dir: &Path) -> Result<Loaded, ConfigErrors> {
        let env = std::env::vars_os().filter_map(|(name, value)| {
            let name = name.into_string().ok()?;
            env::has_prefix(&name).then(|| (name, value.to_string_lossy().into_owned()))
        });
        Self::load_with_env(dir, env)
    }

    /// Like [`Config::load`], with the environment given explicitly (for tests and tools).
    ///
    /// Variables whose name starts with `ATTENDANCE__` (any case) override processor settings:
    /// `ATTENDANCE__<SECTION>__<KEY>`, section and key case-insensitive, e.g.
    /// `ATTENDANCE__TIME__ALLOWED_LATENESS=48h`. Kafka client properties are
    /// `ATTENDANCE__KAFKA__CLIENT__<NAME>`, where the name is lower-cased and `_` becomes `.`
    /// (`SECURITY_PROTOCOL` → `security.protocol`). Values are parsed by the same rules as in
    /// `processor.toml`. An unknown `ATTENDANCE__` variable is an error; other variables are
    /// ignored.
    pub fn load_with_env(
        dir: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Loaded, ConfigErrors> {
        load::load(dir, env)
    }

    /// Reads and validates a policies file outside the configuration directory (`simulate
    /// --alternative`, §9) exactly as `policies.toml` is: the valid policies and their
    /// warnings, or every problem, each naming `path` as its file.
    pub fn load_policies(path: &Path) -> Result<(Vec<Policy>, Vec<Problem>), ConfigErrors> {
        alternative::load_policies(path)
    }
}

/// Errors and warnings collected while loading, plus the TOML paths whose values were
/// dropped because they could not be read (so that they are not reported again as missing).
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub(crate) errors: Vec<Problem>,
    pub(crate) warnings: Vec<Problem>,
    dropped: BTreeSet<(String, String)>,
}

impl Findings {
    /// Records an error.
    pub(crate) fn error(&mut self, file: &str, field: &str, message: impl Into<String>) {
        self.errors.push(Problem::new(file, field, message));
    }

    /// Records a warning.
    pub(crate) fn warn(&mut self, file: &str, field: &str, message: impl Into<String>) {
        self.warnings.push(Problem::new(file, field, message));
    }

    /// Notes that the value at `field` was unreadable and has been reported already.
    pub(crate) fn note_dropped(&mut self, file: &str, field: &str) {
        self.dropped.insert((file.to_owned(), field.to_owned()));
    }

    /// Whether `field`, or a table or array holding it, was dropped as unreadable.
    pub(crate) fn was_dropped(&self, file: &str, field: &str) -> bool {
        self.dropped.iter().any(|(dropped_file, dropped)| {
            dropped_file == file
                && field.strip_prefix(dropped.as_str()).is_some_and(|rest| {
                    rest.is_empty() || rest.starts_with('.') || rest.starts_with('[')
                })
        })
    }

    /// Records "missing required key" for `field`, unless its value was dropped as unreadable.
    pub(crate) fn missing(&mut self, file: &str, field: &str) {
        if !self.was_dropped(file, field) {
            self.error(file, field, "missing required key");
        }
    }
}
