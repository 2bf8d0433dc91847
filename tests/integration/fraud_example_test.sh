#!/usr/bin/env bash
# examples/fraud end to end against a started server: generated payments and accounts go in
# with kcat, the example's SQL runs as written, and every view (velocity windows, impossible
# travel, flagged cards) and the alerts topic equal what examples/fraud/reference.py computes
# from the same events without the engine; the alerts topic is also a work queue that hands
# out each alert once; the views are the same after a restart.
set -euo pipefail

source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: fraud_example_test.sh SLUICE}"
src=$(cd "$(dirname "$0")/../.." && pwd)
example=$src/examples/fraud

compare() {  # compare VIEW FILE
  if /usr/bin/python3 "$example/reference.py" "$work/events" "$1" "$2"; then
    ok "$1 equals the reference"
  else
    fail "$1"
  fi
}

server_start --partitions 3
mkdir -p "$work/events"
/usr/bin/python3 "$example/generate.py" "$work/events" --payments 3000 --seed 11
"$sluice" topic create fraud-accounts -b "$brokers" -p 1 -c cleanup.policy=compact > /dev/null
curl -sf -XPOST "$http/v1/sql" --data-binary "@$example/fraud.sql" > /dev/null
ok "the example's SQL runs as written"

# Keyed by card: a card's payments stay in order on one partition; accounts compact by card.
keyed() { /usr/bin/python3 -c '
import json, sys
for line in open(sys.argv[1]):
    print(json.loads(line)["card"] + "\t" + line.strip())' "$1"; }
keyed "$work/events/accounts.jsonl" | kcat -b "$brokers" -P -t fraud-accounts -K $'\t'
keyed "$work/events/tx.jsonl" | kcat -b "$brokers" -P -t fraud-tx -K $'\t'
tx=$(wc -l < "$work/events/tx.jsonl")
accounts=$(wc -l < "$work/events/accounts.jsonl")
wait_read fraud_velocity "$tx"
wait_read fraud_travel $((2 * tx))
wait_read insert_alerts $((tx + accounts))
sleep 2.5  # every source idle (1 s): the final watermark is applied
alerts=$(kcat -b "$brokers" -C -t fraud-alerts -e -q | wc -l)
wait_read flagged_cards "$alerts"

for v in fraud_velocity fraud_travel flagged_cards; do
  curl -s "$http/v1/views/$v" > "$work/$v.json"
  compare "$v" "$work/$v.json"
done
kcat -b "$brokers" -C -t fraud-alerts -e -q -f '%s\n' > "$work/alerts.out"
compare alerts "$work/alerts.out"

# A sink of a retracting join without unique keys (a LEFT join of streams): every record key
# is the joined row, named by qualified columns (a tombstone names the row it retracts).
curl -sf -XPOST "$http/v1/sql" --data-binary "CREATE SINK next_payment INTO TOPIC 'fraud-next' AS
  SELECT a.id, b.id AS next_id FROM tx a LEFT JOIN tx b ON a.card = b.card AND b.id = a.id + 1" \
  > /dev/null
wait_read next_payment $((2 * tx))
kcat -b "$brokers" -C -t fraud-next -e -q -f '%k\n' > "$work/next.keys"
check "no empty record key" 0 "$(grep -c -v '"a.id":' "$work/next.keys" || true)"
check "a record key per joined or padded row" 1 \
  "$(( $(sort -u "$work/next.keys" | wc -l) > tx ))"

# The alerts topic as a work queue: every alert handed out once.
curl -sf -XPOST "$http/v1/queues" --data '{"name":"fraud-alerts","visibility_timeout_ms":60000}' \
  > /dev/null
got=0
for _ in $(seq 1 20); do
  n=$(curl -s -XPOST "$http/v1/queues/fraud-alerts/receive" \
        --data '{"max_messages":100,"wait_ms":200}' |
      /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["messages"]))')
  got=$((got + n))
  [ "$n" = 0 ] && break
done
check "the alerts queue hands out each alert once" "$alerts" "$got"

# After a restart the views come back from their checkpoints, unchanged.
server_stop
server_start --partitions 3
sleep 1
for v in fraud_velocity fraud_travel flagged_cards; do
  curl -s "$http/v1/views/$v" > "$work/$v.json"
  compare "$v" "$work/$v.json"
done
server_summary
