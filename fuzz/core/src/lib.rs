//! Fuzz harnesses for attendance-compliance (docs/RELIABILITY.md, "Fuzzing").
//!
//! The pure modules of the main crate (`domain`, `wire`, `config`, `engine`, `processor`) are
//! compiled here from their source files, so a fuzz build does not pull in rdkafka, tokio or
//! axum (a cold instrumented build of those would eat most of CI's fuzz budget). Those
//! modules import nothing else from the crate (the layer rule of `src/lib.rs`); if one ever
//! does, this crate stops compiling and the new module must be listed here.
//!
//! [`targets`] holds one function per fuzz target: it feeds the bytes to the code under test
//! and panics when an invariant breaks. The libFuzzer targets in `fuzz/fuzz_targets/` call
//! them; `tests/regressions.rs` replays `fuzz/regressions/<target>/*` through them.
#![allow(dead_code, unreachable_pub, missing_docs, unused_imports, clippy::all)]

#[path = "../../../src/config/mod.rs"]
pub mod config;
#[path = "../../../src/domain/mod.rs"]
pub mod domain;
#[path = "../../../src/engine/mod.rs"]
pub mod engine;
#[path = "../../../src/processor.rs"]
pub mod processor;
#[path = "../../../src/wire/mod.rs"]
pub mod wire;

pub mod changelog;
pub mod fixture;
pub mod targets;
