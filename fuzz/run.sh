#!/usr/bin/env bash
# The long fuzzing runs, by hand (CI runs each fuzzer 45 s from the kept corpus): builds the
# fuzzers (build-asan, as scripts/test.sh configures it), runs each for SECONDS from its corpus
# in fuzz/corpus/, then merges what it found back into that folder, minimized (-merge=1), so
# that the next run and CI start from it. Crashes are left in the current folder (crash-*,
# oom-*, timeout-*) and end the run with a non-zero status.
#   fuzz/run.sh [SECONDS] [kafka_request|sql|decoders|log ...]   (default 3600, all four)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-3600}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(kafka_request sql decoders log)
declare -A binary=([kafka_request]=kafka_request_fuzzer [sql]=sql_parser_fuzzer
  [decoders]=decoders_fuzzer [log]=log_fuzzer)
declare -A max_len=([kafka_request]=65536 [sql]=65536 [decoders]=65536 [log]=4096)

CC=clang-16 CXX=clang++-16 cmake -S "$root" -B "$root/build-asan" -G Ninja -DCMAKE_BUILD_TYPE= \
  "-DCMAKE_CXX_FLAGS=-O1 -g" -DSLUICE_SANITIZE=ON -DSLUICE_FUZZ=ON -DSLUICE_WERROR=ON \
  -DSLUICE_BENCH=OFF >/dev/null
status=0
for t in "${targets[@]}"; do
  bin=${binary[$t]:?unknown fuzzer $t}
  cmake --build "$root/build-asan" -j2 --target "$bin" >/dev/null
  corpus=$root/fuzz/corpus/$t
  found=$(mktemp -d)
  echo "== $bin for $seconds s from $(ls "$corpus" | wc -l) inputs"
  "$root/build-asan/fuzz/$bin" -max_total_time="$seconds" -rss_limit_mb=4096 \
    -max_len="${max_len[$t]}" -print_final_stats=1 "$found" "$corpus" 2>&1 |
    grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|ERROR|SUMMARY" || status=1
  merged=$(mktemp -d)
  "$root/build-asan/fuzz/$bin" -merge=1 -max_len="${max_len[$t]}" "$merged" "$corpus" "$found" \
    >/dev/null 2>&1 || status=1
  if [ "$(ls "$merged" | wc -l)" -gt 0 ]; then
    rm -f "$corpus"/*
    cp "$merged"/* "$corpus"/
  fi
  echo "   corpus now $(ls "$corpus" | wc -l) inputs"
  rm -rf "$found" "$merged"
done
exit $status
