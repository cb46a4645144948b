#!/usr/bin/python3
"""Golden fixture: torchvision's backbones, for seg/models/backbones/ (tests/seg/test_backbones.cpp).

Run by hand from the repository root with the Python that has PyTorch and torchvision (Debian's
python3-torch, python3-torchvision):

    /usr/bin/python3 tests/golden/make_backbone_golden.py

Writes tests/golden/backbones.safetensors. Same layout as the other fixtures (README.md): inputs
under descriptive names, expected outputs as "o<n>", one JSON case per check in
"__metadata__".cases.

Weights are the formula weights of formula_weights.py (the C++ twin is tests/seg/formula_weights.h),
so nothing but the input and the outputs is stored. Models run in eval mode (BN uses the running
statistics) on a (2, 3, 33, 47) input: odd sizes, N > 1. Only reductions of the feature maps are
stored, per stage: the mean over H, W (N, C) and the mean over C (N, H, W) — a wrong channel or a
misplaced pixel (padding, dilation, stride) changes one of them — plus small final maps and logits.

Cases:
  op "keys"      torchvision's state-dict keys and shapes, in order ("params.keys"), for resnet18/34/50/101
                 (with fc), mobilenet_v2 (with classifier) and vgg16_bn (features only: the classifier
                 is 124 M parameters segcore does not build). No tensors.
  op "backbone"  params.model, params.output_stride; in.x; out "<stage>/channel_mean",
                 "<stage>/spatial_mean" for each stage of forward_features, and optionally "final"
                 (the last stage in full), "logits" (the ImageNet classifier), "pool_indices"
                 (vgg16_bn: the last max-pool's argmax).
      resnet18 os 32       torchvision as is (stages layer1..layer4), with logits
      resnet18 os 8        BasicBlock dilation is not in torchvision: its convs are re-strided and dilated
                           here the way seg/models/backbones/resnet.h documents (both 3x3s of a block
                           take its dilation; the first block of a dilated layer the previous one)
      resnet50 os 8        torchvision's replace_stride_with_dilation = [False, True, True]
      mobilenet_v2 os 32   torchvision as is (stages features.1, .3, .6, .13, .18), with logits
      mobilenet_v2 os 8    depthwise convs re-strided and dilated as mobilenetv2.h documents
      vgg16_bn os 32       stages features.6, .13, .23, .33, .43 (after each pool)
"""
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from formula_weights import keys_and_shapes, load_formula_weights  # noqa: E402
from make_foundation_golden import OUT_DIR, Fixture  # noqa: E402

F32 = torch.float32
GEN = "tests/golden/make_backbone_golden.py"
MBV2_SETTING = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2],
                [6, 320, 1, 1]]


def vgg16_bn_features():
    """torchvision's vgg16_bn without its classifier (124 M parameters segcore does not build). Formula
    weights follow state_dict order and the features come first, so their values are unchanged."""
    m = torchvision.models.vgg16_bn()
    m.avgpool, m.classifier = torch.nn.Identity(), torch.nn.Identity()
    return m


def set_conv(conv, stride, dilation):
    conv.stride = (stride, stride)
    conv.dilation = (dilation, dilation)
    conv.padding = (dilation * (conv.kernel_size[0] - 1) // 2,) * 2


def dilate_basic_resnet(m, output_stride):
    """ResNet-18/34 at output stride 16/8: _make_layer's rule applied to BasicBlock by hand."""
    dilate = {"layer3": output_stride <= 8, "layer4": output_stride <= 16}
    dilation = 1
    for name in ("layer3", "layer4"):
        if not dilate[name]:
            continue
        previous, dilation = dilation, dilation * 2
        for i, block in enumerate(getattr(m, name)):
            d = previous if i == 0 else dilation
            set_conv(block.conv1, 1, d)
            set_conv(block.conv2, 1, d)
            if block.downsample is not None:
                block.downsample[0].stride = (1, 1)


def dilate_mobilenet_v2(m, output_stride):
    """MobileNetV2 at output stride 16/8, the DeepLabv3+ way (seg/models/backbones/mobilenetv2.h)."""
    current, dilation, index = 2, 1, 1
    for _, _, n, s in MBV2_SETTING:
        previous, first_stride = dilation, s
        if current * s > output_stride:
            dilation *= s
            first_stride = 1
        else:
            current *= s
        for i in range(n):
            depthwise = m.features[index].conv[-3][0]  # conv = [expand], depthwise, project conv, bn
            set_conv(depthwise, first_stride if i == 0 else 1, previous if i == 0 else dilation)
            index += 1


def resnet_stages(m, x):
    x = m.maxpool(m.relu(m.bn1(m.conv1(x))))
    out = []
    for layer in (m.layer1, m.layer2, m.layer3, m.layer4):
        x = layer(x)
        out.append(x)
    return out


def features_at(features, x, ends):
    out = []
    for i, layer in enumerate(features):
        x = layer(x)
        if i in ends:
            out.append(x)
    return out


def add_backbone(fx, xname, x, model, output_stride, stages, final=False, logits=None, extra=None):
    outs = {}
    for i, f in enumerate(stages):
        outs[f"{i}/channel_mean"] = fx.out(f.mean(dim=(2, 3)))
        outs[f"{i}/spatial_mean"] = fx.out(f.mean(dim=1))
    if final:
        outs["final"] = fx.out(stages[-1])
    if logits is not None:
        outs["logits"] = fx.out(logits)
    for k, v in (extra or {}).items():
        outs[k] = fx.out(v)
    fx.case("backbone", F32, {"model": model, "output_stride": output_stride}, {"x": xname}, outs)


def make(fx):
    tv = torchvision.models
    fx.cases.extend(
        {"op": "keys", "dtype": "f32", "params": {"model": name, "keys": keys_and_shapes(m)}, "in": {}, "out": {}}
        for name, m in [("resnet18", tv.resnet18()), ("resnet34", tv.resnet34()), ("resnet50", tv.resnet50()),
                        ("resnet101", tv.resnet101()), ("mobilenet_v2", tv.mobilenet_v2()),
                        ("vgg16_bn", vgg16_bn_features())])

    g = torch.Generator().manual_seed(20240611)
    x = torch.rand((2, 3, 33, 47), generator=g, dtype=torch.float64).mul(4).sub(2).to(F32)
    xname = fx.add("f32/x", x)

    with torch.no_grad():
        m = load_formula_weights(tv.resnet18()).eval()
        add_backbone(fx, xname, x, "resnet18", 32, resnet_stages(m, x), final=True, logits=m(x))
        dilate_basic_resnet(m, 8)
        add_backbone(fx, xname, x, "resnet18", 8, resnet_stages(m, x))

        m = load_formula_weights(tv.resnet50(replace_stride_with_dilation=[False, True, True])).eval()
        add_backbone(fx, xname, x, "resnet50", 8, resnet_stages(m, x))

        m = load_formula_weights(tv.mobilenet_v2()).eval()
        ends = (1, 3, 6, 13, 18)
        add_backbone(fx, xname, x, "mobilenet_v2", 32, features_at(m.features, x, ends), final=True, logits=m(x))
        dilate_mobilenet_v2(m, 8)
        add_backbone(fx, xname, x, "mobilenet_v2", 8, features_at(m.features, x, ends))

        m = load_formula_weights(vgg16_bn_features()).eval()
        pools = (6, 13, 23, 33, 43)
        stages = features_at(m.features, x, pools)
        before_last_pool = features_at(m.features[:43], x, (42,))[0]
        _, indices = torch.nn.functional.max_pool2d(before_last_pool, 2, return_indices=True)
        add_backbone(fx, xname, x, "vgg16_bn", 32, stages, final=True, extra={"pool_indices": indices})


def main():
    torch.manual_seed(0)
    fx = Fixture("backbones", prefix="models", generator=GEN)
    make(fx)
    size = fx.write()
    assert size < 1_000_000, f"backbones fixture is {size} bytes; keep it under 1 MB"
    # Fixture.write names files <prefix>_<family>; this one is plainly backbones.safetensors.
    os.replace(os.path.join(OUT_DIR, "models_backbones.safetensors"), os.path.join(OUT_DIR, "backbones.safetensors"))


if __name__ == "__main__":
    main()
