#!/usr/bin/env bash
# install-tools.sh: install the Debian tools the integration tests use, when missing.
#
# Usage: scripts/install-tools.sh      (as root, or with sudo available)
#
#   kcat        Kafka command-line client (produce/consume/metadata), package `kcat`
#   promtool    Prometheus rule/metrics checker, package `prometheus`
#   time        GNU time (/usr/bin/time: peak RSS of the flood tests), package `time`
#   chromium    headless browser for the report.html test (tests/it/simulate_browser.rs),
#               package `chromium`
#   curl        the record API's TLS and demo tests call it as a person would, package `curl`
#   openssl     makes the certificate of the record API's TLS test (tests/kafka/record_api.rs),
#               package `openssl`
#
# Idempotent: runs `apt-get update` and `apt-get install` only when a tool is missing,
# then prints the versions. The package's service is not started (policy-rc.d on
# containers; nothing here runs the server). Java 17 and Maven for the Kafka broker
# (scripts/kafka-broker.sh) are expected to be installed already.
set -euo pipefail

SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "install-tools: need root or sudo" >&2; exit 1; }
  SUDO="sudo"
fi

missing=()
command -v kcat >/dev/null || missing+=(kcat)
command -v promtool >/dev/null || missing+=(prometheus)
[[ -x /usr/bin/time ]] || missing+=(time)
command -v chromium >/dev/null || missing+=(chromium)
command -v curl >/dev/null || missing+=(curl)
command -v openssl >/dev/null || missing+=(openssl)

if ((${#missing[@]})); then
  echo "install-tools: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

echo "kcat: $(kcat -V 2>&1 | grep -m1 '^Version' || true)"
echo "promtool: $(promtool --version 2>&1 | head -n1)"
echo "chromium: $(chromium --version 2>/dev/null | head -n1)"
