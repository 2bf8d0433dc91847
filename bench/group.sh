#!/usr/bin/env bash
# Consumer-group benchmark: rebalance time of a 10-member group over 100 partitions, and the
# read rate of a 3-member group next to a single consumer on the same data. Not a test.
#   bench/group.sh [RECORDS]   (default 2000000 records of 100 B over 16 partitions)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=ON >/dev/null
cmake --build build -j2 --target sluice log_bench group_bench >/dev/null

records=${1:-2000000}
work=$(mktemp -d /tmp/sluice-group-bench-XXXXXX)
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
B=127.0.0.1:$port
./build/sluice server --data-dir "$work/data" --kafka-addr "$B" --log-level warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
until (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; do sleep 0.05; done

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; server and clients share it"
./build/sluice topic create wide -p 100 -b "$B" >/dev/null
./build/log_bench produce --brokers "$B" --topic wide --records 200000 --size 100 >/dev/null
./build/group_bench rebalance --brokers "$B" --topic wide --members 10 --session-ms 10000 --heartbeat-ms 500
./build/group_bench rebalance --brokers "$B" --topic wide --members 10 --session-ms 45000 --heartbeat-ms 3000

./build/sluice topic create g16 -p 16 -b "$B" >/dev/null
./build/log_bench produce --brokers "$B" --topic g16 --records "$records" --size 100 >/dev/null
single=$(./build/log_bench consume --brokers "$B" --topic g16 --records "$records")
echo "single consumer (assign, no group): $single"
one=$(./build/group_bench throughput --brokers "$B" --topic g16 --members 1 --records "$records")
echo "$one"
three=$(./build/group_bench throughput --brokers "$B" --topic g16 --members 3 --records "$records")
echo "$three"
s=$(echo "$single" | grep -o '[0-9]* records/s' | cut -d' ' -f1)
t=$(echo "$three" | grep -o '[0-9]* records/s' | cut -d' ' -f1)
awk -v t="$t" -v s="$s" 'BEGIN { printf "3-member group / single consumer: %.0f%%\n", 100 * t / s }'
