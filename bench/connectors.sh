#!/usr/bin/env bash
# Connector throughput and latency against real peers started here, each next to a peer doing
# the same work in the same run:
#   CDC        rows/s decoding a backlog of single-row inserts from a paused slot, against
#              pg_recvlogical reading the same WAL from its own slot (the server's decoding
#              limit); then commit -> record latency (p50/p99) at 10,000 rows/s
#   MQTT       QoS 1 messages/s from mosquitto into a topic (bench/mqtt_publish keeps 1,000 in
#              flight), against mosquitto_sub taking the same at QoS 1, and the publisher alone
#   Redis      rows/s of a topic into Redis hashes (pipelined), against redis-benchmark HSET
#              pipelined 100 deep
#   webhook    rows/s POSTed in batches of 1,000 to a small Python receiver
#   bench/connectors.sh [ROWS]   (default 200000)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target sluice mqtt_publish >/dev/null
source "$root/bench/server.sh"
rows=${1:-200000}
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; $rows rows each"

bench_server connectors
B=127.0.0.1:$kport
H=http://127.0.0.1:$hport
now() { date +%s.%N; }
records_of() {  # records_of CONNECTOR: what it moved so far
  curl -s "$H/metrics" | sed -n "s/^sluice_connector_records_total{connector=\"$1\",[^}]*} //p" |
    awk '{printf "%d", $1}' 
}
wait_records() {  # wait_records CONNECTOR N: seconds until it moved N (at most 300)
  local start n
  start=$(now)
  for _ in $(seq 1 15000); do
    n=$(records_of "$1")
    [ -n "$n" ] && [ "$n" -ge "$2" ] && break
    sleep 0.02
  done
  echo "$(now) - $start" | bc -l
}
rate() { echo "$1 / $2" | bc; }

# --- PostgreSQL CDC ---
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pgdir=$(mktemp -d /tmp/sluice-pg-XXXXXX)
chmod 755 "$pgdir"; chown postgres "$pgdir"
pgport=$(free_port)
runuser -u postgres -- "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/log" -w -o \
  "-c wal_level=logical -c port=$pgport -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pgdir -c fsync=off" start >/dev/null
peers_cleanup() {
  runuser -u postgres -- "$pgbin/pg_ctl" -D "$pgdir/data" stop -m immediate >/dev/null 2>&1 || true
  rm -rf "$pgdir"
  kill ${redis_pid:-} ${mqtt_pid:-} ${hook_pid:-} 2>/dev/null || true
  bench_cleanup
}
trap peers_cleanup EXIT
psql_() { psql -h 127.0.0.1 -p "$pgport" -U postgres -d postgres -qtAX "$@"; }
psql_ -c "CREATE TABLE events (id bigint PRIMARY KEY, device text, reading double precision, at timestamptz)"
psql_ -c "CREATE PUBLICATION bench FOR TABLE events"
psql_ -c "SELECT pg_create_logical_replication_slot('peer', 'pgoutput')" >/dev/null
curl -s -XPOST -H 'Content-Type: application/json' "$H/connectors" -d "{\"name\":\"cdc\",\"config\":{\"connector\":\"postgres-cdc\",\"database.port\":\"$pgport\",\"database.user\":\"postgres\",\"database.dbname\":\"postgres\",\"topic.prefix\":\"pg\",\"publication.name\":\"bench\",\"snapshot.mode\":\"never\"}}" >/dev/null
sleep 1
curl -s -XPUT "$H/connectors/cdc/pause" >/dev/null
# A backlog: every row its own transaction, as an application writes them.
psql_ -c "DO \$\$ BEGIN FOR i IN 1..$rows LOOP INSERT INTO events VALUES (i, 'd' || (i % 100), i * 0.5, now()); COMMIT; END LOOP; END \$\$"
end=$(psql_ -c "SELECT pg_current_wal_lsn()")
start=$(now)
runuser -u postgres -- "$pgbin/pg_recvlogical" -h 127.0.0.1 -p "$pgport" -U postgres -d postgres \
  --slot peer --start --endpos "$end" -o proto_version=1 -o publication_names=bench -f /dev/null
peer_s=$(echo "$(now) - $start" | bc -l)
curl -s -XPUT "$H/connectors/cdc/resume" >/dev/null
cdc_s=$(wait_records cdc "$rows")
cdc_rate=$(rate "$rows" "$cdc_s"); peer_rate=$(rate "$rows" "$peer_s")
echo "CDC backlog: sluice $cdc_rate rows/s into topics (records durable, offsets stored); pg_recvlogical $peer_rate rows/s to /dev/null ($((100 * cdc_rate / peer_rate))%)"
# Latency at 10,000 rows/s: commit time (source.ts_ms) -> the record read by a live consumer.
lat_rows=50000
kcat -C -b "$B" -t pg.public.events -o end -u -q -c "$lat_rows" -f '%s\n' 2>/dev/null |
  /usr/bin/python3 -c '
import json, sys, time
lat = []
for line in sys.stdin:
    now = time.time() * 1000
    d = json.loads(line)
    lat.append(now - d["source"]["ts_ms"])
lat.sort()
print("CDC latency at 10,000 rows/s, commit -> record at a consumer: p50 %.1f ms, p99 %.1f ms, max %.1f ms (%d rows)" % (lat[len(lat)//2], lat[int(len(lat)*0.99)], lat[-1], len(lat)))' &
reader=$!
sleep 1
psql_ -c "DO \$\$ BEGIN FOR i IN $((rows + 1))..$((rows + lat_rows)) LOOP INSERT INTO events VALUES (i, 'd', 1, now()); COMMIT; IF i % 50 = 0 THEN PERFORM pg_sleep(0.005); END IF; END LOOP; END \$\$"
wait "$reader"

# --- MQTT ---
mport=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n' "$mport" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >/dev/null 2>&1 &
mqtt_pid=$!
sleep 0.3
alone=$("$build/mqtt_publish" "$mport" bench/y "$rows")  # nobody subscribed: the publisher alone
# The peer: mosquitto's own subscriber taking the same messages at QoS 1.
mosquitto_sub -p "$mport" -q 1 -t bench/z -C "$rows" >/dev/null &
sub=$!
sleep 0.3
start=$(now)
"$build/mqtt_publish" "$mport" bench/z "$rows" >/dev/null
wait "$sub"
peer_s=$(echo "$(now) - $start" | bc -l)
curl -s -XPOST -H 'Content-Type: application/json' "$H/connectors" -d "{\"name\":\"mqtt\",\"config\":{\"connector\":\"mqtt-source\",\"mqtt.port\":\"$mport\",\"mqtt.topics\":\"bench/x\",\"kafka.topic\":\"mqtt\"}}" >/dev/null
sleep 1
start=$(now)
"$build/mqtt_publish" "$mport" bench/x "$rows" >/dev/null &
publisher=$!
wait_records mqtt "$rows" >/dev/null
mqtt_s=$(echo "$(now) - $start" | bc -l)
wait "$publisher"
echo "MQTT QoS 1 ingest: sluice $(rate "$rows" "$mqtt_s") msg/s (publish -> durable in a topic); mosquitto_sub $(rate "$rows" "$peer_s") msg/s (publish -> received); the publisher with no subscriber: ${alone#*: }"

# --- Redis ---
rport=$(free_port)
redis-server --port "$rport" --save '' --appendonly no >/dev/null 2>&1 &
redis_pid=$!
sleep 0.3
"$build/sluice" topic create rows -b "$B" >/dev/null
seq 1 "$rows" | awk '{printf "k%d|{\"id\":%d,\"device\":\"d%d\",\"reading\":%d.5}\n", $1, $1, $1 % 100, $1}' |
  kcat -P -b "$B" -t rows -K '|' -z lz4
curl -s -XPOST -H 'Content-Type: application/json' "$H/connectors" -d "{\"name\":\"redis\",\"config\":{\"connector\":\"redis\",\"topics\":\"rows\",\"port\":\"$rport\",\"key.prefix\":\"row:\"}}" >/dev/null
redis_s=$(wait_records redis "$rows")
peer=$(redis-benchmark -p "$rport" -n "$rows" -P 100 -q -t hset 2>/dev/null | tr '\r' '\n' | grep -i hset | tail -1)
echo "Redis sink: sluice $(rate "$rows" "$redis_s") rows/s as hashes (DEL + HSET of 3 fields, pipelined); redis-benchmark: $peer"

# --- webhook ---
wport=$(free_port)
/usr/bin/python3 -c '
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()' "$wport" &
hook_pid=$!
sleep 0.3
curl -s -XPOST -H 'Content-Type: application/json' "$H/connectors" -d "{\"name\":\"hook\",\"config\":{\"connector\":\"webhook\",\"topics\":\"rows\",\"url\":\"http://127.0.0.1:$wport/\",\"batch.size\":\"1000\",\"secret\":\"s\"}}" >/dev/null
hook_s=$(wait_records hook "$rows")
echo "webhook sink: sluice $(rate "$rows" "$hook_s") rows/s (signed batches of 1,000 to a Python receiver)"
