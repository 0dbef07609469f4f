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
use crate::engine::{EmployeeHint, Sink};
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

    /// First hint that the badge line `bytes` is applied [`LOOKAHEAD`] lines from now
    /// ([`Processor::badge_hint`]).
    fn badge_hint(&self, bytes: &[u8]) -> Option<EmployeeHint>;

    /// Second hint, [`PREFETCH_AHEAD`] lines before ([`Processor::prefetch_badge`]).
    fn prefetch_badge(&self, hint: EmployeeHint);
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
    /// Feeds every non-blank line of `reader` to `target`. Badge lines are read
    /// [`LOOKAHEAD`] lines ahead of the one applied and announced to the target twice: when
    /// read ([`Target::badge_hint`]: the index bucket is loaded) and [`PREFETCH_AHEAD`]
    /// lines before they are applied ([`Target::prefetch_badge`]: the employee's struct is
    /// loaded), so both loads overlap the lines applied in between. Lines are applied in
    /// file order all the same.
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
        let mut ahead = Ahead::default();
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
            match line {
                Line::Whole(bytes) if self.kind == Kind::Badges => {
                    let hint = target.badge_hint(bytes);
                    if let Some(hint) = ahead.push(bytes, line_no, hint) {
                        target.prefetch_badge(hint);
                    }
                    if let Some((bytes, number)) = ahead.next_due() {
                        self.apply(&name, Line::Whole(&bytes), number, target, summary)?;
                        ahead.recycle(bytes);
                    }
                }
                line => {
                    // Lines of one file are applied in order: those read ahead first.
                    self.apply_ahead(&name, &mut ahead, target, summary)?;
                    self.apply(&name, line, line_no, target, summary)?;
                }
            }
        }
        self.apply_ahead(&name, &mut ahead, target, summary)
    }

    /// Applies every line read ahead, in order.
    fn apply_ahead(
        &self,
        name: &str,
        ahead: &mut Ahead,
        target: &mut dyn Target,
        summary: &mut ReplaySummary,
    ) -> Result<(), ReplayError> {
        while let Some((bytes, number)) = ahead.pop() {
            self.apply(name, Line::Whole(&bytes), number, target, summary)?;
            ahead.recycle(bytes);
        }
        Ok(())
    }

    /// Applies line `line_no` of the file `name` and counts its outcome.
    fn apply(
        &self,
        name: &str,
        line: Line<'_>,
        line_no: u64,
        target: &mut dyn Target,
        summary: &mut ReplaySummary,
    ) -> Result<(), ReplayError> {
        let source = Source::File {
            file: compact_str::CompactString::new(name),
            line: line_no,
        };
        match target.apply(self.kind, line, source, self.clock) {
            Outcome::Applied => {}
            Outcome::AppliedLate => summary.late_badges += 1,
            Outcome::DeadLettered(reason) => summary.dead_letters.add(reason),
        }
        target.check()
    }
}

/// How many badge lines are read ahead of the one applied: enough that a line's index
/// bucket and then its employee are in the cache when it is applied (a badge takes a few
/// hundred nanoseconds, a load from memory about one hundred), few enough that they are
/// still there.
const LOOKAHEAD: usize = 16;

/// How many lines before it is applied a line's employee struct is loaded (its bucket was
/// loaded [`LOOKAHEAD`] − this lines earlier).
const PREFETCH_AHEAD: usize = 8;

/// The badge lines read but not yet applied, as copies (a line read borrows the reader's
/// buffer only until the next read), with buffers reused so that reading ahead allocates
/// nothing once it runs.
#[derive(Default)]
struct Ahead {
    lines: std::collections::VecDeque<(Vec<u8>, u64, Option<EmployeeHint>)>,
    spare: Vec<Vec<u8>>,
}

impl Ahead {
    /// Keeps a copy of line `number` and its hint; returns the hint of the line now
    /// [`PREFETCH_AHEAD`] lines from being applied, if it has one.
    fn push(
        &mut self,
        bytes: &[u8],
        number: u64,
        hint: Option<EmployeeHint>,
    ) -> Option<EmployeeHint> {
        let mut copy = self.spare.pop().unwrap_or_default();
        copy.clear();
        copy.extend_from_slice(bytes);
        self.lines.push_back((copy, number, hint));
        let due = self
            .lines
            .len()
            .checked_sub(LOOKAHEAD - PREFETCH_AHEAD + 1)?;
        self.lines.get(due).and_then(|line| line.2)
    }

    /// The oldest line once [`LOOKAHEAD`] lines are kept.
    fn next_due(&mut self) -> Option<(Vec<u8>, u64)> {
        if self.lines.len() > LOOKAHEAD {
            self.pop()
        } else {
            None
        }
    }

    /// The oldest line kept, if any.
    fn pop(&mut self) -> Option<(Vec<u8>, u64)> {
        self.lines
            .pop_front()
            .map(|(bytes, number, _)| (bytes, number))
    }

    /// Gives a line's buffer back for reuse.
    fn recycle(&mut self, buffer: Vec<u8>) {
        self.spare.push(buffer);
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

#[cfg(test)]
mod ahead_tests {
    use super::{Ahead, LOOKAHEAD, PREFETCH_AHEAD};
    use crate::engine::EmployeeHint;

    #[test]
    fn lines_come_out_in_order_and_each_hint_comes_due_prefetch_ahead_lines_before_its_line() {
        let hint = |n: u64| EmployeeHint::of(&format!("e-{n}"));
        let mut ahead = Ahead::default();
        let mut applied = Vec::new();
        // For each line: the read (iteration) at which its hint came due, then was applied.
        let mut due_at = vec![None; 40];
        let mut applied_at = vec![None; 40];
        for n in 0..40u64 {
            if let Some(due) = ahead.push(format!("line {n}").as_bytes(), n, Some(hint(n))) {
                let line = (0..40u64).find(|&k| hint(k) == due).unwrap_or(0);
                due_at[line as usize] = Some(n);
            }
            if let Some((bytes, number)) = ahead.next_due() {
                assert_eq!(bytes, format!("line {number}").into_bytes());
                applied.push(number);
                applied_at[number as usize] = Some(n);
                ahead.recycle(bytes);
            }
        }
        while let Some((_, number)) = ahead.pop() {
            applied.push(number);
        }
        assert_eq!(applied, (0..40).collect::<Vec<_>>(), "file order");
        for line in 0..40 {
            if let (Some(due), Some(at)) = (due_at[line], applied_at[line]) {
                assert_eq!(at - due, PREFETCH_AHEAD as u64, "line {line}");
            }
            if let Some(at) = applied_at[line] {
                assert_eq!(at - line as u64, LOOKAHEAD as u64, "line {line} read ahead");
                assert!(due_at[line].is_some(), "line {line} was hinted");
            }
        }
        assert!(ahead.spare.len() <= LOOKAHEAD + 1, "buffers are reused");
    }
}
