#!/usr/bin/python3
"""Golden fixtures: PyTorch's results for segcore's foundation ops.

Run by hand from the repository root, with the Python that has PyTorch (Debian's python3-torch):

    /usr/bin/python3 tests/golden/make_foundation_golden.py

It writes tests/golden/foundation_<family>.safetensors for the families unary, binary, reduce,
softmax, matmul, cast and shape. tests/kernels/test_golden_foundation.cpp loads them with
segcore::load_safetensors, runs segcore's ops on the recorded inputs and compares with the recorded
outputs. Neither CI nor segcore needs PyTorch: the files are committed.

Each file holds the inputs (descriptive names such as "f32/x") and PyTorch's outputs (short generated
names "o17") as tensors, plus a "__metadata__" entry "cases": a JSON list with one object per case,
so the C++ test reads every parameter (op, dims, exponent, dtype, which tensors are inputs and
outputs) from the file instead of repeating it:

    {"op":"unary.pow","dtype":"f16","params":{"exponent":-0.5},"in":{"x":"f16/x"},"out":{"y":"o115"},
     "ref":"f32_rounded"}

"ref" (absent means "torch") says where the expected output came from:
    "torch"        PyTorch's CPU kernel run in that dtype.
    "f32_rounded"  PyTorch's f32 kernel run on the (exactly representable) 16-bit input, the result
                   rounded once to the 16-bit dtype: what PyTorch's CUDA kernels compute (opmath =
                   f32) and what segcore promises (docs/numerics.md). Used where PyTorch 1.13's CPU
                   has no 16-bit kernel or its 16-bit kernel is less accurate than its own f32/CUDA
                   semantics: every computed f16 result; for bf16, pow (PyTorch rounds the exponent
                   to bf16), sum/mean/var/std (PyTorch accumulates strided 16-bit reductions in 16
                   bits) and matmul (PyTorch's CPU bf16 GEMM accumulates in bf16).
                   Exact ops (comparisons, where, max/min, argmax, casts, shape ops) always use
                   PyTorch's own 16-bit result.
Non-finite numbers in params are written as the strings "inf", "-inf", "nan" (JSON has none).

The safetensors package is not needed: the format is written here directly (8-byte little-endian
header length, the JSON header padded with spaces to a multiple of 8, then the raw little-endian
row-major bytes of every tensor in order). Seeds are fixed, so rerunning with the same PyTorch
version reproduces the files byte for byte.

Cases deliberately absent (PyTorch's result is undefined behaviour in C++ or platform dependent):
float -> integer casts of NaN, infinities, out-of-range values and negative values to u8.
"""
import json
import math
import os
import struct
import sys

import torch

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
INF = math.inf
NAN = math.nan

F32, F64, F16, BF16 = torch.float32, torch.float64, torch.float16, torch.bfloat16
FLOATS = [F32, F64, F16, BF16]
DT_NAME = {F32: "f32", F64: "f64", F16: "f16", BF16: "bf16", torch.int32: "i32", torch.int64: "i64",
           torch.uint8: "u8", torch.bool: "bool"}
ST_NAME = {F32: "F32", F64: "F64", F16: "F16", BF16: "BF16", torch.int32: "I32", torch.int64: "I64",
           torch.uint8: "U8", torch.bool: "BOOL"}


def jnum(v):
    """A number for the JSON metadata: non-finite floats become strings."""
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
    return v


def jparams(d):
    return {k: (jnum(v) if not isinstance(v, (list, tuple)) else [jnum(x) for x in v]) for k, v in d.items()}


def tensor_bytes(t):
    t = t.detach().cpu().contiguous()
    if t.dtype in (BF16, F16):
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.bool:
        return t.to(torch.uint8).numpy().tobytes()
    return t.numpy().tobytes()


class Fixture:
    """Tensors plus the list of cases, written as one safetensors file."""

    def __init__(self, family, prefix="foundation", generator="tests/golden/make_foundation_golden.py"):
        self.family = family
        self.prefix = prefix
        self.generator = generator
        self.tensors = {}
        self.cases = []

    def add(self, name, t):
        """An input tensor under a descriptive name; returns the name."""
        assert name not in self.tensors, name
        assert isinstance(t, torch.Tensor)
        self.tensors[name] = t.detach().clone()
        return name

    def out(self, t):
        """An expected output under a short generated name (the case says what it is)."""
        return self.add(f"o{len(self.tensors)}", t)

    def case(self, op, dtype, params, ins, outs, ref="torch"):
        c = {"op": op, "dtype": DT_NAME[dtype], "params": jparams(params), "in": ins, "out": outs}
        if ref != "torch":
            c["ref"] = ref
        self.cases.append(c)

    def write(self):
        header = {}
        blobs = []
        offset = 0
        for name, t in self.tensors.items():
            b = tensor_bytes(t)
            header[name] = {"dtype": ST_NAME[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
            blobs.append(b)
            offset += len(b)
        header["__metadata__"] = {
            "cases": json.dumps(self.cases, separators=(",", ":"), allow_nan=False),
            "generator": self.generator,
            "torch_version": torch.__version__,
            "family": self.family,
        }
        text = json.dumps(header, separators=(",", ":"), allow_nan=False).encode()
        text += b" " * ((8 - len(text) % 8) % 8)
        path = os.path.join(OUT_DIR, f"{self.prefix}_{self.family}.safetensors")
        with open(path, "wb") as f:
            f.write(struct.pack("<Q", len(text)))
            f.write(text)
            for b in blobs:
                f.write(b)
        print(f"{path}: {len(self.cases)} cases, {len(self.tensors)} tensors, {os.path.getsize(path)} bytes")
        return os.path.getsize(path)


def run16(fn, dtype, *xs, force_f32=False):
    """fn on 16-bit inputs: PyTorch's own kernel when it has one (ref "torch"), otherwise (or when
    forced) fn in f32 on the upcast inputs, rounded once to dtype (ref "f32_rounded")."""
    if dtype in (F16, BF16) and not force_f32:
        try:
            return fn(*xs), "torch"
        except RuntimeError as e:
            if "not implemented" not in str(e):
                raise
    if dtype in (F16, BF16):
        out = fn(*[x.float() for x in xs])
        if isinstance(out, tuple):
            return tuple(o.to(dtype) for o in out), "f32_rounded"
        return out.to(dtype), "f32_rounded"
    return fn(*xs), "torch"


# Special values: signed zeros, infinities, NaN, exp/log edge cases, f16 and f32 limits and
# subnormals, large magnitudes. Each float dtype gets them rounded to itself.
SPECIALS = [0.0, -0.0, INF, -INF, NAN, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0, 6.0, -6.0, 2.5, -2.5, 1e-3, -1e-3,
            20.0, -20.0, 88.0, -88.0, 89.0, -104.0, 100.0, -100.0, 710.0, -745.0, 1e5, -1e5, 65504.0, 65520.0, 1e30,
            -1e30, 3e38, -3e38, 1e300, -1e300, 1e-40, -1e-40, 1e-310, 6e-8, -6e-8, 1e-45]


def base_random(shape, seed, scale=1.0, offset=0.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g, dtype=F64) * scale + offset


# --------------------------------------------------------------------------------------------- unary

def make_unary():
    fx = Fixture("unary")
    special64 = torch.tensor(SPECIALS, dtype=F64)
    rand64 = base_random((99,), 1, scale=3.0)
    F = torch.nn.functional

    ops = [
        ("neg", {}, torch.neg),
        ("abs", {}, torch.abs),
        ("exp", {}, torch.exp),
        ("log", {}, torch.log),
        ("sqrt", {}, torch.sqrt),
        ("rsqrt", {}, torch.rsqrt),
        ("sigmoid", {}, torch.sigmoid),
        ("tanh", {}, torch.tanh),
        ("relu", {}, torch.relu),
        ("relu6", {}, F.relu6),
        ("square", {}, torch.square),
    ]
    for slope in (0.01, 0.2):
        ops.append(("leaky_relu", {"negative_slope": slope}, lambda x, s=slope: F.leaky_relu(x, s)))
    ops.append(("hardswish", {}, F.hardswish))
    for approx in ("none", "tanh"):
        ops.append(("gelu", {"approximate": approx}, lambda x, a=approx: F.gelu(x, approximate=a)))
    for lo, hi in ((-1.0, 2.0), (2.0, -1.0), (-0.5, None), (None, 0.5), (0.0, 0.0)):
        ops.append(("clamp", {"min": lo, "max": hi}, lambda x, lo=lo, hi=hi: torch.clamp(x, min=lo, max=hi)))
    for e in (2.0, 3.0, 0.5, -0.5, -1.0, -2.0, 1.5, 0.0, 1.0, 2.5, -3.0, 4.0, -1.5, 1.0 / 3.0):
        ops.append(("pow", {"exponent": e}, lambda x, e=e: torch.pow(x, e)))
    # tensor-scalar arithmetic (ops::add(x, s, alpha), ...)
    ops += [
        ("add_scalar", {"s": 0.1, "alpha": 2.0}, lambda x: torch.add(x, 0.1, alpha=2.0)),
        ("sub_scalar", {"s": 0.3, "alpha": 1.0}, lambda x: torch.sub(x, 0.3)),
        ("mul_scalar", {"s": 0.1}, lambda x: x * 0.1),
        ("div_scalar", {"s": 3.0}, lambda x: x / 3.0),
        ("div_scalar", {"s": 0.0}, lambda x: x / 0.0),
        ("rsub_scalar", {"s": 1.0}, lambda x: 1.0 - x),
        ("rdiv_scalar", {"s": 2.0}, lambda x: 2.0 / x),
        ("maximum_scalar", {"s": 0.5}, lambda x: torch.clamp_min(x, 0.5)),
        ("minimum_scalar", {"s": -0.5}, lambda x: torch.clamp_max(x, -0.5)),
    ]

    # one input per dtype, (9, 11): the special values first, random N(0, 9) values after them
    x64 = torch.cat([special64, rand64[: 99 - len(SPECIALS)]]).reshape(9, 11)
    for dt in FLOATS:
        d = DT_NAME[dt]
        xn = fx.add(f"{d}/x", x64.to(dt))
        x = fx.tensors[xn]
        for op, params, fn in ops:
            # f16: PyTorch 1.13 has few f16 CPU kernels, and its f16 pow uses std::pow without the
            # sqrt/rsqrt special cases of its f32/f64/bf16 CPU and all CUDA kernels.
            # bf16 pow: PyTorch rounds the exponent to bf16 (1/3 -> 0.333984375); segcore keeps it in f32.
            y, ref = run16(fn, dt, x, force_f32=(dt == F16 or (dt == BF16 and op == "pow")))
            fx.case(f"unary.{op}", dt, params, {"x": xn}, {"y": fx.out(y)}, ref)
    return fx.write()


# -------------------------------------------------------------------------------------------- binary

BIN_SPECIALS = [0.0, -0.0, INF, -INF, NAN, 1.0, -1.0, 2.5, -3.0, 1e-40, 3e38, -3e38, 65504.0]


def make_binary():
    fx = Fixture("binary")
    s64 = torch.tensor(BIN_SPECIALS, dtype=F64)
    pairs64 = {
        "special": (s64[:, None], s64[None, :]),                                     # (13,1) x (1,13)
        "bcast": (base_random((3, 5, 4), 2), base_random((5, 1), 3)),             # broadcast inner dims
        "scalar0d": (base_random((3, 7), 4), base_random((), 5)),                 # a 0-dim operand
        "lead": (base_random((5, 1), 6), base_random((2, 1, 4), 7)),              # a grows on the left
    }
    arith = [
        ("add", {"alpha": 1.0}, lambda a, b: torch.add(a, b)),
        ("add", {"alpha": 2.5}, lambda a, b: torch.add(a, b, alpha=2.5)),
        ("sub", {"alpha": 1.0}, lambda a, b: torch.sub(a, b)),
        ("sub", {"alpha": 0.5}, lambda a, b: torch.sub(a, b, alpha=0.5)),
        ("mul", {}, torch.mul),
        ("div", {}, torch.div),
        ("maximum", {}, torch.maximum),
        ("minimum", {}, torch.minimum),
    ]
    cmps = [("eq", torch.eq), ("ne", torch.ne), ("lt", torch.lt), ("le", torch.le), ("gt", torch.gt), ("ge", torch.ge)]

    for dt in FLOATS:
        d = DT_NAME[dt]
        for which, (a64, b64) in pairs64.items():
            an, bn = fx.add(f"{d}/{which}/a", a64.to(dt)), fx.add(f"{d}/{which}/b", b64.to(dt))
            a, b = fx.tensors[an], fx.tensors[bn]
            for op, params, fn in arith:
                # alpha != 1 on special values: PyTorch's vectorised add is fma(b, alpha, a) while its
                # scalar tail is a + alpha*b, so overflow of alpha*b depends on the element's position.
                if which == "special" and params.get("alpha", 1.0) != 1.0:
                    continue
                y, ref = run16(fn, dt, a, b, force_f32=(dt == F16))
                fx.case(f"binary.{op}", dt, params, {"a": an, "b": bn}, {"y": fx.out(y)}, ref)
            if which in ("special", "bcast"):  # comparisons: every special pair, and broadcasting
                for op, fn in cmps:
                    fx.case(f"compare.{op}", dt, {}, {"a": an, "b": bn}, {"y": fx.out(fn(a, b))})

    # comparisons on integer labels and bool masks
    g = torch.Generator().manual_seed(8)
    int_pairs = {
        torch.int64: (torch.randint(0, 5, (2, 3, 5, 7), generator=g), torch.randint(0, 5, (5, 1), generator=g)),
        torch.int32: (torch.tensor([-2**31, -1, 0, 1, 2**31 - 1], dtype=torch.int32)[:, None],
                      torch.tensor([-2**31, -1, 0, 1, 2**31 - 1], dtype=torch.int32)[None, :]),
        torch.uint8: (torch.tensor([0, 1, 127, 128, 254, 255], dtype=torch.uint8)[:, None],
                      torch.tensor([0, 128, 255], dtype=torch.uint8)[None, :]),
        torch.bool: (torch.tensor([False, True])[:, None], torch.tensor([False, True])[None, :]),
    }
    for dt, (a, b) in int_pairs.items():
        d = DT_NAME[dt]
        an, bn = fx.add(f"{d}/a", a), fx.add(f"{d}/b", b)
        for op, fn in cmps:
            fx.case(f"compare.{op}", dt, {}, {"a": an, "b": bn}, {"y": fx.out(fn(a, b))})

    # tensor-scalar comparisons: the scalar is converted to the tensor's dtype first (0.1 rounds to
    # f16/bf16/f32 exactly as PyTorch's wrapped-number rule does); integer labels vs integral scalars.
    # (PyTorch promotes an integer tensor compared with a fractional scalar to float; segcore
    # converts the scalar to the integer dtype: a documented difference, not recorded here.)
    xs64 = torch.tensor([0.1, 0.2, -0.0, 0.0, NAN, INF, -INF, 1.0, 0.09999999, 0.10000001, 255.0], dtype=F64)
    for dt in FLOATS:
        d = DT_NAME[dt]
        xn = fx.add(f"{d}/cmp_scalar/x", xs64.to(dt))
        for sv in (0.1, NAN):
            for op, fn in cmps:
                fx.case(f"compare_scalar.{op}", dt, {"s": sv}, {"a": xn}, {"y": fx.out(fn(fx.tensors[xn], sv))})
    labels = torch.tensor([0, 1, 2, 254, 255, -1, 2**40])
    for dt in (torch.int64, torch.int32, torch.uint8):
        d = DT_NAME[dt]
        v = labels if dt == torch.int64 else labels[:5].to(dt)
        xn = fx.add(f"{d}/cmp_scalar/x", v)
        for sv in (255.0, 2.0):
            for op, fn in cmps:
                fx.case(f"compare_scalar.{op}", dt, {"s": sv}, {"a": xn}, {"y": fx.out(fn(fx.tensors[xn], int(sv)))})

    # where: cond, a and b broadcast together; NaN in the operand that is not selected stays out
    g = torch.Generator().manual_seed(9)
    cond = torch.randn((3, 1, 7), generator=g) > 0
    cn = fx.add("where/cond", cond)
    a64 = base_random((2, 3, 5, 7), 10)
    b64 = base_random((5, 1), 11)
    b64[2, 0] = NAN
    for dt in FLOATS + [torch.int64, torch.int32, torch.uint8, torch.bool]:
        d = DT_NAME[dt]
        if dt.is_floating_point:
            a, b = a64.to(dt), b64.to(dt)
        elif dt == torch.bool:
            a, b = a64 > 0, b64.nan_to_num(0.0) > 0
        else:
            a, b = (a64 * 10).abs().to(dt), (b64.nan_to_num(3.0) * 10).abs().to(dt)
        an, bn = fx.add(f"where/{d}/a", a), fx.add(f"where/{d}/b", b)
        fx.case("where", dt, {}, {"cond": cn, "a": an, "b": bn}, {"y": fx.out(torch.where(cond, a, b))})
        if dt in (F32, torch.int64):
            s = 0.5 if dt == F32 else 7.0
            bt = torch.tensor(s, dtype=dt)
            fx.case("where", dt, {"b_scalar": s}, {"cond": cn, "a": an},
                    {"y": fx.out(torch.where(cond, a, bt))})
    return fx.write()


# -------------------------------------------------------------------------------------------- reduce

def make_reduce():
    fx = Fixture("reduce")
    x64 = base_random((2, 3, 5, 7), 20)
    nan64 = x64.clone()
    for idx in ((0, 1, 2, 3), (1, 0, 0, 0), (1, 2, 4, 6), (1, 2, 4, 2)):
        nan64[idx] = NAN
    g = torch.Generator().manual_seed(21)
    ties64 = torch.randint(-2, 3, (2, 3, 5, 7), generator=g).to(F64)
    big64 = base_random((2, 3, 5, 7), 22, scale=1.0, offset=1e4)  # large mean: cancellation in a naive var
    single64 = base_random((1, 4, 3), 23)

    dim_sets = [[], [0], [-1], [1, 2], [0, 2, 3], [3, 1]]
    keep_sets = [[1], [0, 2, 3]]

    def alldims(x, dims):
        return tuple(range(x.dim())) if not dims else tuple(dims)

    for dt in FLOATS:
        d = DT_NAME[dt]
        names = {"x": fx.add(f"{d}/x", x64.to(dt)), "nan": fx.add(f"{d}/nan", nan64.to(dt)),
                 "ties": fx.add(f"{d}/ties", ties64.to(dt)), "single": fx.add(f"{d}/single", single64.to(dt))}
        if dt in (F32, F64):
            names["big"] = fx.add(f"{d}/big", big64.to(dt))

        def emit(op, params, inp, fn):
            # PyTorch 1.13's CPU sums 16-bit tensors over non-innermost dims in 16-bit precision (e.g. 14 bf16
            # ulps off the rounded exact sum); segcore accumulates in f32, as PyTorch's CUDA kernels do.
            ys, ref = run16(fn, dt, fx.tensors[names[inp]], force_f32=op not in ("max", "min"))
            if not isinstance(ys, tuple):
                ys = (ys,)
            keys = ["y"] if len(ys) == 1 else ["y", "mean"]
            fx.case(f"reduce.{op}", dt, params, {"x": names[inp]}, {k: fx.out(y) for k, y in zip(keys, ys)}, ref)

        for keep in (False, True):
            for dims in (dim_sets if not keep else keep_sets):
                p = {"dims": dims, "keepdim": keep}
                emit("sum", p, "x", lambda x: torch.sum(x, dim=alldims(x, dims), keepdim=keep))
                emit("mean", p, "x", lambda x: torch.mean(x, dim=alldims(x, dims), keepdim=keep))
                emit("max", p, "x", lambda x: torch.amax(x, dim=alldims(x, dims), keepdim=keep))
                emit("min", p, "x", lambda x: torch.amin(x, dim=alldims(x, dims), keepdim=keep))
                for c in (0, 1):
                    emit("var", dict(p, correction=c), "x",
                         lambda x: torch.var(x, dim=alldims(x, dims), unbiased=bool(c), keepdim=keep))
        for dims in ([], [1, 2]):
            for c in (0, 1):
                emit("std", {"dims": dims, "keepdim": False, "correction": c}, "x",
                     lambda x: torch.std(x, dim=alldims(x, dims), unbiased=bool(c)))
        # NaN propagates through max/min/sum; ties in max
        for dims in ([], [1], [0, 2, 3]):
            p = {"dims": dims, "keepdim": False}
            emit("max", p, "nan", lambda x: torch.amax(x, dim=alldims(x, dims)))
            emit("min", p, "nan", lambda x: torch.amin(x, dim=alldims(x, dims)))
            emit("sum", p, "nan", lambda x: torch.sum(x, dim=alldims(x, dims)))
            emit("max", p, "ties", lambda x: torch.amax(x, dim=alldims(x, dims)))
        # var_mean / std_mean (one pass), and a large mean that would cancel a naive E[x^2] - E[x]^2
        for dims in ([1], [0, 2, 3]):
            for c in (0, 1):
                pc = {"dims": dims, "keepdim": dims == [1], "correction": c}
                emit("var_mean", pc, "x", lambda x: torch.var_mean(x, dim=alldims(x, dims), unbiased=bool(c),
                                                                  keepdim=dims == [1]))
                emit("std_mean", pc, "x", lambda x: torch.std_mean(x, dim=alldims(x, dims), unbiased=bool(c),
                                                                  keepdim=dims == [1]))
                if "big" in names:
                    emit("var_mean", pc, "big", lambda x: torch.var_mean(x, dim=alldims(x, dims), unbiased=bool(c),
                                                                        keepdim=dims == [1]))
        # one element per reduction: var with correction 1 divides by 0 (NaN), correction 0 gives 0
        for c in (0, 1):
            emit("var", {"dims": [0], "keepdim": c == 1, "correction": c}, "single",
                 lambda x: torch.var(x, dim=0, unbiased=bool(c), keepdim=c == 1))
            emit("std_mean", {"dims": [0], "keepdim": False, "correction": c}, "single",
                 lambda x: torch.std_mean(x, dim=0, unbiased=bool(c)))
        # empty reductions: sum 0, mean NaN, var NaN (max/min/argmax of nothing are errors in both)
        names["empty"] = fx.add(f"{d}/empty", torch.zeros((2, 0, 3), dtype=dt))
        emit("sum", {"dims": [1], "keepdim": False}, "empty", lambda x: torch.sum(x, dim=1))
        emit("mean", {"dims": [1], "keepdim": True}, "empty", lambda x: torch.mean(x, dim=1, keepdim=True))
        emit("var", {"dims": [1], "keepdim": False, "correction": 1}, "empty", lambda x: torch.var(x, dim=1))

    # argmax: ties (first index wins), NaN (the first NaN wins), flat index, keepdim; all dtypes
    g = torch.Generator().manual_seed(24)
    int_x = torch.randint(0, 4, (2, 3, 5, 7), generator=g)
    arg_inputs = {}
    for dt in FLOATS:
        d = DT_NAME[dt]
        arg_inputs[dt] = [f"{d}/x", f"{d}/nan", f"{d}/ties"]
    for dt in (torch.int32, torch.int64, torch.uint8):
        d = DT_NAME[dt]
        xi = int_x.to(dt) if dt != torch.uint8 else (int_x * 60 + 15).to(dt)
        arg_inputs[dt] = [fx.add(f"{d}/ties", xi)]
    for dt, ins in arg_inputs.items():
        for name in ins:
            x = fx.tensors[name]
            for dim, keep in ((None, False), (None, True), (1, False), (2, True), (-1, False)):
                y = torch.argmax(x, dim=dim, keepdim=keep)
                fx.case("reduce.argmax", dt, {"dim": dim, "keepdim": keep}, {"x": name},
                        {"y": fx.out(y)})
        if not dt.is_floating_point:  # max/min on integers
            name = ins[0]
            x = fx.tensors[name]
            for dims in ([], [1], [0, 2, 3]):
                for op, fn in (("max", torch.amax), ("min", torch.amin)):
                    fx.case(f"reduce.{op}", dt, {"dims": dims, "keepdim": False}, {"x": name},
                            {"y": fx.out(fn(x, dim=alldims(x, dims)))})
    return fx.write()


# ------------------------------------------------------------------------------------------- softmax

def make_softmax():
    fx = Fixture("softmax")
    x64 = base_random((2, 3, 5, 3), 30, scale=2.0)
    large64 = base_random((5, 7), 32, scale=300.0)  # large logits: exp overflows without the max shift
    # rows: large logits, -inf entries, all -inf, huge spread, +inf, NaN
    special64 = torch.tensor([
        [1000.0, 999.0, 998.0, -1000.0, 0.0, 1.0],
        [-INF, 0.0, 1.0, -INF, 2.0, 3.0],
        [-INF, -INF, -INF, -INF, -INF, -INF],
        [88.0, 89.0, 90.0, 100.0, 1e4, -1e4],
        [INF, 0.0, 1.0, 2.0, 3.0, 4.0],
        [NAN, 0.0, 1.0, 2.0, 3.0, 4.0],
    ], dtype=F64)
    # rows offset by large constants: log_softmax must not lose the O(1) result to the rounding of
    # max + log(sum) near 1e4 (f32 spacing there is 1e-3)
    offset64 = torch.tensor([[1e4, 9999.0, 9998.0, 0.0, -1e4], [-5e3, -5001.0, -5002.0, -5003.0, -INF],
                             [3e3, 3e3, 3e3, 3e3, 3e3]], dtype=F64)
    dys64 = base_random((6, 6), 33)
    # backward on the rows whose forward output is finite (or -inf for log_softmax)
    bw_special_rows = [0, 1, 3]

    def fwd(log, dim):
        return lambda x: (torch.log_softmax if log else torch.softmax)(x, dim)

    def bwd(log, dim):
        def f(x, dy):
            x = x.detach().clone().requires_grad_(True)
            y = (torch.log_softmax if log else torch.softmax)(x, dim)
            y.backward(dy)
            return y.detach(), x.grad.detach()
        return f

    for dt in FLOATS:
        d = DT_NAME[dt]
        xs = {"x": x64, "large": large64, "special": special64, "offset": offset64}
        for which, t64 in xs.items():
            xn = fx.add(f"{d}/{which}", t64.to(dt))
            x = fx.tensors[xn]
            if which == "offset":  # forward only, along the rows
                for op, fn in (("softmax", torch.softmax), ("log_softmax", torch.log_softmax)):
                    y, ref = run16(lambda t: fn(t, -1), dt, x)
                    fx.case(f"softmax.{op}", dt, {"dim": -1}, {"x": xn}, {"y": fx.out(y)}, ref)
                continue
            dims = range(-1, x.dim())
            for log in (False, True):
                op = "log_softmax" if log else "softmax"
                for dim in dims:
                    y, ref = run16(fwd(log, dim), dt, x)
                    fx.case(f"softmax.{op}", dt, {"dim": dim}, {"x": xn}, {"y": fx.out(y)}, ref)
                # backward through torch.autograd: dx for upstream dy, given the forward output y
                if which == "special":
                    xb, dyb = x[bw_special_rows], dys64[bw_special_rows].to(dt)
                    bdims = [-1]
                else:
                    xb, dyb = x, base_random(tuple(x.shape), 31).to(dt)
                    bdims = [1, -1] if which == "x" else [1]
                dyn = fx.add(f"{d}/{which}/{op}_dy", dyb)
                for dim in bdims:
                    (y, dx), ref = run16(bwd(log, dim), dt, xb, fx.tensors[dyn])
                    fx.case(f"softmax.{op}_backward", dt, {"dim": dim},
                            {"dy": dyn, "y": fx.out(y)},
                            {"dx": fx.out(dx)}, ref)
    return fx.write()


# -------------------------------------------------------------------------------------------- matmul

def make_matmul():
    fx = Fixture("matmul")
    shapes = [
        ("2d", (5, 7), (7, 3), False),
        ("batched", (2, 5, 7), (2, 7, 3), False),
        ("bcast_a1", (1, 5, 7), (3, 7, 4), False),
        ("bcast_b1", (3, 5, 7), (1, 7, 4), False),
        ("a2d_b3d", (5, 7), (3, 7, 4), False),
        ("a3d_b2d", (3, 5, 7), (7, 4), False),
        ("longk", (3, 129), (129, 4), False),
        ("a_transposed", (7, 5), (7, 3), True),   # a stored as (K, M); the op sees a.t()
        ("a_transposed_batched", (2, 7, 5), (2, 7, 3), True),
        # torch.matmul's 1-D and N-D rules (appended last so the seeds above do not move)
        ("vec_vec", (7,), (7,), False),                       # -> 0-dim
        ("mat_vec", (5, 7), (7,), False),                     # -> (5,)
        ("vec_mat", (7,), (7, 3), False),                     # -> (3,)
        ("batched_vec", (2, 3, 5, 7), (7,), False),           # -> (2, 3, 5)
        ("bcast_4d_3d", (2, 1, 5, 3), (4, 3, 7), False),      # -> (2, 4, 5, 7)
        ("bcast_5d", (2, 1, 3, 2, 4), (1, 2, 1, 4, 3), False),  # -> (2, 2, 3, 2, 3)
    ]
    for i, (name, sa, sb, ta) in enumerate(shapes):
        a64, b64 = base_random(sa, 40 + 2 * i), base_random(sb, 41 + 2 * i)
        for dt in FLOATS:
            d = DT_NAME[dt]
            an, bn = fx.add(f"{d}/{name}/a", a64.to(dt)), fx.add(f"{d}/{name}/b", b64.to(dt))
            a, b = fx.tensors[an], fx.tensors[bn]
            fn = (lambda a, b: torch.matmul(a.transpose(-1, -2), b)) if ta else torch.matmul
            # PyTorch 1.13's CPU bf16 matmul accumulates in bf16 (0.12 off at K = 129); f16 has no CPU kernel.
            y, ref = run16(fn, dt, a, b, force_f32=True)
            fx.case("matmul", dt, {"transpose_a": ta}, {"a": an, "b": bn}, {"y": fx.out(y)}, ref)
    # K = 0: an empty sum, all zeros
    for dt in FLOATS:
        d = DT_NAME[dt]
        an, bn = fx.add(f"{d}/k0/a", torch.zeros((3, 0), dtype=dt)), fx.add(f"{d}/k0/b", torch.zeros((0, 4), dtype=dt))
        fx.case("matmul", dt, {"transpose_a": False}, {"a": an, "b": bn},
                {"y": fx.out(torch.matmul(fx.tensors[an].float(), fx.tensors[bn].float()).to(dt))},
                "torch" if dt in (F32, F64) else "f32_rounded")
    # inf * 0 inside a dot product gives NaN; inf + finite stays inf
    a64 = torch.tensor([[INF, 1.0, 2.0], [1.0, 2.0, 3.0], [NAN, 0.0, 0.0]], dtype=F64)
    b64 = torch.tensor([[0.0, 1.0], [1.0, 1.0], [2.0, -1.0]], dtype=F64)
    for dt in (F32, F64):
        d = DT_NAME[dt]
        an, bn = fx.add(f"{d}/special/a", a64.to(dt)), fx.add(f"{d}/special/b", b64.to(dt))
        fx.case("matmul", dt, {"transpose_a": False}, {"a": an, "b": bn},
                {"y": fx.out(torch.matmul(fx.tensors[an], fx.tensors[bn]))})
    return fx.write()


# ---------------------------------------------------------------------------------------------- cast

def make_cast():
    fx = Fixture("cast")
    I32, I64, U8, BOOL = torch.int32, torch.int64, torch.uint8, torch.bool

    def emit(tag, src, dst_dtype):
        sn = f"{tag}/{DT_NAME[src.dtype]}"
        if sn not in fx.tensors:
            fx.add(sn, src)
        y = fx.tensors[sn].to(dst_dtype)
        fx.case("cast", dst_dtype, {"from": DT_NAME[src.dtype]}, {"x": sn},
                {"y": fx.out(y)})

    # f32 -> f16: ties to even at normal and subnormal steps, the overflow threshold 65520, NaN/inf
    to_f16 = [0.0, -0.0, 1.0, 1 + 2**-11, 1 + 3 * 2**-11, 1 + 2**-11 + 2**-23, 2049.0, 2051.0, 65504.0,
              65519.99609375, 65520.0, 1e5, -1e5, 2**-24, 2**-25, 3 * 2**-25, 2**-25 + 2**-40, 2**-26, 2**-14,
              2**-14 - 2**-25, 2**-14 - 2**-26, INF, -INF, NAN, 1e-40, 0.1, 1 / 3, -2.5e-5, 3e38, -65519.0]
    g = torch.Generator().manual_seed(50)
    bulk = (torch.rand(200, generator=g, dtype=F64) * 2 - 1) * torch.pow(2.0, torch.randint(-26, 17, (200,), generator=g)
                                                                         .to(F64))
    f32_to_f16 = torch.cat([torch.tensor(to_f16, dtype=F32), bulk.to(F32)])
    emit("to_f16", f32_to_f16, F16)
    # f32 -> bf16: ties to even, f32 max rounds to inf, subnormals kept, NaN stays NaN
    to_bf16 = [0.0, -0.0, 1.0, 1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-23, 3.4028234663852886e38, 3.3895313892515355e38,
               3.3961e38, 1e-40, -1e-40, 1e-45, 2**-133 * 3, INF, -INF, NAN, 0.1, 1 / 3, -7.1234, 65504.0]
    bulk = torch.randn(200, generator=g, dtype=F64) * torch.pow(2.0, torch.randint(-130, 120, (200,), generator=g).to(F64))
    emit("to_bf16", torch.cat([torch.tensor(to_bf16, dtype=F32), bulk.to(F32)]), BF16)
    # f64 -> f16 / bf16 / f32: PyTorch goes through f32 (double rounding), f32 overflow and subnormals
    f64_vals = torch.tensor([1 + 2**-11 + 2**-40, 1 + 2**-8 + 2**-40, 1 + 2**-24 + 2**-60, 1e300, -1e300, 1e-310, 1e-46,
                             3.4028235677973366e38, 0.1, NAN, INF, -0.0, 65519.99999999, 2**-25 + 2**-60], dtype=F64)
    for dst in (F16, BF16, F32):
        emit("from_f64", f64_vals, dst)
    # 16-bit -> f32 / f64 (exact), between the 16-bit types, and back: a spread of bit patterns
    bits = list(range(0, 65536, 97)) + [0x0001, 0x03FF, 0x0400, 0x7BFF, 0x7C00, 0x7E00, 0xFC00, 0x8000, 0x8001, 0x3C00,
                                         0x7F80, 0xFF80, 0x7FC0, 0x0080, 0x007F]
    bits_t = torch.tensor([b - 65536 if b >= 32768 else b for b in bits], dtype=torch.int16)
    f16v, bf16v = bits_t.view(F16).clone(), bits_t.view(BF16).clone()
    f16v[torch.isnan(f16v)] = NAN  # canonical quiet NaN (payloads are not part of the contract)
    bf16v[torch.isnan(bf16v)] = NAN
    for dst in (F32, F64, BF16, BOOL, I64):
        src = f16v if dst != I64 else f16v[torch.isfinite(f16v) & (f16v.abs() < 2**31)]
        emit("from_f16" if dst != I64 else "from_f16_finite", src, dst)
    for dst in (F32, F64, F16, BOOL):
        emit("from_bf16", bf16v, dst)
    # float -> integer: truncation toward zero, in range only (NaN, inf, out of range are UB in C++)
    trunc = [0.0, -0.0, 0.5, -0.5, 0.9999, -0.9999, 1.5, -1.5, 2.7, -2.7, 99.99, -99.99, 1e9, -1e9, 2147483520.0,
             -2147483648.0, 1e-40, 123456.7]
    for src_dt in (F32, F64):
        emit("trunc", torch.tensor(trunc, dtype=src_dt), I32)
        emit("trunc", torch.tensor(trunc, dtype=src_dt), I64)
    emit("trunc_i64", torch.tensor(trunc + [1e15, -1e15, 9.2e18, -9.2e18], dtype=F64), I64)
    for src_dt in (F32, F64, F16, BF16):
        emit("to_u8", torch.tensor([0.0, -0.0, 0.5, 1.9, 127.5, 128.0, 200.25, 254.99, 255.0], dtype=src_dt), U8)
    # float -> bool: x != 0, so NaN and subnormals are true, -0 is false
    for src_dt in (F32, F64):
        emit("to_bool", torch.tensor([0.0, -0.0, NAN, INF, -INF, 1e-40, 1e-45, -1.0, 0.5, 1e-310], dtype=src_dt), BOOL)
    # integers -> floats (rounding to nearest even, f16 overflow to inf), narrowing and wrapping
    i64v = torch.tensor([0, 1, -1, 2**24 + 1, 2**24 + 3, 2**53 + 1, -(2**63), 2**63 - 1, 65519, 65520, 70000, -70000,
                         2**31, 2**32 + 5, -(2**31) - 1, 255, 256, 300, -129], dtype=I64)
    for dst in (F32, F64, F16, BF16, I32, U8, BOOL):
        emit("from_i64", i64v, dst)
    i32v = torch.tensor([0, 1, -1, 2**24 + 1, -(2**31), 2**31 - 1, 255, 256, -256, 65519, 65536], dtype=I32)
    for dst in (F32, F16, I64, U8, BOOL):
        emit("from_i32", i32v, dst)
    u8v = torch.tensor([0, 1, 127, 128, 255], dtype=U8)
    for dst in (F32, BF16, I32, I64, BOOL):
        emit("from_u8", u8v, dst)
    bv = torch.tensor([False, True, True, False])
    for dst in (F32, F16, I64, U8):
        emit("from_bool", bv, dst)
    return fx.write()


# --------------------------------------------------------------------------------------------- shape

def make_shape():
    fx = Fixture("shape")
    base = base_random((6, 4, 5, 7), 60)

    def src(dt, shape, seed):
        x = base_random(shape, seed) * 5
        if dt == torch.bool:
            return x > 0
        if not dt.is_floating_point:
            return x.round().to(dt)
        return x.to(dt)

    concat_cases = [
        (0, [(2, 3, 2, 3), (1, 3, 2, 3), (3, 3, 2, 3)]),
        (1, [(2, 3, 2, 3), (2, 1, 2, 3)]),
        (2, [(2, 3, 2, 3), (2, 3, 5, 3), (2, 3, 1, 3)]),
        (3, [(2, 3, 2, 3), (2, 3, 2, 0), (2, 3, 2, 7)]),  # an empty piece
        (-1, [(2, 3, 2, 1), (2, 3, 2, 3)]),
        (-3, [(2, 1, 2, 3), (2, 2, 2, 3)]),
    ]
    seed = 61
    for dt in (F32, F16, torch.int64, torch.bool):
        d = DT_NAME[dt]
        for k, (dim, shapes) in enumerate(concat_cases):
            names = []
            for j, s in enumerate(shapes):
                seed += 1
                names.append(fx.add(f"{d}/concat{k}/in{j}", src(dt, s, seed)))
            y = torch.cat([fx.tensors[n] for n in names], dim)
            fx.case("concat", dt, {"dim": dim}, {f"x{j}": n for j, n in enumerate(names)},
                    {"y": fx.out(y)})
        names = []
        for j in range(3):
            seed += 1
            names.append(fx.add(f"{d}/stack/in{j}", src(dt, (3, 2, 5), seed)))
        for dim in (0, 1, 2, 3, -1, -4):
            y = torch.stack([fx.tensors[n] for n in names], dim)
            fx.case("stack", dt, {"dim": dim}, {f"x{j}": n for j, n in enumerate(names)},
                    {"y": fx.out(y)})

    x = fx.add("f32/split/x", base[:2, :3].to(F32))  # (2, 3, 5, 7)
    xi = fx.add("i64/split/x", (base[:2, :3] * 10).round().to(torch.int64))
    empty_x = fx.add("f32/split/empty", torch.zeros((2, 0, 3)))
    split_cases = [
        ("split", {"split_size": 2, "dim": 3}), ("split", {"split_size": 2, "dim": -1}),
        ("split", {"split_size": 3, "dim": 1}), ("split", {"split_size": 2, "dim": 2}),
        ("split", {"split_size": 10, "dim": 0}), ("split", {"sizes": [1, 4, 2], "dim": 3}),
        ("split", {"sizes": [0, 5, 0], "dim": 2}), ("split", {"sizes": [2], "dim": 0}),
        ("chunk", {"chunks": 4, "dim": 2}), ("chunk", {"chunks": 3, "dim": 3}), ("chunk", {"chunks": 5, "dim": 1}),
        ("chunk", {"chunks": 4, "dim": -1}), ("chunk", {"chunks": 2, "dim": 0}), ("chunk", {"chunks": 6, "dim": 3}),
    ]
    for k, (op, p) in enumerate(split_cases):
        for name in ((x, xi) if k < 3 else (x,)):
            t = fx.tensors[name]
            if op == "split":
                pieces = torch.split(t, p.get("split_size", p.get("sizes")), p["dim"])
            else:
                pieces = torch.chunk(t, p["chunks"], p["dim"])
            outs = {f"y{j}": fx.out(y) for j, y in enumerate(pieces)}
            fx.case(op, fx.tensors[name].dtype, p, {"x": name}, outs)
    # a dim of size 0: split gives one empty piece, chunk gives `chunks` empty pieces
    for op, p in (("split", {"split_size": 2, "dim": 1}), ("chunk", {"chunks": 3, "dim": 1}),
                  ("chunk", {"chunks": 1, "dim": 1})):
        t = fx.tensors[empty_x]
        pieces = torch.split(t, p["split_size"], 1) if op == "split" else torch.chunk(t, p["chunks"], 1)
        outs = {f"y{j}": fx.out(y) for j, y in enumerate(pieces)}
        fx.case(op, F32, p, {"x": empty_x}, outs)
    return fx.write()


def main():
    torch.manual_seed(0)
    print(f"PyTorch {torch.__version__}")
    total = 0
    for make in (make_unary, make_binary, make_reduce, make_softmax, make_matmul, make_cast, make_shape):
        total += make()
    print(f"total {total} bytes")
    if total > 700_000:
        sys.exit("fixtures exceed the 700 kB budget; trim the cases")


if __name__ == "__main__":
    main()
