//! The batch shell (§7): roster, absences, then badges from JSONL files through the same
//! [`Processor`] as live mode, outputs to four JSONL files.
//!
//! Streams its input line by line (memory is bounded by the engine state, not file size)
//! and is deterministic: the same input gives byte-identical files.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::domain::output::Source;
use crate::domain::{DeadLetterReason, Timestamp};
use crate::engine::{Output, Sink};
use crate::processor::{Outcome, Processor};

/// The files of one replay.
#[derive(Debug, Clone)]
pub struct ReplayInput {
    /// Badge events, one JSON object per line.
    pub badges: PathBuf,
    /// Roster records, applied first.
    pub roster: Option<PathBuf>,
    /// Absence records, applied after the roster.
    pub absences: Option<PathBuf>,
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
    /// Badge events.
    pub badges: u64,
}

impl InputLines {
    /// Lines of every file.
    pub fn total(&self) -> u64 {
        self.roster + self.absences + self.badges
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

/// A replay failure: files that cannot be read or written.
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
    /// An output file cannot be created or written.
    #[error("cannot write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

struct Writers {
    dir: PathBuf,
    decisions: BufWriter<File>,
    changes: BufWriter<File>,
    alerts: BufWriter<File>,
    dead_letters: BufWriter<File>,
    counts: ReplaySummary,
    error: Option<std::io::Error>,
}

/// Output file names, in the order decisions, changes, alerts, dead letters.
pub const OUTPUT_FILES: [&str; 4] = [
    "decisions.jsonl",
    "compliance-changes.jsonl",
    "manager-alerts.jsonl",
    "dead-letters.jsonl",
];

impl Writers {
    fn create(dir: &Path) -> Result<Self, ReplayError> {
        let err = |path: PathBuf| move |source| ReplayError::Write { path, source };
        std::fs::create_dir_all(dir).map_err(err(dir.to_owned()))?;
        let open = |name: &str| -> Result<BufWriter<File>, ReplayError> {
            let path = dir.join(name);
            File::create(&path)
                .map(|f| BufWriter::with_capacity(1 << 20, f))
                .map_err(err(path))
        };
        Ok(Self {
            dir: dir.to_owned(),
            decisions: open(OUTPUT_FILES[0])?,
            changes: open(OUTPUT_FILES[1])?,
            alerts: open(OUTPUT_FILES[2])?,
            dead_letters: open(OUTPUT_FILES[3])?,
            counts: ReplaySummary::default(),
            error: None,
        })
    }

    fn write_one(&mut self, output: &Output) -> std::io::Result<()> {
        match output {
            Output::Decision(d) => {
                self.counts.decisions += 1;
                line(&mut self.decisions, d)
            }
            Output::Change(c) => {
                self.counts.changes += 1;
                line(&mut self.changes, c)
            }
            Output::Alert(a) => {
                self.counts.alerts += 1;
                line(&mut self.alerts, a)
            }
            Output::DeadLetter(d) => line(&mut self.dead_letters, d),
            Output::AlertWithoutManager(_) => {
                self.counts.alerts_without_manager += 1;
                Ok(())
            }
            Output::WeekClosed(_) => Ok(()),
        }
    }

    /// The first write error since the last call, as a replay error.
    fn check(&mut self) -> Result<(), ReplayError> {
        match self.error.take() {
            Some(source) => Err(ReplayError::Write {
                path: self.dir.clone(),
                source,
            }),
            None => Ok(()),
        }
    }

    fn finish(mut self) -> Result<ReplaySummary, ReplayError> {
        self.check()?;
        for w in [
            &mut self.decisions,
            &mut self.changes,
            &mut self.alerts,
            &mut self.dead_letters,
        ] {
            w.flush().map_err(|source| ReplayError::Write {
                path: self.dir.clone(),
                source,
            })?;
        }
        Ok(self.counts.clone())
    }
}

/// Outputs go straight to the files as the engine produces them: a week close for a whole
/// zone never piles up in memory. A write error is kept and reported after the input line.
impl Sink for Writers {
    fn emit(&mut self, output: Output) {
        if self.error.is_none() {
            if let Err(e) = self.write_one(&output) {
                self.error = Some(e);
            }
        }
    }
}

fn line<T: serde::Serialize>(w: &mut BufWriter<File>, value: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *w, value).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}

#[derive(Clone, Copy)]
enum Kind {
    Roster,
    Absences,
    Badges,
}

/// Runs a replay and writes the four output files.
pub fn replay(config: &Config, input: &ReplayInput) -> Result<ReplaySummary, ReplayError> {
    let mut processor = Processor::new(config);
    let mut writers = Writers::create(&input.out)?;
    let mut summary = ReplaySummary::default();
    let files = [
        (input.roster.as_ref(), Kind::Roster),
        (input.absences.as_ref(), Kind::Absences),
        (Some(&input.badges), Kind::Badges),
    ];
    for (path, kind) in files {
        let Some(path) = path else { continue };
        let state = FileRun {
            path,
            kind,
            clock: input.clock,
            progress: input.progress,
        };
        state.run(&mut processor, &mut writers, &mut summary)?;
    }
    if let Some(now) = input.advance_to {
        processor.advance_watermark(now, &mut writers);
    }
    let counts = writers.finish()?;
    summary.decisions = counts.decisions;
    summary.changes = counts.changes;
    summary.alerts = counts.alerts;
    summary.alerts_without_manager = counts.alerts_without_manager;
    summary.employees = processor.engine().employees_tracked() as u64;
    summary.state_bytes = processor.engine().state_bytes() as u64;
    Ok(summary)
}

struct FileRun<'a> {
    path: &'a Path,
    kind: Kind,
    clock: Timestamp,
    progress: bool,
}

impl FileRun<'_> {
    fn run(
        &self,
        processor: &mut Processor,
        writers: &mut Writers,
        summary: &mut ReplaySummary,
    ) -> Result<(), ReplayError> {
        let read_err = |source| ReplayError::Read {
            path: self.path.to_owned(),
            source,
        };
        let file = File::open(self.path).map_err(read_err)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let bar = progress_bar(self.progress, size, self.path);
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut buf = Vec::with_capacity(1024);
        let mut line_no = 0u64;
        let mut read_bytes = 0u64;
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(read_err)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            read_bytes += n as u64;
            if line_no % 65_536 == 0 {
                if let Some(bar) = &bar {
                    bar.set_position(read_bytes);
                }
            }
            let mut bytes = &buf[..];
            if let Some(rest) = bytes.strip_suffix(b"\n") {
                bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let source = || Source::File {
                file: name.clone(),
                line: line_no,
            };
            let outcome = match self.kind {
                Kind::Roster => {
                    summary.lines.roster += 1;
                    processor.roster(None, Some(bytes), source(), writers)
                }
                Kind::Absences => {
                    summary.lines.absences += 1;
                    processor.absence(bytes, source(), writers)
                }
                Kind::Badges => {
                    summary.lines.badges += 1;
                    processor.badge(bytes, source(), self.clock, writers)
                }
            };
            match outcome {
                Outcome::Applied => {}
                Outcome::AppliedLate => summary.late_badges += 1,
                Outcome::DeadLettered(reason) => summary.dead_letters.add(reason),
            }
            writers.check()?;
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        Ok(())
    }
}

fn progress_bar(enabled: bool, size: u64, path: &Path) -> Option<indicatif::ProgressBar> {
    // Only worth drawing for inputs that take a while.
    if !enabled || size < 8 << 20 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(size);
    let style = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "));
    if let Ok(style) = style {
        bar.set_style(style);
    }
    bar.set_message(path.display().to_string());
    Some(bar)
}
