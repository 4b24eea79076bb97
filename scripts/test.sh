#!/usr/bin/env bash
# Quick start (2): install what is missing, build, and run every test:
#   1. the release build: unit, conformance and integration tests (ctest);
#   2. the unit tests again, built with AddressSanitizer + UndefinedBehaviorSanitizer.
# Integration tests start real Debian services (prometheus, alertmanager,
# redis-server, celery) on free loopback ports and stop them by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
jobs=$(nproc)

echo "== release build"
scripts/build.sh build -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd build && ctest --output-on-failure -j "$jobs" --timeout 900)

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build (unit tests)"
scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DAMAS_SANITIZE=ON -DAMAS_BUILD_BENCH=OFF
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j "$jobs" -L unit --timeout 900)
