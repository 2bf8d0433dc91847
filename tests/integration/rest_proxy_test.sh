#!/usr/bin/env bash
# Topics over HTTP (Confluent REST Proxy v2 style) against a started server, read back with
# kcat: offsets in the answer, JSON keys and values, Kafka's key partitioning (murmur2, as
# kcat's murmur2 partitioner places the same key), and the REST Proxy's error codes.
set -euo pipefail

source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: rest_proxy_test.sh SLUICE}"
server_start

"$sluice" topic create orders -p 16 -b "$brokers" >/dev/null
check "GET /topics" '["orders"]' "$(curl -s "$http/topics" | sed 's/"__consumer_offsets",//')"
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

server_stop
server_summary
