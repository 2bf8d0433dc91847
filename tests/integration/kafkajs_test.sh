#!/usr/bin/env bash
# kafkajs (the Node.js Kafka client) against a freshly started sluice server: admin calls,
# an idempotent producer with gzip, and a consumer group that commits and resumes.
set -euo pipefail
sluice=${1:?usage: kafkajs_test.sh PATH_TO_SLUICE}
here=$(cd "$(dirname "$0")/kafkajs" && pwd)
(cd "$here" && npm ci --no-audit --no-fund --silent)
work=$(mktemp -d /tmp/sluice-kafkajs-XXXXXX)
source "$(dirname "$0")/server_lib.sh"  # free_port
port=$(free_port)
hport=$(free_port)
"$sluice" server --data-dir "$work/data" --kafka-addr "127.0.0.1:$port" --http-addr "127.0.0.1:$hport" \
  --log-level warn &
pid=$!
trap 'kill -9 $pid 2>/dev/null || true; rm -rf "$work"' EXIT
until (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do sleep 0.05; done
node "$here/smoke.mjs" "127.0.0.1:$port"
kill -TERM $pid
wait $pid  # a clean stop exits 0
