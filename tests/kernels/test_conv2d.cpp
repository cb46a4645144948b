// conv2d (kernels/conv/conv2d.h) against direct loops in double: forward, input gradient, weight
// and bias gradients, over stride / padding / dilation / groups (incl. depthwise and pointwise),
// odd sizes, non-contiguous inputs, 16-bit dtypes; and the errors for bad shapes.
#include <catch2/catch.hpp>

#include "kernels/conv/conv_backend.h"
#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using kernels::Conv2dParams;
using ops::Conv2dOptions;

namespace {

struct Case {
    Shape x, w;
    Conv2dOptions opt;
};

// The definition, one output element at a time.
Tensor naive_forward(const Tensor& x, const Tensor& w, const Tensor& b, const Conv2dParams& p) {
    Tensor y = zeros({p.n, p.k, p.p, p.q}, {DType::F64});
    double* py = y.data<double>();
    const int64_t kg = p.k / p.groups, cg = p.c / p.groups;
    for (int64_t n = 0; n < p.n; ++n)
        for (int64_t k = 0; k < p.k; ++k)
            for (int64_t i = 0; i < p.p; ++i)
                for (int64_t j = 0; j < p.q; ++j) {
                    double acc = b.defined() ? b.get_double(k) : 0.0;
                    const int64_t g = k / kg;
                    for (int64_t c = 0; c < cg; ++c)
                        for (int64_t r = 0; r < p.r; ++r)
                            for (int64_t s = 0; s < p.s; ++s) {
                                const int64_t h = i * p.stride_h - p.pad_h + r * p.dil_h;
                                const int64_t ww = j * p.stride_w - p.pad_w + s * p.dil_w;
                                if (h < 0 || h >= p.h || ww < 0 || ww >= p.w) continue;
                                acc += w.get_double(((k * cg + c) * p.r + r) * p.s + s) *
                                       x.get_double(((n * p.c + g * cg + c) * p.h + h) * p.w + ww);
                            }
                    py[((n * p.k + k) * p.p + i) * p.q + j] = acc;
                }
    return y;
}

// Gradients by the chain rule on the same loop: each (output, tap) pair adds its products.
void naive_backward(const Tensor& x, const Tensor& w, const Tensor& dy, const Conv2dParams& p, Tensor& dx, Tensor& dw,
                    Tensor& db) {
    dx = zeros({p.n, p.c, p.h, p.w}, {DType::F64});
    dw = zeros({p.k, p.c / p.groups, p.r, p.s}, {DType::F64});
    db = zeros({p.k}, {DType::F64});
    const int64_t kg = p.k / p.groups, cg = p.c / p.groups;
    for (int64_t n = 0; n < p.n; ++n)
        for (int64_t k = 0; k < p.k; ++k)
            for (int64_t i = 0; i < p.p; ++i)
                for (int64_t j = 0; j < p.q; ++j) {
                    const double g_out = dy.get_double(((n * p.k + k) * p.p + i) * p.q + j);
                    db.data<double>()[k] += g_out;
                    const int64_t g = k / kg;
                    for (int64_t c = 0; c < cg; ++c)
                        for (int64_t r = 0; r < p.r; ++r)
                            for (int64_t s = 0; s < p.s; ++s) {
                                const int64_t h = i * p.stride_h - p.pad_h + r * p.dil_h;
                                const int64_t ww = j * p.stride_w - p.pad_w + s * p.dil_w;
                                if (h < 0 || h >= p.h || ww < 0 || ww >= p.w) continue;
                                const int64_t xi = ((n * p.c + g * cg + c) * p.h + h) * p.w + ww;
                                const int64_t wi = ((k * cg + c) * p.r + r) * p.s + s;
                                dx.data<double>()[xi] += g_out * w.get_double(wi);
                                dw.data<double>()[wi] += g_out * x.get_double(xi);
                            }
                }
}

std::vector<Case> cases() {
    return {
        {{2, 3, 7, 9}, {4, 3, 3, 3}, Conv2dOptions::make(1, 1)},                // same padding
        {{1, 4, 11, 6}, {6, 4, 3, 3}, Conv2dOptions::make(2, 1)},               // stride 2, odd sizes
        {{2, 3, 9, 10}, {5, 3, 3, 3}, Conv2dOptions::make(1, 2, 2)},            // atrous, dilation 2
        {{1, 2, 13, 13}, {3, 2, 3, 3}, Conv2dOptions::make(1, 6, 6)},           // dilation 6 (ASPP-like)
        {{2, 6, 8, 7}, {6, 1, 3, 3}, Conv2dOptions::make(1, 1, 1, 6)},          // depthwise
        {{1, 4, 9, 8}, {8, 1, 3, 3}, Conv2dOptions::make(1, 1, 1, 4)},          // depthwise, multiplier 2
        {{2, 3, 10, 9}, {3, 1, 5, 5}, Conv2dOptions::make(2, 4, 2, 3)},         // depthwise 5x5 s2 atrous
        {{1, 5, 7, 6}, {5, 1, 3, 3}, Conv2dOptions::make(2, 0, 1, 5)},          // depthwise, no padding
        {{2, 4, 9, 11}, {4, 1, 3, 3}, Conv2dOptions::make(1, 3, 3, 4)},         // depthwise 3x3 atrous, stride 1
        {{1, 3, 6, 2}, {3, 1, 3, 3}, Conv2dOptions::make(1, 2, 2, 3)},          // depthwise, narrower than the filter
        {{1, 6, 8, 8}, {4, 3, 3, 3}, Conv2dOptions::make(2, 1, 1, 2)},          // groups 2, stride 2
        {{3, 5, 6, 7}, {7, 5, 1, 1}, Conv2dOptions::make()},                    // pointwise
        {{1, 4, 9, 9}, {2, 4, 1, 1}, Conv2dOptions::make(2)},                   // 1x1 stride 2
        {{2, 3, 5, 8}, {2, 3, 7, 1}, {1, 1, 3, 0, 1, 1, 1}},                    // 7x1, asymmetric pad
        {{1, 2, 12, 10}, {3, 2, 5, 3}, {3, 2, 1, 2, 1, 2, 1}},                  // mixed strides/dilations
        {{1, 1, 1, 1}, {2, 1, 1, 1}, Conv2dOptions::make()},                    // 1x1 image
        {{2, 2, 3, 3}, {1, 2, 3, 3}, Conv2dOptions::make()},                    // kernel covers the image
        {{1, 2, 2, 3}, {2, 2, 3, 3}, Conv2dOptions::make(1, 4, 3)},             // dilated reach > image
    };
}

}  // namespace

TEST_CASE("conv2d forward and gradients match direct loops", "[kernels][conv2d]") {
    uint32_t seed = 1;
    for (const Case& c : cases()) {
        const Conv2dParams p = ops::conv2d_params(c.x, c.w, c.opt);
        const Tensor x64 = test::random_tensor(c.x, DType::F64, -1, 1, seed++);
        const Tensor w64 = test::random_tensor(c.w, DType::F64, -1, 1, seed++);
        const Tensor b64 = test::random_tensor({p.k}, DType::F64, -1, 1, seed++);
        const Tensor dy64 = test::random_tensor({p.n, p.k, p.p, p.q}, DType::F64, -1, 1, seed++);
        const Tensor y_ref = naive_forward(x64, w64, b64, p);
        Tensor dx_ref, dw_ref, db_ref;
        naive_backward(x64, w64, dy64, p, dx_ref, dw_ref, db_ref);
        for (DType dt : {DType::F64, DType::F32, DType::F16, DType::BF16}) {
            INFO("x " << shape_str(c.x) << " w " << shape_str(c.w) << " stride " << c.opt.stride_h << "," << c.opt.stride_w
                      << " pad " << c.opt.pad_h << "," << c.opt.pad_w << " dil " << c.opt.dil_h << "," << c.opt.dil_w
                      << " groups " << c.opt.groups << " " << dtype_name(dt));
            const Tensor x = x64.to(dt), w = w64.to(dt), b = b64.to(dt), dy = dy64.to(dt);
            // References from the dtype-rounded inputs, so only the op's own rounding is measured.
            const Tensor yr = naive_forward(x.to(DType::F64), w.to(DType::F64), b.to(DType::F64), p);
            Tensor dxr, dwr, dbr;
            naive_backward(x.to(DType::F64), w.to(DType::F64), dy.to(DType::F64), p, dxr, dwr, dbr);
            test::Tolerance tol = dt == DType::F64 ? test::Tolerance{1e-12, 1e-12} : test::tolerance_for(dt);
            if (dt == DType::F32) tol.atol = 1e-4;  // sums of up to ~50 products of O(1) values
            const Tensor y = ops::conv2d(x, w, b, c.opt);
            REQUIRE(y.dtype() == dt);
            REQUIRE_CLOSE(y, yr, tol);
            REQUIRE_CLOSE(ops::conv2d_backward_input(dy, w, c.x, c.opt), dxr, tol);
            auto [dw, db] = ops::conv2d_backward_weight(x, dy, c.w, true, c.opt);
            REQUIRE_CLOSE(dw, dwr, tol);
            REQUIRE_CLOSE(db, dbr, tol);
        }
        (void)y_ref;
    }
}

TEST_CASE("conv2d accepts non-contiguous inputs and no bias", "[kernels][conv2d]") {
    const Tensor x = test::random_tensor({2, 9, 7, 3}, DType::F32, -1, 1, 5).permute({0, 3, 1, 2});  // (2, 3, 9, 7)
    const Tensor w = test::random_tensor({4, 3, 3, 3}, DType::F32, -1, 1, 6);
    const auto opt = Conv2dOptions::make(1, 1);
    REQUIRE_CLOSE(ops::conv2d(x, w, Tensor(), opt), ops::conv2d(x.contiguous(), w, Tensor(), opt),
                  (test::Tolerance{0, 0}));
    auto [dw, db] = ops::conv2d_backward_weight(x, ones({2, 4, 9, 7}), w.shape(), false, opt);
    REQUIRE_FALSE(db.defined());
    REQUIRE(dw.shape() == w.shape());
}

TEST_CASE("conv2d on a large image uses several im2col bands and agrees with one band", "[kernels][conv2d]") {
    // 64 channels x 3x3 at 200 x 300 gives a 576 x 60000 column matrix (138 MB): the CPU splits it
    // into bands of output rows. Compare against the same conv computed row band by row band via
    // narrow: the results must be identical, band edges included.
    const Tensor x = test::random_tensor({1, 64, 200, 300}, DType::F32, -1, 1, 7);
    const Tensor w = test::random_tensor({8, 64, 3, 3}, DType::F32, -0.1, 0.1, 8);
    const auto opt = Conv2dOptions::make(1, 1);
    const Tensor y = ops::conv2d(x, w, Tensor(), opt);
    // Rows 100..109 of the output need input rows 99..110 (padding 1 -> rows 99..110 of x).
    const Tensor part = ops::conv2d(x.narrow(2, 99, 12), w, Tensor(), Conv2dOptions{1, 1, 0, 1, 1, 1, 1});
    REQUIRE_CLOSE(y.narrow(2, 100, 10), part, (test::Tolerance{1e-5, 1e-5}));
}

TEST_CASE("conv2d reports bad shapes clearly", "[kernels][conv2d]") {
    const Tensor x = zeros({1, 4, 8, 8}), w = zeros({6, 4, 3, 3});
    REQUIRE_THROWS_WITH(ops::conv2d(zeros({4, 8, 8}), w, Tensor()), Catch::Contains("(N, C, H, W)"));
    REQUIRE_THROWS_WITH(ops::conv2d(x, zeros({6, 3, 3, 3}), Tensor()), Catch::Contains("has 4"));
    REQUIRE_THROWS_WITH(ops::conv2d(x, zeros({6, 2, 3, 3}), Tensor(), Conv2dOptions::make(1, 0, 1, 3)),
                        Catch::Contains("divisible by groups"));
    REQUIRE_THROWS_WITH(ops::conv2d(x, w, zeros({5})), Catch::Contains("bias must be (6)"));
    REQUIRE_THROWS_WITH(ops::conv2d(x, zeros({6, 4, 9, 9}), Tensor()), Catch::Contains("smaller than the dilated kernel"));
    REQUIRE_THROWS_WITH(ops::conv2d(x, w, Tensor(), Conv2dOptions::make(0)), Catch::Contains("stride"));
    REQUIRE_THROWS_WITH(ops::conv2d(x, w.to(DType::F64), Tensor()), Catch::Contains("f64"));
}

TEST_CASE("conv2d with an empty batch", "[kernels][conv2d]") {
    const Tensor x = zeros({0, 3, 5, 5}), w = ones({2, 3, 3, 3});
    REQUIRE(ops::conv2d(x, w, Tensor()).shape() == Shape{0, 2, 3, 3});
    auto [dw, db] = ops::conv2d_backward_weight(x, zeros({0, 2, 3, 3}), w.shape(), true);
    REQUIRE(ops::max(ops::abs(dw)).item_double() == 0.0);
    REQUIRE(ops::max(ops::abs(db)).item_double() == 0.0);
}

TEST_CASE("conv backend selection: names, the global setting, CPU tensors unaffected", "[kernels][conv2d]") {
    using kernels::ConvBackend;
    REQUIRE(kernels::parse_conv_backend("cudnn") == ConvBackend::Cudnn);
    REQUIRE(kernels::parse_conv_backend("auto") == ConvBackend::Auto);
    REQUIRE_THROWS_WITH(kernels::parse_conv_backend("winograd"), Catch::Contains("native, cudnn or auto"));
    REQUIRE_THROWS_WITH(kernels::set_conv_backend(ConvBackend::Default), Catch::Contains("choose native"));
    REQUIRE(kernels::conv_backend() == ConvBackend::Native);
    if (cudnn_compiled()) {
        kernels::set_conv_backend(ConvBackend::Cudnn);
        REQUIRE(kernels::conv_backend() == ConvBackend::Cudnn);
    } else {
        REQUIRE_THROWS_WITH(kernels::set_conv_backend(ConvBackend::Cudnn), Catch::Contains("no cuDNN"));
    }
    // The backend only steers CUDA tensors: a CPU conv with a cuDNN override still runs (on the CPU).
    auto opt = Conv2dOptions::make(1, 1);
    opt.backend = ConvBackend::Cudnn;
    const Tensor x = test::random_tensor({1, 2, 5, 5}, DType::F32, -1, 1, 3), w = test::random_tensor({3, 2, 3, 3}, DType::F32, -1, 1, 4);
    REQUIRE_CLOSE(ops::conv2d(x, w, Tensor(), opt), ops::conv2d(x, w, Tensor(), Conv2dOptions::make(1, 1)),
                  (test::Tolerance{0, 0}));
    kernels::set_conv_backend(ConvBackend::Native);
}
