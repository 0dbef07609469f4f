//! Prometheus metrics: every name, label and helper lives here (owned by the observability work).
