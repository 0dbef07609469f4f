//! Forwarding a record-API request to the instance that serves the employee's partition
//! (SPEC §10 "Routing"): the same path, the same `Authorization` header, plus
//! `X-Attendance-Forwarded: <this instance>`, over HTTP/1.1 with hyper's pooled client: plain
//! to an `http://` owner, TLS to an `https://` owner (its certificate verified against
//! [`TlsConnector`]'s trust and the URL's host name; [`super::tls`]).
//!
//! An instance whose own listener serves TLS ([`Forwarder::new`] with `tls_only`) forwards to
//! `https://` owners only: a caller's token that arrived over TLS never leaves in clear. A
//! failed handshake (an untrusted certificate, a host name it does not name) ends the forward
//! before a byte of the request is sent.
//!
//! Bounded: at most [`MAX_IN_FLIGHT`] forwards at once (more are refused at once, not
//! queued), each within [`TIMEOUT`] from connect (TLS handshake included) to the last byte of
//! the body, and a body of at most [`MAX_BODY_BYTES`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderName, HeaderValue, Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_openssl::SslStream;

use super::tls::TlsConnector;
use crate::api::routing::FORWARDED_HEADER;

/// Forwards in flight at once, at most.
pub const MAX_IN_FLIGHT: usize = 64;

/// A forward's bound, from connecting to the owner to the last byte of its answer.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Largest answer body taken from an owner, in bytes.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The owner's headers passed on to the client.
const PASSED_HEADERS: [HeaderName; 4] = [
    header::CONTENT_TYPE,
    header::RETRY_AFTER,
    header::WWW_AUTHENTICATE,
    header::ALLOW,
];

/// The owner's answer.
#[derive(Debug)]
pub struct Forwarded {
    /// Its status.
    pub status: StatusCode,
    /// The headers that matter ([`PASSED_HEADERS`]).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Its body.
    pub body: Bytes,
}

/// Why a forward gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ForwardError {
    /// [`MAX_IN_FLIGHT`] forwards are in flight.
    Busy,
    /// The owner could not be reached, failed, was too slow or answered too much.
    Unreachable(String),
}

impl ForwardError {
    /// The label of `attendance_api_forwards_total`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ForwardError::Busy => "busy",
            ForwardError::Unreachable(_) => "unreachable",
        }
    }
}

/// A connection to an owner: plain TCP or TLS over TCP.
#[derive(Debug)]
enum Stream {
    Plain(TcpStream),
    Tls(Box<SslStream<TcpStream>>),
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        match self {
            Stream::Plain(s) => s.connected(),
            Stream::Tls(s) => s.get_ref().connected(),
        }
    }
}

/// Connects to `http://` owners in plain TCP (unless `tls_only`) and to `https://` owners
/// with TLS; any other scheme is refused.
#[derive(Clone)]
struct Connector {
    tcp: HttpConnector,
    tls: TlsConnector,
    tls_only: bool,
}

type ConnectFuture = Pin<Box<dyn Future<Output = Result<TokioIo<Stream>, io::Error>> + Send>>;

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<Stream>;
    type Error = io::Error;
    type Future = ConnectFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), io::Error>> {
        self.tcp.poll_ready(cx).map_err(io::Error::other)
    }

    fn call(&mut self, uri: Uri) -> ConnectFuture {
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if !self.tls_only => false,
            scheme => {
                let refused = format!("refusing to connect to {scheme:?} URL {uri}");
                return Box::pin(async move { Err(io::Error::other(refused)) });
            }
        };
        let host = uri
            .host()
            .map(|h| h.trim_start_matches('[').trim_end_matches(']').to_owned())
            .unwrap_or_default();
        let connecting = self.tcp.call(uri);
        let tls = self.tls.clone();
        Box::pin(async move {
            let tcp = connecting.await.map_err(io::Error::other)?.into_inner();
            if !https {
                return Ok(TokioIo::new(Stream::Plain(tcp)));
            }
            let stream = tls.connect(&host, tcp).await.map_err(io::Error::other)?;
            Ok(TokioIo::new(Stream::Tls(Box::new(stream))))
        })
    }
}

/// Forwards requests, as one instance.
pub struct Forwarder {
    client: Client<Connector, Body>,
    permits: Arc<Semaphore>,
    instance: HeaderValue,
    timeout: Duration,
    tls_only: bool,
}

impl std::fmt::Debug for Forwarder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarder")
            .field("instance", &self.instance)
            .field("timeout", &self.timeout)
            .field("tls_only", &self.tls_only)
            .finish_non_exhaustive()
    }
}

impl Forwarder {
    /// A forwarder for `instance` (named in the loop-guard header) with [`TIMEOUT`],
    /// verifying `https` owners with `tls`, and refusing `http` owners when `tls_only` (this
    /// instance serves TLS).
    pub fn new(instance: &str, tls: TlsConnector, tls_only: bool) -> Self {
        Self::with_timeout(instance, tls, tls_only, TIMEOUT)
    }

    /// A forwarder with another timeout (tests).
    pub fn with_timeout(
        instance: &str,
        tls: TlsConnector,
        tls_only: bool,
        timeout: Duration,
    ) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(timeout));
        tcp.set_nodelay(true);
        // The scheme is the Connector's to check.
        tcp.enforce_http(false);
        let connector = Connector { tcp, tls, tls_only };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_timer(TokioTimer::new())
            .pool_max_idle_per_host(8)
            .build(connector);
        // Any value marks the request; an instance id that is no header value still does.
        let instance = HeaderValue::from_str(instance)
            .unwrap_or_else(|_| HeaderValue::from_static("instance"));
        Self {
            client,
            permits: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
            instance,
            timeout,
            tls_only,
        }
    }

    /// A forwarder trusting the system's roots, plain HTTP allowed, with `timeout` (tests).
    #[cfg(test)]
    pub(crate) fn plain(instance: &str, timeout: Duration) -> Self {
        let trust = crate::config::tls::ForwardTrust {
            anchors: Vec::new(),
            system_roots: true,
        };
        let tls = TlsConnector::new(&trust).expect("TLS client");
        Self::with_timeout(instance, tls, false, timeout)
    }

    /// `GET <api_url><target>` with `authorization`, the owner's answer or why there is none.
    pub async fn forward(
        &self,
        api_url: &str,
        target: &str,
        authorization: Option<&[u8]>,
    ) -> Result<Forwarded, ForwardError> {
        let Ok(_permit) = self.permits.clone().try_acquire_owned() else {
            return Err(ForwardError::Busy);
        };
        let unreachable = |what: &str, e: &dyn std::fmt::Display| {
            ForwardError::Unreachable(format!("{what}: {e}"))
        };
        let uri: Uri = format!("{api_url}{target}")
            .parse()
            .map_err(|e| unreachable("the owner's URL", &e))?;
        if self.tls_only && uri.scheme_str() != Some("https") {
            // Checked before the request is built: the caller's token is not sent in clear.
            return Err(ForwardError::Unreachable(format!(
                "the owner's URL {api_url} is not https:// and this instance serves TLS: \
                 the caller's token is forwarded over TLS only"
            )));
        }
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .header(HeaderName::from_static(FORWARDED_HEADER), &self.instance);
        if let Some(value) = authorization {
            let value =
                HeaderValue::from_bytes(value).map_err(|e| unreachable("authorization", &e))?;
            request = request.header(header::AUTHORIZATION, value);
        }
        let request = request
            .body(Body::empty())
            .map_err(|e| unreachable("the request", &e))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| unreachable("the owner", &crate::kafka::error_chain(&e)))?;
            let (parts, body) = response.into_parts();
            let body = axum::body::to_bytes(Body::new(body), MAX_BODY_BYTES)
                .await
                .map_err(|e| unreachable("the owner's answer", &e))?;
            let headers = PASSED_HEADERS
                .iter()
                .filter_map(|name| {
                    parts
                        .headers
                        .get(name)
                        .map(|value| (name.clone(), value.clone()))
                })
                .collect();
            Ok(Forwarded {
                status: parts.status,
                headers,
                body,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .unwrap_or_else(|_| {
                Err(ForwardError::Unreachable(format!(
                    "no answer within {} ms",
                    self.timeout.as_millis()
                )))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn forwards_beyond_the_bound_are_refused_at_once() {
        // An owner that accepts connections and never answers keeps every forward in flight.
        let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", silent.local_addr().expect("address"));
        let holding = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = silent.accept().await {
                held.push(socket);
            }
        });
        let forwarder = Arc::new(Forwarder::plain("b", Duration::from_secs(5)));
        let mut in_flight = Vec::new();
        for _ in 0..MAX_IN_FLIGHT {
            let (forwarder, url) = (forwarder.clone(), url.clone());
            in_flight.push(tokio::spawn(async move {
                forwarder
                    .forward(&url, "/v1/employees/e-1/record", None)
                    .await
            }));
        }
        for _ in 0..10_000 {
            if forwarder.permits.available_permits() == 0 {
                break;
            }
            tokio::task::yield_now().await;
        }
        assert_eq!(forwarder.permits.available_permits(), 0);
        assert_eq!(
            forwarder
                .forward(&url, "/v1/employees/e-1/record", Some(b"Bearer x"))
                .await
                .map(|f| f.status),
            Err(ForwardError::Busy)
        );
        for task in in_flight {
            task.abort();
        }
        holding.abort();
    }

    #[tokio::test]
    async fn a_bad_owner_url_or_header_is_unreachable_not_a_panic() {
        let forwarder = Forwarder::plain("b", TIMEOUT);
        for (url, auth) in [
            ("http://bad host", None),
            ("http://127.0.0.1:1", Some(&b"Bearer \n"[..])),
        ] {
            let result = forwarder
                .forward(url, "/v1/employees/e-1/record", auth)
                .await;
            assert!(
                matches!(result, Err(ForwardError::Unreachable(_))),
                "{url}: {result:?}"
            );
        }
    }
}
