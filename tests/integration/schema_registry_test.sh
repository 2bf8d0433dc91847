#!/usr/bin/env bash
# The schema registry and Avro end to end with clients that share no code with sluice:
# @kafkajs/confluent-schema-registry (avsc inside) registers schemas, is refused an
# incompatible one, writes Confluent-framed Avro with kafkajs; a SQL stream declared without
# columns reads those records (both schema versions) into a view; a sink writes Avro that the
# same client decodes; the registry's REST API answers as Confluent's does (curl); everything
# survives a restart with the same ids; a record that is not Avro goes to the dead-letter topic.
set -uo pipefail
sluice=${1:?usage: schema_registry_test.sh PATH_TO_SLUICE}
here=$(cd "$(dirname "$0")" && pwd)
source "$here/server_lib.sh"
server_init "$sluice"
(cd "$here/kafkajs" && npm ci --no-audit --no-fund --silent)
server_start

sql() { curl -s -XPOST "$http/v1/sql" --data-binary "$1"; }
js() { node "$here/kafkajs/schemas.mjs" "$brokers" "$http" "$@"; }
ctype='Content-Type: application/vnd.schemaregistry.v1+json'
field() { /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)'"$1"')'; }

# --- the client registers, is refused, evolves, writes ---
ids=$(js produce 20 10)
check "kafkajs registry client: ids of v1, v2, latest, lookup of v1, the refusal" \
  '{"id1":1,"id2":2,"latest":2,"lookup":1,"refused":409}' "$ids"

# --- the REST API as Confluent's clients and tools call it ---
check "GET /subjects" '["bids-value"]' "$(curl -s "$http/subjects")"
check "GET /subjects/{s}/versions" '[1,2]' "$(curl -s "$http/subjects/bids-value/versions")"
check "GET .../versions/latest names version 2" 2 \
  "$(curl -s "$http/subjects/bids-value/versions/latest" | field '["version"]')"
check "GET .../versions/1/schema is the schema itself" Bid \
  "$(curl -s "$http/subjects/bids-value/versions/1/schema" | field '["name"]')"
check "the registry's content type" "application/vnd.schemaregistry.v1+json" \
  "$(curl -s -o /dev/null -w '%{content_type}' "$http/subjects")"
check "GET /schemas/ids/2/versions" '[{"subject":"bids-value","version":2}]' \
  "$(curl -s "$http/schemas/ids/2/versions")"
check "GET /schemas/types" '["AVRO","PROTOBUF","JSON"]' "$(curl -s "$http/schemas/types")"
check "unknown subject: 40401" 40401 "$(curl -s "$http/subjects/nope/versions" | field '["error_code"]')"
check "unknown version: 40402" 40402 \
  "$(curl -s "$http/subjects/bids-value/versions/9" | field '["error_code"]')"
check "bad version: 42202" 42202 \
  "$(curl -s "$http/subjects/bids-value/versions/x" | field '["error_code"]')"
check "unknown id: 40403" 40403 "$(curl -s "$http/schemas/ids/99" | field '["error_code"]')"
check "invalid schema: 42201" 42201 "$(curl -s -H "$ctype" \
  -d '{"schema":"{\"type\":\"record\",\"name\":\"X\",\"fields\":[{\"name\":\"a\",\"type\":\"integer\"}]}"}' \
  "$http/subjects/x-value/versions" | field '["error_code"]')"
check "a default that does not fit its type: 42201" 42201 "$(curl -s -H "$ctype" \
  -d '{"schema":"{\"type\":\"record\",\"name\":\"X\",\"fields\":[{\"name\":\"a\",\"type\":\"int\",\"default\":\"x\"}]}"}' \
  "$http/subjects/x-value/versions" | field '["error_code"]')"
verbose=$(curl -s -H "$ctype" \
  -d '{"schema":"{\"type\":\"record\",\"name\":\"Bid\",\"namespace\":\"nexmark\",\"fields\":[{\"name\":\"auction\",\"type\":\"string\"}]}"}' \
  "$http/compatibility/subjects/bids-value/versions/latest?verbose=true")
if [[ $verbose == *'"is_compatible":false'* && $verbose == *TYPE_MISMATCH* ]]; then
  ok "compatibility check names the type mismatch"
else fail "compatibility check: $verbose"; fi
check "PUT /config/{s}" '{"compatibility":"FULL_TRANSITIVE"}' \
  "$(curl -s -X PUT -H "$ctype" -d '{"compatibility":"FULL_TRANSITIVE"}' "$http/config/bids-value")"
check "GET /config/{s}" FULL_TRANSITIVE \
  "$(curl -s "$http/config/bids-value" | field '["compatibilityLevel"]')"
check "GET /config stays BACKWARD" BACKWARD "$(curl -s "$http/config" | field '["compatibilityLevel"]')"
check "bad level: 42203" 42203 "$(curl -s -X PUT -H "$ctype" -d '{"compatibility":"SIDEWAYS"}' \
  "$http/config" | field '["error_code"]')"
# A soft-deleted subject is hidden, then forgotten; the ids of the kept schemas stay.
curl -s -H "$ctype" -d '{"schema":"\"string\""}' "$http/subjects/tmp-key/versions" >/dev/null
check "soft delete answers the versions" '[1]' "$(curl -s -X DELETE "$http/subjects/tmp-key")"
check "permanent delete first needs a soft one: 40405" 40405 "$(curl -s -H "$ctype" \
  -d '{"schema":"\"long\""}' "$http/subjects/tmp2-key/versions" >/dev/null;
  curl -s -X DELETE "$http/subjects/tmp2-key?permanent=true" | field '["error_code"]')"
check "deleted subjects listed with ?deleted=true" '["bids-value","tmp-key","tmp2-key"]' \
  "$(curl -s "$http/subjects?deleted=true")"
check "permanent delete" '[1]' "$(curl -s -X DELETE "$http/subjects/tmp-key?permanent=true")"
check "READONLY mode refuses registrations: 42205" 42205 "$(
  curl -s -X PUT -H "$ctype" -d '{"mode":"READONLY"}' "$http/mode/tmp2-key" >/dev/null
  curl -s -H "$ctype" -d '{"schema":"\"int\""}' "$http/subjects/tmp2-key/versions" | field '["error_code"]')"

# --- SQL reads the records of both versions, with no columns declared ---
out=$(sql "CREATE STREAM bids WITH (format = 'avro')")
check "CREATE STREAM with format avro and no columns" ok \
  "$([[ $out == *"stream bids created"* ]] && echo ok || echo "$out")"
check "its columns come from the subject's latest schema" \
  "auction:BIGINT bidder:BIGINT price:BIGINT channel:VARCHAR dateTime:TIMESTAMP url:VARCHAR" \
  "$(sql "DESCRIBE bids" | /usr/bin/python3 -c '
import json,sys
print(" ".join(r["column"] + ":" + r["type"] for r in json.load(sys.stdin)["results"][0]["rows"]))')"
sql "CREATE MATERIALIZED VIEW bid_stats AS SELECT auction, COUNT(*) AS n, SUM(price) AS total,
     COUNT(url) AS with_url, MAX(dateTime) AS last FROM bids GROUP BY auction" >/dev/null
sql "CREATE SINK bid_totals INTO TOPIC bid_totals WITH (format = 'avro')
     AS SELECT auction, COUNT(*) AS n, SUM(price) AS total FROM bids GROUP BY auction" >/dev/null
wait_read bid_stats 30
wait_read bid_totals 30
# Bids i = 0..29: auction i % 5, price 10 i; the 10 v2 bids (20..29) carry a url when i is even.
rows=$(curl -s "$http/v1/views/bid_stats" | /usr/bin/python3 -c '
import json,sys
print(" ".join("%d:%d:%d:%d:%s" % (r["auction"], r["n"], r["total"], r["with_url"], r["last"][11:19])
               for r in sorted(json.load(sys.stdin)["rows"], key=lambda r: r["auction"])))')
check "the view over Avro records of both versions" \
  "0:6:750:1:22:13:45 1:6:810:1:22:13:46 2:6:870:1:22:13:47 3:6:930:1:22:13:48 4:6:990:1:22:13:49" \
  "$rows"
check "EXPLAIN names the format" 1 \
  "$(sql "EXPLAIN SELECT * FROM bids" | grep -c "StreamScan bids (topic 'bids', AVRO)")"

# --- the sink's Avro, decoded by the client through the registry ---
decoded=$(js decode bid_totals 5 | /usr/bin/python3 -c '
import json,sys
last = {}
for line in sys.stdin:
    r = json.loads(line); last[r["value"]["auction"]] = r["value"]
print(" ".join("%d:%d:%d" % (a, v["n"], v["total"]) for a, v in sorted(last.items())))')
check "the sink's records decoded by @kafkajs/confluent-schema-registry" \
  "0:6:750 1:6:810 2:6:870 3:6:930 4:6:990" "$decoded"
# (No TIMESTAMP column here: the client's protobufjs cannot resolve the well-known
# google.protobuf.Timestamp that sluice writes for TIMESTAMP; read back by SQL below.)
sql "CREATE SINK bid_totals_pb INTO TOPIC bid_totals_pb WITH (format = 'protobuf')
     AS SELECT auction, COUNT(*) AS n, SUM(price) AS total FROM bids GROUP BY auction" >/dev/null
sql "CREATE SINK bid_last_pb INTO TOPIC bid_last_pb WITH (format = 'protobuf')
     AS SELECT auction, MAX(dateTime) AS last FROM bids GROUP BY auction" >/dev/null
sql "CREATE SINK bid_totals_js INTO TOPIC bid_totals_js WITH (format = 'json_sr')
     AS SELECT auction, COUNT(*) AS n, SUM(price) AS total FROM bids GROUP BY auction" >/dev/null
wait_read bid_totals_pb 30
wait_read bid_last_pb 30
wait_read bid_totals_js 30
latest_by_auction='
import json,sys
last = {}
for line in sys.stdin:
    v = json.loads(line)["value"]; last[int(v["auction"])] = v
print(" ".join("%d:%d:%d" % (a, int(v["n"]), int(v["total"])) for a, v in sorted(last.items())))'
check "the Protobuf sink's records decoded by the client (protobufjs)" \
  "0:6:750 1:6:810 2:6:870 3:6:930 4:6:990" \
  "$(js decode bid_totals_pb 5 | /usr/bin/python3 -c "$latest_by_auction")"
sql "CREATE STREAM bid_last_in WITH (topic = 'bid_last_pb', format = 'protobuf')" >/dev/null
check "a Protobuf sink's TIMESTAMP is a google.protobuf.Timestamp, read back as TIMESTAMP" \
  "last:TIMESTAMP" "$(sql "DESCRIBE bid_last_in" | /usr/bin/python3 -c '
import json,sys
print(" ".join(r["column"] + ":" + r["type"] for r in json.load(sys.stdin)["results"][0]["rows"] if r["column"] == "last"))')"
sql "CREATE MATERIALIZED VIEW bid_last_v AS SELECT MAX(last) AS last FROM bid_last_in" >/dev/null
wait_read bid_last_v 5
check "... with its value" "2023-11-14T22:13:49.000Z" \
  "$(curl -s "$http/v1/views/bid_last_v" | field '["rows"][0]["last"]')"
check "the JSON Schema sink's records decoded (and validated by ajv) by the client" \
  "0:6:750 1:6:810 2:6:870 3:6:930 4:6:990" \
  "$(js decode bid_totals_js 5 | /usr/bin/python3 -c "$latest_by_auction")"
check "the sink registered its schema under <topic>-value" 1 \
  "$(curl -s "$http/subjects/bid_totals-value/versions" | field '[0]')"

# --- keys in a registry format: a sink writes Avro keys, a table reads them (tombstones) ---
sql "CREATE SINK bid_keyed INTO TOPIC bid_keyed WITH (format = 'avro', key_format = 'avro')
     AS SELECT auction, COUNT(*) AS n FROM bids GROUP BY auction" >/dev/null
wait_read bid_keyed 30
check "a sink's Avro keys (<topic>-key) decoded by the client" "0 1 2 3 4" \
  "$(js decode bid_keyed 5 | /usr/bin/python3 -c '
import json,sys
print(" ".join(str(k) for k in sorted({json.loads(l)["key"]["auction"] for l in sys.stdin})))')"
sql "CREATE TABLE keyed_in (PRIMARY KEY (auction)) WITH (topic = 'bid_keyed', format = 'avro',
     key_format = 'avro')" >/dev/null
sql "CREATE MATERIALIZED VIEW keyed_count AS SELECT COUNT(*) AS auctions FROM keyed_in" >/dev/null
wait_read keyed_count 5
js tombstone bid_keyed bid_keyed-key '{"auction":3}' >/dev/null
wait_read keyed_count 6
check "a table with key_format avro deletes the row of an Avro tombstone key" 4 \
  "$(curl -s "$http/v1/views/keyed_count" | field '["rows"][0]["auctions"]')"

# --- a record that is not Avro: the dead-letter topic, with the reason ---
echo '{"auction":1}' | kcat -b "$brokers" -P -t bids 2>/dev/null
wait_read bid_stats 31
check "a non-Avro record is a dead letter" 1 "$(query_field bid_stats dead_letters)"

# --- the REST Proxy's Avro format: produce with a schema's text, consume as Avro JSON ---
"$sluice" topic create readings --brokers "$brokers" >/dev/null 2>&1
reading='{\"type\":\"record\",\"name\":\"Reading\",\"fields\":[{\"name\":\"sensor\",\"type\":\"string\"},{\"name\":\"temp\",\"type\":\"double\"},{\"name\":\"note\",\"type\":[\"null\",\"string\"],\"default\":null}]}'
avro_ct='Content-Type: application/vnd.kafka.avro.v2+json'
out=$(curl -s -H "$avro_ct" -d "{\"value_schema\":\"$reading\",\"records\":[
  {\"value\":{\"sensor\":\"s1\",\"temp\":21.5,\"note\":{\"string\":\"hot\"}}},
  {\"value\":{\"sensor\":\"s2\",\"temp\":19,\"note\":null}},{\"value\":{\"sensor\":\"s3\",\"temp\":1}}]}" \
  "$http/topics/readings")
rid=$(curl -s "$http/subjects/readings-value/versions/1" | field '["id"]')
check "REST Proxy Avro produce registers <topic>-value and names its id" "$rid 3" \
  "$(echo "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["value_schema_id"], len(d["offsets"]))')"
check "REST Proxy Avro produce: a value that does not fit its schema is 42205" 42205 \
  "$(curl -s -H "$avro_ct" -d "{\"value_schema_id\":$rid,\"records\":[{\"value\":{\"sensor\":\"s1\",\"temp\":\"x\"}}]}" \
     "$http/topics/readings" | field '["error_code"]')"
decoded=$(js decode readings 3 | tr -d '\n')
check "the REST Proxy's Avro decoded by the client" \
  '{"key":null,"value":{"sensor":"s1","temp":21.5,"note":"hot"}}{"key":null,"value":{"sensor":"s2","temp":19,"note":null}}{"key":null,"value":{"sensor":"s3","temp":1,"note":null}}' \
  "$decoded"
kv='Content-Type: application/vnd.kafka.v2+json'
curl -s -H "$kv" -d '{"name":"c1","format":"avro","auto.offset.reset":"earliest"}' "$http/consumers/ga" >/dev/null
curl -s -H "$kv" -d '{"topics":["readings"]}' "$http/consumers/ga/instances/c1/subscription" >/dev/null
got=""
for _ in 1 2 3 4 5; do
  got=$(curl -s -H 'Accept: application/vnd.kafka.avro.v2+json' \
    "$http/consumers/ga/instances/c1/records?timeout=2000")
  [ "$got" != "[]" ] && break
done
check "a REST consumer in format avro reads Avro's JSON encoding" \
  '{"sensor":"s1","temp":21.5,"note":{"string":"hot"}}' \
  "$(echo "$got" | /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)[0]["value"], separators=(",",":")))')"
tail=$(timeout 2 curl -sN "$http/v1/topics/readings/events?from=beginning" | grep '^data:' | head -1)
check "the topic tail shows registered Avro as JSON" \
  '{"sensor":"s1","temp":21.5,"note":"hot"}' \
  "$(echo "${tail#data: }" | /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["records"][0]["value"], separators=(",",":")))')"

# --- Protobuf: the client registers a .proto (protobufjs inside) and writes; SQL reads ---
"$sluice" topic create readings_pb --brokers "$brokers" >/dev/null 2>&1
out=$(js protobuf 12)
check "Protobuf registered, an incompatible change refused with its kind" \
  "$(curl -s "$http/subjects/readings_pb-value/versions/1" | field '["id"]') 409 True" \
  "$(echo "$out" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["refused"], d["kind"])')"
sql "CREATE STREAM readings_pb WITH (format = 'protobuf')" >/dev/null
check "a Protobuf stream's columns come from the first message" \
  "sensor:VARCHAR temp:DOUBLE at:BIGINT tags:ARRAY<VARCHAR> status:VARCHAR counts:MAP<VARCHAR, INT> place:ROW<site VARCHAR, floor INT>" \
  "$(sql "DESCRIBE readings_pb" | /usr/bin/python3 -c '
import json,sys
print(" ".join(r["column"] + ":" + r["type"] for r in json.load(sys.stdin)["results"][0]["rows"]))')"
sql "CREATE MATERIALIZED VIEW pb_stats AS SELECT sensor, COUNT(*) AS n, SUM(temp) AS total,
     COUNT(tags[1]) AS tagged, COUNT(CASE WHEN status = 'HOT' THEN 1 END) AS hot,
     MAX(place.floor) AS top, SUM(counts['x']) AS xs, MAX(at) AS last_at
     FROM readings_pb GROUP BY sensor" >/dev/null
wait_read pb_stats 12
# Readings i = 0..11: sensor s(i % 3), temp 20 + i, tags when i is odd, HOT when i % 4 = 0,
# floor i % 3, counts {x: i}, at 1700000000000 + i.
check "the view over Protobuf records (enums, repeated, maps, nested messages)" \
  "s0:4:98:2:1:0:18:9 s1:4:102:2:1:1:22:10 s2:4:106:2:1:2:26:11" \
  "$(curl -s "$http/v1/views/pb_stats" | /usr/bin/python3 -c '
import json,sys
print(" ".join("%s:%d:%d:%d:%d:%d:%d:%d" % (r["sensor"], r["n"], r["total"], r["tagged"], r["hot"],
               r["top"], r["xs"], r["last_at"] - 1700000000000)
               for r in sorted(json.load(sys.stdin)["rows"], key=lambda r: r["sensor"])))')"
check "no dead letters from the client's framing (it leaves out the message indexes)" 0 \
  "$(query_field pb_stats dead_letters)"

# --- JSON Schema: registered (ajv inside the client), validated per record by SQL ---
"$sluice" topic create orders_js --brokers "$brokers" >/dev/null 2>&1
out=$(js jsonschema 6)
js_id=$(echo "$out" | field '["id"]')
check "JSON Schema registered, a newly required property refused, an optional one added" \
  "[1,2] 409 True" "$(curl -s "$http/subjects/orders_js-value/versions") $(echo "$out" |
  /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["refused"], d["kind"])')"
sql "CREATE STREAM orders_js WITH (format = 'json_sr')" >/dev/null
check "a json_sr stream's columns come from the schema's properties" \
  "id:BIGINT customer:VARCHAR amount:DOUBLE at:TIMESTAMP items:ARRAY<VARCHAR> note:VARCHAR" \
  "$(sql "DESCRIBE orders_js" | /usr/bin/python3 -c '
import json,sys
print(" ".join(r["column"] + ":" + r["type"] for r in json.load(sys.stdin)["results"][0]["rows"]))')"
sql "CREATE MATERIALIZED VIEW js_stats AS SELECT customer, COUNT(*) AS n, SUM(amount) AS total,
     COUNT(items[1]) AS with_items FROM orders_js GROUP BY customer" >/dev/null
wait_read js_stats 7
check "the view over JSON Schema records" "c0:3:60:0 c1:3:90:3" \
  "$(curl -s "$http/v1/views/js_stats" | /usr/bin/python3 -c '
import json,sys
print(" ".join("%s:%d:%d:%d" % (r["customer"], r["n"], r["total"], r["with_items"])
               for r in sorted(json.load(sys.stdin)["rows"], key=lambda r: r["customer"])))')"
reason=$(kcat -b "$brokers" -C -t js_stats.dlq -e -f '%h\n' 2>/dev/null | tr ',' '\n' | grep '^sluice.reason=')
check "a record its schema refuses goes to the dead-letter topic, with the reason" \
  "sluice.reason=invalid by schema $js_id: /amount: less than the minimum" "$reason"

# --- the REST Proxy's Protobuf and JSON Schema formats ---
"$sluice" topic create pings --brokers "$brokers" >/dev/null 2>&1
ping='syntax = \"proto3\"; message Ping { string host = 1; int32 ms = 2; repeated string tags = 3; }'
out=$(curl -s -H 'Content-Type: application/vnd.kafka.protobuf.v2+json' \
  -d "{\"value_schema\":\"$ping\",\"records\":[{\"value\":{\"host\":\"a\",\"ms\":12,\"tags\":[\"x\"]}},{\"value\":{\"host\":\"b\"}}]}" \
  "$http/topics/pings")
pid_=$(echo "$out" | field '["value_schema_id"]')
check "REST Proxy Protobuf produce registers pings-value" \
  "$(curl -s "$http/subjects/pings-value/versions/1" | field '["id"]')" "$pid_"
check "REST Proxy Protobuf produce: an unknown field is 42205" 42205 \
  "$(curl -s -H 'Content-Type: application/vnd.kafka.protobuf.v2+json' \
     -d "{\"value_schema_id\":$pid_,\"records\":[{\"value\":{\"nope\":1}}]}" "$http/topics/pings" |
     field '["error_code"]')"
check "the REST Proxy's Protobuf (with message indexes) decoded by the client (protobufjs)" \
  "a 12 ['x']" "$(js decode pings 2 | head -1 | /usr/bin/python3 -c '
import json,sys; v=json.load(sys.stdin)["value"]; print(v["host"], v["ms"], v["tags"])')"
curl -s -H "$kv" -d '{"name":"p1","format":"protobuf","auto.offset.reset":"earliest"}' "$http/consumers/gp" >/dev/null
curl -s -H "$kv" -d '{"topics":["pings"]}' "$http/consumers/gp/instances/p1/subscription" >/dev/null
got=""
for _ in 1 2 3 4 5; do
  got=$(curl -s -H 'Accept: application/vnd.kafka.protobuf.v2+json' \
    "$http/consumers/gp/instances/p1/records?timeout=2000")
  [ "$got" != "[]" ] && break
done
check "a REST consumer in format protobuf reads Protobuf's JSON mapping" \
  '{"host":"a","ms":12,"tags":["x"]}|{"host":"b"}' \
  "$(echo "$got" | /usr/bin/python3 -c 'import json,sys; print("|".join(json.dumps(r["value"], separators=(",",":")) for r in json.load(sys.stdin)))')"
"$sluice" topic create counts --brokers "$brokers" >/dev/null 2>&1
js_schema='{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\",\"maximum\":10}},\"required\":[\"n\"]}'
jid=$(curl -s -H 'Content-Type: application/vnd.kafka.jsonschema.v2+json' \
  -d "{\"value_schema\":\"$js_schema\",\"records\":[{\"value\":{\"n\":3}}]}" "$http/topics/counts" |
  field '["value_schema_id"]')
check "REST Proxy JSON Schema produce: a value its schema refuses is 42205, with the reason" \
  "42205 record 1: /n: more than the maximum" \
  "$(curl -s -H 'Content-Type: application/vnd.kafka.jsonschema.v2+json' \
     -d "{\"value_schema_id\":$jid,\"records\":[{\"value\":{\"n\":30}}]}" "$http/topics/counts" |
     /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["error_code"], d["message"])')"
tail=$(timeout 2 curl -sN "$http/v1/topics/pings/events?from=beginning" | grep '^data:' | head -1)
check "the topic tail shows registered Protobuf as JSON" '{"host":"a","ms":12,"tags":["x"]}' \
  "$(echo "${tail#data: }" | /usr/bin/python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["records"][0]["value"], separators=(",",":")))')"

# --- schema evolution while queries run ---
# A stream declared without columns follows a version that adds a field: its SELECT * sink
# restarts with the new column (and registers its new output schema) without a restart.
sr_ct='Content-Type: application/vnd.schemaregistry.v1+json'
ev_schema() {  # ev_schema FIELDS_JSON
  /usr/bin/python3 -c 'import json,sys; print(json.dumps({"schema": json.dumps({"type":"record","name":"E","fields":json.loads(sys.argv[1])})}))' "$1"
}
ev1=$(curl -s -H "$sr_ct" -d "$(ev_schema '[{"name":"a","type":"long"}]')" "$http/subjects/ev-value/versions" | field '["id"]')
sql "CREATE STREAM ev WITH (format = 'avro')" >/dev/null
sql "CREATE SINK ev_out INTO TOPIC ev_out WITH (format = 'avro') AS SELECT * FROM ev" >/dev/null
sql "CREATE MATERIALIZED VIEW ev_view AS SELECT * FROM ev WHERE a > 0" >/dev/null
curl -s -H "$avro_ct" -d "{\"value_schema_id\":$ev1,\"records\":[{\"value\":{\"a\":1}}]}" "$http/topics/ev" >/dev/null
# A subscriber of the view is told when the view is re-created with the new column.
curl -sN --max-time 20 "$http/v1/views/ev_view/events" >"$work/ev_view.sse" &
ev_sse=$!
for _ in $(seq 1 50); do grep -q '^event: snapshot' "$work/ev_view.sse" && break; sleep 0.1; done
ev2=$(curl -s -H "$sr_ct" -d "$(ev_schema '[{"name":"a","type":"long"},{"name":"b","type":"string","default":""}]')" \
  "$http/subjects/ev-value/versions" | field '["id"]')
for _ in $(seq 1 50); do
  [ "$(sql "DESCRIBE ev" | grep -c '"column":"b"')" = 1 ] && break
  sleep 0.1
done
check "a stream declared without columns gains the new field without a restart" \
  "a b" "$(sql "DESCRIBE ev" | /usr/bin/python3 -c '
import json,sys; print(" ".join(r["column"] for r in json.load(sys.stdin)["results"][0]["rows"]))')"
curl -s -H "$avro_ct" -d "{\"value_schema_id\":$ev2,\"records\":[{\"value\":{\"a\":2,\"b\":\"two\"}}]}" "$http/topics/ev" >/dev/null
check "its SELECT * sink writes the new column, decoded by the client" \
  '{"a":1}|{"a":2,"b":"two"}' \
  "$(js decode ev_out 2 | /usr/bin/python3 -c 'import json,sys; print("|".join(json.dumps(json.loads(l)["value"], separators=(",",":")) for l in sys.stdin))')"
check "the sink registered its wider schema as a new version" '[1,2]' \
  "$(curl -s "$http/subjects/ev_out-value/versions")"
ev_rows() {
  curl -s "$http/v1/views/ev_view" | /usr/bin/python3 -c '
import json,sys; d=json.load(sys.stdin); print(" ".join(d["columns"]), "|".join(json.dumps(r, separators=(",",":")) for r in d["rows"]))'
}
for _ in $(seq 1 50); do [ "$(ev_rows)" = 'a b {"a":1,"b":null}|{"a":2,"b":"two"}' ] && break; sleep 0.1; done
check "a field added while a view's query runs appears in the view (null in rows from before)" \
  'a b {"a":1,"b":null}|{"a":2,"b":"two"}' "$(ev_rows)"
wait "$ev_sse"
check "the view's subscriber is told the view has new columns, and why" \
  "view 'ev_view' has new columns (schema $ev2 of 'ev-value'): subscribe again" \
  "$(grep -A1 '^event: error' "$work/ev_view.sse" | sed -n 's/^data: //p' | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["message"])')"
# An aggregate keeps state of the old width: the stream it reads keeps its columns.
ev_view1=$(curl -s -H "$sr_ct" -d "$(ev_schema '[{"name":"k","type":"long"}]')" "$http/subjects/evv-value/versions" | field '["id"]')
sql "CREATE STREAM evv WITH (format = 'avro')" >/dev/null
sql "CREATE MATERIALIZED VIEW evv_all AS SELECT k, COUNT(*) AS n FROM evv GROUP BY k" >/dev/null
last_id=$(curl -s -H "$sr_ct" -d "$(ev_schema '[{"name":"k","type":"long"},{"name":"x","type":"long","default":0}]')" \
  "$http/subjects/evv-value/versions" | field '["id"]')
sleep 2.5
check "a stream an aggregate reads keeps its columns" "k" "$(sql "DESCRIBE evv" | /usr/bin/python3 -c '
import json,sys; print(" ".join(r["column"] for r in json.load(sys.stdin)["results"][0]["rows"]))')"

# --- restart: the registry, the stream and the sink come back with the same ids ---
server_stop
server_start
check "after a restart: the subjects" '["bid_keyed-key","bid_keyed-value","bid_last_pb-value","bid_totals-value","bid_totals_js-value","bid_totals_pb-value","bids-value","counts-value","ev-value","ev_out-value","evv-value","orders_js-value","pings-value","readings-value","readings_pb-value","tmp2-key"]' \
  "$(curl -s "$http/subjects")"
check "after a restart: schema 2 by id" Bid "$(curl -s "$http/schemas/ids/2/schema" | field '["name"]')"
check "after a restart: the sink's subject still has one version" '[1]' \
  "$(curl -s "$http/subjects/bid_totals-value/versions")"
ids=$(curl -s -H "$ctype" -d '{"schema":"\"double\""}' "$http/subjects/next-key/versions")
check "after a restart: a new schema gets the next id" "{\"id\":$((last_id + 1))}" "$ids"
check "after a restart: the streams keep the columns they followed" "a b|k" \
  "$(for t in ev evv; do sql "DESCRIBE $t" | /usr/bin/python3 -c '
import json,sys; print(" ".join(r["column"] for r in json.load(sys.stdin)["results"][0]["rows"]))'; done | paste -sd '|')"
check "after a restart: the view that followed the schema keeps its rows and columns" \
  'a b {"a":1,"b":null}|{"a":2,"b":"two"}' "$(ev_rows)"
curl -sN --max-time 20 "$http/v1/views/ev_view/events" >"$work/ev_view2.sse" &
ev_sse=$!
for _ in $(seq 1 50); do grep -q '^event: snapshot' "$work/ev_view2.sse" && break; sleep 0.1; done
sql "DROP VIEW ev_view" >/dev/null
wait "$ev_sse"
check "DROP VIEW tells its subscribers and disconnects them" "view 'ev_view' was dropped" \
  "$(grep -A1 '^event: error' "$work/ev_view2.sse" | sed -n 's/^data: //p' | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["message"])')"
check "after a restart: the view" 6 \
  "$(curl -s "$http/v1/views/bid_stats" | /usr/bin/python3 -c '
import json,sys; print([r for r in json.load(sys.stdin)["rows"] if r["auction"] == 0][0]["n"])')"

server_stop
server_summary
