#!/usr/bin/env bash
# simulate benchmark (SPEC §9): on the company of scripts/bench-replay.sh (default 100k
# employees x 13 weeks), time one full replay and one simulate against
# examples/alternative-policies.toml, with peak RSS.
# Usage: scripts/bench-simulate.sh [EMPLOYEES] [WEEKS] [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
employees="${1:-100000}"
weeks="${2:-13}"
dir="${3:-target/bench-replay/${employees}x${weeks}}"
cargo build --release --quiet
bin=target/release/attendance-compliance
if [ ! -f "$dir/summary.json" ]; then
  "$bin" generate --out "$dir" --employees "$employees" --weeks "$weeks" >/dev/null
fi
now=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['now'])" "$dir/summary.json")
echo "input: $(wc -l < "$dir/badges.jsonl") badge lines, $(du -h "$dir/badges.jsonl" | cut -f1)"
inputs=(--config "$dir/config" --roster "$dir/roster.jsonl" --absences "$dir/absences.jsonl"
  --badges "$dir/badges.jsonl" --now "$now")
timed() { /usr/bin/time -f "wall %e s, user %U s, peak RSS %M KiB" "$bin" "$@" 2>&1 | grep -v '^warning'; }
echo "--- replay (one engine, four JSONL outputs)"
timed replay "${inputs[@]}" --out "$dir/out"
echo "--- simulate (two engines, tallied; summary.json and report.html)"
timed simulate "${inputs[@]}" --alternative examples/alternative-policies.toml --out "$dir/simulate"
ls -l "$dir/simulate"
