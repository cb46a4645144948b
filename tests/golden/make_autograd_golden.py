#!/usr/bin/python3
"""Golden fixtures: PyTorch's gradients for segcore's autograd.

Run by hand from the repository root with the Python that has PyTorch (Debian's python3-torch):

    /usr/bin/python3 tests/golden/make_autograd_golden.py

Writes tests/golden/autograd_grads.safetensors, read by tests/autograd/test_golden_autograd.cpp.
Same file layout as the foundation fixtures (tests/golden/README.md): inputs under descriptive
names, expected outputs as "o<n>", one JSON case per check in "__metadata__".cases.

Cases:
  mlp          a 5 -> 16 -> 3 MLP (gelu or tanh hidden layer) with a cross-entropy built from
               log_softmax and one-hot targets: the loss and the gradients of every weight and of
               the input, in f32 and f64.
  unary.<op>   the gradient of each differentiable unary op for a random upstream gradient, on
               inputs that include the kinks (0 for relu/abs, 6 for relu6, +-3 for hardswish, the
               clamp bounds), where PyTorch's conventions decide the answer.
  reduce.<op>  max/min with ties (the gradient is shared), var/std over dim sets.
  binary.<op>  maximum/minimum with ties (each side gets half), mul/div with broadcasting.
  matmul       batched and broadcast matmul gradients (sum over broadcast batch dims).

tests/golden/autograd_conv.safetensors (tests/kernels/test_golden_conv.cpp):
  conv2d       forward, input, weight and bias gradients of torch.nn.functional.conv2d over
               stride, padding, dilation, groups (depthwise, grouped), pointwise and asymmetric
               kernels, in f32 and f64.
  conv_transpose2d  the same for torch.nn.functional.conv_transpose2d, incl. output_padding,
               groups and dilation (U-Net/FCN up-convolutions).

tests/golden/autograd_norm.safetensors (tests/kernels/test_golden_norm.cpp):
  batch_norm   torch.nn.functional.batch_norm in training (batch statistics, running-stat update
               with momentum) and eval mode, optionally followed by relu / relu6: output, updated
               running mean/var, and input/weight/bias gradients; f32 and f64.

tests/golden/autograd_pool.safetensors (tests/kernels/test_golden_pool.cpp), make_pool_resize:
  max_pool2d (values, indices, ties, NaN, ceil_mode, dilation), max_unpool2d, avg_pool2d
  (count_include_pad, ceil_mode), adaptive_avg_pool2d (PSP bins) and interpolate (bilinear with and
  without align_corners, by size and by scale factor; nearest, nearest-exact): forward and input
  gradient, in f32 and f64.

tests/golden/loss_ce.safetensors (tests/kernels/test_golden_loss_ce.cpp), make_loss_ce:
  cross_entropy (weight, ignore_index, label_smoothing, reduction), a focal-loss composite, the
  distillation KL (kl_div of log_softmax / softmax, times T^2, per-pixel mean) and mmseg's OHEM
  selection: loss and logits gradient, in f32 and f64.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_foundation_golden import DT_NAME, Fixture  # noqa: E402

F32, F64 = torch.float32, torch.float64
GEN = "tests/golden/make_autograd_golden.py"


def rnd(shape, seed, lo=-2.0, hi=2.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g, dtype=F64) * (hi - lo) + lo)


def grads_of(fn, inputs, dy=None):
    """Output and gradients of fn at the inputs (all requiring grad)."""
    xs = [x.clone().requires_grad_(True) for x in inputs]
    y = fn(*xs)
    y.backward(dy if dy is not None else torch.ones_like(y))
    return y.detach(), [x.grad.detach() for x in xs]


def make(fx):
    # ---- MLP ----
    for act in ("gelu", "tanh"):
        for dt in (F32, F64):
            d = DT_NAME[dt]
            x = fx.add(f"{d}/mlp_{act}/x", rnd((8, 5), 1).to(dt))
            w1 = fx.add(f"{d}/mlp_{act}/w1", rnd((16, 5), 2, -0.5, 0.5).to(dt))
            b1 = fx.add(f"{d}/mlp_{act}/b1", rnd((16,), 3, -0.5, 0.5).to(dt))
            w2 = fx.add(f"{d}/mlp_{act}/w2", rnd((3, 16), 4, -0.5, 0.5).to(dt))
            b2 = fx.add(f"{d}/mlp_{act}/b2", rnd((3,), 5, -0.5, 0.5).to(dt))
            labels = torch.tensor([0, 2, 1, 1, 0, 2, 2, 1])
            onehot = fx.add(f"{d}/mlp_{act}/onehot", torch.nn.functional.one_hot(labels, 3).to(dt))
            t = fx.tensors
            f = torch.nn.functional.gelu if act == "gelu" else torch.tanh

            def mlp(xx, a1, c1, a2, c2):
                h = f(xx @ a1.t() + c1)
                logits = h @ a2.t() + c2
                return -(torch.log_softmax(logits, 1) * t[onehot]).sum(1).mean()

            loss, gs = grads_of(mlp, [t[x], t[w1], t[b1], t[w2], t[b2]])
            # Cross-check against PyTorch's own cross_entropy: the one-hot form must agree.
            h = f(t[x] @ t[w1].t() + t[b1])
            ce = torch.nn.functional.cross_entropy(h @ t[w2].t() + t[b2], labels)
            assert torch.allclose(ce, loss, atol=1e-6), (ce, loss)
            fx.case("mlp", dt, {"activation": act},
                    {"x": x, "w1": w1, "b1": b1, "w2": w2, "b2": b2, "onehot": onehot},
                    {"loss": fx.out(loss), "gx": fx.out(gs[0]), "gw1": fx.out(gs[1]), "gb1": fx.out(gs[2]),
                     "gw2": fx.out(gs[3]), "gb2": fx.out(gs[4])})

    # ---- unary gradients at and around the kinks ----
    kinks = torch.tensor([0.0, -0.0, 6.0, 3.0, -3.0, 1.0, -1.0, 0.5, -0.5, 2.9, -2.9, 6.1, 5.9])
    base = torch.cat([kinks, rnd((30,), 7, -7, 7)])
    pos = torch.cat([torch.tensor([1.0, 0.25, 4.0]), rnd((40,), 8, 0.1, 5)])  # same length as base
    unary = [
        ("relu", {}, base, torch.relu), ("relu6", {}, base, torch.nn.functional.relu6),
        ("leaky_relu", {"negative_slope": 0.2}, base, lambda v: torch.nn.functional.leaky_relu(v, 0.2)),
        ("abs", {}, base, torch.abs), ("neg", {}, base, torch.neg),
        ("hardswish", {}, base, torch.nn.functional.hardswish),
        ("gelu", {"approximate": "none"}, base, torch.nn.functional.gelu),
        ("gelu", {"approximate": "tanh"}, base, lambda v: torch.nn.functional.gelu(v, approximate="tanh")),
        ("sigmoid", {}, base, torch.sigmoid), ("tanh", {}, base, torch.tanh), ("exp", {}, base, torch.exp),
        ("square", {}, base, torch.square),
        ("clamp", {"min": -1.0, "max": 1.0}, base, lambda v: torch.clamp(v, -1.0, 1.0)),
        ("pow", {"exponent": 3.0}, base, lambda v: torch.pow(v, 3.0)),
        ("log", {}, pos, torch.log), ("sqrt", {}, pos, torch.sqrt), ("rsqrt", {}, pos, torch.rsqrt),
        ("pow", {"exponent": 0.5}, pos, lambda v: torch.pow(v, 0.5)),
        ("pow", {"exponent": -1.5}, pos, lambda v: torch.pow(v, -1.5)),
    ]
    for dt in (F32, F64):
        d = DT_NAME[dt]
        xb = fx.add(f"{d}/unary/x", base.to(dt))
        xp = fx.add(f"{d}/unary/pos", pos.to(dt))
        dy = fx.add(f"{d}/unary/dy", rnd(base.shape, 9).to(dt))
        for op, params, src, fn in unary:
            xin = xb if src is base else xp
            _, (gx,) = grads_of(fn, [fx.tensors[xin]], fx.tensors[dy])
            fx.case("unary." + op, dt, params, {"x": xin, "dy": dy}, {"dx": fx.out(gx)})

    # ---- reductions with ties, var/std ----
    for dt in (F32, F64):
        d = DT_NAME[dt]
        ties = fx.add(f"{d}/reduce/ties", torch.tensor([[1.0, 3.0, 3.0, 2.0], [5.0, 5.0, 5.0, -1.0],
                                                       [0.0, -2.0, -2.0, 4.0]], dtype=dt))
        x = fx.add(f"{d}/reduce/x", rnd((3, 4, 5), 10).to(dt))
        for op, params, src in [("max", {"dims": [1], "keepdim": False}, ties),
                                ("min", {"dims": [1], "keepdim": True}, ties),
                                ("max", {"dims": [], "keepdim": False}, ties),
                                ("var", {"dims": [0, 2], "correction": 1, "keepdim": False}, x),
                                ("std", {"dims": [1], "correction": 0, "keepdim": True}, x),
                                ("mean", {"dims": [2, 0], "keepdim": False}, x)]:
            dims = params["dims"] or list(range(fx.tensors[src].dim()))
            if op in ("max", "min"):
                fn = (lambda v, dims=dims, k=params["keepdim"], op=op:
                      (torch.amax if op == "max" else torch.amin)(v, dim=dims, keepdim=k))
            elif op == "mean":
                fn = lambda v, dims=dims, k=params["keepdim"]: v.mean(dim=dims, keepdim=k)  # noqa: E731
            else:
                fn = (lambda v, dims=dims, c=params["correction"], k=params["keepdim"], op=op:
                      (torch.var if op == "var" else torch.std)(v, dim=dims, correction=c, keepdim=k))
            y, (gx,) = grads_of(fn, [fx.tensors[src]])
            dy = fx.add(f"{d}/reduce/dy{len(fx.cases)}", rnd(y.shape, 11 + len(fx.cases)).to(dt))
            _, (gx,) = grads_of(fn, [fx.tensors[src]], fx.tensors[dy])
            fx.case("reduce." + op, dt, params, {"x": src, "dy": dy}, {"dx": fx.out(gx)})

    # ---- binary with ties and broadcasting ----
    for dt in (F32, F64):
        d = DT_NAME[dt]
        a = fx.add(f"{d}/binary/a", torch.tensor([[1.0, 2.0, 3.0], [4.0, -1.0, 0.5]], dtype=dt))
        b = fx.add(f"{d}/binary/b", torch.tensor([2.0, 2.0, 0.5], dtype=dt))
        dy = fx.add(f"{d}/binary/dy", rnd((2, 3), 12).to(dt))
        for op, fn in [("maximum", torch.maximum), ("minimum", torch.minimum), ("mul", torch.mul),
                       ("div", torch.div)]:
            _, (ga, gb) = grads_of(fn, [fx.tensors[a], fx.tensors[b]], fx.tensors[dy])
            fx.case("binary." + op, dt, {}, {"a": a, "b": b, "dy": dy}, {"da": fx.out(ga), "db": fx.out(gb)})

    # ---- matmul with broadcast batches ----
    for dt in (F32, F64):
        d = DT_NAME[dt]
        for tag, sa, sb in [("batched", (2, 3, 4), (2, 4, 5)), ("bcast_b", (2, 3, 4), (4, 5)),
                            ("bcast_both", (2, 1, 3, 4), (3, 4, 2)), ("vec_mat", (4,), (2, 4, 3))]:
            a = fx.add(f"{d}/matmul/{tag}/a", rnd(sa, 13).to(dt))
            b = fx.add(f"{d}/matmul/{tag}/b", rnd(sb, 14).to(dt))
            y, _ = grads_of(torch.matmul, [fx.tensors[a], fx.tensors[b]])
            dy = fx.add(f"{d}/matmul/{tag}/dy", rnd(y.shape, 15).to(dt))
            _, (ga, gb) = grads_of(torch.matmul, [fx.tensors[a], fx.tensors[b]], fx.tensors[dy])
            fx.case("matmul", dt, {"shape": tag}, {"a": a, "b": b, "dy": dy}, {"da": fx.out(ga), "db": fx.out(gb)})


def make_conv(fx):
    configs = [  # x shape, w shape, stride, padding, dilation, groups
        ("same", (2, 3, 7, 9), (4, 3, 3, 3), (1, 1), (1, 1), (1, 1), 1),
        ("stride2", (1, 4, 11, 6), (6, 4, 3, 3), (2, 2), (1, 1), (1, 1), 1),
        ("atrous2", (2, 3, 9, 10), (5, 3, 3, 3), (1, 1), (2, 2), (2, 2), 1),
        ("atrous6", (1, 2, 13, 13), (3, 2, 3, 3), (1, 1), (6, 6), (6, 6), 1),
        ("depthwise", (2, 6, 8, 7), (6, 1, 3, 3), (1, 1), (1, 1), (1, 1), 6),
        ("groups2", (1, 6, 8, 8), (4, 3, 3, 3), (2, 2), (1, 1), (1, 1), 2),
        ("pointwise", (3, 5, 6, 7), (7, 5, 1, 1), (1, 1), (0, 0), (1, 1), 1),
        ("asym", (1, 2, 12, 10), (3, 2, 5, 3), (3, 1), (2, 2), (1, 2), 1),
        ("k7x1", (2, 3, 5, 8), (2, 3, 7, 1), (1, 1), (3, 0), (1, 1), 1),
    ]
    for dt in (F32, F64):
        d = DT_NAME[dt]
        for i, (tag, sx, sw, stride, pad, dil, groups) in enumerate(configs):
            x = fx.add(f"{d}/conv/{tag}/x", rnd(sx, 100 + i, -1, 1).to(dt))
            w = fx.add(f"{d}/conv/{tag}/w", rnd(sw, 200 + i, -1, 1).to(dt))
            b = fx.add(f"{d}/conv/{tag}/b", rnd((sw[0],), 300 + i, -1, 1).to(dt))

            def conv(xx, ww, bb, stride=stride, pad=pad, dil=dil, groups=groups):
                return torch.nn.functional.conv2d(xx, ww, bb, stride=stride, padding=pad, dilation=dil, groups=groups)

            y, _ = grads_of(conv, [fx.tensors[x], fx.tensors[w], fx.tensors[b]])
            dy = fx.add(f"{d}/conv/{tag}/dy", rnd(y.shape, 400 + i).to(dt))
            y, (gx, gw, gb) = grads_of(conv, [fx.tensors[x], fx.tensors[w], fx.tensors[b]], fx.tensors[dy])
            fx.case("conv2d", dt, {"stride": list(stride), "padding": list(pad), "dilation": list(dil),
                                   "groups": groups},
                    {"x": x, "w": w, "b": b, "dy": dy},
                    {"y": fx.out(y), "dx": fx.out(gx), "dw": fx.out(gw), "db": fx.out(gb)})


def make_conv_transpose(fx):
    configs = [  # x shape, w shape (Cin, Cout/g, R, S), stride, padding, output_padding, dilation, groups
        ("up2x2", (2, 4, 5, 6), (4, 3, 2, 2), (2, 2), (0, 0), (0, 0), (1, 1), 1),
        ("up3x3p1op1", (1, 3, 4, 5), (3, 2, 3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1),
        ("fcn_up8", (1, 2, 3, 3), (2, 2, 16, 16), (8, 8), (4, 4), (0, 0), (1, 1), 1),
        ("groups", (1, 4, 4, 4), (4, 3, 3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 2),
        ("dilated", (2, 2, 5, 4), (2, 3, 3, 2), (1, 2), (2, 1), (0, 1), (2, 1), 1),
    ]
    for dt in (F32, F64):
        d = DT_NAME[dt]
        for i, (tag, sx, sw, stride, pad, opad, dil, groups) in enumerate(configs):
            x = fx.add(f"{d}/convT/{tag}/x", rnd(sx, 500 + i, -1, 1).to(dt))
            w = fx.add(f"{d}/convT/{tag}/w", rnd(sw, 600 + i, -1, 1).to(dt))
            b = fx.add(f"{d}/convT/{tag}/b", rnd((sw[1] * groups,), 700 + i, -1, 1).to(dt))

            def convt(xx, ww, bb, stride=stride, pad=pad, opad=opad, dil=dil, groups=groups):
                return torch.nn.functional.conv_transpose2d(xx, ww, bb, stride=stride, padding=pad,
                                                            output_padding=opad, groups=groups, dilation=dil)

            y, _ = grads_of(convt, [fx.tensors[x], fx.tensors[w], fx.tensors[b]])
            dy = fx.add(f"{d}/convT/{tag}/dy", rnd(y.shape, 800 + i).to(dt))
            y, (gx, gw, gb) = grads_of(convt, [fx.tensors[x], fx.tensors[w], fx.tensors[b]], fx.tensors[dy])
            fx.case("conv_transpose2d", dt, {"stride": list(stride), "padding": list(pad),
                                             "output_padding": list(opad), "dilation": list(dil), "groups": groups},
                    {"x": x, "w": w, "b": b, "dy": dy},
                    {"y": fx.out(y), "dx": fx.out(gx), "dw": fx.out(gw), "db": fx.out(gb)})


def make_norm(fx):
    acts = {"none": lambda t: t, "relu": torch.relu, "relu6": torch.nn.functional.relu6}
    for dt in (F32, F64):
        d = DT_NAME[dt]
        for i, (shape, training, act) in enumerate([((4, 3, 5, 7), True, "none"), ((4, 3, 5, 7), False, "none"),
                                                    ((2, 5, 6, 4), True, "relu"), ((3, 4, 1, 1), True, "relu6"),
                                                    ((2, 3, 4, 5), False, "relu")]):
            tag = f"{d}/bn{i}"
            c = shape[1]
            x = fx.add(f"{tag}/x", rnd(shape, 900 + i, -3, 5).to(dt))
            w = fx.add(f"{tag}/w", rnd((c,), 910 + i, 0.5, 1.5).to(dt))
            b = fx.add(f"{tag}/b", rnd((c,), 920 + i, -0.5, 0.5).to(dt))
            rm = fx.add(f"{tag}/rm", rnd((c,), 930 + i, -1, 1).to(dt))
            rv = fx.add(f"{tag}/rv", rnd((c,), 940 + i, 0.5, 2).to(dt))
            dy = fx.add(f"{tag}/dy", rnd(shape, 950 + i).to(dt))
            rm_after, rv_after = fx.tensors[rm].clone(), fx.tensors[rv].clone()

            def bn(xx, ww, bb, training=training, act=act):
                return acts[act](torch.nn.functional.batch_norm(xx, rm_after, rv_after, ww, bb, training=training,
                                                                momentum=0.1, eps=1e-5))

            y, (gx, gw, gb) = grads_of(bn, [fx.tensors[x], fx.tensors[w], fx.tensors[b]], fx.tensors[dy])
            fx.case("batch_norm", dt, {"training": training, "act": act, "momentum": 0.1, "eps": 1e-5},
                    {"x": x, "w": w, "b": b, "rm": rm, "rv": rv, "dy": dy},
                    {"y": fx.out(y), "rm": fx.out(rm_after), "rv": fx.out(rv_after), "dx": fx.out(gx),
                     "dw": fx.out(gw), "db": fx.out(gb)})


def make_pool_resize(fx):
    """tests/golden/autograd_pool.safetensors (tests/kernels/test_golden_pool.cpp): forward and
    input gradient of max_pool2d (with indices; ties keep the first maximum, NaN propagates),
    max_unpool2d (SegNet, overlapping windows), avg_pool2d (count_include_pad, ceil_mode),
    adaptive_avg_pool2d (PSP bins 1, 2, 3, 6, uneven and upsampling bins) and interpolate
    (bilinear with and without align_corners, by size and by scale factor; nearest, nearest-exact)."""
    fn = torch.nn.functional
    maxp = [  # tag, x shape, kernel, stride, padding, dilation, ceil_mode, input kind
        ("k2s2", (2, 2, 8, 9), (2, 2), (2, 2), (0, 0), (1, 1), False, "rand"),
        ("k3s2p1", (1, 2, 11, 13), (3, 3), (2, 2), (1, 1), (1, 1), False, "rand"),
        ("k3s2ceil", (2, 2, 10, 7), (3, 3), (2, 2), (0, 0), (1, 1), True, "rand"),
        ("k3s2p1ceil", (1, 3, 9, 10), (3, 3), (2, 2), (1, 1), (1, 1), True, "rand"),
        ("dil2", (1, 2, 12, 11), (3, 3), (1, 1), (1, 1), (2, 2), False, "rand"),
        ("rect", (1, 2, 7, 10), (2, 3), (1, 2), (1, 0), (1, 1), True, "rand"),
        ("one", (2, 3, 1, 1), (1, 1), (1, 1), (0, 0), (1, 1), False, "rand"),
        ("ties", (1, 3, 9, 8), (3, 3), (2, 2), (1, 1), (1, 1), False, "ties"),
        ("nan", (1, 2, 6, 7), (3, 3), (2, 2), (1, 1), (1, 1), True, "nan"),
    ]
    for dt in (F32, F64):
        d = DT_NAME[dt]
        for i, (tag, sx, k, s, p, dil, ceil, kind) in enumerate(maxp):
            v = rnd(sx, 500 + i)
            if kind == "ties":
                v = torch.floor(rnd(sx, 500 + i, 0, 3))  # values 0, 1, 2: many tied maxima
            if kind == "nan":
                v = v.clone()
                v[0, 0, 1, 1] = float("nan")
                v[0, 0, 1, 2] = float("nan")  # two NaNs in one window: PyTorch keeps the later index
                v[0, 1, 4, 5] = float("nan")
            x = fx.add(f"{d}/maxpool/{tag}/x", v.to(dt))

            def mp(xx, k=k, s=s, p=p, dil=dil, ceil=ceil):
                return fn.max_pool2d(xx, k, s, p, dil, ceil_mode=ceil)

            y, _ = grads_of(mp, [fx.tensors[x]])
            _, idx = fn.max_pool2d(fx.tensors[x], k, s, p, dil, ceil_mode=ceil, return_indices=True)
            dy = fx.add(f"{d}/maxpool/{tag}/dy", rnd(y.shape, 600 + i).to(dt))
            y, (gx,) = grads_of(mp, [fx.tensors[x]], fx.tensors[dy])
            fx.case("max_pool2d", dt, {"kernel": list(k), "stride": list(s), "padding": list(p),
                                       "dilation": list(dil), "ceil_mode": ceil},
                    {"x": x, "dy": dy}, {"y": fx.out(y), "indices": fx.out(idx), "dx": fx.out(gx)})
            if tag in ("k2s2", "k3s2p1", "ties"):  # SegNet decoder: unpool decoder features
                u = fx.add(f"{d}/maxpool/{tag}/unpool_x", rnd(idx.shape, 700 + i).to(dt))
                uy, _ = grads_of(lambda t, idx=idx, sx=sx: fn.max_unpool2d(t, idx, k, s, p, output_size=sx[2:]),
                                 [fx.tensors[u]])
                udy = fx.add(f"{d}/maxpool/{tag}/unpool_dy", rnd(uy.shape, 800 + i).to(dt))
                uy, (ugx,) = grads_of(lambda t, idx=idx, sx=sx: fn.max_unpool2d(t, idx, k, s, p, output_size=sx[2:]),
                                      [fx.tensors[u]], fx.tensors[udy])
                fx.case("max_unpool2d", dt, {"out_size": list(sx[2:])},
                        {"x": u, "indices": fx.out(idx), "dy": udy}, {"y": fx.out(uy), "dx": fx.out(ugx)})

    avgp = [  # tag, x shape, kernel, stride, padding, ceil_mode, count_include_pad
        ("k2s2", (2, 2, 8, 9), (2, 2), (2, 2), (0, 0), False, True),
        ("k3s2p1_incl", (1, 2, 11, 13), (3, 3), (2, 2), (1, 1), False, True),
        ("k3s2p1_excl", (1, 2, 11, 13), (3, 3), (2, 2), (1, 1), False, False),
        ("k3s2ceil", (2, 2, 10, 7), (3, 3), (2, 2), (0, 0), True, True),
        ("k3s2p1ceil_excl", (1, 3, 9, 10), (3, 3), (2, 2), (1, 1), True, False),
        ("k3s2p1ceil_incl", (1, 3, 9, 10), (3, 3), (2, 2), (1, 1), True, True),
        ("rect", (1, 2, 7, 10), (3, 2), (2, 1), (1, 1), False, True),
        ("one", (2, 3, 1, 1), (1, 1), (1, 1), (0, 0), False, True),
    ]
    for dt in (F32, F64):
        d = DT_NAME[dt]
        for i, (tag, sx, k, s, p, ceil, cip) in enumerate(avgp):
            x = fx.add(f"{d}/avgpool/{tag}/x", rnd(sx, 900 + i).to(dt))

            def ap(xx, k=k, s=s, p=p, ceil=ceil, cip=cip):
                return fn.avg_pool2d(xx, k, s, p, ceil_mode=ceil, count_include_pad=cip)

            y, _ = grads_of(ap, [fx.tensors[x]])
            dy = fx.add(f"{d}/avgpool/{tag}/dy", rnd(y.shape, 1000 + i).to(dt))
            y, (gx,) = grads_of(ap, [fx.tensors[x]], fx.tensors[dy])
            fx.case("avg_pool2d", dt, {"kernel": list(k), "stride": list(s), "padding": list(p), "ceil_mode": ceil,
                                       "count_include_pad": cip},
                    {"x": x, "dy": dy}, {"y": fx.out(y), "dx": fx.out(gx)})

    adap = [  # tag, x shape, output size
        ("psp1", (1, 2, 13, 17), (1, 1)), ("psp2", (1, 2, 13, 17), (2, 2)), ("psp3", (1, 2, 13, 17), (3, 3)),
        ("psp6", (1, 2, 13, 17), (6, 6)), ("same", (1, 2, 6, 6), (6, 6)), ("uneven", (1, 2, 5, 7), (3, 4)),
        ("up", (1, 1, 3, 3), (5, 4)),
    ]
    for dt in (F32, F64):
        d = DT_NAME[dt]
        for i, (tag, sx, o) in enumerate(adap):
            x = fx.add(f"{d}/adaptive/{tag}/x", rnd(sx, 1100 + i).to(dt))
            y, _ = grads_of(lambda t, o=o: fn.adaptive_avg_pool2d(t, o), [fx.tensors[x]])
            dy = fx.add(f"{d}/adaptive/{tag}/dy", rnd(y.shape, 1200 + i).to(dt))
            y, (gx,) = grads_of(lambda t, o=o: fn.adaptive_avg_pool2d(t, o), [fx.tensors[x]], fx.tensors[dy])
            fx.case("adaptive_avg_pool2d", dt, {"out_size": list(o)}, {"x": x, "dy": dy},
                    {"y": fx.out(y), "dx": fx.out(gx)})

    interp = [  # tag, x shape, mode, align_corners (None for nearest), size or None, scale or None
        ("bil_x2", (1, 2, 5, 7), "bilinear", False, (10, 14), None),
        ("bil_x2_ac", (1, 2, 5, 7), "bilinear", True, (10, 14), None),
        ("bil_down", (1, 2, 11, 13), "bilinear", False, (5, 6), None),
        ("bil_down_ac", (1, 2, 11, 13), "bilinear", True, (5, 6), None),
        ("bil_out1", (1, 2, 6, 5), "bilinear", False, (1, 1), None),
        ("bil_out1_ac", (1, 2, 6, 5), "bilinear", True, (1, 1), None),
        ("bil_in1", (1, 2, 1, 1), "bilinear", False, (3, 4), None),
        ("bil_s1.5", (1, 2, 7, 9), "bilinear", False, None, (1.5, 1.5)),
        ("bil_s0.7", (1, 1, 11, 10), "bilinear", False, None, (0.7, 0.7)),
        ("bil_s2.3", (1, 2, 4, 5), "bilinear", False, None, (2.3, 2.3)),
        ("bil_s8", (1, 1, 3, 4), "bilinear", False, None, (8.0, 8.0)),
        ("bil_s3_ac", (1, 2, 4, 5), "bilinear", True, None, (3.0, 3.0)),
        ("bil_s1.01", (1, 1, 10, 9), "bilinear", False, None, (1.01, 1.05)),
        ("near_x2", (1, 2, 5, 7), "nearest", None, (10, 14), None),
        ("near_x3", (1, 2, 5, 7), "nearest", None, (15, 21), None),
        ("near_down", (1, 2, 11, 13), "nearest", None, (5, 6), None),
        ("near_s1.7", (1, 2, 7, 9), "nearest", None, None, (1.7, 1.7)),
        ("near_s0.6", (1, 1, 11, 10), "nearest", None, None, (0.6, 0.6)),
        ("nex_x3", (1, 2, 5, 7), "nearest-exact", None, (15, 21), None),
        ("nex_down", (1, 2, 11, 13), "nearest-exact", None, (5, 6), None),
        ("nex_s1.7", (1, 2, 7, 9), "nearest-exact", None, None, (1.7, 1.7)),
    ]
    for dt in (F32, F64):
        d = DT_NAME[dt]
        for i, (tag, sx, mode, ac, size, scale) in enumerate(interp):
            x = fx.add(f"{d}/interp/{tag}/x", rnd(sx, 1300 + i).to(dt))

            def it(t, mode=mode, ac=ac, size=size, scale=scale):
                return fn.interpolate(t, size=size, scale_factor=scale, mode=mode, align_corners=ac)

            y, _ = grads_of(it, [fx.tensors[x]])
            dy = fx.add(f"{d}/interp/{tag}/dy", rnd(y.shape, 1400 + i).to(dt))
            y, (gx,) = grads_of(it, [fx.tensors[x]], fx.tensors[dy])
            params = {"mode": mode, "align_corners": bool(ac)}
            if size is not None:
                params["size"] = list(size)
            else:
                params["scale"] = list(scale)
            fx.case("interpolate", dt, params, {"x": x, "dy": dy}, {"y": fx.out(y), "dx": fx.out(gx)})


def make_loss_ce(fx):
    """tests/golden/loss_ce.safetensors (tests/kernels/test_golden_loss_ce.cpp): the fused per-pixel
    losses against PyTorch, loss and logits gradient for an upstream gradient dy, f32 and f64:
      cross_entropy  F.cross_entropy with weight / ignore_index / label_smoothing / reduction;
      focal          -alpha_y (1 - p_y)^gamma log p_y from log_softmax + gather, mean over valid pixels;
      kd             F.kl_div(log_softmax(s/T), softmax(t/T), reduction="none").sum(1) * T^2, mean over
                     the pixels (optionally those whose label is not ignore_index);
      ohem           mmseg's OHEMPixelSampler rule (sort, threshold = max(sorted[min(min_kept * N, V - 1)],
                     thresh), keep p < threshold), then the weighted CE mean over the kept pixels."""
    fn = torch.nn.functional
    shape, c = (2, 5, 4, 6), 5

    def labels_of(seed, ignore):
        g = torch.Generator().manual_seed(seed)
        y = torch.randint(0, c, (2, 4, 6), generator=g)
        y[torch.rand((2, 4, 6), generator=g) < 0.2] = ignore
        return y

    for dt in (F32, F64):
        d = DT_NAME[dt]
        i = 0
        for weighted in (False, True):
            for eps in (0.0, 0.1):
                for red in ("mean", "sum", "none"):
                    for ignore in ((255, -100) if red == "mean" and not weighted else (255,)):
                        tag = f"{d}/ce{i}"
                        x = fx.add(f"{tag}/x", rnd(shape, 1000 + i, -4, 4).to(dt))
                        y = fx.add(f"{tag}/y", labels_of(1100 + i, ignore))
                        ins = {"x": x, "y": y}
                        w = None
                        if weighted:
                            ins["w"] = fx.add(f"{tag}/w", rnd((c,), 1200 + i, 0.2, 2).to(dt))
                            w = fx.tensors[ins["w"]]
                        dy_shape = (2, 4, 6) if red == "none" else ()
                        ins["dy"] = fx.add(f"{tag}/dy", rnd(dy_shape, 1300 + i, 0.5, 1.5).to(dt))

                        def ce(xx, w=w, eps=eps, red=red, ignore=ignore, y=fx.tensors[y]):
                            return fn.cross_entropy(xx, y, weight=w, ignore_index=ignore, reduction=red,
                                                    label_smoothing=eps)

                        loss, (gx,) = grads_of(ce, [fx.tensors[x]], fx.tensors[ins["dy"]])
                        fx.case("cross_entropy", dt, {"weighted": weighted, "label_smoothing": eps, "reduction": red,
                                                      "ignore_index": ignore}, ins, {"loss": fx.out(loss), "dx": fx.out(gx)})
                        i += 1
        for j, (gamma, per_class) in enumerate([(2.0, True), (0.5, False), (0.0, True)]):
            tag = f"{d}/focal{j}"
            x = fx.add(f"{tag}/x", rnd(shape, 1400 + j, -4, 4).to(dt))
            y = fx.add(f"{tag}/y", labels_of(1450 + j, 255))
            a = fx.add(f"{tag}/alpha", rnd((c,), 1500 + j, 0.1, 1).to(dt)) if per_class else None
            alpha = fx.tensors[a] if per_class else torch.full((c,), 0.25, dtype=dt)
            yy = fx.tensors[y]

            def focal(xx, yy=yy, alpha=alpha, gamma=gamma):
                valid = yy != 255
                yv = torch.where(valid, yy, torch.zeros_like(yy))
                logp = fn.log_softmax(xx, 1).gather(1, yv.unsqueeze(1)).squeeze(1)
                fl = -alpha[yv] * (1 - logp.exp()) ** gamma * logp
                return (fl * valid).sum() / valid.sum()

            loss, (gx,) = grads_of(focal, [fx.tensors[x]])
            ins = {"x": x, "y": y}
            if per_class:
                ins["alpha"] = a
            fx.case("focal_loss", dt, {"gamma": gamma, "alpha_scalar": 0.25, "per_class": per_class}, ins,
                    {"loss": fx.out(loss), "dx": fx.out(gx)})
        for j, (temp, masked) in enumerate([(1.0, False), (4.0, False), (2.0, True)]):
            tag = f"{d}/kd{j}"
            s_ = fx.add(f"{tag}/s", rnd(shape, 1600 + j, -5, 5).to(dt))
            t_ = fx.add(f"{tag}/t", rnd(shape, 1650 + j, -5, 5).to(dt))
            y = fx.add(f"{tag}/y", labels_of(1700 + j, 255))
            teacher, yy = fx.tensors[t_], fx.tensors[y]

            def kd(ss, teacher=teacher, temp=temp, masked=masked, yy=yy):
                kl = fn.kl_div(fn.log_softmax(ss / temp, 1), fn.softmax(teacher / temp, 1), reduction="none").sum(1)
                if masked:
                    valid = yy != 255
                    return (kl * valid).sum() / valid.sum() * temp * temp
                return kl.mean() * temp * temp

            loss, (gx,) = grads_of(kd, [fx.tensors[s_]])
            fx.case("kd_loss", dt, {"temperature": temp, "masked": masked}, {"s": s_, "t": t_, "y": y},
                    {"loss": fx.out(loss), "dx": fx.out(gx)})
        for j, (thresh, min_kept, weighted) in enumerate([(0.7, 5, False), (0.3, 20, True), (0.05, 1000, False)]):
            tag = f"{d}/ohem{j}"
            x = fx.add(f"{tag}/x", rnd(shape, 1800 + j, -3, 3).to(dt))
            y = fx.add(f"{tag}/y", labels_of(1850 + j, 255))
            yy = fx.tensors[y]
            w = fx.tensors[fx.add(f"{tag}/w", rnd((c,), 1900 + j, 0.5, 2).to(dt))] if weighted else None
            with torch.no_grad():  # mmseg's OHEMPixelSampler.sample
                valid = yy != 255
                prob = fn.softmax(fx.tensors[x], 1).gather(1, torch.where(valid, yy, 0).unsqueeze(1)).squeeze(1)
                sort_prob, _ = prob[valid].sort()
                min_thr = sort_prob[min(min_kept * shape[0], sort_prob.numel() - 1)] if sort_prob.numel() else 0.0
                threshold = max(float(min_thr), thresh)
                sel = valid & (prob < threshold)

            def ohem(xx, yy=yy, sel=sel, w=w):
                l = fn.cross_entropy(xx, torch.where(sel, yy, 255), weight=w, ignore_index=255, reduction="sum")
                den = (w[yy[sel]].sum() if w is not None else sel.sum())
                return l / den

            loss, (gx,) = grads_of(ohem, [fx.tensors[x]])
            ins = {"x": x, "y": y}
            if weighted:
                ins["w"] = f"{tag}/w"
            fx.case("ohem_cross_entropy", dt, {"thresh": thresh, "min_kept": min_kept, "kept": int(sel.sum())}, ins,
                    {"loss": fx.out(loss), "dx": fx.out(gx)})


def make_loss_dice(fx):
    """tests/golden/loss_dice.safetensors (tests/kernels/test_golden_loss_dice.cpp): the region losses
    written as torch composites (softmax, one_hot, sums) and differentiated by torch.autograd: loss and
    logits gradient for an upstream gradient dy, f32 and f64.
      dice / generalized_dice / tversky   kernels/loss/dice.h's formulas over the non-ignored pixels,
                     with include_background and classes = all / present;
      lovasz         the reference implementation (Berman et al., lovasz_losses.py: lovasz_grad,
                     lovasz_softmax_flat with per_image = False) written in torch."""
    fn = torch.nn.functional

    def labels_of(shape, c, seed, ignore_frac):
        g = torch.Generator().manual_seed(seed)
        n, h, w = shape[0], shape[2], shape[3]
        y = torch.randint(0, c, (n, h, w), generator=g)
        y[torch.rand((n, h, w), generator=g) < ignore_frac] = 255
        return y

    def sums(x, y):
        p = torch.softmax(x, 1)
        valid = (y != 255)
        g = fn.one_hot(torch.where(valid, y, torch.zeros_like(y)), x.shape[1]).permute(0, 3, 1, 2).to(x.dtype)
        m = valid.unsqueeze(1).to(x.dtype)
        g = g * m
        p = p * m
        return (p * g).sum((0, 2, 3)), p.sum((0, 2, 3)), g.sum((0, 2, 3))

    def counted(G, bg, present):
        k = torch.ones_like(G, dtype=torch.bool)
        if not bg:
            k[0] = False
        if present:
            k = k & (G > 0)
        return k

    def region(x, y, variant, bg, present, smooth, alpha=0.5, beta=0.5, clamp=1.0):
        I, P, G = sums(x, y)
        k = counted(G, bg, present)
        if variant == "generalized_dice":
            w = 1.0 / torch.clamp(G, min=clamp) ** 2
            num = smooth + (2 * w * I)[k].sum()
            den = smooth + (w * (P + G))[k].sum()
            return 1 - num / den
        if variant == "dice":
            r = (2 * I + smooth) / (P + G + smooth)
        else:
            r = (I + smooth) / (I + alpha * (P - I) + beta * (G - I) + smooth)
        return 1 - r[k].mean()

    def lovasz_grad(gt_sorted):
        gts = gt_sorted.sum()
        intersection = gts - gt_sorted.cumsum(0)
        union = gts + (1 - gt_sorted).cumsum(0)
        jaccard = 1.0 - intersection / union
        if len(gt_sorted) > 1:
            jaccard[1:] = jaccard[1:] - jaccard[0:-1]
        return jaccard

    def lovasz(x, y, bg, present):
        probas = torch.softmax(x, 1)
        c = probas.shape[1]
        probas = probas.permute(0, 2, 3, 1).reshape(-1, c)
        labels = y.reshape(-1)
        valid = labels != 255
        probas, labels = probas[valid], labels[valid]
        losses = []
        for cl in range(0 if bg else 1, c):
            fg = (labels == cl).to(x.dtype)
            if present and fg.sum() == 0:
                continue
            errors = (fg - probas[:, cl]).abs()
            errors_sorted, perm = torch.sort(errors, 0, descending=True)
            losses.append(torch.dot(errors_sorted, lovasz_grad(fg[perm])))
        return torch.stack(losses).mean()

    cases = [((2, 4, 5, 6), 0.2, "dice", True, False, 1.0), ((2, 4, 5, 6), 0.2, "dice", False, True, 0.5),
             ((1, 3, 7, 5), 0.0, "dice", True, True, 0.0), ((2, 4, 5, 6), 0.2, "generalized_dice", True, False, 1e-5),
             ((3, 5, 3, 4), 0.1, "generalized_dice", False, True, 1e-3), ((2, 4, 5, 6), 0.2, "tversky", True, False, 1.0),
             ((3, 5, 3, 4), 0.1, "tversky", False, True, 0.1), ((2, 4, 5, 6), 0.2, "lovasz", True, True, 0.0),
             ((3, 5, 3, 4), 0.1, "lovasz", True, False, 0.0), ((1, 3, 7, 5), 0.0, "lovasz", False, True, 0.0)]
    for dt in (F32, F64):
        d = DT_NAME[dt]
        for i, (shape, ign, variant, bg, present, smooth) in enumerate(cases):
            tag = f"{d}/dice{i}"
            x = fx.add(f"{tag}/x", rnd(shape, 1300 + i, -3, 3).to(dt))
            y = fx.add(f"{tag}/y", labels_of(shape, shape[1], 1400 + i, ign))
            dy = fx.add(f"{tag}/dy", torch.tensor(0.75, dtype=dt))
            yy = fx.tensors[y]
            params = {"variant": variant, "include_background": bg, "present_only": present}
            if variant == "lovasz":
                def f(xx, bg=bg, present=present):
                    return lovasz(xx, yy, bg, present)
            else:
                params["smooth"] = smooth
                params["alpha"], params["beta"] = (0.3, 0.7) if variant == "tversky" else (0.5, 0.5)

                def f(xx, variant=variant, bg=bg, present=present, smooth=smooth, a=params["alpha"], b=params["beta"]):
                    return region(xx, yy, variant, bg, present, smooth, a, b)
            loss, (gx,) = grads_of(f, [fx.tensors[x]], fx.tensors[dy])
            fx.case(variant, dt, params, {"x": x, "y": y, "dy": dy}, {"loss": fx.out(loss), "dx": fx.out(gx)})


def main():
    torch.manual_seed(0)
    fx = Fixture("grads", prefix="autograd", generator=GEN)
    make(fx)
    size = fx.write()
    assert size < 200_000, size
    conv = Fixture("conv", prefix="autograd", generator=GEN)
    make_conv(conv)
    make_conv_transpose(conv)
    size = conv.write()
    assert size < 400_000, size
    norm = Fixture("norm", prefix="autograd", generator=GEN)
    make_norm(norm)
    size = norm.write()
    assert size < 100_000, size
    pool = Fixture("pool", prefix="autograd", generator=GEN)
    make_pool_resize(pool)
    size = pool.write()
    assert size < 500_000, size
    loss_ce = Fixture("ce", prefix="loss", generator=GEN)
    make_loss_ce(loss_ce)
    size = loss_ce.write()
    assert size < 300_000, size
    loss_dice = Fixture("dice", prefix="loss", generator=GEN)
    make_loss_dice(loss_dice)
    size = loss_dice.write()
    assert size < 100_000, size


if __name__ == "__main__":
    main()
