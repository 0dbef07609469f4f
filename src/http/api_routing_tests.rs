//! Routing between two record-API routers over real sockets: instance B holds partition 0,
//! owner A holds partition 1 and serves on a loopback port. B forwards A's employees to A
//! and returns A's answer; each request is audited once, by whoever answered it; a request
//! that was forwarded already, an employee without a known owner, an unreachable owner and
//! a silent owner get 503 from B.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::api::requests::{channel, Requests};
use crate::api::routing::{partition_for, InstanceEntry, FORWARDED_HEADER};
use crate::api::{resolve, AccessRecord, Directory, Held, Verifier};
use crate::clock::FixedClock;
use crate::domain::Timestamp;
use crate::engine::tests::Company;
use crate::engine::Engine;
use crate::http::forward::Forwarder;
use crate::http::HttpServer;
use crate::metrics::Metrics;

use super::{Audit, Routing};

const SECRET: &[u8] = b"a test-only HS256 secret of more than 32 bytes";

/// Audit records, kept.
#[derive(Default)]
struct Kept(Mutex<Vec<AccessRecord>>);

impl crate::api::AuditSink for Kept {
    fn write(&self, record: &AccessRecord) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(record.clone());
    }
}

impl Kept {
    fn outcomes(&self) -> Vec<(u16, String)> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|r| (r.outcome, r.instance.clone()))
            .collect()
    }
}

fn token(sub: &str) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 600;
    let claims = serde_json::json!({"sub": sub, "aud": "attendance", "exp": exp});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .expect("token")
}

/// The first id `e-<n>` in `partition` of 2.
fn id_in(partition: i32) -> String {
    (0..)
        .map(|n| format!("e-{n}"))
        .find(|id| partition_for(id.as_bytes(), 2) == Some(partition))
        .expect("some id")
}

/// A pipeline stand-in holding `partition` (of 2) with `engine`, until the channel closes.
fn pipeline(partition: i32, engine: Engine, requests: Requests) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while let Ok(request) = requests.recv() {
            let held = Held {
                partition,
                ready: true,
                engine: &engine,
            };
            let _ = request.reply.send(resolve([held], 2, &request.employee_id));
        }
    })
}

/// One instance: its router, metrics, audit records and pipeline thread.
struct Instance {
    app: axum::Router,
    metrics: Arc<Metrics>,
    kept: Arc<Kept>,
    thread: std::thread::JoinHandle<()>,
}

fn instance(name: &str, partition: i32, engine: Engine, routing: Option<Routing>) -> Instance {
    let (requester, requests) = channel();
    let thread = pipeline(partition, engine, requests);
    let verifier = Verifier::new("attendance", None, Some(SECRET)).expect("verifier");
    let metrics = Arc::new(Metrics::new());
    let kept = Arc::new(Kept::default());
    let clock = Arc::new(FixedClock(Timestamp::from_unix(1_780_000_000, 0)));
    let audit = Arc::new(Audit::new(kept.clone(), name.into(), clock));
    let app = super::router(
        Arc::new(verifier),
        requester,
        metrics.clone(),
        audit,
        routing.map(Arc::new),
    );
    Instance {
        app,
        metrics,
        kept,
        thread,
    }
}

/// A directory of instance `own` in which `owner` serves partition 1 at `url`.
fn directory(own: &str, owner: Option<(&str, &str)>) -> Arc<RwLock<Directory>> {
    let mut d = Directory::new(own);
    if let Some((owner, url)) = owner {
        let entry = InstanceEntry::new(owner, url, &[1], Timestamp::from_unix(1_780_000_000, 0));
        let value = serde_json::to_vec(&entry).expect("json");
        d.apply(Some(owner.as_bytes()), Some(&value))
            .expect("entry");
    }
    Arc::new(RwLock::new(d))
}

fn routing(own: &str, owner: Option<(&str, &str)>, timeout: Duration) -> Routing {
    Routing {
        directory: directory(own, owner),
        forwarder: Forwarder::plain(own, timeout),
    }
}

/// `GET path` through `app`: status, `Retry-After`, body.
async fn get(
    app: &axum::Router,
    path: &str,
    bearer: Option<&str>,
    forwarded: bool,
) -> (StatusCode, Option<String>, String) {
    let mut request = Request::get(path);
    if let Some(t) = bearer {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    if forwarded {
        request = request.header(FORWARDED_HEADER, "someone");
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (status, retry, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test]
async fn a_request_for_another_instances_employee_is_answered_by_its_owner_and_audited_once() {
    let (mine, theirs) = (id_in(0), id_in(1));
    let mut c = Company::new();
    c.employee(&theirs, "corporate", "SEA-1");
    let owner_engine = c.processor.engine().clone();
    let expected = serde_json::to_value(owner_engine.record(&theirs)).expect("json");
    let mut c = Company::new();
    c.employee(&mine, "corporate", "SEA-1");
    let my_engine = c.processor.engine().clone();

    // Owner A, on a real socket.
    let a = instance("owner-a", 1, owner_engine, None);
    let server = HttpServer::bind(([127, 0, 0, 1], 0).into())
        .await
        .expect("bind");
    let url = format!("http://{}", server.local_addr());
    let stop = CancellationToken::new();
    let served = {
        let (app, metrics, stop) = (a.app.clone(), Arc::new(Metrics::new()), stop.clone());
        tokio::spawn(async move {
            server
                .serve_router(app, metrics, async move { stop.cancelled().await })
                .await
        })
    };

    let b = instance(
        "b",
        0,
        my_engine,
        Some(routing(
            "b",
            Some(("owner-a", &url)),
            Duration::from_secs(2),
        )),
    );
    let path = format!("/v1/employees/{theirs}/record");

    // The owner's record, as the owner answers it.
    let (status, _, body) = get(&b.app, &path, Some(&token(&theirs)), false).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(body, expected);
    // The owner authorizes: a stranger gets its 403.
    let (status, _, _) = get(&b.app, &path, Some(&token("a-stranger")), false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // B's own employee is answered by B.
    let (status, _, _) = get(
        &b.app,
        &format!("/v1/employees/{mine}/record"),
        Some(&token(&mine)),
        false,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // Without a token nothing is forwarded: 401 from B.
    let (status, _, _) = get(&b.app, &path, None, false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A request forwarded already is never forwarded again.
    let (status, retry, _) = get(&b.app, &path, Some(&token(&theirs)), true).await;
    assert_eq!(
        (status, retry.as_deref()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("2"))
    );

    assert_eq!(
        a.kept.outcomes(),
        [(200, "owner-a".into()), (403, "owner-a".into())],
        "the owner audits what it answered"
    );
    assert_eq!(
        b.kept.outcomes(),
        [(200, "b".into()), (401, "b".into()), (503, "b".into())],
        "B audits only what it answered itself"
    );
    assert_eq!(b.metrics.http().api_forwards("forwarded"), 2);
    assert_eq!(b.metrics.http().api_forwards("loop"), 1);
    assert_eq!(a.metrics.http().api_requests(200), 1);
    assert_eq!(b.metrics.http().api_requests(200), 1);

    stop.cancel();
    served.await.expect("server task").expect("served");
    for i in [a, b] {
        drop(i.app);
        i.thread.join().expect("pipeline thread");
    }
}

#[tokio::test]
async fn without_a_known_or_reachable_owner_the_answer_is_503_with_retry_after() {
    let theirs = id_in(1);
    let path = format!("/v1/employees/{theirs}/record");
    // A port nobody listens on.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", listener.local_addr().expect("address"))
    };
    // An owner that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let silent_url = format!("http://{}", silent.local_addr().expect("address"));
    let holding = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            held.push(socket);
        }
    });
    let timeout = Duration::from_millis(300);
    for (owner, result) in [
        (None, "no_owner"),
        (Some(closed.as_str()), "unreachable"),
        (Some(silent_url.as_str()), "unreachable"),
    ] {
        let b = instance(
            "b",
            0,
            Company::new().processor.engine().clone(),
            Some(routing("b", owner.map(|url| ("owner-a", url)), timeout)),
        );
        let started = std::time::Instant::now();
        let (status, retry, _) = get(&b.app, &path, Some(&token(&theirs)), false).await;
        assert_eq!(
            (status, retry.as_deref()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("2")),
            "{owner:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(2), "bounded wait");
        assert_eq!(b.metrics.http().api_forwards(result), 1, "{owner:?}");
        assert_eq!(b.kept.outcomes(), [(503, "b".into())], "{owner:?}");
        drop(b.app);
        b.thread.join().expect("pipeline thread");
    }
    holding.abort();
}

/// Forwarding over TLS: the owner serves HTTPS with a certificate made now, B verifies it.
mod tls {
    use std::path::Path;

    use super::*;
    use crate::config::tls::{testing, ForwardTrust, TlsIdentity};
    use crate::http::tls::{TlsAcceptor, TlsConnector};

    /// A server task and what stops it.
    struct Serving {
        stop: CancellationToken,
        task: tokio::task::JoinHandle<std::io::Result<()>>,
    }

    impl Serving {
        /// Stops the server and waits for it (it holds a clone of the router).
        async fn end(self) {
            self.stop.cancel();
            self.task.await.expect("server task").expect("served");
        }
    }

    /// Owner A (partition 1) serving HTTPS on 127.0.0.1 with `pki`'s chain and key: the
    /// instance, its URL and its server.
    async fn tls_owner(
        dir: &Path,
        pki: &testing::TestPki,
        engine: Engine,
    ) -> (Instance, String, Serving) {
        let (cert, key) = (dir.join("owner-cert.pem"), dir.join("owner-key.pem"));
        std::fs::write(&cert, &pki.chain_pem).expect("write");
        std::fs::write(&key, &pki.key_pem).expect("write");
        let identity = TlsIdentity::read(&cert, &key).expect("identity");
        let a = instance("owner-a", 1, engine, None);
        let server = HttpServer::bind(([127, 0, 0, 1], 0).into())
            .await
            .expect("bind")
            .with_tls(TlsAcceptor::new(&identity).expect("acceptor"));
        let url = format!("https://{}", server.local_addr());
        let stop = CancellationToken::new();
        let (app, metrics, token) = (a.app.clone(), Arc::new(Metrics::new()), stop.clone());
        let task = tokio::spawn(async move {
            server
                .serve_router(app, metrics, async move { token.cancelled().await })
                .await
        });
        (a, url, Serving { stop, task })
    }

    /// Instance B (partition 0, TLS on: forwards over TLS only) trusting `trust`, with A at
    /// `url`.
    fn tls_b(url: &str, trust: &ForwardTrust) -> Instance {
        let tls = TlsConnector::new(trust).expect("TLS client");
        let routing = Routing {
            directory: directory("b", Some(("owner-a", url))),
            forwarder: Forwarder::with_timeout("b", tls, true, Duration::from_secs(2)),
        };
        instance(
            "b",
            0,
            Company::new().processor.engine().clone(),
            Some(routing),
        )
    }

    fn write(dir: &Path, name: &str, pem: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, pem).expect("write");
        path
    }

    fn end(instances: impl IntoIterator<Item = Instance>) {
        for i in instances {
            drop(i.app);
            i.thread.join().expect("pipeline thread");
        }
    }

    #[tokio::test]
    async fn a_request_is_forwarded_over_tls_to_an_owner_whose_certificate_b_trusts() {
        let theirs = id_in(1);
        let mut c = Company::new();
        c.employee(&theirs, "corporate", "SEA-1");
        let owner_engine = c.processor.engine().clone();
        let expected = serde_json::to_value(owner_engine.record(&theirs)).expect("json");
        let dir = tempfile::tempdir().expect("tempdir");
        let pki = testing::pki();
        let (a, url, serving) = tls_owner(dir.path(), &pki, owner_engine).await;
        let path = format!("/v1/employees/{theirs}/record");

        // The leaf alone: a StatefulSet whose instances share one certificate.
        let leaf = openssl::x509::X509::stack_from_pem(&pki.chain_pem)
            .expect("chain")
            .remove(0)
            .to_pem()
            .expect("pem");
        let trusts = [
            // api.forward_ca_file = the CA.
            ForwardTrust::read(Some(&write(dir.path(), "ca.pem", &pki.ca_pem)), None),
            // The default: system roots plus B's own chain (leaf and CA), the same as A's.
            ForwardTrust::read(None, Some(&write(dir.path(), "b.pem", &pki.chain_pem))),
            // The default with a chain file holding only the shared leaf.
            ForwardTrust::read(None, Some(&write(dir.path(), "leaf.pem", &leaf))),
        ];
        let mut bs = Vec::new();
        for trust in trusts {
            let trust = trust.expect("trust");
            let b = tls_b(&url, &trust);
            let (status, _, body) = get(&b.app, &path, Some(&token(&theirs)), false).await;
            assert_eq!(status, StatusCode::OK, "{trust:?}: {body}");
            let body: serde_json::Value = serde_json::from_str(&body).expect("json");
            assert_eq!(body, expected);
            assert_eq!(b.metrics.http().api_forwards("forwarded"), 1);
            assert!(b.kept.outcomes().is_empty(), "the owner audits it");
            bs.push(b);
        }
        assert_eq!(a.kept.outcomes(), vec![(200, "owner-a".to_owned()); 3]);
        assert_eq!(a.metrics.http().api_requests(200), 3);
        serving.end().await;
        end(bs);
        end([a]);
    }

    #[tokio::test]
    async fn an_owner_b_cannot_verify_gets_nothing_and_the_caller_503() {
        let theirs = id_in(1);
        let path = format!("/v1/employees/{theirs}/record");
        let dir = tempfile::tempdir().expect("tempdir");
        let trusted = testing::pki();
        let ca = write(dir.path(), "ca.pem", &trusted.ca_pem);
        let trust = ForwardTrust::read(Some(&ca), None).expect("trust");
        let cases = [
            // For 127.0.0.1, signed by another CA of the same name (an impostor CA).
            ("certificate signature failure", testing::pki()),
            // Signed by the trusted CA, for another host name than the URL's 127.0.0.1.
            (
                "IP address mismatch",
                testing::leaf_signed_by(&trusted, "pod-0.example"),
            ),
        ];
        for (case, pki) in cases {
            let owner = Company::new().processor.engine().clone();
            let (a, url, serving) = tls_owner(dir.path(), &pki, owner).await;
            let b = tls_b(&url, &trust);
            let (status, retry, _) = get(&b.app, &path, Some(&token(&theirs)), false).await;
            assert_eq!(
                (status, retry.as_deref()),
                (StatusCode::SERVICE_UNAVAILABLE, Some("2")),
                "{case}"
            );
            assert_eq!(b.metrics.http().api_forwards("unreachable"), 1, "{case}");
            assert_eq!(b.kept.outcomes(), [(503, "b".into())], "{case}");
            // Why: the certificate check, named.
            let forwarder = Forwarder::with_timeout(
                "b",
                TlsConnector::new(&trust).expect("TLS client"),
                true,
                Duration::from_secs(2),
            );
            let direct = forwarder.forward(&url, &path, Some(b"Bearer t")).await;
            assert!(
                matches!(&direct, Err(crate::http::forward::ForwardError::Unreachable(why))
                    if why.contains("certificate verification failed") && why.contains(case)),
                "{case}: {direct:?}"
            );
            // The handshake failed: no request (so no token) reached the owner.
            assert!(a.kept.outcomes().is_empty(), "{case}");
            serving.end().await;
            end([a, b]);
        }
    }

    #[tokio::test]
    async fn an_instance_serving_tls_never_forwards_to_a_plain_http_owner() {
        let theirs = id_in(1);
        let path = format!("/v1/employees/{theirs}/record");
        let mut c = Company::new();
        c.employee(&theirs, "corporate", "SEA-1");
        let a = instance("owner-a", 1, c.processor.engine().clone(), None);
        let server = HttpServer::bind(([127, 0, 0, 1], 0).into())
            .await
            .expect("bind");
        let url = format!("http://{}", server.local_addr());
        let stop = CancellationToken::new();
        let (app, metrics, token_) = (a.app.clone(), Arc::new(Metrics::new()), stop.clone());
        let served = tokio::spawn(async move {
            server
                .serve_router(app, metrics, async move { token_.cancelled().await })
                .await
        });
        let trust = ForwardTrust::read(None, None).expect("trust");
        let b = tls_b(&url, &trust);
        let (status, _, _) = get(&b.app, &path, Some(&token(&theirs)), false).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(b.metrics.http().api_forwards("unreachable"), 1);
        assert!(
            a.kept.outcomes().is_empty(),
            "nothing was sent to the owner"
        );
        stop.cancel();
        served.await.expect("server task").expect("served");
        end([a, b]);
    }
}
