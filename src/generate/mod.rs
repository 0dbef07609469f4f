//! Deterministic generator of realistic synthetic companies, written in the
//! input format of `replay` (SPEC §1, §7): config, roster, absences, site
//! outages, attendance adjustments and a badge feed with `in` and `out`
//! badges, for benchmarks, Kafka tests and the demo.
//!
//! What it owns: drawing a workforce (orgs, managers, habits), its calendar
//! and absences, and streaming badges in feed order with the faults a real
//! feed has — late and duplicate deliveries and a small share of bad lines
//! covering every dead-letter reason of SPEC §2. What it must not do: depend
//! on the rest of the crate (it writes the wire formats itself), read the
//! clock, or iterate hash maps — the same [`GenerateOptions`] always give
//! byte-identical files.
//!
//! Memory is bounded by the workforce size plus about two days of badges, so
//! 100k employees over 13 weeks stream out in seconds.
//!
//! Determinism: every concern draws from its own ChaCha8 stream of the seed
//! (people 1, absences 2, attendance 3, delivery faults 4, bad badge lines 5,
//! stays 6, outages 7, adjustments 8), so changing a fault fraction or a
//! share of stays changes the faults or the stays, not who came in when.

mod absences;
mod adjustments;
mod bad;
mod badges;
mod calendar;
mod config;
mod org;
mod outages;
mod output;
mod people;
mod plan;
mod roster;
mod stays;
mod summary;
#[cfg(test)]
mod tests;
mod timefmt;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc, Weekday};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use self::output::{io_error, write_file, LineSink};

pub use self::summary::GenerateSummary;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    /// Number of employees in the roster (`e-000001`, `e-000002`, …).
    pub employees: u32,
    /// Number of ISO weeks of badges.
    pub weeks: u32,
    /// First day of the period; must be a Monday.
    pub start_monday: NaiveDate,
    /// Seed of every random choice; the same options give the same bytes.
    pub seed: u64,
    /// Share of badges delivered late: about 60% one to six hours late, 32%
    /// after their week has closed (replay applies them as corrections), 8%
    /// about five weeks late, one to three days after their week has left
    /// the four-week correction window (dead-lettered `too_late`). A badge
    /// too close to the period's end for on-time badges to follow such a
    /// delay becomes a correction instead.
    pub late_fraction: f64,
    /// Share of badges delivered twice (the identical line a little later).
    pub duplicate_fraction: f64,
    /// Bad badge lines per regular badge line; the roster, absence, outage
    /// and adjustment files get the same share, at least one line per kind
    /// of fault.
    pub bad_fraction: f64,
}

impl Default for GenerateOptions {
    /// 1000 employees over 6 weeks from Monday 2026-05-04, seed 42,
    /// 2% late, 1% duplicated, 0.2% bad.
    fn default() -> Self {
        GenerateOptions {
            employees: 1000,
            weeks: 6,
            start_monday: NaiveDate::from_ymd_opt(2026, 5, 4).unwrap_or_default(),
            seed: 42,
            late_fraction: 0.02,
            duplicate_fraction: 0.01,
            bad_fraction: 0.002,
        }
    }
}

/// Why [`generate`] failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// An option is out of range: no employees or weeks, a start date that
    /// is not a Monday, or a fraction outside `0..=1`.
    #[error("invalid option {option}: {problem}")]
    InvalidOption {
        /// The option's field name.
        option: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// Creating a directory or writing a file failed.
    #[error("cannot write {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Longest period accepted, in weeks (ten years).
const MAX_WEEKS: u32 = 520;

fn validate(opts: &GenerateOptions) -> Result<(), GenerateError> {
    let invalid = |option, problem: &str| {
        Err(GenerateError::InvalidOption {
            option,
            problem: problem.to_string(),
        })
    };
    if opts.employees == 0 {
        return invalid("employees", "must be at least 1");
    }
    if opts.weeks == 0 || opts.weeks > MAX_WEEKS {
        return invalid("weeks", "must be between 1 and 520");
    }
    if opts.start_monday.weekday() != Weekday::Mon {
        return invalid("start_monday", "must be a Monday");
    }
    let fractions = [
        ("late_fraction", opts.late_fraction),
        ("duplicate_fraction", opts.duplicate_fraction),
        ("bad_fraction", opts.bad_fraction),
    ];
    for (option, value) in fractions {
        if !(0.0..=1.0).contains(&value) {
            return invalid(option, "must be between 0 and 1");
        }
    }
    Ok(())
}

/// An independent random stream of `seed` for one concern.
fn rng_stream(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// How many bad lines a file of `records` regular records gets: the
/// fraction, but at least one of each of its `kinds` when the fraction is
/// positive.
fn bad_line_count(fraction: f64, records: u64, kinds: usize) -> u64 {
    if fraction <= 0.0 || records == 0 {
        return 0;
    }
    ((fraction * records as f64).round() as u64).max(kinds as u64)
}

/// The suggested `--now`: one hour after the last generated week has closed
/// in every site's zone (its end, Monday 00:00 local, plus the default
/// `allowed_lateness` of 24 h).
fn suggested_now(opts: &GenerateOptions) -> DateTime<Utc> {
    let end = opts.start_monday + Days::new(u64::from(opts.weeks) * 7);
    let latest_end = config::SITES
        .iter()
        .map(|site| calendar::local_midnight(site.zone, end))
        .max()
        .unwrap_or_default();
    DateTime::from_timestamp(latest_end + 25 * 3600, 0).unwrap_or_default()
}

/// Writes a synthetic company into `out_dir` (created if needed):
/// `config/{sites,holidays,policies,processor}.toml`, `roster.jsonl`,
/// `absences.jsonl`, `outages.jsonl`, `adjustments.jsonl`, `badges.jsonl`
/// and `summary.json`. Existing files of those names are replaced.
pub fn generate(opts: &GenerateOptions, out_dir: &Path) -> Result<GenerateSummary, GenerateError> {
    validate(opts)?;
    let config_dir = out_dir.join("config");
    std::fs::create_dir_all(&config_dir).map_err(|source| io_error(&config_dir, source))?;

    let holidays = calendar::Holidays::for_period(opts.start_monday, opts.weeks);
    write_file(&config_dir.join("sites.toml"), &config::sites_toml())?;
    write_file(
        &config_dir.join("holidays.toml"),
        &config::holidays_toml(&holidays),
    )?;
    write_file(
        &config_dir.join("policies.toml"),
        &config::policies_toml(opts.start_monday, opts.weeks),
    )?;
    write_file(
        &config_dir.join("processor.toml"),
        &config::processor_toml(),
    )?;

    let people = people::generate_people(
        &mut rng_stream(opts.seed, 1),
        opts.employees,
        opts.start_monday,
        opts.weeks,
    );
    let mut roster_sink = LineSink::create(&out_dir.join("roster.jsonl"))?;
    let roster = roster::write_roster(&people, opts.bad_fraction, &mut roster_sink)?;
    roster_sink.finish()?;

    let mut absence_sink = LineSink::create(&out_dir.join("absences.jsonl"))?;
    let (book, absences) = absences::write_absences(
        &mut rng_stream(opts.seed, 2),
        &people,
        opts.start_monday,
        opts.weeks,
        opts.bad_fraction,
        &mut absence_sink,
    )?;
    absence_sink.finish()?;

    let mut outage_sink = LineSink::create(&out_dir.join("outages.jsonl"))?;
    let (outage_book, outages) = outages::write_outages(
        &mut rng_stream(opts.seed, 7),
        opts.start_monday,
        opts.weeks,
        opts.bad_fraction,
        &mut outage_sink,
    )?;
    outage_sink.finish()?;

    let mut adjustment_sink = LineSink::create(&out_dir.join("adjustments.jsonl"))?;
    let (credits, adjustments) = adjustments::write_adjustments(
        &mut rng_stream(opts.seed, 8),
        &people,
        opts.start_monday,
        opts.weeks,
        opts.bad_fraction,
        &mut adjustment_sink,
    )?;
    adjustment_sink.finish()?;

    let now = suggested_now(opts);
    let mut badge_sink = LineSink::create(&out_dir.join("badges.jsonl"))?;
    let company = badges::Company {
        opts,
        people: &people,
        holidays: &holidays,
        absences: &book,
        outages: &outage_book,
        credits: &credits,
        now_secs: now.timestamp(),
    };
    let badges = badges::write_badges(company, &mut badge_sink)?;
    badge_sink.finish()?;

    let counts = summary::Counts {
        roster,
        absences,
        outages,
        adjustments,
        badges,
    };
    let summary = GenerateSummary::new(opts, now, &counts);
    let summary_path = out_dir.join("summary.json");
    write_file(&summary_path, &summary.to_json(opts))?;
    Ok(summary)
}
