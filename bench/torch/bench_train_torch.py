#!/usr/bin/python3
"""PyTorch's peer of `segcore bench` (seg/bench/throughput.h): the same training step and inference
forward on the same twin networks, timed the same way, so segcore's images/s can be reported as a
ratio against python3-torch:

    /usr/bin/python3 bench/torch/bench_train_torch.py enet [--size 360x480] [--batch 4] [--threads 2]
        [--mode train|infer|both] [--warmup 2] [--iters 10] [--classes 11] [--json FILE]

train step: zero_grad (set_to_none, as segcore's); forward; cross-entropy on "out" plus 0.4 x each
auxiliary head's; backward; SGD step (lr 0.01, momentum 0.9). infer: eval mode, torch.no_grad(),
forward. Inputs are N(0, 1) images and labels uniform in [0, classes), made once before timing.
Each iteration is wall time (time.perf_counter); the median is the headline, images/s = batch /
median. The networks are the twins of bench/torch/bench_models_torch.py (torchvision's fcn and
deeplabv3, the golden tests' PyTorch versions of the others).

bench/torch/compare_train.sh runs this and `segcore bench` one after the other and prints the ratio.
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_models_torch as zoo  # noqa: E402  (the twins, and the aux-output unpacking)


def parse_size(s):
    h, _, w = s.partition("x")
    if not (h.isdigit() and w.isdigit() and int(h) > 0 and int(w) > 0):
        raise SystemExit(f"--size: expected HxW such as 360x480, got '{s}'")
    return int(h), int(w)


def time_phase(step, warmup, iters, batch):
    for _ in range(warmup):
        step()
    ts = []
    for _ in range(iters):
        t0 = time.perf_counter()
        step()
        ts.append((time.perf_counter() - t0) * 1e3)
    med = statistics.median(ts)
    return {"median_ms": med, "mean_ms": statistics.fmean(ts), "min_ms": min(ts), "max_ms": max(ts),
            "images_per_s": batch * 1e3 / med, "times_ms": ts}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", choices=sorted(zoo.MODELS))
    ap.add_argument("--size", default="360x480")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("SEGCORE_NUM_THREADS", os.cpu_count())))
    ap.add_argument("--mode", choices=["train", "infer", "both"], default="both")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--classes", type=int, default=11)
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    h, w = parse_size(args.size)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    zoo.CLASSES = args.classes  # the twin factories read the module's class count
    model = zoo.MODELS[args.model]()
    g = torch.Generator().manual_seed(0)
    x = torch.randn((args.batch, 3, h, w), generator=g)
    y = torch.randint(0, args.classes, (args.batch, h, w), generator=g)
    result = {"model": args.model, "torch": torch.__version__, "threads": torch.get_num_threads(), "batch": args.batch,
              "height": h, "width": w, "warmup": args.warmup, "iters": args.iters,
              "params": sum(p.numel() for p in model.parameters())}

    if args.mode in ("train", "both"):
        model.train()
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def train_step():
            opt.zero_grad(set_to_none=True)
            out, aux = zoo.outputs(model(x))
            loss = F.cross_entropy(out, y)
            for a in aux:
                loss = loss + 0.4 * F.cross_entropy(a, y)
            loss.backward()
            opt.step()

        result["train"] = time_phase(train_step, args.warmup, args.iters, args.batch)

    if args.mode in ("infer", "both"):
        model.eval()

        def infer_step():
            with torch.no_grad():
                zoo.outputs(model(x))

        result["infer"] = time_phase(infer_step, args.warmup, args.iters, args.batch)

    print(f"torch {torch.__version__}: {args.model}, {result['params'] / 1e6:.2f} M params, batch {args.batch} x "
          f"3x{h}x{w}, cpu, {result['threads']} threads")
    print(f"  {'mode':<6} {'iters':>6} {'median ms':>11} {'mean ms':>11} {'min ms':>11} {'max ms':>11} {'images/s':>10}")
    for mode in ("train", "infer"):
        if mode in result:
            r = result[mode]
            print(f"  {mode:<6} {args.iters:>6} {r['median_ms']:>11.2f} {r['mean_ms']:>11.2f} {r['min_ms']:>11.2f} "
                  f"{r['max_ms']:>11.2f} {r['images_per_s']:>10.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        print(f"written to {args.json}")


if __name__ == "__main__":
    main()
