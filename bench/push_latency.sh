#!/usr/bin/env bash
# Live-view push at scale on a fresh server, WebSocket and SSE side by side at the same load
# (latency, deliveries/s, bytes/s, CPU of each side, slow readers in `latest` mode, memory per
# idle subscriber):
#   bench/push_latency.sh [SUBSCRIBERS] [RATE] [SECONDS] [IDLE] [push_latency options...]
# e.g. bench/push_latency.sh 1000 10000 10 10000 --encoding compact --keys 5000 --mode latest
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target sluice push_latency >/dev/null
source "$root/bench/server.sh"
bench_server push ${SLUICE_FLAGS:-}
ulimit -n "$(ulimit -Hn)"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
"$build/push_latency" --brokers "127.0.0.1:$kport" --http "127.0.0.1:$hport" --pid "$pid" \
  --subscribers "${1:-1000}" --rate "${2:-10000}" --seconds "${3:-10}" --idle "${4:-10000}" \
  "${@:5}"
