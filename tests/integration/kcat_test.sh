#!/usr/bin/env bash
# kcat (librdkafka's command-line client) against a freshly started sluice server:
# every codec, byte-identical round trips, offsets, keys, metadata, and a restart.
set -euo pipefail

sluice=${1:?usage: kcat_test.sh PATH_TO_SLUICE}
work=$(mktemp -d /tmp/sluice-kcat-XXXXXX)
source "$(dirname "$0")/server_lib.sh"  # free_port (this test keeps its own check and cleanup)
port=$(free_port)
brokers=127.0.0.1:$port
hport=$(free_port)
pid=""
failures=0
checks=0

cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start() {
  "$sluice" server --data-dir "$work/data" --kafka-addr "$brokers" --http-addr "127.0.0.1:$hport" \
    --log-level warn &
  pid=$!
  for _ in $(seq 1 200); do
    kcat -b "$brokers" -L -m 1 >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "server did not start"; exit 1
}

stop() {
  kill -TERM "$pid"; wait "$pid" || true; pid=""
}

check() {  # check NAME EXPECTED_FILE ACTUAL_FILE
  checks=$((checks + 1))
  if cmp -s "$2" "$3"; then
    echo "ok   $1"
  else
    echo "FAIL $1"; diff <(head -c 2000 "$2") <(head -c 2000 "$3") | head -10 || true
    failures=$((failures + 1))
  fi
}

start

# Lines with spaces, tabs, unicode and a long value; every codec.
/usr/bin/python3 - "$work/input.txt" <<'PY'
import sys, random
random.seed(7)
with open(sys.argv[1], "w") as f:
    for i in range(3000):
        body = "".join(random.choice("abc xyz\t0123é€") for _ in range(random.randint(0, 300)))
        f.write(f"{i}:{body}\n")
PY
for codec in none gzip snappy lz4 zstd; do
  kcat -b "$brokers" -P -t "kcat-$codec" -z "$codec" -X acks=all -l "$work/input.txt"
  kcat -b "$brokers" -C -t "kcat-$codec" -e -q -f '%s\n' > "$work/out-$codec.txt"
  check "codec $codec round trip" "$work/input.txt" "$work/out-$codec.txt"
done

# Keys, partitions and offsets.
kcat -b "$brokers" -L -t kcat-none -J > /dev/null
seq 1 100 | sed 's/^/k\t/' > "$work/keyed.txt"
kcat -b "$brokers" -P -t kcat-keys -K $'\t' -p 0 -l "$work/keyed.txt"
kcat -b "$brokers" -C -t kcat-keys -p 0 -o 90 -e -q -f '%k=%s@%o\n' > "$work/tail.txt"
seq 91 100 | awk '{printf "k=%d@%d\n", $1, $1 - 1}' > "$work/tail-expected.txt"
check "keys and -o offset" "$work/tail-expected.txt" "$work/tail.txt"

kcat -b "$brokers" -C -t kcat-keys -p 0 -o -5 -e -q -f '%s\n' > "$work/last5.txt"
seq 96 100 > "$work/last5-expected.txt"
check "relative offset -o -5" "$work/last5-expected.txt" "$work/last5.txt"

# Metadata names the topics.
kcat -b "$brokers" -L | grep -o 'topic "kcat-[a-z0-9]*"' | sort > "$work/topics.txt"
printf 'topic "kcat-%s"\n' gzip keys lz4 none snappy zstd | sort > "$work/topics-expected.txt"
check "metadata lists topics" "$work/topics-expected.txt" "$work/topics.txt"

# kcat's balanced consumer (-G): reads everything once, commits, and a second run resumes
# after the committed offsets.
kcat -b "$brokers" -G kcat-group kcat-none -X auto.offset.reset=earliest -e -q -f '%s\n' \
  > "$work/group-1.txt" 2>/dev/null
sort "$work/group-1.txt" > "$work/group-1-sorted.txt"
sort "$work/input.txt" > "$work/input-sorted.txt"
check "kcat -G reads every record" "$work/input-sorted.txt" "$work/group-1-sorted.txt"
printf 'late-1\nlate-2\n' | kcat -b "$brokers" -P -t kcat-none
kcat -b "$brokers" -G kcat-group kcat-none -X auto.offset.reset=earliest -e -q -f '%s\n' \
  > "$work/group-2.txt" 2>/dev/null
printf 'late-1\nlate-2\n' > "$work/group-2-expected.txt"
check "kcat -G resumes from committed offsets" "$work/group-2-expected.txt" "$work/group-2.txt"

# Topic configs change at runtime (AlterConfigs through the CLI), and bad ones are refused.
"$sluice" topic alter kcat-keys -b "$brokers" -c retention.ms=3600000 -c max.message.bytes=5000 >/dev/null
"$sluice" topic describe kcat-keys -b "$brokers" | grep '(set on topic)' > "$work/overrides.txt"
printf '  max.message.bytes=5000 (set on topic)\n  retention.ms=3600000 (set on topic)\n' \
  > "$work/overrides-expected.txt"
check "alter topic configs" "$work/overrides-expected.txt" "$work/overrides.txt"
"$sluice" topic alter kcat-keys -b "$brokers" -c retention.ms=soon 2> "$work/bad-config.txt" || true
echo "error: invalid value 'soon' for retention.ms: not an integer" > "$work/bad-config-expected.txt"
check "invalid config is refused with a message" "$work/bad-config-expected.txt" "$work/bad-config.txt"

# Everything is still there after a restart.
stop
start
kcat -b "$brokers" -C -t kcat-zstd -e -q -f '%s\n' > "$work/again-zstd.txt"
check "codec zstd after restart" "$work/input.txt" "$work/again-zstd.txt"
kcat -b "$brokers" -C -t kcat-none -e -q -f '%s\n' > "$work/again-none.txt"
cat "$work/input.txt" "$work/group-2-expected.txt" > "$work/again-none-expected.txt"
check "codec none after restart" "$work/again-none-expected.txt" "$work/again-none.txt"
kcat -b "$brokers" -G kcat-group kcat-none -e -q -f '%s\n' > "$work/group-3.txt" 2>/dev/null
check "committed offsets survive a restart" /dev/null "$work/group-3.txt"
stop

echo "kcat: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
