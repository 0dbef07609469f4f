#!/usr/bin/env bash
# soak.sh: the soak of docs/RELIABILITY.md against the real broker of scripts/kafka-broker.sh,
# with the release build: first a backlog of SOAK_BACKLOG_WEEKS (default 16) weeks of badges
# fed as fast as the service takes them (the state then fills its retention window), then a
# steady badge rate for SOAK_MINUTES (default 30) at SOAK_RATE (default 5000/s) over
# SOAK_PARTITIONS (default 4), one broker restart at 1/2 of the run and one instance SIGKILL
# + restart at 3/4 (both after the warm-up, the first 1/5).
# SOAK_BROKER_RESTARTS=N spreads N broker restarts from 1/2 to the SIGKILL;
# SOAK_INSTANCE_RESTART=0 skips the SIGKILL. Prints the service's RSS (split by heap) and the
# consumer lag every SOAK_SAMPLE_SECONDS (default 10), and checks the read_committed outputs
# against replay.
# Not part of the test suite (it is long); the figures go to docs/RELIABILITY.md.
#
#   scripts/soak.sh                 # 30 minutes
#   SOAK_MINUTES=3 scripts/soak.sh  # a quick rehearsal
set -euo pipefail
cd "$(dirname "$0")/.."

export KAFKA_STATE_DIR="${KAFKA_STATE_DIR:-$PWD/.kafka}"
broker_env=$(scripts/kafka-broker.sh start | tail -n 1)
export "${broker_env?}"
export REQUIRE_KAFKA=1
# The allocator settings deploy/Dockerfile gives the service (the service inherits them).
export GLIBC_TUNABLES="${GLIBC_TUNABLES-glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=131072:glibc.malloc.trim_threshold=262144}"
echo "GLIBC_TUNABLES=$GLIBC_TUNABLES" >&2

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)" >&2
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cargo build --release --bin attendance-compliance
export ATTENDANCE_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/attendance-compliance"
cargo test --release --test kafka -- --ignored --nocapture --test-threads=1 soak::soak 2>&1 |
  grep -E '^(generated|SOAK|test )|panicked|differ'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
