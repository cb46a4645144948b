#!/usr/bin/env bash
# README command 1: install what is missing, build, and run the main job end to end, offline:
#   1. segcore train configs/demo.json  — draws the synthetic dataset (PNG images, index masks and
#      a dataset spec) into runs/demo-data/ on first use, trains a small U-Net on it (on the GPU
#      when one is visible, else on the CPU), validates every epoch, writes logs, checkpoints and
#      the self-describing best model into a fresh run folder runs/demo-<time>/
#   2. segcore eval    — re-evaluates that model file on the validation split (per-class table,
#      confusion matrix CSV, metrics JSON)
#   3. segcore predict — colour masks, overlays with a legend, entropy and error maps for the
#      validation images
# Extra arguments go to `segcore train` (e.g. --set train.epochs=4, --device cpu).
# docs/tutorial.md explains every step.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
SEGCORE_TARGETS=segcore scripts/build.sh
seg=${SEGCORE_BUILD_DIR:-build}/apps/segcore
"$seg" devices
device=cpu
if "$seg" devices | grep -q '^  cuda:0'; then device=cuda; fi
run=runs/demo-$(date +%Y%m%d-%H%M%S)
"$seg" train configs/demo.json --out "$run" "$@"
"$seg" eval "$run/best_model.safetensors" --device "$device" --out "$run/eval"
"$seg" predict "$run/best_model.safetensors" runs/demo-data/val/images --masks runs/demo-data/val/masks \
    --entropy --device "$device" --out "$run/predictions"
echo
echo "segcore demo: done. Everything is in $run/:"
echo "  best_model.safetensors   the trained model (segcore info / eval / predict take it alone)"
echo "  metrics.csv, log.jsonl   per-epoch validation metrics, per-step training log"
echo "  eval/                    confusion.csv, per_class.csv, metrics.json"
echo "  predictions/             *_color.png, *_overlay.png (with legend), *_entropy.png, *_error.png"
