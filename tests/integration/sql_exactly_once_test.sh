#!/usr/bin/env bash
# Exactly-once SQL sinks: a windowed aggregate and an interval join, run once without
# interruption and once with the server killed (-9) again and again while it works, give the
# same output when read with read_committed (no result lost, none doubled). The crash run
# checkpoints (and so commits) every second and is killed 0.1-0.3 s after a chunk was fed, so
# most kills find output written but not committed: it must be aborted and computed again.
set -euo pipefail
[ -n "${DEBUG_KEEP:-}" ] && set -x
source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: sql_exactly_once_test.sh PATH_TO_SLUICE}"

sql() { curl -sf -XPOST "$http/v1/sql" --data-binary "$1" >/dev/null || { echo "SQL failed: $1"; exit 1; }; }

pipeline() {
  sql "CREATE STREAM clicks (u VARCHAR, page VARCHAR, ts TIMESTAMP)
         WITH (topic = 'clicks', timestamp = 'ts', watermark = 'ts - INTERVAL ''2'' SECOND')"
  sql "CREATE STREAM buys (u VARCHAR, item VARCHAR, ts TIMESTAMP)
         WITH (topic = 'buys', timestamp = 'ts', watermark = 'ts - INTERVAL ''2'' SECOND')"
  sql "CREATE SINK per_user INTO TOPIC 'per-user' AS
         SELECT u, window_start, COUNT(*) AS clicks, COUNT(DISTINCT page) AS pages
         FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '10' SECOND))
         GROUP BY u, window_start, window_end"
  sql "CREATE SINK converted INTO TOPIC 'converted' AS
         SELECT c.u, c.page, b.item, b.ts
         FROM clicks c JOIN buys b
           ON c.u = b.u AND b.ts BETWEEN c.ts AND c.ts + INTERVAL '5' SECOND"
}

# Input chunk N (0-based) of 20: 400 clicks and 100 buys over 20 users, event time rising
# one second a chunk from 2026-01-01 (same bytes in both runs).
chunk() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys
n, kind = int(sys.argv[1]), sys.argv[2]
base = 1767225600000 + n * 30000
for i in range(400 if kind == "clicks" else 100):
    t = base + i * (75 if kind == "clicks" else 300)
    u = f"u{(i * 7 + n) % 20}"
    if kind == "clicks":
        print(json.dumps({"u": u, "page": f"p{i % 13}", "ts": t}))
    else:
        print(json.dumps({"u": u, "item": f"i{i % 5}", "ts": t}))
PY
}

feed() {  # feed N: one chunk of each input
  chunk "$1" clicks | kcat -P -b "$brokers" -t clicks
  chunk "$1" buys | kcat -P -b "$brokers" -t buys
}

# Waits until QUERY read everything and its watermark reached the end record's (records_in
# counts only since the last restart).
wait_end() {
  for _ in $(seq 1 600); do
    if [ "$(query_field "$1" lag)" = 0 ] && [[ "$(query_field "$1" watermark)" == 2026-01-09T23* ]]; then
      return 0
    fi
    sleep 0.1
  done
  fail "query $1 did not reach the end (lag $(query_field "$1" lag), watermark $(query_field "$1" watermark))"
}

finish() {  # closes every window, waits until both sinks caught up and committed
  echo '{"u":"end","page":"end","ts":1767999999000}' | kcat -P -b "$brokers" -t clicks
  echo '{"u":"end","item":"end","ts":1767999999000}' | kcat -P -b "$brokers" -t buys
  wait_end per_user
  wait_end converted
  sleep 1.5  # one more checkpoint: the last results commit
}

read_committed() {  # read_committed TOPIC: its records, sorted
  kcat -C -b "$brokers" -t "$1" -e -q -X isolation.level=read_committed -f '%k %s\n' | sort
}

# Reference: no interruption.
server_start --retention-ms -1 --sql-checkpoint-interval-ms 200
pipeline
for n in $(seq 0 19); do feed "$n"; done
finish
read_committed per-user >"$work/ref-per-user"
read_committed converted >"$work/ref-converted"
server_stop
rm -rf "$work/data"

# The same, killed with -9 five times while it reads, computes and commits.
server_start --retention-ms -1 --sql-checkpoint-interval-ms 1000
pipeline
kills=0
for n in $(seq 0 19); do
  feed "$n"
  if [ $((n % 4)) -eq 1 ]; then
    sleep "0.$((RANDOM % 3 + 1))"
    kill -9 "$pid"
    wait "$pid" 2>/dev/null || true
    pid=""
    kills=$((kills + 1))
    server_start --retention-ms -1 --sql-checkpoint-interval-ms 1000
  fi
done
finish
read_committed per-user >"$work/crash-per-user"
read_committed converted >"$work/crash-converted"
uncommitted=$(kcat -C -b "$brokers" -t converted -e -q -X isolation.level=read_uncommitted | wc -l)
server_stop

check "the server was killed 5 times" 5 "$kills"
check "windowed results in the reference run" 1 "$([ "$(wc -l <"$work/ref-per-user")" -gt 100 ] && echo 1 || echo 0)"
check "join results in the reference run" 1 "$([ "$(wc -l <"$work/ref-converted")" -gt 100 ] && echo 1 || echo 0)"
if cmp -s "$work/ref-per-user" "$work/crash-per-user"; then
  ok "windowed aggregate: the same output through kill -9"
else
  fail "windowed aggregate differs: $(diff "$work/ref-per-user" "$work/crash-per-user" | grep -c '^[<>]') lines"
fi
if cmp -s "$work/ref-converted" "$work/crash-converted"; then
  ok "interval join: the same output through kill -9"
else
  fail "interval join differs: $(diff "$work/ref-converted" "$work/crash-converted" | grep -c '^[<>]') lines"
fi
# The kills did make the server redo work: read_uncommitted also sees the aborted attempts.
check "aborted attempts exist (read_uncommitted $uncommitted > read_committed $(wc -l <"$work/crash-converted"))" \
  1 "$([ "$uncommitted" -gt "$(wc -l <"$work/crash-converted")" ] && echo 1 || echo 0)"
server_summary
