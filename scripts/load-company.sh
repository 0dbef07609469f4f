#!/usr/bin/env bash
# load-company.sh: put a generated company (attendance-compliance generate) on a Kafka
# cluster for the live service, with kcat.
#
# Usage:
#   scripts/load-company.sh topics PREFIX PARTITIONS   # create the 11 topics PREFIX-badges, ...
#                                                      # (changelog, outages, instances compacted) and the
#                                                      # record API's audit trail PREFIX-access-log (kept
#                                                      # 400 days, never compacted), via kafka-broker.sh
#   scripts/load-company.sh produce DIR PREFIX [roster|absences|outages|adjustments|badges|all]
#                                                      # DIR/{roster,absences,outages,adjustments,badges}.jsonl,
#                                                      # keyed by employee_id (outages by outage_id; Kafka's
#                                                      # murmur2 partitioner, as the record API's routing
#                                                      # expects: the same key lands on the same partition
#                                                      # number in all four employee-keyed topics);
#                                                      # tables before badges, like replay (`all` skips
#                                                      # outages/adjustments files that do not exist)
#   scripts/load-company.sh env PREFIX                 # prints the ATTENDANCE__TOPICS__* variables
#                                                      # and ATTENDANCE__API__ACCESS_LOG_TOPIC
#
# Environment: KAFKA_BROKERS (required for produce), KAFKA_STATE_DIR (see kafka-broker.sh).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "load-company: $*" >&2; exit 1; }

# topic setting name -> suffix
SETTINGS=(badges roster absences outages adjustments decisions changes alerts dead_letters changelog instances)

topic_name() { echo "$1-${2//_/-}"; }

cmd_topics() {
  local prefix=$1 partitions=$2 setting extra
  for setting in "${SETTINGS[@]}"; do
    extra=()
    if [[ $setting == changelog ]]; then
      # compacted; small segments so the cleaner keeps restore short
      extra=(cleanup.policy=compact segment.ms=60000 min.cleanable.dirty.ratio=0.1)
    elif [[ $setting == outages || $setting == instances ]]; then
      extra=(cleanup.policy=compact)
    fi
    "$SCRIPT_DIR/kafka-broker.sh" create-topic --if-not-exists "$(topic_name "$prefix" "$setting")" \
      "$partitions" "${extra[@]}" >/dev/null
  done
  # api.access_log_topic: an audit trail, every record kept (400 days), never compacted
  "$SCRIPT_DIR/kafka-broker.sh" create-topic --if-not-exists "$prefix-access-log" \
    "$partitions" cleanup.policy=delete retention.ms=34560000000 >/dev/null
  echo "created topics $prefix-* with $partitions partitions" >&2
}

cmd_env() {
  local prefix=$1 setting upper
  for setting in "${SETTINGS[@]}"; do
    upper=$(echo "$setting" | tr '[:lower:]' '[:upper:]')
    echo "ATTENDANCE__TOPICS__$upper=$(topic_name "$prefix" "$setting")"
  done
  echo "ATTENDANCE__API__ACCESS_LOG_TOPIC=$prefix-access-log"
}

# key<TAB>value lines: the key is the first FIELD (default employee_id) string of the line
# ("-" if none).
keyed() {
  python3 -c '
import re, sys
field = sys.argv[1].encode()
pat = re.compile(rb"\"" + field + rb"\"\s*:\s*\"([^\"\t\n]*)\"")
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    line = line.rstrip(b"\r\n")
    if not line.strip():
        continue
    m = pat.search(line)
    out.write((m.group(1) if m and m.group(1) else b"-") + b"\t" + line + b"\n")
' "${2:-employee_id}" <"$1"
}

produce_file() {
  local file=$1 topic=$2 field=employee_id
  [[ -f "$file" ]] || die "missing $file"
  [[ $(basename "$file") == outages.jsonl ]] && field=outage_id
  keyed "$file" "$field" | kcat -P -b "$KAFKA_BROKERS" -t "$topic" -K $'\t' -z lz4 \
    -X partitioner=murmur2_random \
    -X queue.buffering.max.messages=1000000 -X linger.ms=20 -X message.max.bytes=2000000
  echo "produced $(wc -l <"$file") lines of $(basename "$file") to $topic" >&2
}

cmd_produce() {
  local dir=$1 prefix=$2 what=${3:-all}
  [[ -n "${KAFKA_BROKERS:-}" ]] || die "KAFKA_BROKERS is not set"
  case "$what" in
    roster | absences | outages | adjustments | badges)
      produce_file "$dir/$what.jsonl" "$(topic_name "$prefix" "$what")" ;;
    all)
      produce_file "$dir/roster.jsonl" "$(topic_name "$prefix" roster)"
      produce_file "$dir/absences.jsonl" "$(topic_name "$prefix" absences)"
      local v2
      for v2 in outages adjustments; do
        if [[ -f "$dir/$v2.jsonl" ]]; then
          produce_file "$dir/$v2.jsonl" "$(topic_name "$prefix" "$v2")"
        fi
      done
      produce_file "$dir/badges.jsonl" "$(topic_name "$prefix" badges)"
      ;;
    *) die "unknown input '$what'" ;;
  esac
}

case "${1:-}" in
  topics) shift; (($# == 2)) || die "usage: topics PREFIX PARTITIONS"; cmd_topics "$@" ;;
  produce) shift; (($# >= 2)) || die "usage: produce DIR PREFIX [what]"; cmd_produce "$@" ;;
  env) shift; (($# == 1)) || die "usage: env PREFIX"; cmd_env "$@" ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
