#pragma once
// interpolate: bilinear and nearest resizing of NCHW feature maps, as
// torch.nn.functional.interpolate (PyTorch 1.13's CPU index formulas, pinned by the golden
// fixture). docs/kernels/resize.md has the derivation and the loops.
//
// Output size: given explicitly, or from scale factors s as floor(in * s); in the second case the
// kernels map coordinates with 1/s (PyTorch passes the scale on), not in/out.
//
// Source coordinate of output index o along one axis (in = input size, out = output size):
//   ratio  = align_corners ? (out > 1 ? (in - 1) / (out - 1) : 0)
//                          : (scale given ? 1 / s : in / out)                 (in the acc type)
//   bilinear: out == in -> identity; else
//             src = align_corners ? ratio * o : max(ratio * (o + 0.5) - 0.5, 0)
//             i0 = trunc(src), i1 = i0 + (i0 < in - 1), l1 = clamp(src - i0, 0, 1), l0 = 1 - l1
//             y = l0h (l0w x[i0h, i0w] + l1w x[i0h, i1w]) + l1h (l0w x[i1h, i0w] + l1w x[i1h, i1w])
//   nearest:  out == in -> o; out == 2 in -> o >> 1; else min(floor(o * ratio_f32), in - 1)
//   nearest-exact: min(floor((o + 0.5) * ratio_f32), in - 1)
// Backward (dx OVERWRITTEN): dx[h, w] = sum over outputs (p, q) of wh(p, h) ww(q, w) dy[p, q], where
//   wh(p, h) is the weight output row p gives input row h. Every source index is non-decreasing
//   in o, so the outputs that read row h form one contiguous range, found from an analytic guess
//   corrected by exact re-evaluation (interp_lower_bound). The CUDA backward is this GATHER (one
//   thread per input pixel, fixed order, no atomics); the CPU backward is the plain scatter.
//
// Shapes: x (N, C, H, W), y (N, C, OH, OW). dtypes: CPU f32, f64 (coordinates in the element
// type, as PyTorch; f16/bf16 through f32); CUDA f32, f16, bf16 with f32 coordinates and sums.
// Inputs are made contiguous by ops::.
#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::kernels {

enum class InterpMode : int32_t { Nearest = 0, NearestExact = 1, Bilinear = 2 };

struct InterpParams {
    int64_t n = 0, c = 0, ih = 0, iw = 0, oh = 0, ow = 0;
    InterpMode mode = InterpMode::Bilinear;
    bool align_corners = false;
    double scale_h = 0.0, scale_w = 0.0;  // > 0: the user's scale factor (coordinates use 1/scale)
    SEGCORE_HOST_DEVICE int64_t planes() const { return n * c; }
};

// Source taps of output index o along one axis (bilinear): x[i0] * l0 + x[i1] * l1.
template <typename A>
struct LinearTap {
    int64_t i0, i1;
    A l0, l1;
};

template <typename A>
SEGCORE_HOST_DEVICE LinearTap<A> linear_tap(int64_t o, int64_t in, int64_t out, bool align_corners, double scale) {
    if (out == in) return {o, o, A(1), A(0)};
    A ratio;
    if (align_corners)
        ratio = out > 1 ? A(in - 1) / A(out - 1) : A(0);
    else
        ratio = scale > 0 ? A(1.0 / scale) : A(in) / A(out);
    A src;
    if (align_corners) {
        src = ratio * A(o);
    } else {
        src = A(double(ratio) * (double(o) + 0.5) - 0.5);  // PyTorch: (o + 0.5) is a double
        if (src < A(0)) src = A(0);
    }
    LinearTap<A> t;
    t.i0 = int64_t(src);
    t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
    A l1 = src - A(t.i0);
    l1 = l1 < A(0) ? A(0) : (l1 > A(1) ? A(1) : l1);
    t.l1 = l1;
    t.l0 = A(1) - l1;
    return t;
}

SEGCORE_HOST_DEVICE int64_t nearest_src(int64_t o, int64_t in, int64_t out, double scale, bool exact) {
    const float ratio = scale > 0 ? float(1.0 / scale) : float(in) / float(out);
    int64_t s;
    if (exact) {
        s = int64_t(floorf(float((double(o) + 0.5) * double(ratio))));
    } else {
        if (out == in) return o;
        if (out == 2 * in) return o >> 1;
        s = int64_t(floorf(float(o) * ratio));
    }
    return s < in - 1 ? s : in - 1;
}

// The first source index of output o (i0 for bilinear; the only one for nearest): non-decreasing.
SEGCORE_HOST_DEVICE int64_t interp_first_src(const InterpParams& p, bool rows, int64_t o) {
    const int64_t in = rows ? p.ih : p.iw, out = rows ? p.oh : p.ow;
    const double scale = rows ? p.scale_h : p.scale_w;
    if (p.mode == InterpMode::Bilinear) return linear_tap<float>(o, in, out, p.align_corners, scale).i0;
    return nearest_src(o, in, out, scale, p.mode == InterpMode::NearestExact);
}

// The smallest output o in [0, out] with first_src(o) >= v. `guess` comes from inverting the
// coordinate map; the loops correct it exactly (a step or two).
SEGCORE_HOST_DEVICE int64_t interp_lower_bound(const InterpParams& p, bool rows, int64_t v) {
    const int64_t in = rows ? p.ih : p.iw, out = rows ? p.oh : p.ow;
    const double scale = rows ? p.scale_h : p.scale_w;
    double ratio;  // d src / d o
    if (p.mode == InterpMode::Bilinear && p.align_corners)
        ratio = out > 1 ? double(in - 1) / double(out - 1) : 0.0;
    else
        ratio = scale > 0 ? 1.0 / scale : double(in) / double(out);
    int64_t g = 0;
    if (out == in && p.mode != InterpMode::NearestExact) {
        g = v < 0 ? 0 : (v > out ? out : v);  // the identity map
    } else if (ratio > 0) {
        const double shift = (p.mode == InterpMode::Bilinear && !p.align_corners) ? 0.5 : 0.0;
        const double est = (double(v) + shift) / ratio - shift - (p.mode == InterpMode::NearestExact ? 0.5 : 0.0);
        g = est <= 0 ? 0 : (est >= double(out) ? out : int64_t(est));
    }
    while (g > 0 && interp_first_src(p, rows, g - 1) >= v) --g;
    while (g < out && interp_first_src(p, rows, g) < v) ++g;
    return g;
}

template <typename T>
void interpolate_forward_cpu(const InterpParams& p, const T* x, T* y);
template <typename T>
void interpolate_backward_cpu(const InterpParams& p, const T* dy, T* dx);
template <typename T>
void interpolate_forward_cuda(const InterpParams& p, const T* x, T* y, Stream s);
template <typename T>
void interpolate_backward_cuda(const InterpParams& p, const T* dy, T* dx, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

struct InterpolateOptions {
    kernels::InterpMode mode = kernels::InterpMode::Bilinear;
    bool align_corners = false;           // bilinear only (an error with nearest, as PyTorch)
    int64_t out_h = -1, out_w = -1;       // explicit output size, or
    double scale_h = 0.0, scale_w = 0.0;  // scale factors (> 0); exactly one of the two is given

    static InterpolateOptions size(int64_t h, int64_t w, kernels::InterpMode m = kernels::InterpMode::Bilinear,
                                   bool align_corners = false) {
        return {m, align_corners, h, w, 0.0, 0.0};
    }
    static InterpolateOptions scale(double sh, double sw, kernels::InterpMode m = kernels::InterpMode::Bilinear,
                                    bool align_corners = false) {
        return {m, align_corners, -1, -1, sh, sw};
    }
};

kernels::InterpParams interpolate_params(const Shape& x, const InterpolateOptions& opt);
Tensor interpolate(const Tensor& x, const InterpolateOptions& opt);
Tensor interpolate_backward(const Tensor& dy, const Shape& x_shape, const InterpolateOptions& opt);

}  // namespace segcore::ops
