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
//!
//! The listener defends itself ([`HttpLimits`], docs/OPERATIONS.md "HTTP listener limits"):
//! every connection is closed when a request head takes longer than
//! [`HttpLimits::header_read_timeout`], when it sits idle between requests longer than
//! [`HttpLimits::idle_timeout`], or when an answer is not taken within
//! [`HttpLimits::response_timeout`] ([`connection`]). Request heads are bounded in bytes and
//! header count. At most [`HttpLimits::max_connections`] connections are served at once;
//! the accept loop never stops accepting, so a liveness probe always reaches the process:
//! when the limit is reached, a new connection takes the slot of the oldest connection that
//! is not answering a request (idle, or still sending its head), and only when every slot
//! is answering a request is the newcomer answered `503` and closed. `/metrics` encodes on
//! the blocking pool, one encoding at a time, and admits a few requests at once (`503 busy`
//! beyond), so a scrape flood neither occupies the single async worker nor keeps every slot
//! busy.
//!
//! The same listener serves the record API ([`api`]), over TLS when it is given a
//! [`tls::TlsAcceptor`]: the handshake then runs inside the header-read timeout of the new
//! connection, so every limit above holds for HTTPS too.

pub mod api;
mod connection;
pub mod forward;
#[cfg(test)]
mod openapi_tests;
pub mod tls;

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::health::{Health, Phase};
use crate::metrics::{HttpCloseReason, Metrics};

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    health: Health,
    /// `/metrics` requests admitted at once (see [`metrics_handler`]).
    admitted: Arc<Semaphore>,
    /// One `/metrics` encoding at a time (see [`metrics_handler`]).
    encoding: Arc<Semaphore>,
}

/// `/metrics` requests being answered or waiting for the encoder at once; more are answered
/// `503` at once. Room for two Prometheus replicas and a person with curl.
const METRICS_REQUESTS_ADMITTED: usize = 4;

/// The content type of the Prometheus text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The router with `/metrics`, `/healthz` and `/readyz`; usable in-process in tests
/// (`tower::ServiceExt::oneshot`).
pub fn router(metrics: Arc<Metrics>, health: Health) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(healthz_handler))
        .route("/readyz", get(readyz_handler))
        .with_state(AppState {
            metrics,
            health,
            admitted: Arc::new(Semaphore::new(METRICS_REQUESTS_ADMITTED)),
            encoding: Arc::new(Semaphore::new(1)),
        })
}

/// Encodes the registry on the blocking pool, one encoding at a time: the async runtime of
/// the listener has a single worker, and a flood of `/metrics` requests (pipelined by the
/// hundred on connections that never read) would otherwise keep it encoding while
/// `/healthz` waits. The permit travels into the blocking task, so a client that hangs up
/// does not free it before the encoding ends. At most [`METRICS_REQUESTS_ADMITTED`]
/// requests wait for the encoder; beyond, `/metrics` answers `503` at once, so that a flood
/// cannot hold every connection slot busy (a busy connection is never evicted) and push the
/// liveness probe into the listener's over-limit answer.
async fn metrics_handler(State(state): State<AppState>) -> Response {
    let Ok(_admitted) = Arc::clone(&state.admitted).try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            "busy\n",
        )
            .into_response();
    };
    let Ok(permit) = Arc::clone(&state.encoding).acquire_owned().await else {
        return (StatusCode::SERVICE_UNAVAILABLE, "metrics unavailable\n").into_response();
    };
    let metrics = Arc::clone(&state.metrics);
    let encoded = tokio::task::spawn_blocking(move || {
        let text = metrics.gather_text();
        drop(permit);
        text
    })
    .await;
    match encoded {
        Ok(text) => ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], text).into_response(),
        Err(error) => {
            tracing::error!(%error, "encoding /metrics failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "metrics unavailable\n").into_response()
        }
    }
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

/// The defences of the HTTP listener. [`HttpLimits::default`] holds the values the processor
/// runs with; tests build smaller ones to see the timeouts act within milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// A request head (request line and headers) must arrive completely within this time
    /// from its first byte; a new connection must send its first head within this time of
    /// being accepted. Default [`HttpLimits::HEADER_READ_TIMEOUT`].
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in progress is closed after this time.
    /// Default [`HttpLimits::IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// An answer must be handed to the socket within this time of its request head (bounds a
    /// client that does not read what it asked for). Default [`HttpLimits::RESPONSE_TIMEOUT`].
    pub response_timeout: Duration,
    /// Connections served at once (see the module doc for what happens beyond).
    /// Default [`HttpLimits::MAX_CONNECTIONS`].
    pub max_connections: usize,
    /// Bytes of one request head, request line included; a larger head is answered `431`
    /// and the connection closed. Default [`HttpLimits::MAX_HEADER_BYTES`].
    pub max_header_bytes: usize,
    /// Header lines of one request; more are answered `431`. Default
    /// [`HttpLimits::MAX_HEADERS`].
    pub max_headers: usize,
}

impl HttpLimits {
    /// Default [`HttpLimits::header_read_timeout`]: 5 s.
    pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(5);
    /// Default [`HttpLimits::idle_timeout`]: 60 s (four times the 15 s scrape interval of
    /// deploy/, so Prometheus keeps its connection).
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default [`HttpLimits::response_timeout`]: 30 s.
    pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default [`HttpLimits::max_connections`]: 256.
    pub const MAX_CONNECTIONS: usize = 256;
    /// Default [`HttpLimits::max_header_bytes`]: 16 KiB.
    pub const MAX_HEADER_BYTES: usize = 16 * 1024;
    /// Default [`HttpLimits::max_headers`]: 64.
    pub const MAX_HEADERS: usize = 64;
    /// At most this many over-limit connections are being answered `503` at once; beyond,
    /// an over-limit connection is closed without an answer.
    const MAX_REFUSALS: usize = 64;
    /// How long an over-limit connection may take to receive its `503`.
    const REFUSAL_LINGER: Duration = Duration::from_secs(1);

    /// hyper's read buffer: room for a maximal head, and never under hyper's minimum.
    fn read_buffer_bytes(&self) -> usize {
        (self.max_header_bytes + 8 * 1024).max(16 * 1024)
    }
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Self::HEADER_READ_TIMEOUT,
            idle_timeout: Self::IDLE_TIMEOUT,
            response_timeout: Self::RESPONSE_TIMEOUT,
            max_connections: Self::MAX_CONNECTIONS,
            max_header_bytes: Self::MAX_HEADER_BYTES,
            max_headers: Self::MAX_HEADERS,
        }
    }
}

/// A bound but not yet serving listener: bind first (port 0 picks a free port), read
/// [`HttpServer::local_addr`], then [`HttpServer::serve`].
#[derive(Debug)]
pub struct HttpServer {
    listener: TcpListener,
    local_addr: SocketAddr,
    limits: HttpLimits,
    tls: Option<tls::TlsAcceptor>,
}

impl HttpServer {
    /// Binds `addr`, with [`HttpLimits::default`].
    pub async fn bind(addr: SocketAddr) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let local_addr = listener.local_addr()?;
        Ok(Self {
            listener,
            local_addr,
            limits: HttpLimits::default(),
            tls: None,
        })
    }

    /// Replaces the limits (tests use short timeouts and small connection counts).
    pub fn with_limits(mut self, limits: HttpLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Serves HTTPS with `acceptor` instead of plain HTTP (the record API with
    /// `api.tls_cert_file`): every connection begins with a TLS handshake, bounded by
    /// [`HttpLimits::header_read_timeout`] together with the first request head.
    pub fn with_tls(mut self, acceptor: tls::TlsAcceptor) -> Self {
        self.tls = Some(acceptor);
        self
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
        let app = router(Arc::clone(&metrics), health);
        self.serve_router(app, metrics, shutdown).await
    }

    /// Serves any `app` under the same limits, counting closed connections in `metrics`
    /// (tests use it to hold requests open). Returns after `shutdown` completes and every
    /// connection has finished its request in flight (each is bounded by the limits).
    pub async fn serve_router(
        self,
        app: Router,
        metrics: Arc<Metrics>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> io::Result<()> {
        let Self {
            listener,
            limits,
            tls,
            ..
        } = self;
        let stop = CancellationToken::new();
        let stop_on_signal = stop.clone();
        let mut shutdown = std::pin::pin!(async move {
            shutdown.await;
            stop_on_signal.cancel();
        });
        let slots = Arc::new(Slots::new(limits.max_connections, Arc::clone(&metrics)));
        let refusals = Arc::new(Semaphore::new(HttpLimits::MAX_REFUSALS));
        let mut tasks = JoinSet::new();
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                accepted = listener.accept() => {
                    let stream = match accepted {
                        Ok((stream, _)) => stream,
                        Err(error) => {
                            // Out of file descriptors or a connection reset before accept:
                            // never fatal for the listener. A short pause keeps an fd
                            // exhaustion from spinning the loop.
                            tracing::warn!(%error, "http accept failed");
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let clock = connection::ConnectionClock::new();
                    match slots.admit(&clock) {
                        Some(slot) => {
                            if slot.evicted_another {
                                tracing::debug!("http connection limit reached: closed the oldest idle connection");
                            }
                            let conn = connection::Connection {
                                stream,
                                tls: tls.clone(),
                                session: connection::Session {
                                    clock,
                                    router: app.clone(),
                                    limits,
                                    metrics: Arc::clone(&metrics),
                                    shutdown: stop.clone(),
                                    evict: slot.evict.clone(),
                                },
                            };
                            tasks.spawn(async move {
                                conn.run().await;
                                drop(slot);
                            });
                        }
                        None => {
                            metrics.http().record_closed(HttpCloseReason::OverLimit);
                            if let Ok(permit) = Arc::clone(&refusals).try_acquire_owned() {
                                let tls = tls.clone();
                                tasks.spawn(async move {
                                    connection::refuse(stream, tls, HttpLimits::REFUSAL_LINGER).await;
                                    drop(permit);
                                });
                            }
                        }
                    }
                }
            }
        }
        drop(listener);
        while tasks.join_next().await.is_some() {}
        Ok(())
    }
}

/// The connections being served, oldest first, with the handle that evicts each.
#[derive(Debug)]
struct Slots {
    limit: usize,
    state: Mutex<SlotState>,
    metrics: Arc<Metrics>,
}

#[derive(Debug, Default)]
struct SlotState {
    next_id: u64,
    open: BTreeMap<u64, (Arc<connection::ConnectionClock>, CancellationToken)>,
}

/// A connection's place in [`Slots`]; gives the place back when dropped.
struct Slot {
    slots: Arc<Slots>,
    id: u64,
    evict: CancellationToken,
    evicted_another: bool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut state = self.slots.lock();
        state.open.remove(&self.id);
        self.slots
            .metrics
            .http()
            .set_open_connections(state.open.len());
    }
}

impl Slots {
    fn new(limit: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            limit: limit.max(1),
            state: Mutex::new(SlotState::default()),
            metrics,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a new connection: a free one, else the one of the oldest connection not
    /// answering a request (which is told to close), else none.
    fn admit(self: &Arc<Self>, clock: &Arc<connection::ConnectionClock>) -> Option<Slot> {
        let mut state = self.lock();
        let mut evicted_another = false;
        if state.open.len() >= self.limit {
            let victim = state
                .open
                .iter()
                .find(|(_, (clock, _))| clock.stage().0 != connection::Stage::Busy)
                .map(|(id, _)| *id)?;
            if let Some((_, token)) = state.open.remove(&victim) {
                token.cancel();
                evicted_another = true;
            }
        }
        let id = state.next_id;
        state.next_id += 1;
        let evict = CancellationToken::new();
        state.open.insert(id, (Arc::clone(clock), evict.clone()));
        self.metrics.http().set_open_connections(state.open.len());
        Some(Slot {
            slots: Arc::clone(self),
            id,
            evict,
            evicted_another,
        })
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
