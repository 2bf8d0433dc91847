#!/usr/bin/env bash
# Memory bounded by configuration: a query whose windowed state outgrows its max_state_bytes
# fails with a message that names the limit and the operator (and the others keep running); a
# view keeps its rows under max_bytes by dropping the least recently changed; /metrics and
# SHOW QUERIES / SHOW VIEWS give the bytes.
set -euo pipefail
source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: memory_limits_test.sh SLUICE}"
server_start --retention-ms -1

sql() { curl -s -XPOST "$http/v1/sql" --data-binary "$1"; }
sql "CREATE STREAM clicks (u VARCHAR, page VARCHAR, ts TIMESTAMP)
       WITH (topic = 'clicks', timestamp = 'ts', watermark = 'ts - INTERVAL ''1'' HOUR')" >/dev/null
# 20,000 users in one open hour-long window: far more than 1 MB of groups.
sql "CREATE MATERIALIZED VIEW hourly WITH (max_state_bytes = '1MB') AS
       SELECT u, window_start, COUNT(*) AS n
       FROM TABLE(TUMBLE(TABLE clicks, DESCRIPTOR(ts), INTERVAL '1' HOUR))
       GROUP BY u, window_start, window_end" >/dev/null
sql "CREATE MATERIALIZED VIEW per_user WITH (max_bytes = '256KiB', max_rows = '1000000') AS
       SELECT u, COUNT(*) AS n FROM clicks GROUP BY u" >/dev/null
bad=$(sql "CREATE MATERIALIZED VIEW x WITH (max_bytes = 'lots') AS SELECT u FROM clicks")
if grep -q "must be a positive size" <<<"$bad"; then ok "a bad size is refused"; else fail "a bad size is refused: $bad"; fi

/usr/bin/python3 -c '
import json
for i in range(20000):
    print(json.dumps({"u": "user-%05d" % i, "page": "p", "ts": 1767225600000 + i}))
' | kcat -P -b "$brokers" -t clicks

for _ in $(seq 1 200); do [ "$(query_field hourly state)" = FAILED ] && break; sleep 0.1; done
check "the query over its max_state_bytes failed" FAILED "$(query_field hourly state)"
error=$(query_field hourly error)
if [[ "$error" == *"more than max_state_bytes (1000000)"*"WindowAggregate"*"WITH (max_state_bytes"* ]]; then
  ok "its error names the limit, the operator and how to raise it"
else
  fail "its error names the limit, the operator and how to raise it: $error"
fi
wait_read per_user 20000
check "the other query keeps running" RUNNING "$(query_field per_user state)"

rows=$(curl -s "$http/v1/views/per_user" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["rows"]))')
if [ "$rows" -gt 100 ] && [ "$rows" -lt 20000 ]; then
  ok "the view keeps under max_bytes by dropping rows ($rows of 20000 kept)"
else
  fail "the view keeps under max_bytes by dropping rows: $rows of 20000 kept"
fi
metrics=$(curl -s "$http/metrics")
view_bytes=$(awk '/^sluice_view_bytes\{view="per_user"\}/ {print $2}' <<<"$metrics")
rows_bytes=$(sql "SHOW VIEWS" | /usr/bin/python3 -c '
import json, sys
print([r["bytes"] for r in json.load(sys.stdin)["results"][0]["rows"] if r["name"] == "per_user"][0])')
if [ "$rows_bytes" -gt 0 ] && [ "$rows_bytes" = "$view_bytes" ]; then
  ok "SHOW VIEWS and sluice_view_bytes give the view's bytes ($rows_bytes)"
else
  fail "SHOW VIEWS and sluice_view_bytes give the view's bytes: '$rows_bytes' / '$view_bytes'"
fi
state=0
for _ in $(seq 1 50); do  # measured every 64 rounds or 500 ms
  state=$(curl -s "$http/metrics" | awk '/^sluice_query_state_bytes\{query="per_user"\}/ {print $2}')
  [ "${state%.*}" -gt 0 ] && break
  sleep 0.1
done
if [ "${state%.*}" -gt 100000 ]; then ok "sluice_query_state_bytes counts the groups ($state)"; else fail "sluice_query_state_bytes: '$state'"; fi
check "SHOW QUERIES has state_bytes" yes "$(sql "SHOW QUERIES" | grep -q '"state_bytes":' && echo yes)"

server_stop
server_summary
