#!/usr/bin/env bash
# Transactions, measured side by side in one run against one sluice server:
#   - transactional produce (100 B records, 16 partitions, 1000 records a transaction, and
#     larger transactions) against an idempotent producer with acks=all (the target: >= 70%
#     of its rate);
#   - the commit (EndTxn) latency, p50/p99 (target p99 < 5 ms);
#   - read_committed consume of the transactional topic against read_uncommitted (>= 90%).
#
#   bench/transactions.sh [RECORDS]     (default 2000000; build/ must hold sluice and the benches)
#   SLUICE_FLAGS="--sync-filesystem" bench/transactions.sh ...   (server flags)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build}
records=${1:-2000000}
source "$root/bench/server.sh"
bench_server txn ${SLUICE_FLAGS:-}
brokers=127.0.0.1:$kport
for t in idem txn; do
  "$build/sluice" topic create "$t" --partitions 16 --brokers "$brokers" >/dev/null
done
echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
idem=$("$build/txn_bench" --brokers "$brokers" --topic idem --records "$records" --idempotent)
echo "$idem"
rate() { echo "$1" | grep -o '[0-9]* records/s' | head -1 | cut -d' ' -f1; }
# One transactional producer, as the target states it (1000 records a transaction), then
# larger transactions: a single producer runs one transaction at a time, so its rate is
# bounded by the per-transaction round trips (AddPartitionsToTxn, the records, EndTxn).
for per in 1000 10000 100000; do
  txn=$("$build/txn_bench" --brokers "$brokers" --topic txn --records "$records" --per-txn "$per")
  echo "$txn"
  echo "  transactional ($per a transaction) / idempotent: $(echo "scale=2; $(rate "$txn") / $(rate "$idem")" | bc)"
done

# Several transactional producers at once (Kafka Streams runs one per task): their
# transactions' round trips overlap, and the broker's group commit shares each fsync.
for producers in 4 8; do
  txn=$("$build/txn_bench" --brokers "$brokers" --topic txn --records "$records" --per-txn 1000 \
    --producers "$producers")
  echo "$txn"
  echo "  $producers transactional producers (1000 a transaction) / idempotent: $(echo "scale=2; $(rate "$txn") / $(rate "$idem")" | bc)"
done

unc=$("$build/log_bench" consume --brokers "$brokers" --topic txn --records "$records" \
  -X isolation.level=read_uncommitted)
com=$("$build/log_bench" consume --brokers "$brokers" --topic txn --records "$records" \
  -X isolation.level=read_committed)
echo "read_uncommitted: $unc"
echo "read_committed:   $com"
echo "read_committed / read_uncommitted: $(echo "scale=2; $(rate "$com") / $(rate "$unc")" | bc)"
