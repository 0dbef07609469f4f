//! Replay's four output files, written atomically (issue 8 point 3).
//!
//! Each output is written to a temporary file in `--out` itself (same file system, so that
//! a rename moves it into place), created with `O_EXCL` so that it never follows a symlink.
//! Only when the whole run has succeeded are the temporaries flushed and renamed over the
//! old outputs (not fsynced: see `Writers::commit`). Until then `--out` holds exactly what it
//! held before (plus the hidden temporaries); on any failure, and on a panic, the
//! temporaries are removed, and so are the directories this run created. An existing output
//! that is a symlink is replaced by a regular file: its target is never written.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{ReplayError, ReplaySummary, OUTPUT_FILES};
use crate::domain::output::WriteJson;
use crate::engine::{Output, Sink};

/// The four open temporaries and what it takes to commit or undo them.
pub(crate) struct Writers {
    dir: PathBuf,
    files: [LineFile; 4],
    staged: Staged,
    counts: ReplaySummary,
    error: Option<(usize, std::io::Error)>,
}

/// Temporaries and created directories to remove unless the run committed.
#[derive(Debug)]
struct Staged {
    temps: Vec<PathBuf>,
    created_dirs: Vec<PathBuf>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        for temp in &self.temps {
            let _ = std::fs::remove_file(temp);
        }
        // Deepest first; `remove_dir` only removes empty directories.
        for dir in self.created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// The temporary name of output `name`: hidden, with the process id, so that concurrent
/// replays into one directory never share a temporary.
fn temp_name(name: &str, attempt: u32) -> String {
    format!(".{name}.{}-{attempt}.tmp", std::process::id())
}

impl Writers {
    /// Creates `dir` if needed and the four temporaries in it.
    pub(crate) fn create(dir: &Path) -> Result<Self, ReplayError> {
        let err = |path: &Path| {
            let path = path.to_owned();
            move |source| ReplayError::Write { path, source }
        };
        let mut staged = Staged {
            temps: Vec::with_capacity(OUTPUT_FILES.len()),
            created_dirs: missing_dirs(dir),
        };
        std::fs::create_dir_all(dir).map_err(err(dir))?;
        remove_stale_temporaries(dir);
        let mut open = |name: &str| -> Result<LineFile, ReplayError> {
            let mut attempt = 0;
            loop {
                let path = dir.join(temp_name(name, attempt));
                match OpenOptions::new().write(true).create_new(true).open(&path) {
                    Ok(file) => {
                        staged.temps.push(path);
                        return Ok(LineFile::new(file));
                    }
                    // A leftover of a killed run that had our process id: try the next name.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                        attempt += 1;
                    }
                    Err(source) => return Err(ReplayError::Write { path, source }),
                }
            }
        };
        let files = [
            open(OUTPUT_FILES[0])?,
            open(OUTPUT_FILES[1])?,
            open(OUTPUT_FILES[2])?,
            open(OUTPUT_FILES[3])?,
        ];
        Ok(Self {
            dir: dir.to_owned(),
            files,
            staged,
            counts: ReplaySummary::default(),
            error: None,
        })
    }

    fn write_one(&mut self, output: &Output) -> Result<(), (usize, std::io::Error)> {
        let (index, result) = match output {
            Output::Decision(d) => {
                self.counts.decisions += 1;
                (0, self.files[0].line(d))
            }
            Output::Change(c) => {
                self.counts.changes += 1;
                (1, self.files[1].line(c))
            }
            Output::Alert(a) => {
                self.counts.alerts += 1;
                (2, self.files[2].line(a))
            }
            Output::DeadLetter(d) => (3, self.files[3].line(d)),
            Output::AlertWithoutManager(_) => {
                self.counts.alerts_without_manager += 1;
                (0, Ok(()))
            }
            Output::WeekClosed(_) => (0, Ok(())),
        };
        result.map_err(|e| (index, e))
    }

    fn write_error(&self, index: usize, source: std::io::Error) -> ReplayError {
        let path = self
            .staged
            .temps
            .get(index)
            .cloned()
            .unwrap_or_else(|| self.dir.clone());
        ReplayError::Write { path, source }
    }

    /// The first write error since the last call, as a replay error.
    pub(crate) fn check(&mut self) -> Result<(), ReplayError> {
        match self.error.take() {
            Some((index, source)) => Err(self.write_error(index, source)),
            None => Ok(()),
        }
    }

    /// Flushes the temporaries and renames them over the outputs. On error the
    /// temporaries not yet renamed are removed (by drop).
    pub(crate) fn commit(mut self) -> Result<ReplaySummary, ReplayError> {
        self.check()?;
        // Flushed, not fsynced: the renames protect against a failed or killed run, which
        // is what replay must survive; a power loss right after a run may lose the new
        // outputs, and a deterministic rerun from the untouched inputs rebuilds them.
        // Syncing ~1 GB of outputs would add seconds to every replay (OPERATIONS.md).
        for index in 0..self.files.len() {
            if let Err(source) = self.files[index].flush() {
                return Err(self.write_error(index, source));
            }
        }
        let temps = std::mem::take(&mut self.staged.temps);
        for (index, temp) in temps.iter().enumerate() {
            let target = self.dir.join(OUTPUT_FILES[index]);
            if let Err(source) = std::fs::rename(temp, &target) {
                self.staged.temps = temps[index..].to_vec();
                return Err(ReplayError::Write {
                    path: target,
                    source,
                });
            }
        }
        self.staged.created_dirs.clear();
        Ok(self.counts.clone())
    }
}

/// The process id in a temporary's name, when `name` is one of ours.
fn temp_owner(name: &str) -> Option<u32> {
    let rest = name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (output, owner) = rest.rsplit_once('.')?;
    if !OUTPUT_FILES.contains(&output) {
        return None;
    }
    let (pid, attempt) = owner.split_once('-')?;
    attempt.parse::<u32>().ok()?;
    pid.parse().ok()
}

/// Removes the temporaries left in `dir` by replays that were killed (`SIGKILL`, Ctrl-C):
/// only names of our exact pattern whose process no longer exists. Without `/proc` nothing
/// is removed (a live replay's temporaries must never go).
fn remove_stale_temporaries(dir: &Path) {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(temp_owner) else {
            continue;
        };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file());
        if is_file && !proc.join(pid.to_string()).exists() {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The ancestors of `dir` (itself included) that do not exist yet, outermost first.
fn missing_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut missing: Vec<PathBuf> = dir
        .ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .take_while(|p| std::fs::symlink_metadata(p).is_err())
        .map(Path::to_path_buf)
        .collect();
    missing.reverse();
    missing
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

/// The size of an output file's buffer.
const FILE_BUFFER: usize = 1 << 20;

/// Lines are written out once the buffer has less than this left: room for any decision,
/// change or alert line, so that the buffer never grows (only an over-long dead letter
/// makes it grow, and it is brought back to [`FILE_BUFFER`] once written).
const LINE_ROOM: usize = 64 * 1024;

/// An output file and its buffer: records are written as JSON lines straight into the
/// buffer (no copy per line), which goes to the file whenever it is nearly full.
struct LineFile {
    file: File,
    buf: Vec<u8>,
}

impl LineFile {
    fn new(file: File) -> Self {
        Self {
            file,
            buf: Vec::with_capacity(FILE_BUFFER),
        }
    }

    /// Appends `value` and a newline.
    fn line<T: WriteJson>(&mut self, value: &T) -> std::io::Result<()> {
        value.write_json(&mut self.buf);
        self.buf.push(b'\n');
        if self.buf.len() > FILE_BUFFER - LINE_ROOM {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes what the buffer holds.
    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.file.write_all(&self.buf);
        self.buf.clear();
        self.buf.shrink_to(FILE_BUFFER);
        result
    }
}
