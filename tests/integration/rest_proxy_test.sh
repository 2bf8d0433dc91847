#!/usr/bin/env bash
# Topics over HTTP (Confluent REST Proxy v2 style) against a started server, read back with
# kcat: offsets in the answer, JSON keys and values, Kafka's key partitioning (murmur2, as
# kcat's murmur2 partitioner places the same key), and the REST Proxy's error codes. Then
# consumer instances: subscription, records (JSON and binary), commits, two instances of one
# group sharing the partitions, a long poll woken by a new record, deletion.
set -euo pipefail

source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: rest_proxy_test.sh SLUICE}"
server_start

"$sluice" topic create orders -p 16 -b "$brokers" >/dev/null
check "GET /topics" '["orders"]' "$(curl -s "$http/topics" | sed -E 's/"__(consumer_offsets|transaction_state)",//g')"
check "GET /topics/{t} partitions" 16 "$(curl -s "$http/topics/orders" | grep -o '"partition":' | wc -l)"

out=$(curl -s -XPOST -H 'Content-Type: application/vnd.kafka.json.v2+json' "$http/topics/orders" \
  --data '{"records":[{"key":"alice","value":{"total":12}},{"key":"alice","value":{"total":13}},{"value":"no key","partition":3}]}')
p_alice=$(echo "$out" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["offsets"][0]["partition"])')
check "answer offsets" "0 1 0" "$(echo "$out" | /usr/bin/python3 -c 'import json,sys; print(" ".join(str(o["offset"]) for o in json.load(sys.stdin)["offsets"]))')"
check "explicit partition" 3 "$(echo "$out" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["offsets"][2]["partition"])')"
check "records read back with kcat" '"alice"={"total":12}|"alice"={"total":13}|' \
  "$(kcat -b "$brokers" -C -t orders -p "$p_alice" -e -q -f '%k=%s|')"
# kcat's murmur2 partitioner is Kafka's default: the same key bytes go to the same partition.
printf '"alice"\tfrom-kcat\n' | kcat -b "$brokers" -P -t orders -K$'\t' -X partitioner=murmur2
check "same partition as Kafka's partitioner" "from-kcat" \
  "$(kcat -b "$brokers" -C -t orders -p "$p_alice" -o 2 -c 1 -e -q -f '%s')"

code=$(curl -s -o "$work/e.json" -w '%{http_code}' -XPOST "$http/topics/nope" --data '{"records":[{"value":1}]}')
check "unknown topic: 404 40401" "404 40401" "$code $(grep -o '"error_code":[0-9]*' "$work/e.json" | cut -d: -f2)"
code=$(curl -s -o "$work/e.json" -w '%{http_code}' -XPOST "$http/topics/orders" --data '{"records":[{"value":1,"partition":99}]}')
check "bad partition: 422 42202" "422 42202" "$code $(grep -o '"error_code":[0-9]*' "$work/e.json" | cut -d: -f2)"
code=$(curl -s -o "$work/e.json" -w '%{http_code}' -XPOST "$http/topics/orders" --data 'not json')
check "bad body: 422 42201" "422 42201" "$code $(grep -o '"error_code":[0-9]*' "$work/e.json" | cut -d: -f2)"

# ---- consumer instances
py() { /usr/bin/python3 -c "$@"; }
req() {  # req METHOD PATH [BODY] -> "<status> <body>"
  curl -s -o "$work/r.json" -w '%{http_code}' -X "$1" -H 'Content-Type: application/vnd.kafka.v2+json' \
    ${3:+--data "$3"} "$http$2"
  echo " $(cat "$work/r.json")"
}
out=$(req POST /consumers/readers '{"name":"one","format":"json","auto.offset.reset":"earliest","auto.commit.enable":"false"}')
check "create a consumer instance" "200 one /consumers/readers/instances/one" \
  "$(echo "$out" | cut -d' ' -f1) $(echo "$out" | cut -d' ' -f2- | py 'import json,sys,re; d=json.load(sys.stdin); print(d["instance_id"], re.sub("^http://[^/]+", "", d["base_uri"]))')"
check "the same name again: 409 40902" "409" "$(req POST /consumers/readers '{"name":"one"}' | cut -d' ' -f1)"
check "a bad format: 422 42204" "422 42204" "$(req POST /consumers/readers '{"format":"xml"}' | py 'import json,sys; s,b=sys.stdin.read().split(" ",1); print(s, json.loads(b)["error_code"])')"
check "subscribe" "204" "$(req POST /consumers/readers/instances/one/subscription '{"topics":["orders"]}' | cut -d' ' -f1)"
check "subscription" '200 {"topics":["orders"]}' "$(req GET /consumers/readers/instances/one/subscription)"
# Read until all four records of 'orders' came (the first polls may see the group forming).
got=""
for _ in $(seq 1 20); do
  got+=$(curl -s -H 'Accept: application/vnd.kafka.json.v2+json' "$http/consumers/readers/instances/one/records?timeout=500" |
    py 'import json,sys; print("".join("%s/%s=%s;" % (r["partition"], r["offset"], json.dumps(r["value"], separators=(",",":"))) for r in json.load(sys.stdin)))')
  [ "$(echo "$got" | tr ';' '\n' | grep -c .)" -ge 4 ] && break
done
check "records, values as JSON" "$p_alice/0={\"total\":12};$p_alice/1={\"total\":13};$p_alice/2=\"from-kcat\";3/0=\"no key\";" \
  "$(echo "$got" | tr ';' '\n' | grep . | sort | tr '\n' ';')"
check "Accept of another format: 406" "406" \
  "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.kafka.binary.v2+json' "$http/consumers/readers/instances/one/records?timeout=0")"
req POST /consumers/readers/instances/one/offsets "{\"offsets\":[{\"topic\":\"orders\",\"partition\":$p_alice,\"offset\":1}]}" >/dev/null
check "commit the last record processed: the group resumes after it" \
  "{\"offsets\":[{\"topic\":\"orders\",\"partition\":$p_alice,\"offset\":2,\"metadata\":\"\"}]}" \
  "$(curl -s -XGET --data "{\"partitions\":[{\"topic\":\"orders\",\"partition\":$p_alice},{\"topic\":\"orders\",\"partition\":5}]}" "$http/consumers/readers/instances/one/offsets")"
check "the group's committed offset, seen by Kafka clients" "2" \
  "$("$sluice" group describe readers -b "$brokers" | awk -v p="$p_alice" '$1=="orders" && $2==p {print $3}')"

# A long poll returns when a record arrives, not at its timeout.
(sleep 1; curl -s -XPOST "$http/topics/orders" --data '{"records":[{"value":"wake","partition":7}]}' >/dev/null) &
producer=$!
start=$(date +%s%N)
woke=$(curl -s "$http/consumers/readers/instances/one/records?timeout=15000" | py 'import json,sys; print([r["value"] for r in json.load(sys.stdin)])')
took=$(( ($(date +%s%N) - start) / 1000000 ))
wait "$producer"
if [ "$woke" = "['wake']" ] && [ "$took" -lt 10000 ]; then ok "long poll woken by a new record ($took ms)"; else fail "long poll: got $woke after $took ms"; fi
check "delete the instance" "204" "$(req DELETE /consumers/readers/instances/one | cut -d' ' -f1)"
check "deleted: 404 40403" "404 40403" "$(req GET /consumers/readers/instances/one/subscription | py 'import json,sys; s,b=sys.stdin.read().split(" ",1); print(s, json.loads(b)["error_code"])')"

# Two instances of one group share the partitions: each record reaches exactly one of them.
"$sluice" topic create shared -p 4 -b "$brokers" >/dev/null
for c in a b; do
  req POST /consumers/sharers "{\"name\":\"$c\",\"format\":\"binary\",\"auto.offset.reset\":\"earliest\"}" >/dev/null
  req POST /consumers/sharers/instances/$c/subscription '{"topics":["shared"]}' >/dev/null
done
assigned() { curl -s "$http/consumers/sharers/instances/$1/assignments" | py 'import json,sys; print(len(json.load(sys.stdin)["partitions"]))'; }
for _ in $(seq 1 60); do  # poll both until the group has settled on two members
  for c in a b; do curl -s "$http/consumers/sharers/instances/$c/records?timeout=100" >/dev/null; done
  [ "$(assigned a) $(assigned b)" = "2 2" ] && break
done
check "partitions split between the two instances" "2 2" "$(assigned a) $(assigned b)"
py 'import json; print(json.dumps({"records":[{"key":"k%d" % i,"value":i} for i in range(40)]}))' > "$work/shared.json"
curl -s -XPOST "$http/topics/shared" --data @"$work/shared.json" >/dev/null
: > "$work/seen.txt"
for _ in $(seq 1 40); do
  for c in a b; do
    curl -s "$http/consumers/sharers/instances/$c/records?timeout=200" |
      py "import json,sys,base64; [print('$c', base64.b64decode(r['value']).decode()) for r in json.load(sys.stdin)]" >> "$work/seen.txt"
  done
  [ "$(wc -l < "$work/seen.txt")" -ge 40 ] && break
done
check "each record once, to one of the two (binary values)" "40 40 2" \
  "$(wc -l < "$work/seen.txt") $(cut -d' ' -f2 "$work/seen.txt" | sort -u | wc -l) $(cut -d' ' -f1 "$work/seen.txt" | sort -u | wc -l)"
check "instances in /metrics" "2" "$(curl -s "$http/metrics" | awk '/^sluice_http_consumer_instances /{print $2}')"

server_stop
server_summary
