//! HTTP endpoints of the processor, on their own listener (`http.listen`):
//!
//! | path | answer |
//! |---|---|
//! | `GET /metrics` | every metric of [`Metrics`], Prometheus text format 0.0.4 |
//! | `GET /healthz` | `200 ok` while the process serves HTTP at all (liveness) |
//! | `GET /readyz` | `200 ready` after restore and while consuming; otherwise `503` with the phase: `starting`, `restoring` or `stopping` |
//!
//! The processor's phase lives in a cloneable [`Health`] handle (one atomic) that the
//! service loop updates; this module only reads it. The module owns no business logic and
//! never blocks: a scrape encodes the registry and returns.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// The processor's lifecycle phase, as `/readyz` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Started, not yet assigned or restoring (the initial phase).
    Starting,
    /// Restoring partition state from the changelog.
    Restoring,
    /// Restored and consuming: the only phase in which `/readyz` answers 200.
    Ready,
    /// Shutting down (SIGTERM/Ctrl-C received, draining).
    Stopping,
}

impl Phase {
    /// The word `/readyz` answers with.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Starting => "starting",
            Self::Restoring => "restoring",
            Self::Ready => "ready",
            Self::Stopping => "stopping",
        }
    }

    fn from_u8(value: u8) -> Self {
        match value {
            1 => Self::Restoring,
            2 => Self::Ready,
            3 => Self::Stopping,
            _ => Self::Starting,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            Self::Starting => 0,
            Self::Restoring => 1,
            Self::Ready => 2,
            Self::Stopping => 3,
        }
    }
}

/// A cloneable handle on the processor's [`Phase`]; every clone sees the same phase.
///
/// Starts in [`Phase::Starting`]. Once [`Health::set_stopping`] has been called the phase
/// stays `Stopping`: a late `set_ready` from a draining task cannot make a stopping process
/// ready again.
#[derive(Debug, Clone, Default)]
pub struct Health {
    phase: Arc<AtomicU8>,
}

impl Health {
    /// A handle in [`Phase::Starting`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Acquire))
    }

    /// Whether `/readyz` answers 200.
    pub fn is_ready(&self) -> bool {
        self.phase() == Phase::Ready
    }

    fn set(&self, phase: Phase) {
        let stopping = Phase::Stopping.to_u8();
        // Never leave Stopping (see the type's doc).
        let _ = self
            .phase
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |current| {
                (current != stopping).then_some(phase.to_u8())
            });
    }

    /// Back to [`Phase::Starting`] (e.g. every partition was revoked).
    pub fn set_starting(&self) {
        self.set(Phase::Starting);
    }

    /// State is being restored: `/readyz` answers `503 restoring`.
    pub fn set_restoring(&self) {
        self.set(Phase::Restoring);
    }

    /// Restored and consuming: `/readyz` answers `200 ready`.
    pub fn set_ready(&self) {
        self.set(Phase::Ready);
    }

    /// Shutting down: `/readyz` answers `503 stopping` from now on.
    pub fn set_stopping(&self) {
        self.set(Phase::Stopping);
    }
}

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    health: Health,
}

/// The content type of the Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The router with `/metrics`, `/healthz` and `/readyz`; usable in-process in tests
/// (`tower::ServiceExt::oneshot`).
pub fn router(metrics: Arc<Metrics>, health: Health) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(healthz_handler))
        .route("/readyz", get(readyz_handler))
        .with_state(AppState { metrics, health })
}

async fn metrics_handler(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)],
        state.metrics.gather_text(),
    )
}

async fn healthz_handler() -> impl IntoResponse {
    (StatusCode::OK, "ok\n")
}

async fn readyz_handler(State(state): State<AppState>) -> impl IntoResponse {
    let phase = state.health.phase();
    let code = if phase == Phase::Ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, format!("{}\n", phase.as_str()))
}

/// A bound but not yet serving listener: bind first (port 0 picks a free port), read
/// [`HttpServer::local_addr`], then [`HttpServer::serve`].
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    local_addr: SocketAddr,
}

impl HttpServer {
    /// Binds `addr`.
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            local_addr,
        })
    }

    /// The address actually bound (the chosen port when binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves the endpoints until `shutdown` completes, then finishes the requests in
    /// flight and returns.
    pub async fn serve(
        self,
        metrics: Arc<Metrics>,
        health: Health,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        axum::serve(self.listener, router(metrics, health))
            .with_graceful_shutdown(shutdown)
            .await
    }
}

/// Binds `addr` and serves `/metrics`, `/healthz` and `/readyz` until `shutdown` completes.
/// Use [`HttpServer`] when the bound address is needed (port 0).
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: Health,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    HttpServer::bind(addr)
        .await?
        .serve(metrics, health, shutdown)
        .await
}
