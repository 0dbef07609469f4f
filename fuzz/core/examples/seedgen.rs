//! Writes the `changelog` target's seeds: real changelog records, as the engine writes them
//! after processing the `generate` sample in `fuzz/fixture/`, framed as in
//! `attendance_fuzz_core::changelog`, followed by a few live steps.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml -p attendance-fuzz-core --example seedgen -- OUT_DIR`

use attendance_fuzz_core::changelog::{frame, frame_record};
use attendance_fuzz_core::fixture;

fn main() {
    let out_dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "fuzz/seeds/changelog".to_owned());
    let sample = fixture::config_dir().join("..");
    let read = |name: &str| {
        std::fs::read_to_string(sample.join(name))
            .unwrap_or_else(|e| panic!("cannot read {name}: {e}"))
    };
    let (roster, absences, badges) = (
        read("roster.jsonl"),
        read("absences.jsonl"),
        read("badges.jsonl"),
    );
    let mut processor = fixture::processor();
    processor.track_changes();
    let mut out = Vec::new();
    for line in roster.lines() {
        processor.roster(None, Some(line.as_bytes()), fixture::source(), &mut out);
    }
    for line in absences.lines() {
        processor.absence(line.as_bytes(), fixture::source(), &mut out);
    }
    let now = fixture::now();
    let mut seeds = Vec::new();
    for (n, line) in badges.lines().enumerate() {
        processor.badge(line.as_bytes(), fixture::source(), now, &mut out);
        if n % 60 == 59 {
            let mut seed = Vec::new();
            for record in processor.take_changes() {
                frame_record(&mut seed, &record.key, record.value.as_deref());
            }
            seeds.push(seed);
        }
    }
    // Live steps after the restore: a badge, a roster change, an absence, a far advance.
    let mut live = Vec::new();
    let mut lines = badges.lines();
    if let Some(badge) = lines.next() {
        frame(&mut live, 11, badge.as_bytes());
    }
    if let Some(r) = roster.lines().next() {
        frame(&mut live, 12, r.as_bytes());
    }
    if let Some(a) = absences.lines().next() {
        frame(&mut live, 13, a.as_bytes());
    }
    frame(&mut live, 14, b"2026-06-01T00:00:00Z");
    frame(&mut live, 14, b"2031-06-01T00:00:00Z");
    if let Err(e) = std::fs::create_dir_all(&out_dir) {
        panic!("cannot create {out_dir}: {e}");
    }
    for (i, mut seed) in seeds.into_iter().enumerate() {
        seed.extend_from_slice(&live);
        let path = format!("{out_dir}/records-{i}");
        if let Err(e) = std::fs::write(&path, &seed) {
            panic!("cannot write {path}: {e}");
        }
        println!("{path}: {} bytes", seed.len());
    }
}
