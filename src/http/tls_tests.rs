//! The record API over TLS on a real socket: a CA and a leaf made at run time, `curl
//! --cacert` (when the machine has curl) and an OpenSSL client read a record; TLS 1.1 is
//! refused; plain HTTP on the TLS port gets no answer and the port keeps serving; stalled
//! handshakes are evicted by newcomers and closed by the header-read timeout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
use tokio_util::sync::CancellationToken;

use super::TlsAcceptor;
use crate::config::tls::{testing, TlsIdentity};
use crate::http::api::tests::{test_app, token};
use crate::http::{HttpLimits, HttpServer};
use crate::metrics::{HttpCloseReason, Metrics};

/// Header-read timeout of the test listener: long enough for a handshake on a loaded
/// machine, short enough to watch it act.
const HEAD_TIMEOUT: Duration = Duration::from_secs(2);

/// The files of a test PKI, and the address of a TLS listener serving the record API.
struct Served {
    dir: tempfile::TempDir,
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    expected: serde_json::Value,
    stop: CancellationToken,
}

async fn serve_tls(max_connections: usize) -> Served {
    let pki = testing::pki();
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, &pki.chain_pem).expect("write");
    std::fs::write(&key, &pki.key_pem).expect("write");
    std::fs::write(dir.path().join("ca.pem"), &pki.ca_pem).expect("write");
    let identity = TlsIdentity::read(&cert, &key).expect("identity");
    let acceptor = TlsAcceptor::new(&identity).expect("acceptor");
    let limits = HttpLimits {
        header_read_timeout: HEAD_TIMEOUT,
        max_connections,
        ..HttpLimits::default()
    };
    let server = HttpServer::bind(([127, 0, 0, 1], 0).into())
        .await
        .expect("bind")
        .with_limits(limits)
        .with_tls(acceptor);
    let addr = server.local_addr();
    let metrics = Arc::new(Metrics::new());
    let (app, expected, _pipeline) = test_app(Arc::new(Metrics::new()));
    let stop = CancellationToken::new();
    let token = stop.clone();
    let connections = metrics.clone();
    tokio::spawn(async move {
        server
            .serve_router(app, connections, async move { token.cancelled().await })
            .await
    });
    Served {
        dir,
        addr,
        metrics,
        expected,
        stop,
    }
}

/// `GET /v1/employees/e-1/record` as e-1 with an OpenSSL client trusting `ca`, TLS versions
/// limited to `versions`: the status line and body, or the handshake's error.
fn openssl_get(
    addr: SocketAddr,
    ca: &Path,
    versions: (SslVersion, SslVersion),
) -> Result<(String, String, String), String> {
    let mut builder = SslConnector::builder(SslMethod::tls_client()).map_err(|e| e.to_string())?;
    builder.set_ca_file(ca).map_err(|e| e.to_string())?;
    builder.set_verify(SslVerifyMode::PEER);
    // Let the client offer old versions at all (OpenSSL 3 refuses TLS < 1.2 at its default
    // security level): the refusal seen is then the server's.
    builder
        .set_cipher_list("DEFAULT:@SECLEVEL=0")
        .map_err(|e| e.to_string())?;
    builder
        .set_min_proto_version(Some(versions.0))
        .map_err(|e| e.to_string())?;
    builder
        .set_max_proto_version(Some(versions.1))
        .map_err(|e| e.to_string())?;
    builder
        .set_alpn_protos(b"\x02h2\x08http/1.1")
        .map_err(|e| e.to_string())?;
    let connector = builder.build();
    let tcp = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| e.to_string())?;
    let mut tls = connector
        .connect("localhost", tcp)
        .map_err(|e| e.to_string())?;
    let negotiated = format!(
        "{} {}",
        tls.ssl().version_str(),
        String::from_utf8_lossy(tls.ssl().selected_alpn_protocol().unwrap_or_default())
    );
    write!(
        tls,
        "GET /v1/employees/e-1/record HTTP/1.1\r\nHost: localhost\r\n\
         Authorization: Bearer {}\r\nConnection: close\r\n\r\n",
        token("e-1")
    )
    .map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    // A peer that closes without close_notify ends the read with an error after the data.
    let _ = tls.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    Ok((negotiated, status, body.to_owned()))
}

/// Reads until the server closes the connection; how long that took, and what it sent.
fn until_closed(mut stream: TcpStream) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut received = Vec::new();
    let mut buf = [0_u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server did not close the connection: {e}"),
        }
    }
    (started.elapsed(), received)
}

/// A connection that sends the first bytes of a TLS ClientHello and stalls.
fn stalled_handshake(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).expect("connect");
    // A handshake record header announcing 512 bytes that never come.
    stream
        .write_all(&[0x16, 0x03, 0x01, 0x02, 0x00])
        .expect("send");
    stream
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_api_is_served_over_tls_and_plain_http_is_refused() {
    let served = serve_tls(2).await;
    let addr = served.addr;
    let ca = served.dir.path().join("ca.pem");

    // curl, as a portal developer would call it.
    let curl = {
        let ca = ca.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new("curl")
                .args(["-sS", "--max-time", "10", "--cacert"])
                .arg(&ca)
                .arg("--resolve")
                .arg(format!("localhost:{}:127.0.0.1", addr.port()))
                .arg("-H")
                .arg(format!("Authorization: Bearer {}", token("e-1")))
                .args(["-w", "\n%{http_code} %{ssl_verify_result}"])
                .arg(format!(
                    "https://localhost:{}/v1/employees/e-1/record",
                    addr.port()
                ))
                .output()
        })
        .await
        .expect("curl task")
    };
    match curl {
        Ok(output) => {
            let stdout = String::from_utf8_lossy(&output.stdout);
            assert!(
                output.status.success(),
                "curl failed: {stdout} {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let (body, codes) = stdout.rsplit_once('\n').expect("curl's -w line");
            assert_eq!(codes, "200 0", "status and certificate verification");
            let body: serde_json::Value = serde_json::from_str(body).expect("json body");
            assert_eq!(body, served.expected);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            eprintln!("curl is not installed: only the OpenSSL client is checked");
        }
        Err(e) => panic!("cannot run curl: {e}"),
    }

    // An OpenSSL client: TLS 1.2 and 1.3 are served, over HTTP/1.1 by ALPN.
    for version in [SslVersion::TLS1_2, SslVersion::TLS1_3] {
        let ca = ca.clone();
        let answer =
            tokio::task::spawn_blocking(move || openssl_get(addr, &ca, (version, version)))
                .await
                .expect("client task");
        let (negotiated, status, body) = answer.expect("a TLS 1.2 or 1.3 client is served");
        assert!(negotiated.ends_with(" http/1.1"), "{negotiated}");
        assert_eq!(status, "HTTP/1.1 200 OK");
        let body: serde_json::Value = serde_json::from_str(&body).expect("json body");
        assert_eq!(body, served.expected);
    }
    // TLS 1.1 is refused by the server (the same client offering 1.2 is served above).
    let old = {
        let ca = ca.clone();
        tokio::task::spawn_blocking(move || {
            openssl_get(addr, &ca, (SslVersion::TLS1, SslVersion::TLS1_1))
        })
        .await
        .expect("client task")
    };
    assert!(old.is_err(), "TLS 1.1 was served: {old:?}");

    // Plain HTTP on the TLS port: no HTTP answer, the connection is closed at once.
    let plain = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(addr).expect("connect");
        stream
            .write_all(b"GET /v1/employees/e-1/record HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .expect("send");
        until_closed(stream)
    })
    .await
    .expect("plain task");
    assert!(!plain.1.starts_with(b"HTTP/"), "answered in plain HTTP");
    assert!(plain.0 < HEAD_TIMEOUT, "closed at once, not by a timeout");

    // Every connection so far has ended (so the slots below are the stalled ones): a
    // condition polled with a deadline.
    let deadline = Instant::now() + Duration::from_secs(5);
    while served.metrics.http().open_connections() != 0 {
        assert!(Instant::now() < deadline, "connections left open");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // Two stalled handshakes fill both slots; a TLS client still gets its answer (the
    // oldest stalled connection gives up its slot), and the other is closed by the
    // header-read timeout.
    let stalled = tokio::task::spawn_blocking(move || {
        let first = stalled_handshake(addr);
        let second = stalled_handshake(addr);
        let served = openssl_get(addr, &ca, (SslVersion::TLS1_2, SslVersion::TLS1_3));
        (until_closed(first).0, until_closed(second).0, served)
    })
    .await
    .expect("stall task");
    let (evicted_after, timed_out_after, answer) = stalled;
    let (_, status, _) = answer.expect("served while two handshakes stall");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(evicted_after < HEAD_TIMEOUT, "evicted: {evicted_after:?}");
    assert!(timed_out_after < HEAD_TIMEOUT * 3, "{timed_out_after:?}");
    // The listener counts a close just after the socket is closed: poll with a deadline.
    let http = served.metrics.http();
    let deadline = Instant::now() + Duration::from_secs(5);
    while http.closed(HttpCloseReason::HeaderTimeout) < 1
        || http.closed(HttpCloseReason::Evicted) < 1
    {
        assert!(Instant::now() < deadline, "closes not counted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(http.closed(HttpCloseReason::Evicted), 1);
    assert_eq!(http.closed(HttpCloseReason::HeaderTimeout), 1);
    served.stop.cancel();
}
