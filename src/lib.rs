//! attendance-compliance: a stream processor for return-to-office policies.
//!
//! Badge events, the roster and approved absences come in; weekly decisions, compliance
//! changes, manager alerts and dead letters go out. The behaviour contract is SPEC.md.
//!
//! Codemap:
//! - [`domain`]: the vocabulary (instants, local days, ISO weeks, statuses, ids);
//! - [`wire`]: decoding and validating inputs, the shapes of the outputs;
//! - [`config`]: the configuration directory, layered and validated;
//! - [`engine`]: the pure state machine (no I/O, no clock reads);
//! - [`processor`]: the single path from raw messages to outputs, shared by every shell;
//! - [`replay`]: the batch shell over files;
//! - [`generate`]: synthetic companies for tests, benchmarks and the demo.
//! - [`kafka`], [`service`], [`demo`]: the live shell over Kafka, the process around it, the
//!   demo on a mock cluster;
//! - [`clock`], [`health`], [`metrics`], [`http`], [`telemetry`]: what the live shell reads
//!   and reports.

pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod engine;
pub mod generate;
pub mod health;
pub mod http;
pub mod kafka;
pub mod metrics;
pub mod processor;
pub mod replay;
pub mod service;
pub mod telemetry;
pub mod wire;
