#!/usr/bin/env bash
# segcore against PyTorch on the CPU: `segcore bench` and bench/torch/bench_train_torch.py on the same
# model, input and thread count, one after the other, RUNS times (this VM is noisy: alternating the
# two spreads a burst of background load over both), then a Markdown table of images/s and the
# ratio segcore / PyTorch per run.
#
#   bench/torch/compare_train.sh build/apps/segcore            # ENet, 360x480, batch 4, 2 threads, train
#   MODE=both RUNS=5 bench/torch/compare_train.sh build/apps/segcore
#
# The first argument is the segcore executable (or any binary with the `bench` subcommand). Settings
# come from the environment: MODEL (a name both sides know: enet, unet, fcn, deeplabv3,
# deeplabv3plus, pspnet, segnet, fastsegnet), CLASSES, SIZE, BATCH, THREADS, WARMUP, ITERS,
# MODE (train, infer or both), RUNS, PYTHON. The load average before each pair is printed: other
# processes on the cores make both numbers (and the ratio) unreliable.
set -euo pipefail

SEGCORE=${1:?usage: compare_train.sh path/to/segcore}
MODEL=${MODEL:-enet}
CLASSES=${CLASSES:-11}
SIZE=${SIZE:-360x480}
BATCH=${BATCH:-4}
THREADS=${THREADS:-2}
WARMUP=${WARMUP:-2}
ITERS=${ITERS:-10}
MODE=${MODE:-train}
RUNS=${RUNS:-3}
PYTHON=${PYTHON:-/usr/bin/python3}
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# segcore's model of the same name, with the same class count (the registry's defaults otherwise,
# which the twins mirror).
SPEC="{\"name\": \"$MODEL\", \"num_classes\": $CLASSES}"
COMMON=(--size "$SIZE" --batch "$BATCH" --threads "$THREADS" --warmup "$WARMUP" --iters "$ITERS" --mode "$MODE")

echo "compare_train: $MODEL ($CLASSES classes), $SIZE, batch $BATCH, $THREADS threads, mode $MODE," \
     "$WARMUP warm-up + $ITERS timed iterations, $RUNS runs"
echo "segcore: $SEGCORE; torch: $("$PYTHON" -c 'import torch; print(torch.__version__)')"
for run in $(seq 1 "$RUNS"); do
    echo "--- run $run, load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
    SEGCORE_NUM_THREADS=$THREADS "$SEGCORE" bench "$SPEC" "${COMMON[@]}" --json "$TMP/segcore-$run.json"
    "$PYTHON" "$HERE/bench_train_torch.py" "$MODEL" --classes "$CLASSES" "${COMMON[@]}" --json "$TMP/torch-$run.json"
done

# The table: one row per run and mode, then the median ratio per mode.
"$PYTHON" - "$TMP" "$RUNS" <<'EOF'
import json, statistics, sys
tmp, runs = sys.argv[1], int(sys.argv[2])
print()
print("| run | mode | segcore ms (median) | PyTorch ms (median) | segcore images/s | PyTorch images/s | segcore / PyTorch |")
print("| --- | --- | --- | --- | --- | --- | --- |")
ratios = {}
for run in range(1, runs + 1):
    s = json.load(open(f"{tmp}/segcore-{run}.json"))
    t = json.load(open(f"{tmp}/torch-{run}.json"))
    for mode in ("train", "infer"):
        if mode in s and mode in t:
            a, b = s[mode], t[mode]
            r = a["images_per_s"] / b["images_per_s"]
            ratios.setdefault(mode, []).append(r)
            print(f"| {run} | {mode} | {a['median_ms']:.1f} | {b['median_ms']:.1f} | {a['images_per_s']:.2f} | "
                  f"{b['images_per_s']:.2f} | {r:.2f}x |")
print()
for mode, rs in ratios.items():
    print(f"{mode}: segcore / PyTorch images/s, median of {len(rs)} runs: {statistics.median(rs):.2f}x "
          f"(range {min(rs):.2f}-{max(rs):.2f}x)")
EOF
