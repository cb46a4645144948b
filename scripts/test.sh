#!/usr/bin/env bash
# One command: install what is missing, build everything (libraries, tests, benchmarks, apps)
# and run every test suite. CUDA suites report "skipped" when no GPU is visible.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh "$@"
build_dir=${SEGCORE_BUILD_DIR:-build}
ctest --test-dir "$build_dir" --output-on-failure -j "${SEGCORE_JOBS:-$(nproc)}"
