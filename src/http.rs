//! HTTP endpoints: /metrics, /healthz, /readyz (owned by the observability work).
