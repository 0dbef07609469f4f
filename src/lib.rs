//! attendance-compliance: a stream processor for return-to-office policies.
//!
//! Badge events, the roster and approved absences come in; weekly decisions, compliance
//! changes, manager alerts and dead letters go out. The behaviour contract is SPEC.md.
//!
//! Codemap (a module imports only modules above it in this list, or beside it):
//! - [`domain`]: the vocabulary (instants, local days, ISO weeks, statuses, employee ids, the
//!   output values and the rejection of an input);
//! - [`wire`]: bytes in: decoding and validating the input topics into domain records;
//! - [`config`]: the configuration directory, layered and validated, and the topic names;
//! - [`engine`]: the pure state machine (no I/O, no clock reads); reports what it did as
//!   typed [`engine::Output`]s;
//! - [`api`]: the record API's authentication, authorization and answers (§10), pure;
//! - [`processor`]: the single path from raw messages to outputs, shared by every shell;
//! - [`replay`]: the batch shell over files;
//! - [`simulate`]: two replays (current vs alternative policies) tallied into summary.json
//!   and report.html;
//! - [`generate`]: synthetic companies for tests, benchmarks and the demo;
//! - [`cli`]: the command line's arguments.
//! - [`kafka`], [`service`], [`demo`]: the live shell over Kafka, the process around it, the
//!   demo on a mock cluster;
//! - [`clock`], [`health`], [`metrics`], [`http`], [`telemetry`]: what the live shell reads
//!   and reports.

pub mod api;
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
pub mod simulate;
pub mod telemetry;
pub mod wire;
