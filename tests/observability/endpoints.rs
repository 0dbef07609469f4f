//! /metrics, /healthz and /readyz, in-process through the router, and once over TCP.

use std::sync::Arc;

use attendance_compliance::health::{Health, Phase};
use attendance_compliance::http::{router, HttpServer, METRICS_CONTENT_TYPE};
use attendance_compliance::metrics::Metrics;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

async fn get(app: &axum::Router, path: &str) -> (StatusCode, String, String) {
    let response = app
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).expect("request"))
        .await
        .expect("router answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .expect("body");
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).expect("utf-8"),
    )
}

#[tokio::test]
async fn readyz_follows_the_phase_and_healthz_is_always_ok() {
    let health = Health::new();
    let app = router(Arc::new(Metrics::new()), health.clone());
    type Step = (fn(&Health), (String, StatusCode));
    let expect = |phase: &str, code: StatusCode| (phase.to_owned(), code);
    let steps: [Step; 4] = [
        (|_| {}, expect("starting", StatusCode::SERVICE_UNAVAILABLE)),
        (
            Health::set_restoring,
            expect("restoring", StatusCode::SERVICE_UNAVAILABLE),
        ),
        (Health::set_ready, expect("ready", StatusCode::OK)),
        (
            Health::set_stopping,
            expect("stopping", StatusCode::SERVICE_UNAVAILABLE),
        ),
    ];
    for (step, (word, code)) in steps {
        step(&health);
        let (status, _, body) = get(&app, "/readyz").await;
        assert_eq!((status, body.trim()), (code, word.as_str()));
        let (status, _, body) = get(&app, "/healthz").await;
        assert_eq!((status, body.trim()), (StatusCode::OK, "ok"));
    }
    // Stopping is final.
    health.set_ready();
    assert_eq!(health.phase(), Phase::Stopping);
    let (status, _, _) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn metrics_are_served_in_the_text_format() {
    let metrics = Arc::new(Metrics::new());
    crate::helpers::drive_basic_week(&metrics);
    let app = router(metrics, Health::new());
    let (status, content_type, body) = get(&app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type, METRICS_CONTENT_TYPE);
    assert!(
        body.contains("# TYPE attendance_input_messages_total counter"),
        "{body}"
    );
    assert!(body.contains("attendance_build_info{version="), "{body}");
    let (status, _, _) = get(&app, "/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_bound_server_answers_on_its_port_and_stops_on_shutdown() {
    let server = HttpServer::bind("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("bind port 0");
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);
    let health = Health::new();
    health.set_ready();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.serve(Arc::new(Metrics::new()), health, async {
        let _ = stopped.await;
    }));
    let answer = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(addr).expect("connect");
        stream
            .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .expect("write");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("read");
        answer
    })
    .await
    .expect("client");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ready\n"), "{answer}");
    stop.send(()).expect("server still running");
    task.await.expect("join").expect("served without error");
}
