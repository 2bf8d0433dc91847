#!/usr/bin/env bash
# Push latency from produce to WebSocket subscribers of a view, and server memory per idle
# subscriber, on a fresh server: bench/push_latency.sh [SUBSCRIBERS] [RATE] [SECONDS] [IDLE]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target sluice push_latency >/dev/null
source "$root/bench/server.sh"
bench_server push
ulimit -n "$(ulimit -Hn)"
"$build/push_latency" --brokers "127.0.0.1:$kport" --http "127.0.0.1:$hport" --pid "$pid" \
  --subscribers "${1:-1000}" --rate "${2:-10000}" --seconds "${3:-10}" --idle "${4:-10000}"
