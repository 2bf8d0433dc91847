#!/usr/bin/env bash
# Client quotas on the wire: quota_throttle_test.py sends raw Fetch requests of a new (KIP-219)
# and an old version over a consumer_byte_rate quota and times the answers; kcat consuming
# under the same kind of quota is slowed to it.
set -euo pipefail
source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: quota_throttle_test.sh PATH_TO_SLUICE}"
rate=200000
for c in kip219-new kip219-old kcat-slow; do
  "$sluice" quota set --client-id "$c" --consumer-byte-rate "$rate" --data-dir "$work/data" \
    >/dev/null
done
server_start
head -c 1000 /dev/zero | tr '\0' x > "$work/record"
for _ in $(seq 1 1000); do cat "$work/record"; echo; done |
  kcat -P -b "$brokers" -t quota-t -p 0 -z none -X batch.num.messages=10
if /usr/bin/python3 "$(dirname "$0")/quota_throttle_test.py" "$brokers" quota-t "$rate"; then
  ok "raw Fetch v8 and v4 are throttled as KIP-219 says"
else
  fail "raw Fetch v8 and v4 are throttled as KIP-219 says"
fi
# librdkafka honours throttle_time_ms itself: 1 MB in fetches of 100 kB at 200 kB/s takes about
# 4 s (one second of burst); without the quota it takes well under one.
start=$(date +%s.%N)
n=$(kcat -C -b "$brokers" -t quota-t -e -q -X client.id=kcat-slow -X fetch.max.bytes=100000 \
  -X fetch.message.max.bytes=100000 -X message.max.bytes=100000 | wc -l)
took=$(echo "$(date +%s.%N) - $start" | bc)
check "kcat reads every record under its quota" 1000 "$n"
if [ "$(echo "$took >= 3" | bc)" = 1 ]; then
  ok "kcat is slowed to its quota ($took s for 1 MB at 200 kB/s)"
else
  fail "kcat is slowed to its quota ($took s for 1 MB at 200 kB/s)"
fi
server_stop
server_summary
