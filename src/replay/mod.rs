//! The batch shell (§7): roster, absences, site outages, adjustments, then badges from JSONL
//! files through the same [`Processor`] as live mode, outputs to four JSONL files.
//!
//! Streams its input line by line and is deterministic: the same input gives byte-identical
//! files. Memory is bounded by the engine state, not by the input: a line longer than
//! 128 KiB is never held whole ([`lines`]).
//!
//! Replay never destroys data ([`inputs`], [`outputs`]): every input is opened before
//! `--out` is touched, an input inside `--out` is refused, and the outputs are written to
//! temporaries that replace the old files only when the whole run has succeeded.

mod feed;
mod inputs;
mod lines;
mod outputs;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use crate::config::Config;
use crate::domain::output::Source;
use crate::domain::{DeadLetterReason, Timestamp};
use crate::processor::{Outcome, Processor};
pub(crate) use feed::{apply_line, feed, open_inputs, Kind, Target};
pub(crate) use lines::Line;
use outputs::Writers;

/// The files of one replay.
#[derive(Debug, Clone)]
pub struct ReplayInput {
    /// Badge events, one JSON object per line.
    pub badges: PathBuf,
    /// Roster records, applied first.
    pub roster: Option<PathBuf>,
    /// Absence records, applied after the roster.
    pub absences: Option<PathBuf>,
    /// Site-outage records (v2), applied after the absences.
    pub outages: Option<PathBuf>,
    /// Attendance adjustments (v2), applied after the outages and before the badges.
    pub adjustments: Option<PathBuf>,
    /// `--now`: advance the watermark here at the end of input.
    pub advance_to: Option<Timestamp>,
    /// The processing clock for `future_timestamp` (`--now`, or the wall clock read by the CLI).
    pub clock: Timestamp,
    /// Output directory.
    pub out: PathBuf,
    /// Show a progress bar on stderr (the CLI sets it when stderr is a terminal).
    pub progress: bool,
}

/// Non-blank input lines read, per input file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InputLines {
    /// Roster records.
    pub roster: u64,
    /// Absence records.
    pub absences: u64,
    /// Site-outage records.
    pub outages: u64,
    /// Attendance adjustments.
    pub adjustments: u64,
    /// Badge events.
    pub badges: u64,
}

impl InputLines {
    /// Lines of every file.
    pub fn total(&self) -> u64 {
        self.roster + self.absences + self.outages + self.adjustments + self.badges
    }
}

/// Dead letters per §2 reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterCounts([u64; DeadLetterReason::ALL.len()]);

impl DeadLetterCounts {
    fn slot(reason: DeadLetterReason) -> usize {
        DeadLetterReason::ALL
            .iter()
            .position(|r| *r == reason)
            .unwrap_or(0)
    }

    /// Counts one dead letter.
    pub fn add(&mut self, reason: DeadLetterReason) {
        self.0[Self::slot(reason)] += 1;
    }

    /// Dead letters with `reason`.
    pub fn get(&self, reason: DeadLetterReason) -> u64 {
        self.0[Self::slot(reason)]
    }

    /// Every reason with its count, in precedence order (zeros included).
    pub fn iter(&self) -> impl Iterator<Item = (DeadLetterReason, u64)> + '_ {
        DeadLetterReason::ALL.iter().copied().zip(self.0)
    }

    /// Dead letters of every reason.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }
}

/// Counts of what a replay did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Input lines read (non-blank), per file.
    pub lines: InputLines,
    /// Badges applied to a closed week (corrections).
    pub late_badges: u64,
    /// Dead letters per reason.
    pub dead_letters: DeadLetterCounts,
    /// Decisions written.
    pub decisions: u64,
    /// Compliance changes written.
    pub changes: u64,
    /// Alerts written.
    pub alerts: u64,
    /// Alerts not sent for lack of a manager.
    pub alerts_without_manager: u64,
    /// Employees with state at the end.
    pub employees: u64,
    /// Approximate bytes of engine state at the end.
    pub state_bytes: u64,
}

/// A replay failure: files that cannot be read or written, or must not be. Every variant
/// but `Read` and `Write` in the middle of a run is detected before `--out` is touched.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// An input file cannot be opened or read.
    #[error("cannot read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An output file cannot be created, written, synced or renamed into place.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An input is a directory, a device or a socket: replay reads regular files and pipes.
    #[error("input {path} is {what}, not a regular file or a pipe")]
    NotAFile {
        /// The input as given.
        path: PathBuf,
        /// What it is instead.
        what: &'static str,
    },
    /// An input lies inside `--out` (symlinks resolved), where outputs could replace it.
    #[error("input {path} lies inside the output directory {out}; choose another --out")]
    InputInsideOut {
        /// The input as given.
        path: PathBuf,
        /// `--out`, canonical.
        out: PathBuf,
    },
    /// `--out` exists and is not a directory.
    #[error("--out {path} is not a directory")]
    OutNotADirectory {
        /// `--out`.
        path: PathBuf,
    },
    /// One of the four output names in `--out` is a directory.
    #[error("output {path} is a directory")]
    OutputIsADirectory {
        /// The output path.
        path: PathBuf,
    },
}

/// Output file names, in the order decisions, changes, alerts, dead letters.
pub const OUTPUT_FILES: [&str; 4] = [
    "decisions.jsonl",
    "compliance-changes.jsonl",
    "manager-alerts.jsonl",
    "dead-letters.jsonl",
];

/// Replay's target: one processor writing to the four output files.
struct Replay<'a> {
    processor: Processor,
    writers: &'a mut Writers,
}

impl Target for Replay<'_> {
    fn apply(&mut self, kind: Kind, line: Line<'_>, source: Source, clock: Timestamp) -> Outcome {
        apply_line(&mut self.processor, kind, line, source, clock, self.writers)
    }

    fn check(&mut self) -> Result<(), ReplayError> {
        self.writers.check()
    }

    fn advance_watermark(&mut self, to: Timestamp) {
        self.processor.advance_watermark(to, self.writers);
    }

    fn badge_hint(&self, bytes: &[u8]) -> Option<crate::engine::EmployeeHint> {
        self.processor.badge_hint(bytes)
    }

    fn prefetch_badge(&self, hint: crate::engine::EmployeeHint) {
        self.processor.prefetch_badge(hint);
    }
}

/// Runs a replay and writes the four output files.
///
/// Opens every input and checks `--out` first; writes temporaries and renames them over the
/// outputs only when everything succeeded. On error `--out` is left as it was.
pub fn replay(config: &Config, input: &ReplayInput) -> Result<ReplaySummary, ReplayError> {
    let opened = open_inputs(input, &OUTPUT_FILES)?;
    let mut writers = Writers::create(&input.out)?;
    let mut summary = ReplaySummary::default();
    let mut target = Replay {
        processor: Processor::new(config),
        writers: &mut writers,
    };
    feed(opened, input, &mut target, &mut summary)?;
    let processor = target.processor;
    let counts = writers.commit()?;
    summary.decisions = counts.decisions;
    summary.changes = counts.changes;
    summary.alerts = counts.alerts;
    summary.alerts_without_manager = counts.alerts_without_manager;
    summary.employees = processor.engine().employees_tracked() as u64;
    summary.state_bytes = processor.engine().state_bytes() as u64;
    Ok(summary)
}
