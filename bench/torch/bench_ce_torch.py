#!/usr/bin/python3
"""PyTorch's CPU cross-entropy forward+backward on the shape of bench/cpu/bench_loss.cpp, so the
fused segcore loss can be reported as a ratio against PyTorch measured on the same machine.

    /usr/bin/python3 bench/torch/bench_ce_torch.py [--threads N] [--repeats R]

Threads default to SEGCORE_NUM_THREADS, else os.cpu_count() (segcore's default). Prints the median
and best time per forward+backward in ms, plus the forward alone.
"""
import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=int(os.environ.get("SEGCORE_NUM_THREADS", os.cpu_count())))
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--smoothing", type=float, default=0.0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n, c, h, w = 4, 19, 360, 480
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn((n, c, h, w), generator=g)
    y = torch.randint(0, c, (n, h, w), generator=g)
    y[torch.rand((n, h, w), generator=g) < 0.1] = 255

    def fwd_bwd():
        x = x0.detach().requires_grad_(True)
        F.cross_entropy(x, y, ignore_index=255, label_smoothing=args.smoothing).backward()
        return x.grad

    def fwd():
        with torch.no_grad():
            return F.cross_entropy(x0, y, ignore_index=255, label_smoothing=args.smoothing)

    for name, fn in (("fwd_bwd", fwd_bwd), ("fwd", fwd)):
        for _ in range(3):
            fn()
        ts = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            ts.append((time.perf_counter() - t0) * 1e3)
        print(f"torch {torch.__version__} threads {args.threads} smoothing {args.smoothing} "
              f"cross_entropy {name} {n}x{c}x{h}x{w}: median {statistics.median(ts):.2f} ms, best {min(ts):.2f} ms")


if __name__ == "__main__":
    main()
