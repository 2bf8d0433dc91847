#!/usr/bin/env bash
# Connectors against real peers: an MQTT source and sink (mosquitto, mosquitto_pub and
# mosquitto_sub), a Redis sink (redis-server, read back with redis-cli) of a
# view and of a topic, a webhook sink to a receiver that fails every third request (retries,
# the HMAC signature, the dead-letter topic with Kafka Connect's headers), Kafka Connect's REST
# API with curl, SQL's CREATE SINK CONNECTOR, `sluice connector`, pause and resume, a failed
# connector's status, and kill -9: the connectors come back and deliver every record.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/server_lib.sh"
server_init "$1"

rport=$(free_port)
redis-server --port "$rport" --save '' --appendonly no --bind 127.0.0.1 >"$work/redis.log" 2>&1 &
redis_pid=$!
wport=$(free_port)
/usr/bin/python3 "$here/connect/webhook_receiver.py" "$wport" "$work/hooks.jsonl" s3cret &
hook_pid=$!
mport=$(free_port)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$mport" >"$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 &
mqtt_pid=$!
cleanup_peers() {
  kill "$redis_pid" "$hook_pid" "$mqtt_pid" 2>/dev/null
  server_cleanup
}
trap cleanup_peers EXIT
for _ in $(seq 1 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done
rcli() { redis-cli -p "$rport" "$@"; }
server_start
sql() { curl -s -XPOST "$http/v1/sql" --data-binary "$1"; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
ct='Content-Type: application/json'

# --- Kafka Connect's REST API ---
check "GET /connector-plugins lists the kinds" "mqtt-sink sink|mqtt-source source|postgres-cdc source|postgres-sink sink|redis sink|webhook sink" \
  "$(curl -s "$http/connector-plugins" | json '"|".join(p["name"]+" "+p["type"] for p in d)')"
check "an unknown connector class is 400 with the known ones" \
  "400 unknown connector 'io.example.Nope' (known: mqtt-sink, mqtt-source, postgres-cdc, postgres-sink, redis, webhook)" \
  "$(curl -s -H "$ct" -d '{"name":"x","config":{"connector.class":"io.example.Nope"}}' "$http/connectors" | json 'str(d["error_code"]) + " " + d["message"]')"
check "a bad setting is 400 naming it" "connector x: 'mode' must be 'hash', 'json' or 'stream', not 'list'" \
  "$(curl -s -H "$ct" -d '{"name":"x","config":{"connector":"redis","topics":"t","mode":"list"}}' "$http/connectors" | json 'd["message"]')"
check "a missing connector is 404" "404 Connector nope not found" \
  "$(curl -s "$http/connectors/nope/status" | json 'str(d["error_code"]) + " " + d["message"]')"

# --- a Redis sink of a view (hashes, deletes included) declared in SQL ---
"$sluice" topic create products --brokers "$brokers" >/dev/null 2>&1
sql "CREATE TABLE products (sku VARCHAR PRIMARY KEY, name VARCHAR, price DOUBLE) WITH (topic = 'products')" >/dev/null
sql "CREATE MATERIALIZED VIEW catalog AS SELECT sku, name, price FROM products" >/dev/null
made=$(sql "CREATE SINK CONNECTOR catalog_cache FROM catalog WITH ('connector' = 'redis', 'port' = '$rport', 'key.prefix' = 'product:')" | json 'd["results"][0]["message"]')
check "CREATE SINK CONNECTOR FROM a view" "sink connector catalog_cache created" "$made"
printf '%s\n' 'a|{"sku":"a","name":"apple","price":1.5}' 'b|{"sku":"b","name":"bread","price":2}' \
  'c|{"sku":"c","name":"cheese","price":7.25}' | kcat -P -b "$brokers" -t products -K '|'
wait_redis() {  # wait_redis EXPECTED COMMAND...
  local want=$1; shift
  for _ in $(seq 1 100); do [ "$("$@" 2>/dev/null)" = "$want" ] && return; sleep 0.05; done
}
products_cached() { rcli --scan --pattern 'product:*' | wc -l; }
wait_redis 3 products_cached
check "the view's rows are hashes in Redis" "apple 1.5|bread 2.0|cheese 7.25" \
  "$(for k in a b c; do rcli hmget "product:$k" name price | paste -sd ' '; done | paste -sd '|')"
echo 'b|{"sku":"b","name":"bread","price":2.5}' | kcat -P -b "$brokers" -t products -K '|'
echo 'c|' | kcat -P -b "$brokers" -t products -K '|' -Z
wait_redis 0 rcli exists product:c
check "an update reaches Redis, a delete removes the key" "2.5|0" \
  "$(rcli hget product:b price)|$(rcli exists product:c)"

# --- a Redis stream of a topic, through the REST API ---
"$sluice" topic create clicks --brokers "$brokers" >/dev/null 2>&1
code=$(curl -s -o "$work/created.json" -w '%{http_code}' -H "$ct" \
  -d "{\"name\":\"clicks-stream\",\"config\":{\"connector.class\":\"sluice.connect.RedisSink\",\"topics\":\"clicks\",\"port\":\"$rport\",\"mode\":\"stream\",\"stream\":\"clicks\"}}" \
  "$http/connectors")
check "POST /connectors is 201 with the connector" "201 clicks-stream sink" \
  "$code $(json 'd["name"]+" "+d["type"]' <"$work/created.json")"
check "POST of the same name is 409" 409 \
  "$(curl -s -H "$ct" -d '{"name":"clicks-stream","config":{"connector":"redis","topics":"clicks"}}' "$http/connectors" | json 'd["error_code"]')"
seq 1 500 | sed 's/.*/{"n":&}/' | kcat -P -b "$brokers" -t clicks
wait_redis 500 rcli xlen clicks
check "every record of the topic reached the Redis stream" 500 "$(rcli xlen clicks)"
check "in order" '{"n":1} {"n":500}' \
  "$(rcli xrange clicks - + count 1 | tail -1) $(rcli xrevrange clicks + - count 1 | tail -1)"

# --- a webhook sink: retries through 503s, signed batches ---
"$sluice" topic create orders --brokers "$brokers" >/dev/null 2>&1
seq 1 1000 | sed 's/.*/{"order":&}/' | kcat -P -b "$brokers" -t orders
"$sluice" connector create hooks --http "127.0.0.1:$hport" connector=webhook topics=orders \
  "url=http://127.0.0.1:$wport/orders" secret=s3cret batch.size=100 max.in.flight=2 >/dev/null
hook_orders() { sort -u <(json_lines '"%d" % r["value"]["order"]') | wc -l; }
json_lines() { /usr/bin/python3 -c "
import json,sys
for l in open('$work/hooks.jsonl'):
    r=json.loads(l); print($1)" 2>/dev/null; }
for _ in $(seq 1 200); do [ "$(hook_orders)" = 1000 ] && break; sleep 0.05; done
check "the webhook got every record though every third request failed" 1000 "$(hook_orders)"
check "every batch was signed with HMAC-SHA256" "True" "$(json_lines 'r["signed"]' | sort -u | paste -sd ' ')"
check "sluice connector list" "hooks	sink	RUNNING	webhook" \
  "$("$sluice" connector list --http "127.0.0.1:$hport" | grep '^hooks')"

# --- pause, resume ---
check "PUT pause is 202" 202 "$(curl -s -o /dev/null -w '%{http_code}' -XPUT "$http/connectors/hooks/pause")"
check "a paused connector says so" PAUSED "$(curl -s "$http/connectors/hooks/status" | json 'd["tasks"][0]["state"]')"
seq 1001 1100 | sed 's/.*/{"order":&}/' | kcat -P -b "$brokers" -t orders
sleep 1
check "a paused sink delivers nothing" 1000 "$(hook_orders)"
curl -s -XPUT "$http/connectors/hooks/resume" >/dev/null
for _ in $(seq 1 200); do [ "$(hook_orders)" = 1100 ] && break; sleep 0.05; done
check "resumed, it delivers what waited" 1100 "$(hook_orders)"

# --- a webhook that refuses: the dead-letter topic, with Kafka Connect's headers ---
"$sluice" topic create refused --brokers "$brokers" >/dev/null 2>&1
seq 1 3 | sed 's/.*/{"r":&}/' | kcat -P -b "$brokers" -t refused
curl -s -XPUT -H "$ct" -d "{\"connector\":\"webhook\",\"topics\":\"refused\",\"url\":\"http://127.0.0.1:$wport/reject\",\"errors.tolerance\":\"all\",\"errors.retry.timeout\":\"0\",\"errors.deadletterqueue.topic.name\":\"refused-dlq\"}" \
  "$http/connectors/refuser/config" >/dev/null
for _ in $(seq 1 100); do
  [ "$(kcat -C -b "$brokers" -t refused-dlq -e -q 2>/dev/null | wc -l)" = 3 ] && break; sleep 0.1
done
check "records the peer refuses go to the dead-letter topic" '{"r":1} {"r":2} {"r":3}' \
  "$(kcat -C -b "$brokers" -t refused-dlq -e -q 2>/dev/null | paste -sd ' ')"
check "with the error in Kafka Connect's headers" \
  "__connect.errors.topic=refused __connect.errors.exception.message=HTTP 400 from http://127.0.0.1:$wport/reject: no thanks" \
  "$(kcat -C -b "$brokers" -t refused-dlq -e -q -c 1 -f '%h' 2>/dev/null | tr ',' '\n' | grep -E 'errors.topic|exception.message' | paste -sd ' ')"

# --- a connector whose peer is down: FAILED with the error, restarted with backoff ---
dead=$(free_port)
sql "CREATE SINK CONNECTOR broken FROM catalog WITH ('connector' = 'redis', 'port' = '$dead')" >/dev/null
for _ in $(seq 1 50); do
  [ "$(curl -s "$http/connectors/broken/status" | json 'd["tasks"][0]["state"]')" = FAILED ] && break; sleep 0.1
done
check "a sink whose peer is down is FAILED with the reason" "FAILED redis at 127.0.0.1:$dead" \
  "$(curl -s "$http/connectors/broken/status" | json 'd["tasks"][0]["state"]+" "+d["tasks"][0]["trace"].split(":")[0]+":"+d["tasks"][0]["trace"].split(":")[1]')"
check "SHOW CONNECTORS" "broken FAILED|catalog_cache RUNNING|clicks-stream RUNNING|hooks RUNNING|refuser RUNNING" \
  "$(sql "SHOW CONNECTORS" | json '"|".join(r["name"]+" "+r["state"] for r in d["results"][0]["rows"])')"
check "DROP CONNECTOR" "connector broken dropped" "$(sql "DROP CONNECTOR broken" | json 'd["results"][0]["message"]')"
check "DELETE /connectors/{n} is 204, then 404" "204 404" \
  "$(curl -s -o /dev/null -w '%{http_code}' -XDELETE "$http/connectors/refuser") $(curl -s -o /dev/null -w '%{http_code}' "$http/connectors/refuser")"
check "/metrics counts what connectors moved" 500 \
  "$(curl -s "$http/metrics" | sed -n 's/^sluice_connector_records_total{connector="clicks-stream",type="sink"} //p')"

# --- MQTT: devices in, computed peaks out (retained) ---
made=$(sql "CREATE SOURCE CONNECTOR sensors WITH ('connector' = 'mqtt-source', 'mqtt.port' = '$mport', 'mqtt.topics' = 'sensors/+/temp', 'kafka.topic' = 'readings')" | json 'd["results"][0]["message"]')
check "CREATE SOURCE CONNECTOR (MQTT)" "source connector sensors created" "$made"
for _ in $(seq 1 50); do
  [ "$(curl -s "$http/connectors/sensors/status" | json 'd["tasks"][0]["state"]')" = RUNNING ] && break; sleep 0.1
done
sleep 0.3  # subscribed
for i in $(seq 1 1000); do echo "{\"sensor\":\"s$((i % 4))\",\"c\":$i}"; done |
  mosquitto_pub -p "$mport" -q 1 -t sensors/a/temp -l
mosquitto_pub -p "$mport" -q 1 -t sensors/b/humidity -m '{"sensor":"x","c":1}'
mosquitto_pub -p "$mport" -q 1 -t sensors/b/temp -m '{"sensor":"s1","c":5000}'
readings() { kcat -C -b "$brokers" -t readings -e -q 2>/dev/null | wc -l; }
for _ in $(seq 1 100); do [ "$(readings)" = 1001 ] && break; sleep 0.05; done
check "MQTT QoS 1 messages of the matching filter reach the topic" 1001 "$(readings)"
check "keyed by their MQTT topic" "sensors/a/temp 1000|sensors/b/temp 1" \
  "$(kcat -C -b "$brokers" -t readings -e -q -f '%k\n' 2>/dev/null | sort | uniq -c | awk '{print $2, $1}' | paste -sd '|')"
sql "CREATE STREAM readings (sensor VARCHAR, c INT) WITH (topic = 'readings')" >/dev/null
sql "CREATE MATERIALIZED VIEW peaks AS SELECT sensor, MAX(c) AS c FROM readings GROUP BY sensor" >/dev/null
sql "CREATE SINK CONNECTOR peaks_out FROM peaks WITH ('connector' = 'mqtt-sink', 'mqtt.port' = '$mport', 'mqtt.topic' = 'peaks/{sensor}', 'mqtt.retain' = 'true')" >/dev/null
peaks() { mosquitto_sub -p "$mport" -t 'peaks/#' -v -W 2 -C 4 2>/dev/null | sort | paste -sd '|'; }
want='peaks/s0 {"sensor":"s0","c":1000}|peaks/s1 {"sensor":"s1","c":5000}|peaks/s2 {"sensor":"s2","c":998}|peaks/s3 {"sensor":"s3","c":999}'
for _ in $(seq 1 20); do [ "$(peaks)" = "$want" ] && break; sleep 0.2; done
check "a view's rows published to MQTT topics built from a column (retained)" "$want" "$(peaks)"

# --- kill -9 while records flow: the connectors come back and nothing is lost ---
seq 1101 3000 | sed 's/.*/{"order":&}/' | kcat -P -b "$brokers" -t orders &
producer=$!
sleep 0.3
kill -9 "$pid"
wait "$pid" 2>/dev/null
pid=""
wait "$producer"
mosquitto_pub -p "$mport" -q 1 -t sensors/c/temp -m '{"sensor":"s9","c":7777}'
server_start
check "after kill -9: the connectors are back" '["catalog_cache","clicks-stream","hooks","peaks_out","sensors"]' \
  "$(curl -s "$http/connectors")"
total=$(kcat -C -b "$brokers" -t orders -e -q | wc -l)
for _ in $(seq 1 300); do [ "$(hook_orders)" = "$total" ] && break; sleep 0.05; done
check "after kill -9: every order reached the webhook (at least once)" "$total" "$(hook_orders)"
check "after kill -9: QoS 1 messages sent while sluice was down arrive (persistent session)" 1 \
  "$(for _ in $(seq 1 100); do kcat -C -b "$brokers" -t readings -e -q 2>/dev/null | grep -c '"c":7777' | grep -q 1 && { echo 1; break; }; sleep 0.05; done)"
echo 'd|{"sku":"d","name":"dates","price":4}' | kcat -P -b "$brokers" -t products -K '|'
wait_redis dates rcli hget product:d name
check "after kill -9: the view's sink follows new rows" dates "$(rcli hget product:d name)"

server_stop
server_summary
