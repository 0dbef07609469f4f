//! Replays every input in `fuzz/regressions/<target>/` (inputs that once crashed or hung a
//! target, kept after their fix) and `fuzz/seeds/<target>/` through the target's harness.
//! Runs on a stable toolchain, without libFuzzer: `scripts/fuzz.sh regressions`.

use std::path::{Path, PathBuf};

use attendance_fuzz_core::targets;

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 8] = [
    ("badge", targets::badge),
    ("roster", targets::roster),
    ("absence", targets::absence),
    ("outage", targets::outage),
    ("adjustment", targets::adjustment),
    ("timestamp", targets::timestamp),
    ("config", targets::config),
    ("changelog", targets::changelog),
];

fn inputs(kind: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(kind)
        .join(target);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    };
    files.retain(|p| p.is_file());
    files.sort();
    files
}

fn replay(kind: &str) -> usize {
    let mut count = 0;
    for (target, run) in TARGETS {
        for path in inputs(kind, target) {
            let data = std::fs::read(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            eprintln!("{kind}/{target}: {}", path.display());
            run(&data);
            count += 1;
        }
    }
    count
}

#[test]
fn every_regression_input_passes_its_target() {
    replay("regressions");
}

#[test]
fn every_seed_passes_its_target() {
    assert!(replay("seeds") >= TARGETS.len(), "each target has seeds");
}
