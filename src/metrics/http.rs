//! Metrics of the HTTP listener itself (crate::http): how many connections it serves and
//! why it closed the ones it closed.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// Why the listener closed a connection (the `reason` label of
/// `attendance_http_connections_closed_total`). A connection the client closes is not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpCloseReason {
    /// Its request head did not arrive in time (slowloris, or a silent new connection).
    HeaderTimeout,
    /// It stayed idle between requests too long.
    IdleTimeout,
    /// Its answer was not taken in time.
    ResponseTimeout,
    /// The connection limit was reached and a newer connection took its slot.
    Evicted,
    /// It arrived over the limit while every slot was answering: answered `503` and closed.
    OverLimit,
}

impl HttpCloseReason {
    /// Every reason, in label order.
    pub const ALL: [Self; 5] = [
        Self::HeaderTimeout,
        Self::IdleTimeout,
        Self::ResponseTimeout,
        Self::Evicted,
        Self::OverLimit,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HeaderTimeout => "header_timeout",
            Self::IdleTimeout => "idle_timeout",
            Self::ResponseTimeout => "response_timeout",
            Self::Evicted => "evicted",
            Self::OverLimit => "over_limit",
        }
    }
}

/// The HTTP listener's metrics, registered in the processor's registry.
#[derive(Debug)]
pub struct HttpMetrics {
    open: IntGauge,
    closed: IntCounterVec,
    api_requests: IntCounterVec,
    api_forwards: IntCounterVec,
}

/// The outcomes `attendance_api_requests_total` counts (SPEC §10, plus 405).
pub const API_OUTCOMES: [u16; 6] = [200, 401, 403, 404, 405, 503];

/// The results `attendance_api_forwards_total` counts for requests whose employee another
/// instance serves: `forwarded` (the owner answered; it audits and counts the request),
/// else answered 503 here because the owner was `unreachable` (error or timeout), too many
/// forwards were in flight (`busy`), the directory names `no_owner`, or the request had
/// been forwarded already (`loop`).
pub const FORWARD_RESULTS: [&str; 5] = ["forwarded", "unreachable", "busy", "no_owner", "loop"];

impl HttpMetrics {
    /// Creates and registers the metrics; every reason starts at 0. Registration fails only
    /// on a duplicate name, a bug caught by the tests, hence the panic at start-up.
    pub(super) fn register(registry: &Registry) -> Self {
        let open = IntGauge::with_opts(Opts::new(
            "attendance_http_open_connections",
            "Connections the metrics and health listener is serving now.",
        ))
        .unwrap_or_else(|e| panic!("http open connections: {e}"));
        let closed = IntCounterVec::new(
            Opts::new(
                "attendance_http_connections_closed_total",
                "Connections the metrics and health listener closed itself, by reason \
                 (header_timeout, idle_timeout, response_timeout, evicted, over_limit).",
            ),
            &["reason"],
        )
        .unwrap_or_else(|e| panic!("http connections closed: {e}"));
        let api_requests = IntCounterVec::new(
            Opts::new(
                "attendance_api_requests_total",
                "Record API requests answered, by HTTP status (200, 401, 403, 404, 405, 503).",
            ),
            &["outcome"],
        )
        .unwrap_or_else(|e| panic!("api requests: {e}"));
        let api_forwards = IntCounterVec::new(
            Opts::new(
                "attendance_api_forwards_total",
                "Record API requests for an employee another instance serves, by result \
                 (forwarded, unreachable, busy, no_owner, loop).",
            ),
            &["result"],
        )
        .unwrap_or_else(|e| panic!("api forwards: {e}"));
        for collector in [
            Box::new(open.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(closed.clone()),
            Box::new(api_requests.clone()),
            Box::new(api_forwards.clone()),
        ] {
            registry
                .register(collector)
                .unwrap_or_else(|e| panic!("metric registration: {e}"));
        }
        for reason in HttpCloseReason::ALL {
            closed.with_label_values(&[reason.as_str()]);
        }
        for outcome in API_OUTCOMES {
            api_requests.with_label_values(&[outcome.to_string().as_str()]);
        }
        for result in FORWARD_RESULTS {
            api_forwards.with_label_values(&[result]);
        }
        Self {
            open,
            closed,
            api_requests,
            api_forwards,
        }
    }

    /// Counts a record API request answered with `status` (other statuses count as 500:
    /// the label set stays bounded).
    pub fn api_request(&self, status: u16) {
        let outcome = if API_OUTCOMES.contains(&status) {
            status
        } else {
            500
        };
        self.api_requests
            .with_label_values(&[outcome.to_string().as_str()])
            .inc();
    }

    /// Counts a request for another instance's employee by `result`, one of
    /// [`FORWARD_RESULTS`] (anything else is not counted).
    pub fn api_forward(&self, result: &str) {
        if FORWARD_RESULTS.contains(&result) {
            self.api_forwards.with_label_values(&[result]).inc();
        }
    }

    /// Requests for another instance's employee with `result` so far (tests, diagnostics).
    pub fn api_forwards(&self, result: &str) -> u64 {
        self.api_forwards.with_label_values(&[result]).get()
    }

    /// Record API requests answered with `status` so far (tests, diagnostics).
    pub fn api_requests(&self, status: u16) -> u64 {
        self.api_requests
            .with_label_values(&[status.to_string().as_str()])
            .get()
    }

    /// Counts a connection the listener closed.
    pub fn record_closed(&self, reason: HttpCloseReason) {
        self.closed.with_label_values(&[reason.as_str()]).inc();
    }

    /// Sets the number of connections being served.
    pub fn set_open_connections(&self, open: usize) {
        self.open.set(i64::try_from(open).unwrap_or(i64::MAX));
    }

    /// Connections closed for `reason` so far (tests, diagnostics).
    pub fn closed(&self, reason: HttpCloseReason) -> u64 {
        self.closed.with_label_values(&[reason.as_str()]).get()
    }

    /// Connections being served now.
    pub fn open_connections(&self) -> i64 {
        self.open.get()
    }
}
