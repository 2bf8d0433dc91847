#!/usr/bin/env bash
# examples/ecommerce end to end against a started server: generated orders and an inventory
# changelog (upserts and tombstones) go in with kcat, the example's SQL runs as written, and
# every view (stock per product, low stock, revenue per category per minute, bought-together
# top 5 per product per hour) equals what examples/ecommerce/reference.py computes from the
# same events without the engine; the same after a restart.
set -euo pipefail

source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: ecommerce_example_test.sh SLUICE}"
src=$(cd "$(dirname "$0")/../.." && pwd)
example=$src/examples/ecommerce

query_field() {
  curl -s -XPOST "$http/v1/sql" --data-binary "SHOW QUERIES" | /usr/bin/python3 -c '
import json, sys
rows = json.load(sys.stdin)["results"][0]["rows"]
print([r for r in rows if r["name"] == sys.argv[1]][0][sys.argv[2]])' "$1" "$2"
}
wait_read() {  # wait_read QUERY N
  for _ in $(seq 1 600); do
    if [ "$(query_field "$1" lag)" = 0 ] && [ "$(query_field "$1" records_in)" -ge "$2" ]; then
      return 0
    fi
    sleep 0.1
  done
  fail "query $1 did not read $2 records"
  return 1
}
compare_views() {
  for v in stock low_stock revenue bought_together; do
    curl -s "$http/v1/views/$v" > "$work/$v.json"
    if /usr/bin/python3 "$example/reference.py" "$work/events" "$v" "$work/$v.json"; then
      ok "$v equals the reference${1:-}"
    else
      fail "$v${1:-}"
    fi
  done
}

server_start --partitions 3
mkdir -p "$work/events"
/usr/bin/python3 "$example/generate.py" "$work/events" --orders 2000 --seed 5
curl -sf -XPOST "$http/v1/sql" --data-binary "@$example/shop.sql" > /dev/null
ok "the example's SQL runs as written"

# Inventory keyed by SKU (a deleted SKU is a tombstone: -Z sends the empty value as null);
# orders keyed by session, so that a session's orders stay in order on one partition.
/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["sku"] + "\t" + ("" if r.get("deleted") else line.strip()))' "$work/events/inventory.jsonl" |
  kcat -b "$brokers" -P -t shop-inventory -K $'\t' -Z
/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    print(json.loads(line)["session"] + "\t" + line.strip())' "$work/events/orders.jsonl" |
  kcat -b "$brokers" -P -t shop-orders -K $'\t'
orders=$(wc -l < "$work/events/orders.jsonl")
inventory=$(wc -l < "$work/events/inventory.jsonl")
wait_read stock "$inventory"
wait_read low_stock "$inventory"
wait_read revenue "$orders"
wait_read bought_together $((2 * orders))
sleep 2.5  # every source idle (1 s): the final watermark is applied
compare_views

server_stop
server_start --partitions 3
sleep 1
compare_views " after a restart"
server_summary
