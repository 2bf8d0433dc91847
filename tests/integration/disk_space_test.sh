#!/usr/bin/env bash
# Free space as a limit, against the started binary with the data folder's free space faked
# (tests/faults/fake_statvfs.cc, LD_PRELOAD): below --min-free-bytes, Kafka produce is answered
# KAFKA_STORAGE_ERROR (confluent-kafka, kcat, kafkajs), HTTP produce and queue sends 507 with a
# message; reads, group commits and queue acks keep working; the warning is logged once; the
# metrics say so; writes resume by themselves once space is back.
#   disk_space_test.sh SLUICE_BINARY FAKE_STATVFS_LIBRARY
set -uo pipefail
source "$(dirname "$0")/server_lib.sh"
server_init "$1"
(cd "$(dirname "$0")/kafkajs" && npm ci --no-audit --no-fund --silent)
shim=$2
free_file=$work/free
echo $((10 << 30)) > "$free_file"
export SLUICE_FAKE_FREE_FILE=$free_file
# The shim is not instrumented; a sanitizer build must not insist on coming first.
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
LD_PRELOAD=$shim server_start --min-free-bytes $((256 << 20)) > "$work/server.log" 2>&1

py() { /usr/bin/python3 - "$brokers" "$@"; }
produce_code() {  # one record with no retries: the broker's error name, or OK
  py "$1" <<'PY'
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "retries": 0, "message.timeout.ms": 10000,
              "enable.idempotence": False})
out = []
p.produce(sys.argv[2], b"v", on_delivery=lambda e, m: out.append(e.name() if e else "OK"))
p.flush(15)
print(out[0] if out else "NO REPORT")
PY
}

check "produce with room" OK "$(produce_code data)"
curl -s -XPOST "$http/v1/queues" -d '{"name":"jobs"}' >/dev/null
curl -s -XPOST "$http/v1/queues/jobs/messages" -d '{"messages":[{"value":"a"}]}' >/dev/null
received=$(curl -s -XPOST "$http/v1/queues/jobs/receive" -d '{"max_messages":1,"visibility_timeout_ms":60000}')

echo $((100 << 20)) > "$free_file"  # 100 MiB free: below the limit
sleep 1.5

check "produce below the limit" KAFKA_STORAGE_ERROR "$(produce_code data)"
kcat_out=$(echo v | timeout 20 kcat -b "$brokers" -P -t data -X message.send.max.retries=0 \
  -X message.timeout.ms=5000 2>&1)
if grep -qi "disk error\|storage" <<<"$kcat_out"; then ok "kcat is told of a storage error"
else fail "kcat is told of a storage error: $kcat_out"; fi
if node "$(dirname "$0")/kafkajs/storage_error.mjs" "$brokers"; then ok "kafkajs is told KAFKA_STORAGE_ERROR"
else fail "kafkajs is told KAFKA_STORAGE_ERROR"; fi
status=$(curl -s -o "$work/body" -w '%{http_code}' -XPOST "$http/topics/data" \
  -H 'Content-Type: application/vnd.kafka.json.v2+json' -d '{"records":[{"value":1}]}')
check "HTTP produce below the limit" 507 "$status"
if grep -q "below the limit" "$work/body"; then ok "HTTP produce says why"
else fail "HTTP produce says why: $(cat "$work/body")"; fi
status=$(curl -s -o "$work/body" -w '%{http_code}' -XPOST "$http/v1/queues/jobs/messages" \
  -d '{"messages":[{"value":"b"}]}')
check "queue send below the limit" 507 "$status"

# Reads, commits and acks go on.
read_back=$(timeout 20 kcat -b "$brokers" -C -t data -o beginning -e -q 2>/dev/null | wc -l)
check "records still readable" 1 "$read_back"
commit=$(py <<'PY'
import sys
from confluent_kafka import Consumer, TopicPartition
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": "g", "enable.auto.commit": False})
try:
    r = c.commit(offsets=[TopicPartition("data", 0, 1)], asynchronous=False)
    print("OK" if r and r[0].error is None else r)
except Exception as e:
    print(e)
c.close()
PY
)
check "group commit below the limit" OK "$commit"
receipt=$(/usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"][0]["receipt"])' <<<"$received" 2>/dev/null)
acked=$(curl -s -XPOST "$http/v1/queues/jobs/ack" -d "{\"receipts\":[\"$receipt\"]}")
check "queue ack below the limit" '{"results":["ok"]}' "$acked"

metrics=$(curl -s "$http/metrics")
refused=$(awk '/^sluice_writes_refused_total/ {print $2}' <<<"$metrics")
if [ "${refused%.*}" -ge 4 ] 2>/dev/null; then ok "refusals counted ($refused)"
else fail "refusals counted: '$refused'"; fi
check "free space in metrics" $((100 << 20)) "$(awk '/^sluice_disk_free_bytes/ {printf "%d", $2}' <<<"$metrics")"
check "one warning for the transition" 1 "$(grep -c 'refusing writes of user data' "$work/server.log")"

echo $((10 << 30)) > "$free_file"  # space is back
sleep 1.5
check "produce once space is back" OK "$(produce_code data)"
check "warning that writes resume" 1 "$(grep -c 'accepting writes' "$work/server.log")"
server_stop
server_summary
