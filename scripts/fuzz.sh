#!/usr/bin/env bash
# Coverage-guided fuzzing with cargo-fuzz (libFuzzer). docs/RELIABILITY.md, "Fuzzing".
#
#   scripts/fuzz.sh regressions      replay fuzz/regressions/ and fuzz/seeds/ through every
#                                    target (stable toolchain, no libFuzzer); fails on a crash
#   scripts/fuzz.sh short            regressions, then FUZZ_SECONDS (default 30) per target;
#                                    installs nightly + cargo-fuzz when missing; fails on a
#                                    crash, a hang (> FUZZ_TIMEOUT s, default 10) or an OOM
#   scripts/fuzz.sh long SECONDS     the campaign: SECONDS per target, one target at a time at
#                                    nice 19; prints each target's CPU time, executions,
#                                    coverage and corpus size; keeps going after a crash and
#                                    fails at the end if there was one
#   scripts/fuzz.sh build            build the targets only
#
# FUZZ_TARGETS (space-separated) restricts the targets. Corpora grow in fuzz/corpus/<target>/
# (not in git; seeded from fuzz/seeds/<target>/), crash inputs land in
# fuzz/artifacts/<target>/. A crash input, once fixed, goes to fuzz/regressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

ALL_TARGETS="badge roster absence outage adjustment timestamp config changelog"
TARGETS=${FUZZ_TARGETS:-$ALL_TARGETS}
NIGHTLY=${FUZZ_TOOLCHAIN:-nightly}
TIMEOUT=${FUZZ_TIMEOUT:-10}
BIN_DIR=target/x86_64-unknown-linux-gnu/release

say() { printf '\n==> fuzz: %s\n' "$*"; }

dict_of() {
  case "$1" in
    badge | roster | absence | outage | adjustment | changelog) echo dicts/json.dict ;;
    timestamp) echo dicts/timestamp.dict ;;
    config) echo dicts/toml.dict ;;
  esac
}

ensure_tools() {
  if ! rustup run "$NIGHTLY" rustc --version >/dev/null 2>&1; then
    say "installing the $NIGHTLY toolchain (libFuzzer needs -Zsanitizer and sancov)"
    rustup toolchain install "$NIGHTLY" --profile minimal
  fi
  if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
  fi
}

build() {
  ensure_tools
  say "building targets ($(cargo fuzz --version), $(rustup run "$NIGHTLY" rustc --version))"
  # -O with debug assertions: overflow checks and debug_assert! stay on, as in tests.
  cargo "+$NIGHTLY" fuzz build -O --debug-assertions
}

regressions() {
  say "replaying fuzz/regressions and fuzz/seeds"
  # The crate's pinned toolchain (rust-toolchain.toml one level up) builds the harnesses.
  cargo test -p attendance-fuzz-core --test regressions
}

# run TARGET SECONDS NICE: one libFuzzer run; prints a summary line; returns its status.
run() {
  local target=$1 seconds=$2 niceness=$3
  local corpus=corpus/$target log=artifacts/$target.log
  mkdir -p "$corpus" "artifacts/$target"
  local start end status=0
  start=$(date +%s)
  # `time` (the bash keyword) reports the target's user and system CPU seconds.
  local TIMEFORMAT='%U %S'
  { time nice -n "$niceness" "$BIN_DIR/$target" "$corpus" "seeds/$target" \
    -dict="$(dict_of "$target")" \
    -max_total_time="$seconds" -timeout="$TIMEOUT" -rss_limit_mb=2048 \
    -max_len=70000 -print_final_stats=1 \
    -artifact_prefix="artifacts/$target/" >"$log" 2>&1; } 2>"$log.time" || status=$?
  end=$(date +%s)
  local cpu
  cpu=$(awk '{printf "%.0f", $1 + $2}' "$log.time")
  local execs cov ft units
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  units=$(find "$corpus" -type f | wc -l)
  printf 'RESULT target=%s status=%s wall_s=%s cpu_s=%s execs=%s cov=%s ft=%s corpus=%s\n' \
    "$target" "$status" "$((end - start))" "${cpu:-?}" \
    "${execs:-?}" "${cov:-?}" "${ft:-?}" "$units"
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $target failed (status $status); last lines of $log:" >&2
    grep -E 'ERROR|panicked|Test unit written|SUMMARY' "$log" | head -20 >&2 || true
  fi
  return "$status"
}

case "${1:-}" in
  build) build ;;
  regressions) regressions ;;
  short)
    regressions
    build
    failed=""
    for t in $TARGETS; do
      say "$t for ${FUZZ_SECONDS:-30} s"
      run "$t" "${FUZZ_SECONDS:-30}" 0 || failed="$failed $t"
    done
    if [ -n "$failed" ]; then
      echo "fuzz: crash, hang or OOM in:$failed (inputs in fuzz/artifacts/)" >&2
      exit 1
    fi
    ;;
  long)
    seconds=${2:?usage: scripts/fuzz.sh long SECONDS_PER_TARGET}
    build
    failed=""
    for t in $TARGETS; do
      say "$t for $seconds s (nice 19)"
      run "$t" "$seconds" 19 || failed="$failed $t"
    done
    if [ -n "$failed" ]; then
      echo "fuzz: crash, hang or OOM in:$failed (inputs in fuzz/artifacts/)" >&2
      exit 1
    fi
    ;;
  *)
    sed -n '2,18p' "$0"
    exit 2
    ;;
esac
