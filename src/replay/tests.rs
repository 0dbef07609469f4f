//! Unit tests of the bounded line reader (against the `read_until` reading it replaces) and
//! of the atomic outputs' undo path.

use std::io::{BufRead, BufReader, Read};

use proptest::prelude::*;
use sha2::Digest as _;

use super::feed::FileRun;
use super::lines::{Line, LineReader};
use super::outputs::Writers;
use super::*;
use crate::domain::output::PayloadPrefix;

/// What a line reader yields, owned.
#[derive(Debug, PartialEq, Eq)]
enum Owned {
    Whole(Vec<u8>),
    Long(PayloadPrefix, bool),
}

fn read_all(input: &[u8], capacity: usize, keep: usize) -> Vec<Owned> {
    let mut reader = LineReader::with_keep(BufReader::with_capacity(capacity, input), keep);
    let mut lines = Vec::new();
    while let Some(line) = reader.next_line().unwrap_or_else(|e| panic!("read: {e}")) {
        lines.push(match line {
            Line::Whole(bytes) => Owned::Whole(bytes.to_vec()),
            Line::Long { seen, blank } => Owned::Long(seen, blank),
        });
    }
    assert_eq!(
        reader.bytes_read(),
        input.len() as u64,
        "every byte consumed"
    );
    lines
}

/// The reading before issue 8: `read_until(b'\n')`, strip `\n` then one `\r`, with the
/// bounded reader's cut-off applied to the whole line afterwards.
fn reference(input: &[u8], keep: usize) -> Vec<Owned> {
    let mut reader = BufReader::new(input);
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).unwrap_or(0);
        if n == 0 {
            break;
        }
        let mut bytes = &buf[..];
        if let Some(rest) = bytes.strip_suffix(b"\n") {
            bytes = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        lines.push(if bytes.len() <= keep + 1 {
            Owned::Whole(bytes.to_vec())
        } else {
            Owned::Long(
                PayloadPrefix {
                    prefix: bytes[..keep].to_vec(),
                    len: bytes.len() as u64,
                    sha256: sha2::Sha256::digest(bytes).into(),
                },
                bytes.iter().all(u8::is_ascii_whitespace),
            )
        });
    }
    lines
}

fn interesting_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            Just(b'\n'),
            Just(b'\r'),
            Just(b' '),
            Just(b'x'),
            Just(0u8),
            Just(0xffu8),
            any::<u8>()
        ],
        0..200,
    )
}

proptest! {
    #[test]
    fn the_bounded_reader_reads_what_read_until_read(
        input in interesting_bytes(),
        capacity in 1usize..24,
        keep in 0usize..12,
    ) {
        prop_assert_eq!(read_all(&input, capacity, keep), reference(&input, keep));
    }
}

#[test]
fn crlf_final_line_and_lone_cr_keep_their_old_meaning() {
    let lines = read_all(b"a\r\nb\rc\n\r\nlast\r", 3, 64);
    let whole = |s: &[u8]| Owned::Whole(s.to_vec());
    assert_eq!(
        lines,
        vec![whole(b"a"), whole(b"b\rc"), whole(b""), whole(b"last\r")]
    );
}

#[test]
fn a_long_line_keeps_its_prefix_length_and_hash_and_the_next_line_follows() {
    let mut input = b"{\"x\":\"".to_vec();
    input.extend(std::iter::repeat_n(b'y', 10_000));
    input.extend_from_slice(b"\"}\r\nnext\n");
    let lines = read_all(&input, 64, 16);
    let content = &input[..input.len() - b"\r\nnext\n".len()];
    let Owned::Long(seen, blank) = &lines[0] else {
        panic!("first line should be long: {:?}", lines.first());
    };
    assert!(!blank);
    assert_eq!(seen.prefix, content[..16].to_vec());
    assert_eq!(seen.len, content.len() as u64);
    assert_eq!(seen.sha256, <[u8; 32]>::from(sha2::Sha256::digest(content)));
    assert_eq!(lines[1], Owned::Whole(b"next".to_vec()));
}

/// A reader that fails after `ok` bytes, like a disk that dies half-way.
struct FailingAfter {
    data: Vec<u8>,
    at: usize,
    ok: usize,
}

impl Read for FailingAfter {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.at >= self.ok {
            return Err(std::io::Error::other("device went away"));
        }
        let n = out
            .len()
            .min(self.ok - self.at)
            .min(self.data.len() - self.at);
        out[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[test]
fn a_read_error_half_way_leaves_the_old_outputs_and_no_temporaries() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap_or_else(|e| panic!("mkdir: {e}"));
    for name in OUTPUT_FILES {
        std::fs::write(out.join(name), format!("old {name}\n")).unwrap_or_else(|e| panic!("{e}"));
    }
    let config = crate::config::Config::load_with_env(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config"),
        Vec::<(String, String)>::new(),
    )
    .unwrap_or_else(|e| panic!("config: {e}"))
    .config;
    let mut writers = Writers::create(&out).unwrap_or_else(|e| panic!("create: {e}"));
    let data = b"not json\n".repeat(1000);
    let reader = BufReader::with_capacity(
        64,
        FailingAfter {
            data,
            at: 0,
            ok: 4000,
        },
    );
    let run = FileRun {
        path: std::path::Path::new("badges.jsonl"),
        kind: Kind::Badges,
        clock: Timestamp::from_chrono(chrono::Utc::now()),
    };
    let mut summary = ReplaySummary::default();
    let mut target = Replay {
        processor: Processor::new(&config),
        writers: &mut writers,
    };
    let result = run.run(reader, None, &mut target, &mut summary);
    assert!(
        matches!(result, Err(ReplayError::Read { .. })),
        "{result:?}"
    );
    assert!(summary.dead_letters.total() > 100, "the run got half-way");
    drop(writers);
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap_or_else(|e| panic!("read_dir: {e}"))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    let mut expected: Vec<String> = OUTPUT_FILES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected, "no temporary is left behind");
    for name in OUTPUT_FILES {
        let text = std::fs::read_to_string(out.join(name)).unwrap_or_default();
        assert_eq!(text, format!("old {name}\n"));
    }
}

#[test]
fn temporaries_of_dead_replays_are_removed_and_others_kept() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = dir.path();
    // No live process has pid 4294967295 (above pid_max); ours is alive.
    let dead = ".decisions.jsonl.4294967295-0.tmp".to_owned();
    let alive = format!(".decisions.jsonl.{}-7.tmp", std::process::id());
    let keep = [
        alive.as_str(),
        ".notes.txt.4294967295-0.tmp",
        "decisions.jsonl",
        ".decisions.jsonl.x-0.tmp",
    ];
    for name in keep.iter().copied().chain([dead.as_str()]) {
        std::fs::write(out.join(name), "x").unwrap_or_else(|e| panic!("{e}"));
    }
    let writers = Writers::create(out).unwrap_or_else(|e| panic!("create: {e}"));
    drop(writers);
    assert!(
        !out.join(&dead).exists(),
        "a dead replay's temporary is removed"
    );
    for name in keep {
        assert!(out.join(name).exists(), "{name} is kept");
    }
}
