#!/usr/bin/python3
"""PyTorch's CPU forward + backward time for the models of bench/cpu/bench_models.cpp (batch 2,
3x128x160, f32, training mode, cross-entropy on random labels plus 0.4 x each auxiliary head), so
segcore's models can be reported as a ratio against the same networks in python3-torch:

    /usr/bin/python3 bench/torch/bench_models_torch.py [--threads N] [--repeats R] [--only name,...]

The networks are torchvision's (fcn, deeplabv3) or the PyTorch twins the golden tests already
check segcore against (tests/golden/make_*_golden.py), so both sides run the same architecture.
Threads default to SEGCORE_NUM_THREADS, else os.cpu_count() (segcore's default).
"""
import argparse
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "golden"))

N, H, W, CLASSES = 2, 128, 160, 11


def unet():
    from make_models_golden import UNet
    return UNet(3, CLASSES, base_width=32)


def fcn():
    from torchvision.models.segmentation import fcn_resnet50
    return fcn_resnet50(weights=None, weights_backbone=None, aux_loss=True, num_classes=CLASSES)


def deeplabv3():
    from torchvision.models.segmentation import deeplabv3_resnet50
    return deeplabv3_resnet50(weights=None, weights_backbone=None, aux_loss=True, num_classes=CLASSES)


def deeplabv3plus():
    from make_torchvision_seg_golden import DeepLabV3Plus
    return DeepLabV3Plus({"backbone": "resnet50", "output_stride": 16, "width_mult": 1.0, "num_classes": CLASSES,
                          "aspp_rates": [6, 12, 18], "channels": 256, "low_level_channels": 48, "aux_loss": False})


def pspnet():
    from make_psp_segnet_golden import PSPNet
    return PSPNet(CLASSES, backbone="resnet50")


def segnet():
    from make_psp_segnet_golden import SegNet
    return SegNet(CLASSES)


def enet():
    from make_realtime_golden import ENet
    return ENet(CLASSES)


def fastsegnet():
    from make_realtime_golden import FastSegNet

    class Train(FastSegNet):  # the twin is eval-only; training runs the aux heads as segcore does
        def forward(self, x):
            size = x.shape[2:]
            y = x
            for i, layer in enumerate(self.features):
                y = layer(y)
                if i == 6:
                    f8 = y
                if i == 13:
                    f16 = y
            up = lambda t, ref: F.interpolate(t, size=ref.shape[2:], mode="bilinear", align_corners=False)  # noqa
            gc = self.global_context(F.adaptive_avg_pool2d(y, 1))
            ctx32 = self.refine32(up(self.arm32(y) + gc, f16))
            ctx16 = self.refine16(up(self.arm16(f16) + ctx32, f8))
            full = lambda t: F.interpolate(t, size=size, mode="bilinear", align_corners=False)  # noqa
            return {"out": full(self.head(self.ffm(f8, ctx16))), "aux16": full(self.aux16(ctx16)),
                    "aux32": full(self.aux32(ctx32))}

    return Train(CLASSES)


MODELS = {"unet": unet, "fcn": fcn, "deeplabv3": deeplabv3, "deeplabv3plus": deeplabv3plus, "pspnet": pspnet, "segnet": segnet, "enet": enet,
          "fastsegnet": fastsegnet}


def outputs(o):
    if isinstance(o, dict):
        return o["out"], [v for k, v in o.items() if k != "out"]
    if isinstance(o, (tuple, list)):
        return o[0], list(o[1:])
    return o, []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=int(os.environ.get("SEGCORE_NUM_THREADS", os.cpu_count())))
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(1)
    x = torch.randn((N, 3, H, W), generator=g)
    y = torch.randint(0, CLASSES, (N, H, W), generator=g)
    for name, make in MODELS.items():
        if args.only and name not in args.only.split(","):
            continue
        model = make().train()

        def step():
            model.zero_grad(set_to_none=True)
            out, aux = outputs(model(x))
            loss = F.cross_entropy(out, y)
            for a in aux:
                loss = loss + 0.4 * F.cross_entropy(a, y)
            loss.backward()

        for _ in range(2):
            step()
        ts = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            step()
            ts.append((time.perf_counter() - t0) * 1e3)
        med = statistics.median(ts)
        print(f"torch {torch.__version__} threads {args.threads} {name} forward_backward {N}x3x{H}x{W}: "
              f"median {med:.1f} ms, best {min(ts):.1f} ms, {N / med * 1e3:.2f} images/s")


if __name__ == "__main__":
    main()
