#!/usr/bin/python3
"""Golden fixtures: PyTorch's optimiser trajectories and learning-rate schedules.

Run by hand from the repository root, with the Python that has PyTorch (Debian's python3-torch):

    /usr/bin/python3 tests/golden/make_optim_golden.py

It writes tests/golden/optim_trajectories.safetensors. tests/nn/test_golden_optim.cpp runs segcore's
optimisers and schedules on the same problem and compares every step.

The problem: two parameter groups, w (2, 3) and b (4,), and an elementwise quadratic loss
0.5 * sum(a * (p - c)^2), so the gradient is a deterministic function of the parameters,
g = a * (p - c), computed in the case's dtype ((p - c) then * a: one IEEE rounding each, the same
bits in segcore). Each case runs 20 iterations of

    grads = a * (p - c);  [clip_grad_norm_(max_norm)];  opt.step();  sched.step()

and records the learning rate of each group used at each step ("<case>/lr", (20, 2), f64) and the
parameters after each step ("<case>/w", (20, 2, 3), "<case>/b", (20, 4)). Inputs: "<case>/w0",
"<case>/b0" (initial values), "<case>/aw", "<case>/ab", "<case>/cw", "<case>/cb".

Schedules come from PyTorch's built-in schedulers (warm-up = LinearLR(start_factor=r) chained with
the schedule), or LambdaLR where PyTorch has no built-in (exponential warm-up, cosine with eta_min
above 0 and two groups). The "__metadata__" entry "cases" is a JSON list: for each case the dtype,
the optimiser and its per-group hyper-parameters, the schedule (segcore's names) and max_norm.
Seeds are fixed: rerunning with the same PyTorch reproduces the file byte for byte.
"""
import json
import math
import os
import struct

import torch
from torch.optim import lr_scheduler as L

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optim_trajectories.safetensors")
STEPS = 20
ST_NAME = {torch.float32: "F32", torch.float64: "F64"}
DT_NAME = {torch.float32: "f32", torch.float64: "f64"}


def write(tensors, meta):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        b = t.detach().contiguous().numpy().tobytes()
        header[name] = {"dtype": ST_NAME[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(OUT, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    print(f"{OUT}: {len(tensors)} tensors, {os.path.getsize(OUT)} bytes")


def make_schedule(opt, spec):
    """PyTorch's scheduler for segcore's spec {"type", ..., "warmup": {"kind", "iters", "ratio"}}."""
    warm = spec.get("warmup", {"kind": "none"})
    t = spec["type"]
    base = [g["lr"] for g in opt.param_groups]
    if warm["kind"] == "exponential" or (t == "cosine" and spec["eta_min"] != 0.0):
        # closed forms through LambdaLR (per group: eta_min is absolute)
        def factor(i, b):
            if t == "cosine":
                p = min(i, spec["t_max"]) / spec["t_max"]
                s = spec["eta_min"] + (b - spec["eta_min"]) * (1 + math.cos(math.pi * p)) / 2
            else:
                raise ValueError(t)
            w = 1.0
            if warm["kind"] == "exponential" and i < warm["iters"]:
                w = warm["ratio"] ** (1 - i / warm["iters"])
            elif warm["kind"] == "linear" and i < warm["iters"]:
                w = 1 - (1 - i / warm["iters"]) * (1 - warm["ratio"])
            return s * w / b
        return L.LambdaLR(opt, [lambda i, b=b: factor(i, b) for b in base])
    if t == "poly":
        assert spec["min_lr"] == 0.0
        main = L.PolynomialLR(opt, total_iters=spec["max_iters"], power=spec["power"])
    elif t == "cosine":
        main = L.CosineAnnealingLR(opt, T_max=spec["t_max"], eta_min=0.0)
    elif t == "step":
        main = L.StepLR(opt, step_size=spec["step_size"], gamma=spec["gamma"])
    elif t == "multistep":
        main = L.MultiStepLR(opt, milestones=spec["milestones"], gamma=spec["gamma"])
    else:
        raise ValueError(t)
    if warm["kind"] == "none":
        return main
    assert warm["kind"] == "linear"
    # LinearLR's recursive form multiplies by a per-step ratio, so chaining composes multiplicatively
    return L.ChainedScheduler([L.LinearLR(opt, start_factor=warm["ratio"], total_iters=warm["iters"]), main])


def run_case(name, dtype, optim, groups, sched, max_norm, tensors, cases, seed):
    g = torch.Generator().manual_seed(seed)
    w0 = torch.randn((2, 3), generator=g, dtype=torch.float64).to(dtype)
    b0 = torch.randn((4,), generator=g, dtype=torch.float64).to(dtype)
    aw = (torch.rand((2, 3), generator=g, dtype=torch.float64) * 2 + 0.1).to(dtype)
    ab = (torch.rand((4,), generator=g, dtype=torch.float64) * 2 + 0.1).to(dtype)
    cw = torch.randn((2, 3), generator=g, dtype=torch.float64).to(dtype)
    cb = torch.randn((4,), generator=g, dtype=torch.float64).to(dtype)
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    pg = [dict(groups[0], params=[w]), dict(groups[1], params=[b])]
    if optim == "SGD":
        opt = torch.optim.SGD(pg, lr=groups[0]["lr"])
    elif optim == "Adam":
        opt = torch.optim.Adam(pg, foreach=False)
    elif optim == "AdamW":
        opt = torch.optim.AdamW(pg, foreach=False)
    else:
        raise ValueError(optim)
    s = make_schedule(opt, sched)
    lrs, ws, bs = [], [], []
    for _ in range(STEPS):
        with torch.no_grad():
            w.grad = aw * (w - cw)
            b.grad = ab * (b - cb)
        if max_norm is not None:
            torch.nn.utils.clip_grad_norm_([w, b], max_norm)
        lrs.append([grp["lr"] for grp in opt.param_groups])
        opt.step()
        s.step()
        ws.append(w.detach().clone())
        bs.append(b.detach().clone())
    for k, v in (("w0", w0), ("b0", b0), ("aw", aw), ("ab", ab), ("cw", cw), ("cb", cb)):
        tensors[f"{name}/{k}"] = v
    tensors[f"{name}/lr"] = torch.tensor(lrs, dtype=torch.float64)
    tensors[f"{name}/w"] = torch.stack(ws)
    tensors[f"{name}/b"] = torch.stack(bs)
    cases.append({"name": name, "dtype": DT_NAME[dtype], "optimizer": optim, "groups": groups, "schedule": sched,
                  "max_norm": max_norm, "steps": STEPS})


def main():
    torch.set_num_threads(1)
    tensors, cases = {}, []
    lin = {"kind": "linear", "iters": 5, "ratio": 0.1}
    sgd_g = [{"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "nesterov": True, "weight_decay": 1e-2},
             {"lr": 0.02, "momentum": 0.9, "dampening": 0.0, "nesterov": True, "weight_decay": 0.0}]
    sgd_d = [{"lr": 0.2, "momentum": 0.8, "dampening": 0.3, "nesterov": False, "weight_decay": 1e-3},
             {"lr": 0.05, "momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 1e-1}]
    adam_g = [{"lr": 0.05, "betas": [0.9, 0.99], "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False},
              {"lr": 0.01, "betas": [0.8, 0.999], "eps": 1e-6, "weight_decay": 0.0, "amsgrad": False}]
    adamw_g = [{"lr": 0.05, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 5e-2, "amsgrad": False},
               {"lr": 0.005, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 1e-2, "amsgrad": False}]
    ams_g = [dict(g, amsgrad=True) for g in adamw_g]
    poly = {"type": "poly", "max_iters": 20, "power": 0.9, "min_lr": 0.0, "warmup": lin}
    cos = {"type": "cosine", "t_max": 20, "eta_min": 0.0, "warmup": lin}
    cos_exp = {"type": "cosine", "t_max": 20, "eta_min": 1e-3,
               "warmup": {"kind": "exponential", "iters": 6, "ratio": 0.01}}
    step = {"type": "step", "step_size": 6, "gamma": 0.5, "warmup": lin}
    multi = {"type": "multistep", "milestones": [5, 12, 12], "gamma": 0.3}
    f64, f32 = torch.float64, torch.float32
    run_case("sgd_nesterov_poly", f64, "SGD", sgd_g, poly, None, tensors, cases, 1)
    run_case("sgd_dampening_step", f64, "SGD", sgd_d, step, None, tensors, cases, 2)
    run_case("adam_cosine_clip", f64, "Adam", adam_g, cos, 1.0, tensors, cases, 3)
    run_case("adamw_multistep", f64, "AdamW", adamw_g, multi, None, tensors, cases, 4)
    run_case("adamw_amsgrad_cosine_expwarm", f64, "AdamW", ams_g, cos_exp, None, tensors, cases, 5)
    run_case("adamw_poly_f32", f32, "AdamW", adamw_g, poly, 2.0, tensors, cases, 6)
    run_case("sgd_step_f32", f32, "SGD", sgd_g, step, None, tensors, cases, 7)
    write(tensors, {"cases": json.dumps(cases, separators=(",", ":")), "torch_version": torch.__version__,
                    "generator": "tests/golden/make_optim_golden.py"})


if __name__ == "__main__":
    main()
