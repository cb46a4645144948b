#!/usr/bin/python3
"""PyTorch's CPU timings for the shapes of bench/cpu/bench_conv_peer.cpp (activation 4x64x90x120,
f32), so segcore's convolutions can be reported as a ratio against PyTorch on the same machine:

    /usr/bin/python3 bench/torch/bench_conv_torch.py [--threads N] [--repeats R]

conv3x3 g1 / g64: dense and depthwise 3x3, pad 1, with bias — forward, and forward + both
gradients. block: conv3x3 (no bias) -> batch_norm (training) -> relu -> sum, forward + backward.
Threads default to SEGCORE_NUM_THREADS, else os.cpu_count() (segcore's default).
"""
import argparse
import os
import statistics
import time

import torch
import torch.nn.functional as F


def timeit(fn, repeats):
    for _ in range(3):
        fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts), min(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=int(os.environ.get("SEGCORE_NUM_THREADS", os.cpu_count())))
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    n, c, h, w = 4, 64, 90, 120
    g = torch.Generator().manual_seed(1)
    x0 = torch.randn((n, c, h, w), generator=g)

    cases = {}
    for groups in (1, 64):
        wt = torch.randn((c, c // groups, 3, 3), generator=g)
        b = torch.randn((c,), generator=g)

        def fwd(wt=wt, b=b, groups=groups):
            with torch.no_grad():
                return F.conv2d(x0, wt, b, padding=1, groups=groups)

        def fwd_bwd(wt=wt, b=b, groups=groups):
            x = x0.detach().requires_grad_(True)
            wv = wt.detach().requires_grad_(True)
            bv = b.detach().requires_grad_(True)
            F.conv2d(x, wv, bv, padding=1, groups=groups).sum().backward()
            return x.grad

        cases[f"conv3x3_forward groups={groups}"] = fwd
        cases[f"conv3x3_forward_backward groups={groups}"] = fwd_bwd

    wb = (torch.randn((c, c, 3, 3), generator=g) * 0.05).requires_grad_(True)
    gamma = torch.ones(c, requires_grad=True)
    beta = torch.zeros(c, requires_grad=True)
    rm, rv = torch.zeros(c), torch.ones(c)

    def block():
        x = x0.detach().requires_grad_(True)
        y = F.relu(F.batch_norm(F.conv2d(x, wb, None, padding=1), rm, rv, gamma, beta, True, 0.1, 1e-5))
        y.sum().backward()
        return x.grad

    cases["conv_bn_relu_block forward_backward"] = block
    for name, fn in cases.items():
        med, best = timeit(fn, args.repeats)
        print(f"torch {torch.__version__} threads {args.threads} {name} {n}x{c}x{h}x{w}: "
              f"median {med:.2f} ms, best {best:.2f} ms")


if __name__ == "__main__":
    main()
