#!/usr/bin/env bash
# What the command line does with damaged or hostile files (ctest cli_model_file_checks;
# docs/file_formats.md). Each case exited 0 with wrong numbers, or crashed, before:
#   1. a model file whose header length is one byte short (weights shifted by a byte): eval exits 1
#   2. bytes appended to a model file: predict exits 1
#   3. NaN weights: eval and predict exit 1 naming the tensor; --allow-nonfinite loads them; info warns
#   4. a config, model spec or --set value nested deep, or a repeated key: exit 1 with a clean error
# usage: model_file_cli.sh SEGCORE_BINARY WORK_DIR
set -uo pipefail
seg=$1
work=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
command -v python3 > /dev/null || { echo "python3 not found: skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

# A real model file from a one-step run on tiny synthetic scenes.
"$seg" train "$repo/configs/demo.json" --set "data.dataset=$work/data/dataset.json" --set data.synth.train=8 \
    --set data.synth.val=2 --set data.synth.height=32 --set data.synth.width=48 --set train.epochs=1 \
    --out "$work/run" > "$work/train.txt" 2>&1 || fail "train failed: $(tail -20 "$work/train.txt")"
model=$work/run/best_model.safetensors
"$seg" eval "$model" > "$work/eval.txt" 2>&1 || fail "eval of the good file failed: $(cat "$work/eval.txt")"
mkdir -p "$work/some" && cp "$work/data/val/images/0000.png" "$work/some/"

# Writes a copy of the model file, changed by a small Python snippet working on `b` (the bytes),
# `n` (the header length) and `h` (the parsed header).
mutate() {
    python3 - "$model" "$1" "$2" << 'EOF'
import json, struct, sys
b = bytearray(open(sys.argv[1], 'rb').read())
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8 + n])
exec(sys.argv[3])
open(sys.argv[2], 'wb').write(b)
EOF
}

# 1. header length one byte short (the header is padded with spaces, so the JSON still parses)
mutate "$work/short.safetensors" "b[:8] = struct.pack('<Q', n - 1)" || fail "python failed"
"$seg" eval "$work/short.safetensors" > "$work/out.txt" 2>&1
[ $? -eq 1 ] || fail "eval of a file with a short header length should exit 1: $(cat "$work/out.txt")"
grep -q "unexpected trailing bytes" "$work/out.txt" || fail "short header length not explained: $(cat "$work/out.txt")"

# 2. trailing bytes
mutate "$work/long.safetensors" "b += b'\\0' * 4" || fail "python failed"
"$seg" predict "$work/long.safetensors" "$work/some" --out "$work/pred-long" > "$work/out.txt" 2>&1
[ $? -eq 1 ] || fail "predict of a file with trailing bytes should exit 1: $(cat "$work/out.txt")"
grep -q "4 unexpected trailing bytes" "$work/out.txt" || fail "trailing bytes not named: $(cat "$work/out.txt")"

# 3. a NaN in the first weight
mutate "$work/nan.safetensors" "
name = next(k for k, v in h.items() if k != '__metadata__' and v['dtype'] == 'F32')
at = 8 + n + h[name]['data_offsets'][0]
b[at:at + 4] = struct.pack('<f', float('nan'))
open(sys.argv[2] + '.name', 'w').write(name)" || fail "python failed"
name=$(cat "$work/nan.safetensors.name")
"$seg" eval "$work/nan.safetensors" > "$work/out.txt" 2>&1
[ $? -eq 1 ] || fail "eval of NaN weights should exit 1: $(cat "$work/out.txt")"
grep -q "tensor '$name' holds a non-finite value" "$work/out.txt" || fail "NaN tensor not named: $(cat "$work/out.txt")"
grep -q -- "--allow-nonfinite" "$work/out.txt" || fail "the flag is not mentioned: $(cat "$work/out.txt")"
"$seg" predict "$work/nan.safetensors" "$work/some" --out "$work/pred-nan" > "$work/out.txt" 2>&1
[ $? -eq 1 ] || fail "predict with NaN weights should exit 1: $(cat "$work/out.txt")"
"$seg" predict "$work/nan.safetensors" "$work/some" --out "$work/pred-nan" --allow-nonfinite > "$work/out.txt" 2>&1 \
    || fail "predict --allow-nonfinite failed: $(cat "$work/out.txt")"
"$seg" eval "$work/nan.safetensors" --allow-nonfinite > "$work/out.txt" 2>&1 \
    || fail "eval --allow-nonfinite failed: $(cat "$work/out.txt")"
"$seg" info "$work/nan.safetensors" --size 32x48 > "$work/out.txt" 2>&1 || fail "info failed: $(cat "$work/out.txt")"
grep -q "warning: .*tensor '$name'" "$work/out.txt" || fail "info did not warn: $(cat "$work/out.txt")"

# 4. hostile configs
python3 -c "import sys; open(sys.argv[1], 'w').write('{\"name\": \"x\", \"model\": ' + '[' * 100000 + ']' * 100000 + '}')" \
    "$work/deep.json"
"$seg" train "$work/deep.json" --out "$work/bad" > "$work/out.txt" 2>&1
[ $? -eq 1 ] || fail "a deep config should exit 1: $(tail -c 500 "$work/out.txt")"
grep -q "deep.json: JSON nested deeper than 128 levels at line 1" "$work/out.txt" || fail "deep config: $(tail -c 500 "$work/out.txt")"
python3 -c "import sys; open(sys.argv[1], 'w').write('{\"name\": \"unet\", \"num_classes\": 3, \"base_width\": ' + '[' * 100000 + ']' * 100000 + '}')" \
    "$work/deep-spec.json"
"$seg" info "$work/deep-spec.json" > "$work/out.txt" 2>&1  # used to overflow the stack printing the value
[ $? -eq 1 ] || fail "info of a deep model spec should exit 1: $(tail -c 500 "$work/out.txt")"
grep -q "deep-spec.json: JSON nested deeper than 128 levels" "$work/out.txt" || fail "deep spec: $(tail -c 500 "$work/out.txt")"
"$seg" train "$repo/configs/demo.json" --out "$work/bad" --set "train.epochs=$(printf '[%.0s' $(seq 200))" > "$work/out.txt" 2>&1
[ $? -eq 1 ] || fail "a deep --set value should exit 1: $(tail -c 500 "$work/out.txt")"
grep -q -- "--set train.epochs=.*nested deeper than 128 levels" "$work/out.txt" || fail "deep --set: $(tail -c 500 "$work/out.txt")"
printf '{"base": "%s",\n "train": {"epochs": 1, "epochs": 50}}\n' "$repo/configs/demo.json" > "$work/dup.json"
"$seg" train "$work/dup.json" --out "$work/bad" > "$work/out.txt" 2>&1
[ $? -eq 1 ] || fail "a repeated key should exit 1: $(cat "$work/out.txt")"
grep -q "dup.json: duplicate key 'train.epochs'" "$work/out.txt" || fail "repeated key not named: $(cat "$work/out.txt")"
echo "ok"
