#!/usr/bin/env bash
# Installs the Debian packages that building, testing and the demo need; with --bench also the
# peers that only the benchmarks run (RabbitMQ, NATS, wrk: RabbitMQ's Erlang alone is a minute
# of a fresh machine's set-up that no test needs).
# Idempotent and quiet when everything is already present. Run as root (or with sudo).
#   scripts/install-deps.sh [--bench]
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config clang-16 libclang-rt-16-dev clang-format
  # libraries (DESIGN.md, "Dependencies")
  libboost1.81-dev librdkafka-dev libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev
  libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev
  libsimdjson-dev libedit-dev libjemalloc-dev librocksdb-dev libssl-dev openssl
  libprotobuf-dev libprotoc-dev
  # connectors: PostgreSQL (libpq), Redis (hiredis), MQTT (libmosquitto)
  libpq-dev libhiredis-dev libmosquitto-dev
  # Apache Avro's C library: only bench/avro_decode compares sluice's Avro decoder with it
  libavro-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # real peers for the tests (and the benchmarks)
  kcat redis-server redis-tools postgresql mosquitto mosquitto-clients
  # the load balancer in front of cluster-mode nodes (deploy/haproxy)
  haproxy
  # the dashboard test's browser (driven by playwright-core from npm)
  chromium
  # small tools the test scripts use
  procps psmisc netcat-openbsd python3 bc curl
  # a Kafka client of its own for the transaction tests (librdkafka underneath, Debian's build)
  python3-confluent-kafka
  # a Kafka client that shares no code with librdkafka (SASL PLAIN over TLS in the security test)
  python3-kafka
  # promtool (checks /metrics)
  prometheus
)
if [ "${1:-}" = "--bench" ]; then
  # peers the benchmarks compare sluice with
  packages+=(nats-server wrk rabbitmq-server)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
