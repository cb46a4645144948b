// Pooling (kernels/pool/) against direct loops in double: max_pool2d (values, indices, gradient),
// max_unpool2d, avg_pool2d (count_include_pad, ceil_mode) and adaptive_avg_pool2d, over odd
// sizes, padding, dilation, rectangular windows, non-contiguous inputs and 16-bit dtypes; ties,
// NaN, 1x1 images, ceil_mode's last window; and the errors for bad input.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using kernels::Pool2dParams;
using ops::AvgPool2dOptions;
using ops::MaxPool2dOptions;

namespace {

// The definition: every tap of the window, strictly greater replaces, NaN replaces.
void naive_max_pool(const Tensor& x, const Pool2dParams& p, Tensor& y, Tensor& idx) {
    y = zeros({p.n, p.c, p.oh, p.ow}, {DType::F64});
    idx = zeros({p.n, p.c, p.oh, p.ow}, {DType::I64});
    for (int64_t pl = 0; pl < p.n * p.c; ++pl)
        for (int64_t i = 0; i < p.oh; ++i)
            for (int64_t j = 0; j < p.ow; ++j) {
                double best = -std::numeric_limits<double>::infinity();
                int64_t best_i = -1;
                for (int64_t r = 0; r < p.kh; ++r)
                    for (int64_t s = 0; s < p.kw; ++s) {
                        const int64_t h = i * p.stride_h - p.pad_h + r * p.dil_h;
                        const int64_t w = j * p.stride_w - p.pad_w + s * p.dil_w;
                        if (h < 0 || h >= p.h || w < 0 || w >= p.w) continue;
                        const double v = x.get_double(pl * p.h * p.w + h * p.w + w);
                        if (best_i < 0) best_i = h * p.w + w;
                        if (v > best || std::isnan(v)) best = v, best_i = h * p.w + w;
                    }
                const int64_t o = (pl * p.oh + i) * p.ow + j;
                y.data<double>()[o] = best;
                idx.data<int64_t>()[o] = best_i;
            }
}

// Count the taps of the padded window instead of clipping its ends.
void naive_avg_pool(const Tensor& x, const Tensor& dy, const Pool2dParams& p, Tensor& y, Tensor& dx) {
    y = zeros({p.n, p.c, p.oh, p.ow}, {DType::F64});
    dx = zeros({p.n, p.c, p.h, p.w}, {DType::F64});
    for (int64_t pl = 0; pl < p.n * p.c; ++pl)
        for (int64_t i = 0; i < p.oh; ++i)
            for (int64_t j = 0; j < p.ow; ++j) {
                int64_t real = 0, padded = 0;
                double sum = 0;
                for (int64_t r = 0; r < p.kh; ++r)
                    for (int64_t s = 0; s < p.kw; ++s) {
                        const int64_t h = i * p.stride_h - p.pad_h + r, w = j * p.stride_w - p.pad_w + s;
                        if (h < -p.pad_h || h >= p.h + p.pad_h || w < -p.pad_w || w >= p.w + p.pad_w) continue;
                        ++padded;
                        if (h < 0 || h >= p.h || w < 0 || w >= p.w) continue;
                        ++real;
                        sum += x.get_double(pl * p.h * p.w + h * p.w + w);
                    }
                const double div = double(p.count_include_pad ? padded : real);
                const int64_t o = (pl * p.oh + i) * p.ow + j;
                y.data<double>()[o] = sum / div;
                for (int64_t r = 0; r < p.kh; ++r)
                    for (int64_t s = 0; s < p.kw; ++s) {
                        const int64_t h = i * p.stride_h - p.pad_h + r, w = j * p.stride_w - p.pad_w + s;
                        if (h < 0 || h >= p.h || w < 0 || w >= p.w) continue;
                        dx.data<double>()[pl * p.h * p.w + h * p.w + w] += dy.get_double(o) / div;
                    }
            }
}

void naive_adaptive(const Tensor& x, const Tensor& dy, const Pool2dParams& p, Tensor& y, Tensor& dx) {
    y = zeros({p.n, p.c, p.oh, p.ow}, {DType::F64});
    dx = zeros({p.n, p.c, p.h, p.w}, {DType::F64});
    for (int64_t pl = 0; pl < p.n * p.c; ++pl)
        for (int64_t i = 0; i < p.oh; ++i)
            for (int64_t j = 0; j < p.ow; ++j) {
                const auto h0 = int64_t(std::floor(double(i * p.h) / double(p.oh)));
                const auto h1 = int64_t(std::ceil(double((i + 1) * p.h) / double(p.oh)));
                const auto w0 = int64_t(std::floor(double(j * p.w) / double(p.ow)));
                const auto w1 = int64_t(std::ceil(double((j + 1) * p.w) / double(p.ow)));
                const double cnt = double((h1 - h0) * (w1 - w0));
                double sum = 0;
                const int64_t o = (pl * p.oh + i) * p.ow + j;
                for (int64_t h = h0; h < h1; ++h)
                    for (int64_t w = w0; w < w1; ++w) {
                        sum += x.get_double(pl * p.h * p.w + h * p.w + w);
                        dx.data<double>()[pl * p.h * p.w + h * p.w + w] += dy.get_double(o) / cnt;
                    }
                y.data<double>()[o] = sum / cnt;
            }
}

Tensor naive_max_pool_backward(const Tensor& dy, const Tensor& idx, const Pool2dParams& p) {
    Tensor dx = zeros({p.n, p.c, p.h, p.w}, {DType::F64});
    for (int64_t pl = 0; pl < p.n * p.c; ++pl)
        for (int64_t o = 0; o < p.oh * p.ow; ++o)
            dx.data<double>()[pl * p.h * p.w + idx.data<int64_t>()[pl * p.oh * p.ow + o]] +=
                dy.get_double(pl * p.oh * p.ow + o);
    return dx;
}

test::Tolerance tol_for(DType dt) { return dt == DType::F64 ? test::Tolerance{1e-12, 1e-12} : test::tolerance_for(dt); }

}  // namespace

TEST_CASE("max_pool2d forward, indices and gradient match direct loops", "[kernels][pool]") {
    struct C {
        Shape x;
        MaxPool2dOptions o;
    };
    const std::vector<C> cases = {
        {{2, 3, 8, 9}, MaxPool2dOptions::make(2)},
        {{1, 4, 11, 13}, MaxPool2dOptions::make(3, 2, 1)},
        {{2, 2, 10, 7}, MaxPool2dOptions::make(3, 2, 0, 1, true)},
        {{1, 3, 9, 10}, MaxPool2dOptions::make(3, 2, 1, 1, true)},
        {{1, 2, 12, 11}, MaxPool2dOptions::make(3, 1, 1, 2)},
        {{1, 2, 7, 10}, {2, 3, 1, 2, 1, 0, 1, 1, true}},
        {{1, 2, 13, 5}, {3, 2, 2, 1, 1, 1, 2, 1, false}},
        {{2, 3, 1, 1}, MaxPool2dOptions::make(1)},
        {{1, 1, 3, 3}, MaxPool2dOptions::make(3, 1, 1)},  // window covers the image
        {{3, 5, 17, 19}, MaxPool2dOptions::make(3, 2, 1, 1, true)},
    };
    uint32_t seed = 1;
    for (const C& c : cases) {
        const Pool2dParams p = ops::max_pool2d_params(c.x, c.o);
        const Tensor x64 = test::random_tensor(c.x, DType::F64, -1, 1, seed++);
        const Tensor dy64 = test::random_tensor({p.n, p.c, p.oh, p.ow}, DType::F64, -1, 1, seed++);
        for (DType dt : {DType::F64, DType::F32, DType::F16, DType::BF16}) {
            INFO("x " << shape_str(c.x) << " k " << c.o.kh << "x" << c.o.kw << " ceil " << c.o.ceil_mode << " "
                      << dtype_name(dt));
            const Tensor x = x64.to(dt), dy = dy64.to(dt);
            Tensor y_ref, idx_ref;
            naive_max_pool(x.to(DType::F64), p, y_ref, idx_ref);
            auto [y, idx] = ops::max_pool2d(x, c.o);
            REQUIRE(y.dtype() == dt);
            REQUIRE(idx.dtype() == DType::I64);
            REQUIRE_CLOSE(y, y_ref, (test::Tolerance{0, 0}));
            REQUIRE_CLOSE(idx, idx_ref, (test::Tolerance{0, 0}));
            REQUIRE_CLOSE(ops::max_pool2d_backward(dy, idx, c.x, c.o),
                          naive_max_pool_backward(dy.to(DType::F64), idx_ref, p), tol_for(dt));
        }
    }
}

TEST_CASE("max_pool2d: ties keep the first maximum, NaN propagates, ceil mode's last window", "[kernels][pool]") {
    // One 3x4 plane of equal values: every 2x2 window reports its top-left element.
    auto [y, idx] = ops::max_pool2d(full({1, 1, 3, 4}, 2.0), MaxPool2dOptions::make(2, 1));
    REQUIRE(idx.shape() == Shape({1, 1, 2, 3}));
    for (int64_t i = 0; i < 6; ++i) REQUIRE(idx.get_double(i) == double((i / 3) * 4 + i % 3));
    // NaN wins over larger values and the gradient goes to it.
    Tensor x = from_vector<float>({1, NAN, 5, 3}, {1, 1, 2, 2});
    auto [yn, in] = ops::max_pool2d(x, MaxPool2dOptions::make(2));
    REQUIRE(std::isnan(yn.item_double()));
    REQUIRE(in.item_double() == 1.0);
    // Ceil mode: H = 5, k = 2, s = 2 gives 3 rows; the last window holds only row 4.
    Tensor x5 = from_vector<float>({0, 1, 2, 3, 4}, {1, 1, 5, 1});
    auto [yc, ic] = ops::max_pool2d(x5, {2, 1, 2, 1, 0, 0, 1, 1, true});
    REQUIRE(yc.shape() == Shape({1, 1, 3, 1}));
    REQUIRE(yc.get_double(2) == 4.0);
    REQUIRE(ic.get_double(2) == 4.0);
    // ... but a window that would start in the right padding is dropped: H = 4, k = 2, s = 2, ceil -> 2.
    REQUIRE(ops::max_pool2d_params({1, 1, 4, 4}, MaxPool2dOptions::make(2, 2, 0, 1, true)).oh == 2);
    // All -inf: the value is -inf and the index the first tap inside the input.
    auto [yi, ii] = ops::max_pool2d(full({1, 1, 2, 2}, -INFINITY), MaxPool2dOptions::make(3, 1, 1));
    REQUIRE(yi.get_double(0) == -INFINITY);
    REQUIRE(ii.get_double(0) == 0.0);
    REQUIRE(ii.get_double(3) == 0.0);
}

TEST_CASE("max_pool2d accepts non-contiguous input", "[kernels][pool]") {
    const Tensor x = test::random_tensor({2, 9, 7, 3}, DType::F32, -1, 1, 5).permute({0, 3, 1, 2});
    auto [a, ia] = ops::max_pool2d(x, MaxPool2dOptions::make(3, 2, 1));
    auto [b, ib] = ops::max_pool2d(x.contiguous(), MaxPool2dOptions::make(3, 2, 1));
    REQUIRE_CLOSE(a, b, (test::Tolerance{0, 0}));
    REQUIRE_CLOSE(ia, ib, (test::Tolerance{0, 0}));
}

TEST_CASE("max_unpool2d inverts max_pool2d (SegNet) and its gradient is a gather", "[kernels][pool]") {
    const Tensor x = test::random_tensor({2, 3, 8, 10}, DType::F64, -1, 1, 11);
    auto [y, idx] = ops::max_pool2d(x, MaxPool2dOptions::make(2));
    const Tensor u = ops::max_unpool2d(y, idx, 8, 10);
    // Every pooled maximum lands where it came from; everything else is zero.
    const Tensor back =
        ops::max_pool2d_backward(ones(y.shape(), {DType::F64}), idx, x.shape(), MaxPool2dOptions::make(2));
    for (int64_t i = 0; i < x.numel(); ++i)
        REQUIRE(u.get_double(i) == (back.get_double(i) != 0 ? x.get_double(i) : 0.0));
    const Tensor dy = test::random_tensor(u.shape(), DType::F64, -1, 1, 12);
    const Tensor dx = ops::max_unpool2d_backward(dy, idx);
    for (int64_t pl = 0; pl < 6; ++pl)
        for (int64_t i = 0; i < 20; ++i)
            REQUIRE(dx.get_double(pl * 20 + i) == dy.get_double(pl * 80 + idx.data<int64_t>()[pl * 20 + i]));
    // Duplicate indices: the last input in scan order wins (PyTorch's CPU loop).
    const Tensor v = from_vector<float>({1, 2, 3}, {1, 1, 1, 3});
    const Tensor dup = from_vector<int64_t>({4, 4, 0}, {1, 1, 1, 3});
    const Tensor ud = ops::max_unpool2d(v, dup, 2, 3);
    REQUIRE(ud.get_double(4) == 2.0);
    REQUIRE(ud.get_double(0) == 3.0);
    REQUIRE(ud.get_double(1) == 0.0);
    // 16-bit through f32.
    REQUIRE_CLOSE(ops::max_unpool2d(y.to(DType::BF16), idx, 8, 10), u.to(DType::BF16), (test::Tolerance{0, 0}));
}

TEST_CASE("avg_pool2d forward and gradient match direct loops", "[kernels][pool]") {
    const std::vector<std::pair<Shape, AvgPool2dOptions>> cases = {
        {{2, 3, 8, 9}, AvgPool2dOptions::make(2)},
        {{1, 4, 11, 13}, AvgPool2dOptions::make(3, 2, 1)},
        {{1, 4, 11, 13}, AvgPool2dOptions::make(3, 2, 1, false, false)},
        {{2, 2, 10, 7}, AvgPool2dOptions::make(3, 2, 0, true)},
        {{1, 3, 9, 10}, AvgPool2dOptions::make(3, 2, 1, true, false)},
        {{1, 3, 9, 10}, AvgPool2dOptions::make(3, 2, 1, true, true)},
        {{1, 2, 7, 10}, {3, 2, 2, 1, 1, 1, false, true}},
        {{2, 3, 1, 1}, AvgPool2dOptions::make(1)},
        {{1, 2, 2, 2}, AvgPool2dOptions::make(3, 1, 1, false, false)},  // kernel larger than the image
        {{1, 1, 5, 6}, {5, 6, 1, 1, 2, 3, true, false}},
    };
    uint32_t seed = 40;
    for (const auto& [shape, o] : cases) {
        const Pool2dParams p = ops::avg_pool2d_params(shape, o);
        const Tensor x64 = test::random_tensor(shape, DType::F64, -1, 1, seed++);
        const Tensor dy64 = test::random_tensor({p.n, p.c, p.oh, p.ow}, DType::F64, -1, 1, seed++);
        for (DType dt : {DType::F64, DType::F32, DType::F16, DType::BF16}) {
            INFO("x " << shape_str(shape) << " k " << o.kh << "x" << o.kw << " pad " << o.pad_h << " ceil "
                      << o.ceil_mode << " cip " << o.count_include_pad << " " << dtype_name(dt));
            const Tensor x = x64.to(dt), dy = dy64.to(dt);
            Tensor y_ref, dx_ref;
            naive_avg_pool(x.to(DType::F64), dy.to(DType::F64), p, y_ref, dx_ref);
            REQUIRE_CLOSE(ops::avg_pool2d(x, o), y_ref, tol_for(dt));
            REQUIRE_CLOSE(ops::avg_pool2d_backward(dy, shape, o), dx_ref, tol_for(dt));
        }
    }
}

TEST_CASE("adaptive_avg_pool2d matches PyTorch's bins (PSP 1, 2, 3, 6)", "[kernels][pool]") {
    const std::vector<std::pair<Shape, std::pair<int64_t, int64_t>>> cases = {
        {{2, 3, 13, 17}, {1, 1}}, {{2, 3, 13, 17}, {2, 2}}, {{2, 3, 13, 17}, {3, 3}}, {{2, 3, 13, 17}, {6, 6}},
        {{1, 2, 6, 6}, {6, 6}},   {{1, 2, 5, 7}, {3, 4}},   {{1, 1, 3, 3}, {5, 4}},   {{2, 2, 1, 1}, {1, 1}},
        {{1, 1, 1, 1}, {3, 2}},   {{1, 4, 60, 45}, {6, 6}},
    };
    uint32_t seed = 80;
    for (const auto& [shape, out] : cases) {
        const Pool2dParams p = ops::adaptive_avg_pool2d_params(shape, out.first, out.second);
        const Tensor x64 = test::random_tensor(shape, DType::F64, -1, 1, seed++);
        const Tensor dy64 = test::random_tensor({p.n, p.c, p.oh, p.ow}, DType::F64, -1, 1, seed++);
        for (DType dt : {DType::F64, DType::F32, DType::F16, DType::BF16}) {
            INFO("x " << shape_str(shape) << " -> " << out.first << "x" << out.second << " " << dtype_name(dt));
            const Tensor x = x64.to(dt), dy = dy64.to(dt);
            Tensor y_ref, dx_ref;
            naive_adaptive(x.to(DType::F64), dy.to(DType::F64), p, y_ref, dx_ref);
            REQUIRE_CLOSE(ops::adaptive_avg_pool2d(x, out.first, out.second), y_ref, tol_for(dt));
            REQUIRE_CLOSE(ops::adaptive_avg_pool2d_backward(dy, shape), dx_ref, tol_for(dt));
        }
    }
    // Global pooling is the mean over the plane.
    const Tensor x = test::random_tensor({2, 3, 7, 9}, DType::F64, -1, 1, 99);
    REQUIRE_CLOSE(ops::adaptive_avg_pool2d(x, 1, 1), ops::mean(x, {2, 3}, true), (test::Tolerance{1e-12, 1e-12}));
}

TEST_CASE("pooling rejects bad input with a clear message", "[kernels][pool]") {
    const Tensor x = zeros({1, 2, 4, 4});
    REQUIRE_THROWS_WITH(ops::max_pool2d(zeros({2, 4, 4}), MaxPool2dOptions::make(2)), Catch::Contains("(N, C, H, W)"));
    REQUIRE_THROWS_WITH(ops::max_pool2d(x, MaxPool2dOptions::make(7)),
                        Catch::Contains("smaller than the dilated kernel"));
    REQUIRE_THROWS_WITH(ops::max_pool2d(x, MaxPool2dOptions::make(3, 1, 1, 3)),
                        Catch::Contains("smaller than the dilated kernel"));
    REQUIRE_THROWS_WITH(ops::max_pool2d(x, MaxPool2dOptions::make(2, 1, 2)), Catch::Contains("at most half"));
    REQUIRE_THROWS_WITH(ops::max_pool2d(x, MaxPool2dOptions::make(2, 0)), Catch::Contains("stride must be >= 1"));
    REQUIRE_THROWS_WITH(ops::max_pool2d(zeros({1, 1, 2, 2}, {DType::I32}), MaxPool2dOptions::make(2)),
                        Catch::Contains("max_pool2d"));
    REQUIRE_THROWS_WITH(ops::avg_pool2d(x, AvgPool2dOptions::make(5)), Catch::Contains("smaller than the kernel"));
    REQUIRE_THROWS_WITH(ops::adaptive_avg_pool2d(x, 0, 2), Catch::Contains("output size must be >= 1"));
    auto [y, idx] = ops::max_pool2d(x, MaxPool2dOptions::make(2));
    REQUIRE_THROWS_WITH(ops::max_pool2d_backward(zeros({1, 2, 3, 3}), idx, x.shape(), MaxPool2dOptions::make(2)),
                        Catch::Contains("dy must be (1, 2, 2, 2)"));
    REQUIRE_THROWS_WITH(ops::max_unpool2d(y, idx.to(DType::I32), 4, 4), Catch::Contains("must be i64"));
    REQUIRE_THROWS_WITH(ops::max_unpool2d(y, full({1, 2, 2, 2}, 16.0, {DType::I64}), 4, 4),
                        Catch::Contains("index 16"));
    REQUIRE_THROWS_WITH(ops::max_unpool2d(y, idx, 0, 4), Catch::Contains("output size must be >= 1"));
}

TEST_CASE("pooling: the gather ranges of the CUDA backward equal brute force", "[kernels][pool]") {
    // The CUDA backward visits, for input index i, only the outputs in pool_covering_range /
    // adaptive_covering_range; every window that contains i must be in there.
    for (int64_t in : {1, 2, 5, 8, 13})
        for (int64_t k : {1, 2, 3, 5})
            for (int64_t s : {1, 2, 3})
                for (int64_t d : {1, 2})
                    for (int64_t pad = 0; pad <= k / 2; ++pad)
                        for (bool ceil : {false, true}) {
                            const int64_t out = kernels::pool_output_size(in, k, pad, s, d, ceil);
                            if (out < 1) continue;
                            for (int64_t i = 0; i < in; ++i) {
                                int64_t lo, hi;
                                kernels::pool_covering_range(i, k, pad, s, d, out, lo, hi);
                                for (int64_t o = 0; o < out; ++o) {
                                    bool covers = false;
                                    for (int64_t r = 0; r < k; ++r) covers |= o * s - pad + r * d == i;
                                    INFO("in " << in << " k " << k << " s " << s << " d " << d << " pad " << pad
                                               << " i " << i << " o " << o);
                                    if (covers) REQUIRE((o >= lo && o < hi));
                                }
                            }
                        }
    for (int64_t in : {1, 2, 3, 5, 13, 17})
        for (int64_t out : {1, 2, 3, 6, 7, 20}) {
            for (int64_t i = 0; i < in; ++i) {
                int64_t lo, hi;
                kernels::adaptive_covering_range(i, in, out, lo, hi);
                for (int64_t o = 0; o < out; ++o) {
                    const bool covers =
                        kernels::adaptive_start(o, in, out) <= i && i < kernels::adaptive_end(o, in, out);
                    INFO("in " << in << " out " << out << " i " << i << " o " << o);
                    REQUIRE(covers == (o >= lo && o < hi));
                }
            }
        }
}
