#!/usr/bin/python3
"""Golden fixture for PSPNet and SegNet (seg/models/pspnet.h, segnet.h; tests/seg/test_pspnet_segnet.cpp):
PyTorch twins of the segcore models (same modules, registration order and names), filled with the
formula weights of formula_weights.py.

Run by hand from the repository root with Debian's python3-torch / python3-torchvision:

    /usr/bin/python3 tests/golden/make_psp_segnet_golden.py

Writes tests/golden/models_psp_segnet.safetensors. Every case has params.keys (the state-dict keys
and shapes), params.default_params (the parameter count of the model's default configuration with
21 classes: PSPNet resnet50 / output stride 8 with the aux head, SegNet at the paper's widths) and
out.y, the logits:

  pspnet.os8        resnet18, output stride 8, 5 classes, eval mode, 1x3x45x61
  pspnet.os16       resnet18, output stride 16, bins (1, 3, 5), align_corners, no aux head, eval, 1x3x45x61
  pspnet.train      resnet18, output stride 8, training mode (batch statistics) with dropout 0 so it is
                    deterministic, 2x3x33x39; out.aux is the layer3 head's logits. Computed in float64
                    (params.dtype "f64", the outputs stored rounded to f32): with formula weights, batch
                    statistics over two small images are ill-conditioned enough that PyTorch's own f32
                    and f64 results differ by 65% of the largest logit
  segnet            the paper's SegNet (VGG16-BN encoder, mirrored decoder), 5 classes, eval, 1x3x45x61
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torchvision.ops import Conv2dNormActivation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from formula_weights import keys_and_shapes, load_formula_weights  # noqa: E402
from make_backbone_golden import dilate_basic_resnet, resnet_stages  # noqa: E402
from make_foundation_golden import Fixture  # noqa: E402

GEN = "tests/golden/make_psp_segnet_golden.py"


def resize(y, x, align_corners):
    return F.interpolate(y, size=x.shape[2:], mode="bilinear", align_corners=align_corners)


def dilated_resnet(name, output_stride):
    """seg::make_backbone(name, output_stride) in torchvision terms, without the classifier."""
    if name in ("resnet50", "resnet101"):
        m = getattr(torchvision.models, name)(replace_stride_with_dilation=[False, output_stride == 8, True])
    else:
        m = getattr(torchvision.models, name)()
        dilate_basic_resnet(m, output_stride)
    m.fc = None  # a None child is not in the state dict
    return m


class PPM(nn.Module):
    """nn::PyramidPoolingModule: stages.<i> = [AdaptiveAvgPool2d, Conv1x1, BN, ReLU]."""

    def __init__(self, cin, bins, align_corners):
        super().__init__()
        red = cin // len(bins)
        self.align_corners = align_corners
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(cin, red, 1, bias=False), nn.BatchNorm2d(red), nn.ReLU())
            for b in bins)
        self.out_channels = cin + len(bins) * red

    def forward(self, x):
        return torch.cat([x] + [resize(s(x), x, self.align_corners) for s in self.stages], 1)


def psp_head(cin, mid, classes, dropout):
    return nn.Sequential(nn.Conv2d(cin, mid, 3, padding=1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
                         nn.Dropout2d(dropout), nn.Conv2d(mid, classes, 1))


class PSPNet(nn.Module):
    """seg/models/pspnet.h in PyTorch (hszhao/semseg's PSPNet on a torchvision ResNet)."""

    def __init__(self, num_classes, backbone="resnet50", output_stride=8, bins=(1, 2, 3, 6), dropout=0.1, aux=True,
                 align_corners=False):
        super().__init__()
        self.align_corners = align_corners
        self.backbone = dilated_resnet(backbone, output_stride)
        expansion = 4 if backbone in ("resnet50", "resnet101") else 1
        self.ppm = PPM(512 * expansion, bins, align_corners)
        self.cls = psp_head(self.ppm.out_channels, 512, num_classes, dropout)
        self.aux = psp_head(256 * expansion, 256, num_classes, dropout) if aux else None

    def forward(self, x):
        f = resnet_stages(self.backbone, x)
        out = resize(self.cls(self.ppm(f[3])), x, self.align_corners)
        if self.aux is not None and self.training:
            return out, resize(self.aux(f[2]), x, self.align_corners)
        return out


class VggEncoder(nn.Module):
    """seg::VGG16BN: torchvision's vgg16_bn "features" alone."""

    def __init__(self):
        super().__init__()
        self.features = torchvision.models.vgg16_bn().features


class SegNet(nn.Module):
    """seg/models/segnet.h in PyTorch: VGG16-BN encoder, max-unpooling decoder mirroring it."""

    STAGES = [(64, 2), (128, 2), (256, 3), (512, 3), (512, 3)]  # (width, convs), shallowest first

    def __init__(self, num_classes):
        super().__init__()
        self.encoder = VggEncoder()
        self.decoder = nn.ModuleList()
        for k in range(4, -1, -1):
            width, convs = self.STAGES[k]
            convs = convs - 1 if k == 0 else convs  # stage 1's last mirrored conv is the classifier
            layers = [Conv2dNormActivation(width, self.STAGES[k - 1][0] if (k > 0 and j == convs - 1) else width, 3)
                      for j in range(convs)]
            self.decoder.append(nn.Sequential(*layers))
        self.classifier = nn.Conv2d(64, num_classes, 3, padding=1)

    def forward(self, x):
        indices, sizes = [], []
        for layer in self.encoder.features:
            if isinstance(layer, nn.MaxPool2d):
                sizes.append(x.shape[2:])
                x, i = F.max_pool2d(x, 2, return_indices=True)
                indices.append(i)
            else:
                x = layer(x)
        for s, stage in enumerate(self.decoder):
            k = 4 - s
            x = stage(F.max_unpool2d(x, indices[k], 2, output_size=sizes[k]))
        return self.classifier(x)


def nparams(m):
    return sum(p.numel() for p in m.parameters())


def main():
    torch.manual_seed(0)
    fx = Fixture("psp_segnet", prefix="models", generator=GEN)
    g = torch.Generator().manual_seed(11)
    x1 = fx.add("x_1x3x45x61", torch.randn((1, 3, 45, 61), generator=g))
    x2 = fx.add("x_2x3x33x39", torch.randn((2, 3, 33, 39), generator=g))
    psp_default = nparams(PSPNet(21))

    psp_cases = [("pspnet.os8", x1, dict(output_stride=8), False),
                 ("pspnet.os16", x1, dict(output_stride=16, bins=(1, 3, 5), aux=False, align_corners=True), False),
                 ("pspnet.train", x2, dict(output_stride=8, dropout=0.0), True)]
    for name, xname, kw, train in psp_cases:
        cfg = dict(backbone="resnet18", bins=(1, 2, 3, 6), dropout=0.1, aux=True, align_corners=False)
        cfg.update(kw)
        dtype = torch.float64 if train else torch.float32
        m = load_formula_weights(PSPNet(5, **cfg).to(dtype)).train(train)
        with torch.no_grad():
            y = m(fx.tensors[xname].to(dtype))
        outs = {"y": fx.out(y[0].float()), "aux": fx.out(y[1].float())} if train else {"y": fx.out(y)}
        params = dict(cfg, num_classes=5, train=train, dtype="f64" if train else "f32", keys=keys_and_shapes(m),
                      default_params=psp_default)
        fx.case(name, torch.float32, params, {"x": xname}, outs)

    m = load_formula_weights(SegNet(5)).eval()
    with torch.no_grad():
        y = m(fx.tensors[x1])
    params = {"num_classes": 5, "keys": keys_and_shapes(m), "default_params": nparams(SegNet(21))}
    fx.case("segnet", torch.float32, params, {"x": x1}, {"y": fx.out(y)})
    size = fx.write()
    assert size < 500_000, f"fixture is {size} bytes; keep it under 500 KB"


if __name__ == "__main__":
    main()
