//! One HTTP/1.1 connection of the metrics listener, with its own clock.
//!
//! hyper's `header_read_timeout` also runs while a keep-alive connection waits for its next
//! request, so on its own it cannot tell a slowloris (a half-sent head) from a scraper that
//! keeps its connection between scrapes. This module therefore keeps the connection's
//! [`Stage`] itself and closes the connection when the stage has lasted too long:
//!
//! | stage | entered when | closed after |
//! |---|---|---|
//! | [`Stage::Head`] | accepted, or the first byte of a request arrives on an idle connection | [`HttpLimits::header_read_timeout`] |
//! | [`Stage::Busy`] | the request head is complete and the router is called | [`HttpLimits::response_timeout`] |
//! | [`Stage::Idle`] | the response body has been handed to hyper | [`HttpLimits::idle_timeout`] |
//!
//! The stage is observed from three places: the socket wrapper ([`TrackedStream`]) sees
//! bytes arrive, the service wrapper sees the request, and the response body
//! ([`TrackedBody`]) sees its own end. Nothing here blocks or holds a lock across an await.

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{Request, Response};
use axum::Router;
use http_body::{Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::tls::TlsAcceptor;
use super::HttpLimits;
use crate::metrics::{HttpCloseReason, Metrics};

/// Where a connection is in its request cycle (see the module table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Waiting for a request head that has begun (or for the first request).
    Head,
    /// A request is being answered.
    Busy,
    /// Between requests on a keep-alive connection.
    Idle,
}

/// The stage of one connection and when it began; shared by the socket, the service, the
/// response body and the task that drives the connection.
#[derive(Debug)]
pub(super) struct ConnectionClock {
    stage: Mutex<(Stage, Instant)>,
    changed: Notify,
}

impl ConnectionClock {
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            stage: Mutex::new((Stage::Head, Instant::now())),
            changed: Notify::new(),
        })
    }

    /// The current stage and when it began.
    pub(super) fn stage(&self) -> (Stage, Instant) {
        *self.stage.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Moves to `to` if the current stage is one of `from`; wakes the driver on a change.
    fn advance(&self, from: &[Stage], to: Stage) {
        let mut stage = self.stage.lock().unwrap_or_else(PoisonError::into_inner);
        if from.contains(&stage.0) {
            *stage = (to, Instant::now());
            drop(stage);
            self.changed.notify_one();
        }
    }

    /// When the current stage expires, and the reason the connection is closed then.
    fn deadline(&self, limits: &HttpLimits) -> (Instant, HttpCloseReason) {
        let (stage, since) = self.stage();
        match stage {
            Stage::Head => (
                since + limits.header_read_timeout,
                HttpCloseReason::HeaderTimeout,
            ),
            Stage::Busy => (
                since + limits.response_timeout,
                HttpCloseReason::ResponseTimeout,
            ),
            Stage::Idle => (since + limits.idle_timeout, HttpCloseReason::IdleTimeout),
        }
    }
}

/// The accepted socket (plain, or after the TLS handshake: then the bytes seen are the
/// decrypted ones); reports the first byte of each request to the clock.
struct TrackedStream<S> {
    stream: S,
    clock: Arc<ConnectionClock>,
}

impl<S: AsyncRead + Unpin> AsyncRead for TrackedStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            // A byte on an idle connection starts a head: the header timeout runs from
            // here, and later bytes of the same head do not extend it.
            this.clock.advance(&[Stage::Idle], Stage::Head);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TrackedStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// A response body that moves the connection to [`Stage::Idle`] when hyper is done with it
/// (hyper drops the body once its last frame is written or the connection ends).
struct TrackedBody {
    inner: Body,
    clock: Arc<ConnectionClock>,
}

impl Drop for TrackedBody {
    fn drop(&mut self) {
        self.clock.advance(&[Stage::Busy], Stage::Idle);
    }
}

impl http_body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Everything one connection task needs.
pub(super) struct Connection {
    pub(super) stream: TcpStream,
    /// When set, the connection speaks TLS: the handshake comes first.
    pub(super) tls: Option<TlsAcceptor>,
    pub(super) session: Session,
}

impl Connection {
    /// Serves the connection until the client closes it, a stage lasts too long, it is
    /// evicted, or the listener shuts down. A TLS handshake comes first, within the head
    /// stage that began at accept: it and the first request head share
    /// [`HttpLimits::header_read_timeout`].
    pub(super) async fn run(self) {
        let Self {
            stream,
            tls,
            session,
        } = self;
        let Some(acceptor) = tls else {
            return session.serve(stream).await;
        };
        let (deadline, _) = session.clock.deadline(&session.limits);
        let stream = tokio::select! {
            accepted = tokio::time::timeout_at(deadline, acceptor.accept(stream)) => match accepted {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => {
                    // Plain HTTP on the TLS port, a scanner, an old protocol version: the
                    // client's failure, not the listener's limits; not counted.
                    tracing::debug!(%error, "tls handshake failed");
                    return;
                }
                Err(_) => {
                    session.metrics.http().record_closed(HttpCloseReason::HeaderTimeout);
                    tracing::debug!("tls handshake timed out");
                    return;
                }
            },
            () = session.evict.cancelled() => {
                session.metrics.http().record_closed(HttpCloseReason::Evicted);
                return;
            }
            () = session.shutdown.cancelled() => return,
        };
        session.serve(stream).await;
    }
}

/// A connection's state besides its socket.
pub(super) struct Session {
    pub(super) clock: Arc<ConnectionClock>,
    pub(super) router: Router,
    pub(super) limits: HttpLimits,
    pub(super) metrics: Arc<Metrics>,
    /// Cancelled when the listener shuts down: finish the request in flight, then close.
    pub(super) shutdown: CancellationToken,
    /// Cancelled when the listener needs this connection's slot: close now.
    pub(super) evict: CancellationToken,
}

impl Session {
    /// Serves HTTP/1.1 on `stream` (a TCP socket or a TLS stream over one).
    async fn serve<S>(self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Self {
            clock,
            router,
            limits,
            metrics,
            shutdown,
            evict,
        } = self;
        let tower = TowerToHyperService::new(router);
        let service_clock = Arc::clone(&clock);
        let service = hyper::service::service_fn(move |request: Request<Incoming>| {
            let clock = Arc::clone(&service_clock);
            clock.advance(&[Stage::Head, Stage::Idle], Stage::Busy);
            let answer = hyper::service::Service::call(&tower, request);
            async move {
                let response: Response<Body> = match answer.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(response.map(|inner| TrackedBody { inner, clock }))
            }
        });
        let io = TokioIo::new(TrackedStream {
            stream,
            clock: Arc::clone(&clock),
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .keep_alive(true)
            // Our own clock replaces hyper's header timer (see the module doc).
            .header_read_timeout(None)
            .max_header_size(limits.max_header_bytes)
            .max_headers(limits.max_headers)
            .max_buf_size(limits.read_buffer_bytes());
        let connection = builder.serve_connection(io, service);
        let mut connection = std::pin::pin!(connection);
        let mut draining = false;
        loop {
            let (deadline, reason) = clock.deadline(&limits);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "http connection ended with an error");
                    }
                    return;
                }
                () = tokio::time::sleep_until(deadline) => {
                    // The stage may have moved on since the deadline was read.
                    if clock.deadline(&limits).0 <= Instant::now() {
                        metrics.http().record_closed(reason);
                        tracing::debug!(reason = reason.as_str(), "http connection closed");
                        return;
                    }
                }
                () = clock.changed.notified() => {}
                () = evict.cancelled() => {
                    metrics.http().record_closed(HttpCloseReason::Evicted);
                    return;
                }
                () = shutdown.cancelled(), if !draining => {
                    // A connection between requests or inside a head has nothing to finish;
                    // one answering a request ends after its answer.
                    if clock.stage().0 != Stage::Busy {
                        return;
                    }
                    draining = true;
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// The answer to a connection over the limit while every slot is busy.
const OVER_LIMIT_RESPONSE: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: text/plain; charset=utf-8\r\n\
content-length: 5\r\n\
retry-after: 1\r\n\
connection: close\r\n\
\r\n\
busy\n";

/// Answers `503 busy` without reading the request, then closes: half-closes the write side
/// and discards what the client sends for at most `linger`, so that the kernel does not turn
/// the close into a reset that could destroy the answer before the client reads it. On a TLS
/// listener the handshake comes first, within the same `linger`.
pub(super) async fn refuse(
    stream: TcpStream,
    tls: Option<TlsAcceptor>,
    linger: std::time::Duration,
) {
    let refused = async move {
        match tls {
            None => refuse_on(stream).await,
            Some(acceptor) => match acceptor.accept(stream).await {
                Ok(stream) => refuse_on(stream).await,
                Err(error) => Err(io::Error::other(error)),
            },
        }
    };
    let _ = tokio::time::timeout(linger, refused).await;
}

async fn refuse_on<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> io::Result<()> {
    use std::future::poll_fn;
    let mut written = 0;
    while written < OVER_LIMIT_RESPONSE.len() {
        let rest = &OVER_LIMIT_RESPONSE[written..];
        match poll_fn(|cx| Pin::new(&mut stream).poll_write(cx, rest)).await? {
            0 => return Err(io::ErrorKind::WriteZero.into()),
            n => written += n,
        }
    }
    poll_fn(|cx| Pin::new(&mut stream).poll_shutdown(cx)).await?;
    let mut sink = [0_u8; 4096];
    let mut discarded = 0_usize;
    while discarded < 64 * 1024 {
        let mut buf = ReadBuf::new(&mut sink);
        poll_fn(|cx| Pin::new(&mut stream).poll_read(cx, &mut buf)).await?;
        match buf.filled().len() {
            0 => break,
            n => discarded += n,
        }
    }
    Ok(())
}
