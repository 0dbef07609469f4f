//! `run`: the live Kafka service (owned by the live-service work; not implemented yet).

use std::path::Path;

/// Runs the live service with the configuration in `config_dir` until SIGTERM or Ctrl-C.
pub fn run(config_dir: &Path) -> anyhow::Result<()> {
    anyhow::bail!(
        "`run` is not implemented yet (config {})",
        config_dir.display()
    )
}
