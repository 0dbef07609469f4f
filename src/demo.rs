//! `demo`: the whole pipeline on librdkafka's embedded mock cluster (owned by the live-service work; not implemented yet).

/// Runs the demo.
pub fn run() -> anyhow::Result<()> {
    anyhow::bail!("`demo` is not implemented yet")
}
