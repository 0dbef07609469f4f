#!/usr/bin/env bash
# load-bench.sh: the live-service benchmarks of BENCHMARKS.md ("Live service") against the
# real broker of scripts/kafka-broker.sh, with the release build.
#
# Usage:
#   scripts/load-bench.sh [throughput|latency|restore|api|all]     (default: all)
#
# What each one does (tests/kafka/bench.rs):
#   throughput  generate 40k employees x 10 weeks (~2M badges), produce them with kcat, then
#               one instance processes the backlog with exactly-once transactions; prints
#               messages/s from its first commit to its last and checks the outputs against replay
#   latency     5,000 late badges/s for 60 s, each re-issuing one decision; prints the
#               produce -> read_committed decision latency percentiles
#   restore     1,000,000 employees' state in the changelog (BENCH_WEEKS weeks of history, default 6;
#               BENCHMARKS.md uses 13); prints the restore time and the changelog's bytes
#   api         two instances with the record API over 4 partitions while ~5,000 badges/s are
#               fed; 100 requests/s to one of them; prints the latency percentiles of records
#               it serves and of records it forwards to the other (tests/kafka/bench_api.rs)
#
# Environment: BENCH_EMPLOYEES, BENCH_WEEKS, BENCH_PARTITIONS, BENCH_RATE, BENCH_COPIES (sizes),
# BENCH_LOG (service log filter), BENCH_SERVICE_ENV ("ATTENDANCE__X__Y=v,..." service settings),
# KAFKA_STATE_DIR (see kafka-broker.sh). The broker is started if needed and left running.
set -euo pipefail
cd "$(dirname "$0")/.."

which=${1:-all}
case "$which" in
  throughput | latency | restore) filter="bench::bench_$which" ;;
  api) filter="bench_api::bench_api" ;;
  all) filter="bench" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac

export KAFKA_STATE_DIR="${KAFKA_STATE_DIR:-$PWD/.kafka}"
broker_env=$(scripts/kafka-broker.sh start | tail -n 1)
export "${broker_env?}"
export REQUIRE_KAFKA=1

echo "machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)" >&2
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cargo build --release --bin attendance-compliance
export ATTENDANCE_BIN="$PWD/target/release/attendance-compliance"
cargo test --release --test kafka -- --ignored --nocapture --test-threads=1 "$filter" 2>&1 |
  grep -E '^(generated|produced|built|wrote|service|THROUGHPUT|LATENCY|RESTORE|API|outputs|test )|panicked'
