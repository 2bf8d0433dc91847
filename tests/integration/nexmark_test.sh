#!/usr/bin/env bash
# Acceptance of the streaming SQL issue, end to end against a started server:
#  - Nexmark q0, q1, q2, q3, q4, q5, q7, q8, q9, and q5 and q7 in their join forms
#    (bench/nexmark/queries.sql) over generated events give
#    exactly the rows an independent reference (bench/nexmark/reference.py) computes from
#    the same events;
#  - the seed's clickstream query runs as written and its windows are right;
#  - bad SQL is answered with HTTP 400 and a line/column message; a bad record goes to the
#    dead-letter topic with its reason; queries and views survive a restart.
set -euo pipefail

source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: nexmark_test.sh SLUICE NEXMARK_GEN}"
gen=${2:?usage: nexmark_test.sh SLUICE NEXMARK_GEN}
src=$(cd "$(dirname "$0")/../.." && pwd)
# The generator's events are of 2026-01-01: without this, retention (7 days by record time,
# checked every 30 s) would delete them during the test.
start() { server_start --partitions 3 --retention-ms -1; }
stop() { server_stop; }

sql() {  # sql TEXT: POST /v1/sql, answer on stdout, fails on a non-2xx status
  curl -sS --fail-with-body -XPOST "$http/v1/sql" --data-binary "$1"
}

# wait_done QUERY: the query has read everything and its watermark passed the last window
wait_done() {
  for _ in $(seq 1 600); do
    lag=$(query_field "$1" lag)
    in=$(query_field "$1" records_in)
    if [ "$lag" = 0 ] && [ "$in" -ge "$2" ]; then
      # one more idle timeout so that the final watermark has been applied
      sleep 1.5
      return 0
    fi
    sleep 0.1
  done
  echo "query $1 did not finish (lag $lag, in $in)"; return 1
}

start

# --- Nexmark --------------------------------------------------------------------------
mkdir -p "$work/events"
"$gen" --brokers "$brokers" --events 60000 --rate 2000 --seed 7 --jsonl "$work/events"
bids=$(wc -l < "$work/events/bid.jsonl")
sql "$(cat "$src/bench/nexmark/queries.sql")" > /dev/null
persons=$(wc -l < "$work/events/person.jsonl")
auctions=$(wc -l < "$work/events/auction.jsonl")
for q in q0 q1 q2 q3 q4 q5 q7 q8 q9 q5j q7j; do
  case $q in
    q3 | q8) wait_done "$q" $((persons + auctions)) ;;
    q4 | q9) wait_done "$q" $((auctions + bids)) ;;
    *) wait_done "$q" "$bids" ;;
  esac
  case $q in
    q4 | q9) format='%k\t%s\n' ;;  # upserts by key
    *) format='%s\n' ;;
  esac
  kcat -b "$brokers" -C -t "nexmark-$q" -e -q -f "$format" > "$work/$q.out"
  if /usr/bin/python3 "$src/bench/nexmark/reference.py" "$work/events" "$q" "$work/$q.out"; then
    ok "nexmark $q matches the reference"
  else
    fail "nexmark $q"
  fi
done

# --- the seed's clickstream query, as written ---------------------------------------------
sql "CREATE STREAM clicks (UserId VARCHAR, Page VARCHAR, ts TIMESTAMP)
       WITH (topic = 'clicks', timestamp = 'ts', idle_timeout = '200 ms');
     CREATE STREAM out (Clicks BIGINT, UserId VARCHAR, Page VARCHAR) WITH (topic = 'out');
     SELECT COUNT(*) AS Clicks, UserId, Page INTO out FROM clicks
       GROUP BY TUMBLINGWINDOW(minute, 1), UserId, Page" > /dev/null
{
  echo '{"UserId":"ann","Page":"/home","ts":"2026-11-25T10:00:05Z"}'
  echo '{"UserId":"ann","Page":"/home","ts":"2026-11-25T10:00:40Z"}'
  echo '{"UserId":"bob","Page":"/home","ts":"2026-11-25T10:00:59.999Z"}'
  echo '{"UserId":"ann","Page":"/cart","ts":"2026-11-25T10:00:10Z"}'
  echo '{"UserId":"ann","Page":"/home","ts":"2026-11-25T10:01:00Z"}'
  echo 'this is not JSON'
  echo '{"UserId":"ann","Page":"/home","ts":"yesterday"}'
  echo '{"UserId":"zed","Page":"/late","ts":"2026-11-25T10:03:00Z"}'
} > "$work/clicks.json"
kcat -b "$brokers" -P -t clicks -p 0 -l "$work/clicks.json"
wait_done insert_out 8
kcat -b "$brokers" -C -t out -e -q -f '%s\n' | sort > "$work/out.txt"
cat > "$work/out.want" <<'W'
{"Clicks":1,"UserId":"ann","Page":"/cart"}
{"Clicks":1,"UserId":"ann","Page":"/home"}
{"Clicks":1,"UserId":"bob","Page":"/home"}
{"Clicks":2,"UserId":"ann","Page":"/home"}
W
if cmp -s "$work/out.want" "$work/out.txt"; then ok "clickstream TUMBLINGWINDOW(minute, 1)"; else fail "clickstream"; diff "$work/out.want" "$work/out.txt" || true; fi
kcat -b "$brokers" -C -t insert_out.dlq -e -q -f '%h|%s\n' > "$work/dlq.txt"
if grep -q 'sluice.reason=not valid JSON.*|this is not JSON' "$work/dlq.txt" &&
   grep -q "sluice.reason=column 'ts': 'yesterday' is not an ISO-8601 timestamp" "$work/dlq.txt"; then
  ok "bad records are in the dead-letter topic with their reason"
else
  fail "dead letters"; cat "$work/dlq.txt"
fi
[ "$(query_field insert_out dead_letters)" = 2 ] && ok "dead letters counted" || fail "dead letters counted"

# --- bad SQL -----------------------------------------------------------------------------
code=$(curl -s -o "$work/err.json" -w '%{http_code}' -XPOST "$http/v1/sql" \
  --data-binary $'SELECT UserId\nFROM clicks\nGROUP BY UserId HAVING COUNT(*) >')
if [ "$code" = 400 ] && grep -q '"message":"line 3, column 34: expected an expression, found the end of the input"' "$work/err.json"; then
  ok "a syntax error is answered 400 with line and column"
else
  fail "syntax error message ($code)"; cat "$work/err.json"; echo
fi
code=$(curl -s -o "$work/err.json" -w '%{http_code}' -XPOST "$http/v1/sql" \
  --data-binary 'CREATE MATERIALIZED VIEW v AS SELECT Nope FROM clicks')
if [ "$code" = 400 ] && grep -q "line 1, column 38: unknown column 'Nope'" "$work/err.json"; then
  ok "an unknown column is answered 400 with its position"
else
  fail "unknown column message ($code)"; cat "$work/err.json"; echo
fi

# --- sluice sql, the command-line client ---------------------------------------------------
out=$("$sluice" sql --http "127.0.0.1:$hport" -e "DESCRIBE clicks" 2>&1)
if [[ "$out" == *"ts     | TIMESTAMP (event time)"* ]] && [[ "$out" == *"(3 rows)"* ]]; then
  ok "sluice sql prints a table"
else
  fail "sluice sql table: $out"
fi
if out=$("$sluice" sql --http "127.0.0.1:$hport" -e "DROP VIEW nope" 2>&1); then
  fail "sluice sql exits 0 on an error"
elif [[ "$out" == *"unknown view 'nope'"* ]]; then
  ok "sluice sql reports an error and exits non-zero"
else
  fail "sluice sql error: $out"
fi

# --- a view, kept across a restart -------------------------------------------------------
sql "CREATE MATERIALIZED VIEW hits AS SELECT Page, COUNT(*) AS n FROM clicks GROUP BY Page" > /dev/null
wait_done hits 8
want='{"Page":"/cart","n":1},{"Page":"/home","n":4},{"Page":"/late","n":1}'
got=$(curl -s "$http/v1/views/hits")
if [[ "$got" == *"\"rows\":[$want]"* ]]; then ok "view rows over HTTP"; else fail "view rows: $got"; fi
got=$(curl -s "$http/v1/views/hits?key=%2Fhome")
if [[ "$got" == *'"rows":[{"Page":"/home","n":4}]'* ]]; then ok "one row by key (?key=)"; else fail "?key=: $got"; fi
stop
start
got=$(curl -s "$http/v1/views/hits")
if [[ "$got" == *"\"rows\":[$want]"* ]]; then ok "view restored after a restart"; else fail "view after restart: $got"; fi
echo '{"UserId":"amy","Page":"/cart","ts":"2026-11-25T10:04:00Z"}' | kcat -b "$brokers" -P -t clicks -p 0
for _ in $(seq 1 100); do
  got=$(curl -s "$http/v1/views/hits")
  [[ "$got" == *'{"Page":"/cart","n":2}'* ]] && break
  sleep 0.05
done
if [[ "$got" == *'{"Page":"/cart","n":2}'* ]]; then ok "the restored query resumes where it stopped"; else fail "resume: $got"; fi

stop
server_summary
