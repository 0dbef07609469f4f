//! The command-line convention, through the real binary: every command finds its
//! configuration directory the same way (`--config` > `ATTENDANCE_CONFIG_DIR` > `config/`)
//! and exits 0 (done), 1 (runtime failure) or 2 (usage error, invalid configuration); `run`
//! against a closed port logs each failure as JSON naming the address, answers `/readyz`
//! `starting`, stops at once on SIGTERM (exit 0), and after `kafka.startup_timeout` logs its
//! fatal error once, as JSON, and exits 1.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::root;

fn bin() -> PathBuf {
    std::env::var_os("ATTENDANCE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_attendance-compliance")))
}

/// The binary with none of the caller's settings: no `ATTENDANCE_*` variable, no `RUST_LOG`.
fn command(cwd: &Path) -> Command {
    let mut command = Command::new(bin());
    command.current_dir(cwd);
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("ATTENDANCE") || text == "RUST_LOG" {
            command.env_remove(&name);
        }
    }
    command
}

fn run(command: &mut Command) -> Output {
    command
        .stdin(Stdio::null())
        .output()
        .expect("run the binary")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn assert_exit(output: &Output, code: i32, what: &str) {
    assert_eq!(output.status.code(), Some(code), "{what}: {}", text(output));
}

fn scenario() -> PathBuf {
    root().join("tests/scenarios/basic-week")
}

fn valid_config() -> PathBuf {
    root().join("config")
}

fn invalid_config() -> PathBuf {
    root().join("tests/fixtures/config/invalid/many-problems")
}

/// A port nothing listens on (bound, noted, closed).
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[test]
fn check_config_finds_its_directory_by_flag_then_variable_then_default() {
    let cwd = tempfile::tempdir().expect("temp dir");
    // No flag, no variable, no config/ here: exit 2 naming "config".
    let out = run(command(cwd.path()).arg("check-config"));
    assert_exit(&out, 2, "no config/ in the working directory");
    // The variable alone (the container's way: `docker run IMAGE check-config`).
    let out = run(command(cwd.path())
        .arg("check-config")
        .env("ATTENDANCE_CONFIG_DIR", valid_config()));
    assert_exit(&out, 0, "ATTENDANCE_CONFIG_DIR");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&format!("{}: ok", valid_config().display())),
        "{}",
        text(&out)
    );
    // The flag wins over the variable.
    let out = run(command(cwd.path())
        .args(["check-config", "--config"])
        .arg(invalid_config())
        .env("ATTENDANCE_CONFIG_DIR", valid_config()));
    assert_exit(&out, 2, "--config wins over ATTENDANCE_CONFIG_DIR");
    // config/ in the working directory.
    let out = run(command(&root()).arg("check-config"));
    assert_exit(&out, 0, "config/ in the working directory");
}

#[test]
fn check_config_exits_2_on_errors_denied_warnings_and_invalid_log_filters() {
    let cwd = root();
    let out = run(command(&cwd)
        .args(["check-config", "--config"])
        .arg(invalid_config()));
    assert_exit(&out, 2, "invalid configuration");
    // config/ warns about the development pseudonym key.
    let out = run(command(&cwd).args(["check-config", "--deny-warnings"]));
    assert_exit(&out, 2, "a warning with --deny-warnings");
    let out = run(command(&cwd)
        .arg("check-config")
        .env("ATTENDANCE__LOG__LEVEL", "info,["));
    assert_exit(&out, 2, "a log.level tracing cannot parse");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("error: log.level"),
        "{}",
        text(&out)
    );
    let out = run(command(&cwd).arg("check-config").env("RUST_LOG", "debug,["));
    assert_exit(&out, 2, "an invalid RUST_LOG");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("error: RUST_LOG"),
        "{}",
        text(&out)
    );
    let out = run(command(&cwd)
        .arg("check-config")
        .env("RUST_LOG", "debug,librdkafka=warn"));
    assert_exit(&out, 0, "a valid RUST_LOG");
}

/// replay's arguments for the basic-week scenario, without `--config`.
fn replay_args(out: &Path) -> Vec<std::ffi::OsString> {
    let dir = scenario();
    let now = std::fs::read_to_string(dir.join("now")).expect("now");
    let mut args: Vec<std::ffi::OsString> = vec!["replay".into()];
    for (flag, file) in [
        ("--roster", "roster.jsonl"),
        ("--absences", "absences.jsonl"),
        ("--badges", "badges.jsonl"),
    ] {
        args.push(flag.into());
        args.push(dir.join(file).into());
    }
    args.extend([
        "--now".into(),
        now.trim().into(),
        "--out".into(),
        out.into(),
    ]);
    args
}

#[test]
fn replay_reads_the_configuration_directory_like_every_command_and_exits_0_1_or_2() {
    let work = tempfile::tempdir().expect("temp dir");
    let out_dir = work.path().join("out");
    // No --config: the variable names the directory.
    let out = run(command(work.path())
        .args(replay_args(&out_dir))
        .env("ATTENDANCE_CONFIG_DIR", scenario().join("config")));
    assert_exit(&out, 0, "replay with ATTENDANCE_CONFIG_DIR");
    assert!(out_dir.join("decisions.jsonl").is_file());
    let out = run(command(work.path())
        .args(replay_args(&out_dir))
        .env("ATTENDANCE_CONFIG_DIR", invalid_config()));
    assert_exit(&out, 2, "replay with an invalid ATTENDANCE_CONFIG_DIR");
    // No flag, no variable: config/ of the working directory (none here).
    let out = run(command(work.path()).args(replay_args(&out_dir)));
    assert_exit(&out, 2, "replay without a configuration");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invalid configuration in config"),
        "{}",
        text(&out)
    );
    // A malformed --now is a usage error, a missing input file a runtime failure.
    let mut args = replay_args(&out_dir);
    let now = args.iter().position(|a| a == "--now").expect("--now") + 1;
    args[now] = "next tuesday".into();
    let out = run(command(work.path())
        .args(&args)
        .args(["--config".as_ref(), scenario().join("config").as_os_str()]));
    assert_exit(&out, 2, "replay --now 'next tuesday'");
    let mut args = replay_args(&out_dir);
    let badges = args.iter().position(|a| a == "--badges").expect("--badges") + 1;
    args[badges] = work.path().join("missing.jsonl").into();
    let out = run(command(work.path())
        .args(&args)
        .args(["--config".as_ref(), scenario().join("config").as_os_str()]));
    assert_exit(&out, 1, "replay with a missing badges file");
    let out = run(command(work.path()).args(["replay", "--no-such-flag"]));
    assert_exit(&out, 2, "replay --no-such-flag");
}

#[test]
fn simulate_exits_0_1_or_2() {
    let work = tempfile::tempdir().expect("temp dir");
    let alternative = root().join("examples/alternative-policies.toml");
    let args = |out: &Path| {
        let mut args = replay_args(out);
        args[0] = "simulate".into();
        args.extend(["--alternative".into(), alternative.clone().into_os_string()]);
        args
    };
    let out_dir = work.path().join("what-if");
    let out = run(command(work.path())
        .args(args(&out_dir))
        .env("ATTENDANCE_CONFIG_DIR", scenario().join("config")));
    assert_exit(&out, 0, "simulate with ATTENDANCE_CONFIG_DIR");
    assert!(out_dir.join("summary.json").is_file());
    let out = run(command(work.path())
        .args(args(&out_dir))
        .env("ATTENDANCE_CONFIG_DIR", invalid_config()));
    assert_exit(&out, 2, "simulate with an invalid configuration");
    let mut missing = args(&out_dir);
    let badges = missing
        .iter()
        .position(|a| a == "--badges")
        .expect("--badges")
        + 1;
    missing[badges] = work.path().join("missing.jsonl").into();
    let out = run(command(work.path())
        .args(missing)
        .env("ATTENDANCE_CONFIG_DIR", scenario().join("config")));
    assert_exit(&out, 1, "simulate with a missing badges file");
}

#[test]
fn generate_exits_0_1_or_2() {
    let work = tempfile::tempdir().expect("temp dir");
    let out = run(command(work.path()).args([
        "generate",
        "--out",
        "company",
        "--employees",
        "5",
        "--weeks",
        "1",
    ]));
    assert_exit(&out, 0, "generate");
    std::fs::write(work.path().join("a-file"), "x").expect("write");
    let out = run(command(work.path()).args([
        "generate",
        "--out",
        "a-file/company",
        "--employees",
        "5",
        "--weeks",
        "1",
    ]));
    assert_exit(&out, 1, "generate into a path under a file");
    let out = run(command(work.path()).args(["generate", "--out", "x", "--employees", "many"]));
    assert_exit(&out, 2, "generate --employees many");
}

#[test]
fn version_completions_man_and_demo_follow_the_convention() {
    let cwd = root();
    let out = run(command(&cwd).arg("--version"));
    assert_exit(&out, 0, "--version");
    let version = String::from_utf8_lossy(&out.stdout);
    assert!(
        version.starts_with(concat!(
            "attendance-compliance ",
            env!("CARGO_PKG_VERSION"),
            " (git "
        )),
        "{version}"
    );
    assert!(version.contains(", librdkafka "), "{version}");

    let subcommands = [
        "replay",
        "simulate",
        "check-config",
        "generate",
        "run",
        "demo",
        "completions",
        "man",
    ];
    for shell in ["bash", "zsh", "fish"] {
        let out = run(command(&cwd).args(["completions", shell]));
        assert_exit(&out, 0, shell);
        let script = String::from_utf8_lossy(&out.stdout);
        for name in subcommands {
            assert!(script.contains(name), "{shell} completions miss {name}");
        }
    }
    let out = run(command(&cwd).args(["completions", "tcsh"]));
    assert_exit(&out, 2, "completions tcsh");

    let out = run(command(&cwd).arg("man"));
    assert_exit(&out, 0, "man");
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(
        page.contains(".TH attendance\\-compliance 1")
            || page.contains(".TH attendance-compliance 1"),
        "{page}"
    );
    for name in subcommands {
        assert!(
            page.contains(&name.replace('-', "\\-")),
            "the man page misses {name}"
        );
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run(command(&cwd).args(["man", "--out-dir"]).arg(dir.path()));
    assert_exit(&out, 0, "man --out-dir");
    for name in subcommands {
        assert!(
            dir.path()
                .join(format!("attendance-compliance-{name}.1"))
                .is_file(),
            "no page for {name}: {}",
            text(&out)
        );
    }

    // demo takes no argument.
    let out = run(command(&cwd).args(["demo", "--config", "config"]));
    assert_exit(&out, 2, "demo --config");
}

#[test]
fn demo_exits_0() {
    // The demo writes its company and report under the temporary directory: a private one.
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = run(command(&root()).arg("demo").env("TMPDIR", tmp.path()));
    assert_exit(&out, 0, "demo");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("report.html"),
        "{}",
        text(&out)
    );
}

/// One JSON log line per stderr line, read on a thread.
fn log_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stderr = child.stderr.take().expect("stderr piped");
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    receive
}

/// Lines until one satisfies `wanted` (returned) or `deadline` passes (panics, with the lines).
fn wait_for_line(
    lines: &mpsc::Receiver<String>,
    seen: &mut Vec<String>,
    deadline: Instant,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                let value: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}\n{seen:#?}"));
                seen.push(line);
                if wanted(&value) {
                    return value;
                }
            }
            Err(_) => panic!("no such log line before the deadline; lines:\n{seen:#?}"),
        }
    }
}

/// Waits for the exit at most `limit` (polling); `None` if still running.
fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// GET `path` over HTTP/1.0: (status code, body).
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    write!(stream, "GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").expect("request");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer");
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = answer.split("\r\n\r\n").nth(1).unwrap_or("").to_owned();
    (status, body)
}

fn spawn_run(brokers: &str, extra: &[(&str, &str)]) -> Child {
    let mut command = command(&root());
    command
        .args(["run", "--config"])
        .arg(valid_config())
        .env("ATTENDANCE__KAFKA__BROKERS", brokers)
        .env("ATTENDANCE__LOG__FORMAT", "json")
        .env("ATTENDANCE__HTTP__LISTEN", "127.0.0.1:0")
        .envs(extra.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command.spawn().expect("spawn run")
}

/// Kills the child if a test fails half way.
struct Reaper(Child);

impl Drop for Reaper {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

#[cfg(unix)]
#[test]
fn run_against_a_closed_port_logs_the_address_stays_starting_and_stops_on_sigterm() {
    let brokers = format!("127.0.0.1:{}", closed_port());
    let mut child = Reaper(spawn_run(&brokers, &[]));
    let lines = log_lines(&mut child.0);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let started = wait_for_line(&lines, &mut seen, deadline, |v| v["listen"].is_string());
    let listen: SocketAddr = started["listen"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .expect("listen address");
    let failure = wait_for_line(&lines, &mut seen, deadline, |v| {
        v["level"] == "WARN" && v["brokers"] == brokers.as_str()
    });
    assert!(
        failure["hint"]
            .as_str()
            .is_some_and(|h| h.contains("kafka.brokers")),
        "{failure}"
    );
    assert_eq!(http_get(listen, "/healthz").0, 200);
    let (status, body) = http_get(listen, "/readyz");
    assert_eq!((status, body.trim()), (503, "starting"));

    let pid = child.0.id().to_string();
    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(kill.success(), "kill -TERM {pid}");
    let status = wait_with_deadline(&mut child.0, Duration::from_secs(30))
        .unwrap_or_else(|| panic!("still running 30 s after SIGTERM; lines:\n{seen:#?}"));
    let elapsed = signalled.elapsed();
    assert_eq!(
        status.code(),
        Some(0),
        "exit after SIGTERM; lines:\n{seen:#?}"
    );
    assert!(
        elapsed < Duration::from_secs(1),
        "SIGTERM during the start-up wait took {elapsed:?} to exit"
    );
    // Every line, the last ones included, is JSON.
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(5)) {
        let value: Result<Value, _> = serde_json::from_str(&line);
        assert!(value.is_ok(), "not a JSON log line: {line}");
        seen.push(line);
    }
    assert!(
        seen.iter().any(|l| l.contains("SIGTERM: stopping")),
        "{seen:#?}"
    );
}

#[test]
fn run_gives_up_after_the_startup_timeout_with_one_json_error_naming_the_address() {
    let brokers = format!("127.0.0.1:{}", closed_port());
    let started = Instant::now();
    let mut child = Reaper(spawn_run(
        &brokers,
        &[("ATTENDANCE__KAFKA__STARTUP_TIMEOUT", "1s")],
    ));
    let mut stderr = String::new();
    if let Some(mut pipe) = child.0.stderr.take() {
        pipe.read_to_string(&mut stderr).expect("stderr");
    }
    let status = wait_with_deadline(&mut child.0, Duration::from_secs(60)).expect("exits");
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "gave up before kafka.startup_timeout"
    );
    let lines: Vec<Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let errors: Vec<&Value> = lines.iter().filter(|v| v["level"] == "ERROR").collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    let error = errors[0]["error"].as_str().unwrap_or_default();
    assert!(error.contains(&brokers), "{error}");
    assert!(error.contains("kafka.startup_timeout"), "{error}");
    assert!(
        error.matches("(Local: Broker transport failure)").count() <= 1,
        "librdkafka's message repeated: {error}"
    );
    assert!(
        lines.iter().any(|v| v["brokers"] == brokers.as_str()),
        "{stderr}"
    );
}

#[test]
fn run_exits_2_on_an_invalid_configuration_or_log_filter() {
    let cwd = root();
    let out = run(command(&cwd)
        .arg("run")
        .env("ATTENDANCE_CONFIG_DIR", invalid_config()));
    assert_exit(&out, 2, "run with an invalid configuration");
    for (name, value) in [
        ("ATTENDANCE__LOG__LEVEL", "info,["),
        ("RUST_LOG", "debug,["),
        ("ATTENDANCE__KAFKA__STARTUP_TIMEOUT", "0s"),
    ] {
        let out = run(command(&cwd)
            .args(["run", "--config"])
            .arg(valid_config())
            .env("ATTENDANCE__HTTP__LISTEN", "127.0.0.1:0")
            .env(name, value));
        assert_exit(&out, 2, name);
    }
}
