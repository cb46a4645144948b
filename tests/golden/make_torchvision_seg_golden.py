#!/usr/bin/python3
"""Golden fixture: torchvision's FCN and DeepLabv3, and a PyTorch twin of segcore's DeepLabv3+, for
seg/models/fcn.h and seg/models/deeplab.h (tests/seg/test_fcn_deeplab.cpp). Also checks
scripts/convert_pth.py end to end (a .pth in, safetensors read back), writing nothing for it.

Run by hand from the repository root with Debian's python3-torch / python3-torchvision (0.14):

    /usr/bin/python3 tests/golden/make_torchvision_seg_golden.py

Writes tests/golden/models_torchvision.safetensors (< 1 MB). Weights are the formula weights of
formula_weights.py (the C++ twin is tests/seg/formula_weights.h), so only inputs and outputs are
stored. Models run in eval mode.

Cases (op, params; in.x; out.out and out.aux are logits at the input size):
  "torchvision"    params.model = fcn_resnet50 / deeplabv3_resnet50, built with weights=None,
                   weights_backbone=None, aux_loss=True, num_classes=21, on a (1, 3, 35, 51) input;
                   params.keys = the state-dict keys and shapes, params.num_parameters.
  "deeplabv3plus"  segcore's DeepLabv3+ (seg/models/deeplab.h) re-written here with torchvision's
                   parts and the same names; params = the C++ config (backbone, output_stride,
                   width_mult, aspp_rates, channels, low_level_channels, aux_loss, num_classes),
                   keys, num_parameters; a (2, 3, 33, 41) input:
                     resnet18 at output stride 16, rates [1, 2, 3] (dilation reaches inside the
                     3 x 3 map), default widths, aux head
                     mobilenetv2 width 0.5 at output stride 8, default rates, channels 32,
                     low_level_channels 16, no aux head
Parameter counts of the full-size torchvision models (printed, pinned in the C++ test):
  fcn_resnet50 35322218, deeplabv3_resnet50 42004074 (aux_loss=True, 21 classes).
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.models.segmentation import deeplabv3_resnet50, fcn_resnet50
from torchvision.models.segmentation.deeplabv3 import ASPP
from torchvision.models.segmentation.fcn import FCNHead
from torchvision.ops import Conv2dNormActivation

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from formula_weights import keys_and_shapes, load_formula_weights  # noqa: E402
from make_backbone_golden import dilate_basic_resnet, dilate_mobilenet_v2, resnet_stages  # noqa: E402
from make_foundation_golden import OUT_DIR, Fixture  # noqa: E402

F32 = torch.float32
GEN = "tests/golden/make_torchvision_seg_golden.py"
ROOT = os.path.dirname(os.path.dirname(HERE))


def nparams(m):
    return sum(p.numel() for p in m.parameters())


# ---- DeepLabv3+ twin (seg/models/deeplab.h) ----

def resnet_backbone(depth, output_stride):
    """torchvision's ResNet without avgpool/fc (keys conv1.*, layer1.*), dilated like segcore's."""
    if depth >= 50:
        dilate = [False, output_stride <= 8, output_stride <= 16]
        m = getattr(torchvision.models, f"resnet{depth}")(replace_stride_with_dilation=dilate)
    else:
        m = getattr(torchvision.models, f"resnet{depth}")()
        dilate_basic_resnet(m, output_stride)
    del m.avgpool, m.fc
    return m


class MobileNetV2Backbone(nn.Module):
    """torchvision's mobilenet_v2 features (keys features.*), stages 1, 3, 6, 13, 18."""

    def __init__(self, width_mult, output_stride):
        super().__init__()
        m = torchvision.models.mobilenet_v2(width_mult=width_mult)
        dilate_mobilenet_v2(m, output_stride)
        self.features = m.features

    def forward(self, x):
        out = []
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in (1, 3, 6, 13, 18):
                out.append(x)
        return out


class DeepLabV3PlusHead(nn.Module):
    def __init__(self, high, low, num_classes, rates, channels, low_level_channels):
        super().__init__()
        self.aspp = ASPP(high, rates, channels)
        self.low_level = Conv2dNormActivation(low, low_level_channels, 1)
        self.fuse = nn.Sequential(Conv2dNormActivation(channels + low_level_channels, channels, 3),
                                  Conv2dNormActivation(channels, channels, 3))
        self.cls = nn.Conv2d(channels, num_classes, 1)

    def forward(self, low, high):
        lo = self.low_level(low)
        a = F.interpolate(self.aspp(high), size=lo.shape[-2:], mode="bilinear", align_corners=False)
        return self.cls(self.fuse(torch.cat([a, lo], 1)))


class DeepLabV3Plus(nn.Module):
    def __init__(self, p):
        super().__init__()
        if p["backbone"].startswith("resnet"):
            self.backbone = resnet_backbone(int(p["backbone"][6:]), p["output_stride"])
            strides = [4, 8, 16, 32]
        else:
            self.backbone = MobileNetV2Backbone(p["width_mult"], p["output_stride"])
            strides = [2, 4, 8, 16, 32]
        with torch.no_grad():
            ch = [f.shape[1] for f in self.stages(torch.zeros(1, 3, 64, 64))]
        self.low = max(i for i, s in enumerate(strides) if s == 4)  # the deepest stride-4 stage
        self.classifier = DeepLabV3PlusHead(ch[-1], ch[self.low], p["num_classes"], p["aspp_rates"], p["channels"],
                                            p["low_level_channels"])
        self.aux_classifier = FCNHead(ch[-2], p["num_classes"]) if p["aux_loss"] else None

    def stages(self, x):
        if isinstance(self.backbone, MobileNetV2Backbone):
            return self.backbone(x)
        return resnet_stages(self.backbone, x)

    def forward(self, x):
        feats = self.stages(x)
        size = x.shape[-2:]
        out = {"out": F.interpolate(self.classifier(feats[self.low], feats[-1]), size=size, mode="bilinear",
                                    align_corners=False)}
        if self.aux_classifier is not None:
            out["aux"] = F.interpolate(self.aux_classifier(feats[-2]), size=size, mode="bilinear", align_corners=False)
        return out


# ---- the fixture ----

def add_outputs(fx, op, params, xname, result):
    outs = {"out": fx.out(result["out"])}
    if "aux" in result:
        outs["aux"] = fx.out(result["aux"])
    fx.case(op, F32, params, {"x": xname}, outs)


def make_torchvision(fx):
    g = torch.Generator().manual_seed(1234)
    x = torch.rand((1, 3, 35, 51), generator=g, dtype=torch.float64).mul(4).sub(2).to(F32)
    xname = fx.add("f32/x_torchvision", x)
    for name, build in (("fcn_resnet50", fcn_resnet50), ("deeplabv3_resnet50", deeplabv3_resnet50)):
        m = build(weights=None, weights_backbone=None, aux_loss=True, num_classes=21)
        load_formula_weights(m).eval()
        with torch.no_grad():
            r = m(x)
        print(f"{name}: {nparams(m)} parameters, {len(m.state_dict())} state-dict entries")
        add_outputs(fx, "torchvision", {"model": name, "keys": keys_and_shapes(m), "num_parameters": nparams(m)},
                    xname, r)


TWINS = [
    {"backbone": "resnet18", "output_stride": 16, "width_mult": 1.0, "aspp_rates": [1, 2, 3], "channels": 256,
     "low_level_channels": 48, "aux_loss": True, "num_classes": 5},
    {"backbone": "mobilenetv2", "output_stride": 8, "width_mult": 0.5, "aspp_rates": [12, 24, 36], "channels": 32,
     "low_level_channels": 16, "aux_loss": False, "num_classes": 3},
]


def make_twins(fx):
    g = torch.Generator().manual_seed(4321)
    x = torch.rand((2, 3, 33, 41), generator=g, dtype=torch.float64).mul(4).sub(2).to(F32)
    xname = fx.add("f32/x_plus", x)
    models = []
    for p in TWINS:
        m = load_formula_weights(DeepLabV3Plus(p)).eval()
        with torch.no_grad():
            r = m(x)
        add_outputs(fx, "deeplabv3plus", {**p, "keys": keys_and_shapes(m), "num_parameters": nparams(m)}, xname, r)
        models.append((p, m))
    return models


# ---- scripts/convert_pth.py, end to end ----

def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    dt = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}
    tensors = {}
    for k, h in header.items():
        a, b = h["data_offsets"]
        tensors[k] = torch.frombuffer(bytearray(data[a:b]), dtype=dt[h["dtype"]]).reshape(h["shape"])
    return tensors, meta


def check_converter(p, model):
    """A DataParallel-style checkpoint ({"model": {"module.<key>": ...}}) through convert_pth.py."""
    sd = model.state_dict()
    spec = {"name": "deeplabv3plus", "num_classes": p["num_classes"], "backbone": p["backbone"],
            "output_stride": p["output_stride"], "width_mult": p["width_mult"], "channels": p["channels"],
            "low_level_channels": p["low_level_channels"]}
    with tempfile.TemporaryDirectory() as tmp:
        pth, out, spec_path = (os.path.join(tmp, n) for n in ("ckpt.pth", "model.safetensors", "model.json"))
        torch.save({"model": {"module." + k: v for k, v in sd.items()}, "epoch": 3}, pth)
        with open(spec_path, "w") as f:
            json.dump(spec, f)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "convert_pth.py"), pth, out, "--model-json",
                        spec_path, "--preset", "imagenet", "--no-check"], check=True, stdout=subprocess.DEVNULL)
        tensors, meta = read_safetensors(out)
    assert list(tensors) == list(sd), "converter changed the keys or their order"
    for k, v in sd.items():
        assert torch.equal(tensors[k], v), k
    assert meta["format"] == "segcore-model-1" and json.loads(meta["model"]) == spec, meta
    assert json.loads(meta["preprocessing"])[0]["mean"] == [0.485, 0.456, 0.406], meta
    print(f"convert_pth.py: {len(tensors)} tensors round-trip, metadata ok")


def main():
    torch.manual_seed(0)
    fx = Fixture("torchvision", prefix="models", generator=GEN)
    make_torchvision(fx)
    twins = make_twins(fx)
    size = fx.write()
    assert size < 1_000_000, f"models_torchvision fixture is {size} bytes; keep it under 1 MB"
    assert os.path.exists(os.path.join(OUT_DIR, "models_torchvision.safetensors"))
    check_converter(*twins[1])


if __name__ == "__main__":
    main()
