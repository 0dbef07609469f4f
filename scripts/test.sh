#!/usr/bin/env bash
# The whole test suite, provisioning what it needs on a fresh machine:
#   1. Debian tools (kcat, prometheus/promtool,      scripts/install-tools.sh
#      chromium for the report.html browser test)
#   2. formatting and lints                          cargo fmt --check, cargo clippy -D warnings
#   3. a real single-node Kafka 4.x broker (KRaft)   scripts/kafka-broker.sh (Maven Central jars)
#      and a second one with SASL_SSL + ACLs          scripts/kafka-secure-broker.sh
#   4. every test: unit, property, golden replay, schema, Kafka integration, observability
#      (before them: scripts/fuzz.sh short, the fuzz regressions and 30 s per fuzz target)
# It fails (never skips) when the broker cannot start: REQUIRE_KAFKA=1 makes the Kafka tests
# panic instead of skipping when KAFKA_BROKERS is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
# rust-toolchain.toml pins the release CI uses. Where rustup knows that release only as
# `stable` (the same version), give it the pinned name locally instead of letting rustup try
# a download (rustup refuses release names for `toolchain link`, so a symlink it is).
pinned=$(sed -n 's/^channel = "\(.*\)"/\1/p' rust-toolchain.toml)
if ! rustup toolchain list | grep -q "^$pinned-"; then
  stable_version=$(cd / && rustc +stable --version | cut -d' ' -f2)
  if [ "$stable_version" = "$pinned" ]; then
    stable_root=$(cd / && rustc +stable --print sysroot)
    ln -s "$stable_root" "$(dirname "$stable_root")/$pinned-$(basename "$stable_root" | sed 's/^stable-//')"
  fi
fi
cargo --version

step "tools"
scripts/install-tools.sh

step "format"
cargo fmt --all -- --check

step "lints"
cargo clippy --all-targets -- -D warnings

step "build"
cargo build --all-targets

step "kafka broker"
export KAFKA_STATE_DIR="${KAFKA_STATE_DIR:-$PWD/.kafka}"
scripts/kafka-broker.sh clean >/dev/null 2>&1 || true
broker_env=$(scripts/kafka-broker.sh start | tail -n 1)
export "${broker_env?}"
trap 'scripts/kafka-broker.sh stop >/dev/null 2>&1 || true' EXIT
echo "broker at $KAFKA_BROKERS"
export REQUIRE_KAFKA=1

step "secure kafka broker (SASL_SSL, SCRAM-SHA-512, ACLs)"
# A second broker for tests/kafka/secure.rs (docs/SECURITY.md): own state dir and ports,
# certificates and passwords made at run time. Exports KAFKA_SECURE_*.
export KAFKA_SECURE_STATE_DIR="${KAFKA_SECURE_STATE_DIR:-$PWD/.kafka-secure}"
scripts/kafka-secure-broker.sh clean >/dev/null 2>&1 || true
secure_env=$(scripts/kafka-secure-broker.sh start | grep '^KAFKA_SECURE_')
set -a; eval "$secure_env"; set +a
trap 'scripts/kafka-broker.sh stop >/dev/null 2>&1 || true; scripts/kafka-secure-broker.sh stop >/dev/null 2>&1 || true' EXIT
echo "secure broker at $KAFKA_SECURE_BROKERS"
export REQUIRE_KAFKA_SECURE=1
export ATTENDANCE_BIN="$PWD/target/debug/attendance-compliance"
# The report.html test (tests/it/simulate_browser.rs) fails instead of skipping without chromium.
export REQUIRE_CHROMIUM=1

step "fuzz (30 s per target)"; scripts/fuzz.sh short

step "tests"
cargo test --all-targets --no-fail-fast 2>&1 | tee target/test-output.txt

step "observability checks (promtool, kubeconform, compose, hadolint)"; scripts/check-observability.sh
