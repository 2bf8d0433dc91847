#!/usr/bin/env bash
# State over time of a regular join whose keys never repeat, with and without a state TTL, on
# a fresh server: every key's rows are kept forever without one, for state_ttl with one.
# Prints, every INTERVAL seconds, the state rows each query holds (sluice_query_state_rows: keys
# in memory, or RocksDB's estimate when larger) and the server's RSS.
#
#   bench/sql_state_ttl.sh [RATE events/s] [MINUTES] [TTL] [INTERVAL s]    (20000 10 '30 s' 30)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
rate=${1:-20000}
minutes=${2:-10}
ttl=${3:-30 s}
interval=${4:-30}
cmake --build "$build" --target sluice >/dev/null
source "$root/bench/server.sh"
bench_server state-ttl
http=http://127.0.0.1:$hport
sql() { curl -sf -XPOST "$http/v1/sql" --data-binary "$1"; }
sql "CREATE STREAM l (k BIGINT, v BIGINT) WITH (topic = 'l');
     CREATE STREAM r (k BIGINT, w BIGINT) WITH (topic = 'r');
     CREATE MATERIALIZED VIEW no_ttl WITH (max_rows = '1000') AS
       SELECT l.k, l.v, r.w FROM l JOIN r ON l.k = r.k;
     CREATE MATERIALIZED VIEW with_ttl WITH (max_rows = '1000', state_ttl = '$ttl') AS
       SELECT l.k, l.v, r.w FROM l JOIN r ON l.k = r.k" > /dev/null

# Each second: rate/2 new keys on each stream, half of them matched by the other stream.
produce() {  # produce TOPIC OFFSET
  /usr/bin/python3 -u - "$rate" "$(( minutes * 60 ))" "$2" <<'PY' |
import sys, time
rate, seconds, offset = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
per_tick = max(1, rate // 2 // 10)
start = time.time()
k = 0
for tick in range(seconds * 10):
    lines = []
    for _ in range(per_tick):
        k += 1
        lines.append('{"k":%d,"v":%d,"w":%d}' % (2 * k + (offset if k % 2 else 0), k, k))
    sys.stdout.write("\n".join(lines) + "\n")
    delay = start + (tick + 1) / 10 - time.time()
    if delay > 0:
        time.sleep(delay)
PY
    kcat -b "127.0.0.1:$kport" -P -t "$1"
}
produce l 0 & left=$!
produce r 1 & right=$!

echo "machine: $(nproc) cores, $(awk '/model name/{$1=$2=$3="";print;exit}' /proc/cpuinfo)"
echo "rate $rate events/s, state_ttl '$ttl', $minutes minutes"
printf "%8s %14s %14s %10s\n" seconds "no_ttl rows" "with_ttl rows" "RSS MiB"
start=$(date +%s)
while kill -0 "$left" 2>/dev/null; do
  sleep "$interval"
  rows=$(curl -s "$http/metrics" | /usr/bin/python3 -c '
import re, sys
v = {}
for line in sys.stdin:
    m = re.match(r"sluice_query_state_rows\{query=\"(\w+)\"\} (\S+)", line)
    if m:
        v[m.group(1)] = int(float(m.group(2)))
print(v.get("no_ttl", "?"), v.get("with_ttl", "?"))')
  rss=$(( $(awk '/VmRSS/{print $2}' "/proc/$pid/status") / 1024 ))
  printf "%8d %14s %14s %10d\n" $(( $(date +%s) - start )) ${rows} "$rss"
done
wait "$left" "$right" || true
