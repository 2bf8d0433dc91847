#!/usr/bin/env bash
# The case that used to cut SSE readers off: three `curl -N` readers of a keyed view (5,000
# keys) updated 50,000 times a second, writing to files. Prints, per reader, the bytes and
# `changes` events it got, any `error` event, and the last position it reached next to the
# view's final sequence number.
#   bench/sse_curl.sh [SECONDS]   (default 8)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target sluice push_latency >/dev/null
source "$root/bench/server.sh"
seconds=${1:-8}
bench_server ssecurl
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
# push_latency creates the view pushlat_sse_view, then produces; the readers join once it exists.
(
  sleep 4
  for i in 1 2 3; do
    timeout $((seconds + 6)) curl -sN "http://127.0.0.1:$hport/v1/views/pushlat_sse_view/events" \
      > "$work/reader$i.txt" &
  done
  wait
) &
readers=$!
"$build/push_latency" --brokers "127.0.0.1:$kport" --http "127.0.0.1:$hport" --pid "$pid" \
  --subscribers 1 --rate 50000 --seconds "$seconds" --idle 0 --slow 0 --keys 5000 \
  --transports sse | tail -1
wait "$readers"
final=$(curl -s "http://127.0.0.1:$hport/v1/views/pushlat_sse_view" | grep -o '"sequence":[0-9]*' | cut -d: -f2)
for i in 1 2 3; do
  f=$work/reader$i.txt
  echo "curl reader $i: $(wc -c < "$f") bytes, $(grep -c '^event: changes' "$f") changes events," \
    "$(grep -c '^event: error' "$f") error events, last position $(grep '^id: ' "$f" | tail -1 | cut -d' ' -f2) of $final"
done
