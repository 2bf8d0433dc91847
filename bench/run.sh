#!/usr/bin/env bash
# Log benchmark: sluice (Kafka protocol, librdkafka client) next to redis-server (XADD via
# redis-benchmark) and nats-server JetStream (the npm `nats` client), all on loopback on this
# machine, benchmark clients included. Prints figures and ratios; not a test.
#
#   bench/run.sh [RECORDS]      (default 2000000 for the 100 B runs)
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh --bench
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSLUICE_BENCH=ON >/dev/null
cmake --build build -j2 --target sluice log_bench >/dev/null
(cd bench/peers && npm ci --no-audit --no-fund --silent)

records=${1:-2000000}
work=$(mktemp -d /tmp/sluice-bench-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened"; exit 1; }
field() { grep -o "[0-9.]* $1" | head -1 | cut -d' ' -f1; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, $(uname -r); $(date -u +%F)"
echo "disk: $(df -h "$work" | awk 'NR==2{print $1" "$2}')"
echo

# ---------------------------------------------------------------- sluice
port=$(free_port)
./build/sluice server --data-dir "$work/sluice" --kafka-addr 127.0.0.1:$port --log-level warn &
spid=$!; pids+=("$spid")
wait_port "$port"
sleep 0.5
idle_kb=$(awk '/VmHWM/{print $2}' /proc/$spid/status)
B=127.0.0.1:$port
for t in p16 p16k p1 all16 lat; do
  parts=16; [ "$t" = p1 ] && parts=1
  ./build/sluice topic create "$t" -p "$parts" -b "$B" >/dev/null
done
echo "== sluice"
echo "idle server peak RSS: $((idle_kb / 1024)) MB"
s_p100=$(./build/log_bench produce --brokers "$B" --topic p16 --records "$records" --size 100 --acks 1); echo "$s_p100"
s_c100=$(./build/log_bench consume --brokers "$B" --topic p16 --records "$records"); echo "$s_c100"
./build/log_bench produce --brokers "$B" --topic p1 --records "$records" --size 100 --acks 1
./build/log_bench consume --brokers "$B" --topic p1 --records "$records"
./build/log_bench produce --brokers "$B" --topic p16k --records $((records / 4)) --size 1024 --acks 1
./build/log_bench consume --brokers "$B" --topic p16k --records $((records / 4))
s_all=$(./build/log_bench produce --brokers "$B" --topic all16 --records "$records" --size 100 --acks all); echo "$s_all"
./build/log_bench produce --brokers "$B" --topic all16 --records $((records / 4)) --size 1024 --acks all
s_lat=$(./build/log_bench produce --brokers "$B" --topic lat --records 250000 --size 100 --acks all --rate 50000 --linger 1); echo "$s_lat"
busy_kb=$(awk '/VmHWM/{print $2}' /proc/$spid/status)
echo "server peak RSS after the runs: $((busy_kb / 1024)) MB"
kill -INT "$spid"; wait "$spid" || true
echo

# ---------------------------------------------------------------- redis
rport=$(free_port)
redis-server --port "$rport" --save "" --appendonly yes --appendfsync everysec --dir "$work" \
  --daemonize no >/dev/null &
pids+=("$!")
wait_port "$rport"
value=$(head -c 100 /dev/zero | tr '\0' x)
echo "== redis-server $(redis-server --version | grep -o 'v=[0-9.]*') (AOF everysec), XADD 100 B, 50 clients, pipeline 64; read back by one client with XRANGE COUNT 10000"
r_out=$(redis-benchmark -p "$rport" -n "$records" -c 50 -P 64 -q XADD bench '*' v "$value" 2>&1 | tr '\r' '\n' | grep -a 'requests per second' | tail -1)
echo "$r_out"
r_p100=$(echo "$r_out" | grep -o '[0-9.]* requests per second' | cut -d' ' -f1)
r_read=$(node bench/peers/redis_read_bench.mjs "$rport" bench "$records"); echo "$r_read"
r_c100=$(echo "$r_read" | field 'records/s')
echo

# ---------------------------------------------------------------- nats
nport=$(free_port)
nats-server -js -sd "$work/nats" -p "$nport" >/dev/null 2>&1 &
pids+=("$!")
wait_port "$nport"
echo "== nats-server $(nats-server --version 2>&1 | grep -o 'v[0-9][0-9.]*' | head -1) JetStream (file storage), 100 B, window of 2048 unacknowledged publishes"
n_out=$(node bench/peers/jetstream_bench.mjs "127.0.0.1:$nport" $((records / 4)) 100); echo "$n_out"
n_p100=$(echo "$n_out" | grep '^produce' | field 'records/s')
n_c100=$(echo "$n_out" | grep '^consume' | field 'records/s')
echo

# ---------------------------------------------------------------- summary
s_p=$(echo "$s_p100" | field 'records/s'); s_c=$(echo "$s_c100" | field 'records/s')
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "n/a" }'; }
echo "== summary (100 B records, 16 partitions for sluice)"
printf '%-34s %12s %12s %12s\n' "" sluice redis nats
printf '%-34s %12s %12s %12s\n' "produce records/s (acks=1)" "$s_p" "${r_p100%.*}" "$n_p100"
printf '%-34s %12s %12s %12s\n' "consume records/s" "$s_c" "$r_c100" "$n_c100"
echo "sluice vs redis: produce $(ratio "$s_p" "$r_p100"), consume $(ratio "$s_c" "$r_c100")"
echo "sluice vs nats:  produce $(ratio "$s_p" "$n_p100"), consume $(ratio "$s_c" "$n_c100")"
echo "sluice acks=all produce: $(echo "$s_all" | field 'records/s') records/s"
echo "sluice acks=all at 50000 records/s: $(echo "$s_lat" | grep -o 'p50=.*')"
echo "sluice idle peak RSS: $((idle_kb / 1024)) MB, after the runs: $((busy_kb / 1024)) MB"
echo "(max-rate produce latencies include time queued in the client; the 50000 records/s run shows the service latency)"
