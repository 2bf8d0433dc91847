#!/usr/bin/env bash
# Installs what is missing, builds sluice twice and runs every test through CTest:
#   build-asan/  clang 16, AddressSanitizer + UndefinedBehaviorSanitizer, libFuzzer targets
#   build/       gcc Release, the configuration users run
# Warnings are errors in both. The Release run comes last, so CTest's final summary line
# is the Release one; any failure in either stops the script with a non-zero status.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh

jobs=${JOBS:-2}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Paths relative to the checkout, so that a fresh clone in another folder hits the cache.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}

# clang 16, not Debian's default clang 14: 14 fails on Asio's coroutines with UBSan or debug
# info ("Cannot represent a difference across sections").
CC=clang-16 CXX=clang++-16 cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE= \
  "-DCMAKE_CXX_FLAGS=-O1 -g" -DSLUICE_SANITIZE=ON -DSLUICE_FUZZ=ON -DSLUICE_WERROR=ON \
  -DSLUICE_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs"

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DSLUICE_WERROR=ON >/dev/null
cmake --build build -j"$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "== tests under ASan+UBSan (build-asan)"
# The fuzzers are independent single-threaded CPU loops: two at a time.
(cd build-asan && ctest --output-on-failure -j1 -LE fuzz && ctest --output-on-failure -j2 -L fuzz)
echo "== tests, Release (build)"
(cd build && ctest --output-on-failure -j1)
