#!/usr/bin/env bash
# Configures and builds segcore into ${SEGCORE_BUILD_DIR:-build}. Extra arguments go to CMake,
# e.g. scripts/build.sh -DSEGCORE_CUDA=OFF. SEGCORE_TARGETS limits what is built.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${SEGCORE_BUILD_DIR:-build}
jobs=${SEGCORE_JOBS:-$(nproc)}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
# shellcheck disable=SC2086
cmake --build "$build_dir" -j "$jobs" ${SEGCORE_TARGETS:+--target $SEGCORE_TARGETS}
