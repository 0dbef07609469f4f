//! Opening and checking replay's input files before `--out` is touched (issue 8 point 3).
//!
//! Every input is opened here, up front: a missing, unreadable or wrong-kind input fails
//! the run before an output exists. An input that lies inside `--out` (after resolving
//! symlinks, or reached through another path to the same directory, e.g. a bind mount) is
//! refused: a replay must never be able to overwrite what it reads.

use std::fs::{File, Metadata};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

use super::ReplayError;

/// An opened input file.
#[derive(Debug)]
pub(crate) struct OpenedInput {
    /// The path as given.
    pub(crate) path: PathBuf,
    /// The open file (a regular file or a pipe).
    pub(crate) file: File,
    /// Its size in bytes (0 for a pipe), for the progress bar.
    pub(crate) size: u64,
}

/// Opens `path` for reading: it must be a regular file or a pipe (a named FIFO, or
/// `/dev/stdin` / `<(…)` from a shell). Directories, devices and sockets are refused.
pub(crate) fn open_input(path: &Path) -> Result<OpenedInput, ReplayError> {
    let read_err = |source| ReplayError::Read {
        path: path.to_owned(),
        source,
    };
    let kind = std::fs::metadata(path).map_err(read_err)?;
    check_kind(path, &kind)?;
    let file = File::open(path).map_err(read_err)?;
    // The kind again on the open file: the path may have been replaced in between.
    let opened = file.metadata().map_err(read_err)?;
    check_kind(path, &opened)?;
    let size = if opened.is_file() { opened.len() } else { 0 };
    Ok(OpenedInput {
        path: path.to_owned(),
        file,
        size,
    })
}

fn check_kind(path: &Path, meta: &Metadata) -> Result<(), ReplayError> {
    let kind = meta.file_type();
    let what = if kind.is_file() || kind.is_fifo() {
        return Ok(());
    } else if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(ReplayError::NotAFile {
        path: path.to_owned(),
        what,
    })
}

/// The output directory as it exists before the run, for the containment check.
#[derive(Debug)]
pub(crate) struct OutIdentity {
    canonical: PathBuf,
    device: u64,
    inode: u64,
}

/// Checks that `out` is a directory (or does not exist yet) and that no output name in it
/// is a directory (a rename over it would fail after all the work). Returns its identity,
/// `None` when it does not exist.
pub(crate) fn check_out(out: &Path, names: &[&str]) -> Result<Option<OutIdentity>, ReplayError> {
    let write_err = |path: &Path| {
        let path = path.to_owned();
        move |source| ReplayError::Write { path, source }
    };
    let meta = match std::fs::metadata(out) {
        Ok(meta) => meta,
        // A symlink to nothing is not a directory we could create.
        Err(e)
            if e.kind() == std::io::ErrorKind::NotFound
                && std::fs::symlink_metadata(out).is_ok() =>
        {
            return Err(ReplayError::OutNotADirectory {
                path: out.to_owned(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(write_err(out)(e)),
    };
    if !meta.is_dir() {
        return Err(ReplayError::OutNotADirectory {
            path: out.to_owned(),
        });
    }
    for name in names {
        let path = out.join(name);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_dir()) {
            return Err(ReplayError::OutputIsADirectory { path });
        }
    }
    Ok(Some(OutIdentity {
        canonical: out.canonicalize().map_err(write_err(out))?,
        device: meta.dev(),
        inode: meta.ino(),
    }))
}

/// Refuses `input` when it lies inside `out`: its canonical path starts with `out`'s, or one
/// of its canonical ancestors is `out`'s very directory (same device and inode).
pub(crate) fn refuse_inside(input: &OpenedInput, out: &OutIdentity) -> Result<(), ReplayError> {
    let canonical = match input.path.canonicalize() {
        Ok(path) => path,
        // An anonymous pipe (`<(…)`, `/dev/stdin`) has no directory to lie in.
        Err(_) if input.size == 0 && is_pipe(&input.file) => return Ok(()),
        Err(source) => {
            return Err(ReplayError::Read {
                path: input.path.clone(),
                source,
            })
        }
    };
    let same_directory = |dir: &Path| {
        std::fs::metadata(dir).is_ok_and(|m| m.dev() == out.device && m.ino() == out.inode)
    };
    if canonical.starts_with(&out.canonical) || canonical.ancestors().skip(1).any(same_directory) {
        return Err(ReplayError::InputInsideOut {
            path: input.path.clone(),
            out: out.canonical.clone(),
        });
    }
    Ok(())
}

fn is_pipe(file: &File) -> bool {
    file.metadata().is_ok_and(|m| m.file_type().is_fifo())
}
