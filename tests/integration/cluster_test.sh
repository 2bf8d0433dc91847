#!/usr/bin/env bash
# Cluster mode: sluice nodes on an external Kafka-protocol cluster (here another sluice
# process, "the broker"). The same SQL runs embedded in the broker (the reference) and on the
# cluster, over the same input (keyed by user, three partitions):
#   1. one node, then two, then three join while it runs: the output topics (read_committed)
#      and the view equal the reference, on every node, and the tasks end up one per node;
#   2. a fresh cluster of three nodes, one killed with -9 mid-run: its tasks move, state is
#      restored from the checkpoints, the output still equals the reference (nothing lost,
#      nothing doubled) and a WebSocket subscriber of the view on a surviving node ends with
#      exactly the view's rows (no change missed).
set -euo pipefail
[ -n "${DEBUG_KEEP:-}" ] && set -x
source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: cluster_test.sh PATH_TO_SLUICE}"
here=$(cd "$(dirname "$0")" && pwd)

declare -A node_pid node_port
node_start() {  # node_start CLUSTER NAME: a node, waits until /ready
  local port
  port=$(free_port)
  node_port[$2]=$port
  "$sluice" server --kafka-bootstrap "$brokers" --cluster-name "$1" --node-id "$2" \
    --http-addr "127.0.0.1:$port" --data-dir "$work/$2" --log-level warn \
    --cluster-session-timeout-ms 6000 --sql-checkpoint-interval-ms 300 &
  node_pid[$2]=$!
  wait_ready "http://127.0.0.1:$port"
}
node_kill() {  # node_kill NAME SIGNAL
  kill "-$2" "${node_pid[$1]}" 2>/dev/null || true
  wait "${node_pid[$1]}" 2>/dev/null || true
  unset "node_pid[$1]"
}
cleanup_nodes() {
  for n in "${!node_pid[@]}"; do kill -9 "${node_pid[$n]}" 2>/dev/null || true; done
  [ -n "${lb:-}" ] && kill "$lb" 2>/dev/null || true
  server_cleanup
}
trap cleanup_nodes EXIT

sql_at() {  # sql_at URL STATEMENT
  curl -sf -XPOST "$1/v1/sql" --data-binary "$2" >/dev/null || { echo "SQL failed at $1: $2"; exit 1; }
}

# The sources never count as idle: the feed pauses (a kill, the HAProxy checks) for longer than
# the 5 s default between a chunk's clicks and its buys under the sanitizers, and an idle buys
# partition would let the clicks alone move the watermark, making that chunk's buys late (dead-
# lettered, as configured) where the reference, fed at once, joins them.
pipeline() {  # pipeline URL INPUT_SUFFIX OUTPUT_PREFIX
  sql_at "$1" "CREATE STREAM clicks (u VARCHAR, page VARCHAR, ts TIMESTAMP)
         WITH (topic = 'clicks$2', key = 'u', timestamp = 'ts', idle_timeout = '1 h',
               watermark = 'ts - INTERVAL ''2'' SECOND')"
  sql_at "$1" "CREATE STREAM buys (u VARCHAR, item VARCHAR, ts TIMESTAMP)
         WITH (topic = 'buys$2', key = 'u', timestamp = 'ts', idle_timeout = '1 h',
               watermark = 'ts - INTERVAL ''2'' SECOND')"
  sql_at "$1" "CREATE SINK per_user INTO TOPIC '$3-per-user' AS
         SELECT u, window_start, COUNT(*) AS clicks, COUNT(DISTINCT page) AS pages
         FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
         GROUP BY u, window_start, window_end"
  sql_at "$1" "CREATE SINK converted INTO TOPIC '$3-converted' AS
         SELECT c.u, c.page, b.item, b.ts
         FROM clicks c JOIN buys b
           ON c.u = b.u AND b.ts BETWEEN c.ts AND c.ts + INTERVAL '5' SECOND"
  sql_at "$1" "CREATE MATERIALIZED VIEW totals AS
         SELECT u, COUNT(*) AS clicks, MAX(page) AS last_page FROM clicks GROUP BY u"
}

# Input chunk N (0-based) of 20: 400 clicks and 100 buys over 20 users, event time rising
# 30 s a chunk, each record keyed by its user (so a user's records share a partition).
chunk() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
n, kind = int(sys.argv[1]), sys.argv[2]
base = 1767225600000 + n * 30000
for i in range(400 if kind == "clicks" else 100):
    t = base + i * (75 if kind == "clicks" else 300)
    u = f"u{(i * 7 + n) % 20}"
    if kind == "clicks":
        print(u + "|" + json.dumps({"u": u, "page": f"p{i % 13}", "ts": t}))
    else:
        print(u + "|" + json.dumps({"u": u, "item": f"i{i % 5}", "ts": t}))
PY
}
feed() {  # feed N SUFFIX
  chunk "$1" clicks | kcat -P -b "$brokers" -t "clicks$2" -K '|'
  chunk "$1" buys | kcat -P -b "$brokers" -t "buys$2" -K '|'
}
finish() {  # finish SUFFIX: an end record in every partition closes every window
  for p in 0 1 2; do
    echo '{"u":"end","page":"end","ts":1767999999000}' | kcat -P -b "$brokers" -t "clicks$1" -p "$p"
    echo '{"u":"end","item":"end","ts":1767999999000}' | kcat -P -b "$brokers" -t "buys$1" -p "$p"
  done
}
read_committed() {  # its records (but the end markers'), sorted
  kcat -C -b "$brokers" -t "$1" -e -q -X isolation.level=read_committed -f '%k %s\n' |
    grep -v '"end"' | sort || true
}
view_rows() {  # view_rows URL: the rows of view totals (but the end marker's), sorted
  curl -sf "$1/v1/views/totals" | /usr/bin/python3 -c '
import json, sys
for line in sorted(json.dumps(r, sort_keys=True) for r in json.load(sys.stdin)["rows"] if r["u"] != "end"):
    print(line)'
}
wait_equal() {  # wait_equal NAME REFERENCE_FILE COMMAND...: until COMMAND prints the file
  local name=$1 ref=$2
  shift 2
  for _ in $(seq 1 900); do
    if "$@" >"$work/now" 2>/dev/null && cmp -s "$ref" "$work/now"; then
      ok "$name"
      return 0
    fi
    sleep 0.1
  done
  fail "$name: $(diff "$ref" "$work/now" | grep -c '^[<>]') lines differ ($(wc -l <"$work/now") vs $(wc -l <"$ref"))"
}
tasks_of() {  # tasks_of NODE: how many tasks it runs
  curl -sf "http://127.0.0.1:${node_port[$1]}/v1/cluster" |
    /usr/bin/python3 -c 'import json, sys; print(len(json.load(sys.stdin)["tasks"]))'
}

server_start --retention-ms -1 --partitions 3 --sql-checkpoint-interval-ms 300

# --- 1. one, two, then three nodes -------------------------------------------------------
pipeline "$http" "" ref
node_start one a
pipeline "http://127.0.0.1:${node_port[a]}" "" one
for n in $(seq 0 6); do feed "$n" ""; done
node_start one b
check "a second node sees the catalog" 1 \
  "$(curl -sf -XPOST "http://127.0.0.1:${node_port[b]}/v1/sql" --data-binary 'SHOW QUERIES' | grep -c per_user)"
for n in $(seq 7 13); do feed "$n" ""; done
node_start one c
for n in $(seq 14 19); do feed "$n" ""; done
finish ""
# The reference, once it is complete and committed.
for _ in $(seq 1 300); do
  read_committed ref-per-user >"$work/ref-per-user"
  [ "$(wc -l <"$work/ref-per-user")" -ge 1200 ] && break
  sleep 0.2
done
sleep 1
read_committed ref-per-user >"$work/ref-per-user"
read_committed ref-converted >"$work/ref-converted"
view_rows "$http" >"$work/ref-totals"
check "reference: windowed rows" 1200 "$(wc -l <"$work/ref-per-user")"
check "reference: join rows" 1 "$([ "$(wc -l <"$work/ref-converted")" -gt 1000 ] && echo 1 || echo 0)"
check "reference: view rows" 20 "$(wc -l <"$work/ref-totals")"
wait_equal "1-3 nodes: windowed aggregate equals the embedded run" "$work/ref-per-user" read_committed one-per-user
wait_equal "1-3 nodes: interval join equals the embedded run" "$work/ref-converted" read_committed one-converted
for n in a b c; do
  wait_equal "1-3 nodes: view on node $n equals the embedded run" "$work/ref-totals" view_rows "http://127.0.0.1:${node_port[$n]}"
done
sleep 1
check "no output doubled later" "$(cat "$work/ref-converted" | wc -l)" "$(read_committed one-converted | wc -l)"
check "tasks spread: one per query on node a" 3 "$(tasks_of a)"
check "tasks spread: one per query on node b" 3 "$(tasks_of b)"
check "tasks spread: one per query on node c" 3 "$(tasks_of c)"
# Grouped by what the records are not keyed by: each task would count its partition only.
refused=$(curl -s -XPOST "http://127.0.0.1:${node_port[a]}/v1/sql" --data-binary \
  "CREATE MATERIALIZED VIEW per_page AS SELECT page, COUNT(*) AS n FROM clicks GROUP BY page")
check "GROUP BY a column the records are not keyed by is refused, located" 1 \
  "$(grep -c '"error_code":400.*line 1, column 38.*GROUP BY.*key = ' <<<"$refused" || true)"
sql_at "http://127.0.0.1:${node_port[c]}" "DROP SINK converted"
sleep 1
check "a DROP on node c reaches node a" 0 \
  "$(curl -sf -XPOST "http://127.0.0.1:${node_port[a]}/v1/sql" --data-binary 'SHOW QUERIES' | grep -c converted || true)"
for n in a b c; do node_kill "$n" TERM; done

# --- 2. three nodes, one killed with -9 ---------------------------------------------------
node_start two a
pipeline "http://127.0.0.1:${node_port[a]}" 2 two
node_start two b
node_start two c
for _ in $(seq 1 200); do  # the group settles: each node takes its share
  [ "$(tasks_of a)" = 3 ] && [ "$(tasks_of b)" = 3 ] && [ "$(tasks_of c)" = 3 ] && break
  sleep 0.1
done
"$here/cluster/ws_follow.py" 127.0.0.1 "${node_port[a]}" totals "$work/stop-ws" >"$work/ws-rows" 2>"$work/ws-log" &
ws=$!
for n in $(seq 0 9); do feed "$n" 2; done
# HAProxy with deploy/haproxy/haproxy.cfg in front of the three nodes.
hport_lb=$(free_port)
sed -e "s/bind 127.0.0.1:8000/bind 127.0.0.1:$hport_lb/" -e '/^    server /d' \
  "$here/../../deploy/haproxy/haproxy.cfg" >"$work/haproxy.cfg"
for n in a b c; do
  echo "    server node-$n 127.0.0.1:${node_port[$n]} check" >>"$work/haproxy.cfg"
done
haproxy -f "$work/haproxy.cfg" -db >"$work/haproxy.log" 2>&1 &
lb=$!
sleep 1.5  # its first health checks
before=$(tasks_of b)
node_kill b 9  # while it works: what it wrote since its last checkpoint is aborted
served=0
for _ in $(seq 1 30); do
  curl -sf "http://127.0.0.1:$hport_lb/v1/views/totals" >/dev/null && served=$((served + 1))
  sleep 0.05
done
check "HAProxy: every GET answered through a node killed with -9" 30 "$served"
for n in $(seq 10 19); do feed "$n" 2; done
finish 2
wait_equal "kill -9: windowed aggregate equals the embedded run" "$work/ref-per-user" read_committed two-per-user
wait_equal "kill -9: interval join equals the embedded run" "$work/ref-converted" read_committed two-converted
wait_equal "kill -9: view on node a equals the embedded run" "$work/ref-totals" view_rows "http://127.0.0.1:${node_port[a]}"
check "the killed node had tasks" 1 "$([ "$before" -gt 0 ] && echo 1 || echo 0)"
check "its tasks moved to the survivors" 9 "$(($(tasks_of a) + $(tasks_of c)))"
uncommitted=$(kcat -C -b "$brokers" -t two-converted -e -q -X isolation.level=read_uncommitted | grep -vc '"end"' || true)
echo "two-converted: $uncommitted records read_uncommitted, $(wc -l <"$work/ref-converted") committed"
touch "$work/stop-ws"
wait "$ws" || fail "the WebSocket subscriber ended early: $(cat "$work/ws-log")"
grep -v '"end"' "$work/ws-rows" >"$work/ws-totals" || true
if cmp -s "$work/ref-totals" "$work/ws-totals"; then
  ok "kill -9: the WebSocket subscriber on node a missed no change ($(cat "$work/ws-log"))"
else
  fail "the WebSocket subscriber's rows differ: $(diff "$work/ref-totals" "$work/ws-totals" | head -5)"
fi
kill "$lb" 2>/dev/null || true
for n in a c; do node_kill "$n" TERM; done
server_summary
