//! The command line: `run`, `demo`, `replay`, `simulate`, `check-config`, `generate`,
//! `completions` and `man`, and what every command shares: where the configuration directory
//! comes from ([`CONFIG_DIR_ENV`]), the exit codes ([`Exit`]), the version line
//! ([`version`]), and the completions and man page generated from the clap definitions.

use std::io::Write;
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand};

use crate::domain::time::parse_timestamp;
use crate::domain::Timestamp;

/// The environment variable naming the configuration directory when `--config` is not given
/// (then `config/`); the same for every command that reads one.
pub const CONFIG_DIR_ENV: &str = "ATTENDANCE_CONFIG_DIR";

/// The git revision the binary was built from (`build.rs`: `ATTENDANCE_GIT_REVISION` when
/// set at build time, else `git rev-parse`, else `unknown`; also `unknown` when the build
/// script was left out of the build context).
pub const GIT_REVISION: &str = match option_env!("ATTENDANCE_GIT_REVISION") {
    Some(revision) => revision,
    None => "unknown",
};

/// Exit codes, the same for every command (README, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Ok,
    /// 1: a runtime failure (an input or output file, Kafka, the brokers not answering within
    /// `kafka.startup_timeout`, a missing ACL or topic, the pipeline failing).
    Failure,
    /// 2: a usage error (an unknown flag, a missing or malformed argument) or an invalid
    /// configuration (a configuration directory, an alternative policies file, a log filter
    /// in `log.level` or `RUST_LOG`), reported before anything is read or written.
    Usage,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Failure => 1,
            Self::Usage => 2,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        Self::from(exit.code())
    }
}

/// The exit-code table of `--help`, the man page and the README.
pub const EXIT_CODES: [(Exit, &str); 3] = [
    (Exit::Ok, "success (run: stopped by SIGTERM or Ctrl-C)"),
    (
        Exit::Failure,
        "runtime failure: an input or output file, Kafka (brokers not answering within \
         kafka.startup_timeout, a missing ACL or topic, a fatal pipeline error)",
    ),
    (
        Exit::Usage,
        "usage error or invalid configuration (an unknown flag, a malformed argument, a \
         configuration problem, an invalid log filter in log.level or RUST_LOG)",
    ),
];

/// The version line: crate version, git revision and the librdkafka linked in, e.g.
/// `0.1.0 (git 1a2b3c4d5e6f, librdkafka 2.10.0)`.
pub fn version() -> String {
    format!(
        "{} (git {GIT_REVISION}, librdkafka {})",
        env!("CARGO_PKG_VERSION"),
        rdkafka::util::get_rdkafka_version().1
    )
}

fn after_help() -> String {
    let mut text = String::from("Exit status:\n");
    for (exit, meaning) in EXIT_CODES {
        text.push_str(&format!("  {}  {meaning}\n", exit.code()));
    }
    text.push_str(&format!(
        "\nThe configuration directory is --config DIR, else ${CONFIG_DIR_ENV}, else config/.\n\
         Logging (run, demo): RUST_LOG, when set, replaces log.level (tracing filter \
         directives)."
    ));
    text
}

/// The clap command with the full version line and the exit-code help: what parsing, the
/// completions and the man page use.
pub fn command() -> clap::Command {
    Cli::command()
        .version(version())
        .after_long_help(after_help())
}

/// Parses the process arguments with [`command`]; on a usage error (or `--help`,
/// `--version`) prints clap's message and exits (2 for errors, 0 for help and version).
pub fn parse() -> Cli {
    let matches = command().get_matches();
    <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
}

/// Writes the completion script for `shell` (generated from the clap definitions).
pub fn write_completions(shell: clap_complete::Shell, out: &mut dyn Write) {
    let mut cmd = command();
    let name = cmd.get_name().to_owned();
    clap_complete::generate(shell, &mut cmd, name, out);
}

/// Writes the man page `attendance-compliance(1)`: the command, its options and subcommands
/// (each subcommand's options are in its own page, [`write_man_pages`]), then the exit
/// status and the environment.
pub fn write_man_page(out: &mut dyn Write) -> std::io::Result<()> {
    let mut page = Vec::new();
    render_man_page(&mut page)?;
    // Each clap_mangen section comes with roff's two-line `Aq` preamble: keep the first.
    let text = String::from_utf8_lossy(&page);
    let mut seen = std::collections::HashSet::new();
    for line in text.lines() {
        let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
        if !preamble || seen.insert(line.to_owned()) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

fn render_man_page(out: &mut dyn Write) -> std::io::Result<()> {
    let man = clap_mangen::Man::new(command());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    man.render_options_section(out)?;
    man.render_subcommands_section(out)?;
    out.write_all(b".SH \"EXIT STATUS\"\n")?;
    for (exit, meaning) in EXIT_CODES {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", exit.code(), roff_text(meaning))?;
    }
    out.write_all(b".SH ENVIRONMENT\n")?;
    let environment = [
        (
            CONFIG_DIR_ENV,
            "The configuration directory when --config is not given (then config/), for \
             every command that reads one.",
        ),
        (
            "ATTENDANCE__<SECTION>__<KEY>",
            "Overrides one processor.toml setting, e.g. ATTENDANCE__KAFKA__BROKERS.",
        ),
        (
            "RUST_LOG",
            "run and demo: tracing filter directives that replace log.level when set and not \
             empty, e.g. info,attendance_compliance::kafka=debug.",
        ),
    ];
    for (name, meaning) in environment {
        writeln!(
            out,
            ".TP\n\\fB{}\\fR\n{}",
            roff_text(name),
            roff_text(meaning)
        )?;
    }
    man.render_version_section(out)
}

/// Writes `attendance-compliance.1` and one page per subcommand
/// (`attendance-compliance-replay.1`, ...) into `dir`; returns the files written.
pub fn write_man_pages(dir: &std::path::Path) -> std::io::Result<Vec<PathBuf>> {
    let main = dir.join("attendance-compliance.1");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&main)?);
    write_man_page(&mut file)?;
    file.flush()?;
    let mut written = vec![main];
    let mut cmd = command().disable_help_subcommand(true);
    cmd.build();
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        written.push(clap_mangen::Man::new(sub.clone()).generate_to(dir)?);
    }
    Ok(written)
}

/// Text for a roff line: backslashes escaped, no line starting with a control character.
fn roff_text(text: &str) -> String {
    let escaped = text.replace('\\', "\\e");
    if escaped.starts_with(['.', '\'']) {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// attendance-compliance: return-to-office compliance from badge events.
#[derive(Debug, Parser)]
#[command(name = "attendance-compliance", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Replay JSONL files through the engine and write the four output files (SPEC §7).
    Replay(ReplayArgs),
    /// Replay the same input under the current and an alternative policies file and write
    /// summary.json and report.html (SPEC §9).
    Simulate(SimulateArgs),
    /// Validate a configuration directory, print every problem, exit 2 on errors.
    CheckConfig(CheckConfigArgs),
    /// Generate a synthetic company in replay's input format (config, roster, absences, site
    /// outages, attendance adjustments and in/out badges).
    Generate(GenerateArgs),
    /// Run the live service: consume the input topics, produce the outputs (exactly once).
    Run(RunArgs),
    /// Run the whole pipeline on an embedded Kafka mock cluster with a generated company.
    Demo,
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions(CompletionsArgs),
    /// Print the man page attendance-compliance(1) to stdout, or write every page to a
    /// directory.
    Man(ManArgs),
}

/// `completions` arguments.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `man` arguments.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write attendance-compliance.1 and one page per subcommand into this directory instead.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `run` arguments.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Configuration directory.
    #[arg(long, value_name = "DIR", default_value = "config", env = CONFIG_DIR_ENV)]
    pub config: PathBuf,
}

/// `replay` arguments (exactly SPEC §7's command line).
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Configuration directory.
    #[arg(long, value_name = "DIR", default_value = "config", env = CONFIG_DIR_ENV)]
    pub config: PathBuf,
    /// Badge events, one JSON object per line.
    #[arg(long, value_name = "FILE")]
    pub badges: PathBuf,
    /// Roster records, applied first.
    #[arg(long, value_name = "FILE")]
    pub roster: Option<PathBuf>,
    /// Absence records, applied after the roster.
    #[arg(long, value_name = "FILE")]
    pub absences: Option<PathBuf>,
    /// Site-outage records (SPEC §1.5), applied after the absences.
    #[arg(long, value_name = "FILE")]
    pub outages: Option<PathBuf>,
    /// Attendance adjustments (SPEC §1.6), applied after the outages, before the badges.
    #[arg(long, value_name = "FILE")]
    pub adjustments: Option<PathBuf>,
    /// Processing clock (RFC 3339); at end of input the watermark advances to it.
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<Timestamp>,
    /// Output directory for decisions.jsonl, compliance-changes.jsonl, manager-alerts.jsonl
    /// and dead-letters.jsonl.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `simulate` arguments (exactly SPEC §9's command line, plus `--with-ids`).
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Configuration directory (its policies are the "current" side).
    #[arg(long, value_name = "DIR", default_value = "config", env = CONFIG_DIR_ENV)]
    pub config: PathBuf,
    /// A policies file ([[policy]] tables, as policies.toml) for the "alternative" side.
    #[arg(long, value_name = "FILE")]
    pub alternative: PathBuf,
    /// Badge events, one JSON object per line.
    #[arg(long, value_name = "FILE")]
    pub badges: PathBuf,
    /// Roster records, applied first.
    #[arg(long, value_name = "FILE")]
    pub roster: Option<PathBuf>,
    /// Absence records, applied after the roster.
    #[arg(long, value_name = "FILE")]
    pub absences: Option<PathBuf>,
    /// Site-outage records (SPEC §1.5), applied after the absences.
    #[arg(long, value_name = "FILE")]
    pub outages: Option<PathBuf>,
    /// Attendance adjustments (SPEC §1.6), applied after the outages, before the badges.
    #[arg(long, value_name = "FILE")]
    pub adjustments: Option<PathBuf>,
    /// Processing clock (RFC 3339); at end of input the watermark advances to it.
    #[arg(long, value_name = "RFC3339", value_parser = parse_now)]
    pub now: Option<Timestamp>,
    /// Output directory for summary.json and report.html.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// List the employees whose status changed in summary.json (counts only without it).
    #[arg(long)]
    pub with_ids: bool,
}

/// `check-config` arguments.
#[derive(Debug, clap::Args)]
pub struct CheckConfigArgs {
    /// Configuration directory.
    #[arg(long, value_name = "DIR", default_value = "config", env = CONFIG_DIR_ENV)]
    pub config: PathBuf,
    /// Treat warnings as errors.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// `generate` arguments.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Output directory (config/, summary.json and the roster, absences, outages,
    /// adjustments and badges JSONL files are written there).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Number of employees.
    #[arg(long, default_value_t = 1000)]
    pub employees: u32,
    /// Number of weeks of badges.
    #[arg(long, default_value_t = 6)]
    pub weeks: u32,
    /// First Monday of the generated period.
    #[arg(long, default_value = "2026-05-04")]
    pub start: chrono::NaiveDate,
    /// Random seed: the same seed gives the same files.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Fraction of badges delivered late.
    #[arg(long, default_value_t = 0.02)]
    pub late_fraction: f64,
    /// Fraction of badges delivered twice.
    #[arg(long, default_value_t = 0.01)]
    pub duplicate_fraction: f64,
    /// Fraction of bad input lines (every input file has at least one line of each fault kind
    /// when positive).
    #[arg(long, default_value_t = 0.002)]
    pub bad_fraction: f64,
}

/// `--now`: an RFC 3339 timestamp (a malformed one is a usage error, exit 2).
fn parse_now(text: &str) -> Result<Timestamp, String> {
    if let Ok(t) = parse_timestamp(text) {
        return Ok(t);
    }
    let t = chrono::DateTime::parse_from_rfc3339(text)
        .map_err(|e| format!("not an RFC 3339 timestamp ({e})"))?;
    Ok(Timestamp::from_chrono(t.with_timezone(&chrono::Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subcommand_names() -> Vec<String> {
        command()
            .get_subcommands()
            .map(|s| s.get_name().to_owned())
            .collect()
    }

    #[test]
    fn every_command_with_a_configuration_finds_it_the_same_way() {
        let cmd = command();
        let mut with_config = Vec::new();
        for sub in cmd.get_subcommands() {
            let Some(arg) = sub.get_arguments().find(|a| a.get_id() == "config") else {
                continue;
            };
            with_config.push(sub.get_name().to_owned());
            assert_eq!(
                arg.get_env().and_then(|e| e.to_str()),
                Some(CONFIG_DIR_ENV),
                "{}",
                sub.get_name()
            );
            let defaults: Vec<_> = arg.get_default_values().iter().collect();
            assert_eq!(defaults, ["config"], "{}", sub.get_name());
            assert_eq!(arg.get_long(), Some("config"), "{}", sub.get_name());
        }
        with_config.sort();
        assert_eq!(with_config, ["check-config", "replay", "run", "simulate"]);
    }

    #[test]
    fn the_version_names_the_crate_the_revision_and_librdkafka() {
        let version = version();
        assert!(
            version.starts_with(concat!(env!("CARGO_PKG_VERSION"), " (git ")),
            "{version}"
        );
        assert!(version.contains(GIT_REVISION), "{version}");
        let librdkafka = rdkafka::util::get_rdkafka_version().1;
        assert!(
            version.ends_with(&format!("librdkafka {librdkafka})")),
            "{version}"
        );
        let rendered = command().render_version();
        assert!(rendered.contains(&version), "{rendered}");
    }

    #[test]
    fn usage_errors_exit_2_like_an_invalid_configuration() {
        let cases: [&[&str]; 4] = [
            &[
                "attendance-compliance",
                "replay",
                "--badges",
                "b",
                "--out",
                "o",
                "--now",
                "soon",
            ],
            &["attendance-compliance", "run", "--no-such-flag"],
            &["attendance-compliance", "completions", "tcsh"],
            &["attendance-compliance"],
        ];
        for args in cases {
            let error = command()
                .try_get_matches_from(args)
                .expect_err("a usage error");
            assert_eq!(error.exit_code(), i32::from(Exit::Usage.code()), "{args:?}");
        }
        let now = command()
            .try_get_matches_from([
                "attendance-compliance",
                "replay",
                "--badges",
                "b",
                "--out",
                "o",
                "--now",
                "2026-05-11T08:00:00+02:00",
            ])
            .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
        let Ok(Cli {
            command: Command::Replay(replay),
        }) = now
        else {
            panic!("replay with an offset --now: {now:?}");
        };
        assert_eq!(
            replay.now.map(|t| t.to_string()),
            Some("2026-05-11T06:00:00.000Z".to_owned())
        );
    }

    #[test]
    fn completions_mention_every_subcommand() {
        let names = subcommand_names();
        assert!(names.len() >= 8, "{names:?}");
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut script = Vec::new();
            write_completions(shell, &mut script);
            let script = String::from_utf8(script).expect("UTF-8");
            for name in &names {
                assert!(script.contains(name.as_str()), "{shell}: {name} missing");
            }
            assert!(script.contains("attendance-compliance"), "{shell}");
        }
    }

    #[test]
    fn the_man_page_lists_every_subcommand_the_exit_codes_and_the_environment() {
        let mut page = Vec::new();
        write_man_page(&mut page).expect("render");
        let page = String::from_utf8(page).expect("UTF-8");
        assert!(page.starts_with(".ie"), "{page}");
        assert_eq!(page.matches(".TH ").count(), 1, "{page}");
        for name in subcommand_names() {
            assert!(
                page.contains(&format!(
                    "attendance\\-compliance\\-{}",
                    name.replace('-', "\\-")
                )),
                "{name} missing:\n{page}"
            );
        }
        assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
        for (exit, _) in EXIT_CODES {
            assert!(page.contains(&format!("\\fB{}\\fR", exit.code())), "{page}");
        }
        for variable in [CONFIG_DIR_ENV, "RUST_LOG"] {
            assert!(page.contains(variable), "{variable}:\n{page}");
        }
    }

    #[test]
    fn man_pages_are_written_for_the_command_and_each_subcommand() {
        let dir = tempfile::tempdir().expect("temp dir");
        let written = write_man_pages(dir.path()).expect("write");
        let mut names: Vec<String> = written
            .iter()
            .filter_map(|p| p.file_name()?.to_str().map(str::to_owned))
            .collect();
        names.sort();
        let mut expected: Vec<String> = subcommand_names()
            .iter()
            .map(|n| format!("attendance-compliance-{n}.1"))
            .chain(["attendance-compliance.1".to_owned()])
            .collect();
        expected.sort();
        assert_eq!(names, expected);
        let replay = std::fs::read_to_string(dir.path().join("attendance-compliance-replay.1"))
            .expect("replay page");
        assert!(replay.contains("\\-\\-badges"), "{replay}");
    }

    #[test]
    fn roff_text_cannot_start_a_request() {
        assert_eq!(roff_text(".SH x"), "\\&.SH x");
        assert_eq!(roff_text("a\\b"), "a\\eb");
        assert_eq!(roff_text("plain"), "plain");
    }
}
