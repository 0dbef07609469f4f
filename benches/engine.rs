//! Criterion benchmarks of the pure engine (see BENCHMARKS.md for figures and machine).
//!
//! - `badge_ingest`: raw badge lines through `Processor::badge` (JSON parsing, validation,
//!   local-date conversion, state update, watermark check), no outputs pending;
//! - `week_close_100k`: the watermark crossing one week's close for 100,000 employees
//!   (evaluation, decisions, changes and alerts built, not serialized);
//! - `week_close_1m`: the same for 1,000,000 employees, every output also serialized to JSON
//!   (issue 12 point 3);
//! - `week_close_1m_13_weeks`: the same for the 13th week of a company with 13 weeks of
//!   history (steady state: few compliance changes).

use std::hint::black_box;
use std::path::Path;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use attendance_compliance::config::Config;
use attendance_compliance::domain::output::{Source, WriteJson};
use attendance_compliance::domain::time::parse_timestamp;
use attendance_compliance::engine::{Output, Sink};
use attendance_compliance::generate::{generate, GenerateOptions};
use attendance_compliance::processor::Processor;

/// The same allocator as the binary (src/main.rs), so figures match what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A generated company of `employees` × `weeks` in `dir`. With `BENCH_COMPANY_CACHE` set to
/// a directory, the company is generated there once (`<employees>x<weeks>`) and read back
/// by later runs, so that comparing two builds does not regenerate it each time.
fn company(dir: &Path, employees: u32, weeks: u32) -> (Config, Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let dir = company_dir(dir, employees, weeks);
    let config = Config::load_with_env(&dir.join("config"), Vec::<(String, String)>::new())
        .expect("generated config is valid")
        .config;
    let lines = |name: &str| -> Vec<Vec<u8>> {
        std::fs::read(dir.join(name))
            .expect("generated file")
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    };
    (config, lines("roster.jsonl"), lines("badges.jsonl"))
}

/// Where the company of `employees` × `weeks` is: generated in `dir`, or in (or read back
/// from) `BENCH_COMPANY_CACHE` (see [`company`]).
fn company_dir(dir: &Path, employees: u32, weeks: u32) -> std::path::PathBuf {
    let options = GenerateOptions {
        employees,
        weeks,
        bad_fraction: 0.0,
        late_fraction: 0.0,
        duplicate_fraction: 0.0,
        ..GenerateOptions::default()
    };
    let cached = std::env::var_os("BENCH_COMPANY_CACHE")
        .map(|root| Path::new(&root).join(format!("{employees}x{weeks}")));
    match cached {
        Some(cached) if cached.join("badges.jsonl").exists() => cached,
        Some(cached) => {
            generate(&options, &cached).expect("generate");
            cached
        }
        None => {
            generate(&options, dir).expect("generate");
            dir.to_path_buf()
        }
    }
}

/// `config` with every policy's presence rule removed: the v1 cost, to say what presence
/// (§3.7: first in and latest out kept per date, judged at close) adds.
fn without_presence(config: &Config) -> Config {
    let mut config = config.clone();
    for policy in &mut config.policies {
        policy.min_presence = None;
        policy.unverified_presence = Default::default();
    }
    config
}

fn source() -> Source {
    Source::File {
        file: "bench".into(),
        line: 0,
    }
}

fn badge_ingest(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, _roster, badges) = company(dir.path(), 5_000, 2);
    let now = parse_timestamp("2030-01-01T00:00:00Z").expect("now");
    let mut group = c.benchmark_group("badge_ingest");
    group.throughput(Throughput::Elements(badges.len() as u64));
    group.sample_size(10);
    for (name, config) in [
        ("unknown_employees", config.clone()),
        ("unknown_employees_no_presence", without_presence(&config)),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || Processor::new(&config),
                |mut p| {
                    let mut out = Vec::new();
                    for line in &badges {
                        black_box(p.badge(line, source(), now, &mut out));
                    }
                    (p, out)
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn week_close(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (config, roster, badges) = company(dir.path(), 100_000, 1);
    let mut group = c.benchmark_group("week_close");
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    for (name, config) in [
        ("100k_employees", config.clone()),
        ("100k_employees_no_presence", without_presence(&config)),
    ] {
        let base = loaded(&config, &roster, &badges);
        // The generated week starts 2026-05-04; every zone has closed it by 05-13 00:00Z.
        let close = parse_timestamp("2026-05-13T00:00:00Z").expect("close");
        group.bench_function(name, |b| {
            b.iter_batched(
                || base.clone(),
                |mut p| {
                    let mut out = Vec::with_capacity(300_000);
                    p.advance_watermark(close, &mut out);
                    // Returned, so dropping 100k employees and their outputs is not timed.
                    (p, out)
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

/// Serializes every record output as it comes, with the writer replay and the Kafka shell use
/// ([`WriteJson`]), into one reused buffer; counts records and bytes.
#[derive(Default)]
struct Serializing {
    buf: Vec<u8>,
    records: u64,
    bytes: u64,
}

impl Serializing {
    fn line<T: WriteJson>(&mut self, value: &T) {
        self.buf.clear();
        value.write_json(&mut self.buf);
        self.records += 1;
        self.bytes += self.buf.len() as u64 + 1;
    }
}

impl Sink for Serializing {
    fn emit(&mut self, output: Output) {
        match &output {
            Output::Decision(d) => self.line(d),
            Output::Change(c) => self.line(c),
            Output::Alert(a) => self.line(a),
            Output::DeadLetter(d) => self.line(d),
            Output::AlertWithoutManager(_) | Output::WeekClosed(_) => {}
        }
        black_box(&output);
    }
}

/// Issue 12 point 3: closing one week for 1M employees, every decision, change and alert
/// built and serialized (as replay writes them). The company is generated and loaded once,
/// on first use, so filtering this benchmark out costs nothing.
fn week_close_1m(c: &mut Criterion) {
    close_1m_serialized(
        c,
        ("week_close_1m", "1m_employees_serialized"),
        "2026-05-13T00:00:00Z",
        |dir| {
            let (config, roster, badges) = company(dir, 1_000_000, 1);
            loaded(&config, &roster, &badges)
        },
    );
}

/// Closes, at instant `close`, weeks for the 1M employees of the processor `load` builds
/// (in a temporary directory, on first use, so filtering the benchmark out costs nothing),
/// every output serialized; each sample closes a copy of it.
fn close_1m_serialized(
    c: &mut Criterion,
    (group_name, name): (&str, &str),
    close: &str,
    load: impl Fn(&Path) -> Processor,
) {
    let mut group = c.benchmark_group(group_name);
    group.sample_size(10);
    group.throughput(Throughput::Elements(1_000_000));
    let mut base: Option<(tempfile::TempDir, Processor)> = None;
    let close = parse_timestamp(close).expect("close");
    group.bench_function(name, |b| {
        let (_, base) = base.get_or_insert_with(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let processor = load(dir.path());
            (dir, processor)
        });
        b.iter_batched(
            || base.clone(),
            |mut p| {
                let mut out = Serializing::default();
                p.advance_watermark(close, &mut out);
                black_box((out.records, out.bytes));
                // Returned, so dropping 1M employees is not timed.
                p
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// Issue 12 point 3 in steady state: closing the 13th week of a 1M-employee company that
/// has 13 weeks of history (point 2's setting), every output serialized. Unlike
/// `week_close_1m` (a first week, where every employee's status changes from none and so
/// gets a compliance change), most employees here get a decision and no change. Roster,
/// absences, outages, adjustments and badges are applied in §7's order, as replay does; the
/// badges are streamed from the file (64M lines), and the 12 earlier weeks close while
/// loading. Loading takes about a minute; set `BENCH_COMPANY_CACHE` to keep the generated
/// company (8 GB). Run as a test, it uses 2,000 employees.
fn week_close_1m_13_weeks(c: &mut Criterion) {
    // `cargo bench` runs benchmarks with `--bench`; `cargo test --all-targets` runs each once
    // without it, in a debug build, where 64M badges would take most of CI's time: there a
    // 2,000-employee company checks that the benchmark runs.
    let measuring = std::env::args().any(|a| a == "--bench");
    let employees = if measuring { 1_000_000 } else { 2_000 };
    // The 13th generated week is 2026-07-27..08-02; every zone has closed it by 08-05 00:00Z
    // (the same distance from its Sunday as `week_close_1m`'s instant).
    close_1m_serialized(
        c,
        (
            "week_close_1m_13_weeks",
            "1m_employees_13th_week_serialized",
        ),
        "2026-08-05T00:00:00Z",
        |dir| loaded_streaming(&company_dir(dir, employees, 13)),
    );
}

/// A processor fed every input file of the company in `dir` in §7's order, line by line,
/// as replay feeds them.
fn loaded_streaming(dir: &Path) -> Processor {
    use std::io::BufRead;
    let config = Config::load_with_env(&dir.join("config"), Vec::<(String, String)>::new())
        .expect("generated config is valid")
        .config;
    let mut p = Processor::new(&config);
    let mut out = Vec::new();
    let now = parse_timestamp("2030-01-01T00:00:00Z").expect("now");
    for name in [
        "roster.jsonl",
        "absences.jsonl",
        "outages.jsonl",
        "adjustments.jsonl",
        "badges.jsonl",
    ] {
        let file = std::fs::File::open(dir.join(name)).expect("generated file");
        let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).expect("read") > 0 {
            let bytes = line.strip_suffix(b"\n").unwrap_or(&line);
            if !bytes.is_empty() {
                match name {
                    "roster.jsonl" => p.roster(None, Some(bytes), source(), &mut out),
                    "absences.jsonl" => p.absence(bytes, source(), &mut out),
                    "outages.jsonl" => p.outage(None, Some(bytes), source(), &mut out),
                    "adjustments.jsonl" => p.adjustment(bytes, source(), &mut out),
                    _ => p.badge(bytes, source(), now, &mut out),
                };
            }
            line.clear();
            // The loading's own outputs are not what is measured.
            out.clear();
        }
    }
    p
}

/// A processor holding the roster and one week of badges, the watermark before its close.
fn loaded(config: &Config, roster: &[Vec<u8>], badges: &[Vec<u8>]) -> Processor {
    let mut base = Processor::new(config);
    let mut out = Vec::new();
    for line in roster {
        base.roster(None, Some(line), source(), &mut out);
    }
    let now = parse_timestamp("2030-01-01T00:00:00Z").expect("now");
    for line in badges {
        base.badge(line, source(), now, &mut out);
    }
    base
}

criterion_group!(
    benches,
    badge_ingest,
    week_close,
    week_close_1m,
    week_close_1m_13_weeks
);
criterion_main!(benches);
