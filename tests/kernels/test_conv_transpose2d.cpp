// conv_transpose2d (kernels/conv/conv_transpose2d.h) against its definition as a scatter loop in
// double — each input pixel adds w * x into the output window it maps to — and its output size
// rule; gradients are checked by gradcheck (tests/autograd/test_gradcheck_conv.cpp) and PyTorch
// (tests/kernels/test_golden_conv.cpp).
#include <catch2/catch.hpp>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using ops::ConvTranspose2dOptions;

namespace {

Tensor naive(const Tensor& x, const Tensor& w, const Tensor& b, const ConvTranspose2dOptions& o) {
    const Shape ys = ops::conv_transpose2d_output_shape(x.shape(), w.shape(), o);
    Tensor y = zeros(ys, {DType::F64});
    const int64_t n_ = x.size(0), cin = x.size(1), h = x.size(2), wd = x.size(3);
    const int64_t coutg = w.size(1), r_ = w.size(2), s_ = w.size(3), g_ = o.conv.groups, cing = cin / g_;
    double* py = y.data<double>();
    for (int64_t n = 0; n < n_; ++n)
        for (int64_t ci = 0; ci < cin; ++ci)
            for (int64_t i = 0; i < h; ++i)
                for (int64_t j = 0; j < wd; ++j) {
                    const double xv = x.get_double(((n * cin + ci) * h + i) * wd + j);
                    const int64_t g = ci / cing;
                    for (int64_t co = 0; co < coutg; ++co)
                        for (int64_t r = 0; r < r_; ++r)
                            for (int64_t s = 0; s < s_; ++s) {
                                const int64_t oh = i * o.conv.stride_h - o.conv.pad_h + r * o.conv.dil_h;
                                const int64_t ow = j * o.conv.stride_w - o.conv.pad_w + s * o.conv.dil_w;
                                if (oh < 0 || oh >= ys[2] || ow < 0 || ow >= ys[3]) continue;
                                py[((n * ys[1] + g * coutg + co) * ys[2] + oh) * ys[3] + ow] +=
                                    xv * w.get_double(((ci * coutg + co) * r_ + r) * s_ + s);
                            }
                }
    if (b.defined())
        for (int64_t i = 0; i < y.numel(); ++i) py[i] += b.get_double((i / (ys[2] * ys[3])) % ys[1]);
    return y;
}

}  // namespace

TEST_CASE("conv_transpose2d matches the scatter definition", "[kernels][conv_transpose2d]") {
    struct C {
        Shape x, w;
        ConvTranspose2dOptions o;
        Shape expected_out;
    };
    const std::vector<C> cases = {
        {{2, 4, 5, 6}, {4, 3, 2, 2}, ConvTranspose2dOptions::make(2), {2, 3, 10, 12}},          // U-Net up-conv
        {{1, 3, 4, 5}, {3, 2, 3, 3}, ConvTranspose2dOptions::make(2, 1, 1), {1, 2, 8, 10}},     // exact x2
        {{1, 2, 3, 3}, {2, 2, 4, 4}, ConvTranspose2dOptions::make(2, 1), {1, 2, 6, 6}},
        {{1, 4, 4, 4}, {4, 3, 3, 3}, ConvTranspose2dOptions::make(1, 1, 0, 1, 2), {1, 6, 4, 4}},  // groups
        {{2, 2, 5, 4}, {2, 3, 3, 2}, {{1, 2, 2, 1, 2, 1, 1}, 0, 1}, {2, 3, 5, 7}},             // mixed
        {{1, 1, 1, 1}, {1, 1, 1, 1}, ConvTranspose2dOptions::make(), {1, 1, 1, 1}},
        {{2, 5, 4, 6}, {5, 1, 3, 3}, ConvTranspose2dOptions::make(2, 1, 1, 1, 5), {2, 5, 8, 12}},   // depthwise
        {{1, 3, 5, 4}, {3, 2, 3, 3}, ConvTranspose2dOptions::make(1, 2, 0, 2, 3), {1, 6, 5, 4}},    // depthwise x2, atrous
    };
    uint32_t seed = 1;
    for (const C& c : cases) {
        INFO("x " << shape_str(c.x) << " w " << shape_str(c.w));
        REQUIRE(ops::conv_transpose2d_output_shape(c.x, c.w, c.o) == c.expected_out);
        const Tensor x = test::random_tensor(c.x, DType::F64, -1, 1, seed++);
        const Tensor w = test::random_tensor(c.w, DType::F64, -1, 1, seed++);
        const Tensor b = test::random_tensor({c.expected_out[1]}, DType::F64, -1, 1, seed++);
        const Tensor ref = naive(x, w, b, c.o);
        REQUIRE_CLOSE(ops::conv_transpose2d(x, w, b, c.o), ref, (test::Tolerance{1e-12, 1e-12}));
        REQUIRE_CLOSE(ops::conv_transpose2d(x.to(DType::F32), w.to(DType::F32), b.to(DType::F32), c.o), ref,
                      (test::Tolerance{1e-5, 1e-5}));
        REQUIRE_CLOSE(ops::conv_transpose2d(x.to(DType::BF16), w.to(DType::BF16), b.to(DType::BF16), c.o),
                      naive(x.to(DType::BF16).to(DType::F64), w.to(DType::BF16).to(DType::F64),
                            b.to(DType::BF16).to(DType::F64), c.o),
                      test::tolerance_for(DType::BF16));
    }
}

TEST_CASE("conv_transpose2d reports bad options", "[kernels][conv_transpose2d]") {
    const Tensor x = zeros({1, 4, 5, 5}), w = zeros({4, 2, 3, 3});
    REQUIRE_THROWS_WITH(ops::conv_transpose2d(x, w, Tensor(), ConvTranspose2dOptions::make(2, 0, 2)),
                        Catch::Contains("output_padding"));
    REQUIRE_THROWS_WITH(ops::conv_transpose2d(zeros({1, 3, 5, 5}), w, Tensor()), Catch::Contains("input channels"));
    REQUIRE_THROWS_WITH(ops::conv_transpose2d(x, w, zeros({3})), Catch::Contains("bias must be (2)"));
}
