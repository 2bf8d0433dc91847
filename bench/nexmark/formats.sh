#!/usr/bin/env bash
# Nexmark q1 and q2 over the same bids as JSON, Avro and Protobuf (Confluent-framed, schemas in
# sluice's registry), in one run: generates N events (default 5,000,000) whose bids go to
# nexmark-bid (JSON), nexmark-bid-avro and nexmark-bid-proto (encoded by the generator itself,
# by hand from the specifications), then runs each query on each format ROUNDS times (default
# 3), alternating, and prints the medians of input bids per second with the ratios. Also prints
# the bytes per bid of each format, and how long a cached registry lookup
# (GET /schemas/ids/{id}) takes over HTTP.
#
#   bench/nexmark/formats.sh [EVENTS] [ROUNDS]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
events=${1:-5000000}
rounds=${2:-3}
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target sluice nexmark_gen >/dev/null
source "$root/bench/server.sh"
bench_server nexmark-formats --partitions 4 --retention-ms -1
http=http://127.0.0.1:$hport
echo "machine: $(nproc) cores, $(awk '/model name/{$1=$2=$3="";print;exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"

schema=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"schema": open(sys.argv[1]).read()}))' \
  "$root/bench/nexmark/bid.avsc")
id=$(curl -sf -H 'Content-Type: application/vnd.schemaregistry.v1+json' -d "$schema" \
  "$http/subjects/nexmark-bid-avro-value/versions" | sed -E 's/.*"id":([0-9]+).*/\1/')
proto=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"schemaType": "PROTOBUF", "schema": open(sys.argv[1]).read()}))' \
  "$root/bench/nexmark/bid.proto")
pid_=$(curl -sf -H 'Content-Type: application/vnd.schemaregistry.v1+json' -d "$proto" \
  "$http/subjects/nexmark-bid-proto-value/versions" | sed -E 's/.*"id":([0-9]+).*/\1/')
"$build/nexmark_gen" --brokers "127.0.0.1:$kport" --events "$events" --rate 100000 \
  --avro-schema-id "$id" --protobuf-schema-id "$pid_"

sql() { curl -sf -XPOST "$http/v1/sql" --data-binary "$1" >/dev/null; }
wm="timestamp = 'dateTime', watermark = 'dateTime - INTERVAL ''4'' SECOND', idle_timeout = '1 s'"
sql "CREATE STREAM bid (auction BIGINT, bidder BIGINT, price BIGINT, channel VARCHAR, url VARCHAR,
     dateTime TIMESTAMP, extra VARCHAR) WITH (topic = 'nexmark-bid', $wm)"
sql "CREATE STREAM bid_avro WITH (topic = 'nexmark-bid-avro', format = 'avro', $wm)"
sql "CREATE STREAM bid_proto WITH (topic = 'nexmark-bid-proto', format = 'protobuf', $wm)"
bids=$(( events - events / 50 - events / 50 * 3 - (events % 50 > 0 ? 1 : 0) -
         (events % 50 > 1 ? (events % 50 > 4 ? 3 : events % 50 - 1) : 0) ))
size() {  # bytes on disk of a topic's segments
  du -sb "$work/data/topics/$1" | cut -f1
}
printf "bytes per bid: JSON %.0f, Avro %.0f, Protobuf %.0f\n" \
  "$(echo "$(size nexmark-bid) / $bids" | bc -l)" "$(echo "$(size nexmark-bid-avro) / $bids" | bc -l)" \
  "$(echo "$(size nexmark-bid-proto) / $bids" | bc -l)"

field() {  # field QUERY NAME...
  local q=$1 row
  shift
  row=$(curl -s -XPOST "$http/v1/sql" --data-binary "SHOW QUERIES" | grep -o "{\"name\":\"$q\"[^}]*}")
  for f in "$@"; do printf '%s ' "$(sed -E "s/.*\"$f\":([0-9]+).*/\1/" <<< "$row")"; done
  echo
}
run() {  # run NAME SOURCE QUERY -> bids per second
  local name=$1 from=$2 q=$3 start end lag in out
  case $q in
    q1) body="SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM $from" ;;
    q2) body="SELECT auction, price FROM $from WHERE MOD(auction, 123) = 0" ;;
  esac
  start=$(date +%s.%N)
  sql "CREATE SINK $name INTO TOPIC 'out-$name' AS $body"
  while :; do
    read -r lag in out < <(field "$name" lag records_in records_out)
    [ "$lag" = 0 ] && [ "$in" -ge "$bids" ] && break
    sleep 0.01
  done
  end=$(date +%s.%N)
  sql "DROP SINK $name"
  echo "$in / ($end - $start)" | bc -l
}
median() { tr ' ' '\n' | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
printf "%-4s %14s %14s %14s %10s %10s\n" query "JSON bids/s" "Avro bids/s" "Proto bids/s" \
  "Avro/JSON" "Proto/Avro"
for q in q1 q2; do
  j="" a="" p=""
  for r in $(seq 1 "$rounds"); do
    j="$j $(run "${q}_json_$r" bid "$q")"
    a="$a $(run "${q}_avro_$r" bid_avro "$q")"
    p="$p $(run "${q}_proto_$r" bid_proto "$q")"
  done
  jm=$(echo $j | median)
  am=$(echo $a | median)
  pm=$(echo $p | median)
  printf "%-4s %14.0f %14.0f %14.0f %9.0f%% %9.0f%%\n" "$q" "$jm" "$am" "$pm" \
    "$(echo "100 * $am / $jm" | bc -l)" "$(echo "100 * $pm / $am" | bc -l)"
done

# A cached lookup by id over HTTP, as a consumer's deserializer makes on a cache miss.
/usr/bin/python3 - "$hport" "$id" <<'PY'
import http.client, sys, time
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]))
n, t = 2000, time.perf_counter()
for _ in range(n):
    c.request("GET", "/schemas/ids/" + sys.argv[2])
    r = c.getresponse(); r.read()
    assert r.status == 200
print("registry GET /schemas/ids/%s: %.0f us per request (keep-alive, %d requests)"
      % (sys.argv[2], (time.perf_counter() - t) / n * 1e6, n))
PY
