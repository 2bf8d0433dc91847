#!/usr/bin/env bash
# Nexmark throughput of sluice's SQL engine: generates N events (default 10,000,000) into a
# fresh server first (not measured), then runs the queries one after the other (default q0
# q1 q2 q3 q4 q5 q7 q8 q9 q5j q7j) and times each from CREATE SINK until it has read every event of
# its inputs and written its results. Each query runs on one thread (one core). Prints per
# query the events of its inputs per second ("events/s"), the whole Nexmark stream it covered per
# second ("stream ev/s": all N events over the same time - the unit of Flink's published
# figures, where every query reads one stream of all event kinds; sluice keeps person, auction
# and bid in their own topics, so q3 and q8 never read the bids), and the server's RSS when
# the query is done, and the server's CPU time per event of its inputs ("cpu us/ev", all threads:
# steadier than the rates on a shared machine). A query that fails is reported with its error
# and the run goes on.
#
#   bench/nexmark/run.sh [EVENTS] [PARTITIONS] [QUERIES...]
#   SLUICE_FLAGS="--sql-checkpoint-interval-ms 10000" bench/nexmark/run.sh ...   (server flags)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
events=${1:-10000000}
partitions=${2:-4}
shift $(( $# > 2 ? 2 : $# ))
queries=${*:-q0 q1 q2 q3 q4 q5 q7 q8 q9 q5j q7j}
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target sluice nexmark_gen >/dev/null
source "$root/bench/server.sh"
# The events are of 2026-01-01: keep them past retention (7 days by record time).
# Interval joins over 100k events/s keep ~500k rows (4 s of bids behind the watermark, the open
# auctions) of ~1-2 KB each in memory: more than the default 1 GiB limit per query at 10 M events.
bench_server nexmark-bench --partitions "$partitions" --retention-ms -1 \
  --sql-max-state-bytes $((4 << 30)) ${SLUICE_FLAGS:-}
http=http://127.0.0.1:$hport

echo "machine: $(nproc) cores, $(awk '/model name/{$1=$2=$3="";print;exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/nexmark_gen" --brokers "127.0.0.1:$kport" --events "$events" --rate 100000
statement() {  # the statement of queries.sql that starts with $1
  /usr/bin/python3 - "$root/bench/nexmark/queries.sql" "$1" <<'PY'
import sys
text = "\n".join(l for l in open(sys.argv[1]) if not l.lstrip().startswith("--"))
for s in text.split(";"):
    if s.strip().startswith(sys.argv[2]):
        print(s.strip())
PY
}
# query_row QUERY: the query's SHOW QUERIES row; field ROW NAME...: its numeric columns (curl and
# sed only: the poll must cost the measured server as little CPU as possible)
query_row() {
  curl -s -XPOST "$http/v1/sql" --data-binary "SHOW QUERIES" | grep -o "{\"name\":\"$1\"[^}]*}"
}
field() {
  local row=$1; shift
  for f in "$@"; do
    printf '%s ' "$(sed -E "s/.*\"$f\":([0-9]+).*/\1/" <<< "$row")"
  done
  echo
}
for s in bid person auction; do
  curl -sf -XPOST "$http/v1/sql" --data-binary "$(statement "CREATE STREAM $s ")" >/dev/null
done
# Out of every 50 events: 1 person (slot 0), 3 auctions (slots 1-3), 46 bids.
rest=$(( events % 50 ))
persons=$(( events / 50 + (rest > 0 ? 1 : 0) ))
auctions=$(( events / 50 * 3 + (rest > 1 ? (rest > 4 ? 3 : rest - 1) : 0) ))
bids=$(( events - persons - auctions ))
# The server's CPU time (user + system, all threads) in clock ticks: on a shared VM the wall
# time varies by +-20% from run to run, the CPU time per event much less.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
tick=$(getconf CLK_TCK)
printf "%-4s %12s %10s %14s %14s %10s %10s %10s\n" query "events in" seconds "events/s" "stream ev/s" \
  "out rows" "RSS MiB" "cpu us/ev"
for q in $queries; do
  case $q in
    q3 | q8) want=$(( persons + auctions )) ;;
    q4 | q9) want=$(( auctions + bids )) ;;
    *) want=$bids ;;
  esac
  start=$(date +%s.%N)
  cpu0=$(cpu_ticks)
  curl -sf -XPOST "$http/v1/sql" --data-binary "$(statement "CREATE SINK $q ")" >/dev/null
  failed=
  while :; do
    row=$(query_row "$q")
    read -r lag in out < <(field "$row" lag records_in records_out)
    [ "$lag" = 0 ] && [ "$in" -ge "$want" ] && break
    if [[ $row == *'"state":"FAILED"'* ]]; then
      failed=1
      break
    fi
    sleep 0.01
  done
  end=$(date +%s.%N)
  cpu1=$(cpu_ticks)
  secs=$(echo "$end - $start" | bc -l)
  rss=$(( $(awk '/VmRSS/{print $2}' "/proc/$pid/status") / 1024 ))
  printf "%-4s %12d %10.2f %14.0f %14.0f %10d %10d %10.2f%s\n" "$q" "$in" "$secs" \
    "$(echo "$in / $secs" | bc -l)" "$(echo "$events / $secs" | bc -l)" "$out" "$rss" \
    "$(echo "($cpu1 - $cpu0) * 1000000 / $tick / ($in + 1)" | bc -l)" "${failed:+  FAILED: $(sed -E 's/.*"error":"([^"]*)".*/\1/' <<< "$row")}"
  curl -sf -XPOST "$http/v1/sql" --data-binary "DROP SINK $q" >/dev/null
done
