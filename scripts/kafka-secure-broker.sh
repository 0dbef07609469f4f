#!/usr/bin/env bash
# kafka-secure-broker.sh: a second single-node Kafka 4.x broker (KRaft) that speaks only
# SASL_SSL to clients, with SCRAM-SHA-512 users and the StandardAuthorizer, for the TLS/SASL/ACL
# tests (tests/kafka/secure.rs) and for trying the service's ACL list by hand.
#
# Usage:
#   scripts/kafka-secure-broker.sh start     # certificates, users, start, wait until it answers;
#                                            # then prints the env (see `env`)
#   scripts/kafka-secure-broker.sh stop      # SIGTERM, bounded wait, SIGKILL as a last resort
#   scripts/kafka-secure-broker.sh status    # exit 0 when running, 3 when not
#   scripts/kafka-secure-broker.sh env       # KAFKA_SECURE_* lines for `export` (exit 1 when not running)
#   scripts/kafka-secure-broker.sh clean     # stop and delete data, certificates, passwords, ports
#   scripts/kafka-secure-broker.sh acl-add PRINCIPAL BINDING...      # e.g. User:attendance topic:badges:READ
#   scripts/kafka-secure-broker.sh acl-remove PRINCIPAL BINDING...
#   scripts/kafka-secure-broker.sh acl-list [PRINCIPAL]
#   scripts/kafka-secure-broker.sh create-topic [--if-not-exists] NAME PARTITIONS [key=value ...]
#
#   BINDING = TYPE:NAME:OPERATION with TYPE one of topic, group, transactional-id,
#   topic-prefix, group-prefix, transactional-id-prefix, cluster (NAME empty: cluster::WRITE).
#   acl-add/acl-remove return once the broker's authorizer shows the change.
#
#   set -a; eval "$(scripts/kafka-secure-broker.sh start | grep ^KAFKA_SECURE_)"; set +a
#
# What it sets up (all made at run time in the state directory, nothing checked in):
#   tls/      a CA (ca.pem) and a broker certificate for 127.0.0.1/localhost signed by it, in a
#             PKCS12 keystore; a PKCS12 truststore with the CA (openssl + keytool)
#   secrets/  random passwords, one file per user (mode 600)
#   users     SCRAM-SHA-512 credentials added when the storage is formatted
#             (`kafka-storage format --add-scram`, KIP-900): `admin` (super user, used by
#             the tests to create topics, produce, read and manage ACLs), `attendance` (the
#             service: no ACL until granted) and `outsider` (never granted anything)
#   listeners SASL_SSL://127.0.0.1:PORT for clients and between brokers (SCRAM-SHA-512);
#             CONTROLLER on a second loopback port, PLAINTEXT (KRaft does not take SCRAM on
#             the controller listener, so its principal User:ANONYMOUS is a super user; it
#             serves only controller requests and binds 127.0.0.1)
#   authorizer org.apache.kafka.metadata.authorizer.StandardAuthorizer,
#             allow.everyone.if.no.acl.found=false, super.users=User:admin;User:ANONYMOUS
#
# Environment: KAFKA_SECURE_STATE_DIR (default <repo>/.kafka-secure); the KAFKA_* knobs of
# scripts/kafka-broker.sh (start/stop timeouts, heap, log level) apply too. Jars are resolved
# as scripts/kafka-broker.sh does (Maven, ~/.m2 cache). Needs openssl and keytool.
set -euo pipefail

SECURE_SCRIPT=$(realpath "${BASH_SOURCE[0]}")
SECURE_SCRIPT_DIR=$(dirname "$SECURE_SCRIPT")
SECURE_REPO_DIR=$(cd "$SECURE_SCRIPT_DIR/.." && pwd)
export KAFKA_STATE_DIR="${KAFKA_SECURE_STATE_DIR:-$SECURE_REPO_DIR/.kafka-secure}"
# The readiness probe below is ours (the AdminClient helper over SASL_SSL). kcat cannot be
# used here: Debian's kcat links librdkafka 2.0.2, whose SCRAM client-final-message Kafka 4.x
# rejects (fixed in librdkafka 2.6.1; the service bundles 2.12). "kcat" only stops
# kafka-broker.sh from compiling its own helper.
export KAFKA_PROBE=kcat
# shellcheck source=scripts/kafka-broker.sh
source "$SECURE_SCRIPT_DIR/kafka-broker.sh"

TLS_DIR="$STATE_DIR/tls"
SECRETS_DIR="$STATE_DIR/secrets"
CLIENTS_DIR="$STATE_DIR/clients"
SECURE_HELPER_DIR="$STATE_DIR/secure-helper"
USERS=(admin attendance outsider)

log() { echo "kafka-secure-broker: $*" >&2; }

# --- secrets and certificates -----------------------------------------------------------
password_file() { echo "$SECRETS_DIR/$1.password"; }

ensure_secrets() {
  local user
  mkdir -p "$SECRETS_DIR"
  chmod 700 "$SECRETS_DIR"
  for user in "${USERS[@]}" store; do
    if [[ ! -s "$(password_file "$user")" ]]; then
      (umask 077; openssl rand -hex 24 >"$(password_file "$user")")
    fi
  done
}

ensure_certificates() {
  local store_pass
  [[ -f "$TLS_DIR/broker.keystore.p12" && -f "$TLS_DIR/truststore.p12" ]] && return 0
  command -v openssl >/dev/null || die "openssl not found"
  command -v keytool >/dev/null || die "keytool not found (a JDK provides it)"
  rm -rf "$TLS_DIR" && mkdir -p "$TLS_DIR"
  store_pass=$(cat "$(password_file store)")
  log "making a CA and a broker certificate in $TLS_DIR"
  (
    cd "$TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=attendance-test-ca" \
      -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout broker.key -out broker.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 30 \
      -extfile broker.ext -out broker.pem 2>/dev/null
    openssl pkcs12 -export -name broker -inkey broker.key -in broker.pem -certfile ca.pem \
      -passout "pass:$store_pass" -out broker.keystore.p12
    keytool -importcert -noprompt -alias ca -file ca.pem -storetype PKCS12 \
      -keystore truststore.p12 -storepass "$store_pass" >/dev/null 2>&1
    rm -f broker.csr broker.ext ca.srl ca.key broker.key
    chmod 600 broker.keystore.p12 truststore.p12
  ) || die "making certificates failed"
}

# librdkafka properties of each user (for kcat -F and for the tests' admin clients).
write_client_configs() {
  local user
  mkdir -p "$CLIENTS_DIR"
  for user in "${USERS[@]}"; do
    (umask 077; cat >"$CLIENTS_DIR/$user.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanisms=SCRAM-SHA-512
sasl.username=$user
sasl.password=$(cat "$(password_file "$user")")
ssl.ca.location=$TLS_DIR/ca.pem
EOF
    )
  done
}

# --- broker configuration (replaces kafka-broker.sh's write_config) ----------------------
write_config() {
  local port=$1 cport=$2 store_pass admin_pass
  store_pass=$(cat "$(password_file store)")
  admin_pass=$(cat "$(password_file admin)")
  mkdir -p "$CONF_DIR" "$DATA_DIR" "$LOG_DIR"
  (umask 077; cat >"$SERVER_PROPS" <<EOF
# Written by scripts/kafka-secure-broker.sh; rewritten on every start.
node.id=1
process.roles=broker,controller
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
inter.broker.listener.name=SASL_SSL
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
log.dirs=$DATA_DIR

# SASL: SCRAM-SHA-512 only; the broker's own client side logs in as admin
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pass";

# TLS: PKCS12 keystore and truststore made by this script
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/broker.keystore.p12
ssl.keystore.password=$store_pass
ssl.key.password=$store_pass
ssl.truststore.type=PKCS12
ssl.truststore.location=$TLS_DIR/truststore.p12
ssl.truststore.password=$store_pass
ssl.client.auth=none
ssl.endpoint.identification.algorithm=https

# ACLs
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:ANONYMOUS

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
  )
  cat >"$LOG4J_CONF" <<EOF
# Written by scripts/kafka-secure-broker.sh: $LOG_LEVEL and above to logs/server.log.
status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $LOG_DIR/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = $LOG_LEVEL
rootLogger.appenderRefs = file
rootLogger.appenderRef.file.ref = FILE
logger.raftserver.name = kafka.server.KafkaRaftServer
logger.raftserver.level = INFO
EOF
}

# Replaces kafka-broker.sh's format_storage: the same, plus the SCRAM users (KIP-900).
format_storage() {
  local cid user scram=()
  if [[ -f "$DATA_DIR/meta.properties" ]]; then
    return 0
  fi
  for user in "${USERS[@]}"; do
    scram+=(--add-scram "SCRAM-SHA-512=[name=\"$user\",password=\"$(cat "$(password_file "$user")")\"]")
  done
  cid=$(java -cp "$LIB_DIR/*" -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$LOG_DIR" \
    kafka.tools.StorageTool random-uuid 2>>"$LOG_DIR/format.log" | tail -n1)
  [[ "$cid" =~ ^[A-Za-z0-9_-]{22}$ ]] || die "StorageTool random-uuid gave '$cid' (see $LOG_DIR/format.log)"
  echo "$cid" >"$CLUSTER_ID_FILE"
  # The passwords are on this command line for the second it runs (StorageTool reads them
  # nowhere else); the format log does not echo them.
  if ! java -cp "$LIB_DIR/*" -Dlog4j2.configurationFile="$LOG4J_CONF" -Dkafka.logs.dir="$LOG_DIR" \
      kafka.tools.StorageTool format --standalone --ignore-formatted -t "$cid" -c "$SERVER_PROPS" \
      "${scram[@]}" >>"$LOG_DIR/format.log" 2>&1; then
    tail -n 20 "$LOG_DIR/format.log" >&2
    die "kafka.tools.StorageTool format failed"
  fi
  FORMATTED_NOW=1
}

# Replaces kafka-broker.sh's probe: describeCluster as admin over SASL_SSL.
probe() {
  java -Xmx128m -XX:TieredStopAtLevel=1 -Xshare:auto -Dlog4j2.level=ERROR \
    -cp "$SECURE_HELPER_DIR:$LIB_DIR/*" KafkaSecureAdmin ready "$CLIENTS_DIR/admin.properties" \
    "127.0.0.1:$1" >/dev/null 2>&1
}

print_env() {
  echo "KAFKA_SECURE_BROKERS=127.0.0.1:$(cat "$PORT_FILE")"
  echo "KAFKA_SECURE_CA=$TLS_DIR/ca.pem"
  echo "KAFKA_SECURE_ADMIN_CONFIG=$CLIENTS_DIR/admin.properties"
  echo "KAFKA_SECURE_OUTSIDER_CONFIG=$CLIENTS_DIR/outsider.properties"
  echo "KAFKA_SECURE_SERVICE_USER=attendance"
  echo "KAFKA_SECURE_SERVICE_PASSWORD_FILE=$(password_file attendance)"
  echo "KAFKA_SECURE_SCRIPT=$SECURE_SCRIPT"
}

# --- AdminClient helper: ACLs and topics over SASL_SSL as admin ---------------------------
secure_helper_source() {
  cat <<'JAVA'
import java.io.FileReader;
import java.util.*;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.*;
import org.apache.kafka.common.acl.*;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.resource.*;

/** kafka-secure-broker.sh helper: acl-add|acl-remove PRINCIPAL BINDING..., acl-list [PRINCIPAL], create-topic. */
public class KafkaSecureAdmin {
  static AclBinding binding(String principal, String spec) {
    String[] p = spec.split(":", -1);
    if (p.length != 3) throw new IllegalArgumentException("binding must be TYPE:NAME:OPERATION, got " + spec);
    ResourceType type;
    PatternType pattern = PatternType.LITERAL;
    String name = p[1];
    switch (p[0]) {
      case "topic": type = ResourceType.TOPIC; break;
      case "group": type = ResourceType.GROUP; break;
      case "transactional-id": type = ResourceType.TRANSACTIONAL_ID; break;
      case "topic-prefix": type = ResourceType.TOPIC; pattern = PatternType.PREFIXED; break;
      case "group-prefix": type = ResourceType.GROUP; pattern = PatternType.PREFIXED; break;
      case "transactional-id-prefix": type = ResourceType.TRANSACTIONAL_ID; pattern = PatternType.PREFIXED; break;
      case "cluster": type = ResourceType.CLUSTER; name = "kafka-cluster"; break;
      default: throw new IllegalArgumentException("unknown resource type " + p[0]);
    }
    AclOperation op = AclOperation.fromString(p[2]);
    if (op == AclOperation.UNKNOWN) throw new IllegalArgumentException("unknown operation " + p[2]);
    return new AclBinding(new ResourcePattern(type, name, pattern),
        new AccessControlEntry(principal, "*", op, AclPermissionType.ALLOW));
  }

  static Set<AclBinding> current(Admin admin) throws Exception {
    return new HashSet<>(admin.describeAcls(AclBindingFilter.ANY).values().get(30, TimeUnit.SECONDS));
  }

  /** Polls describeAcls (served from the broker's authorizer) until the change shows. */
  static void await(Admin admin, List<AclBinding> bindings, boolean present) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (true) {
      Set<AclBinding> now = current(admin);
      boolean done = bindings.stream().allMatch(b -> now.contains(b) == present);
      if (done) return;
      if (System.nanoTime() > deadline) throw new IllegalStateException("ACL change not visible after 30s");
      Thread.sleep(50);
    }
  }

  public static void main(String[] args) throws Exception {
    Properties p = new Properties();
    try (FileReader r = new FileReader(args[1])) { p.load(r); }
    Properties a = new Properties();
    a.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[2]);
    a.put("security.protocol", "SASL_SSL");
    a.put("sasl.mechanism", "SCRAM-SHA-512");
    a.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
        + p.getProperty("sasl.username") + "\" password=\"" + p.getProperty("sasl.password") + "\";");
    a.put("ssl.truststore.type", "PEM");
    a.put("ssl.truststore.location", p.getProperty("ssl.ca.location"));
    a.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    a.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    try (Admin admin = Admin.create(a)) {
      switch (args[0]) {
        case "acl-add":
        case "acl-remove": {
          List<AclBinding> bindings = new ArrayList<>();
          for (int i = 4; i < args.length; i++) bindings.add(binding(args[3], args[i]));
          if (args[0].equals("acl-add")) {
            admin.createAcls(bindings).all().get(30, TimeUnit.SECONDS);
            await(admin, bindings, true);
          } else {
            List<AclBindingFilter> filters = new ArrayList<>();
            for (AclBinding b : bindings) filters.add(b.toFilter());
            admin.deleteAcls(filters).all().get(30, TimeUnit.SECONDS);
            await(admin, bindings, false);
          }
          for (AclBinding b : bindings) System.out.println(args[0] + " " + b);
          break;
        }
        case "ready": {
          int nodes = 0;
          try {
            nodes = admin.describeCluster().nodes().get(10, TimeUnit.SECONDS).size();
          } catch (Exception e) {
            System.err.println("not ready: " + e);
          }
          System.exit(nodes > 0 ? 0 : 1);
        }
        case "acl-list": {
          for (AclBinding b : current(admin)) {
            if (args.length < 4 || b.entry().principal().equals(args[3])) System.out.println(b);
          }
          break;
        }
        case "create-topic": {
          boolean ifNotExists = Boolean.parseBoolean(args[3]);
          String name = args[4];
          int partitions = Integer.parseInt(args[5]);
          Map<String, String> configs = new LinkedHashMap<>();
          for (int i = 6; i < args.length; i++) {
            int eq = args[i].indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("config must be key=value: " + args[i]);
            configs.put(args[i].substring(0, eq), args[i].substring(eq + 1));
          }
          try {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs)))
                .all().get(30, TimeUnit.SECONDS);
            System.out.println("created topic " + name);
          } catch (ExecutionException e) {
            if (!(ifNotExists && e.getCause() instanceof TopicExistsException)) throw e;
          }
          break;
        }
        default:
          System.err.println("unknown helper command " + args[0]);
          System.exit(2);
      }
    }
    System.exit(0);
  }
}
JAVA
}

ensure_secure_helper() {
  local stamp
  stamp="$( (secure_helper_source; kafka_version) | sha256sum | cut -d' ' -f1)"
  if [[ -f "$SECURE_HELPER_DIR/KafkaSecureAdmin.class" && "$(cat "$SECURE_HELPER_DIR/.stamp" 2>/dev/null)" == "$stamp" ]]; then
    return 0
  fi
  command -v javac >/dev/null || die "javac not found (needed for the AdminClient helper)"
  rm -rf "$SECURE_HELPER_DIR" && mkdir -p "$SECURE_HELPER_DIR"
  secure_helper_source >"$SECURE_HELPER_DIR/KafkaSecureAdmin.java"
  javac -nowarn -d "$SECURE_HELPER_DIR" -cp "$LIB_DIR/kafka-clients-$(kafka_version).jar" \
    "$SECURE_HELPER_DIR/KafkaSecureAdmin.java" || die "javac of the secure AdminClient helper failed"
  echo "$stamp" >"$SECURE_HELPER_DIR/.stamp"
}

run_secure_helper() {
  local cmd=$1
  shift
  is_running || die "secure broker is not running"
  java -Xmx256m -XX:TieredStopAtLevel=1 -Xshare:auto -Dlog4j2.level=ERROR \
    -cp "$SECURE_HELPER_DIR:$LIB_DIR/*" KafkaSecureAdmin "$cmd" "$CLIENTS_DIR/admin.properties" \
    "127.0.0.1:$(cat "$PORT_FILE")" "$@"
}

secure_main() {
  local cmd=${1:-}
  shift || true
  case "$cmd" in
    start)
      lock_state
      ensure_secrets
      ensure_certificates
      write_client_configs
      ensure_jars
      ensure_secure_helper
      do_start >/dev/null
      print_env ;;
    stop) lock_state; stop_broker ;;
    status) cmd_status ;;
    env) is_running || { log "secure broker is not running"; exit 1; }; print_env ;;
    acl-add | acl-remove)
      (($# >= 2)) || die "usage: $cmd PRINCIPAL TYPE:NAME:OPERATION..."
      ensure_secure_helper; run_secure_helper "$cmd" "$@" ;;
    acl-list) ensure_secure_helper; run_secure_helper acl-list "$@" ;;
    create-topic)
      local if_not_exists=false
      if [[ "${1:-}" == --if-not-exists ]]; then if_not_exists=true; shift; fi
      (($# >= 2)) || die "usage: create-topic [--if-not-exists] NAME PARTITIONS [key=value ...]"
      ensure_secure_helper; run_secure_helper create-topic "$if_not_exists" "$@" ;;
    clean)
      lock_state; stop_broker
      rm -rf "$DATA_DIR" "$LOG_DIR" "$CONF_DIR" "$TLS_DIR" "$SECRETS_DIR" "$CLIENTS_DIR" \
        "$PORT_FILE" "$CPORT_FILE" "$CLUSTER_ID_FILE" ;;
    *)
      sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
      exit 2 ;;
  esac
}

secure_main "$@"
