//! The record API router end to end in-process: a token, the channel to a stand-in
//! pipeline thread answering from a real engine, the answer's headers and the metric.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use crate::api::requests::{answer_pending, channel, Requests};
use crate::api::{resolve, AccessRecord, Held, Verifier};
use crate::clock::FixedClock;
use crate::domain::Timestamp;
use crate::engine::tests::Company;
use crate::engine::Engine;
use crate::metrics::Metrics;

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

fn audit(kept: &Arc<Kept>) -> Arc<super::Audit> {
    let clock = Arc::new(FixedClock(Timestamp::from_unix(1_780_000_000, 0)));
    Arc::new(super::Audit::new(kept.clone(), "test-0".into(), clock))
}

/// An HS256 token for `sub` (with `roles` when given), valid for ten minutes.
pub(in crate::http) fn token_with_roles(sub: &str, roles: &[&str]) -> String {
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        + 600;
    let claims = serde_json::json!({"sub": sub, "aud": "attendance", "exp": exp, "roles": roles});
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .expect("token")
}

/// An HS256 token for `sub`, valid for ten minutes.
pub(in crate::http) fn token(sub: &str) -> String {
    token_with_roles(sub, &[])
}

/// A record API router answering from a stand-in pipeline thread whose engine holds `e-1`
/// (reporting to `m-1`) and `e-2`; the record `e-1` gets, and the pipeline thread (it ends
/// when the router is dropped).
pub(in crate::http) fn test_app(
    metrics: Arc<Metrics>,
) -> (axum::Router, serde_json::Value, std::thread::JoinHandle<()>) {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    c.employee("e-2", "corporate", "SEA-1");
    // One closed week (a decision) and an open one, so the record has every part.
    c.kickoff("2026-05-04T00:00:00-07:00");
    for day in ["2026-05-04", "2026-05-05", "2026-05-12"] {
        let at = format!("{day}T09:00:00-07:00");
        assert_eq!(
            c.badge("e-1", "SEA-1", &at),
            crate::processor::Outcome::Applied
        );
    }
    c.advance("2026-05-13T10:00:00-07:00");
    let engine = c.processor.engine().clone();
    let expected = serde_json::to_value(engine.record("e-1")).expect("json");
    let (requester, requests) = channel();
    let thread = pipeline(engine, requests);
    let verifier = Verifier::new("attendance", None, Some(SECRET)).expect("verifier");
    let kept = Arc::new(Kept::default());
    let app = super::router(Arc::new(verifier), requester, metrics, audit(&kept), None);
    (app, expected, thread)
}

/// Answers requests from `engine` (ready, every partition here) until the channel closes.
fn pipeline(engine: Engine, requests: Requests) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while let Ok(first) = requests.recv() {
            let resolved = resolve(
                [Held {
                    partition: 0,
                    ready: true,
                    engine: &engine,
                }],
                1,
                &first.employee_id,
            );
            let _ = first.reply.send(resolved);
            answer_pending(&requests, |id| {
                resolve(
                    [Held {
                        partition: 0,
                        ready: true,
                        engine: &engine,
                    }],
                    1,
                    id,
                )
            });
        }
    })
}

async fn get(app: &axum::Router, path: &str, bearer: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get(path);
    if let Some(t) = bearer {
        request = request.header("authorization", format!("Bearer {t}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let challenge = response.headers().get("www-authenticate").cloned();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    if status == StatusCode::UNAUTHORIZED {
        assert!(challenge.is_some_and(|c| c.as_bytes().starts_with(b"Bearer")));
    }
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// A record API router whose pipeline has stopped: every authenticated request is answered
/// 503.
pub(in crate::http) fn app_without_pipeline() -> axum::Router {
    let (requester, requests) = channel();
    drop(requests);
    let verifier = Verifier::new("attendance", None, Some(SECRET)).expect("verifier");
    let kept = Arc::new(Kept::default());
    super::router(
        Arc::new(verifier),
        requester,
        Arc::new(Metrics::new()),
        audit(&kept),
        None,
    )
}

#[tokio::test]
async fn the_router_answers_through_the_pipeline_and_counts_outcomes() {
    let mut c = Company::new();
    c.employee("e-1", "corporate", "SEA-1");
    let engine = c.processor.engine().clone();
    let expected = serde_json::to_value(engine.record("e-1")).expect("json");
    let (requester, requests) = channel();
    let thread = pipeline(engine, requests);
    let verifier = Verifier::new("attendance", None, Some(SECRET)).expect("verifier");
    let metrics = Arc::new(Metrics::new());
    let kept = Arc::new(Kept::default());
    let app = super::router(
        Arc::new(verifier),
        requester,
        metrics.clone(),
        audit(&kept),
        None,
    );

    let (status, body) = get(&app, "/v1/employees/e-1/record", Some(&token("e-1"))).await;
    assert_eq!(status, StatusCode::OK);
    let body: serde_json::Value = serde_json::from_str(&body).expect("json body");
    assert_eq!(body, expected);
    let (status, _) = get(&app, "/v1/employees/e-1/record", Some(&token("e-2"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = get(&app, "/v1/employees/e-1/record", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = get(&app, "/v1/employees/../record", Some(&token("e-1"))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    for (outcome, n) in [(200, 1), (403, 1), (401, 1), (404, 1), (503, 0)] {
        assert_eq!(metrics.http().api_requests(outcome), n, "{outcome}");
    }
    drop(app);
    thread.join().expect("pipeline thread");
    let kept = kept
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let seen: Vec<(u16, Option<&str>, Option<&str>)> = kept
        .iter()
        .map(|r| (r.outcome, r.caller.as_deref(), r.employee_id.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            (200, Some("e-1"), Some("e-1")),
            (403, Some("e-2"), Some("e-1")),
            (401, None, None),
            (404, Some("e-1"), None),
        ]
    );
    let ids: std::collections::BTreeSet<&str> = kept.iter().map(|r| r.access_id.as_str()).collect();
    assert_eq!(ids.len(), 4, "one access id per request");
    assert!(kept.iter().all(|r| r.instance == "test-0"));
}

#[tokio::test]
async fn without_a_pipeline_answer_the_router_says_retry() {
    let app = app_without_pipeline();
    let response = app
        .oneshot(
            Request::get("/v1/employees/e-1/record")
                .header("authorization", format!("Bearer {}", token("e-1")))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("infallible");
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        response
            .headers()
            .get("retry-after")
            .map(|v| v.as_bytes().to_vec()),
        Some(b"2".to_vec())
    );
}
