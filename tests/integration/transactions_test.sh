#!/usr/bin/env bash
# Kafka transactions against a started sluice, with three clients that share no code paths
# for transactions: librdkafka (Debian's python3-confluent-kafka), kcat (read_committed) and
# kafkajs. Then a consume-transform-produce job while the broker is killed (-9) again and
# again: read with read_committed, the output holds each input exactly once.
set -euo pipefail
source "$(dirname "$0")/server_lib.sh"
server_init "${1:?usage: transactions_test.sh PATH_TO_SLUICE}"
here=$(cd "$(dirname "$0")" && pwd)
py() { /usr/bin/python3 "$here/transactions_test.py" "$brokers" "$@"; }

server_start
if py scenarios; then ok "librdkafka transaction scenarios"; else fail "librdkafka transaction scenarios"; fi

# kcat: read_committed skips the aborted records (librdkafka's consumer, configured by kcat).
committed=$(kcat -C -b "$brokers" -t tx-out -e -q -X isolation.level=read_committed -f '%s\n' | grep -c . || true)
everything=$(kcat -C -b "$brokers" -t tx-out -e -q -X isolation.level=read_uncommitted -f '%s\n' | grep -c . || true)
check "kcat read_committed sees the committed records" 150 "$committed"
check "kcat read_uncommitted sees the aborted ones too" 250 "$everything"

# kafkajs: its own transactional producer, sendOffsets and read_committed consumer.
(cd "$here/kafkajs" && npm ci --no-audit --no-fund --silent)
if node "$here/kafkajs/transactions.mjs" "$brokers"; then ok "kafkajs transactions"; else fail "kafkajs transactions"; fi

# kill -9 while a consume-transform-produce job runs. Not every kill breaks a transaction
# (librdkafka retries most requests by itself, a kill may land between two), so what must hold
# is that every kill lands while the job runs (it paces itself to outlast them) and that the
# output is exactly once.
py produce-input crash-in 20000 >/dev/null
kcat -L -b "$brokers" -t crash-out >/dev/null 2>&1 || true
py eos-worker crash-in crash-out 20000 150 0 > "$work/worker.log" 2>&1 &
worker=$!
midjob=0
for round in 1 2 3 4 5; do
  sleep 2
  kill -0 "$worker" 2>/dev/null && midjob=$((midjob + 1))
  kill -9 "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
  server_start
  echo "broker killed and restarted ($round)"
done
check "every broker kill landed while the job ran" 5 "$midjob"
if wait "$worker"; then ok "the worker finished through 5 broker kills"; else fail "the worker finished through 5 broker kills"; cat "$work/worker.log"; fi
grep -E "^(ok|FAIL)" "$work/worker.log" || true
partitions=$(kcat -L -b "$brokers" -t crash-out | grep -c "partition " || true)
if py verify-output crash-out 20000 "$partitions"; then ok "exactly once across kills"; else fail "exactly once across kills"; fi

server_stop
server_summary
