//! Shared helpers: the repository root, driving a scenario through the processor while
//! recording metrics, running external tools.

use std::path::{Path, PathBuf};
use std::process::Command;

use attendance_compliance::config::Config;
use attendance_compliance::domain::output::Source;
use attendance_compliance::domain::time::parse_timestamp;
use attendance_compliance::engine::Output;
use attendance_compliance::metrics::{InputTopic, Metrics};
use attendance_compliance::processor::Processor;

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs tests/scenarios/basic-week through a [`Processor`] the way a shell does, recording
/// every input outcome and every output in `metrics`; returns the outputs.
pub(crate) fn drive_basic_week(metrics: &Metrics) -> Vec<Output> {
    let dir = root().join("tests/scenarios/basic-week");
    let config = Config::load_with_env(&dir.join("config"), Vec::<(String, String)>::new())
        .unwrap_or_else(|e| panic!("basic-week config: {e}"))
        .config;
    let now_text = std::fs::read_to_string(dir.join("now")).expect("now file");
    let now = parse_timestamp(now_text.trim()).expect("now is RFC 3339");
    let mut processor = Processor::new(&config);
    let mut outputs = Vec::new();
    let lines = |name: &str| -> Vec<String> {
        std::fs::read_to_string(dir.join(name))
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    };
    let source = |topic: &str, offset: usize| Source::Kafka {
        topic: topic.into(),
        partition: 0,
        offset: offset as i64,
    };
    for (i, line) in lines("roster.jsonl").iter().enumerate() {
        let outcome = processor.roster(
            None,
            Some(line.as_bytes()),
            source("employee-roster", i),
            &mut outputs,
        );
        metrics.record_input(InputTopic::Roster, outcome);
    }
    for (i, line) in lines("absences.jsonl").iter().enumerate() {
        let outcome = processor.absence(
            line.as_bytes(),
            source("employee-absences", i),
            &mut outputs,
        );
        metrics.record_input(InputTopic::Absences, outcome);
    }
    for (i, line) in lines("badges.jsonl").iter().enumerate() {
        let outcome = processor.badge(
            line.as_bytes(),
            source("badge-events", i),
            now,
            &mut outputs,
        );
        metrics.record_input(InputTopic::Badges, outcome);
    }
    processor.advance_watermark(now, &mut outputs);
    if let Some(watermark) = processor.engine().watermark() {
        metrics.set_watermark(0, watermark);
    }
    metrics.set_state_size(
        0,
        processor.engine().employees_tracked(),
        processor.engine().unrostered_held(),
        processor.engine().state_bytes(),
    );
    metrics.record_outputs(&outputs);
    outputs
}

/// Runs `program args` and returns (success, stdout + stderr); panics when it cannot start.
pub(crate) fn run_tool(program: &str, args: &[&str], cwd: &Path) -> (bool, String) {
    let output = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {program} (scripts/install-tools.sh installs it): {e}")
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}
