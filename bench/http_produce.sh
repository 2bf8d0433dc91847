#!/usr/bin/env bash
# HTTP produce throughput (REST Proxy style POST /topics/{t}) with wrk: each request carries
# BATCH JSON records of about 100 bytes and is answered once they are on disk (fdatasync).
#   bench/http_produce.sh [CONNECTIONS] [SECONDS] [BATCH]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh" --bench
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target sluice >/dev/null
conns=${1:-16}; secs=${2:-10}; batch=${3:-100}
source "$root/bench/server.sh"
bench_server httpprod --partitions 16
"$build/sluice" topic create bench -p 16 -b "127.0.0.1:$kport" >/dev/null
/usr/bin/python3 - "$batch" > "$work/body.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"records": [{"key": "k%d" % i, "value": {"sensor": "s%d" % i, "reading": i * 1.5, "note": "x" * 40}} for i in range(n)]}))
PY
cat > "$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/vnd.kafka.json.v2+json"
local f = io.open("$work/body.json"); wrk.body = f:read("*a"); f:close()
LUA
wrk -t2 -c"$conns" -d"${secs}s" --latency -s "$work/post.lua" "http://127.0.0.1:$hport/topics/bench" | tee "$work/wrk.txt"
reqs=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
echo "records/s: $(echo "$reqs * $batch" | bc -l | cut -d. -f1) ($batch records per request, acks=all)"
