# Shared by the shell integration tests: a sluice server on free loopback ports in a fresh
# folder, stopped (and the folder removed) when the test exits, and check counting.
#
#   source "$(dirname "$0")/server_lib.sh"
#   server_init SLUICE_BINARY        # sets work, kport, hport, brokers, http
#   server_start [extra flags...]    # starts it (again) and waits until /ready answers
#   wait_ready URL                   # waits until another server's /ready answers
#   server_stop                      # SIGTERM; fails the test unless it exits 0
#   ok NAME / fail NAME / check NAME EXPECTED ACTUAL; server_summary at the end
#   query_field QUERY COLUMN         # a column of SHOW QUERIES for one query
#   wait_read QUERY N                # waits until the query has read N records, lag 0, and
#                                    # one checkpoint more (exactly-once sinks commit with it)

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

server_init() {
  sluice=$1
  work=$(mktemp -d /tmp/sluice-test-XXXXXX)
  kport=$(free_port)
  hport=$(free_port)
  brokers=127.0.0.1:$kport
  http=http://127.0.0.1:$hport
  pid=""
  failures=0
  checks=0
  trap server_cleanup EXIT
}

server_cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$work"
}

# wait_ready URL: until URL/ready answers (30 s at most, then the test ends).
wait_ready() {
  for _ in $(seq 1 600); do
    curl -sf "$1/ready" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "the server at $1 did not start"
  exit 1
}

server_start() {
  "$sluice" server --data-dir "$work/data" --kafka-addr "$brokers" --http-addr "127.0.0.1:$hport" \
    --log-level warn "$@" &
  pid=$!
  wait_ready "$http"
}

server_stop() {
  kill -TERM "$pid"
  wait "$pid"
  pid=""
}

query_field() {
  curl -s -XPOST "$http/v1/sql" --data-binary "SHOW QUERIES" | /usr/bin/python3 -c '
import json, sys
rows = json.load(sys.stdin)["results"][0]["rows"]
print([r for r in rows if r["name"] == sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}

wait_read() {
  for _ in $(seq 1 600); do
    if [ "$(query_field "$1" lag)" = 0 ] && [ "$(query_field "$1" records_in)" -ge "$2" ]; then
      sleep 1.5  # the default checkpoint interval (1 s) and a margin
      return 0
    fi
    sleep 0.1
  done
  fail "query $1 did not read $2 records (read $(query_field "$1" records_in), lag $(query_field "$1" lag), state $(query_field "$1" state) $(query_field "$1" error))"
  return 1
}

ok() { checks=$((checks + 1)); echo "ok   $1"; }
fail() { checks=$((checks + 1)); failures=$((failures + 1)); echo "FAIL $1"; }
check() {  # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: expected '$2', got '$3'"; fi
}

server_summary() {
  echo "$checks checks, $failures failed"
  [ "$failures" -eq 0 ]
}
