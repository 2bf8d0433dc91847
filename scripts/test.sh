#!/usr/bin/env bash
# Installs what is missing, builds sluice twice and runs every test through CTest:
#   build-asan/  clang 16, AddressSanitizer + UndefinedBehaviorSanitizer, libFuzzer targets
#   build/       gcc Release, the configuration users run
# Warnings are errors in both. Each configuration is built, then tested (independent tests two
# at a time; RESOURCE_LOCK keeps apart those that share something), so that a sanitizer report
# stops the run before the second build. The Release run comes last, so CTest's final summary
# line is the Release one; any failure stops the script with a non-zero status.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

jobs=${JOBS:-2}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Paths relative to the checkout, so that a fresh clone in another folder hits the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
# Depend mode: a miss does not run the preprocessor before compiling (with an empty cache, as
# on a fresh machine, that pass made the sanitizer build half as long again).
export CCACHE_DEPEND=${CCACHE_DEPEND:-true}

# clang 16, not Debian's default clang 14: 14 fails on Asio's coroutines with UBSan or debug
# info ("Cannot represent a difference across sections").
# -O0 with line tables only: a cold build of this configuration takes a third of the time it
# takes at -O1 -g (8 instead of ~25 minutes on two cores; the sanitizers' instrumentation of
# optimized code is what costs), its tests run about three times slower, and every report
# still names file and line.
CC=clang-16 CXX=clang++-16 cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE= \
  "-DCMAKE_CXX_FLAGS=-O0 -gline-tables-only" -DSLUICE_SANITIZE=ON -DSLUICE_FUZZ=ON \
  -DSLUICE_WERROR=ON -DSLUICE_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "== tests under ASan+UBSan (build-asan)"
# The fuzzers are independent single-threaded CPU loops: two at a time, after the others.
(cd build-asan && ctest --output-on-failure -j"$jobs" -LE fuzz &&
  ctest --output-on-failure -j"$jobs" -L fuzz)

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSLUICE_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests, Release (build)"
(cd build && ctest --output-on-failure -j"$jobs")
