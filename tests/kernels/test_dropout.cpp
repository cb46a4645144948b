// dropout / dropout2d (kernels/dropout/dropout.h): the mask is the Philox formula (checked entry by
// entry), statistics (kept fraction, inverted scaling, whole channels), determinism (same
// generator state = same mask; the generator advances by the mask size), the backward pass,
// p = 0 and p = 1, 16-bit dtypes, nn::functional::dropout and nn::Dropout2d, and bad input.
#include <catch2/catch.hpp>

#include <cmath>

#include "autograd/functions.h"
#include "core/parallel.h"
#include "core/philox.h"
#include "kernels/ops.h"
#include "nn/functional.h"
#include "nn/layers/dropout.h"
#include "tests/test_util.h"

using namespace segcore;

namespace {

double kept_fraction(const Tensor& mask) { return ops::sum(mask.to(DType::F64)).item_double() / double(mask.numel()); }

}  // namespace

TEST_CASE("dropout: the mask is Philox's uniform draw, survivors are scaled", "[kernels][dropout]") {
    Generator g(1234);
    g.set_offset(77);
    const Tensor x = test::random_tensor({3, 5, 7, 11}, DType::F64, -1, 1, 1);
    auto [y, mask] = ops::dropout(x, 0.3, &g);
    REQUIRE(mask.dtype() == DType::Bool);
    REQUIRE(mask.shape() == x.shape());
    REQUIRE(g.offset() == 77 + uint64_t(x.numel()));
    const double scale = 1.0 / 0.7;
    for (int64_t i = 0; i < x.numel(); ++i) {
        const bool keep = philox::uniform_at(1234, 77, i) < float(0.7);
        REQUIRE(bool(mask.get_double(i)) == keep);
        REQUIRE(y.get_double(i) == (keep ? x.get_double(i) * scale : 0.0));
    }
}

TEST_CASE("dropout: statistics and determinism", "[kernels][dropout]") {
    const Tensor x = ones({1 << 20});
    for (double p : {0.1, 0.5, 0.9}) {
        Generator g(42);
        auto [y, mask] = ops::dropout(x, p, &g);
        INFO("p " << p);
        REQUIRE(kept_fraction(mask) == Approx(1 - p).margin(0.003));  // ~6 sigma at n = 2^20
        REQUIRE(ops::max(y).item_double() == Approx(1 / (1 - p)));
        // Mean is preserved in expectation (inverted dropout).
        REQUIRE(ops::mean(y).item_double() == Approx(1.0).margin(0.01));
        // Same seed and offset: the same mask; the next draw differs.
        Generator g2(42);
        auto [y2, mask2] = ops::dropout(x, p, &g2);
        REQUIRE_CLOSE(y2, y, (test::Tolerance{0, 0}));
        auto [y3, mask3] = ops::dropout(x, p, &g2);
        REQUIRE(ops::sum(ops::ne(mask3.to(DType::F32), mask.to(DType::F32)).to(DType::F32)).item_double() > 0);
    }
    // The mask does not depend on the thread split.
    Generator a(9), b(9);
    const auto m1 = ops::dropout(ones({100003}), 0.5, &a).second;
    const int threads = num_threads();
    set_num_threads(1);
    const auto m2 = ops::dropout(ones({100003}), 0.5, &b).second;
    set_num_threads(threads);
    REQUIRE_CLOSE(m1.to(DType::F32), m2.to(DType::F32), (test::Tolerance{0, 0}));
}

TEST_CASE("dropout2d zeroes whole channels", "[kernels][dropout]") {
    Generator g(5);
    const Tensor x = test::random_tensor({16, 64, 3, 5}, DType::F32, 0.5, 1, 2);
    auto [y, mask] = ops::dropout2d(x, 0.25, &g);
    REQUIRE(mask.shape() == Shape({16, 64, 1, 1}));
    REQUIRE(g.offset() == 16 * 64);
    for (int64_t nc = 0; nc < 16 * 64; ++nc) {
        const bool keep = philox::uniform_at(5, 0, nc) < 0.75f;
        REQUIRE(bool(mask.get_double(nc)) == keep);
        for (int64_t j = 0; j < 15; ++j) {
            const int64_t i = nc * 15 + j;
            REQUIRE(y.get_double(i) == (keep ? double(float(x.get_double(i)) * float(1 / 0.75)) : 0.0));
        }
    }
    REQUIRE(kept_fraction(mask) == Approx(0.75).margin(0.06));
    // Backward: the same channels, the same scale.
    const Tensor dy = test::random_tensor(x.shape(), DType::F64, -1, 1, 3);
    const Tensor dx = ops::dropout_backward(dy, mask, 0.25);
    for (int64_t i = 0; i < dy.numel(); ++i)
        REQUIRE(dx.get_double(i) == (mask.get_double(i / 15) != 0 ? dy.get_double(i) * (1 / 0.75) : 0.0));
}

TEST_CASE("dropout: backward, p = 0, p = 1, 16-bit dtypes", "[kernels][dropout]") {
    Generator g(3);
    const Tensor x = test::random_tensor({4, 9, 13}, DType::F32, -1, 1, 4);
    auto [y, mask] = ops::dropout(x, 0.4, &g);
    const Tensor dy = test::random_tensor(x.shape(), DType::F32, -1, 1, 5);
    const Tensor dx = ops::dropout_backward(dy, mask, 0.4);
    for (int64_t i = 0; i < x.numel(); ++i)
        REQUIRE(dx.get_double(i) == (mask.get_double(i) != 0 ? double(float(dy.get_double(i)) * float(1 / 0.6)) : 0.0));
    // p = 0: x itself, nothing drawn; p = 1: zeros, nothing drawn.
    const uint64_t off = g.offset();
    auto [y0, m0] = ops::dropout(x, 0.0, &g);
    REQUIRE(y0.data_ptr() == x.data_ptr());
    REQUIRE(kept_fraction(m0) == 1.0);
    auto [y1, m1] = ops::dropout(x, 1.0, &g);
    REQUIRE(ops::max(ops::abs(y1)).item_double() == 0.0);
    REQUIRE(kept_fraction(m1) == 0.0);
    REQUIRE(ops::max(ops::abs(ops::dropout_backward(dy, m1, 1.0))).item_double() == 0.0);
    REQUIRE(g.offset() == off);
    // 16-bit and f64: the same mask for the same generator state, values scaled in f32 / f64.
    for (DType dt : {DType::F16, DType::BF16, DType::F64}) {
        Generator a(11), b(11);
        auto [yr, mr] = ops::dropout(x, 0.2, &a);
        auto [yd, md] = ops::dropout(x.to(dt), 0.2, &b);
        REQUIRE(yd.dtype() == dt);
        REQUIRE_CLOSE(md.to(DType::F32), mr.to(DType::F32), (test::Tolerance{0, 0}));
        REQUIRE_CLOSE(yd, yr, test::tolerance_for(dt == DType::F64 ? DType::F32 : dt));  // yr is f32
    }
}

TEST_CASE("nn::functional::dropout keeps its semantics on the kernel; Dropout2d", "[kernels][dropout][nn]") {
    // The old formulation: keep = rand(f32) < 1 - p, y = where(keep, x / (1 - p), 0).
    Generator g(7), h(7);
    const Tensor x = test::random_tensor({3, 4, 5, 6}, DType::F32, -1, 1, 8);
    const autograd::Variable y = nn::functional::dropout(autograd::Variable(x), 0.3, true, &g);
    const Tensor keep = ops::lt(rand(x.shape(), {DType::F32}, &h), 1.0 - 0.3);
    const Tensor ref = ops::where(keep, ops::mul(x, 1.0 / 0.7), zeros({}));
    REQUIRE_CLOSE(y.data(), ref, (test::Tolerance{0, 0}));
    REQUIRE(g.offset() == h.offset());
    // Eval or p = 0: x unchanged. The gradient goes through the mask.
    REQUIRE(nn::functional::dropout(autograd::Variable(x), 0.3, false, &g).data().data_ptr() == x.data_ptr());
    autograd::Variable leaf(x, true);
    autograd::sum(nn::functional::dropout2d(leaf, 0.5, true, &g)).backward();
    REQUIRE(leaf.grad().shape() == x.shape());
    for (int64_t nc = 0; nc < 12; ++nc) {
        const double g0 = leaf.grad().get_double(nc * 30);
        REQUIRE((g0 == 0.0 || g0 == 2.0));
        for (int64_t j = 1; j < 30; ++j) REQUIRE(leaf.grad().get_double(nc * 30 + j) == g0);
    }
    nn::Dropout2d d(0.5, &g);
    REQUIRE(d.str().find("Dropout2d(p=0.5)") != std::string::npos);
    d.eval();
    REQUIRE(d(autograd::Variable(x)).data().data_ptr() == x.data_ptr());
    REQUIRE_THROWS_WITH(nn::Dropout2d(1.5), Catch::Contains("p must be in [0, 1]"));
}

TEST_CASE("dropout rejects bad input with a clear message", "[kernels][dropout]") {
    REQUIRE_THROWS_WITH(ops::dropout(ones({4}), -0.1), Catch::Contains("p must be in [0, 1]"));
    REQUIRE_THROWS_WITH(ops::dropout2d(ones({4, 3}), 0.5), Catch::Contains("(N, C, H, W)"));
    REQUIRE_THROWS_WITH(ops::dropout(ones({4}, {DType::I32}), 0.5), Catch::Contains("dropout"));
    REQUIRE_THROWS_WITH(ops::dropout_backward(ones({2, 3, 4, 4}), ones({2, 3, 1, 1}), 0.5),
                        Catch::Contains("mask must be bool"));
    REQUIRE_THROWS_WITH(ops::dropout_backward(ones({2, 3, 4, 4}), ones({2, 1, 1, 1}, {DType::Bool}), 0.5),
                        Catch::Contains("(N, C, 1, 1)"));
}
