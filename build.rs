//! Build script: the git revision shown by `--version` and logged at start-up.
//!
//! `ATTENDANCE_GIT_REVISION` set at build time wins (a container build without `.git`);
//! else `git rev-parse --short=12 HEAD` in the source tree; else `unknown` (a source tarball).
//! Reruns only when HEAD moves (a commit, a checkout) or the variable changes, not on every
//! edit.

use std::path::{Path, PathBuf};
use std::process::Command;

const VARIABLE: &str = "ATTENDANCE_GIT_REVISION";

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed={VARIABLE}");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let from_env = std::env::var(VARIABLE)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty());
    let revision = from_env.or_else(|| {
        // Watch HEAD, the branch it names and packed-refs, so that a commit or a checkout
        // reruns this script (a worktree's HEAD lives in its own git dir). Only files that
        // exist: cargo reruns a script on every build while a watched file is missing.
        let mut watched = vec![
            git(&dir, &["rev-parse", "--git-path", "HEAD"]),
            git(&dir, &["rev-parse", "--git-path", "packed-refs"]),
        ];
        if let Some(branch) = git(&dir, &["symbolic-ref", "-q", "HEAD"]) {
            watched.push(git(&dir, &["rev-parse", "--git-path", &branch]));
        }
        for path in watched.into_iter().flatten() {
            let path = dir.join(path);
            if path.is_file() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        git(&dir, &["rev-parse", "--short=12", "HEAD"])
    });
    let revision = revision
        .filter(|r| {
            r.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env={VARIABLE}={revision}");
}
