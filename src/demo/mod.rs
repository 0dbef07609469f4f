//! `demo`: the whole live pipeline on librdkafka's embedded mock cluster, no external service.
//!
//! Generates a company (3,000 employees in several time zones, six weeks of badges with late,
//! duplicate and bad ones), produces it to the mock cluster, runs the same
//! [`crate::kafka::run_pipeline`] as `run` (transactions, changelog, idle advance) with the
//! processing clock set to "just after the last week closed", reads the four output topics
//! back and prints a summary. `/metrics` is served while it runs. It ends by simulating the
//! same company against `examples/alternative-policies.toml` (§9) and printing the path of
//! the report.
//!
//! The mock cluster is a demonstration vehicle, not a test of exactly-once: it keeps only the
//! last few MiB per partition (so outputs are read while they are produced) and does not
//! store committed offsets (completion is detected from the pipeline's own counters).

pub mod api;
pub mod outputs;
#[cfg(test)]
mod tests;

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{Datelike, Days, Utc};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

use crate::clock::FixedClock;
use crate::config::{Config, LogConfig, LogFormat};
use crate::domain::Timestamp;
use crate::generate::{self, GenerateOptions};
use crate::health::Health;
use crate::http::HttpServer;
use crate::kafka::context::LogContext;
use crate::kafka::{self, LiveOptions, Progress};
use crate::metrics::Metrics;

use outputs::{OutputReader, Summary};

/// Partitions of every demo topic.
const PARTITIONS: i32 = 4;
/// Employees in the generated company.
const EMPLOYEES: u32 = 3000;
/// Weeks of badges.
const WEEKS: u32 = 6;

/// Runs the demo.
pub fn run() -> anyhow::Result<()> {
    let started = Instant::now();
    let log = LogConfig {
        format: LogFormat::Text,
        level: std::env::var("ATTENDANCE_DEMO_LOG").unwrap_or_else(|_| "warn".into()),
    };
    let _ = crate::telemetry::init(&log);

    let dir = std::env::temp_dir().join(format!("attendance-demo-{}", std::process::id()));
    let result = run_in(&dir, started);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(dir: &std::path::Path, started: Instant) -> anyhow::Result<()> {
    let mut running = start(dir, EMPLOYEES, WEEKS)?;
    let summary = running.summary()?;
    summary.print(
        &running.generated,
        &running.progress,
        PARTITIONS,
        started.elapsed(),
    );

    // The same company, simulated against examples/alternative-policies.toml (SPEC §9).
    let report_dir = std::env::temp_dir().join("attendance-demo-report");
    let now = Timestamp::from_chrono(running.generated.now);
    let report = crate::simulate::report_for_generated(dir, now, &report_dir)?;
    println!("policy what-if report (simulate): {}", report.display());

    if std::io::stdin().is_terminal() {
        println!();
        println!(
            "The record API keeps answering until Ctrl-C ends the demo:\n  {}",
            running.api.curl
        );
        running
            .runtime
            .block_on(tokio::signal::ctrl_c())
            .context("while waiting for Ctrl-C")?;
    }
    running.stop()
}

/// The demo's record API: what the printed curl command reads, and the command.
#[derive(Debug, Clone)]
pub struct DemoApi {
    /// Where it listens (a free loopback port).
    pub addr: std::net::SocketAddr,
    /// Who the command reads, and as whom.
    pub caller: api::Caller,
    /// The one curl command, with its token.
    pub curl: String,
}

/// A demo whose input has been processed; the pipeline and both listeners still run.
pub struct Running {
    /// The generated company.
    pub generated: generate::GenerateSummary,
    /// The pipeline's counters.
    pub progress: Arc<Progress>,
    /// The record API.
    pub api: DemoApi,
    reader: Option<OutputReader>,
    /// Keeps the record API's instance directory current while the demo runs.
    _directory: kafka::instances::DirectoryReader,
    runtime: tokio::runtime::Runtime,
    http_stop: tokio_util::sync::CancellationToken,
    stop: Arc<AtomicBool>,
    pipeline: std::thread::JoinHandle<Result<(), kafka::pipeline::PipelineError>>,
    cluster: MockCluster<'static, rdkafka::producer::DefaultProducerContext>,
}

impl Running {
    /// What the output topics hold so far (the reader stops: once only).
    pub fn summary(&mut self) -> anyhow::Result<Summary> {
        self.reader
            .take()
            .context("the demo's summary was already read")?
            .finish()
    }

    /// Stops the pipeline (its transaction commits), then the listeners and the cluster.
    pub fn stop(self) -> anyhow::Result<()> {
        let Self {
            runtime,
            http_stop,
            stop,
            pipeline,
            cluster,
            ..
        } = self;
        stop.store(true, Ordering::Relaxed);
        let result = pipeline
            .join()
            .map_err(|_| anyhow::anyhow!("the pipeline thread panicked"))?
            .context("while running the live pipeline");
        http_stop.cancel();
        runtime.shutdown_timeout(Duration::from_secs(1));
        drop(cluster);
        result
    }
}

/// Generates a company of `employees` and `weeks` into `dir`, starts the mock cluster, the
/// metrics listener, the record API and the pipeline, prints the curl command, produces the
/// input and returns once it has been processed.
pub fn start(dir: &std::path::Path, employees: u32, weeks: u32) -> anyhow::Result<Running> {
    let today = Utc::now().date_naive();
    let this_monday = today - Days::new(u64::from(today.weekday().num_days_from_monday()));
    let options = GenerateOptions {
        employees,
        weeks,
        start_monday: this_monday - Days::new(7 * u64::from(weeks)),
        ..GenerateOptions::default()
    };
    println!(
        "attendance-compliance demo: generating {employees} employees, {weeks} weeks of badges \
         from {} ...",
        options.start_monday
    );
    let generated = generate::generate(&options, dir).context("while generating the company")?;

    let cluster = MockCluster::new(1).context("while starting the mock Kafka cluster")?;
    let mut config = Config::load(&dir.join("config"))
        .map_err(|e| anyhow::anyhow!("generated configuration is invalid:\n{e}"))?
        .config;
    config.processor.kafka.brokers = cluster.bootstrap_servers();
    config.processor.kafka.group_id = "attendance-demo".into();
    // The feed ends, then the idle advance closes the last week (the clock is "now").
    config.processor.time.idle_advance_after = Duration::from_secs(2);
    config.processor.api = api::settings(dir)?;
    let access_log = config.processor.api.access_log_topic.clone();
    for topic in config
        .processor
        .topics
        .named()
        .into_iter()
        .map(|(_, topic)| topic)
        .chain([access_log.as_str()])
    {
        cluster
            .create_topic(topic, PARTITIONS, 1)
            .with_context(|| format!("while creating topic {topic}"))?;
    }
    let config = Arc::new(config);

    let metrics = Arc::new(Metrics::new());
    let health = Health::new();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let http_stop = tokio_util::sync::CancellationToken::new();
    let server = runtime
        .block_on(HttpServer::bind(config.processor.http.listen))
        .or_else(|_| runtime.block_on(HttpServer::bind(([127, 0, 0, 1], 0).into())))
        .context("while binding the metrics listener")?;
    let mut shown = server.local_addr();
    if shown.ip().is_unspecified() {
        shown.set_ip([127, 0, 0, 1].into());
    }
    let metrics_url = format!("http://{shown}/metrics");
    {
        let (metrics, health, token) = (metrics.clone(), health.clone(), http_stop.clone());
        runtime.spawn(async move {
            let _ = server
                .serve(metrics, health, async move { token.cancelled().await })
                .await;
        });
    }
    println!("metrics and health served at {metrics_url} (and /readyz) while the demo runs");

    let clock: Arc<dyn crate::clock::Clock> =
        Arc::new(FixedClock(Timestamp::from_chrono(generated.now)));
    let listen = config
        .processor
        .api
        .listen
        .context("the demo's API has no address")?;
    let crate::service::Api {
        requests,
        bound: addr,
        announcer,
        reader: directory,
    } = crate::service::start_api(&config, listen, &runtime, (&metrics, &clock), &http_stop)
        .context("while starting the record API")?;
    let roster = std::fs::read_to_string(dir.join("roster.jsonl"))
        .context("while reading the generated roster")?;
    let caller = api::pick_caller(&roster, &options.start_monday.to_string())
        .context("the generated roster is empty")?;
    let token = api::token(&config.processor.api, &caller)?;
    let curl = api::curl(addr, &token, &caller.employee_id);
    let whom = if caller.hr {
        format!("an HR caller ({})", caller.sub)
    } else {
        format!("their manager {}", caller.sub)
    };
    println!(
        "record API (SPEC §10) at http://{addr} while the demo runs; the record of {}, read \
         as {whom} (random demo secret, token valid {} h):\n  {curl}",
        caller.employee_id,
        api::TOKEN_LIFETIME.as_secs() / 3600
    );

    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Progress::default());
    let options = LiveOptions {
        config: config.clone(),
        clock,
        metrics,
        health,
        stop: stop.clone(),
        progress: progress.clone(),
        records: Some(requests),
        announcer: Some(announcer),
    };
    let pipeline = std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || kafka::run_pipeline(options))?;
    let reader = OutputReader::start(&config)?;

    let feed_started = Instant::now();
    let produced = produce(&config, dir)?;
    println!(
        "produced {produced} input messages to the mock cluster in {:.1}s; processing ...",
        feed_started.elapsed().as_secs_f64()
    );
    wait_until_done(&progress, produced, &pipeline)?;
    Ok(Running {
        generated,
        progress,
        api: DemoApi { addr, caller, curl },
        reader: Some(reader),
        _directory: directory,
        runtime,
        http_stop,
        stop,
        pipeline,
        cluster,
    })
}

/// Produces roster, absences, site outages, adjustments, then badges (replay's order), keyed
/// by employee_id (outages by outage_id). `generate` may not write outages or adjustments:
/// a file that is not there is skipped.
fn produce(config: &Config, dir: &std::path::Path) -> anyhow::Result<u64> {
    let producer: ThreadedProducer<LogContext> = ClientConfig::new()
        .set("bootstrap.servers", &config.processor.kafka.brokers)
        .set("linger.ms", "5")
        .set("queue.buffering.max.messages", "1000000")
        .create_with_context(LogContext::default())
        .context("while creating the demo producer")?;
    let topics = &config.processor.topics;
    let mut count = 0;
    for (file, topic) in [
        ("roster.jsonl", &topics.roster),
        ("absences.jsonl", &topics.absences),
        ("outages.jsonl", &topics.outages),
        ("adjustments.jsonl", &topics.adjustments),
        ("badges.jsonl", &topics.badges),
    ] {
        let optional = matches!(file, "outages.jsonl" | "adjustments.jsonl");
        if optional && !dir.join(file).exists() {
            continue;
        }
        let data =
            std::fs::read(dir.join(file)).with_context(|| format!("while reading {file}"))?;
        let key_field = if file == "outages.jsonl" {
            "outage_id"
        } else {
            "employee_id"
        };
        for line in data.split(|b| *b == b'\n') {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let key = key_of(line, key_field);
            let mut record = BaseRecord::<[u8], [u8]>::to(topic).payload(line);
            if let Some(key) = &key {
                record = record.key(key.as_bytes());
            }
            let mut record = Some(record);
            while let Some(r) = record.take() {
                if let Err((e, back)) = producer.send(r) {
                    if !matches!(
                        e,
                        rdkafka::error::KafkaError::MessageProduction(
                            rdkafka::types::RDKafkaErrorCode::QueueFull
                        )
                    ) {
                        return Err(e).context("while producing the demo input");
                    }
                    std::thread::sleep(Duration::from_millis(5));
                    record = Some(back);
                }
            }
            count += 1;
        }
        // Tables before badges.
        producer
            .flush(Duration::from_secs(30))
            .context("while flushing the demo input")?;
    }
    Ok(count)
}

/// The string `field` (employee_id, outage_id) of an input line, when it has one.
fn key_of(line: &[u8], field: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(line).ok()?;
    value.get(field)?.as_str().map(str::to_owned)
}

/// Waits until every input committed and the outputs stopped growing (the idle advance
/// closes the last week a few seconds after the feed ends).
fn wait_until_done(
    progress: &Progress,
    produced: u64,
    pipeline: &std::thread::JoinHandle<Result<(), kafka::pipeline::PipelineError>>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last = (0, Instant::now());
    loop {
        anyhow::ensure!(!pipeline.is_finished(), "the pipeline stopped early");
        anyhow::ensure!(
            Instant::now() < deadline,
            "the demo did not finish in 120 s"
        );
        let inputs = progress.inputs.load(Ordering::Relaxed);
        let outputs = progress.outputs.load(Ordering::Relaxed);
        if outputs != last.0 {
            last = (outputs, Instant::now());
        }
        if inputs >= produced && last.1.elapsed() >= Duration::from_secs(4) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
