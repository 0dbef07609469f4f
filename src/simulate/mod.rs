//! `simulate` (§9): a policy what-if on real history. Replay's input (§7), read once, goes
//! line by line through two processors — one with the configuration's policies
//! ("current"), one with the alternative policies in their place — whose outputs are
//! tallied as they stream ([`tally`]) instead of written. The tallies are compared
//! ([`compare`]) into `summary.json` ([`summary`]) and `report.html` ([`report`]).
//!
//! It reuses replay's input reading and checks: every input is opened and `--out` checked
//! before anything is written, and the two outputs replace the old ones only when both are
//! complete ([`write`]). Costs about two replays without their output files.

mod company;
mod compare;
pub mod report;
pub mod summary;
pub(crate) mod tally;
#[cfg(test)]
mod tests;
mod write;

use std::path::{Path, PathBuf};

use crate::config::{Config, Policy};
use crate::domain::output::Source;
use crate::domain::Timestamp;
use crate::processor::{Outcome, Processor};
use crate::replay::{apply_line, feed, open_inputs, Kind, Line, ReplayError, ReplayInput};
use crate::replay::{ReplaySummary, Target};
use summary::{InputFile, Inputs, Policies, PolicyInfo, Summary, SUMMARY_SCHEMA_VERSION};
use tally::Tally;

pub use company::{report_for_generated, GENERATED_ALTERNATIVE};

/// Output file names.
pub const OUTPUT_FILES: [&str; 2] = ["summary.json", "report.html"];

/// What to simulate.
#[derive(Debug, Clone)]
pub struct SimulateInput {
    /// Replay's inputs (`out` is `--out`, where the two files go).
    pub replay: ReplayInput,
    /// `--config`, named in the summary by its base name.
    pub config_dir: PathBuf,
    /// `--alternative`, named in the summary by its base name.
    pub alternative_file: PathBuf,
    /// `--with-ids`: list the employees counted in `changed`.
    pub with_ids: bool,
}

/// What a simulation produced.
#[derive(Debug, Clone)]
pub struct Simulation {
    /// The contents of `summary.json`.
    pub summary: Summary,
    /// Lines read, late badges and dead letters (the current side's).
    pub replay: ReplaySummary,
}

/// The two sides, fed the same lines.
struct Sides {
    processors: [Processor; 2],
    tallies: [Tally; 2],
}

impl Target for Sides {
    fn apply(&mut self, kind: Kind, line: Line<'_>, source: Source, clock: Timestamp) -> Outcome {
        let again = match &line {
            Line::Whole(bytes) => Line::Whole(bytes),
            Line::Long { seen, blank } => Line::Long {
                seen: seen.clone(),
                blank: *blank,
            },
        };
        let [current, alternative] = &mut self.processors;
        let [current_tally, alternative_tally] = &mut self.tallies;
        apply_line(
            alternative,
            kind,
            again,
            source.clone(),
            clock,
            alternative_tally,
        );
        apply_line(current, kind, line, source, clock, current_tally)
    }

    fn check(&mut self) -> Result<(), ReplayError> {
        Ok(())
    }

    fn advance_watermark(&mut self, to: Timestamp) {
        for (processor, tally) in self.processors.iter_mut().zip(&mut self.tallies) {
            processor.advance_watermark(to, tally);
        }
    }

    fn badge_hint(&self, bytes: &[u8]) -> Option<crate::engine::EmployeeHint> {
        let [current, alternative] = &self.processors;
        let hint = current.badge_hint(bytes)?;
        alternative.prefetch_bucket(hint);
        Some(hint)
    }

    fn prefetch_badge(&self, hint: crate::engine::EmployeeHint) {
        for processor in &self.processors {
            processor.prefetch_badge(hint);
        }
    }
}

/// Runs the simulation and writes `summary.json` and `report.html` into `input.replay.out`.
///
/// `alternative` are the alternative file's policies, validated like `policies.toml`
/// ([`Config::load_policies`]). Nothing is written unless the whole run succeeds.
pub fn simulate(
    config: &Config,
    alternative: &[Policy],
    input: &SimulateInput,
) -> Result<Simulation, ReplayError> {
    let opened = open_inputs(&input.replay, &OUTPUT_FILES)?;
    let alternative_config = Config {
        policies: alternative.to_vec(),
        ..config.clone()
    };
    let mut sides = Sides {
        processors: [Processor::new(config), Processor::new(&alternative_config)],
        tallies: [Tally::default(), Tally::default()],
    };
    let mut counted = ReplaySummary::default();
    feed(opened, &input.replay, &mut sides, &mut counted)?;
    let [current, alternative_tally] = &sides.tallies;
    let summary = Summary {
        schema_version: SUMMARY_SCHEMA_VERSION,
        with_ids: input.with_ids,
        inputs: inputs_of(input, &counted),
        policies: Policies {
            current: PolicyInfo::all(&config.policies),
            alternative: PolicyInfo::all(alternative),
        },
        weeks: compare::compare(current, alternative_tally, input.with_ids),
    };
    let json = summary.to_bytes().map_err(|e| ReplayError::Write {
        path: input.replay.out.join(OUTPUT_FILES[0]),
        source: std::io::Error::other(e),
    })?;
    let html = report::render(&summary);
    write::write_all(
        &input.replay.out,
        &[(OUTPUT_FILES[0], &json), (OUTPUT_FILES[1], html.as_bytes())],
    )?;
    Ok(Simulation {
        summary,
        replay: counted,
    })
}

fn base_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

fn inputs_of(input: &SimulateInput, counted: &ReplaySummary) -> Inputs {
    let r = &input.replay;
    let lines = &counted.lines;
    let files = [
        ("roster", r.roster.as_ref(), lines.roster),
        ("absences", r.absences.as_ref(), lines.absences),
        ("outages", r.outages.as_ref(), lines.outages),
        ("adjustments", r.adjustments.as_ref(), lines.adjustments),
        ("badges", Some(&r.badges), lines.badges),
    ];
    Inputs {
        config: base_name(&input.config_dir),
        alternative: base_name(&input.alternative_file),
        files: files
            .into_iter()
            .filter_map(|(kind, path, lines)| {
                path.map(|p| InputFile {
                    kind,
                    file: base_name(p),
                    lines,
                })
            })
            .collect(),
        now: r.advance_to.map(|t| t.to_string()),
        dead_letters: counted.dead_letters.total(),
        late_badges: counted.late_badges,
    }
}
