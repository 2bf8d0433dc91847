#!/usr/bin/env bash
# Start-up time on a data folder of about 1 GiB, after a clean stop and after kill -9.
#   bench/startup.sh [GiB]
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=ON >/dev/null
cmake --build build -j2 --target sluice log_bench >/dev/null

gib=${1:-1}
work=$(mktemp -d /tmp/sluice-startup-XXXXXX)
pid=""
trap '[ -n "$pid" ] && kill -9 $pid 2>/dev/null; rm -rf "$work"' EXIT
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
B=127.0.0.1:$port

elapsed=""
start() {  # sets $elapsed: seconds from exec to the port accepting connections
  local t0; t0=$(date +%s.%N)
  ./build/sluice server --data-dir "$work/data" --kafka-addr "$B" --log-level warn >>"$work/server.log" 2>&1 &
  pid=$!
  until (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do sleep 0.005; done
  elapsed=$(echo "$(date +%s.%N) - $t0" | bc)
}

start
./build/sluice topic create fill -p 4 -b "$B" >/dev/null
records=$((gib * 1024 * 1024 * 1024 / 1100))
./build/log_bench produce --brokers "$B" --topic fill --records "$records" --size 1024 --acks 1 >/dev/null
kill -TERM $pid; wait $pid || true
echo "data folder: $(du -sh "$work/data" | cut -f1), $(find "$work/data" -name '*.log' | wc -l) segment files"
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
start
echo "start after a clean stop (cold cache): $elapsed s"
kill -9 $pid; wait $pid 2>/dev/null || true
sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
start
echo "start after kill -9 (cold cache, every active segment CRC-checked): $elapsed s"
./build/log_bench consume --brokers "$B" --topic fill --records "$records" | sed 's/^/read back: /'
kill -TERM $pid; wait $pid || true; pid=""
