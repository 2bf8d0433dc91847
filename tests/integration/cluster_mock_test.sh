#!/usr/bin/env bash
# Cluster mode on librdkafka's mock cluster of three brokers: two sluice nodes run a view and
# an exactly-once sink while partition leaders move and brokers go down and come back;
# processing resumes by itself, and the output (read_committed) holds every input record once
# while no transaction fails. (The mock cluster cannot create topics: the helper makes them.)
# The mock's transactions are only bookkeeping: its EndTxn writes no commit or abort markers,
# so a transaction aborted because a broker went down stays visible to read_committed readers,
# and so does a fenced zombie's output. Once brokers go down, then, this test can hold sluice
# to at-least-once only (no click lost, the nodes' views agree); exactly-once across failures
# is cluster_test's, on sluice's own broker, which writes the markers.
set -euo pipefail
[ -n "${DEBUG_KEEP:-}" ] && set -x
source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: cluster_mock_test.sh PATH_TO_SLUICE PATH_TO_MOCK_CLUSTER}"
mock=${2:?usage: cluster_mock_test.sh PATH_TO_SLUICE PATH_TO_MOCK_CLUSTER}

mkfifo "$work/ctl"
exec 3<>"$work/ctl"
"$mock" 3 _sluice-m-catalog:1 _sluice-m-checkpoints:3 clicks:3 out:3 _sluice-m-view-totals:3 \
  <&3 >"$work/mock.out" 2>"$work/mock.err" &
mock_pid=$!
for _ in $(seq 1 100); do [ -s "$work/mock.out" ] && break; sleep 0.1; done
cluster=$(head -1 "$work/mock.out")
control() {  # control COMMAND: one command to the mock cluster
  local before
  before=$(wc -l <"$work/mock.out")
  echo "$1" >&3
  for _ in $(seq 1 50); do [ "$(wc -l <"$work/mock.out")" -gt "$before" ] && break; sleep 0.1; done
  check "mock cluster: $1" ok "$(tail -1 "$work/mock.out")"
}

declare -A node_pid node_port
node_start() {
  local port
  port=$(free_port)
  node_port[$1]=$port
  "$sluice" server --kafka-bootstrap "$cluster" --cluster-name m --node-id "$1" \
    --http-addr "127.0.0.1:$port" --data-dir "$work/$1" --log-level critical \
    --cluster-session-timeout-ms 6000 --sql-checkpoint-interval-ms 300 &
  node_pid[$1]=$!
  wait_ready "http://127.0.0.1:$port"
}
cleanup() {
  for n in "${!node_pid[@]}"; do kill -9 "${node_pid[$n]}" 2>/dev/null || true; done
  kill "$mock_pid" 2>/dev/null || true
  server_cleanup
}
trap cleanup EXIT

feed() {  # feed FROM TO: clicks numbered FROM..TO, keyed by user
  /usr/bin/python3 - "$1" "$2" <<'PY' | kcat -P -b "$cluster" -t clicks -K '|' 2>>"$work/kcat.err"
import json, sys
for i in range(int(sys.argv[1]), int(sys.argv[2]) + 1):
    u = f"u{i % 7}"
    print(u + "|" + json.dumps({"u": u, "n": i, "ts": 1767225600000 + i}))
PY
}
committed() {  # how many distinct click numbers topic out holds, and how many in all
  kcat -C -b "$cluster" -t out -e -q -X isolation.level=read_committed -f '%s\n' 2>/dev/null |
    /usr/bin/python3 -c '
import json, sys
ns = [json.loads(l)["n"] for l in sys.stdin if l.strip()]
print(len(set(ns)), len(ns))'
}
distinct() {  # how many distinct click numbers topic out holds
  committed | cut -d' ' -f1
}
view_rows() {  # the view's rows on node $1, sorted
  curl -sf "http://127.0.0.1:${node_port[$1]}/v1/views/totals" |
    /usr/bin/python3 -c 'import json, sys; print(sorted(json.dumps(r, sort_keys=True) for r in json.load(sys.stdin)["rows"]))'
}
views_agree() {  # 1 when both nodes serve the same rows, one per user
  local a b
  a=$(view_rows a)
  b=$(view_rows b)
  [ "$a" = "$b" ] && [ "$(grep -o '"u"' <<<"$a" | wc -l)" = 7 ] && echo 1 || echo 0
}
view_total() {  # the sum of the view's counts, on node $1
  curl -sf "http://127.0.0.1:${node_port[$1]}/v1/views/totals" |
    /usr/bin/python3 -c 'import json, sys; print(sum(r["clicks"] for r in json.load(sys.stdin)["rows"]))'
}
wait_for() {  # wait_for NAME EXPECTED COMMAND...
  local name=$1 want=$2 got=""
  shift 2
  for _ in $(seq 1 600); do
    got=$("$@" 2>/dev/null || true)
    [ "$got" = "$want" ] && { ok "$name"; return 0; }
    sleep 0.1
  done
  fail "$name: expected '$want', got '$got'"
}

node_start a
h="http://127.0.0.1:${node_port[a]}"
curl -sf -XPOST "$h/v1/sql" --data-binary \
  "CREATE STREAM clicks (u VARCHAR, n BIGINT, ts TIMESTAMP) WITH (topic = 'clicks', key = 'u', timestamp = 'ts')" >/dev/null
curl -sf -XPOST "$h/v1/sql" --data-binary \
  "CREATE MATERIALIZED VIEW totals AS SELECT u, COUNT(*) AS clicks FROM clicks GROUP BY u" >/dev/null
curl -sf -XPOST "$h/v1/sql" --data-binary \
  "CREATE SINK copy INTO TOPIC 'out' AS SELECT u, n FROM clicks" >/dev/null
node_start b
feed 1 3000
wait_for "3 brokers: every click once in the output" "3000 3000" committed
wait_for "3 brokers: the view on node b counts every click" 3000 view_total b

control "leader clicks 0 2"
control "leader clicks 1 3"
control "leader out 0 3"
feed 3001 6000
wait_for "leaders moved: every click once" "6000 6000" committed

# A broker down: what it leads stops (the mock cluster elects no other leader) until it is
# back; the producer waits, and the nodes resume by themselves.
control "down 2"
feed 6001 9000 &
feeder=$!
sleep 4
control "up 2"
wait "$feeder" || fail "the producer gave up while broker 2 was down"
wait_for "a broker down and back: processing resumes by itself, no click lost" 9000 distinct
control "down 3"
control "down 1"
feed 9001 12000 &
feeder=$!
sleep 4
control "up 1"
control "up 3"
wait "$feeder" || fail "the producer gave up while brokers 1 and 3 were down"
wait_for "two brokers down and back: no click lost" 12000 distinct
wait_for "the views on nodes a and b agree" 1 views_agree
server_summary
