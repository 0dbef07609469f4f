//! The single integration-test binary: golden replay scenarios, schema validation of every
//! output value, determinism of whole replays, `simulate` and its report in a browser, the
//! command-line convention (configuration directory, exit codes, start-up of `run`).

mod cli;
mod config_ranges;
mod consumers;
mod docs;
mod floods;
mod generated;
mod guide;
mod helpers;
mod input_schemas;
mod replay_golden;
mod replay_inputs;
mod replay_safety;
mod simulate;
mod simulate_browser;
