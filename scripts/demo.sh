#!/usr/bin/env bash
# One command: install what is missing, build, and run the main job: the device inventory, then
# `segcore demo`, a real training run that works offline — it draws a synthetic segmentation
# dataset (PNG images + index masks + dataset spec) into demo-run/, trains a small U-Net on it
# (threaded loader, conv/BN/bilinear autograd, Adam), prints loss, pixel accuracy and mIoU per
# epoch, and saves the model. Extra arguments go to `segcore demo` (e.g. --device cuda).
# Until `segcore train model.json` lands (Training app issue) this is the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
SEGCORE_TARGETS=segcore scripts/build.sh
build_dir=${SEGCORE_BUILD_DIR:-build}
"$build_dir/apps/segcore" devices
"$build_dir/apps/segcore" demo "$@"
