#!/usr/bin/env bash
# Work queues side by side: sluice (HTTP /v1/queues) and RabbitMQ (Debian's rabbitmq-server,
# AMQP with amqplib from npm), both on this machine and both durable with per-message acks:
# send-receive-ack throughput and latency with 1, 4 and 16 consumers, then how close to a
# configured retry backoff a nacked message comes back.
#   bench/queue.sh [MESSAGES] [BACKOFF_MS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --bench
build=${BUILD_DIR:-$root/build}
messages=${1:-100000}
backoff=${2:-500}
cmake --build "$build" --target sluice >/dev/null
(cd "$root/bench/queue" && npm ci --no-audit --no-fund --silent)
source "$root/bench/server.sh"
bench_server queue-bench
aport=$(free_port)

# A private RabbitMQ node: its own port, data folder, cookie and no plugins.
mkdir -p "$work/rmq"
echo '[].' > "$work/rmq/enabled_plugins"
export HOME="$work/rmq" RABBITMQ_NODENAME="sluicebench@localhost" RABBITMQ_NODE_PORT="$aport" \
  RABBITMQ_DIST_PORT=$((aport + 1)) RABBITMQ_MNESIA_BASE="$work/rmq/mnesia" \
  RABBITMQ_LOG_BASE="$work/rmq/log" RABBITMQ_ENABLED_PLUGINS_FILE="$work/rmq/enabled_plugins" \
  RABBITMQ_CONFIG_FILES="$work/rmq/none"
setsid /usr/lib/rabbitmq/bin/rabbitmq-server > "$work/rmq/out.log" 2>&1 &
rmq_pid=$!
cleanup() {
  /usr/lib/rabbitmq/bin/rabbitmqctl -n sluicebench@localhost stop >/dev/null 2>&1 || true
  kill -- -"$rmq_pid" 2>/dev/null || true
  bench_cleanup
}
trap cleanup EXIT
for _ in $(seq 1 300); do (exec 3<>/dev/tcp/127.0.0.1/"$aport") 2>/dev/null && break; sleep 0.1; done
(exec 3<>/dev/tcp/127.0.0.1/"$aport") 2>/dev/null || { echo "RabbitMQ did not start:"; tail -20 "$work/rmq/out.log"; exit 1; }

echo "== $messages messages of about 100 bytes, durable, acknowledged one by one ($(nproc) cores)"
for c in 1 4 16; do
  node "$root/bench/queue/bench.mjs" sluice "127.0.0.1:$hport" "$messages" "$c"
  node "$root/bench/queue/bench.mjs" rabbitmq "amqp://guest:guest@127.0.0.1:$aport" "$messages" "$c"
done
echo "== retry backoff accuracy"
node "$root/bench/queue/bench.mjs" sluice-retry "127.0.0.1:$hport" 1000 "$backoff"
node "$root/bench/queue/bench.mjs" rabbitmq-retry "amqp://guest:guest@127.0.0.1:$aport" 1000 "$backoff"
