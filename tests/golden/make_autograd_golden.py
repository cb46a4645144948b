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


if __name__ == "__main__":
    main()
