#!/usr/bin/env bash
# Push latency from produce to WebSocket subscribers of a view, and server memory per idle
# subscriber, on a fresh server: bench/push_latency.sh [SUBSCRIBERS] [RATE] [SECONDS] [IDLE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target sluice push_latency >/dev/null
work=$(mktemp -d /tmp/sluice-push-XXXXXX)
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
kport=$(free_port); hport=$(free_port)
"$build/sluice" server --data-dir "$work/data" --kafka-addr "127.0.0.1:$kport" \
  --http-addr "127.0.0.1:$hport" --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 200); do curl -sf "http://127.0.0.1:$hport/ready" >/dev/null && break; sleep 0.05; done
ulimit -n "$(ulimit -Hn)"
"$build/push_latency" --brokers "127.0.0.1:$kport" --http "127.0.0.1:$hport" --pid "$pid" \
  --subscribers "${1:-1000}" --rate "${2:-10000}" --seconds "${3:-10}" --idle "${4:-10000}"
