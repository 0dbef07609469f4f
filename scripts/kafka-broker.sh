#!/usr/bin/env bash
# kafka-broker.sh: a real single-node Apache Kafka 4.x broker (KRaft, combined
# broker+controller) for integration tests, run from Maven Central jars.
#
# Usage:
#   scripts/kafka-broker.sh start      # resolve jars, format storage, start, wait until it answers;
#                                      # last stdout line: KAFKA_BROKERS=127.0.0.1:PORT
#   scripts/kafka-broker.sh stop       # SIGTERM, bounded wait, SIGKILL as a last resort
#   scripts/kafka-broker.sh restart    # stop + start on the SAME ports and data dir (data survives)
#   scripts/kafka-broker.sh status     # exit 0 when running (prints pid and address), 3 when not
#   scripts/kafka-broker.sh env        # prints KAFKA_BROKERS=127.0.0.1:PORT (exit 1 when not running)
#   scripts/kafka-broker.sh create-topic [--if-not-exists] NAME PARTITIONS [key=value ...]
#                                      # e.g. create-topic changelog 3 cleanup.policy=compact
#   scripts/kafka-broker.sh clean      # stop and delete data, logs and ports (next start is fresh)
#
#   export "$(scripts/kafka-broker.sh start | tail -n1)"   # sets KAFKA_BROKERS in this shell
#
# Environment:
#   KAFKA_STATE_DIR      state directory (default: <repo>/.kafka); holds lib/ (jars), data/,
#                        logs/ (server.log, kafka.out), config/, helper/, kafka.pid, *.port
#   KAFKA_START_TIMEOUT  seconds to wait for the broker to answer, per attempt (default 90)
#   KAFKA_STOP_TIMEOUT   seconds to wait after SIGTERM before SIGKILL (default 60)
#   KAFKA_HEAP_OPTS      JVM heap (default "-Xms512m -Xmx1g")
#   KAFKA_LOG_LEVEL      root log level of logs/server.log (default WARN)
#   KAFKA_EXTRA_PROPS    extra server.properties lines, newline separated (appended last)
#   KAFKA_PROBE          readiness probe: auto (kcat when installed, default), kcat, admin
#
# `start` is idempotent (a running broker is left alone). After `stop`, `start` keeps the
# data and reuses the saved ports when free (new ports otherwise; `restart` insists on the
# same ports); `clean` then `start` gives an empty broker. Readiness is a real metadata
# request (kcat -L when installed, else a small AdminClient helper), polled in a bounded
# loop; a start that does not come up is retried once. Needs: java 17+, mvn (first run;
# ~/.m2 is the download cache), javac (for create-topic), flock; python3 optional.
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$SCRIPT_DIR/.." && pwd)
POM="$SCRIPT_DIR/kafka/pom.xml"

STATE_DIR=$(realpath -m "${KAFKA_STATE_DIR:-$REPO_DIR/.kafka}")
LIB_DIR="$STATE_DIR/lib"
DATA_DIR="$STATE_DIR/data"
LOG_DIR="$STATE_DIR/logs"
CONF_DIR="$STATE_DIR/config"
HELPER_DIR="$STATE_DIR/helper"
PID_FILE="$STATE_DIR/kafka.pid"
PORT_FILE="$STATE_DIR/broker.port"
CPORT_FILE="$STATE_DIR/controller.port"
CLUSTER_ID_FILE="$STATE_DIR/cluster.id"
SERVER_PROPS="$CONF_DIR/server.properties"
LOG4J_CONF="$CONF_DIR/log4j2.properties"

START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-60}
HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}
LOG_LEVEL=${KAFKA_LOG_LEVEL:-WARN}
PROBE=${KAFKA_PROBE:-auto}
if [[ "$PROBE" == auto ]]; then
  if command -v kcat >/dev/null; then PROBE="kcat"; else PROBE="admin"; fi
fi
FORMATTED_NOW=0
LOG_MARK=0
OUT_MARK=0

log() { echo "kafka-broker: $*" >&2; }
die() { log "error: $*"; exit 1; }

kafka_version() { sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1; }

# --- jars ---------------------------------------------------------------------------
# lib/ is refreshed only when the pom changed (stamp = sha256 of the pom) or the broker jar
# for the pom's Kafka version is missing; Maven's ~/.m2 caches the downloads themselves.
ensure_jars() {
  local version stamp
  version=$(kafka_version)
  [[ -n "$version" ]] || die "no <kafka.version> in $POM"
  stamp=$(sha256sum "$POM" | cut -d' ' -f1)
  if [[ -f "$LIB_DIR/kafka_2.13-$version.jar" && "$(cat "$LIB_DIR/.pom.sha256" 2>/dev/null)" == "$stamp" ]]; then
    return 0
  fi
  command -v mvn >/dev/null || die "mvn not found (needed once to fetch the Kafka jars)"
  log "resolving Kafka $version jars with Maven into $LIB_DIR"
  rm -rf "$LIB_DIR.tmp"
  mkdir -p "$LOG_DIR"
  if ! mvn -q -B --no-transfer-progress -Dstyle.color=never -f "$POM" \
      dependency:copy-dependencies -DoutputDirectory="$LIB_DIR.tmp" >"$LOG_DIR/mvn.log" 2>&1; then
    tail -n 40 "$LOG_DIR/mvn.log" >&2
    die "mvn dependency:copy-dependencies failed (full output: $LOG_DIR/mvn.log)"
  fi
  [[ -f "$LIB_DIR.tmp/kafka_2.13-$version.jar" ]] || die "kafka_2.13-$version.jar missing after mvn"
  echo "$stamp" >"$LIB_DIR.tmp/.pom.sha256"
  rm -rf "$LIB_DIR"
  mv "$LIB_DIR.tmp" "$LIB_DIR"
}

# --- AdminClient helper (compiled once with javac against kafka-clients) --------------
helper_source() {
  cat <<'JAVA'
import java.util.*;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.errors.TopicExistsException;

/** kafka-broker.sh helper: `ready BOOTSTRAP` and `create-topic BOOTSTRAP IFNOTEXISTS NAME PARTITIONS [k=v...]`. */
public class KafkaTestAdmin {
  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[1]);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "5000");
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "15000");
    p.put(AdminClientConfig.RETRY_BACKOFF_MAX_MS_CONFIG, "500");
    try (Admin admin = Admin.create(p)) {
      switch (args[0]) {
        case "ready": {
          int nodes = 0;
          try {
            nodes = admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).size();
          } catch (Exception e) {
            System.err.println("not ready: " + e);
          }
          System.exit(nodes > 0 ? 0 : 1); // exit now: close() would wait for pending calls
        }
        case "create-topic": {
          boolean ifNotExists = Boolean.parseBoolean(args[2]);
          String name = args[3];
          int partitions = Integer.parseInt(args[4]);
          Map<String, String> configs = new LinkedHashMap<>();
          for (int i = 5; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("config must be key=value: " + args[i]);
            configs.put(args[i].substring(0, eq), args[i].substring(eq + 1));
          }
          NewTopic topic = new NewTopic(name, partitions, (short) 1).configs(configs);
          try {
            admin.createTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
            System.out.println("created topic " + name + " partitions=" + partitions + " configs=" + configs);
          } catch (ExecutionException e) {
            if (ifNotExists && e.getCause() instanceof TopicExistsException) {
              System.out.println("topic " + name + " already exists");
            } else {
              System.err.println("create-topic " + name + " failed: " + e.getCause());
              System.exit(1);
            }
          }
          break;
        }
        default:
          System.err.println("unknown helper command " + args[0]);
          System.exit(2);
      }
    }
  }
}
JAVA
}

ensure_helper() {
  local stamp
  stamp="$( (helper_source; kafka_version) | sha256sum | cut -d' ' -f1)"
  if [[ -f "$HELPER_DIR/KafkaTestAdmin.class" && "$(cat "$HELPER_DIR/.stamp" 2>/dev/null)" == "$stamp" ]]; then
    return 0
  fi
  command -v javac >/dev/null || die "javac not found (needed for the AdminClient helper)"
  rm -rf "$HELPER_DIR" && mkdir -p "$HELPER_DIR"
  helper_source >"$HELPER_DIR/KafkaTestAdmin.java"
  javac -nowarn -d "$HELPER_DIR" -cp "$LIB_DIR/kafka-clients-$(kafka_version).jar" \
    "$HELPER_DIR/KafkaTestAdmin.java" || die "javac of the AdminClient helper failed"
  echo "$stamp" >"$HELPER_DIR/.stamp"
}

run_helper() {
  java -Xmx256m -XX:TieredStopAtLevel=1 -Xshare:auto -Dlog4j2.level=ERROR \
    -cp "$HELPER_DIR:$LIB_DIR/*" KafkaTestAdmin "$@"
}

# --- process / ports ------------------------------------------------------------------
broker_pid() { cat "$PID_FILE" 2>/dev/null || true; }

# True when the pid file names a live kafka.Kafka process using this state dir's config.
is_running() {
  local pid
  pid=$(broker_pid)
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "kafka.Kafka $SERVER_PROPS"
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Two distinct free loopback ports: the kernel's choice via python3 when available,
# otherwise random ports below the ephemeral range probed with bash's /dev/tcp.
pick_ports() {
  if command -v python3 >/dev/null && python3 -c 'pass' 2>/dev/null; then
    python3 - <<'PY'
import socket
socks = []
for _ in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
    return
  fi
  local a b
  while :; do
    a=$((20000 + RANDOM % 12000)); b=$((20000 + RANDOM % 12000))
    [[ $a != "$b" ]] && ! port_in_use "$a" && ! port_in_use "$b" && break
  done
  echo "$a $b"
}

# --- configuration --------------------------------------------------------------------
write_config() {
  local port=$1 cport=$2
  mkdir -p "$CONF_DIR" "$DATA_DIR" "$LOG_DIR"
  cat >"$SERVER_PROPS" <<EOF
# Written by scripts/kafka-broker.sh; rewritten on every start.
node.id=1
process.roles=broker,controller
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$DATA_DIR

# single node: replication factor 1 everywhere, small internal topics
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1

# test friendly
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
EOF
  if [[ -n "${KAFKA_EXTRA_PROPS:-}" ]]; then
    printf '\n# KAFKA_EXTRA_PROPS\n%s\n' "$KAFKA_EXTRA_PROPS" >>"$SERVER_PROPS"
  fi
  cat >"$LOG4J_CONF" <<EOF
# Written by scripts/kafka-broker.sh: $LOG_LEVEL and above to logs/server.log.
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $LOG_DIR/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = $LOG_LEVEL
rootLogger.appenderRefs = file
rootLogger.appenderRef.file.ref = FILE
# one INFO line per start/stop ("Kafka Server started"), handy when reading the log
logger.raftserver.name = kafka.server.KafkaRaftServer
logger.raftserver.level = INFO
EOF
}

java_opts() {
  # shellcheck disable=SC2206
  local heap=($HEAP_OPTS)
  printf '%s\n' "${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError \
    -Djava.awt.headless=true -Dkafka.logs.dir="$LOG_DIR" -Dlog4j2.configurationFile="$LOG4J_CONF"
}

format_storage() {
  local cid
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    return 0
  fi
  cid=$(java -cp "$LIB_DIR/*" -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$LOG_DIR" \
    kafka.tools.StorageTool random-uuid 2>>"$LOG_DIR/format.log" | tail -n1)
  [[ "$cid" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "StorageTool random-uuid gave '$cid' (see $LOG_DIR/format.log)"
  echo "$cid" >"$CLUSTER_ID_FILE"
  if ! java -cp "$LIB_DIR/*" -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$LOG_DIR" \
      kafka.tools.StorageTool format --standalone --ignore-formatted -t "$cid" -c "$SERVER_PROPS" \
      >>"$LOG_DIR/format.log" 2>&1; then
    tail -n 20 "$LOG_DIR/format.log" >&2
    die "kafka.tools.StorageTool format failed"
  fi
  FORMATTED_NOW=1
}

launch() {
  local opts
  mapfile -t opts < <(java_opts)
  echo "=== start $(date -Is) ===" >>"$LOG_DIR/kafka.out"
  # fd 9 (the state lock) must not leak into the long-lived broker.
  nohup java "${opts[@]}" -cp "$LIB_DIR/*" kafka.Kafka "$SERVER_PROPS" \
    >>"$LOG_DIR/kafka.out" 2>&1 </dev/null 9>&- &
  echo $! >"$PID_FILE"
}

# One real metadata request; true when it lists at least one (unfenced) broker.
probe() {
  local bootstrap="127.0.0.1:$1"
  if [[ "$PROBE" == kcat ]]; then
    kcat -L -b "$bootstrap" -t __kafka_broker_sh_probe -m 3 2>/dev/null | grep -Eq '^ *[1-9][0-9]* brokers:'
  else
    run_helper ready "$bootstrap" >/dev/null 2>&1
  fi
}

# Bounded poll: true once the broker answers; false on timeout or when the JVM exits.
wait_ready() {
  local port=$1 deadline=$((SECONDS + START_TIMEOUT)) pid
  pid=$(broker_pid)
  [[ "$PROBE" == kcat ]] || ensure_helper
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "broker process $pid exited during startup"
      return 1
    fi
    if probe "$port"; then
      return 0
    fi
    sleep 0.3
  done
  log "broker did not answer on 127.0.0.1:$port within ${START_TIMEOUT}s"
  return 1
}

# Byte sizes of the logs before a launch, so a failure shows only this attempt's lines.
mark_logs() {
  LOG_MARK=$(stat -c %s "$LOG_DIR/server.log" 2>/dev/null || echo 0)
  OUT_MARK=$(stat -c %s "$LOG_DIR/kafka.out" 2>/dev/null || echo 0)
}

show_logs() {
  log "---- $LOG_DIR/server.log (this attempt, last 40 lines) ----"
  tail -c +"$((LOG_MARK + 1))" "$LOG_DIR/server.log" 2>/dev/null | tail -n 40 >&2 || true
  log "---- $LOG_DIR/kafka.out (this attempt, last 20 lines) ----"
  tail -c +"$((OUT_MARK + 1))" "$LOG_DIR/kafka.out" 2>/dev/null | tail -n 20 >&2 || true
}

# SIGTERM (controlled shutdown), bounded wait, then SIGKILL.
stop_broker() {
  local pid deadline
  if ! is_running; then
    rm -f "$PID_FILE"
    return 0
  fi
  pid=$(broker_pid)
  log "stopping broker (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker did not exit within ${STOP_TIMEOUT}s after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.1; done
  fi
  kill -0 "$pid" 2>/dev/null && die "broker pid $pid still alive after SIGKILL"
  rm -f "$PID_FILE"
}

lock_state() {
  mkdir -p "$STATE_DIR"
  exec 9>"$STATE_DIR/.lock"
  flock -w 300 9 || die "timed out waiting for the lock on $STATE_DIR"
}

print_env() { echo "KAFKA_BROKERS=127.0.0.1:$(cat "$PORT_FILE")"; }

# --- subcommands ----------------------------------------------------------------------
# start [same-ports]: with "same-ports" (restart) the saved ports are required.
# After `stop`, the saved ports are reused when free; otherwise new ports are picked and
# the existing data is kept (a single-node KRaft quorum accepts a moved controller port).
do_start() {
  local strict=${1:-} attempt port cport t0=$SECONDS
  if is_running; then
    log "already running (pid $(broker_pid))"
    print_env
    return 0
  fi
  ensure_jars
  for attempt in 1 2; do
    port=$(cat "$PORT_FILE" 2>/dev/null || true)
    cport=$(cat "$CPORT_FILE" 2>/dev/null || true)
    if [[ -n "$port" && -n "$cport" ]] && { port_in_use "$port" || port_in_use "$cport"; }; then
      [[ "$strict" == same-ports ]] && die "port $port or $cport is taken: cannot restart on the same ports"
      log "saved ports $port/$cport are taken: picking new ones"
      port=""
    fi
    if [[ -z "$port" || -z "$cport" ]]; then
      read -r port cport < <(pick_ports)
      echo "$port" >"$PORT_FILE"
      echo "$cport" >"$CPORT_FILE"
    fi
    write_config "$port" "$cport"
    FORMATTED_NOW=0
    format_storage
    log "starting Kafka $(kafka_version) on 127.0.0.1:$port (controller 127.0.0.1:$cport), attempt $attempt"
    mark_logs
    launch
    if wait_ready "$port"; then
      log "broker ready in $((SECONDS - t0))s (pid $(broker_pid), state $STATE_DIR)"
      print_env
      return 0
    fi
    show_logs
    stop_broker
    if ((attempt == 1)); then
      if ((FORMATTED_NOW)); then
        # a brand-new quorum that did not form: retry from scratch (new ports unless restarting)
        rm -rf "$DATA_DIR"
        [[ "$strict" == same-ports ]] || rm -f "$PORT_FILE" "$CPORT_FILE"
      fi
      log "retrying start once"
    fi
  done
  die "Kafka broker could not start (logs in $LOG_DIR)"
}

cmd_status() {
  if is_running; then
    echo "running pid=$(broker_pid) brokers=127.0.0.1:$(cat "$PORT_FILE") state=$STATE_DIR"
  else
    echo "stopped state=$STATE_DIR"
    return 3
  fi
}

cmd_env() {
  is_running || { log "broker is not running"; return 1; }
  print_env
}

cmd_create_topic() {
  local if_not_exists=false
  if [[ "${1:-}" == --if-not-exists ]]; then if_not_exists=true; shift; fi
  (($# >= 2)) || die "usage: create-topic [--if-not-exists] NAME PARTITIONS [key=value ...]"
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "PARTITIONS must be a positive integer, got '$2'"
  is_running || die "broker is not running"
  ensure_helper
  run_helper create-topic "127.0.0.1:$(cat "$PORT_FILE")" "$if_not_exists" "$@"
}

main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
    start) lock_state; do_start ;;
    stop) lock_state; stop_broker ;;
    restart) lock_state; stop_broker; do_start same-ports ;;
    status) cmd_status ;;
    env) cmd_env ;;
    create-topic) cmd_create_topic "$@" ;;
    clean) lock_state; stop_broker; rm -rf "$DATA_DIR" "$LOG_DIR" "$CONF_DIR" "$PORT_FILE" "$CPORT_FILE" "$CLUSTER_ID_FILE" ;;
    *)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
      exit 2 ;;
  esac
}

# Sourceable: scripts/kafka-secure-broker.sh reuses these functions (jars, ports, launch, stop)
# and runs its own main.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
