//! A real Prometheus (the Debian `prometheus` binary) on 127.0.0.1 with a temporary storage
//! directory scrapes a live `/metrics` endpoint every second and evaluates the project's
//! rules (deploy/prometheus/rules.yml, intervals shortened to 1s). Then every Grafana
//! dashboard query and every recording rule is evaluated through `/api/v1/query` and must
//! return data, every rule must be healthy (`/api/v1/rules`), and `promtool check metrics`
//! must accept a live scrape.
//!
//! Targets:
//! - `real_processor_*`: the `attendance-compliance run` binary against the real broker of
//!   `KAFKA_BROKERS` (scripts/test.sh provides it; skipped without it unless
//!   `REQUIRE_KAFKA=1`), fed a generated company with kcat;
//! - `in_process_*`: the crate's HTTP server in this process, with metrics from the
//!   basic-week scenario driven through the processor plus one call of every shell helper
//!   (transactions, restore, lag): checks the harness, the rules and the dashboard without a
//!   broker.
//!
//! Synchronisation is by polling with deadlines, never by fixed sleeps.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use attendance_compliance::domain::Timestamp;
use attendance_compliance::health::Health;
use attendance_compliance::http::HttpServer;
use attendance_compliance::metrics::{InputTopic, Metrics, RebalanceKind};
use attendance_compliance::processor::Outcome;

use crate::helpers::{drive_basic_week, root, run_tool};

/// A free loopback port (bound and released; the caller binds it right away).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// GET `path` over HTTP/1.0 (no chunked encoding); returns (status, body).
fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok((status, body.to_owned()))
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Polls `probe` until it returns `Some`, at most `limit`; panics with `what` otherwise.
fn poll<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A Prometheus server, stopped (SIGTERM, bounded wait, then SIGKILL) when dropped.
struct Prometheus {
    child: Child,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` every second with the project's rules.
    fn start(target: SocketAddr) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let rules = std::fs::read_to_string(root().join("deploy/prometheus/rules.yml"))
            .expect("deploy/prometheus/rules.yml")
            .replace("interval: 30s", "interval: 1s");
        let rules_path = dir.path().join("rules.yml");
        std::fs::write(&rules_path, rules).expect("write rules");
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
             rule_files:\n  - {}\n\
             scrape_configs:\n  - job_name: attendance-compliance\n    static_configs:\n      - targets: ['{target}']\n",
            rules_path.display()
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        for _attempt in 0..3 {
            let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
            let child = Command::new("prometheus")
                .arg(format!("--config.file={}", config_path.display()))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("data").display()
                ))
                .arg(format!("--web.listen-address={addr}"))
                .arg("--storage.tsdb.retention.time=1h")
                .stdout(Stdio::null())
                .stderr(log.try_clone().expect("log"))
                .spawn()
                .expect("prometheus runs (Debian package `prometheus`, scripts/install-tools.sh)");
            let mut server = Self {
                child,
                addr,
                _dir: tempfile::tempdir().expect("placeholder"),
            };
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = server.child.try_wait() {
                    break; // exited: port taken? try another
                }
                if matches!(http_get(addr, "/-/ready"), Ok((200, _))) {
                    server._dir = dir;
                    return server;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            drop(server);
        }
        let log = std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
        panic!("prometheus did not become ready:\n{log}");
    }

    /// `/api/v1/query?query=expr`; panics unless the API answers `success`.
    fn query(&self, expr: &str) -> Vec<serde_json::Value> {
        let path = format!("/api/v1/query?query={}", percent_encode(expr));
        let (status, body) = http_get(self.addr, &path).expect("query prometheus");
        let value: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("prometheus answered {status} with non-JSON ({e}): {body}"));
        assert_eq!(value["status"], "success", "query {expr}: {body}");
        value["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    fn rules(&self) -> serde_json::Value {
        let (_, body) = http_get(self.addr, "/api/v1/rules").expect("rules");
        serde_json::from_str(&body).expect("rules JSON")
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every `expr` of the Grafana dashboard, its `job`, `namespace` and `instance` variables at
/// Grafana's "All" (`.*`).
fn dashboard_queries() -> Vec<String> {
    let text = std::fs::read_to_string(
        root().join("deploy/grafana/dashboards/attendance-compliance.json"),
    )
    .expect("dashboard JSON");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("dashboard is JSON");
    let queries: Vec<String> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(str::to_owned))
        .map(|e| {
            ["$job", "$namespace", "$instance"]
                .iter()
                .fold(e, |e, variable| e.replace(variable, ".*"))
        })
        .collect();
    assert!(queries.len() >= 20, "dashboard queries: {queries:?}");
    queries
}

/// Every recording rule name of deploy/prometheus/rules.yml.
fn recording_rules() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("deploy/prometheus/rules.yml")).expect("rules");
    let names: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record: "))
        .map(|n| n.trim().to_owned())
        .collect();
    assert!(names.len() >= 8, "recording rules: {names:?}");
    names
}

/// Waits until Prometheus has scraped `target` at least three times, successfully.
fn wait_for_scrapes(prometheus: &Prometheus, what: &str) {
    poll(
        &format!("{what}: three scrapes"),
        Duration::from_secs(120),
        || {
            let r = prometheus.query("sum_over_time(up{job=\"attendance-compliance\"}[1m])");
            let n = r.first()?["value"][1].as_str()?.parse::<f64>().ok()?;
            (n >= 3.0).then_some(())
        },
    );
}

/// Metrics `run` may legitimately not serve yet: queries over them would be reported, not
/// failed. Empty: `run` serves every metric the dashboard and rules query (consumer lag,
/// event-to-emit latency and week-close duration included), so any missing data fails.
const PENDING_IN_RUN: &[&str] = &[];

/// The checks every live target must pass, once traffic has flowed while `prometheus`
/// scraped it. Queries mentioning a name in `pending` may be empty (reported on stderr).
fn check_everything_against(
    prometheus: &Prometheus,
    target: SocketAddr,
    what: &str,
    pending: &[&str],
) {
    // promtool check metrics on a live scrape.
    let (status, scrape) = http_get(target, "/metrics").expect("scrape the target");
    assert_eq!(status, 200, "{what}: /metrics");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("scrape.txt");
    std::fs::write(&file, &scrape).expect("write scrape");
    let (ok, out) = run_tool(
        "sh",
        &[
            "-c",
            &format!("promtool check metrics < '{}'", file.display()),
        ],
        &root(),
    );
    assert!(
        ok,
        "{what}: promtool check metrics on a live scrape:\n{out}"
    );

    wait_for_scrapes(prometheus, what);
    let up = prometheus.query("up{job=\"attendance-compliance\"}");
    assert_eq!(up[0]["value"][1], "1", "{what}: target up");

    let mut queries = dashboard_queries();
    queries.extend(recording_rules());
    let mut missing: Vec<String> = Vec::new();
    for expr in &queries {
        // Recording rules need an evaluation after two scrapes: poll each a while.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            // Data = at least one sample that is a number (a histogram quantile over
            // buckets that never moved is NaN: the helper is never called).
            let has_data = prometheus
                .query(expr)
                .iter()
                .any(|sample| sample["value"][1].as_str().is_some_and(|v| v != "NaN"));
            if has_data {
                break;
            }
            if Instant::now() >= deadline {
                missing.push(expr.clone());
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    let (tolerated, missing): (Vec<String>, Vec<String>) = missing
        .into_iter()
        .partition(|expr| pending.iter().any(|name| expr.contains(name)));
    for name in pending {
        let still = tolerated.iter().any(|expr| expr.contains(name));
        eprintln!(
            "{what}: pending metric {name}: {}",
            if still {
                "no data yet (not emitted)"
            } else {
                "served now: remove it from PENDING_IN_RUN"
            }
        );
    }
    assert!(
        missing.is_empty(),
        "{what}: these dashboard queries / recording rules returned no data (or only NaN):\n  {}",
        missing.join("\n  ")
    );

    // Every rule, alerts included, evaluates without error.
    let rules = poll("rule evaluation", Duration::from_secs(30), || {
        let rules = prometheus.rules();
        let all: Vec<serde_json::Value> = rules["data"]["groups"]
            .as_array()?
            .iter()
            .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
            .collect();
        all.iter().all(|r| r["health"] != "unknown").then_some(all)
    });
    for rule in &rules {
        assert_eq!(
            rule["health"], "ok",
            "{what}: rule {} is unhealthy: {}",
            rule["name"], rule["lastError"]
        );
    }
}

#[test]
fn in_process_endpoint_scraped_by_a_real_prometheus_answers_every_query() {
    let metrics = Arc::new(Metrics::new());
    metrics.restore_started();
    metrics.restore_finished(Duration::from_millis(800), 1234);
    metrics.record_rebalance(RebalanceKind::Assign);
    drive_basic_week(&metrics);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let server = runtime
        .block_on(HttpServer::bind("127.0.0.1:0".parse().expect("addr")))
        .expect("bind");
    let target = server.local_addr();
    let health = Health::new();
    health.set_ready();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let served = runtime.spawn(server.serve(metrics.clone(), health, async {
        let _ = stopped.await;
    }));
    let prometheus = Prometheus::start(target);
    // A stand-in for the Kafka shell: one batch every 100 ms calling every helper, so that
    // counters and histograms move while Prometheus scrapes (rates need two samples).
    let shell = runtime.spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_millis(100));
        loop {
            ticks.tick().await;
            metrics.set_consumer_lag(InputTopic::Badges, 0, 42);
            metrics.observe_transaction(Duration::from_millis(12), true);
            metrics.observe_batch(Duration::from_millis(15), 250);
            metrics.record_changelog_writes(7);
            metrics.observe_week_close(Duration::from_millis(3));
            let now = Timestamp::from_chrono(chrono::Utc::now());
            metrics.observe_event_to_emit(now.add_seconds(-2), now);
            metrics.record_input(InputTopic::Badges, Outcome::Applied);
        }
    });

    check_everything_against(&prometheus, target, "in-process endpoint", &[]);

    shell.abort();
    let _ = stop.send(());
    runtime
        .block_on(served)
        .expect("join")
        .expect("served without error");
}

/// The broker, or `None` to skip (`KAFKA_BROKERS` unset and `REQUIRE_KAFKA` not `1`).
fn brokers() -> Option<String> {
    match std::env::var("KAFKA_BROKERS") {
        Ok(b) if !b.is_empty() => Some(b),
        _ => {
            assert!(
                std::env::var("REQUIRE_KAFKA").as_deref() != Ok("1"),
                "REQUIRE_KAFKA=1 but KAFKA_BROKERS is not set (scripts/test.sh provides it)"
            );
            eprintln!("skipped: KAFKA_BROKERS not set");
            None
        }
    }
}

fn binary() -> PathBuf {
    match std::env::var("ATTENDANCE_BIN") {
        Ok(bin) if !bin.is_empty() => PathBuf::from(bin),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_attendance-compliance")),
    }
}

/// `key\tvalue` lines for kcat -K '\t', keyed by employee_id.
fn keyed(file: &Path) -> String {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let key = serde_json::from_str::<serde_json::Value>(line)
            .ok()
            .and_then(|v| v["employee_id"].as_str().map(str::to_owned))
            .unwrap_or_else(|| "unkeyed".to_owned());
        if key.contains('\t') || line.contains('\t') {
            continue;
        }
        out.push_str(&key);
        out.push('\t');
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn produce(brokers: &str, topic: &str, lines: &str) {
    let mut child = Command::new("kcat")
        .args(["-b", brokers, "-t", topic, "-P", "-K", "\t", "-p", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kcat (scripts/install-tools.sh)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(lines.as_bytes())
        .expect("write to kcat");
    let out = child.wait_with_output().expect("kcat");
    assert!(
        out.status.success(),
        "kcat produce to {topic}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The `run` child process, stopped with SIGTERM (bounded) when dropped.
struct Processor {
    child: Child,
    log: PathBuf,
}

impl Drop for Processor {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn real_processor_on_the_broker_scraped_by_a_real_prometheus_answers_every_query() {
    let Some(brokers) = brokers() else { return };
    let work = tempfile::tempdir().expect("tempdir");
    let company = work.path().join("company");
    // A small company, weeks in the past: with a short idle advance every week closes.
    let (ok, out) = run_tool(
        binary().to_str().expect("utf-8 path"),
        &[
            "generate",
            "--out",
            company.to_str().expect("utf-8"),
            "--employees",
            "300",
            "--weeks",
            "3",
        ],
        &root(),
    );
    assert!(ok, "generate: {out}");

    let run_id = format!(
        "obs-{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    let settings = [
        "badges",
        "roster",
        "absences",
        "outages",
        "adjustments",
        "decisions",
        "changes",
        "alerts",
        "dead_letters",
        "changelog",
    ];
    let topic = |setting: &str| format!("{run_id}-{setting}");
    for setting in settings {
        let mut args = vec!["create-topic".to_owned(), topic(setting), "1".to_owned()];
        if setting == "changelog" || setting == "roster" || setting == "outages" {
            args.push("cleanup.policy=compact".to_owned());
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out) = run_tool("scripts/kafka-broker.sh", &args, &root());
        assert!(ok, "create topic {setting}: {out}");
    }
    produce(
        &brokers,
        &topic("roster"),
        &keyed(&company.join("roster.jsonl")),
    );
    produce(
        &brokers,
        &topic("absences"),
        &keyed(&company.join("absences.jsonl")),
    );

    let port = free_port();
    let target: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let log = work.path().join("processor.log");
    let mut command = Command::new(binary());
    command
        .args(["run", "--config"])
        .arg(company.join("config"));
    for (name, _) in std::env::vars() {
        if name.to_ascii_uppercase().starts_with("ATTENDANCE__") {
            command.env_remove(name);
        }
    }
    command
        .env("ATTENDANCE__KAFKA__BROKERS", &brokers)
        .env("ATTENDANCE__KAFKA__GROUP_ID", &run_id)
        .env("ATTENDANCE__KAFKA__TRANSACTIONAL_ID_PREFIX", &run_id)
        .env("ATTENDANCE__HTTP__LISTEN", target.to_string())
        .env("ATTENDANCE__LOG__FORMAT", "json")
        .env("ATTENDANCE__TIME__IDLE_ADVANCE_AFTER", "1s");
    for setting in settings {
        command.env(
            format!("ATTENDANCE__TOPICS__{}", setting.to_ascii_uppercase()),
            topic(setting),
        );
    }
    let child = command
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log"))
        .spawn()
        .expect("spawn attendance-compliance run");
    let mut processor = Processor { child, log };
    let log_text = |p: &Processor| std::fs::read_to_string(&p.log).unwrap_or_default();

    // Ready (restored and consuming), then every badge consumed and decisions emitted.
    poll("the processor's /readyz", Duration::from_secs(120), || {
        if let Ok(Some(status)) = processor.child.try_wait() {
            panic!("run exited with {status}:\n{}", log_text(&processor));
        }
        matches!(http_get(target, "/readyz"), Ok((200, _))).then_some(())
    });
    // Prometheus scrapes before the badges arrive, so it sees every counter move.
    let prometheus = Prometheus::start(target);
    wait_for_scrapes(&prometheus, "attendance-compliance run");
    produce(
        &brokers,
        &topic("badges"),
        &keyed(&company.join("badges.jsonl")),
    );
    poll("decisions in /metrics", Duration::from_secs(180), || {
        let (_, text) = http_get(target, "/metrics").ok()?;
        let decided = text.lines().any(|l| {
            l.starts_with("attendance_output_records_total{")
                && l.contains("kind=\"decision\"")
                && !l.ends_with(" 0")
        });
        decided.then_some(())
    });
    check_everything_against(
        &prometheus,
        target,
        "attendance-compliance run",
        PENDING_IN_RUN,
    );
    let _ = &mut processor;
}
