#!/usr/bin/env bash
# End-to-end latency of a continuous query (produce -> query -> row at an HTTP client) on a
# fresh server: bench/sql_latency.sh [RATE] [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target sluice sql_latency >/dev/null
work=$(mktemp -d /tmp/sluice-latency-XXXXXX)
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kport=$(free_port); hport=$(free_port)
"$build/sluice" server --data-dir "$work/data" --kafka-addr "127.0.0.1:$kport" \
  --http-addr "127.0.0.1:$hport" --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$hport/health" >/dev/null && break; sleep 0.05; done
"$build/sql_latency" --brokers "127.0.0.1:$kport" --http "127.0.0.1:$hport" \
  --rate "${1:-10000}" --seconds "${2:-10}"
