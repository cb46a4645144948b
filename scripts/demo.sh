#!/usr/bin/env bash
# One command: install what is missing, build, and run the main job. Until the training app
# lands (issue 8) the main job is the foundation demo: the device inventory, then a pixel
# classifier's forward pass computed on every available backend and checked against the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
SEGCORE_TARGETS=segcore scripts/build.sh "$@"
build_dir=${SEGCORE_BUILD_DIR:-build}
"$build_dir/apps/segcore" devices
"$build_dir/apps/segcore" demo
