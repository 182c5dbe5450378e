#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, fuzzes every wire
# decoder for a bounded time, then runs every Boost.Test suite with CTest
# (unit tests and integration tests that start real processes on loopback).
#   tools/test.sh            # KEEL_FUZZ_SECONDS=12 per fuzz target by default (the clean build plus all tests must stay under 20 minutes on 2 cores; thirteen targets, two at a time); 0 skips fuzzing
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --with-test-tools
build_dir=${KEEL_BUILD_DIR:-build}

fuzz_seconds=${KEEL_FUZZ_SECONDS:-12}
if [[ "$fuzz_seconds" != 0 && -x tools/run_fuzzers.sh ]]; then
  tools/run_fuzzers.sh "$fuzz_seconds"
fi

# The browser test must run here, not skip (tests/browser/console.test.mjs).
export KEEL_REQUIRE_BROWSER=1
if ! command -v node >/dev/null; then
  echo "test: node is missing, so the console browser test would not run; install nodejs (tools/setup.sh --with-test-tools does)" >&2
  exit 1
fi

cd "$build_dir"
ctest --output-on-failure -j"$(nproc)" --timeout 600
