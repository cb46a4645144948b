// interpolate (kernels/resize/interpolate.h) against direct loops in double: bilinear with and
// without align_corners, by size and by scale factor (odd, fractional, x8), nearest and
// nearest-exact; down- and upsampling, 1x1 inputs and outputs, non-contiguous inputs, 16-bit
// dtypes. The CUDA backward is a gather over analytically found output ranges: those ranges are
// checked here against brute force, and a gather written with them is compared with the CPU's
// scatter, so the logic is covered on machines without a GPU. Bad input errors last.
#include <catch2/catch.hpp>

#include <cmath>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using kernels::InterpMode;
using kernels::InterpParams;
using ops::InterpolateOptions;

namespace {

// PyTorch's formulas written out once more, in double where PyTorch uses the element type, and
// with its float ratio for nearest (the index is a floor: the rounding of the ratio decides it).
struct Tap {
    int64_t i0, i1;
    double l0, l1;
};

Tap naive_tap(const InterpParams& p, bool rows, int64_t o) {
    const int64_t in = rows ? p.ih : p.iw, out = rows ? p.oh : p.ow;
    const double scale = rows ? p.scale_h : p.scale_w;
    if (p.mode != InterpMode::Bilinear) {
        const float r = scale > 0 ? float(1.0 / scale) : float(in) / float(out);
        int64_t s;
        if (p.mode == InterpMode::NearestExact)
            s = int64_t(std::floor(float((o + 0.5) * double(r))));
        else if (out == in)
            s = o;
        else if (out == 2 * in)
            s = o / 2;
        else
            s = int64_t(std::floor(float(o) * r));
        s = std::min(s, in - 1);
        return {s, s, 1.0, 0.0};
    }
    if (out == in) return {o, o, 1.0, 0.0};
    double src;
    if (p.align_corners) {
        src = out > 1 ? double(in - 1) / double(out - 1) * double(o) : 0.0;
    } else {
        const double r = scale > 0 ? 1.0 / scale : double(in) / double(out);
        src = std::max(r * (o + 0.5) - 0.5, 0.0);
    }
    const auto i0 = int64_t(src);
    const double l1 = std::min(std::max(src - double(i0), 0.0), 1.0);
    return {i0, i0 + (i0 < in - 1 ? 1 : 0), 1.0 - l1, l1};
}

void naive(const InterpParams& p, const Tensor& x, const Tensor& dy, Tensor& y, Tensor& dx) {
    y = zeros({p.n, p.c, p.oh, p.ow}, {DType::F64});
    dx = zeros({p.n, p.c, p.ih, p.iw}, {DType::F64});
    for (int64_t pl = 0; pl < p.n * p.c; ++pl)
        for (int64_t i = 0; i < p.oh; ++i)
            for (int64_t j = 0; j < p.ow; ++j) {
                const Tap h = naive_tap(p, true, i), w = naive_tap(p, false, j);
                const int64_t o = (pl * p.oh + i) * p.ow + j;
                const int64_t hs[2] = {h.i0, h.i1}, ws[2] = {w.i0, w.i1};
                const double hl[2] = {h.l0, h.l1}, wl[2] = {w.l0, w.l1};
                double v = 0;
                for (int a = 0; a < 2; ++a)
                    for (int b = 0; b < 2; ++b) {
                        const int64_t xi = pl * p.ih * p.iw + hs[a] * p.iw + ws[b];
                        v += hl[a] * wl[b] * x.get_double(xi);
                        dx.data<double>()[xi] += hl[a] * wl[b] * dy.get_double(o);
                    }
                y.data<double>()[o] = v;
            }
}

std::vector<InterpolateOptions> option_cases() {
    const auto B = InterpMode::Bilinear, N = InterpMode::Nearest, E = InterpMode::NearestExact;
    return {
        InterpolateOptions::size(10, 14, B),      InterpolateOptions::size(10, 14, B, true),
        InterpolateOptions::size(4, 3, B),        InterpolateOptions::size(4, 3, B, true),
        InterpolateOptions::size(1, 1, B),        InterpolateOptions::size(1, 1, B, true),
        InterpolateOptions::size(5, 7, B),        InterpolateOptions::size(13, 6, B),
        InterpolateOptions::scale(1.5, 1.5, B),   InterpolateOptions::scale(0.7, 0.45, B),
        InterpolateOptions::scale(2.3, 3.7, B),   InterpolateOptions::scale(8, 8, B),
        InterpolateOptions::scale(3, 3, B, true), InterpolateOptions::scale(1.01, 1.05, B),
        InterpolateOptions::size(10, 14, N),      InterpolateOptions::size(15, 21, N),
        InterpolateOptions::size(3, 2, N),        InterpolateOptions::scale(1.7, 0.6, N),
        InterpolateOptions::size(15, 21, E),      InterpolateOptions::size(3, 2, E),
        InterpolateOptions::scale(1.7, 2.5, E),   InterpolateOptions::size(1, 1, N),
    };
}

}  // namespace

TEST_CASE("interpolate forward and gradient match direct loops", "[kernels][resize]") {
    uint32_t seed = 1;
    for (const Shape& shape : std::vector<Shape>{{2, 3, 5, 7}, {1, 2, 1, 1}, {1, 1, 11, 4}}) {
        for (const InterpolateOptions& o : option_cases()) {
            if (o.scale_h > 0 && (shape[2] * o.scale_h < 1 || shape[3] * o.scale_w < 1)) continue;  // empty output
            const InterpParams p = ops::interpolate_params(shape, o);
            const Tensor x64 = test::random_tensor(shape, DType::F64, -1, 1, seed++);
            const Tensor dy64 = test::random_tensor({p.n, p.c, p.oh, p.ow}, DType::F64, -1, 1, seed++);
            for (DType dt : {DType::F64, DType::F32, DType::F16, DType::BF16}) {
                INFO("x " << shape_str(shape) << " -> " << p.oh << "x" << p.ow << " mode " << int(o.mode) << " align "
                          << o.align_corners << " scale " << o.scale_h << "," << o.scale_w << " " << dtype_name(dt));
                const Tensor x = x64.to(dt), dy = dy64.to(dt);
                Tensor y_ref, dx_ref;
                naive(p, x.to(DType::F64), dy.to(DType::F64), y_ref, dx_ref);
                test::Tolerance tol = dt == DType::F64 ? test::Tolerance{1e-12, 1e-12} : test::tolerance_for(dt);
                const Tensor y = ops::interpolate(x, o);
                REQUIRE(y.dtype() == dt);
                REQUIRE_CLOSE(y, y_ref, tol);
                if (dt != DType::F64) tol.atol *= 4;  // sums of up to ~64 weighted terms
                REQUIRE_CLOSE(ops::interpolate_backward(dy, shape, o), dx_ref, tol);
            }
        }
    }
}

TEST_CASE("interpolate: the gather ranges of the CUDA backward equal brute force", "[kernels][resize]") {
    // For every input row h, the outputs that read it must be exactly [lower_bound(h - back),
    // lower_bound(h + 1)); then a gather over those ranges reproduces the CPU scatter.
    for (int64_t in : {1, 2, 3, 5, 7, 13, 64}) {
        for (const InterpolateOptions& o0 : option_cases()) {
            InterpolateOptions o = o0;
            if (o.out_h > 0) o.out_h = std::max<int64_t>(1, o.out_h * in / 5), o.out_w = o.out_h;
            if (o.scale_h > 0 && (in * o.scale_h < 1 || in * o.scale_w < 1)) continue;
            const InterpParams p = ops::interpolate_params({1, 1, in, in}, o);
            const int64_t back = p.mode == InterpMode::Bilinear ? 1 : 0;
            for (int64_t h = 0; h < in; ++h) {
                const int64_t lo = kernels::interp_lower_bound(p, true, h - back);
                const int64_t hi = kernels::interp_lower_bound(p, true, h + 1);
                for (int64_t oy = 0; oy < p.oh; ++oy) {
                    const auto t = kernels::linear_tap<float>(oy, p.ih, p.oh, p.align_corners, p.scale_h);
                    const int64_t s0 = p.mode == InterpMode::Bilinear ? t.i0 : kernels::interp_first_src(p, true, oy);
                    const int64_t s1 = p.mode == InterpMode::Bilinear ? t.i1 : s0;
                    const bool reads = s0 == h || s1 == h;
                    INFO("in " << in << " out " << p.oh << " mode " << int(p.mode) << " h " << h << " o " << oy
                               << " range [" << lo << ", " << hi << ")");
                    if (reads)
                        REQUIRE((oy >= lo && oy < hi));
                    else if (p.mode != InterpMode::Bilinear)
                        REQUIRE_FALSE((oy >= lo && oy < hi));
                }
            }
            // The CUDA kernel's gather, step by step on the host, against the CPU scatter.
            const Tensor dy = test::random_tensor({1, 1, p.oh, p.ow}, DType::F32, -1, 1, uint32_t(in * 7 + p.oh));
            Tensor dx = zeros({1, 1, in, in});
            const auto weight = [&](bool rows, int64_t o, int64_t s) {
                if (p.mode != InterpMode::Bilinear) return 1.0f;
                const auto t = kernels::linear_tap<float>(o, rows ? p.ih : p.iw, rows ? p.oh : p.ow, p.align_corners,
                                                          rows ? p.scale_h : p.scale_w);
                return (t.i0 == s ? t.l0 : 0.0f) + (t.i1 == s ? t.l1 : 0.0f);
            };
            for (int64_t h = 0; h < in; ++h)
                for (int64_t w = 0; w < in; ++w) {
                    const int64_t p0 = kernels::interp_lower_bound(p, true, h - back);
                    const int64_t p1 = kernels::interp_lower_bound(p, true, h + 1);
                    const int64_t q0 = kernels::interp_lower_bound(p, false, w - back);
                    const int64_t q1 = kernels::interp_lower_bound(p, false, w + 1);
                    float acc = 0;
                    for (int64_t oy = p0; oy < p1; ++oy)
                        for (int64_t ox = q0; ox < q1; ++ox)
                            acc += weight(true, oy, h) * weight(false, ox, w) * float(dy.get_double(oy * p.ow + ox));
                    dx.data<float>()[h * in + w] = acc;
                }
            REQUIRE_CLOSE(dx, ops::interpolate_backward(dy, {1, 1, in, in}, o), (test::Tolerance{1e-4, 1e-4}));
        }
    }
}

TEST_CASE("interpolate: exact values on small cases", "[kernels][resize]") {
    const Tensor x = from_vector<double>({0, 1, 2, 3}, {1, 1, 2, 2});
    // align_corners: the corners are kept; 3x3 puts the averages in between.
    const Tensor ac = ops::interpolate(x, InterpolateOptions::size(3, 3, InterpMode::Bilinear, true));
    REQUIRE_CLOSE(ac, from_vector<double>({0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3}, {1, 1, 3, 3}), (test::Tolerance{0, 0}));
    // half-pixel centres: 2x upsampling of [0, 1] is [0, 0.25, 0.75, 1].
    const Tensor row = from_vector<double>({0, 1}, {1, 1, 1, 2});
    REQUIRE_CLOSE(ops::interpolate(row, InterpolateOptions::size(1, 4)),
                  from_vector<double>({0, 0.25, 0.75, 1}, {1, 1, 1, 4}), (test::Tolerance{0, 0}));
    // Output size 1 with align_corners samples the first pixel; without, the centre (2x2 -> mean).
    REQUIRE(ops::interpolate(x, InterpolateOptions::size(1, 1, InterpMode::Bilinear, true)).item_double() == 0.0);
    REQUIRE(ops::interpolate(x, InterpolateOptions::size(1, 1)).item_double() == 1.5);
    // Same size: the identity, whatever the scale factor says (PyTorch's CPU shortcut).
    const Tensor r = test::random_tensor({1, 2, 10, 9}, DType::F32, -1, 1, 3);
    REQUIRE_CLOSE(ops::interpolate(r, InterpolateOptions::scale(1.01, 1.05)), r, (test::Tolerance{0, 0}));
    // Nearest 3x: each source pixel three times.
    const Tensor n3 = ops::interpolate(row, InterpolateOptions::size(1, 6, InterpMode::Nearest));
    REQUIRE_CLOSE(n3, from_vector<double>({0, 0, 0, 1, 1, 1}, {1, 1, 1, 6}), (test::Tolerance{0, 0}));
    // Non-contiguous input.
    const Tensor nc = test::random_tensor({2, 9, 7, 3}, DType::F32, -1, 1, 5).permute({0, 3, 1, 2});
    REQUIRE_CLOSE(ops::interpolate(nc, InterpolateOptions::scale(2, 2)),
                  ops::interpolate(nc.contiguous(), InterpolateOptions::scale(2, 2)), (test::Tolerance{0, 0}));
}

TEST_CASE("interpolate rejects bad input with a clear message", "[kernels][resize]") {
    const Tensor x = zeros({1, 2, 4, 4});
    REQUIRE_THROWS_WITH(ops::interpolate(zeros({2, 4, 4}), InterpolateOptions::size(2, 2)),
                        Catch::Contains("(N, C, H, W)"));
    REQUIRE_THROWS_WITH(ops::interpolate(x, InterpolateOptions::size(8, 8, InterpMode::Nearest, true)),
                        Catch::Contains("align_corners can only be set with mode bilinear"));
    InterpolateOptions both = InterpolateOptions::size(8, 8);
    both.scale_h = both.scale_w = 2;
    REQUIRE_THROWS_WITH(ops::interpolate(x, both), Catch::Contains("either the output size or the scale"));
    REQUIRE_THROWS_WITH(ops::interpolate(x, InterpolateOptions{}), Catch::Contains("either the output size"));
    REQUIRE_THROWS_WITH(ops::interpolate(x, InterpolateOptions::size(0, 3)), Catch::Contains("must be >= 1"));
    REQUIRE_THROWS_WITH(ops::interpolate(x, InterpolateOptions::scale(2, -1)), Catch::Contains("scale factors must"));
    REQUIRE_THROWS_WITH(ops::interpolate(x, InterpolateOptions::scale(0.1, 0.1)), Catch::Contains("empty output"));
    REQUIRE_THROWS_WITH(ops::interpolate_backward(zeros({1, 2, 3, 3}), x.shape(), InterpolateOptions::size(8, 8)),
                        Catch::Contains("dy must be (1, 2, 8, 8)"));
    REQUIRE_THROWS_WITH(ops::interpolate(zeros({1, 1, 2, 2}, {DType::I64}), InterpolateOptions::size(4, 4)),
                        Catch::Contains("interpolate"));
}
