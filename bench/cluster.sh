#!/usr/bin/env bash
# Cluster mode against embedded, on one machine. A sluice broker stands for the external Kafka
# cluster; prints:
#   1. Nexmark q1 and q5 (one partition, so one task: one core each way): input events/s run
#      embedded in the broker and on one cluster node reading and writing the broker through
#      librdkafka (exactly-once sinks, transactions per checkpoint) — the target is >= 50%;
#   2. failover: two nodes share a query of 4 partitions; one is killed with -9; the time until
#      every partition is processed again on the survivor (target: session timeout + 2 s);
#   3. state restore: a node that starts materializes a view from its changelog topic
#      (rows/s; target >= 500k), and a task resumes from a large checkpoint.
#
#   bench/cluster.sh [EVENTS]     (default 2,000,000)
#   CLUSTER_FLAGS="--kafka-property compression.type=none" bench/cluster.sh   (node flags)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
events=${1:-2000000}
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target sluice nexmark_gen >/dev/null
source "$root/bench/server.sh"
bench_server cluster-bench --partitions 1 --retention-ms -1
broker=127.0.0.1:$kport
declare -A node_pid node_port
node_start() {  # node_start NAME [flags]
  local name=$1 port
  shift
  port=$(free_port)
  node_port[$name]=$port
  "$build/sluice" server --kafka-bootstrap "$broker" --cluster-name bench --node-id "$name" \
    --http-addr "127.0.0.1:$port" --data-dir "$work/$name" --log-level warn ${CLUSTER_FLAGS:-} "$@" &
  node_pid[$name]=$!
  for _ in $(seq 1 300); do
    curl -sf "http://127.0.0.1:$port/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "node $name did not start" >&2
  exit 1
}
cleanup() {
  for n in "${!node_pid[@]}"; do kill -9 "${node_pid[$n]}" 2>/dev/null || true; done
  bench_cleanup
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(awk '/model name/{$1=$2=$3="";print;exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/nexmark_gen" --brokers "$broker" --events "$events" --rate 100000 >/dev/null
statement() {
  /usr/bin/python3 - "$root/bench/nexmark/queries.sql" "$1" <<'PY'
import sys
text = "\n".join(l for l in open(sys.argv[1]) if not l.lstrip().startswith("--"))
for s in text.split(";"):
    if s.strip().startswith(sys.argv[2]):
        print(s.strip())
PY
}
field() {  # field URL QUERY NAME...
  local url=$1 q=$2 row
  shift 2
  row=$(curl -s -XPOST "$url/v1/sql" --data-binary "SHOW QUERIES" | grep -o "{\"name\":\"$q\"[^}]*}")
  for f in "$@"; do printf '%s ' "$(sed -E "s/.*\"$f\":([0-9]+).*/\1/" <<<"$row")"; done
  echo
}
bids=$((events - events / 50 * 4 - (events % 50 > 0 ? 1 : 0) - (events % 50 > 1 ? (events % 50 > 4 ? 3 : events % 50 - 1) : 0)))
run() {  # run URL QUERY SINK_SUFFIX: events/s from CREATE SINK until every bid is read
  local url=$1 q=$2 start end
  start=$(date +%s.%N)
  curl -sf -XPOST "$url/v1/sql" --data-binary "$(statement "CREATE SINK $q " | sed "s/'nexmark-$q'/'nexmark-$q$3'/")" >/dev/null
  while :; do
    read -r lag in < <(field "$url" "$q" lag records_in)
    [ "$lag" = 0 ] && [ "${in:-0}" -ge "$bids" ] && break
    sleep 0.02
  done
  end=$(date +%s.%N)
  echo "$bids / ($end - $start)" | bc -l
}

echo "== 1. Nexmark, $events events ($bids bids), one partition"
node_start a --sql-checkpoint-interval-ms 1000
for s in bid person auction; do
  curl -sf -XPOST "http://127.0.0.1:$hport/v1/sql" --data-binary "$(statement "CREATE STREAM $s ")" >/dev/null
  curl -sf -XPOST "http://127.0.0.1:${node_port[a]}/v1/sql" --data-binary "$(statement "CREATE STREAM $s ")" >/dev/null
done
printf "%-4s %16s %16s %8s\n" query "embedded ev/s" "cluster ev/s" ratio
for q in q1 q5; do
  e=$(run "http://127.0.0.1:$hport" "$q" -embedded)
  c=$(run "http://127.0.0.1:${node_port[a]}" "$q" -cluster)
  printf "%-4s %16.0f %16.0f %7.0f%%\n" "$q" "$e" "$c" "$(echo "100 * $c / $e" | bc -l)"
  curl -sf -XPOST "http://127.0.0.1:$hport/v1/sql" --data-binary "DROP SINK $q" >/dev/null
  curl -sf -XPOST "http://127.0.0.1:${node_port[a]}/v1/sql" --data-binary "DROP SINK $q" >/dev/null
done

echo "== 2. failover (session timeout 6 s) and a task's restore from its checkpoint"
copied=${COPY_BIDS:-1000000}
tasks_of() {
  curl -sf "http://127.0.0.1:${node_port[$1]}/v1/cluster" |
    /usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)["tasks"]))'
}
node_kill() {
  kill -9 "${node_pid[$1]}" 2>/dev/null || true
  wait "${node_pid[$1]}" 2>/dev/null || true
  unset "node_pid[$1]"
}
# Both nodes with a 6 s session timeout (a starts again with it); checkpoints every 5 s (each
# holds a task's whole state).
node_kill a
node_start a --sql-checkpoint-interval-ms 5000 --cluster-session-timeout-ms 6000
node_start b --sql-checkpoint-interval-ms 5000 --cluster-session-timeout-ms 6000
"$build/sluice" topic create bench-wide --partitions 4 --brokers "$broker" >/dev/null
curl -sf -XPOST "http://127.0.0.1:${node_port[a]}/v1/sql" --data-binary \
  "CREATE STREAM wide (auction BIGINT, bidder BIGINT, price BIGINT, dateTime TIMESTAMP)
     WITH (topic = 'bench-wide', key = 'bidder', timestamp = 'dateTime')" >/dev/null
curl -sf -XPOST "http://127.0.0.1:${node_port[a]}/v1/sql" --data-binary \
  "CREATE MATERIALIZED VIEW pairs WITH (max_rows = 10000000) AS
     SELECT auction, bidder, COUNT(*) AS bids, MAX(price) AS top FROM wide GROUP BY auction, bidder" >/dev/null
# $copied bids, keyed by bidder, into 4 partitions.
kcat -C -b "$broker" -t nexmark-bid -e -q -c "$copied" -f '%s\n' | /usr/bin/python3 -c '
import json, sys
for l in sys.stdin:
    print(str(json.loads(l)["bidder"]) + "|" + l.strip())' | kcat -P -b "$broker" -t bench-wide -K '|'
for _ in $(seq 1 600); do
  read -r lag_a < <(field "http://127.0.0.1:${node_port[a]}" pairs lag)
  read -r lag_b < <(field "http://127.0.0.1:${node_port[b]}" pairs lag)
  [ "$(tasks_of a)" -gt 0 ] && [ "$(tasks_of b)" -gt 0 ] && [ "${lag_a:-1}" = 0 ] && [ "${lag_b:-1}" = 0 ] && break
  sleep 0.2
done
sleep 6  # a checkpoint of everything
echo "tasks before: a $(tasks_of a), b $(tasks_of b)"
killed=$(date +%s.%N)
node_kill b
while [ "$(tasks_of a)" -lt 4 ]; do sleep 0.05; done
moved=$(date +%s.%N)
printf "failover: every partition processed again on the survivor %.2f s after kill -9\n" "$(echo "$moved - $killed" | bc -l)"
/usr/bin/python3 - "$(curl -sf "http://127.0.0.1:${node_port[a]}/v1/cluster")" <<'PY'
import json, sys
for t in json.loads(sys.argv[1])["tasks"]:
    ms = max(t["start_ms"], 1)
    print(f"task {t['query']}/{t['partition']}: {t['state_rows']:,} state rows restored in {ms} ms "
          f"({t['state_rows'] * 1000 / ms:,.0f} rows/s)")
PY

echo "== 3. a view restored on a new node from its changelog"
rows=$(curl -sf "http://127.0.0.1:${node_port[a]}/v1/views/pairs" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rows"]))')
node_start c
for _ in $(seq 1 600); do
  status=$(curl -sf "http://127.0.0.1:${node_port[c]}/v1/cluster")
  grep -q '"restored":true' <<<"$status" && break
  sleep 0.05
done
/usr/bin/python3 - "$status" "$rows" <<'PY'
import json, sys
s, rows = json.loads(sys.argv[1]), int(sys.argv[2])
for v in s["views"]:
    ms = max(v["restore_ms"], 1)
    print(f"view {v['view']}: {v['rows_applied']:,} changes ({rows:,} rows) read from {v['topic']} "
          f"in {ms} ms on a new node: {v['rows_applied'] * 1000 / ms:,.0f} changes/s")
PY
