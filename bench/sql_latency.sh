#!/usr/bin/env bash
# End-to-end latency of a continuous query (produce -> query -> row at an HTTP client) on a
# fresh server: bench/sql_latency.sh [RATE] [SECONDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target sluice sql_latency >/dev/null
source "$root/bench/server.sh"
bench_server latency
"$build/sql_latency" --brokers "127.0.0.1:$kport" --http "127.0.0.1:$hport" \
  --rate "${1:-10000}" --seconds "${2:-10}"
