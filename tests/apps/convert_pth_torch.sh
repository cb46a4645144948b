#!/usr/bin/env bash
# scripts/convert_pth.py on real PyTorch checkpoints (ctest convert_pth_torch; skipped, exit 77,
# where /usr/bin/python3 cannot import torch and torchvision, as in CI):
#   1. torchvision's ResNet-18 as ImageNet weights ({"model": {"module.…"}} like torchvision's
#      references): converted with --preset imagenet, the tensors and the preprocessing come back
#   2. an FCN built the torchvision way (IntermediateLayerGetter + FCNHead) with --model-json: checked
#      by `segcore info --check` and accepted; a spec with another class count, or none of the
#      preprocessing flags, is refused and writes nothing
# usage: convert_pth_torch.sh SEGCORE_BINARY WORK_DIR
set -uo pipefail
seg=$1
work=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
py=/usr/bin/python3
$py -c "import torch, torchvision" 2> /dev/null || { echo "convert_pth_torch: no torch/torchvision, skipped"; exit 77; }
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

$py - "$work" <<'PYEOF' || fail "could not write the checkpoints"
import sys, torch, torchvision
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.segmentation.fcn import FCN, FCNHead
work = sys.argv[1]
torch.manual_seed(0)
r18 = torchvision.models.resnet18()
torch.save({"model": {"module." + k: v for k, v in r18.state_dict().items()}, "epoch": 1}, f"{work}/r18.pth")
# Dilation does not change any parameter, so ResNet-18 (whose BasicBlock cannot dilate in torchvision)
# has the names and shapes of segcore's fcn with a resnet18 backbone.
fcn = FCN(IntermediateLayerGetter(torchvision.models.resnet18(), {"layer4": "out"}), FCNHead(512, 3), None)
torch.save(fcn.state_dict(), f"{work}/fcn.pth")
PYEOF

conv=($py "$repo/scripts/convert_pth.py" --segcore "$seg")
"${conv[@]}" "$work/r18.pth" "$work/r18.safetensors" --preset imagenet > "$work/r18.txt" 2>&1 \
    || fail "resnet18 conversion: $(cat "$work/r18.txt")"
$py - "$work" <<'PYEOF' || fail "resnet18 round trip"
import json, struct, sys, torch, torchvision
work = sys.argv[1]
blob = open(f"{work}/r18.safetensors", "rb").read()
n = struct.unpack("<Q", blob[:8])[0]
header = json.loads(blob[8:8 + n])
md = header.pop("__metadata__")
pre = json.loads(md["preprocessing"])
assert pre == [{"type": "normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225],
                "scale": "0-1", "order": "rgb"}], pre
torch.manual_seed(0)
sd = torchvision.models.resnet18().state_dict()
assert list(header) == list(sd), "keys or their order changed"
for k, v in sd.items():
    a, b = header[k]["data_offsets"]
    t = torch.frombuffer(bytearray(blob[8 + n + a:8 + n + b]), dtype=v.dtype).reshape(v.shape)
    assert torch.equal(t, v), k
PYEOF

spec='{"name": "fcn", "num_classes": 3, "backbone": "resnet18"}'
"${conv[@]}" "$work/fcn.pth" "$work/fcn.safetensors" --preset imagenet --classes sky,road,car --model-json "$spec" \
    > "$work/fcn.txt" 2>&1 || fail "fcn conversion: $(cat "$work/fcn.txt")"
grep -q "fcn.safetensors: OK: fcn, 3 classes" "$work/fcn.txt" || fail "not checked: $(cat "$work/fcn.txt")"
"${conv[@]}" "$work/fcn.pth" "$work/bad.safetensors" --preset imagenet \
    --model-json '{"name": "fcn", "num_classes": 4, "backbone": "resnet18"}' > "$work/bad.txt" 2>&1 \
    && fail "a 4-class spec for 3-class weights was accepted"
grep -q "does not fit the checkpoint" "$work/bad.txt" && grep -q "classifier.4" "$work/bad.txt" \
    || fail "the mismatch is not named: $(cat "$work/bad.txt")"
"${conv[@]}" "$work/fcn.pth" "$work/bad.safetensors" --model-json "$spec" > "$work/bad.txt" 2>&1 \
    && fail "a model file without preprocessing was accepted"
[ ! -e "$work/bad.safetensors" ] || fail "a refused conversion wrote its output"
echo "convert_pth_torch: all checks passed"
