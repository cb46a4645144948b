#!/usr/bin/env bash
# Run folders through the command line, with real processes (ctest cli_run_folder;
# docs/run_folders.md):
#   1. a second `segcore train` (fresh or --resume auto), or an eval writing into it, refuses a
#      folder in use, naming the folder and the holder's pid; --check still works, writes nothing
#   2. kill -9 leaves no lock: --resume auto then runs, removes the killed run's temp files and
#      keeps each metrics.csv row once
#   3. SIGTERM: exit 143, as `train --help` says
#   4. errors that used to exit 2 with library text exit 1 naming the key or file
# usage: run_folder_cli.sh SEGCORE_BINARY WORK_DIR
source "$(dirname "$0")/cli_common.sh"  # seg, work, repo, fail
# The demo recipe, made small: a few seconds per epoch on 2 cores.
small=(--set "data.dataset=$work/data/dataset.json" --set data.synth.train=16 --set data.synth.val=4
       --set data.synth.height=48 --set data.synth.width=64 --set model.base_width=8 --set model.depth=2
       --set train.batch_size=4 --set logging.interval=1 --set data.workers=1)
train() { "$seg" train "$repo/configs/demo.json" "${small[@]}" "$@"; }
expect_error() {  # expect_error PATTERN ARGS...: exit 1 and PATTERN on stderr
    local pattern=$1
    shift
    "$@" > "$work/e.txt" 2>&1
    local s=$?
    [ $s -eq 1 ] || fail "exit $s (expected 1) for $*: $(cat "$work/e.txt")"
    grep -q -- "$pattern" "$work/e.txt" || fail "'$pattern' not in: $(cat "$work/e.txt")"
}
wait_for() {  # wait_for FILE PATTERN: until a line of FILE matches (at most 60 s)
    for _ in $(seq 1 600); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "timed out waiting for '$2' in $1"
}

# 1. one process per run folder
"$seg" train "$repo/configs/demo.json" "${small[@]}" --out "$work/run" --set train.epochs=1000 > "$work/a.txt" 2>&1 &
a=$!  # (not through the function: $! must be segcore's pid)
wait_for "$work/run/log.jsonl" '"type":"checkpoint"'
train --out "$work/run" --set train.epochs=1000 > "$work/b.txt" 2>&1
[ $? -eq 1 ] || fail "a second train on a folder in use should exit 1: $(cat "$work/b.txt")"
grep -q "run folder $work/run is in use by another process (pid $a" "$work/b.txt" || fail "refusal: $(cat "$work/b.txt")"
train --out "$work/run" --set train.epochs=1000 --resume auto > "$work/b.txt" 2>&1
[ $? -eq 1 ] || fail "a second --resume auto on a folder in use should exit 1: $(cat "$work/b.txt")"
grep -q "pid $a" "$work/b.txt" || fail "refusal: $(cat "$work/b.txt")"
# eval and predict lock their --out folder the same way
expect_error "run folder $work/run is in use by another process (pid $a" \
    "$seg" eval "$work/run/best_model.safetensors" --out "$work/run"
cp "$work/run/config.json" "$work/config.before"
train --out "$work/run" --set train.epochs=3 --set optimizer.lr=0.1 --resume auto --check > "$work/c.txt" 2>&1 \
    || fail "--check of a folder in use failed: $(cat "$work/c.txt")"
grep -q "in use now (pid $a" "$work/c.txt" || fail "--check did not mention the holder: $(cat "$work/c.txt")"
cmp -s "$work/run/config.json" "$work/config.before" || fail "--check rewrote config.json"

# 2. kill -9: no stale lock, temp files of the dead process removed, no duplicate rows
kill -9 $a
wait $a 2>/dev/null
echo partial > "$work/run/checkpoints/iter_00000099.safetensors.tmp.$a"
echo partial > "$work/run/config.json.tmp.$a.0"
printf '1,999,0.5' >> "$work/run/metrics.csv"
done_iters=$(ls "$work/run/checkpoints" | sed -n 's/^iter_0*\([0-9][0-9]*\)\.safetensors$/\1/p' | sort -n | tail -1)
train --out "$work/run" --set train.iters=$((done_iters + 4)) --set train.epochs=0 --resume auto > "$work/r.txt" 2>&1 \
    || fail "resume after kill -9 failed: $(cat "$work/r.txt")"
ls "$work/run" "$work/run/checkpoints" | grep -q '\.tmp\.' && fail "temp files left: $(ls "$work/run" "$work/run/checkpoints")"
dups=$(tail -n +2 "$work/run/metrics.csv" | cut -d, -f2 | sort | uniq -d)
[ -z "$dups" ] || fail "metrics.csv repeats iterations $dups: $(cat "$work/run/metrics.csv")"
grep -q ',999,' "$work/run/metrics.csv" && fail "the torn metrics.csv line survived"

# 3. SIGTERM: 143, and --help says so
"$seg" train --help > "$work/help.txt" || fail "train --help failed"
grep -q "143 by SIGTERM" "$work/help.txt" || fail "train --help does not give 143 for SIGTERM: $(cat "$work/help.txt")"
"$seg" train "$repo/configs/demo.json" "${small[@]}" --out "$work/term" --set train.epochs=1000 > "$work/t.txt" 2>&1 &
t=$!
wait_for "$work/term/log.jsonl" '"type":"step"'
kill -TERM $t
wait $t
status=$?
[ $status -eq 143 ] || fail "SIGTERM: exit $status, expected 143: $(tail -5 "$work/t.txt")"

# 4. errors name the key or the file, exit 1
expect_error "train.epochs=1e999.*out of range" train --out "$work/x" --set train.epochs=1e999
expect_error "not valid UTF-8" train --out "$work/x" --set $'description=\xff\xfe'
echo file > "$work/afile"
expect_error "checkpoint.dir: $work/afile/run: cannot be created" train --out "$work/afile/run" --check
expect_error "train.batch_size: expected an integer in \[1, 1048576\], got 9223372036854775808" \
    train --out "$work/x" --set train.batch_size=9223372036854775808
expect_error "model.in_channels: 1" train --out "$work/x" --set model.in_channels=1 --check
expect_error "loss.terms\[0\].class_weights: 2 values" train --out "$work/x" --check \
    --set 'loss.terms=[{"type": "cross_entropy", "class_weights": [1, 2]}]'
[ -e "$work/x" ] && fail "--check created the run folder $work/x"
echo "run_folder_cli: all checks passed"
