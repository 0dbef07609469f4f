//! The `attendance-compliance` binary: parse the command line, run one command, report.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use attendance_compliance::cli::{
    self, CheckConfigArgs, Command, Exit, GenerateArgs, ManArgs, ReplayArgs, SimulateArgs,
};
use attendance_compliance::config::{Config, Loaded};
use attendance_compliance::domain::Timestamp;
use attendance_compliance::kafka::error_chain;
use attendance_compliance::{generate, replay, simulate, telemetry};

/// mimalloc: the engine and the output path allocate many small strings; glibc's malloc
/// spent ~17% of a replay in its free lists (see BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Usage errors exit 2 inside `parse` (clap's convention, and ours).
    let cli = cli::parse();
    let exit = match cli.command {
        Command::Replay(args) => report(run_replay(args)),
        Command::Simulate(args) => report(run_simulate(args)),
        Command::CheckConfig(args) => check_config(args),
        Command::Generate(args) => report(run_generate(args)),
        Command::Run(args) => run_service(&args.config),
        Command::Demo => report(attendance_compliance::demo::run().map(|()| Exit::Ok)),
        Command::Completions(args) => {
            let mut script = Vec::new();
            cli::write_completions(args.shell, &mut script);
            report(write_stdout(&script).map(|()| Exit::Ok))
        }
        Command::Man(args) => report(man(&args)),
    };
    exit.into()
}

/// The exit of a command that prints its errors as `error: ...` on stderr (it has no log
/// format): a failure is [`Exit::Failure`].
fn report(result: anyhow::Result<Exit>) -> Exit {
    match result {
        Ok(exit) => exit,
        Err(e) => {
            eprintln!("error: {}", error_chain(e.as_ref()));
            Exit::Failure
        }
    }
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(bytes)
        .and_then(|()| stdout.flush())
        .context("while writing to stdout")
}

fn man(args: &ManArgs) -> anyhow::Result<Exit> {
    match &args.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("while creating {}", dir.display()))?;
            let written = cli::write_man_pages(dir)
                .with_context(|| format!("while writing the man pages into {}", dir.display()))?;
            for path in written {
                println!("{}", path.display());
            }
        }
        None => {
            let mut page = Vec::new();
            cli::write_man_page(&mut page).context("while rendering the man page")?;
            write_stdout(&page)?;
        }
    }
    Ok(Exit::Ok)
}

/// Loads `dir`, printing its problems to stderr when it is invalid (`None`: exit 2). The
/// caller prints or logs the warnings.
fn load_config(dir: &Path) -> Option<Loaded> {
    match Config::load(dir) {
        Ok(loaded) => Some(loaded),
        Err(errors) => {
            eprintln!("invalid configuration in {}:", dir.display());
            for p in &errors.problems {
                eprintln!("  {p}");
            }
            None
        }
    }
}

/// [`load_config`] for the commands without logging: warnings go to stderr.
fn load_config_printing_warnings(dir: &Path) -> Option<Config> {
    let loaded = load_config(dir)?;
    for w in &loaded.warnings {
        eprintln!("warning: {w}");
    }
    Some(loaded.config)
}

/// `run`: until logging is set up (an invalid configuration or log filter, exit 2) errors are
/// plain lines on stderr; from then on everything, the fatal error included, is logged once
/// in the configured format (`log.format`), and a failure exits 1.
fn run_service(dir: &Path) -> Exit {
    let Some(loaded) = load_config(dir) else {
        return Exit::Usage;
    };
    if let Err(e) = telemetry::init(&loaded.config.processor.log) {
        eprintln!("invalid configuration in {}: {e}", dir.display());
        return Exit::Usage;
    }
    for warning in &loaded.warnings {
        tracing::warn!("configuration: {warning}");
    }
    match attendance_compliance::service::run(loaded.config) {
        Ok(()) => Exit::Ok,
        Err(e) => {
            let error = error_chain(e.as_ref());
            tracing::error!(error = %error, "attendance-compliance stopped on a fatal error");
            Exit::Failure
        }
    }
}

fn run_replay(args: ReplayArgs) -> anyhow::Result<Exit> {
    let Some(config) = load_config_printing_warnings(&args.config) else {
        return Ok(Exit::Usage);
    };
    let advance_to = args.now;
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
    Ok(Exit::Ok)
}

fn run_simulate(args: SimulateArgs) -> anyhow::Result<Exit> {
    let Some(config) = load_config_printing_warnings(&args.config) else {
        return Ok(Exit::Usage);
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
            return Ok(Exit::Usage);
        }
    };
    let advance_to = args.now;
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
    Ok(Exit::Ok)
}

/// `check-config`: problems and warnings on stdout (it is the command's output); 0 when valid,
/// 2 on an error (or a warning with `--deny-warnings`). Besides the files and the
/// `ATTENDANCE__` variables it checks the log filter `run` would use (`log.level`, or
/// `RUST_LOG` when set).
fn check_config(args: CheckConfigArgs) -> Exit {
    let dir = args.config.display();
    let loaded = match Config::load(&args.config) {
        Ok(loaded) => loaded,
        Err(errors) => {
            for p in &errors.problems {
                println!("error: {p}");
            }
            println!("{dir}: {} problem(s)", errors.problems.len());
            return Exit::Usage;
        }
    };
    let rust_log = std::env::var(telemetry::RUST_LOG).ok();
    if let Err(e) = telemetry::check_filter(&loaded.config.processor.log, rust_log.as_deref()) {
        println!("error: {e}");
        println!("{dir}: 1 problem(s)");
        return Exit::Usage;
    }
    for w in &loaded.warnings {
        println!("warning: {w}");
    }
    if args.deny_warnings && !loaded.warnings.is_empty() {
        println!("{dir}: {} warning(s), denied", loaded.warnings.len());
        return Exit::Usage;
    }
    let c = &loaded.config;
    println!(
        "{dir}: ok ({} sites, {} holiday regions, {} policies)",
        c.sites.len(),
        c.holidays.len(),
        c.policies.len()
    );
    Exit::Ok
}

fn run_generate(args: GenerateArgs) -> anyhow::Result<Exit> {
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
    Ok(Exit::Ok)
}
