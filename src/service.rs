//! `run`: the live Kafka service. Serves `/metrics`, `/healthz` and `/readyz`, waits for the
//! brokers (`kafka.startup_timeout`), checks its ACLs, runs [`crate::kafka::run_pipeline`] on
//! its own thread, and on SIGTERM or Ctrl-C asks it to stop: the open transaction commits (or
//! aborts when it cannot), the consumer leaves the group, the process exits 0. A signal during
//! the start-up wait or checks ends them at once (exit 0, nothing consumed). `main` loads the
//! configuration and sets up logging first, so that every error of `run` is logged in the
//! configured format.
//!
//! The async runtime only serves HTTP and waits for signals; every Kafka call, several of
//! which block, runs on the pipeline thread.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, WallClock};
use crate::config::Config;
use crate::health::Health;
use crate::http::HttpServer;
use crate::kafka::{self, LiveOptions};
use crate::metrics::Metrics;

/// Runs the live service with `config` (loaded and validated, logging set up by the caller)
/// until SIGTERM or Ctrl-C.
///
/// Start-up order: the HTTP listener (`/healthz` answers, `/readyz` says `starting`) and the
/// signal handlers first; then the wait for the brokers (`kafka.startup_timeout`, every
/// connection failure logged) and the access checks, both ended by a signal (then `Ok`: the
/// process exits 0 having consumed nothing); then the record API and the pipeline.
pub fn run(config: Config) -> anyhow::Result<()> {
    let config = Arc::new(config);
    let clock: Arc<dyn Clock> = Arc::new(WallClock);
    let metrics = Arc::new(Metrics::new());
    let health = Health::new();
    let stop = Arc::new(AtomicBool::new(false));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("http")
        .enable_all()
        .build()
        .context("while starting the async runtime")?;
    let http_stop = CancellationToken::new();
    let server = runtime
        .block_on(HttpServer::bind(config.processor.http.listen))
        .with_context(|| format!("while binding http.listen {}", config.processor.http.listen))?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        revision = crate::cli::GIT_REVISION,
        librdkafka = rdkafka::util::get_rdkafka_version().1,
        listen = %server.local_addr(),
        "attendance-compliance starting (/metrics, /healthz, /readyz)"
    );
    {
        let (metrics, health, token) = (metrics.clone(), health.clone(), http_stop.clone());
        runtime.spawn(async move {
            if let Err(e) = server
                .serve(metrics, health, async move { token.cancelled().await })
                .await
            {
                tracing::error!(error = %e, "http server failed");
            }
        });
    }
    let result = listen_for_signals(&runtime, stop.clone(), health.clone()).and_then(|()| {
        let live = Live {
            config,
            clock,
            metrics,
            health,
            stop,
        };
        start_and_serve(live, &runtime, &http_stop)
    });
    http_stop.cancel();
    runtime.shutdown_timeout(Duration::from_secs(2));
    result
}

/// What `run` has set up before it talks to Kafka.
struct Live {
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    metrics: Arc<Metrics>,
    health: Health,
    stop: Arc<AtomicBool>,
}

/// The brokers, the access checks, the record API, the pipeline: everything of `run` after
/// the HTTP listener and the signal handlers are up.
fn start_and_serve(
    live: Live,
    runtime: &tokio::runtime::Runtime,
    http_stop: &CancellationToken,
) -> anyhow::Result<()> {
    let Live {
        config,
        clock,
        metrics,
        health,
        stop,
    } = live;
    // Fail fast, naming the missing ACL, before anything is consumed (the demo's mock
    // cluster has no ACLs and skips this).
    let api = &config.processor.api;
    let checked = kafka::startup::wait_for_brokers(&config.processor.kafka, &stop).and_then(|()| {
        kafka::access::check(
            &config.processor.kafka,
            &config.processor.topics,
            api.listen.map(|_| api.access_log_topic.as_str()),
            &stop,
        )
    });
    match checked {
        Ok(()) => {}
        Err(kafka::access::AccessError::Stopped) => {
            tracing::info!("stopped during start-up: nothing was consumed");
            return Ok(());
        }
        Err(e @ kafka::access::AccessError::Unreachable { .. }) => return Err(e.into()),
        Err(e) => return Err(e).context("while checking the service's Kafka access"),
    }
    let api = match config.processor.api.listen {
        Some(addr) => Some(start_api(
            &config,
            addr,
            runtime,
            (&metrics, &clock),
            http_stop,
        )?),
        None => None,
    };
    if stop.load(Ordering::Relaxed) {
        // Signalled while the record API started: nothing consumed, no partition owned, so
        // no directory entry to withdraw either (it is written on assignment).
        tracing::info!("stopped during start-up: nothing was consumed");
        return Ok(());
    }

    let (records, announcer, directory_reader) = match api {
        Some(api) => (Some(api.requests), Some(api.announcer), Some(api.reader)),
        None => (None, None, None),
    };
    let options = LiveOptions {
        config,
        clock,
        metrics,
        health,
        stop,
        progress: Arc::default(),
        records,
        announcer: announcer.clone(),
    };
    let pipeline = std::thread::Builder::new()
        .name("pipeline".into())
        .spawn(move || kafka::run_pipeline(options))
        .context("while starting the pipeline thread")?;
    let result = pipeline
        .join()
        .map_err(|_| anyhow::anyhow!("the pipeline thread panicked"))?;
    // This instance serves nothing any more: other instances stop forwarding to it.
    if let Some(announcer) = announcer {
        announcer.withdraw();
    }
    drop(directory_reader);
    result.context("while running the live pipeline")
}

/// Largest JWKS file read, in bytes.
const MAX_JWKS_BYTES: u64 = 1 << 20;

/// What the pipeline and the shutdown need of the record API.
pub(crate) struct Api {
    /// The pipeline's end of the request channel.
    pub(crate) requests: crate::api::requests::Requests,
    /// The address bound.
    pub(crate) bound: std::net::SocketAddr,
    /// Writes this instance's entry in the instance directory.
    pub(crate) announcer: Arc<kafka::instances::Announcer>,
    /// Keeps the directory current until dropped.
    pub(crate) reader: kafka::instances::DirectoryReader,
}

/// Binds `addr` and serves the record API (SPEC §10) with the `[api]` settings of `config`
/// (over TLS when the certificate and key are set) until `stop` is cancelled, with the
/// instance directory read and forwarding to other instances (SPEC §10 "Routing"). `run`
/// and the demo use it.
pub(crate) fn start_api(
    config: &Config,
    addr: std::net::SocketAddr,
    runtime: &tokio::runtime::Runtime,
    (metrics, clock): (&Arc<Metrics>, &Arc<dyn Clock>),
    stop: &CancellationToken,
) -> anyhow::Result<Api> {
    let api = &config.processor.api;
    let jwks = match &api.jwks_file {
        Some(path) => {
            let mut text = String::new();
            std::io::Read::read_to_string(
                &mut std::io::Read::take(
                    std::fs::File::open(path)
                        .with_context(|| format!("while reading {}", path.display()))?,
                    MAX_JWKS_BYTES,
                ),
                &mut text,
            )
            .with_context(|| format!("while reading {}", path.display()))?;
            Some(text)
        }
        None => None,
    };
    let secret = api
        .hs256_secret_file
        .as_ref()
        .map(|s| s.secret.expose().as_bytes());
    let verifier = crate::api::Verifier::new(&api.audience, jwks.as_deref(), secret)
        .map_err(|e| anyhow::anyhow!("api settings: {e}"))?;
    let tls = match (&api.tls_cert_file, &api.tls_key_file) {
        (Some(cert), Some(key)) => {
            let identity = crate::config::tls::TlsIdentity::read(cert, key)
                .map_err(|problem| anyhow::anyhow!("{problem}"))
                .context("while reading the record API's TLS certificate and key")?;
            if let Some(warning) = identity.validity_warning() {
                tracing::warn!("api.tls_cert_file: {warning}");
            }
            Some(
                crate::http::tls::TlsAcceptor::new(&identity)
                    .map_err(|e| anyhow::anyhow!("api.tls_cert_file, api.tls_key_file: {e}"))?,
            )
        }
        _ => None,
    };
    // What an https owner's certificate must chain to (docs/SECURITY.md).
    let trust = crate::config::tls::ForwardTrust::read(
        api.forward_ca_file.as_deref(),
        api.tls_cert_file.as_deref(),
    )
    .map_err(|problem| anyhow::anyhow!("{problem}"))
    .context("while reading the certificates trusted when forwarding")?;
    let tls_client = crate::http::tls::TlsConnector::new(&trust)
        .map_err(|e| anyhow::anyhow!("api.forward_ca_file: {e}"))?;
    let tls_only = tls.is_some();
    let (requester, requests) = crate::api::requests::channel();
    let mut server = runtime
        .block_on(HttpServer::bind(addr))
        .with_context(|| format!("while binding api.listen {addr}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    if let Some(acceptor) = tls {
        server = server.with_tls(acceptor);
    }
    let bound = server.local_addr();
    tracing::info!(listen = %bound, scheme, "record API listening (SPEC §10)");
    let access_log = kafka::access_log::AccessLog::new(config, Duration::from_secs(30))
        .context("while starting the record API's audit producer")?;
    let instance = kafka::clients::instance_id(&config.processor.kafka);
    let audit = crate::http::api::Audit::new(Arc::new(access_log), instance.clone(), clock.clone());
    // Validation guarantees an advertised URL whenever api.listen is set.
    let api_url = api
        .advertised_url()
        .context("api.advertise_url is required when api.listen has no specific IP")?;
    let directory = Arc::new(std::sync::RwLock::new(crate::api::Directory::new(
        &instance,
    )));
    let reader = kafka::instances::DirectoryReader::start(config, directory.clone())
        .context("while starting the instance directory reader")?;
    let announcer = Arc::new(
        kafka::instances::Announcer::new(config, instance.clone(), api_url.clone(), clock.clone())
            .context("while starting the instance directory producer")?,
    );
    tracing::info!(%instance, %api_url, "record API routing: instance directory read");
    let routing = crate::http::api::Routing {
        directory,
        forwarder: crate::http::forward::Forwarder::new(&instance, tls_client, tls_only),
    };
    let app = crate::http::api::router(
        Arc::new(verifier),
        requester,
        metrics.clone(),
        Arc::new(audit),
        Some(Arc::new(routing)),
    );
    // The API listener's connection gauges stay out of the exported registry: they would
    // overwrite the metrics listener's (the request counter is exported).
    let connections = Arc::new(Metrics::new());
    let token = stop.clone();
    runtime.spawn(async move {
        if let Err(e) = server
            .serve_router(app, connections, async move { token.cancelled().await })
            .await
        {
            tracing::error!(error = %e, "record API server failed");
        }
    });
    Ok(Api {
        requests,
        bound,
        announcer,
        reader,
    })
}

/// Sets `stop` on the first SIGTERM or Ctrl-C (SIGINT). The handlers are installed before
/// this returns, so a signal sent once the start-up log line is out is never missed.
fn listen_for_signals(
    runtime: &tokio::runtime::Runtime,
    stop: Arc<AtomicBool>,
    health: Health,
) -> anyhow::Result<()> {
    let _entered = runtime.enter();
    #[cfg(unix)]
    let signalled = {
        use tokio::signal::unix::{signal, SignalKind};
        let mut terminate =
            signal(SignalKind::terminate()).context("while listening for SIGTERM")?;
        let mut interrupt =
            signal(SignalKind::interrupt()).context("while listening for SIGINT")?;
        async move {
            tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "Ctrl-C",
            }
        }
    };
    #[cfg(not(unix))]
    let signalled = async {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    };
    runtime.spawn(async move {
        let which = signalled.await;
        tracing::info!("{which}: stopping");
        health.set_stopping();
        stop.store(true, Ordering::Relaxed);
    });
    Ok(())
}
