//! `run`: the live Kafka service. Loads the configuration, sets up logging, serves
//! `/metrics`, `/healthz` and `/readyz`, runs [`crate::kafka::run_pipeline`] on its own
//! thread, and on SIGTERM or Ctrl-C asks it to stop: the open transaction commits (or
//! aborts when it cannot), the consumer leaves the group, the process exits 0.
//!
//! The async runtime only serves HTTP and waits for signals; every Kafka call, several of
//! which block, runs on the pipeline thread.

use std::path::Path;
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
use crate::telemetry::{self, TelemetryError};

/// Runs the live service with the configuration in `config_dir` until SIGTERM or Ctrl-C.
pub fn run(config_dir: &Path) -> anyhow::Result<()> {
    let loaded = Config::load(config_dir).map_err(|errors| {
        anyhow::anyhow!(
            "invalid configuration in {}:\n{errors}",
            config_dir.display()
        )
    })?;
    match telemetry::init(&loaded.config.processor.log) {
        Ok(()) | Err(TelemetryError::AlreadyInitialised) => {}
        Err(e) => return Err(e).context("while setting up logging"),
    }
    for warning in &loaded.warnings {
        tracing::warn!("configuration: {warning}");
    }
    let config = Arc::new(loaded.config);
    // Fail fast, naming the missing ACL, before anything is consumed (the demo's mock
    // cluster has no ACLs and skips this).
    let api = &config.processor.api;
    kafka::access::check(
        &config.processor.kafka,
        &config.processor.topics,
        api.listen.map(|_| api.access_log_topic.as_str()),
    )
    .context("while checking the service's Kafka access")?;
    serve(config, Arc::new(WallClock))
}

/// Runs the service on an already loaded configuration with `clock` (the demo passes a
/// fixed one) until SIGTERM or Ctrl-C.
pub fn serve(config: Arc<Config>, clock: Arc<dyn Clock>) -> anyhow::Result<()> {
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
    let api = match config.processor.api.listen {
        Some(addr) => Some(start_api(
            &config,
            addr,
            &runtime,
            (&metrics, &clock),
            &http_stop,
        )?),
        None => None,
    };
    runtime.spawn(wait_for_signal(stop.clone(), health.clone()));

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
    http_stop.cancel();
    runtime.shutdown_timeout(Duration::from_secs(2));
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

/// Sets `stop` on the first SIGTERM or Ctrl-C.
async fn wait_for_signal(stop: Arc<AtomicBool>, health: Health) {
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("Ctrl-C: stopping"),
        () = terminate => tracing::info!("SIGTERM: stopping"),
    }
    health.set_stopping();
    stop.store(true, Ordering::Relaxed);
}
