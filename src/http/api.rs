//! The record API listener's router (SPEC §10): every request goes through
//! [`crate::api::answer`]; the state comes from the pipeline thread through a
//! [`Requester`]. Served by [`super::HttpServer::serve_router`] under the metrics listener's
//! limits (timeouts, connection limit, header bounds).
//!
//! Routing (SPEC §10 "Routing"): when the pipeline says the employee's partition is served
//! by another instance ([`Lookup::Elsewhere`]), the request is forwarded to the owner the
//! instance directory names ([`crate::api::decide`], [`super::forward`]) and the owner's
//! answer returned as is. Each request is audited once, by the instance that produced the
//! answer: the owner for a forwarded request, this instance when it answers itself (a 503
//! because no owner is known, the owner is unreachable, or the request was forwarded here
//! already).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::api::lookup::RETRY_AFTER_SECONDS;
use crate::api::requests::Requester;
use crate::api::routing::FORWARDED_HEADER;
use crate::api::{
    answer, decide, route, AccessRecord, AuditSink, Decision, Directory, Lookup, Resolved, Route,
    Verifier,
};
use crate::clock::Clock;
use crate::metrics::Metrics;

/// Audits every answer: who asked, for whom, what they got.
pub struct Audit {
    sink: Arc<dyn AuditSink>,
    instance: String,
    clock: Arc<dyn Clock>,
    /// Starts at the start-up instant in microseconds, so access ids of a restarted
    /// instance do not repeat the previous run's.
    sequence: AtomicU64,
}

impl Audit {
    /// Audits to `sink` as `instance`, timestamps from `clock`.
    pub fn new(sink: Arc<dyn AuditSink>, instance: String, clock: Arc<dyn Clock>) -> Self {
        let now = clock.now();
        let start = u64::try_from(now.unix_seconds()).unwrap_or(0) * 1_000_000
            + u64::from(now.subsec_nanos() / 1_000);
        Self {
            sink,
            instance,
            clock,
            sequence: AtomicU64::new(start),
        }
    }

    fn record(&self, answer: &crate::api::Answer) {
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        let record = AccessRecord::of(answer, self.clock.now(), &self.instance, sequence);
        self.sink.write(&record);
    }
}

/// Where requests for other instances' employees go.
#[derive(Debug)]
pub struct Routing {
    /// The instance directory, kept current by `crate::kafka::instances::DirectoryReader`.
    pub directory: Arc<RwLock<Directory>>,
    /// Forwards to the owners.
    pub forwarder: super::forward::Forwarder,
}

#[derive(Clone)]
struct ApiState {
    verifier: Arc<Verifier>,
    requester: Requester,
    metrics: Arc<Metrics>,
    audit: Arc<Audit>,
    routing: Option<Arc<Routing>>,
}

/// The router answering every path with the record API; without `routing`, employees of
/// other instances get 503.
pub fn router(
    verifier: Arc<Verifier>,
    requester: Requester,
    metrics: Arc<Metrics>,
    audit: Arc<Audit>,
    routing: Option<Arc<Routing>>,
) -> Router {
    Router::new().fallback(handle).with_state(ApiState {
        verifier,
        requester,
        metrics,
        audit,
        routing,
    })
}

async fn handle(State(state): State<ApiState>, request: Request) -> Response {
    let method = request.method().as_str().to_owned();
    let target = request.uri().path_and_query().map_or_else(
        || request.uri().path().to_owned(),
        |p| p.as_str().to_owned(),
    );
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes().to_vec());
    // Ask the pipeline only for an authenticated GET of a valid id.
    let resolved = match route(&target) {
        Route::Record(id)
            if method == "GET" && state.verifier.verify(authorization.as_deref()).is_ok() =>
        {
            state.requester.ask(id).await
        }
        _ => None,
    };
    let source = resolved.unwrap_or(Resolved {
        lookup: Lookup::Unavailable {
            retry_after_seconds: RETRY_AFTER_SECONDS,
        },
        record: None,
    });
    if let Some(routing) = &state.routing {
        let forwarded = request.headers().contains_key(FORWARDED_HEADER);
        if let Some(response) = route_elsewhere(
            routing,
            &state.metrics,
            &source,
            forwarded,
            &target,
            &authorization,
        )
        .await
        {
            return response;
        }
    }
    let a = answer(
        &state.verifier,
        &source,
        &method,
        &target,
        authorization.as_deref(),
    );
    state.metrics.http().api_request(a.status);
    state.audit.record(&a);
    let mut response = (
        StatusCode::from_u16(a.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        a.body,
    )
        .into_response();
    for (name, value) in a.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The owner's answer when the employee is another instance's and the request could be
/// forwarded; `None` when this instance answers itself (the owner is this instance, or the
/// request cannot be forwarded: the local answer is then 503).
async fn route_elsewhere(
    routing: &Routing,
    metrics: &Metrics,
    source: &Resolved,
    forwarded: bool,
    target: &str,
    authorization: &Option<Vec<u8>>,
) -> Option<Response> {
    let decision = {
        let directory = routing
            .directory
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        decide(&source.lookup, forwarded, &directory)
    };
    let (instance, api_url) = match decision {
        Decision::Answer => return None,
        Decision::Refuse(why) => {
            metrics.http().api_forward(why.as_str());
            return None;
        }
        Decision::Forward { instance, api_url } => (instance, api_url),
    };
    match routing
        .forwarder
        .forward(&api_url, target, authorization.as_deref())
        .await
    {
        Ok(owner) => {
            metrics.http().api_forward("forwarded");
            let mut response = (owner.status, owner.body).into_response();
            for (name, value) in owner.headers {
                response.headers_mut().insert(name, value);
            }
            Some(response)
        }
        Err(e) => {
            metrics.http().api_forward(e.as_str());
            tracing::debug!(owner = %instance, error = ?e, "record request not forwarded: 503");
            None
        }
    }
}

#[cfg(test)]
#[path = "api_tests.rs"]
pub(super) mod tests;

#[cfg(test)]
#[path = "api_routing_tests.rs"]
mod routing_tests;
