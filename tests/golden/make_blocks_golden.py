#!/usr/bin/python3
"""Golden fixtures: torchvision's ASPP and SqueezeExcitation, for segcore's nn/layers/blocks.h.

Run by hand from the repository root with the Python that has PyTorch and torchvision (Debian's
python3-torch, python3-torchvision):

    /usr/bin/python3 tests/golden/make_blocks_golden.py

Writes tests/golden/blocks.safetensors, read by tests/nn/test_blocks.cpp. Same layout as the other
fixtures (tests/golden/README.md): the input under "f32/x", expected outputs as "o<n>", one JSON
case per check in "__metadata__".cases. Weights are not stored: both sides fill every state-dict
entry with the closed formula of tests/golden/formula_weights.py (C++: tests/seg/formula_weights.h),
so each case records the module's keys and shapes in state_dict order instead ("keys"), and the
C++ test first checks that its own state dict has exactly those.

Cases (input x: (2, 32, 13, 17), f32, odd on purpose):
  aspp.eval       torchvision.models.segmentation.deeplabv3.ASPP(32, [2, 3, 4], 16) in eval mode:
                  y = aspp(x); the gradients of 0.5 * sum(y^2) w.r.t. x and two weights (the
                  projection conv, the image-pooling branch's conv).
  aspp.train      the same module in training mode: the running statistics of every BatchNorm
                  after one forward (batch statistics of each branch, incl. the pooling branch's
                  N = 2 values per channel). The output itself passes through Dropout(0.5), whose
                  mask PyTorch draws from another generator, so it is not compared.
  se              torchvision.ops.SqueezeExcitation(32, 8): y = se(x).
"""
import os
import sys

import torch
from torchvision.models.segmentation.deeplabv3 import ASPP
from torchvision.ops import SqueezeExcitation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from formula_weights import keys_and_shapes, load_formula_weights  # noqa: E402
from make_foundation_golden import OUT_DIR, Fixture  # noqa: E402

F32 = torch.float32
GEN = "tests/golden/make_blocks_golden.py"
ASPP_ARGS = {"in_channels": 32, "atrous_rates": [2, 3, 4], "out_channels": 16}
SE_ARGS = {"input_channels": 32, "squeeze_channels": 8}


def rnd(shape, seed, lo=-2.0, hi=2.0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(shape, generator=g, dtype=torch.float64) * (hi - lo) + lo


def make(fx):
    x_name = fx.add("f32/x", rnd((2, 32, 13, 17), 1).to(F32))
    x = fx.tensors[x_name]

    aspp = load_formula_weights(ASPP(**ASPP_ARGS)).eval()
    xg = x.clone().requires_grad_(True)
    y = aspp(xg)
    (0.5 * (y * y).sum()).backward()
    fx.case("aspp.eval", F32, {**ASPP_ARGS, "keys": keys_and_shapes(aspp)}, {"x": x_name},
            {"y": fx.out(y), "dx": fx.out(xg.grad),
             "grad:project.0.weight": fx.out(aspp.project[0].weight.grad),
             "grad:convs.4.1.weight": fx.out(aspp.convs[4][1].weight.grad)})

    aspp = load_formula_weights(ASPP(**ASPP_ARGS)).train()
    with torch.no_grad():
        aspp(x)
    stats = {k: fx.out(v) for k, v in aspp.state_dict().items() if k.endswith(("running_mean", "running_var"))}
    fx.case("aspp.train", F32, {**ASPP_ARGS, "keys": keys_and_shapes(aspp)}, {"x": x_name}, stats)

    se = load_formula_weights(SqueezeExcitation(**SE_ARGS))
    fx.case("se", F32, {**SE_ARGS, "keys": keys_and_shapes(se)}, {"x": x_name}, {"y": fx.out(se(x))})


def main():
    torch.manual_seed(0)
    fx = Fixture("blocks", prefix="nn", generator=GEN)
    make(fx)
    size = fx.write()
    assert size < 300_000, size
    # Fixture names its file <prefix>_<family>; this one is simply blocks.safetensors.
    path = os.path.join(OUT_DIR, "blocks.safetensors")
    os.replace(os.path.join(OUT_DIR, "nn_blocks.safetensors"), path)
    print(f"  renamed to {path}")


if __name__ == "__main__":
    main()
