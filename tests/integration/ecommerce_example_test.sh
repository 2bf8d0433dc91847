#!/usr/bin/env bash
# examples/ecommerce end to end against a started server: generated orders and an inventory
# changelog (upserts and tombstones) go in with kcat, the example's SQL runs as written, and
# every view (stock per product, low stock, revenue per category per minute, bought-together
# top 5 per product per hour) equals what examples/ecommerce/reference.py computes from the
# same events without the engine, though the server is killed (kill -9) halfway through the
# input; the same again after a clean restart.
set -euo pipefail

source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: ecommerce_example_test.sh SLUICE}"
src=$(cd "$(dirname "$0")/../.." && pwd)
example=$src/examples/ecommerce

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

server_start --partitions 3 --sql-checkpoint-interval-ms 500
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
    print(r["sku"] + "\t" + ("" if r.get("deleted") else line.strip()))' "$work/events/inventory.jsonl" \
  > "$work/inventory.keyed"
/usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    print(json.loads(line)["session"] + "\t" + line.strip())' "$work/events/orders.jsonl" \
  > "$work/orders.keyed"
orders=$(wc -l < "$work/orders.keyed")
inventory=$(wc -l < "$work/inventory.keyed")
produce() {  # produce FILE TOPIC FROM_LINE TO_LINE
  sed -n "$3,$4p" "$1" | kcat -b "$brokers" -P -t "$2" -K $'\t' -Z
}
wait_all() {  # wait_all INVENTORY ORDERS: every query has read that much
  wait_read stock "$1"
  wait_read low_stock "$1"
  wait_read revenue "$2"
  wait_read bought_together $((2 * $2))
}

# The first half, then kill -9 (after at least one checkpoint: --sql-checkpoint-interval-ms),
# a restart from the checkpoints, and the second half.
produce "$work/inventory.keyed" shop-inventory 1 $((inventory / 2))
produce "$work/orders.keyed" shop-orders 1 $((orders / 2))
wait_all $((inventory / 2)) $((orders / 2))
sleep 1.5
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=""
server_start --partitions 3 --sql-checkpoint-interval-ms 500
produce "$work/inventory.keyed" shop-inventory $((inventory / 2 + 1)) "$inventory"
produce "$work/orders.keyed" shop-orders $((orders / 2 + 1)) "$orders"
wait_all 1 1
for _ in $(seq 1 100); do  # the queries resumed from their checkpoints: wait for the lag to go
  [ "$(query_field bought_together lag)" = 0 ] && [ "$(query_field stock lag)" = 0 ] && break
  sleep 0.1
done
sleep 2.5  # every source idle (1 s): the final watermark is applied
compare_views " after kill -9 halfway"

server_stop
server_start --partitions 3
sleep 1
compare_views " after a restart"
server_summary
