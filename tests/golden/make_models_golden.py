#!/usr/bin/python3
"""Golden fixtures for the model zoo (seg/models): PyTorch twins of segcore's models, filled with
the formula weights of tests/golden/formula_weights.py (a fixture cannot hold 35 M parameters),
run in eval mode on odd-sized inputs.

Run by hand from the repository root with Debian's python3-torch / python3-torchvision:

    /usr/bin/python3 tests/golden/make_models_golden.py

tests/golden/models_unet.safetensors (tests/seg/test_unet.cpp):
  unet.<mode>   a U-Net (depth 3, base width 8, 3 -> 5 classes) with transposed-conv or bilinear
                up-sampling, on a 2x3x37x45 input: logits, the state-dict keys and shapes, and the
                parameter count of the default U-Net (depth 4, width 64) for both modes.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from formula_weights import keys_and_shapes, load_formula_weights  # noqa: E402
from make_foundation_golden import Fixture  # noqa: E402

GEN = "tests/golden/make_models_golden.py"


class DoubleConv(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)

    def forward(self, x):
        return F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))


class UNet(nn.Module):
    """seg/models/unet.h in PyTorch: same modules, same registration order, same names."""

    def __init__(self, in_channels, num_classes, depth=4, base_width=64, bilinear=False):
        super().__init__()
        self.depth, self.bilinear = depth, bilinear
        w = [base_width << i for i in range(depth + 1)]
        self.inc = DoubleConv(in_channels, w[0])
        for i in range(1, depth + 1):
            setattr(self, f"down{i}", DoubleConv(w[i - 1], w[i]))
        for i in range(depth, 0, -1):
            if not bilinear:
                setattr(self, f"up{i}", nn.ConvTranspose2d(w[i], w[i - 1], 2, stride=2))
            cin = w[i] + w[i - 1] if bilinear else 2 * w[i - 1]
            setattr(self, f"up{i}_conv", DoubleConv(cin, w[i - 1]))
        self.outc = nn.Conv2d(w[0], num_classes, 1)

    def forward(self, x):
        skips = [self.inc(x)]
        for i in range(1, self.depth + 1):
            skips.append(getattr(self, f"down{i}")(F.max_pool2d(skips[-1], 2)))
        y = skips[-1]
        for i in range(self.depth, 0, -1):
            skip = skips[i - 1]
            u = F.interpolate(y, scale_factor=2.0, mode="bilinear", align_corners=False) if self.bilinear \
                else getattr(self, f"up{i}")(y)
            dh, dw = skip.shape[2] - u.shape[2], skip.shape[3] - u.shape[3]
            u = F.pad(u, (dw // 2, dw - dw // 2, dh // 2, dh - dh // 2))
            y = getattr(self, f"up{i}_conv")(torch.cat([skip, u], 1))
        return self.outc(y)


def nparams(m):
    return sum(p.numel() for p in m.parameters())


def make_unet():
    fx = Fixture("unet", prefix="models", generator=GEN)
    g = torch.Generator().manual_seed(7)
    x = fx.add("x", torch.randn((2, 3, 37, 45), generator=g))
    for mode, bilinear in (("transpose", False), ("bilinear", True)):
        m = load_formula_weights(UNet(3, 5, depth=3, base_width=8, bilinear=bilinear)).eval()
        with torch.no_grad():
            y = m(fx.tensors[x])
        params = {"in_channels": 3, "num_classes": 5, "depth": 3, "base_width": 8, "bilinear": bilinear,
                  "keys": keys_and_shapes(m), "default_params": nparams(UNet(3, 21, bilinear=bilinear))}
        fx.case("unet." + mode, torch.float32, params, {"x": x}, {"y": fx.out(y)})
    fx.write()


def main():
    torch.manual_seed(0)
    make_unet()


if __name__ == "__main__":
    main()
