//! The single integration-test binary: golden replay scenarios, schema validation of every
//! output value, determinism of whole replays.

mod helpers;
mod replay_golden;
