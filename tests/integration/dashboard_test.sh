#!/usr/bin/env bash
# The dashboard in a real browser (Debian's Chromium, driven by playwright-core) against a
# started server with a live pipeline: every page loads without console errors, a view's chart
# and table change while records are produced, the SQL console runs statements and streams an
# EMIT CHANGES query, a topic's newest records and a consumer group's lag appear, connectors show
# their state and last error and pause from the page, a cluster-mode node shows its tasks.
set -euo pipefail

source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: dashboard_test.sh SLUICE}"
here=$(cd "$(dirname "$0")/dashboard" && pwd)
(cd "$here" && npm ci --no-audit --no-fund --silent)
server_start

"$sluice" topic create readings -p 2 -b "$brokers" >/dev/null
"$sluice" sql --http "127.0.0.1:$hport" -e "
CREATE STREAM readings (sensor VARCHAR, temperature DOUBLE) WITH (topic = 'readings');
CREATE MATERIALIZED VIEW stats AS
  SELECT sensor, COUNT(*) AS readings, AVG(temperature) AS avg_temp FROM readings GROUP BY sensor;
" >/dev/null
# A consumer group with committed offsets, for the groups page.
printf 's1\t{"sensor":"s1","temperature":20}\n' | "$sluice" produce readings -b "$brokers" -K $'\t' >/dev/null 2>&1
timeout 30 kcat -b "$brokers" -G dashboard-group readings -c 1 -q -o beginning >/dev/null

# Two versions of a subject, for the schemas page.
for extra in '' ',{"name":"unit","type":"string","default":"C"}'; do
  body=$(/usr/bin/python3 -c 'import json,sys; print(json.dumps({"schema": "{\"type\":\"record\",\"name\":\"Reading\",\"fields\":[{\"name\":\"sensor\",\"type\":\"string\"}" + sys.argv[1] + "]}"}))' "$extra")
  curl -sf -H 'Content-Type: application/vnd.schemaregistry.v1+json' -d "$body" \
    "$http/subjects/readings-value/versions" >/dev/null
done

# Connectors, for the connectors page: a webhook sink that delivers, and one whose peer is down.
wport=$(free_port)
/usr/bin/python3 "$(dirname "$0")/connect/webhook_receiver.py" "$wport" "$work/hooks.jsonl" s &
hook_pid=$!
trap 'kill $hook_pid 2>/dev/null; server_cleanup' EXIT
curl -sf -H 'Content-Type: application/json' "$http/connectors" \
  -d "{\"name\":\"hook\",\"config\":{\"connector\":\"webhook\",\"topics\":\"readings\",\"url\":\"http://127.0.0.1:$wport/\"}}" >/dev/null
curl -sf -H 'Content-Type: application/json' "$http/connectors" \
  -d "{\"name\":\"down\",\"config\":{\"connector\":\"webhook\",\"topics\":\"readings\",\"url\":\"http://127.0.0.1:$(free_port)/\",\"retries\":\"0\",\"errors.retry.timeout\":\"0\"}}" >/dev/null

# A cluster-mode node on this server, for the cluster page.
nport=$(free_port)
"$sluice" server --kafka-bootstrap "$brokers" --cluster-name dash --node-id n1 \
  --http-addr "127.0.0.1:$nport" --data-dir "$work/node" --log-level warn &
node_pid=$!
trap 'kill $hook_pid $node_pid 2>/dev/null; server_cleanup' EXIT
wait_ready "http://127.0.0.1:$nport"
"$sluice" sql --http "127.0.0.1:$nport" -e "
CREATE STREAM node_readings (sensor VARCHAR, temperature DOUBLE) WITH (topic = 'readings', key = 'sensor');
CREATE MATERIALIZED VIEW node_stats AS SELECT sensor, COUNT(*) AS readings FROM node_readings GROUP BY sensor;
" >/dev/null

node "$here/dashboard.mjs" "$http" /usr/bin/chromium "http://127.0.0.1:$nport"
kill "$node_pid"
wait "$node_pid" 2>/dev/null || true
server_stop
