#!/usr/bin/env bash
# Installs what is missing, builds sluice, and runs it on ./data with a demo pipeline: a
# simulator of temperature sensors producing into the topic `sensors` (which any Kafka client
# can read), live views of them and an anomaly detector, all visible on the dashboard at
# http://127.0.0.1:8080/. Ctrl-C stops everything cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
export CCACHE_DEPEND=${CCACHE_DEPEND:-true}  # no preprocessor pass on a cache miss
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"${JOBS:-2}" --target sluice

addr=${SLUICE_KAFKA_ADDR:-127.0.0.1:9092}
http=${SLUICE_HTTP_ADDR:-127.0.0.1:8080}
./build/sluice server --data-dir "${SLUICE_DATA_DIR:-./data}" --kafka-addr "$addr" \
  --http-addr "$http" &
server=$!
feeder=""
notifier=""
stop() {
  trap - EXIT INT TERM
  [ -n "$feeder" ] && kill -TERM -- -"$feeder" 2>/dev/null || true  # the whole pipeline
  [ -n "$notifier" ] && kill -TERM -- -"$notifier" 2>/dev/null || true
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap stop EXIT INT TERM

for _ in $(seq 1 100); do
  ./build/sluice topic list -b "$addr" >/dev/null 2>&1 && break
  sleep 0.1
done
./build/sluice topic create sensors -p 4 -b "$addr" 2>/dev/null || true

# Continuous SQL over the feed (kept across restarts; IF NOT EXISTS makes a rerun a no-op):
# live per-sensor statistics, 5-second windows per sensor, and anomalies - a reading far
# from its sensor's average over a 30-second window that hops every 5 seconds - kept as a
# view and written to the topic 'alerts'.
./build/sluice sql --http "$http" -e "
CREATE STREAM IF NOT EXISTS sensors (sensor VARCHAR, seq BIGINT, temperature DOUBLE, ts TIMESTAMP)
  WITH (topic = 'sensors', timestamp = 'ts', watermark = 'ts - INTERVAL ''1'' SECOND');
CREATE MATERIALIZED VIEW IF NOT EXISTS sensor_stats AS
  SELECT sensor, COUNT(*) AS readings, AVG(temperature) AS avg_temp, MIN(temperature) AS min_temp,
         MAX(temperature) AS max_temp, MAX(ts) AS last_seen
  FROM sensors GROUP BY sensor;
CREATE MATERIALIZED VIEW IF NOT EXISTS sensor_windows WITH (max_rows = '2000') AS
  SELECT sensor, window_start, window_end, AVG(temperature) AS avg_temp, STDDEV(temperature) AS sd
  FROM TABLE(TUMBLE(TABLE sensors, DESCRIPTOR(ts), INTERVAL '5' SECOND))
  GROUP BY window_start, window_end, sensor;
CREATE MATERIALIZED VIEW IF NOT EXISTS anomalies WITH (max_rows = '1000') AS
  SELECT sensor, window_start, window_end, MAX(temperature) AS reading, AVG(temperature) AS avg_temp,
         STDDEV(temperature) AS sd, COUNT(*) AS readings
  FROM TABLE(HOP(TABLE sensors, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '30' SECOND))
  GROUP BY window_start, window_end, sensor
  HAVING MAX(temperature) - AVG(temperature) > 4 * STDDEV(temperature);
CREATE SINK IF NOT EXISTS anomaly_alerts INTO TOPIC 'alerts' AS
  SELECT sensor, window_start, window_end, MAX(temperature) AS reading, AVG(temperature) AS avg_temp
  FROM TABLE(HOP(TABLE sensors, DESCRIPTOR(ts), INTERVAL '5' SECOND, INTERVAL '30' SECOND))
  GROUP BY window_start, window_end, sensor
  HAVING MAX(temperature) - AVG(temperature) > 4 * STDDEV(temperature);
" >/dev/null

# The alerts are also a work queue: a notifier (here `sluice queue receive --follow --ack`)
# takes each one exactly once, and unacknowledged ones would come back.
./build/sluice queue --http "$http" create alerts --visibility-timeout-ms 10000 >/dev/null 2>&1 || true

# The sensor simulator: 10 sensors, a reading each every 200 ms, keyed by sensor id. Each
# sensor has its own level, a slow drift and noise; about one reading in 300 is a spike of
# 8-14 degrees, which the anomaly query flags. It runs in its own process group (set -m) so
# that stop() can end all of it.
set -m
(
  n=0
  while true; do
    now=$(date +%s%3N)
    drift=$(( (n % 600 < 300 ? n % 600 : 600 - n % 600) / 15 ))  # 0..20 tenths, over 2 minutes
    for s in 0 1 2 3 4 5 6 7 8 9; do
      tenths=$(( 200 + s * 12 + drift + RANDOM % 21 - 10 ))
      (( RANDOM % 300 == 0 )) && tenths=$(( tenths + 80 + RANDOM % 61 ))
      printf 'sensor-%d\t{"sensor":"sensor-%d","seq":%d,"temperature":%d.%d,"ts":%s}\n' \
        "$s" "$s" "$n" $((tenths / 10)) $((tenths % 10)) "$now"
    done
    n=$((n + 1))
    sleep 0.2
  done | ./build/sluice produce sensors -b "$addr" -K $'\t' --acks 1 2>/dev/null
) &
feeder=$!
(
  while true; do
    ./build/sluice queue --http "$http" receive alerts --follow --ack -n 10 >/dev/null 2>&1 || sleep 1
  done
) &
notifier=$!
set +m

cat <<TXT

sluice is running: Kafka protocol on $addr, HTTP API on $http, data in ${SLUICE_DATA_DIR:-./data}.
A simulator is writing sensor readings to the topic 'sensors', and SQL queries keep live views
of them and flag anomalies.

  Dashboard:  http://$http/
              http://$http/#/views/sensor_windows       (5-second averages per sensor, live)
              http://$http/#/views/anomalies            (readings far from their window's average)
              http://$http/#/queues                     (the alerts as a work queue)

In another terminal:

  curl -s http://$http/v1/views/sensor_stats                 # live per-sensor statistics
  curl -sN http://$http/v1/views/sensor_stats/events         # ... pushed as they change (SSE)
  curl -s http://$http/metrics | grep sluice_query           # Prometheus metrics
  ./build/sluice sql --http $http -e "SELECT * FROM sensor_windows ORDER BY window_end DESC LIMIT 5"
  ./build/sluice sql --http $http -e "SHOW QUERIES"
  ./build/sluice consume alerts --from end                   # anomalies as they are found
  ./build/sluice queue stats                                 # the alerts queue: ready, in flight, acked
  ./build/sluice consume sensors --from end --print-key      # follow the feed
  ./build/sluice sql --http $http                            # an SQL prompt (docs/sql.md)

Press Ctrl-C to stop.
TXT
wait "$server"
