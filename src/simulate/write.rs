//! Writing `summary.json` and `report.html` atomically, like replay's outputs: each goes to
//! a hidden temporary in `--out` (created with `O_EXCL`, so never through a symlink), and
//! the temporaries are renamed over the outputs only when both are written. On failure the
//! temporaries, and the directories this run created, are removed.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::replay::ReplayError;

/// Temporaries and directories to remove unless the outputs were committed.
struct Staged {
    temps: Vec<PathBuf>,
    created_dirs: Vec<PathBuf>,
}

impl Drop for Staged {
    fn drop(&mut self) {
        for temp in &self.temps {
            let _ = std::fs::remove_file(temp);
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// Writes `files` (name, bytes) into `dir`, all or nothing.
pub(crate) fn write_all(dir: &Path, files: &[(&str, &[u8])]) -> Result<(), ReplayError> {
    let err = |path: &Path| {
        let path = path.to_owned();
        move |source| ReplayError::Write { path, source }
    };
    let mut staged = Staged {
        temps: Vec::with_capacity(files.len()),
        created_dirs: missing_dirs(dir),
    };
    std::fs::create_dir_all(dir).map_err(err(dir))?;
    for (name, bytes) in files {
        let mut attempt = 0u32;
        let (path, mut file) = loop {
            let path = dir.join(format!(".{name}.{}-{attempt}.tmp", std::process::id()));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(source) => return Err(ReplayError::Write { path, source }),
            }
        };
        staged.temps.push(path.clone());
        file.write_all(bytes).map_err(err(&path))?;
    }
    let temps = std::mem::take(&mut staged.temps);
    for (index, (temp, (name, _))) in temps.iter().zip(files).enumerate() {
        let target = dir.join(name);
        if let Err(source) = std::fs::rename(temp, &target) {
            staged.temps = temps[index..].to_vec();
            return Err(ReplayError::Write {
                path: target,
                source,
            });
        }
    }
    staged.created_dirs.clear();
    Ok(())
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
