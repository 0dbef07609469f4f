//! HTTP endpoints of the processor, on their own listener (`http.listen`):
//!
//! | path | answer |
//! |---|---|
//! | `GET /metrics` | every metric of [`Metrics`], Prometheus text format 0.0.4 |
//! | `GET /healthz` | `200 ok` while the process serves HTTP at all (liveness) |
//! | `GET /readyz` | `200 ready` after restore and while consuming; otherwise `503` with the phase: `starting`, `restoring` or `stopping` |
//!
//! The processor's phase lives in a cloneable [`Health`] handle ([`crate::health`]) that the
//! service loop updates; this module only reads it. The module owns no business logic and
//! never blocks: a scrape encodes the registry and returns.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;

use crate::health::{Health, Phase};
use crate::metrics::Metrics;

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
