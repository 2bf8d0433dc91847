#!/usr/bin/env bash
# acks=all latency with and without a noisy neighbour: a producer at 50,000 records/s with
# acks=all, alone and while another producer writes 1 KiB records with acks=1 as fast as it can
# into other topics, for each sync strategy (each partition's files, the default; the whole
# file system with --sync-filesystem).
#   bench/noisy_neighbour.sh [SECONDS]   (default 5: 50,000 records/s for that long)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
cmake --build "$build" --target sluice log_bench >/dev/null
source "$root/bench/server.sh"
seconds=${1:-5}
records=$((50000 * seconds))
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; disk: $(df -h /tmp | awk 'NR==2{print $1" "$2}')"
for strategy in files filesystem; do
  flags=(--partitions 16)
  [ "$strategy" = filesystem ] && flags+=(--sync-filesystem)
  bench_server noisy "${flags[@]}"
  B=127.0.0.1:$kport
  for t in lat bulk; do "$build/sluice" topic create "$t" -p 16 -b "$B" >/dev/null; done
  alone=$("$build/log_bench" produce --brokers "$B" --topic lat --records "$records" --size 100 \
    --acks all --rate 50000 --linger 1)
  # (log_bench keeps two timestamps per record: 100 M records took seconds of allocation before
  # the first send, and the latency run went by almost alone.)
  "$build/log_bench" produce --brokers "$B" --topic bulk --records 30000000 --size 1024 \
    --acks 1 >/dev/null 2>&1 &
  noisy_pid=$!
  # Until the neighbour writes at full speed and has dirtied the page cache (200 MB).
  for _ in $(seq 1 100); do
    [ "$(du -sm "$work/data" | cut -f1)" -ge 200 ] && break
    sleep 0.1
  done
  start_mb=$(du -sm "$work/data" | cut -f1)
  noisy=$("$build/log_bench" produce --brokers "$B" --topic lat --records "$records" --size 100 \
    --acks all --rate 50000 --linger 1)
  bulk_mb=$(du -sm "$work/data" | cut -f1)
  kill "$noisy_pid" 2>/dev/null || true
  wait "$noisy_pid" 2>/dev/null || true
  echo "sync $strategy: acks=all at 50000/s alone:              ${alone#*records/s}"
  echo "sync $strategy: same while acks=1 writes at full speed: ${noisy#*records/s}  (the neighbour wrote $((bulk_mb - start_mb)) MB meanwhile)"
  bench_cleanup
  trap - EXIT
done
