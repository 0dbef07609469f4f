//! The command line: `run`, `demo`, `replay`, `simulate`, `check-config`, `generate`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

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
    /// Validate a configuration directory, print every problem, exit non-zero on errors.
    CheckConfig(CheckConfigArgs),
    /// Generate a synthetic company in replay's input format (config, roster, absences, site
    /// outages, attendance adjustments and in/out badges).
    Generate(GenerateArgs),
    /// Run the live service: consume the input topics, produce the outputs (exactly once).
    Run(RunArgs),
    /// Run the whole pipeline on an embedded Kafka mock cluster with a generated company.
    Demo,
}

/// `run` arguments.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Configuration directory.
    #[arg(
        long,
        value_name = "DIR",
        default_value = "config",
        env = "ATTENDANCE_CONFIG_DIR"
    )]
    pub config: PathBuf,
}

/// `replay` arguments (exactly SPEC §7's command line).
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// Configuration directory.
    #[arg(long, value_name = "DIR")]
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
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Output directory for decisions.jsonl, compliance-changes.jsonl, manager-alerts.jsonl
    /// and dead-letters.jsonl.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// `simulate` arguments (exactly SPEC §9's command line, plus `--with-ids`).
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Configuration directory (its policies are the "current" side).
    #[arg(long, value_name = "DIR")]
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
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
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
    #[arg(long, value_name = "DIR", default_value = "config")]
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
