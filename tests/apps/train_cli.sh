#!/usr/bin/env bash
# The training app through its command line, as a user runs it (ctest cli_train_eval_predict):
#   1. config errors name the JSON path and exit 1
#   2. a short run of configs/demo.json trains (validation mIoU >= 75% after 5 epochs)
#   3. eval and predict work from the best-model file alone
#   4. SIGINT stops a run with exit status 130 and a checkpoint that --resume loads
# usage: train_cli.sh SEGCORE_BINARY WORK_DIR
source "$(dirname "$0")/cli_common.sh"  # seg, work, repo, fail
data=(--set "data.dataset=$work/data/dataset.json")

# 1. config errors
"$seg" train "$repo/configs/demo.json" "${data[@]}" --out "$work/bad" --set train.batch_sise=4 2> "$work/err.txt"
[ $? -eq 1 ] || fail "an unknown key should exit 1"
grep -q "train.batch_sise: unknown key" "$work/err.txt" || fail "unknown key not named: $(cat "$work/err.txt")"
"$seg" train "$repo/configs/demo.json" "${data[@]}" --out "$work/bad" --set 'optimizer.lr="fast"' 2> "$work/err.txt"
grep -q "optimizer.lr: expected a number" "$work/err.txt" || fail "wrong type not named: $(cat "$work/err.txt")"
"$seg" train "$repo/configs/demo.json" --set "data.dataset=$work/none/spec.json" --set data.synth=null --out "$work/bad" 2> "$work/err.txt"
grep -q "data.dataset: .*none/spec.json: no such file" "$work/err.txt" || fail "missing file not named: $(cat "$work/err.txt")"

# 2. a short training run
"$seg" train "$repo/configs/demo.json" "${data[@]}" --out "$work/run" --set train.epochs=5 > "$work/train.txt" \
    || fail "train failed: $(tail -20 "$work/train.txt")"
for f in config.json config.hash log.jsonl metrics.csv best_model.safetensors; do
    [ -s "$work/run/$f" ] || fail "missing $work/run/$f"
done
ls "$work/run/checkpoints/"iter_*.safetensors > /dev/null || fail "no checkpoint"

# 3. eval and predict from the model file alone
"$seg" eval "$work/run/best_model.safetensors" --out "$work/eval" > "$work/eval.txt" || fail "eval failed: $(cat "$work/eval.txt")"
for f in confusion.csv metrics.json per_class.csv; do [ -s "$work/eval/$f" ] || fail "eval did not write $f"; done
miou=$(awk '/^mIoU/ { sub("%", "", $2); print $2; exit }' "$work/eval.txt")
awk -v m="$miou" 'BEGIN { exit !(m >= 75) }' || fail "validation mIoU $miou% after 5 epochs (expected >= 75%)"
mkdir -p "$work/some"
cp "$work/data/val/images/0000.png" "$work/data/val/images/0001.png" "$work/some/"
"$seg" predict "$work/run/best_model.safetensors" "$work/some" --masks "$work/data/val/masks" --entropy \
    --out "$work/pred" > "$work/pred.txt" || fail "predict failed: $(cat "$work/pred.txt")"
for kind in index color overlay entropy error; do
    [ -s "$work/pred/0001_$kind.png" ] || fail "predict did not write 0001_$kind.png"
done

# 4. SIGINT: finish the step, checkpoint, exit 130; the checkpoint resumes
"$seg" train "$repo/configs/demo.json" "${data[@]}" --out "$work/int" --set train.epochs=100 > "$work/int.txt" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
    grep -q '"type":"step"' "$work/int/log.jsonl" 2>/dev/null && break
    sleep 0.1
done
kill -INT $pid
wait $pid
status=$?
[ $status -eq 130 ] || fail "interrupted train exited $status, expected 130: $(tail -5 "$work/int.txt")"
ls "$work/int/checkpoints/"iter_*.safetensors > /dev/null || fail "no checkpoint after SIGINT"
"$seg" train "$repo/configs/demo.json" "${data[@]}" --out "$work/int" --set train.epochs=100 --resume auto --check \
    > "$work/resume.txt" || fail "resume failed: $(cat "$work/resume.txt")"
grep -q "resumed from .*iter_" "$work/resume.txt" || fail "did not resume: $(cat "$work/resume.txt")"
echo "train_cli: all checks passed (validation mIoU $miou% after 5 epochs)"
