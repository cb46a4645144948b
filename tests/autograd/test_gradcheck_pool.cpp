// f64 gradcheck of pooling, resizing and dropout through autograd: max_pool2d (inputs with
// well-separated values, so no tie or near-tie flips the argmax under the finite differences),
// max_unpool2d, avg_pool2d, adaptive_avg_pool2d (PSP bins), interpolate (bilinear with and without
// align_corners, by size and scale, nearest, nearest-exact), dropout and dropout2d (a fixed seed).
#include <catch2/catch.hpp>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::autograd;
namespace F = segcore::autograd;

namespace {

// Distinct values spaced 1/numel apart in a scrambled order: no ties within 1e-6.
Tensor distinct(const Shape& shape, int64_t mult) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::vector<double> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[size_t(i)] = double((i * mult) % n) / double(n) * 2.0 - 1.0;
    return from_vector<double>(v, shape);
}

void check(const GradcheckFn& f, const std::vector<Tensor>& in) {
    const auto r = gradcheck(f, in);
    INFO(r.message);
    REQUIRE(r.ok);
}

}  // namespace

TEST_CASE("gradcheck: max_pool2d and max_unpool2d", "[autograd][gradcheck][pool]") {
    for (const auto& o : {ops::MaxPool2dOptions::make(2), ops::MaxPool2dOptions::make(3, 2, 1),
                          ops::MaxPool2dOptions::make(3, 2, 0, 1, true), ops::MaxPool2dOptions::make(3, 1, 1, 2),
                          ops::MaxPool2dOptions{2, 3, 1, 2, 1, 0, 1, 1, true}}) {
        INFO("k " << o.kh << "x" << o.kw << " ceil " << o.ceil_mode);
        check([o](const std::vector<Variable>& v) { return F::max_pool2d(v[0], o); }, {distinct({2, 3, 7, 8}, 101)});
    }
    auto [y, idx] = ops::max_pool2d(distinct({1, 2, 6, 8}, 37), ops::MaxPool2dOptions::make(2));
    check([idx = idx](const std::vector<Variable>& v) { return F::max_unpool2d(v[0], idx, 6, 8); },
          {test::random_tensor(y.shape(), DType::F64, -1, 1, 3)});
    // SegNet round trip: pool, transform, unpool.
    check(
        [](const std::vector<Variable>& v) {
            auto [p, i] = F::max_pool2d_with_indices(v[0], ops::MaxPool2dOptions::make(2));
            return F::max_unpool2d(F::mul(p, p), i, 6, 7);
        },
        {distinct({1, 2, 6, 7}, 29)});
}

TEST_CASE("gradcheck: avg_pool2d and adaptive_avg_pool2d", "[autograd][gradcheck][pool]") {
    for (const auto& o :
         {ops::AvgPool2dOptions::make(2), ops::AvgPool2dOptions::make(3, 2, 1),
          ops::AvgPool2dOptions::make(3, 2, 1, true, false), ops::AvgPool2dOptions::make(3, 2, 0, true)}) {
        check([o](const std::vector<Variable>& v) { return F::avg_pool2d(v[0], o); },
              {test::random_tensor({2, 2, 7, 9}, DType::F64, -1, 1, 4)});
    }
    for (int64_t bins : {1, 2, 3, 6})
        check([bins](const std::vector<Variable>& v) { return F::adaptive_avg_pool2d(v[0], bins, bins); },
              {test::random_tensor({1, 2, 13, 11}, DType::F64, -1, 1, 5)});
    check([](const std::vector<Variable>& v) { return F::adaptive_avg_pool2d(v[0], 5, 4); },
          {test::random_tensor({1, 1, 3, 3}, DType::F64, -1, 1, 6)});
}

TEST_CASE("gradcheck: interpolate", "[autograd][gradcheck][resize]") {
    using kernels::InterpMode;
    using ops::InterpolateOptions;
    for (const auto& o : {InterpolateOptions::size(9, 11), InterpolateOptions::size(9, 11, InterpMode::Bilinear, true),
                          InterpolateOptions::size(3, 2), InterpolateOptions::size(1, 1, InterpMode::Bilinear, true),
                          InterpolateOptions::scale(1.5, 2.3), InterpolateOptions::scale(0.7, 0.7),
                          InterpolateOptions::scale(4, 4, InterpMode::Bilinear, true),
                          InterpolateOptions::size(10, 7, InterpMode::Nearest),
                          InterpolateOptions::scale(1.7, 0.6, InterpMode::NearestExact)}) {
        INFO("mode " << int(o.mode) << " align " << o.align_corners << " size " << o.out_h << "x" << o.out_w
                     << " scale " << o.scale_h << "," << o.scale_w);
        check([o](const std::vector<Variable>& v) { return F::interpolate(v[0], o); },
              {test::random_tensor({2, 2, 5, 6}, DType::F64, -1, 1, 7)});
    }
}

TEST_CASE("gradcheck: dropout and dropout2d", "[autograd][gradcheck][dropout]") {
    check(
        [](const std::vector<Variable>& v) {
            Generator g(5);  // the same mask on every evaluation
            return F::dropout(v[0], 0.4, &g);
        },
        {test::random_tensor({2, 3, 4, 5}, DType::F64, -1, 1, 8)});
    check(
        [](const std::vector<Variable>& v) {
            Generator g(6);
            return F::dropout2d(v[0], 0.5, &g);
        },
        {test::random_tensor({2, 4, 3, 3}, DType::F64, -1, 1, 9)});
}
