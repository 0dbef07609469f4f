//! The `attendance-compliance` binary: parse the command line, run one command, report.

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;

use attendance_compliance::cli::{
    CheckConfigArgs, Cli, Command, GenerateArgs, ReplayArgs, SimulateArgs,
};
use attendance_compliance::config::Config;
use attendance_compliance::domain::time::parse_timestamp;
use attendance_compliance::domain::Timestamp;
use attendance_compliance::{generate, replay, simulate};

/// mimalloc: the engine and the output path allocate many small strings; glibc's malloc
/// spent ~17% of a replay in its free lists (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay(args) => run_replay(args),
        Command::Simulate(args) => run_simulate(args),
        Command::CheckConfig(args) => check_config(args),
        Command::Generate(args) => run_generate(args),
        Command::Run(args) => {
            attendance_compliance::service::run(&args.config).map(|()| ExitCode::SUCCESS)
        }
        Command::Demo => attendance_compliance::demo::run().map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(dir: &std::path::Path) -> anyhow::Result<Option<Config>> {
    match Config::load(dir) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                eprintln!("warning: {w}");
            }
            Ok(Some(loaded.config))
        }
        Err(errors) => {
            eprintln!("invalid configuration in {}:", dir.display());
            for p in &errors.problems {
                eprintln!("  {p}");
            }
            Ok(None)
        }
    }
}

fn parse_now(text: &str) -> anyhow::Result<Timestamp> {
    if let Ok(t) = parse_timestamp(text) {
        return Ok(t);
    }
    let t = chrono::DateTime::parse_from_rfc3339(text)
        .with_context(|| format!("--now '{text}' is not an RFC 3339 timestamp"))?;
    Ok(Timestamp::from_chrono(t.with_timezone(&chrono::Utc)))
}

fn run_replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(&args.config)? else {
        return Ok(ExitCode::from(2));
    };
    let advance_to = args.now.as_deref().map(parse_now).transpose()?;
    let clock = advance_to.unwrap_or_else(|| Timestamp::from_chrono(chrono::Utc::now()));
    let input = replay::ReplayInput {
        badges: args.badges,
        roster: args.roster,
        absences: args.absences,
        outages: args.outages,
        adjustments: args.adjustments,
        advance_to,
        clock,
        out: args.out,
        progress: std::io::stderr().is_terminal(),
    };
    let started = std::time::Instant::now();
    let summary = replay::replay(&config, &input).context("while replaying")?;
    let secs = started.elapsed().as_secs_f64();
    let replay::InputLines {
        roster,
        absences,
        outages,
        adjustments,
        badges,
    } = summary.lines;
    eprintln!(
        "replayed {badges} badges, {roster} roster, {absences} absence, {outages} outage and \
         {adjustments} adjustment records in {secs:.2}s ({:.0} badges/s)",
        badges as f64 / secs.max(1e-9)
    );
    eprintln!(
        "wrote {} decisions, {} compliance changes, {} alerts ({} not sent: no manager); \
         {} late badges applied as corrections; {} employees tracked, state ~{} bytes each",
        summary.decisions,
        summary.changes,
        summary.alerts,
        summary.alerts_without_manager,
        summary.late_badges,
        summary.employees,
        summary.state_bytes / summary.employees.max(1)
    );
    let dead: Vec<String> = summary
        .dead_letters
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(r, n)| format!("{}={n}", r.as_str()))
        .collect();
    if !dead.is_empty() {
        eprintln!("dead letters: {}", dead.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_simulate(args: SimulateArgs) -> anyhow::Result<ExitCode> {
    let Some(config) = load_config(&args.config)? else {
        return Ok(ExitCode::from(2));
    };
    // The alternative file is validated exactly as policies.toml, before any input is read.
    let alternative = match Config::load_policies(&args.alternative) {
        Ok((policies, warnings)) => {
            for w in &warnings {
                eprintln!("warning: {w}");
            }
            policies
        }
        Err(errors) => {
            eprintln!(
                "invalid alternative policies in {}:",
                args.alternative.display()
            );
            for p in &errors.problems {
                eprintln!("  {p}");
            }
            return Ok(ExitCode::from(2));
        }
    };
    let advance_to = args.now.as_deref().map(parse_now).transpose()?;
    let clock = advance_to.unwrap_or_else(|| Timestamp::from_chrono(chrono::Utc::now()));
    let input = simulate::SimulateInput {
        replay: replay::ReplayInput {
            badges: args.badges,
            roster: args.roster,
            absences: args.absences,
            outages: args.outages,
            adjustments: args.adjustments,
            advance_to,
            clock,
            out: args.out,
            progress: std::io::stderr().is_terminal(),
        },
        config_dir: args.config,
        alternative_file: args.alternative,
        with_ids: args.with_ids,
    };
    let started = std::time::Instant::now();
    let done = simulate::simulate(&config, &alternative, &input).context("while simulating")?;
    let weeks = &done.summary.weeks;
    let changed: u64 = weeks.iter().map(|w| w.all.changed).sum();
    eprintln!(
        "simulated {} badges over {} weeks in {:.2}s: {changed} employee-weeks change status",
        done.replay.lines.badges,
        weeks.len(),
        started.elapsed().as_secs_f64()
    );
    let out = &input.replay.out;
    println!("{}", out.join(simulate::OUTPUT_FILES[0]).display());
    println!("{}", out.join(simulate::OUTPUT_FILES[1]).display());
    Ok(ExitCode::SUCCESS)
}

fn check_config(args: CheckConfigArgs) -> anyhow::Result<ExitCode> {
    match Config::load(&args.config) {
        Ok(loaded) => {
            for w in &loaded.warnings {
                println!("warning: {w}");
            }
            if args.deny_warnings && !loaded.warnings.is_empty() {
                println!(
                    "{}: {} warning(s), denied",
                    args.config.display(),
                    loaded.warnings.len()
                );
                return Ok(ExitCode::from(1));
            }
            let c = &loaded.config;
            println!(
                "{}: ok ({} sites, {} holiday regions, {} policies)",
                args.config.display(),
                c.sites.len(),
                c.holidays.len(),
                c.policies.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for p in &errors.problems {
                println!("error: {p}");
            }
            println!(
                "{}: {} problem(s)",
                args.config.display(),
                errors.problems.len()
            );
            Ok(ExitCode::from(1))
        }
    }
}

fn run_generate(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let options = generate::GenerateOptions {
        employees: args.employees,
        weeks: args.weeks,
        start_monday: args.start,
        seed: args.seed,
        late_fraction: args.late_fraction,
        duplicate_fraction: args.duplicate_fraction,
        bad_fraction: args.bad_fraction,
    };
    let summary = generate::generate(&options, &args.out)
        .with_context(|| format!("while generating into {}", args.out.display()))?;
    println!(
        "generated {} employees, {} badges ({} out), {} roster, {} absence, {} outage and {} \
         adjustment records ({} bad lines) in {}",
        summary.employees,
        summary.badges,
        summary.out_badges,
        summary.roster_records,
        summary.absence_records,
        summary.outage_records,
        summary.adjustment_records,
        summary.bad_lines,
        args.out.display()
    );
    println!(
        "replay with: attendance-compliance replay --config {0}/config --roster {0}/roster.jsonl \
         --absences {0}/absences.jsonl --outages {0}/outages.jsonl --adjustments \
         {0}/adjustments.jsonl --badges {0}/badges.jsonl --now {1} --out <dir>",
        args.out.display(),
        summary
            .now
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    Ok(ExitCode::SUCCESS)
}
