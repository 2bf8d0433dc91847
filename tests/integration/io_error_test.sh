#!/usr/bin/env bash
# I/O errors on a partition's files, injected with tests/faults/fail_io.cc (LD_PRELOAD): a
# failed fdatasync or write marks the partition failed. Its producers are told
# KAFKA_STORAGE_ERROR (confluent-kafka, kafkajs) and keep being told so after the fault is gone
# (a sync that succeeds after a failed one proves nothing); the other partitions keep serving;
# /ready answers 503 naming it; sluice_partition_failed says 1; what was acknowledged stays
# readable; a restart recovers it.
#   io_error_test.sh SLUICE_BINARY FAULTS_LIBRARY
set -uo pipefail
source "$(dirname "$0")/server_lib.sh"
server_init "$1"
shim=$2
(cd "$(dirname "$0")/kafkajs" && npm ci --no-audit --no-fund --silent)
export SLUICE_FAULT_FILE=$work/fault
export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0
LD_PRELOAD=$shim server_start > "$work/server.log" 2>&1

produce() {  # produce TOPIC N: the broker's answer to N acks=all records, without retries
  /usr/bin/python3 - "$brokers" "$1" "$2" <<'PY'
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1], "retries": 0, "acks": "all",
              "message.timeout.ms": 10000, "enable.idempotence": False})
out = []
for i in range(int(sys.argv[3])):
    p.produce(sys.argv[2], b"v%d" % i, on_delivery=lambda e, m: out.append(e.name() if e else "OK"))
p.flush(15)
print(",".join(sorted(set(out))) if out else "NO REPORT")
PY
}
count() { timeout 20 kcat -b "$brokers" -C -t "$1" -o beginning -e -q 2>/dev/null | wc -l; }

for t in good bad written; do "$1" topic create "$t" -p 1 -b "$brokers" >/dev/null; done
check "acks=all before the fault" OK "$(produce bad 5)"
check "acks=all before the fault (other topic)" OK "$(produce good 5)"

echo "fdatasync EIO topics/bad" > "$work/fault"
check "a failed fdatasync is a storage error" KAFKA_STORAGE_ERROR "$(produce bad 1)"
rm "$work/fault"
check "the partition stays failed once the fault is gone" KAFKA_STORAGE_ERROR "$(produce bad 1)"
if node "$(dirname "$0")/kafkajs/storage_error.mjs" "$brokers" bad; then ok "kafkajs is told KAFKA_STORAGE_ERROR"
else fail "kafkajs is told KAFKA_STORAGE_ERROR"; fi
check "other partitions keep serving" OK "$(produce good 5)"

echo "pwrite ENOSPC topics/written" > "$work/fault"
check "a failed write is a storage error" KAFKA_STORAGE_ERROR "$(produce written 1)"
rm "$work/fault"
check "after a failed write too" KAFKA_STORAGE_ERROR "$(produce written 1)"

ready=$(curl -s -w ' %{http_code}' "$http/ready")
check "/ready is 503" 503 "${ready##* }"
if grep -q '"topic":"bad","partition":0,"error":"fdatasync' <<<"$ready" &&
   grep -q 'Input/output error' <<<"$ready" && grep -q '"topic":"written"' <<<"$ready"; then
  ok "/ready names the failed partitions and errors"
else
  fail "/ready names the failed partitions: $ready"
fi
metrics=$(curl -s "$http/metrics")
check "sluice_partition_failed for bad" 1 \
  "$(awk '/^sluice_partition_failed\{.*topic="bad"/ {print $2}' <<<"$metrics")"
check "sluice_partition_failed for good" 0 \
  "$(awk '/^sluice_partition_failed\{.*topic="good"/ {print $2}' <<<"$metrics")"
if [ "$(count bad)" -ge 5 ]; then ok "acknowledged records still readable"; else fail "acknowledged records readable: $(count bad)"; fi
check "the failure is logged" 1 "$(grep -c 'topics/bad/0: partition failed' "$work/server.log")"

# A restart recovers the partition: what was acknowledged is there, and it takes writes.
kill -9 "$pid"; wait "$pid" 2>/dev/null; pid=""
server_start >> "$work/server.log" 2>&1
check "/ready after a restart" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$http/ready")"
check "acks=all after a restart" OK "$(produce bad 3)"
check "acks=all after a restart (written)" OK "$(produce written 3)"
if [ "$(count bad)" -ge 8 ]; then ok "acknowledged records kept across the restart"; else fail "records after restart: $(count bad)"; fi
server_stop
server_summary
