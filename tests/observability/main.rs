//! Observability tests: metric names and labels, the HTTP endpoints (in-process), log format
//! and pseudonyms, the configuration reference (docs/CONFIGURATION.md), the deploy files, and
//! a real Prometheus scraping a live processor, and the HTTP listener under hostile clients.

mod config_reference;
mod connections;
mod endpoints;
mod helpers;
mod live;
mod logs;
mod metric_names;
