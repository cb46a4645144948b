#!/usr/bin/python3
"""Golden fixture for the confusion matrix and the segmentation metrics, from PyTorch.

Run by hand from the repository root (Debian's python3-torch):

    /usr/bin/python3 tests/golden/make_metrics_golden.py

It writes tests/golden/metrics_confusion.safetensors; tests/seg/test_golden_metrics.cpp checks
segcore against it without PyTorch. An implementation independent of segcore's:
  confusion = torch.bincount(target[valid] * C + torch.argmax(logits, 1)[valid], minlength=C*C)
(torch.argmax: first maximum on ties, NaN is the maximum), and the metrics computed with torch
ops from that matrix, every mean a nanmean over the defined per-class values (docs/metrics.md).

Per case "k" the file holds:
  k/params   i64 [C, ignore_index]
  k/logits   (N, C, H, W) in the case's dtype (with exact ties and a few NaNs)
  k/target   (N, H, W) i64 (some pixels ignore_index, some classes never present)
  k/confusion (C, C) i64
  k/summary  f64 [pixel_acc, mean_acc, miou, fwiou, mean_dice]
  k/iou, k/dice, k/precision, k/recall  f64 (C), NaN where undefined
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_foundation_golden import Fixture  # noqa: E402  (the safetensors writer)

F32, F64, F16, BF16 = torch.float32, torch.float64, torch.float16, torch.bfloat16


def metrics(m):
    m = m.to(F64)
    tp = m.diag()
    gt = m.sum(1)
    pr = m.sum(0)
    n = m.sum()
    nan = torch.tensor(float("nan"), dtype=F64)

    def div(a, b):
        return torch.where(b > 0, a / torch.where(b > 0, b, torch.ones_like(b)), nan)

    iou = div(tp, gt + pr - tp)
    dice = div(2 * tp, gt + pr)
    precision = div(tp, pr)
    recall = div(tp, gt)
    summary = torch.stack([
        div(tp.sum(), n),
        recall.nanmean(),
        iou.nanmean(),
        div((gt * torch.nan_to_num(iou)).sum(), n),
        dice.nanmean(),
    ])
    return summary, iou, dice, precision, recall


def make_case(fx, name, n, c, h, w, dtype, ignore, seed, absent=()):
    g = torch.Generator().manual_seed(seed)
    # Logits on a coarse grid (multiples of 0.25) so ties are frequent and exact in every dtype.
    logits = (torch.randint(-8, 9, (n, c, h, w), generator=g).to(F64) * 0.25)
    flat = logits.view(-1)
    nan_at = torch.randint(0, flat.numel(), (max(1, flat.numel() // 97),), generator=g)
    flat[nan_at] = float("nan")
    logits = logits.to(dtype)
    target = torch.randint(0, c, (n, h, w), generator=g)
    for a in absent:
        target[target == a] = (a + 1) % c
    target[torch.rand((n, h, w), generator=g) < 0.1] = ignore
    pred = torch.argmax(logits.to(F64) if dtype in (F16, BF16) else logits, 1)  # widening is exact
    for a in absent:  # keep the absent classes out of the prediction too (a clean exclusion test)
        pred[pred == a] = (a + 1) % c
        # make the logits agree with the edited prediction: push the absent class far down
        idx = torch.full_like(pred, a).unsqueeze(1)
        lg = logits.to(F64)
        lg.scatter_(1, idx, -100.0)
        logits = lg.to(dtype)
    pred = torch.argmax(logits.to(F64) if dtype in (F16, BF16) else logits, 1)
    valid = target != ignore
    conf = torch.bincount(target[valid] * c + pred[valid], minlength=c * c).view(c, c)
    summary, iou, dice, precision, recall = metrics(conf)
    fx.add(f"{name}/params", torch.tensor([c, ignore], dtype=torch.int64))
    fx.add(f"{name}/logits", logits)
    fx.add(f"{name}/target", target)
    fx.add(f"{name}/confusion", conf)
    fx.add(f"{name}/summary", summary)
    fx.add(f"{name}/iou", iou)
    fx.add(f"{name}/dice", dice)
    fx.add(f"{name}/precision", precision)
    fx.add(f"{name}/recall", recall)
    fx.cases.append({"name": name, "dtype": str(dtype), "C": c})


def main():
    fx = Fixture("confusion", prefix="metrics", generator="tests/golden/make_metrics_golden.py")
    make_case(fx, "c3_f32", 2, 3, 5, 7, F32, 255, 1)
    make_case(fx, "c19_f32", 2, 19, 9, 13, F32, 255, 2, absent=(4, 11))
    make_case(fx, "c19_f64", 1, 19, 8, 8, F64, 255, 3, absent=(0,))
    make_case(fx, "c11_f16", 2, 11, 7, 9, F16, 255, 4)
    make_case(fx, "c11_bf16", 2, 11, 7, 9, BF16, 255, 5, absent=(10,))
    make_case(fx, "c7_neg_ignore", 1, 7, 6, 10, F32, -100, 6)
    fx.write()


if __name__ == "__main__":
    main()
