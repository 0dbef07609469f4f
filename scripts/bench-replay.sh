#!/usr/bin/env bash
# Whole-path replay benchmark: generate a company (default 100k employees x 13 weeks), then
# time `replay` on it with peak RSS. Usage: scripts/bench-replay.sh [EMPLOYEES] [WEEKS] [DIR]
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
run() {
  /usr/bin/time -f "wall %e s, peak RSS %M KiB" "$bin" replay --config "$dir/config" "$@" \
    --badges "$dir/badges.jsonl" --now "$now" --out "$dir/out" 2>&1 | grep -v '^warning'
}
echo "--- full replay (roster, absences, outages, adjustments, badges, all outputs)"
run --roster "$dir/roster.jsonl" --absences "$dir/absences.jsonl" \
  --outages "$dir/outages.jsonl" --adjustments "$dir/adjustments.jsonl"
echo "--- ingest only (no roster: badges parsed, validated and applied; nothing to decide)"
run
