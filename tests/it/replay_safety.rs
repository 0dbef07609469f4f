//! Replay never destroys data and never reads a line whole (issue 8 points 2 and 3): the
//! real binary, run on the `basic-week` scenario, against failures half-way, inputs inside
//! `--out`, symlinked outputs, a write error mid-run and a 100 MB line.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use attendance_compliance::replay::OUTPUT_FILES;

use crate::helpers::root;

/// The binary under test: `ATTENDANCE_BIN` when set (as for the Kafka tests, e.g. to run
/// these tests against an older build), else the one cargo built.
fn bin() -> PathBuf {
    std::env::var_os("ATTENDANCE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_attendance-compliance")))
}

fn scenario() -> PathBuf {
    root().join("tests/scenarios/basic-week")
}

/// A replay of the scenario with its roster and absences, `badges` in place of its badges.
fn replay_cmd(config: &Path, badges: &Path, out: &Path) -> Command {
    let absences = scenario().join("absences.jsonl");
    replay_with(config, &absences, badges, "2026-05-19T07:00:00Z", out)
}

fn replay_with(config: &Path, absences: &Path, badges: &Path, now: &str, out: &Path) -> Command {
    let mut cmd = Command::new(bin());
    cmd.arg("replay")
        .arg("--config")
        .arg(config)
        .arg("--roster")
        .arg(scenario().join("roster.jsonl"))
        .arg("--absences")
        .arg(absences)
        .arg("--badges")
        .arg(badges)
        .args(["--now", now, "--out"])
        .arg(out);
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd.get_program()))
}

/// `cmd` as a shell command line (the paths here hold no quotes).
fn shell_words(cmd: &Command) -> String {
    let words: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    words.join(" ")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every entry of `dir` with its contents (directories and symlinks by kind).
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("read {dir:?}: {e}"));
    entries
        .filter_map(Result::ok)
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry.file_type().unwrap_or_else(|e| panic!("{name}: {e}"));
            let content = if kind.is_file() {
                std::fs::read(entry.path()).unwrap_or_else(|e| panic!("{name}: {e}"))
            } else {
                format!("<{kind:?}>").into_bytes()
            };
            (name, content)
        })
        .collect()
}

/// A temp dir with `out/` holding a successful replay of the scenario.
fn with_good_outputs() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = tmp.path().join("out");
    let good = run(&mut replay_cmd(
        &scenario().join("config"),
        &scenario().join("badges.jsonl"),
        &out,
    ));
    assert!(good.status.success(), "first replay: {}", stderr(&good));
    assert_eq!(snapshot(&out).len(), OUTPUT_FILES.len());
    (tmp, out)
}

fn assert_refused(output: &Output, message: &str) {
    assert!(!output.status.success(), "the run should fail");
    let err = stderr(output);
    assert!(
        err.contains(message),
        "stderr should say {message:?}: {err}"
    );
}

#[test]
fn a_run_that_fails_before_processing_leaves_the_old_outputs_untouched() {
    let (tmp, out) = with_good_outputs();
    let before = snapshot(&out);
    let dir = scenario();
    let missing = tmp.path().join("no-such-absences.jsonl");
    let config = dir.join("config");
    let badges = dir.join("badges.jsonl");
    let absences = dir.join("absences.jsonl");
    let now = "2026-05-19T07:00:00Z";
    let bad_config = root().join("tests/fixtures/config/invalid/many-problems");
    let cases: Vec<(&str, Command, &str)> = vec![
        (
            "second input missing",
            replay_with(&config, &missing, &badges, now, &out),
            "cannot read",
        ),
        (
            "second input is a directory",
            replay_with(&config, tmp.path(), &badges, now, &out),
            "is a directory, not a regular file or a pipe",
        ),
        (
            "badges are a device",
            replay_with(&config, &absences, Path::new("/dev/zero"), now, &out),
            "is a device",
        ),
        (
            "config invalid",
            replay_with(&bad_config, &absences, &badges, now, &out),
            "problem",
        ),
        (
            "--now invalid",
            replay_with(&config, &absences, &badges, "tomorrow", &out),
            "RFC 3339",
        ),
    ];
    for (case, mut cmd, message) in cases {
        let output = run(&mut cmd);
        assert!(!output.status.success(), "{case}: the run should fail");
        let err = format!(
            "{}{}",
            stderr(&output),
            String::from_utf8_lossy(&output.stdout)
        );
        assert!(
            err.contains(message),
            "{case}: output should say {message:?}: {err}"
        );
        assert_eq!(snapshot(&out), before, "{case}: --out changed");
    }
}

#[test]
fn out_that_is_a_file_is_refused_and_left_alone() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = tmp.path().join("out");
    std::fs::write(&out, "precious").unwrap_or_else(|e| panic!("{e}"));
    let output = run(&mut replay_cmd(
        &scenario().join("config"),
        &scenario().join("badges.jsonl"),
        &out,
    ));
    assert_refused(&output, "is not a directory");
    assert_eq!(std::fs::read(&out).unwrap_or_default(), b"precious");
}

#[test]
fn a_missing_out_is_created() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = tmp.path().join("a/b/out");
    let output = run(&mut replay_cmd(
        &scenario().join("config"),
        &scenario().join("badges.jsonl"),
        &out,
    ));
    assert!(output.status.success(), "{}", stderr(&output));
    let expected = snapshot(&scenario().join("expected"));
    assert_eq!(snapshot(&out), expected);
}

#[test]
fn an_input_inside_out_is_refused_however_it_is_reached() {
    let (tmp, out) = with_good_outputs();
    // Directly inside, deeper inside, through a symlink to a file inside, and through a
    // symlinked directory that is --out itself.
    let inside = out.join("badges.jsonl");
    std::fs::copy(scenario().join("badges.jsonl"), &inside).unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(out.join("sub")).unwrap_or_else(|e| panic!("{e}"));
    let deeper = out.join("sub/badges.jsonl");
    std::fs::copy(&inside, &deeper).unwrap_or_else(|e| panic!("{e}"));
    let link = tmp.path().join("link.jsonl");
    std::os::unix::fs::symlink(out.join("decisions.jsonl"), &link)
        .unwrap_or_else(|e| panic!("{e}"));
    let out_link = tmp.path().join("out-link");
    std::os::unix::fs::symlink(&out, &out_link).unwrap_or_else(|e| panic!("{e}"));
    let before = snapshot(&out);
    let config = scenario().join("config");
    let cases = [
        ("in out", inside.clone(), out.clone()),
        ("below out", deeper, out.clone()),
        ("symlink into out", link, out.clone()),
        ("out given as a symlink", inside.clone(), out_link.clone()),
        (
            "dotted path",
            out_link.join("sub/../badges.jsonl"),
            out.clone(),
        ),
    ];
    for (case, badges, out_arg) in cases {
        let output = run(&mut replay_cmd(&config, &badges, &out_arg));
        assert!(!output.status.success(), "{case}: should be refused");
        assert!(
            stderr(&output).contains("lies inside the output directory"),
            "{case}: {}",
            stderr(&output)
        );
        assert_eq!(snapshot(&out), before, "{case}: --out changed");
    }
}

#[test]
fn a_symlinked_output_is_replaced_and_its_target_never_written() {
    let (tmp, out) = with_good_outputs();
    let victim = tmp.path().join("victim.txt");
    std::fs::write(&victim, "do not overwrite").unwrap_or_else(|e| panic!("{e}"));
    let decisions = out.join("decisions.jsonl");
    std::fs::remove_file(&decisions).unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(&victim, &decisions).unwrap_or_else(|e| panic!("{e}"));
    let output = run(&mut replay_cmd(
        &scenario().join("config"),
        &scenario().join("badges.jsonl"),
        &out,
    ));
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        std::fs::read(&victim).unwrap_or_default(),
        b"do not overwrite"
    );
    let kind = std::fs::symlink_metadata(&decisions).unwrap_or_else(|e| panic!("{e}"));
    assert!(kind.file_type().is_file(), "the link is replaced by a file");
    assert_eq!(snapshot(&out), snapshot(&scenario().join("expected")));
}

#[test]
fn an_output_name_that_is_a_directory_is_refused_before_the_run() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = tmp.path().join("out");
    std::fs::create_dir_all(out.join("decisions.jsonl")).unwrap_or_else(|e| panic!("{e}"));
    let before = snapshot(&out);
    let output = run(&mut replay_cmd(
        &scenario().join("config"),
        &scenario().join("badges.jsonl"),
        &out,
    ));
    assert_refused(&output, "is a directory");
    assert_eq!(snapshot(&out), before);
}

#[test]
fn a_write_error_half_way_exits_non_zero_and_keeps_the_old_outputs() {
    let (tmp, out) = with_good_outputs();
    let before = snapshot(&out);
    // 20,000 malformed lines: ~4 MB of dead letters, far over the 256 KiB file-size limit.
    let badges = tmp.path().join("badges.jsonl");
    let mut text = std::fs::read(scenario().join("badges.jsonl")).unwrap_or_default();
    text.extend(b"{\"not\": json}\n".repeat(20_000));
    std::fs::write(&badges, text).unwrap_or_else(|e| panic!("{e}"));
    let inner = replay_cmd(&scenario().join("config"), &badges, &out);
    // RLIMIT_FSIZE makes a write past 256 KiB fail with EFBIG, as a full disk fails with
    // ENOSPC (SIGXFSZ ignored, so the write returns the error instead of killing us).
    let script = format!("trap '' XFSZ; ulimit -f 256; exec {}", shell_words(&inner));
    let output = run(Command::new("bash").args(["-c", &script]));
    assert_refused(&output, "cannot write");
    assert_eq!(
        snapshot(&out),
        before,
        "old outputs intact, no temporaries left"
    );
}

/// Peak resident set of a replay reading a 100 MB line, stated bound. The same replay
/// without the long lines peaks at ~27 MB (debug binary, 1 MiB read and 4 × 1 MiB write
/// buffers); reading the line whole took over 100 MB.
const PEAK_RSS_BOUND_KIB: u64 = 64 * 1024;

/// SHA-256 (hex) of a file, by coreutils (a debug build of sha2 is too slow for 100 MB).
fn sha256_of(path: &Path) -> String {
    let output = run(Command::new("sha256sum").arg(path));
    assert!(output.status.success(), "sha256sum: {}", stderr(&output));
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_100_mb_line_is_dead_lettered_in_bounded_memory_and_the_next_lines_are_read() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let badges = tmp.path().join("badges.jsonl");
    let (huge, tail) = (100 * 1024 * 1024, 3 * 1024 * 1024);
    let mut long_line = b"{\"event_id\":\"".to_vec();
    long_line.resize(huge, b'x');
    let long_path = tmp.path().join("long");
    let tail_path = tmp.path().join("tail");
    std::fs::write(&long_path, &long_line).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&tail_path, &long_line[..tail]).unwrap_or_else(|e| panic!("{e}"));
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(&badges).unwrap_or_else(|e| panic!("{e}")));
    let first = std::fs::read(scenario().join("badges.jsonl")).unwrap_or_default();
    assert!(first.ends_with(b"\n"));
    let first_lines = first.iter().filter(|b| **b == b'\n').count() as u64;
    let writes = [
        &first[..],
        &long_line,
        b"\r\n",
        b"{\"oops\"\n",
        &long_line[..tail], // the final line, without a newline
    ];
    for bytes in writes {
        file.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
    }
    file.flush().unwrap_or_else(|e| panic!("{e}"));
    drop(file);
    drop(long_line);
    let out = tmp.path().join("out");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-v").arg(bin());
    let inner = replay_cmd(&scenario().join("config"), &badges, &out);
    cmd.args(inner.get_args());
    let output = run(&mut cmd);
    assert!(output.status.success(), "{}", stderr(&output));
    let err = stderr(&output);
    let peak_kib: u64 = err
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no peak RSS in: {err}"));
    assert!(
        peak_kib < PEAK_RSS_BOUND_KIB,
        "peak RSS {peak_kib} KiB, bound {PEAK_RSS_BOUND_KIB} KiB"
    );

    let dead = std::fs::read_to_string(out.join("dead-letters.jsonl")).unwrap_or_default();
    let dead: Vec<serde_json::Value> = dead
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let at = |line: u64| {
        dead.iter()
            .find(|d| d["source"]["line"] == line)
            .unwrap_or_else(|| panic!("no dead letter for line {line}"))
    };
    let long_lines = [
        (first_lines + 1, huge, sha256_of(&long_path)),
        (first_lines + 3, tail, sha256_of(&tail_path)),
    ];
    for (line, len, digest) in long_lines {
        let d = at(line);
        assert_eq!(d["reason"], "too_large");
        assert_eq!(d["payload_truncated"], true);
        assert_eq!(d["payload_bytes"], len as u64);
        assert_eq!(d["payload_sha256"], digest.as_str());
        assert_eq!(
            d["payload"].as_str().map(str::len),
            Some(attendance_compliance::domain::output::DEAD_LETTER_PAYLOAD_MAX)
        );
        assert_eq!(
            d["detail"],
            format!("message is {len} bytes, the limit is 65536").as_str()
        );
    }
    assert_eq!(at(first_lines + 2)["reason"], "malformed_json");
    // The lines before the long ones were processed as usual.
    let expected = std::fs::read(scenario().join("expected/decisions.jsonl")).unwrap_or_default();
    assert_eq!(
        std::fs::read(out.join("decisions.jsonl")).unwrap_or_default(),
        expected
    );
    crate::helpers::validate_outputs(&out);
}

#[test]
fn a_pipe_is_an_input_like_a_file() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let out = tmp.path().join("out");
    let inner = replay_cmd(&scenario().join("config"), Path::new("/dev/stdin"), &out);
    let badges = scenario().join("badges.jsonl");
    let script = format!("cat '{}' | {}", badges.display(), shell_words(&inner));
    let output = run(Command::new("bash").args(["-c", &script]));
    assert!(output.status.success(), "{}", stderr(&output));
    // Same outputs as from the file, but for the dead letters' file name.
    let expected = snapshot(&scenario().join("expected"));
    for (name, content) in snapshot(&out) {
        let want = expected.get(&name).cloned().unwrap_or_default();
        let want = String::from_utf8_lossy(&want).replace("badges.jsonl", "stdin");
        assert_eq!(String::from_utf8_lossy(&content), want, "{name}");
    }
}
