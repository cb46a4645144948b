#!/usr/bin/env bash
# predict / eval / lint on bad input through the command line (ctest cli_predict_bad_input):
#   1. a folder with an unreadable image, a too-small one, a symlink loop and a dangling symlink:
#      predict stops at the first, naming it; --skip-bad reports each and predicts the rest
#   1b. --save-logits / --save-probs write .npy files (loaded with NumPy when python3 has it:
#      shape, dtype, probabilities summing to 1, argmax of logits == argmax of probabilities);
#      --save-logits with --flip is refused before anything is written
#   2. eval on images too small for the model names them and the model's minimum size
#   3. lint reports a dangling symlink image (that training would refuse)
#   4. a model file without preprocessing (converted PyTorch weights): eval and predict warn;
#      scripts/convert_pth.py records it (checked by `segcore info --check`), then they are quiet and
#      predict exactly what the original file predicts; a model spec or class list that does not fit
#      is refused before anything is written
#   5. a training config's model.pretrained with backbone weights named like torchvision's ImageNet
#      files loads them into the backbone
#   4 and 5 need python3 (not PyTorch) and are skipped without it.
# usage: predict_cli.sh SEGCORE_BINARY WORK_DIR
set -uo pipefail
seg=$1
work=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }
# A 1x1 RGB PNG and a 1x1 grey PNG holding 0.
tiny_rgb=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNocFAAAAIkAOGrWWInAAAAAElFTkSuQmCC
tiny_mask=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg==

# A small trained model (the demo U-Net halves its input three times).
"$seg" train "$repo/configs/demo.json" --set "data.dataset=$work/data/dataset.json" --set data.synth.train=8 \
    --set data.synth.val=4 --set train.epochs=1 --set train.batch_size=4 --out "$work/run" > "$work/train.txt" 2>&1 \
    || fail "train failed: $(tail -20 "$work/train.txt")"
model=$work/run/best_model.safetensors

# 1. predict on a folder with bad entries
in=$work/in
mkdir -p "$in"
cp "$work/data/val/images/0000.png" "$in/a_good.png"
printf 'not a png' > "$in/b_broken.png"
echo "$tiny_rgb" | base64 -d > "$in/c_tiny.png"
ln -s d_loop.png "$in/d_loop.png"
ln -s "$work/nowhere.png" "$in/e_dangling.png"
cp "$work/data/val/images/0001.png" "$in/f_good.png"
"$seg" predict "$model" "$in" --out "$work/pred" > "$work/pred.txt" 2> "$work/pred_err.txt"
[ $? -eq 1 ] || fail "predict on a bad folder should exit 1: $(cat "$work/pred.txt" "$work/pred_err.txt")"
grep -q "b_broken.png" "$work/pred_err.txt" || fail "the unreadable image is not named: $(cat "$work/pred_err.txt")"
"$seg" predict "$model" "$in" --out "$work/pred" --skip-bad > "$work/pred.txt" 2> "$work/pred_err.txt" \
    || fail "predict --skip-bad failed: $(cat "$work/pred.txt" "$work/pred_err.txt")"
for f in b_broken c_tiny d_loop e_dangling; do
    grep -q "skipped .*$f.png" "$work/pred_err.txt" || fail "$f.png not reported as skipped: $(cat "$work/pred_err.txt")"
done
grep "c_tiny.png" "$work/pred_err.txt" | grep -q "1 x 1 (width x height).*too small.*needs at least [0-9]* x [0-9]* pixels" \
    || fail "the too-small image's message lacks the sizes: $(cat "$work/pred_err.txt")"
grep -q "4 of 6 image(s) skipped" "$work/pred.txt" || fail "no skip summary: $(cat "$work/pred.txt")"
[ -s "$work/pred/a_good_index.png" ] && [ -s "$work/pred/f_good_index.png" ] || fail "the good images were not predicted"

# 1b. .npy outputs
"$seg" predict "$model" "$in/a_good.png" --out "$work/npy" --save-logits --save-probs > "$work/npy.txt" 2>&1 \
    || fail "predict --save-logits --save-probs failed: $(cat "$work/npy.txt")"
for f in a_good_logits.npy a_good_probs.npy; do
    [ "$(head -c 6 "$work/npy/$f" | tail -c 5)" = NUMPY ] || fail "$f is not a .npy file"
done
"$seg" predict "$model" "$in/a_good.png" --out "$work/npy_flip" --flip --save-logits > "$work/npy.txt" 2>&1
[ $? -eq 1 ] || fail "--save-logits with --flip should exit 1: $(cat "$work/npy.txt")"
grep -q "save-logits: logits are not defined with flip" "$work/npy.txt" || fail "--flip --save-logits: $(cat "$work/npy.txt")"
[ ! -e "$work/npy_flip/a_good_index.png" ] || fail "a refused --save-logits wrote outputs"
# NumPy reads the files as NumPy users will (python3-numpy, installed by setup.sh; a python3 on PATH
# without it, such as a pyenv shim, falls back to Debian's).
np_py=
for py in python3 /usr/bin/python3; do
    if "$py" -c "import numpy" 2> /dev/null; then np_py=$py; break; fi
done
if [ -n "$np_py" ]; then
    "$np_py" - "$work/npy" <<'EOF' || fail "the .npy files do not load as expected"
import sys
import numpy as np
logits = np.load(sys.argv[1] + "/a_good_logits.npy")
probs = np.load(sys.argv[1] + "/a_good_probs.npy")
assert logits.dtype == np.float32 and probs.dtype == np.float32, (logits.dtype, probs.dtype)
assert probs.ndim == 3 and probs.shape[0] == 6 and logits.shape == probs.shape, (logits.shape, probs.shape)
assert np.allclose(probs.sum(axis=0), 1, atol=1e-5)
assert (probs.argmax(0) == logits.argmax(0)).mean() > 0.999
EOF
else
    echo "predict_cli: no numpy, .npy loading checks skipped"
fi

# 2. eval on images too small for the model
small=$work/small
mkdir -p "$small/val/images" "$small/val/masks"
for i in 0000 0001; do
    echo "$tiny_rgb" | base64 -d > "$small/val/images/$i.png"
    echo "$tiny_mask" | base64 -d > "$small/val/masks/$i.png"
done
cat > "$small/dataset.json" <<'JSON'
{"name": "small", "root": ".", "classes": ["field", "wall", "circle", "rectangle", "triangle", "star"],
 "splits": {"val": {"images": "val/images", "masks": "val/masks"}}}
JSON
"$seg" eval "$model" --data "$small/dataset.json" > "$work/eval.txt" 2> "$work/eval_err.txt"
[ $? -eq 1 ] || fail "eval on 1x1 images should exit 1: $(cat "$work/eval.txt" "$work/eval_err.txt")"
grep -q "sample '0000': the image is 1 x 1 .*too small for this model: it needs at least" "$work/eval_err.txt" \
    || fail "eval's too-small message: $(cat "$work/eval_err.txt")"

# 3. lint: a dangling image symlink is an error
cp -r "$small" "$work/lintme"
ln -s "$work/gone.png" "$work/lintme/val/images/zz.png"
cp "$work/lintme/val/masks/0000.png" "$work/lintme/val/masks/zz.png"
"$seg" lint "$work/lintme/dataset.json" > "$work/lint.txt" 2>&1
[ $? -eq 1 ] || fail "lint should fail on a dangling symlink image: $(cat "$work/lint.txt")"
grep -q "missing_image" "$work/lint.txt" && grep -q "zz.png" "$work/lint.txt" || fail "lint: $(cat "$work/lint.txt")"

# 4. preprocessing: warned about when missing, recorded by the converter
if ! command -v python3 > /dev/null; then
    echo "predict_cli: no python3, converter checks skipped"
    echo "predict_cli: all checks passed"
    exit 0
fi
# A file as an old conversion left it: the model spec, no card.
python3 - "$model" "$work/bare.safetensors" <<'EOF' || fail "could not write the bare file"
import json, struct, sys
blob = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
header = json.loads(blob[8:8 + n])
md = header["__metadata__"]
header["__metadata__"] = {"model": md["model"], "format": md["format"]}
text = json.dumps(header).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + blob[8 + n:])
EOF
"$seg" predict "$work/bare.safetensors" "$in/a_good.png" --out "$work/p_bare" > /dev/null 2> "$work/warn.txt" \
    || fail "predict on the bare file failed: $(cat "$work/warn.txt")"
grep -q "WARNING: .*bare.safetensors records no preprocessing" "$work/warn.txt" || fail "no warning: $(cat "$work/warn.txt")"
"$seg" eval "$work/bare.safetensors" --data "$work/data/dataset.json" > /dev/null 2> "$work/warn.txt" \
    || fail "eval on the bare file failed: $(cat "$work/warn.txt")"
grep -q "WARNING: .*records no preprocessing" "$work/warn.txt" || fail "eval gave no warning: $(cat "$work/warn.txt")"
"$seg" predict "$model" "$in/a_good.png" --out "$work/p_orig" > /dev/null 2> "$work/warn.txt" || fail "predict failed"
[ ! -s "$work/warn.txt" ] || fail "a trained model file should not warn: $(cat "$work/warn.txt")"

conv=(python3 "$repo/scripts/convert_pth.py" --segcore "$seg")
classes=c0,c1,c2,c3,c4,c5
"${conv[@]}" "$work/bare.safetensors" "$work/fixed.safetensors" --mean 0.5,0.5,0.5 --std 0.25,0.25,0.25 \
    --classes "$classes" > "$work/conv.txt" 2>&1 || fail "convert failed: $(cat "$work/conv.txt")"
grep -q "fixed.safetensors: OK" "$work/conv.txt" || fail "the converter did not check the file: $(cat "$work/conv.txt")"
"$seg" predict "$work/fixed.safetensors" "$in/a_good.png" --out "$work/p_fixed" > /dev/null 2> "$work/warn.txt" \
    || fail "predict on the fixed file failed"
[ ! -s "$work/warn.txt" ] || fail "the fixed file still warns: $(cat "$work/warn.txt")"
cmp -s "$work/p_orig/a_good_index.png" "$work/p_fixed/a_good_index.png" \
    || fail "the recorded preprocessing does not reproduce the original predictions"
# Refused before anything is written: a spec that does not fit the weights, a wrong class count,
# a model file without a preprocessing choice.
"${conv[@]}" "$work/bare.safetensors" "$work/wrong.safetensors" --raw \
    --model-json '{"name": "unet", "num_classes": 7, "base_width": 16, "depth": 3, "bilinear": true}' \
    > "$work/conv.txt" 2>&1 && fail "a 7-class spec for 6-class weights was accepted"
grep -q "does not fit the checkpoint" "$work/conv.txt" && grep -q "shape mismatch\|missing\|unexpected" "$work/conv.txt" \
    || fail "the spec error does not say what is wrong: $(cat "$work/conv.txt")"
[ ! -e "$work/wrong.safetensors" ] || fail "a refused conversion wrote its output"
ls "$work" | grep -q "wrong.safetensors.tmp" && fail "a refused conversion left its temporary file"
"${conv[@]}" "$work/bare.safetensors" "$work/wrong.safetensors" --raw --classes c0,c1 > "$work/conv.txt" 2>&1 \
    && fail "2 class names for a 6-class model were accepted"
grep -q "2 names, but the model has 6 classes" "$work/conv.txt" || fail "class count: $(cat "$work/conv.txt")"
"${conv[@]}" "$work/bare.safetensors" "$work/wrong.safetensors" > "$work/conv.txt" 2>&1 \
    && fail "a model file without a preprocessing choice was accepted"
grep -q "needs its preprocessing" "$work/conv.txt" || fail "preprocessing choice: $(cat "$work/conv.txt")"

# 5. model.pretrained with backbone weights named as torchvision's ImageNet files name them
#    (conv1.weight, layer1.0...): loaded into the backbone, no --add-prefix needed
fcn=(--set "data.dataset=$work/data/dataset.json" --set data.synth.train=4 --set data.synth.val=2
     --set train.batch_size=2 --set train.epochs=1)
"$seg" train "$repo/configs/demo.json" "${fcn[@]}" --set 'model={"name": "fcn", "backbone": "resnet18", "output_stride": 32}' \
    --out "$work/fcn" > "$work/fcn.txt" 2>&1 || fail "fcn train failed: $(tail -5 "$work/fcn.txt")"
python3 - "$work/fcn/best_model.safetensors" "$work/imagenet.safetensors" <<'EOF' || fail "could not write the backbone file"
import json, struct, sys
blob = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
header = json.loads(blob[8:8 + n])
header.pop("__metadata__")
out, data, off = {}, [], 0
for name, e in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0]):
    if not name.startswith("backbone."):
        continue
    a, b = e["data_offsets"]
    out[name[len("backbone."):]] = {"dtype": e["dtype"], "shape": e["shape"], "data_offsets": [off, off + b - a]}
    data.append(blob[8 + n + a:8 + n + b])
    off += b - a
text = json.dumps(out).encode()
text += b" " * ((8 - len(text) % 8) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(text)) + text + b"".join(data))
EOF
"$seg" train "$repo/configs/demo.json" "${fcn[@]}" --set "model={\"name\": \"fcn\", \"backbone\": \"resnet18\", \
\"output_stride\": 32, \"pretrained\": \"$work/imagenet.safetensors\"}" --out "$work/fcn2" > "$work/fcn2.txt" 2>&1 \
    || fail "train with ImageNet-named backbone weights failed: $(tail -5 "$work/fcn2.txt")"
grep -q "loaded [0-9]* tensors from .*imagenet.safetensors into the backbone" "$work/fcn2.txt" \
    || fail "the backbone weights were not loaded: $(head -20 "$work/fcn2.txt")"
echo "predict_cli: all checks passed"
