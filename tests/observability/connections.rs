//! The HTTP listener under hostile clients, over real sockets on 127.0.0.1: hundreds of idle
//! connections, slowloris heads, idle keep-alive, over-limit connections, oversized heads,
//! and ordinary scraping. Timeouts are shortened through [`HttpLimits`] so that each test
//! sees them act within a second; waits poll a condition with a bounded deadline.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use attendance_compliance::health::Health;
use attendance_compliance::http::{router, HttpLimits, HttpServer};
use attendance_compliance::metrics::{HttpCloseReason, Metrics};
use axum::routing::get;

/// Upper bound of every wait in this file (a hang fails the test instead of blocking it).
const PATIENCE: Duration = Duration::from_secs(10);

/// A listener on 127.0.0.1:0 served by its own runtime.
struct TestServer {
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    runtime: tokio::runtime::Runtime,
}

/// What the `/hang` route of [`TestServer::start_with_hang`] counts: requests entered.
type Entered = Arc<AtomicUsize>;

impl TestServer {
    fn start(limits: HttpLimits) -> Self {
        Self::start_app(limits, |app| app)
    }

    /// The usual endpoints plus `GET /hang`, which never answers (a request that keeps its
    /// connection busy); the counter tells how many requests reached it.
    fn start_with_hang(limits: HttpLimits) -> (Self, Entered) {
        let entered = Entered::default();
        let counter = Arc::clone(&entered);
        let server = Self::start_app(limits, move |app| {
            app.route(
                "/hang",
                get(move || {
                    counter.fetch_add(1, Ordering::SeqCst);
                    std::future::pending::<&'static str>()
                }),
            )
        });
        (server, entered)
    }

    fn start_app(limits: HttpLimits, extend: impl FnOnce(axum::Router) -> axum::Router) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let metrics = Arc::new(Metrics::new());
        let health = Health::new();
        health.set_ready();
        let server = runtime
            .block_on(HttpServer::bind("127.0.0.1:0".parse().expect("addr")))
            .expect("bind port 0")
            .with_limits(limits);
        let addr = server.local_addr();
        let app = extend(router(Arc::clone(&metrics), health));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = runtime.spawn(server.serve_router(app, Arc::clone(&metrics), async {
            let _ = stopped.await;
        }));
        Self {
            addr,
            metrics,
            stop: Some(stop),
            task: Some(task),
            runtime,
        }
    }

    fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("read timeout");
        stream
    }

    fn closed(&self, reason: HttpCloseReason) -> u64 {
        self.metrics.http().closed(reason)
    }

    /// Stops the listener and waits (bounded) for `serve` to return.
    fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("running");
        let result = self
            .runtime
            .block_on(async { tokio::time::timeout(PATIENCE, task).await })
            .expect("serve returns after shutdown")
            .expect("join");
        result.expect("served without error");
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Limits with timeouts long enough not to act during a test unless a test shortens one.
fn patient_limits() -> HttpLimits {
    HttpLimits {
        header_read_timeout: Duration::from_secs(60),
        idle_timeout: Duration::from_secs(60),
        response_timeout: Duration::from_secs(60),
        ..HttpLimits::default()
    }
}

/// Polls `condition` until it holds or `PATIENCE` has passed; returns whether it held.
fn eventually(mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if condition() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// One response: status code, headers (lowercase names), body.
struct Answer {
    status: u16,
    headers: String,
    body: String,
}

/// Sends `GET path` on `stream` and reads one response (`Content-Length` framed).
fn get_on(stream: &mut TcpStream, path: &str, keep_alive: bool) -> Answer {
    let connection = if keep_alive { "keep-alive" } else { "close" };
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: {connection}\r\n\r\n"
    )
    .expect("send request");
    read_answer(stream)
}

fn read_answer(stream: &mut TcpStream) -> Answer {
    let mut raw = Vec::new();
    let mut byte = [0_u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("read response head");
        assert_eq!(n, 1, "connection closed inside a response head: {raw:?}");
        raw.push(byte[0]);
    }
    let head = String::from_utf8(raw).expect("ascii head");
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("status line in {head}"));
    let headers = head.to_ascii_lowercase();
    let length: usize = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().expect("content-length"));
    let mut body = vec![0_u8; length];
    stream.read_exact(&mut body).expect("read body");
    Answer {
        status,
        headers,
        body: String::from_utf8(body).expect("utf-8 body"),
    }
}

/// Whether the server closes `stream` within `within` (end of stream or reset). Bytes that
/// arrive meanwhile are discarded.
fn closes_within(stream: &mut TcpStream, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    let mut sink = [0_u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        stream.set_read_timeout(Some(left)).expect("read timeout");
        match stream.read(&mut sink) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return false
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn healthz_answers_within_a_second_while_hundreds_of_idle_connections_are_open() {
    let server = TestServer::start(patient_limits());
    let limit = HttpLimits::MAX_CONNECTIONS;
    // 200 silent sockets, 100 keep-alive sockets idle after one request, 50 half heads.
    let mut held = Vec::new();
    for _ in 0..200 {
        held.push(server.connect());
    }
    for _ in 0..100 {
        let mut stream = server.connect();
        assert_eq!(get_on(&mut stream, "/healthz", true).status, 200);
        held.push(stream);
    }
    for _ in 0..50 {
        let mut stream = server.connect();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHo")
            .expect("half a head");
        held.push(stream);
    }
    let over = (held.len() - limit) as u64;
    assert!(
        eventually(|| server.closed(HttpCloseReason::Evicted) >= over),
        "the listener took {} connections and evicted {} of {over}",
        held.len(),
        server.closed(HttpCloseReason::Evicted)
    );
    assert_eq!(server.metrics.http().open_connections(), limit as i64);

    for probe in 0..10 {
        let started = Instant::now();
        let mut stream = server.connect();
        let answer = get_on(&mut stream, "/healthz", false);
        let took = started.elapsed();
        assert_eq!(
            (answer.status, answer.body.as_str()),
            (200, "ok\n"),
            "probe {probe}"
        );
        assert!(
            took < Duration::from_secs(1),
            "probe {probe}: /healthz took {took:?} with {} sockets held",
            held.len()
        );
    }
    // The oldest connections gave their slots; none were answered 503.
    assert!(
        closes_within(&mut held[0], PATIENCE),
        "the oldest idle socket is closed"
    );
    assert_eq!(server.closed(HttpCloseReason::OverLimit), 0);
    assert!(server.metrics.http().open_connections() <= limit as i64);
    drop(held);
    server.stop();
}

#[test]
fn a_silent_or_half_sent_head_is_closed_after_the_header_read_timeout() {
    let timeout = Duration::from_millis(300);
    let server = TestServer::start(HttpLimits {
        header_read_timeout: timeout,
        ..patient_limits()
    });
    let started = Instant::now();
    let mut silent = server.connect();
    let mut half = server.connect();
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: te")
        .expect("half a head");
    assert!(closes_within(&mut silent, PATIENCE), "silent socket kept");
    assert!(closes_within(&mut half, PATIENCE), "half head kept");
    assert!(started.elapsed() >= timeout, "closed before the timeout");
    assert!(eventually(
        || server.closed(HttpCloseReason::HeaderTimeout) == 2
    ));
    server.stop();
}

#[test]
fn a_head_trickled_byte_by_byte_is_cut_off_at_the_header_read_timeout() {
    let timeout = Duration::from_millis(300);
    let server = TestServer::start(HttpLimits {
        header_read_timeout: timeout,
        ..patient_limits()
    });
    let mut slow = server.connect();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
        .expect("start of head");
    let started = Instant::now();
    // One byte every 20 ms: each byte is progress, but the whole head must still arrive
    // within the timeout. The pause paces the attacker; the test waits on the socket.
    let mut cut_off = false;
    for _ in 0..500 {
        if slow.write_all(b"a").is_err() {
            cut_off = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        cut_off,
        "a trickled head was served for {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() >= timeout);
    assert_eq!(server.closed(HttpCloseReason::HeaderTimeout), 1);
    server.stop();
}

#[test]
fn an_idle_keep_alive_connection_is_closed_after_the_idle_timeout() {
    let idle = Duration::from_millis(300);
    let server = TestServer::start(HttpLimits {
        idle_timeout: idle,
        ..patient_limits()
    });
    let mut stream = server.connect();
    assert_eq!(get_on(&mut stream, "/healthz", true).status, 200);
    assert_eq!(get_on(&mut stream, "/readyz", true).status, 200);
    let idle_since = Instant::now();
    assert!(closes_within(&mut stream, PATIENCE), "idle socket kept");
    assert!(
        idle_since.elapsed() >= idle,
        "closed before the idle timeout"
    );
    assert!(eventually(
        || server.closed(HttpCloseReason::IdleTimeout) == 1
    ));
    assert_eq!(server.closed(HttpCloseReason::HeaderTimeout), 0);
    server.stop();
}

#[test]
fn a_keep_alive_scraper_outlives_the_header_read_timeout_between_scrapes() {
    // hyper's own header timer also runs between requests; ours does not: a scraper that
    // waits longer than the header timeout between scrapes keeps its connection.
    let server = TestServer::start(HttpLimits {
        header_read_timeout: Duration::from_millis(100),
        ..patient_limits()
    });
    let mut stream = server.connect();
    for _ in 0..2 {
        let answer = get_on(&mut stream, "/metrics", true);
        assert_eq!(answer.status, 200);
        assert!(
            answer.body.contains("attendance_http_open_connections 1"),
            "{}",
            answer.body
        );
        assert!(
            !closes_within(&mut stream, Duration::from_millis(500)),
            "an idle keep-alive connection was closed by the header timeout"
        );
    }
    assert_eq!(server.closed(HttpCloseReason::HeaderTimeout), 0);
    server.stop();
}

#[test]
fn over_limit_connections_get_a_quick_503_when_every_slot_is_answering() {
    let (server, entered) = TestServer::start_with_hang(HttpLimits {
        max_connections: 2,
        ..patient_limits()
    });
    let mut busy: Vec<TcpStream> = (0..2).map(|_| server.connect()).collect();
    for stream in &mut busy {
        stream
            .write_all(b"GET /hang HTTP/1.1\r\nHost: test\r\n\r\n")
            .expect("send");
    }
    assert!(eventually(|| entered.load(Ordering::SeqCst) == 2));
    let mut over = server.connect();
    let answer = get_on(&mut over, "/healthz", false);
    assert_eq!((answer.status, answer.body.as_str()), (503, "busy\n"));
    assert!(
        answer.headers.contains("connection: close"),
        "{}",
        answer.headers
    );
    assert!(
        closes_within(&mut over, PATIENCE),
        "refused socket kept open"
    );
    assert_eq!(server.closed(HttpCloseReason::OverLimit), 1);
    assert_eq!(
        server.closed(HttpCloseReason::Evicted),
        0,
        "a busy slot was taken"
    );
}

#[test]
fn an_answer_not_taken_in_time_frees_its_slot() {
    let deadline = Duration::from_millis(300);
    let (server, entered) = TestServer::start_with_hang(HttpLimits {
        max_connections: 1,
        response_timeout: deadline,
        ..patient_limits()
    });
    let mut stuck = server.connect();
    let sent = Instant::now();
    stuck
        .write_all(b"GET /hang HTTP/1.1\r\nHost: test\r\n\r\n")
        .expect("send");
    assert!(eventually(|| entered.load(Ordering::SeqCst) == 1));
    assert!(closes_within(&mut stuck, PATIENCE), "stuck request kept");
    assert!(
        sent.elapsed() >= deadline,
        "closed before the response timeout"
    );
    assert_eq!(server.closed(HttpCloseReason::ResponseTimeout), 1);
    let mut next = server.connect();
    assert_eq!(get_on(&mut next, "/healthz", false).status, 200);
    server.stop();
}

#[test]
fn an_oversized_request_head_is_refused_with_431() {
    let server = TestServer::start(HttpLimits::default());
    let mut long = server.connect();
    let filler = "a".repeat(HttpLimits::MAX_HEADER_BYTES + 1);
    write!(
        long,
        "GET /healthz HTTP/1.1\r\nHost: test\r\nX-Fill: {filler}\r\n\r\n"
    )
    .expect("send");
    assert_eq!(read_answer(&mut long).status, 431);
    assert!(closes_within(&mut long, PATIENCE));

    let mut many = server.connect();
    let mut head = String::from("GET /healthz HTTP/1.1\r\nHost: test\r\n");
    for i in 0..=HttpLimits::MAX_HEADERS {
        head.push_str(&format!("X-H{i}: v\r\n"));
    }
    head.push_str("\r\n");
    many.write_all(head.as_bytes()).expect("send");
    assert_eq!(read_answer(&mut many).status, 431);

    // The listener is unharmed.
    let mut fine = server.connect();
    assert_eq!(get_on(&mut fine, "/healthz", false).status, 200);
    server.stop();
}

#[test]
fn shutdown_closes_idle_connections_and_returns() {
    let server = TestServer::start(patient_limits());
    let mut idle = server.connect();
    assert_eq!(get_on(&mut idle, "/healthz", true).status, 200);
    let _silent = server.connect();
    assert!(eventually(|| server.metrics.http().open_connections() == 2));
    server.stop();
    assert!(
        closes_within(&mut idle, PATIENCE),
        "idle socket kept after shutdown"
    );
}

#[test]
fn a_metrics_flood_on_connections_that_never_read_leaves_healthz_answered() {
    let server = TestServer::start(patient_limits());
    let limit = HttpLimits::MAX_CONNECTIONS;
    let mut flooders = Vec::new();
    for _ in 0..300 {
        let mut stream = server.connect();
        let request = b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n".repeat(50);
        stream.write_all(&request).expect("pipelined requests");
        flooders.push(stream);
    }
    assert!(
        eventually(|| server.closed(HttpCloseReason::Evicted) >= (300 - limit) as u64),
        "the listener did not take every flooding connection"
    );
    for probe in 0..10 {
        let started = Instant::now();
        let mut stream = server.connect();
        let answer = get_on(&mut stream, "/healthz", false);
        let took = started.elapsed();
        assert_eq!(answer.status, 200, "probe {probe}: {}", answer.body);
        assert!(took < Duration::from_secs(1), "probe {probe} took {took:?}");
    }
    assert_eq!(server.closed(HttpCloseReason::OverLimit), 0);
    drop(flooders);
    server.stop();
}
