//! Replay's reading loop, shared with `simulate` (§9): every input opened and `--out`
//! checked before anything is written, then each file's non-blank lines, in §7's order of
//! application, handed to a [`Target`].

use std::io::BufRead;
use std::path::Path;

use super::inputs::{check_out, open_input, refuse_inside, OpenedInput};
use super::lines::{Line, LineReader};
use super::{ReplayError, ReplayInput, ReplaySummary};
use crate::domain::output::Source;
use crate::domain::Timestamp;
use crate::engine::Sink;
use crate::processor::{Outcome, Processor};

/// The kind of an input file, which decides the [`Processor`] call for its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Roster,
    Absences,
    Outages,
    Adjustments,
    Badges,
}

/// Where replay's reading loop delivers each non-blank line: replay's processor and output
/// files, or simulate's two processors and tallies.
pub(crate) trait Target {
    /// Applies one line of a file of `kind` (§7: roster, absences, outages, adjustments,
    /// then badges); `clock` is the processing clock for `future_timestamp`.
    fn apply(&mut self, kind: Kind, line: Line<'_>, source: Source, clock: Timestamp) -> Outcome;

    /// Reports a failure of the outputs after a line (a write error), if any.
    fn check(&mut self) -> Result<(), ReplayError>;

    /// Advances the watermark at the end of input (`--now`).
    fn advance_watermark(&mut self, to: Timestamp);
}

/// Applies one line to `processor`, with its outputs to `out`.
pub(crate) fn apply_line(
    processor: &mut Processor,
    kind: Kind,
    line: Line<'_>,
    source: Source,
    clock: Timestamp,
    out: &mut dyn Sink,
) -> Outcome {
    match line {
        Line::Whole(bytes) => match kind {
            Kind::Roster => processor.roster(None, Some(bytes), source, out),
            Kind::Absences => processor.absence(bytes, source, out),
            // A file line has no key, so no tombstone: `null` is malformed_json.
            Kind::Outages => processor.outage(None, Some(bytes), source, out),
            Kind::Adjustments => processor.adjustment(bytes, source, out),
            Kind::Badges => processor.badge(bytes, source, clock, out),
        },
        // Over the limit whatever the kind: too_large comes first in §2's precedence.
        Line::Long { seen, .. } => processor.too_large(seen, source, out),
    }
}

/// Every input of `input` opened, in §7's order of application.
pub(crate) struct OpenedInputs(Vec<(OpenedInput, Kind)>);

/// Opens every input of `input` and checks `--out` (`outputs` are the names that will be
/// written there): nothing is written, and any problem is found before anything is.
pub(crate) fn open_inputs(
    input: &ReplayInput,
    outputs: &[&str],
) -> Result<OpenedInputs, ReplayError> {
    // §7's order of application.
    let files = [
        (input.roster.as_ref(), Kind::Roster),
        (input.absences.as_ref(), Kind::Absences),
        (input.outages.as_ref(), Kind::Outages),
        (input.adjustments.as_ref(), Kind::Adjustments),
        (Some(&input.badges), Kind::Badges),
    ];
    let mut opened: Vec<(OpenedInput, Kind)> = Vec::with_capacity(files.len());
    for (path, kind) in files {
        if let Some(path) = path {
            opened.push((open_input(path)?, kind));
        }
    }
    if let Some(out) = check_out(&input.out, outputs)? {
        for (file, _) in &opened {
            refuse_inside(file, &out)?;
        }
    }
    Ok(OpenedInputs(opened))
}

/// Feeds every line of `opened` to `target`, then advances the watermark to `--now` when
/// given. Counts lines, late badges and dead letters into `summary` (the target's
/// outcome).
pub(crate) fn feed(
    opened: OpenedInputs,
    input: &ReplayInput,
    target: &mut dyn Target,
    summary: &mut ReplaySummary,
) -> Result<(), ReplayError> {
    for (file, kind) in opened.0 {
        let run = FileRun {
            path: &file.path,
            kind,
            clock: input.clock,
        };
        let bar = progress_bar(input.progress, file.size, &file.path);
        let reader = std::io::BufReader::with_capacity(1 << 20, file.file);
        run.run(reader, bar.as_ref(), target, summary)?;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }
    if let Some(now) = input.advance_to {
        target.advance_watermark(now);
    }
    target.check()
}

/// One input file's run through the reading loop.
pub(super) struct FileRun<'a> {
    pub(super) path: &'a Path,
    pub(super) kind: Kind,
    pub(super) clock: Timestamp,
}

impl FileRun<'_> {
    /// Feeds every non-blank line of `reader` to `target`.
    pub(super) fn run(
        &self,
        reader: impl BufRead,
        bar: Option<&indicatif::ProgressBar>,
        target: &mut dyn Target,
        summary: &mut ReplaySummary,
    ) -> Result<(), ReplayError> {
        let name = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut lines = LineReader::new(reader);
        let mut line_no = 0u64;
        loop {
            if line_no % 65_536 == 0 {
                if let Some(bar) = bar {
                    bar.set_position(lines.bytes_read());
                }
            }
            let line = match lines.next_line() {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(source) => {
                    return Err(ReplayError::Read {
                        path: self.path.to_owned(),
                        source,
                    })
                }
            };
            line_no += 1;
            let blank = match &line {
                Line::Whole(bytes) => bytes.iter().all(u8::is_ascii_whitespace),
                Line::Long { blank, .. } => *blank,
            };
            if blank {
                continue;
            }
            match self.kind {
                Kind::Roster => summary.lines.roster += 1,
                Kind::Absences => summary.lines.absences += 1,
                Kind::Outages => summary.lines.outages += 1,
                Kind::Adjustments => summary.lines.adjustments += 1,
                Kind::Badges => summary.lines.badges += 1,
            }
            let source = Source::File {
                file: name.clone(),
                line: line_no,
            };
            match target.apply(self.kind, line, source, self.clock) {
                Outcome::Applied => {}
                Outcome::AppliedLate => summary.late_badges += 1,
                Outcome::DeadLettered(reason) => summary.dead_letters.add(reason),
            }
            target.check()?;
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
