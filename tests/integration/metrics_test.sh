#!/usr/bin/env bash
# GET /metrics against a started server with traffic on every part: the output passes
# `promtool check metrics` (Prometheus' own linter) and its figures match what was done.
set -euo pipefail

source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: metrics_test.sh SLUICE}"
server_start

expect() {  # expect NAME 'sample line prefix' VALUE
  local got
  got=$(grep -F "$2 " "$work/metrics.txt" | head -1 | awk '{print $NF}')
  if [ "$got" = "$3" ]; then ok "$1 ($2 $3)"; else fail "$1: '$2' is '$got', expected $3"; fi
}

curl -sf -XPOST "$http/v1/sql" --data-binary "
  CREATE STREAM readings (device VARCHAR, temp DOUBLE) WITH (topic = 'readings');
  CREATE MATERIALIZED VIEW per_device AS
    SELECT device, COUNT(*) AS n, AVG(temp) AS mean FROM readings GROUP BY device" >/dev/null
for i in $(seq 1 100); do echo "{\"device\":\"d$((i % 4))\",\"temp\":$i}"; done > "$work/in.json"
echo 'not json' >> "$work/in.json"
kcat -b "$brokers" -P -t readings -l "$work/in.json"
timeout 20 kcat -b "$brokers" -G watchers readings -q -e -X auto.offset.reset=earliest >/dev/null 2>&1 || true
curl -s -XPOST "$http/v1/sql" --data-binary "SELEC" >/dev/null
for _ in $(seq 1 100); do
  curl -s "$http/v1/views/per_device" | grep -q '"n":25' && break
  sleep 0.05
done
curl -sf "$http/metrics" > "$work/metrics.txt"

if promtool check metrics < "$work/metrics.txt" > "$work/promtool.txt" 2>&1; then
  ok "promtool check metrics"
else
  fail "promtool check metrics"; cat "$work/promtool.txt"
fi
expect "records appended" 'sluice_partition_records_in_total{topic="readings",partition="0"}' 101
expect "high watermark" 'sluice_partition_high_watermark{topic="readings",partition="0"}' 101
expect "last stable offset (no transactions: the high watermark)" 'sluice_partition_last_stable_offset{topic="readings",partition="0"}' 101
expect "group lag" 'sluice_consumer_group_lag{group="watchers",topic="readings",partition="0"}' 0
expect "committed offset" 'sluice_consumer_group_committed_offset{group="watchers",topic="readings",partition="0"}' 101
expect "query input" 'sluice_query_records_in_total{query="per_device"}' 101
expect "dead letters" 'sluice_query_dead_letters_total{query="per_device"}' 1
expect "view rows" 'sluice_view_rows{view="per_device"}' 4
expect "query running" 'sluice_query_running{query="per_device"}' 1
expect "bad SQL counted" 'sluice_http_requests_total{route="/v1/sql",status="400"}' 1
# The end-to-end latency histogram saw the batches, all of them well under 10 s old.
e2e_count=$(grep -F 'sluice_query_end_to_end_latency_seconds_count{query="per_device"} ' "$work/metrics.txt" | awk '{print $NF}')
e2e_10s=$(grep -F 'sluice_query_end_to_end_latency_seconds_bucket{query="per_device",le="10"} ' "$work/metrics.txt" | awk '{print $NF}')
if [ -n "$e2e_count" ] && [ "$e2e_count" -ge 1 ] && [ "$e2e_10s" = "$e2e_count" ]; then
  ok "end-to-end latency histogram ($e2e_count batches, all under 10 s)"
else
  fail "end-to-end latency histogram: count '$e2e_count', under 10 s '$e2e_10s'"
fi
if grep -q '^sluice_kafka_requests_total{api="Produce"} [1-9]' "$work/metrics.txt" &&
   grep -q '^sluice_kafka_request_duration_seconds_count{api="Fetch"} [1-9]' "$work/metrics.txt" &&
   grep -q '^process_resident_memory_bytes [1-9]' "$work/metrics.txt"; then
  ok "Kafka API and process families"
else
  fail "Kafka API and process families"
fi

# Every query of the shipped Grafana dashboard is valid PromQL and names exported families.
if /usr/bin/python3 - "$(dirname "$0")/../../deploy/grafana/sluice.json" "$work" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
with open(sys.argv[2] + "/rules.yml", "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        e = e.replace("$job", ".*")
        f.write("      - record: dashboard:q%d\n        expr: %s\n" % (i, json.dumps(e)))
names = set(re.findall(r"\b((?:sluice|process)_[a-z_]+)", " ".join(exprs)))
exported = open(sys.argv[2] + "/metrics.txt").read()
missing = [n for n in names if n.replace("_bucket", "") not in exported]
print("dashboard families not exported:", missing if missing else "none")
sys.exit(1 if missing else 0)
PY
then
  promtool check rules "$work/rules.yml" > "$work/rules.txt" 2>&1 && rules_ok=1 || rules_ok=0
else
  rules_ok=0
fi
if [ "$rules_ok" = 1 ]; then
  ok "the Grafana dashboard's queries are valid and use exported families"
else
  fail "Grafana dashboard queries"; cat "$work/rules.txt" 2>/dev/null || true
fi

# Every family the shipped alert rules use is exported.
missing=$(/usr/bin/python3 - "$(dirname "$0")/../../deploy/prometheus/alerts.yml" "$work/metrics.txt" <<'PY'
import re, sys
names = set(re.sub(r"_bucket$", "", n) for n in re.findall(r"\b(sluice_[a-z_]+)", open(sys.argv[1]).read()))
exported = open(sys.argv[2]).read()
print(" ".join(sorted(n for n in names if "# TYPE " + n + " " not in exported)))
PY
)
check "alert rules use exported families" "" "$missing"

server_stop
server_summary
