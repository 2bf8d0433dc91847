#!/usr/bin/env bash
# Work queues over HTTP against a started server: competing consumers get distinct messages
# and together all of them; an unacknowledged lease comes back after its timeout with a
# growing attempt count; a poison message ends in the dead-letter topic (read with kcat) after
# max_deliveries with the reason; reject; per-message delay; a Kafka producer sends to a queue;
# dead letters replayed; and kill -9 keeps every settled message settled and redelivers every
# other one.
set -euo pipefail

source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: queue_test.sh SLUICE}"
server_start

py() { /usr/bin/python3 -c "$@"; }
post() { curl -s -XPOST "$http$1" --data "$2"; }
# receive QUEUE MAX [WAIT_MS [LEASE_MS]] -> one line per message: receipt<TAB>attempt<TAB>value
# (as JSON)
receive() {
  local lease=""
  [ -n "${4:-}" ] && lease=",\"visibility_timeout_ms\":$4"
  post "/v1/queues/$1/receive" "{\"max_messages\":$2,\"wait_ms\":${3:-0}$lease}" |
    py 'import json,sys; [print(m["receipt"], m["attempt"], json.dumps(m["value"], separators=(",",":")), sep="\t") for m in json.load(sys.stdin)["messages"]]'
}
receipts_json() { py 'import json,sys; print(json.dumps({"receipts": [l.split("\t")[0] for l in sys.stdin if l.strip()]}))'; }
values() { cut -f3 | sort | tr '\n' ' ' | sed 's/ $//'; }
stat() { curl -s "$http/v1/queues/$1" | py "import json,sys; print(json.load(sys.stdin)[\"$2\"])"; }

code=$(curl -s -o "$work/r.json" -w '%{http_code}' -XPOST "$http/v1/queues" \
  --data '{"name":"jobs","partitions":3,"visibility_timeout_ms":800,"max_deliveries":3,"backoff_base_ms":100,"backoff_factor":2,"backoff_jitter":0}')
check "create a queue" 201 "$code"
check "create it again: 409" 409 "$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$http/v1/queues" --data '{"name":"jobs"}')"
check "a bad setting: 400 with the reason" "400 unknown queue setting 'colour'" \
  "$(curl -s -w '%{http_code}' -o "$work/e.json" -XPOST "$http/v1/queues" --data '{"name":"q2","colour":"red"}') $(py 'import json; print(json.load(open("'"$work/e.json"'"))["message"])')"
check "unknown queue: 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' -XPOST "$http/v1/queues/nope/receive" --data '{}')"

# ---- competing consumers: 300 messages, three consumers taking 7 at a time, acking each batch
py 'import json; print(json.dumps({"messages":[{"value":{"n":i}} for i in range(300)]}))' > "$work/m.json"
post /v1/queues/jobs/messages @"$work/m.json" > /dev/null
: > "$work/got.txt"
for round in $(seq 1 100); do
  any=0
  for c in a b c; do
    receive jobs 7 > "$work/batch.txt"
    [ -s "$work/batch.txt" ] || continue
    any=1
    sed "s/^/$c\t/" "$work/batch.txt" >> "$work/got.txt"
    post /v1/queues/jobs/ack "$(receipts_json < "$work/batch.txt")" > "$work/ack.json"
    grep -q stale "$work/ack.json" && echo "stale ack: $(cat "$work/ack.json")"
  done
  [ $any = 1 ] || break
done
check "together the consumers got all 300, each once" "300 300" \
  "$(wc -l < "$work/got.txt" | tr -d ' ') $(cut -f4 "$work/got.txt" | sort -u | wc -l | tr -d ' ')"
check "and each consumer got some" 3 "$(cut -f1 "$work/got.txt" | sort -u | wc -l | tr -d ' ')"
check "nothing ready or in flight after the acks" "0 0" "$(stat jobs ready) $(stat jobs in_flight)"

# ---- an expired lease comes back after timeout + backoff, attempt 2, to another consumer
post /v1/queues/jobs/messages '{"messages":[{"value":"slow"}]}' > /dev/null
first=$(receive jobs 1)
start=$(date +%s%N)
again=$(receive jobs 1 5000)
took=$(( ($(date +%s%N) - start) / 1000000 ))
check "redelivered after the lease expired" '2 "slow"' "$(echo "$again" | cut -f2- | tr '\t' ' ')"
if [ "$took" -ge 700 ] && [ "$took" -lt 3000 ]; then ok "after about visibility + backoff ($took ms)"; else fail "redelivery after $took ms"; fi
check "the first receipt is stale now" '{"results":["stale"]}' "$(post /v1/queues/jobs/ack "$(echo "$first" | receipts_json)")"
post /v1/queues/jobs/ack "$(echo "$again" | receipts_json)" > /dev/null

# ---- a poison message: nacked three times, then in the dead-letter topic with the reason
post /v1/queues/jobs/messages '{"messages":[{"value":"poison","headers":{"trace":"t-1"}}]}' > /dev/null
for i in 1 2 3; do
  m=$(receive jobs 1 3000)
  [ -n "$m" ] || { fail "poison delivery $i missing"; break; }
  post /v1/queues/jobs/nack "$(echo "$m" | receipts_json)" > /dev/null
done
sleep 0.5
check "not delivered a fourth time" "" "$(receive jobs 1 600)"
check "dead-lettered with reason and attempts (values are stored as JSON)" '"poison"|trace=t-1|sluice.reason=nacked on delivery 3 of 3|sluice.attempts=3' \
  "$(kcat -b "$brokers" -C -t jobs.dlq -e -q -f '%s|%h\n' | head -1 | py 'import sys; v,h=sys.stdin.read().strip().split("|",1); hs=dict(x.split("=",1) for x in h.split(",")); print("|".join([v, "trace="+hs["trace"], "sluice.reason="+hs["sluice.reason"], "sluice.attempts="+hs["sluice.attempts"]]))')"
check "dead_lettered in the stats" 1 "$(stat jobs dead_lettered)"

# ---- reject goes straight to the dead-letter topic
post /v1/queues/jobs/messages '{"messages":[{"value":"bad input"}]}' > /dev/null
m=$(receive jobs 1 3000)
check "reject answered" '{"results":["ok"]}' \
  "$(post /v1/queues/jobs/reject "{\"receipts\":[\"$(echo "$m" | cut -f1)\"],\"reason\":\"cannot parse\"}")"
check "rejected with its reason" "rejected: cannot parse" \
  "$(kcat -b "$brokers" -C -t jobs.dlq -o 1 -c 1 -e -q -f '%h' | tr ',' '\n' | grep '^sluice.reason=' | cut -d= -f2-)"
check "a made-up receipt" '{"results":["bad_receipt"]}' "$(post /v1/queues/jobs/ack '{"receipts":["x-y"]}')"

# ---- dead letters back into the queue
check "dlq-replay" '{"replayed":2}' "$(post /v1/queues/jobs/dlq-replay '{}')"
receive jobs 10 3000 > "$work/replayed.txt"
check "replayed messages are delivered again" '"bad input" "poison"' "$(values < "$work/replayed.txt")"
post /v1/queues/jobs/ack "$(receipts_json < "$work/replayed.txt")" > /dev/null
check "a second replay finds nothing new" '{"replayed":0}' "$(post /v1/queues/jobs/dlq-replay '{}')"

# ---- delay, and a Kafka producer sending to the queue's topic. These receives take a long
# lease, so that an ack is never late however loaded the machine (the queue's own is 800 ms),
# and the delayed message is looked for wherever it comes once due.
post /v1/queues/jobs/messages '{"messages":[{"value":"later","delay_ms":1500}]}' > /dev/null
check "a delayed message is not ready at once" "" "$(receive jobs 10 300 | grep later || true)"
: > "$work/seen.txt"
receive_and_ack() {
  receive jobs 10 3000 60000 > "$work/k.txt"
  cat "$work/k.txt" >> "$work/seen.txt"
  post /v1/queues/jobs/ack "$(receipts_json < "$work/k.txt")" > /dev/null
}
printf 'from-kcat\n' | kcat -b "$brokers" -P -t jobs -p 1
receive_and_ack
check "a record produced with kcat is a message" '"from-kcat"' "$(grep -v '"later"' "$work/k.txt" | values)"
printf 'bad \xff bytes\n' | kcat -b "$brokers" -P -t jobs -p 1
receive_and_ack
check "bytes that are not UTF-8 come as a valid JSON string" '"bad \ufffd bytes"' \
  "$(grep -v '"later"' "$work/k.txt" | values)"
for _ in 1 2 3 4 5; do
  grep -q '"later"' "$work/seen.txt" && break
  receive_and_ack
done
check "the delayed one after its delay, once" '"later"' "$(grep '"later"' "$work/seen.txt" | values)"

# ---- a topic that grows (CreatePartitions) brings its new partitions into the queue
"$sluice" topic alter jobs --partitions 5 -b "$brokers" > /dev/null
printf 'on-a-new-partition\n' | kcat -b "$brokers" -P -t jobs -p 4
receive jobs 10 3000 > "$work/grown.txt"
check "a message on a partition added later" '"on-a-new-partition"' "$(values < "$work/grown.txt")"
check "its receipt names partition 4" 4 "$(cut -f1 "$work/grown.txt" | cut -d- -f1)"
post /v1/queues/jobs/ack "$(receipts_json < "$work/grown.txt")" > /dev/null

# ---- kill -9: settled messages stay settled, every other one comes back
curl -s -XPOST "$http/v1/queues" --data '{"name":"crash","partitions":2,"visibility_timeout_ms":60000}' > /dev/null
py 'import json; print(json.dumps({"messages":[{"value":"c%d" % i} for i in range(40)]}))' > "$work/c.json"
post /v1/queues/crash/messages @"$work/c.json" > /dev/null
receive crash 40 > "$work/all.txt"
head -25 "$work/all.txt" > "$work/acked.txt"
check "25 acknowledged" 25 "$(post /v1/queues/crash/ack "$(receipts_json < "$work/acked.txt")" | grep -o '"ok"' | wc -l | tr -d ' ')"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
pid=""
server_start
receive crash 100 2000 > "$work/after.txt"
check "after kill -9: exactly the 15 unacknowledged again" \
  "$(tail -15 "$work/all.txt" | values)" "$(values < "$work/after.txt")"
check "as second attempts" 2 "$(cut -f2 "$work/after.txt" | sort -u | tr -d '\n')"
post /v1/queues/crash/ack "$(receipts_json < "$work/after.txt")" > /dev/null
server_stop
server_start
check "after a clean restart nothing is left" "0 0" "$(stat crash ready) $(stat crash in_flight)"
# ---- kill -9 in the middle of work: two consumers receiving and acking in a loop
curl -s -XPOST "$http/v1/queues" --data '{"name":"busy","partitions":3,"visibility_timeout_ms":60000}' > /dev/null
py 'import json; print(json.dumps({"messages":[{"value":"b%d" % i} for i in range(2000)]}))' > "$work/b.json"
post /v1/queues/busy/messages @"$work/b.json" > /dev/null
worker() {  # records a message as acked only once its ack was answered "ok"
  while true; do
    receive busy 20 > "$work/w$1.txt" || break
    [ -s "$work/w$1.txt" ] || continue
    cut -f3 "$work/w$1.txt" > "$work/doubt$1.txt"  # acked or not: the answer may never come
    out=$(post /v1/queues/busy/ack "$(receipts_json < "$work/w$1.txt")") || break
    echo "$out" | py 'import json,sys; print("\n".join(json.load(sys.stdin)["results"]))' > "$work/r$1.txt" || break
    paste "$work/r$1.txt" "$work/w$1.txt" | awk -F'\t' '$1 == "ok" {print $4}' >> "$work/acked-busy.txt"
    : > "$work/doubt$1.txt"
  done
}
: > "$work/acked-busy.txt"
: > "$work/doubt1.txt"
: > "$work/doubt2.txt"
worker 1 & w1=$!
worker 2 & w2=$!
sleep 1.5
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
wait "$w1" "$w2" 2>/dev/null || true
pid=""
server_start
: > "$work/rest-busy.txt"
while true; do
  receive busy 500 500 > "$work/chunk.txt"
  [ -s "$work/chunk.txt" ] || break
  cut -f3 "$work/chunk.txt" >> "$work/rest-busy.txt"
  post /v1/queues/busy/ack "$(receipts_json < "$work/chunk.txt")" > /dev/null
done
acked_n=$(sort -u "$work/acked-busy.txt" | wc -l | tr -d ' ')
if [ "$acked_n" -gt 0 ] && [ "$acked_n" -lt 2000 ]; then ok "killed mid-run after $acked_n acks"; else fail "acked before the kill: $acked_n"; fi
check "no acknowledged message delivered again" 0 \
  "$(sort -u "$work/acked-busy.txt" | comm -12 - <(sort -u "$work/rest-busy.txt") | wc -l | tr -d ' ')"
# A batch whose ack was on its way when the server died may be settled without the worker
# having heard: only those may be missing from both lists.
py 'import json; [print(json.dumps("b%d" % i)) for i in range(2000)]' | sort > "$work/all-busy.txt"
check "acknowledged + delivered again = all 2000 (but an ack in flight at the kill), none lost" 0 \
  "$(sort -u "$work/acked-busy.txt" "$work/rest-busy.txt" | comm -23 "$work/all-busy.txt" - |
     comm -23 - <(sort -u "$work/doubt1.txt" "$work/doubt2.txt") | wc -l | tr -d ' ')"

# ---- the command line
q=("$sluice" queue --http "127.0.0.1:$hport")
check "sluice queue create" "created queue cli" "$("${q[@]}" create cli -p 2 --max-deliveries 2 2>&1)"
printf '{"n":1}\nplain text\n' | "${q[@]}" send cli 2>/dev/null
"${q[@]}" receive cli -n 5 --wait-ms 2000 --ack > "$work/cli.txt"
check "sluice queue receive --ack" 'plain text|{"n":1}' "$(cut -f3 "$work/cli.txt" | LC_ALL=C sort | tr '\n' '|' | sed 's/|$//')"
check "sluice queue stats" "cli 0 0 2" "$("${q[@]}" stats cli | awk 'NR==2 {print $1, $2, $3, $7}')"
# --follow keeps taking messages as they come, until stopped.
"${q[@]}" receive cli --follow --ack -n 1 > "$work/follow.txt" &
follower=$!
"${q[@]}" send cli f1 f2 f3 2>/dev/null
for _ in $(seq 1 100); do [ "$(wc -l < "$work/follow.txt")" -ge 3 ] && break; sleep 0.05; done
kill "$follower"; wait "$follower" 2>/dev/null || true
check "sluice queue receive --follow" "f1 f2 f3" "$(cut -f3 "$work/follow.txt" | sort | tr '\n' ' ' | sed 's/ $//')"
if "${q[@]}" ack cli "$(head -1 "$work/cli.txt" | cut -f1)" > /dev/null; then fail "acking twice should fail"; else ok "acking twice: exit 1 (stale)"; fi
check "queue metrics" 1 "$(curl -s "$http/metrics" | grep -c '^sluice_queue_ready{queue="crash"} 0')"

server_stop
server_summary
