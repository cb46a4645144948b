// f64 gradcheck of conv2d through autograd: input, weight and bias gradients for each
// configuration the segmentation models use (strided, atrous, grouped, depthwise, pointwise).
#include <catch2/catch.hpp>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::autograd;
namespace F = segcore::autograd;
using ops::Conv2dOptions;

TEST_CASE("gradcheck: conv2d", "[autograd][gradcheck][conv2d]") {
    struct C {
        Shape x, w;
        Conv2dOptions o;
    };
    for (const C& c : {C{{2, 3, 5, 6}, {4, 3, 3, 3}, Conv2dOptions::make(1, 1)},
                       C{{1, 2, 7, 7}, {3, 2, 3, 3}, Conv2dOptions::make(2, 2, 2)},
                       C{{1, 4, 5, 5}, {4, 1, 3, 3}, Conv2dOptions::make(1, 1, 1, 4)},
                       C{{1, 4, 4, 5}, {2, 2, 1, 1}, Conv2dOptions::make(1, 0, 1, 2)},
                       C{{2, 3, 4, 4}, {2, 3, 1, 1}, Conv2dOptions::make()}}) {
        INFO("x " << shape_str(c.x) << " w " << shape_str(c.w));
        const auto r = gradcheck([o = c.o](const std::vector<Variable>& v) { return F::conv2d(v[0], v[1], v[2], o); },
                                 {test::random_tensor(c.x, DType::F64, -1, 1, 1),
                                  test::random_tensor(c.w, DType::F64, -1, 1, 2),
                                  test::random_tensor({c.w[0]}, DType::F64, -1, 1, 3)});
        INFO(r.message);
        REQUIRE(r.ok);
    }
    // Without a bias, and with only the weight requiring grad (a frozen input).
    const auto r = gradcheck([](const std::vector<Variable>& v) { return F::conv2d(v[0], v[1], Variable()); },
                             {test::random_tensor({1, 2, 4, 4}, DType::F64, -1, 1, 4),
                              test::random_tensor({3, 2, 2, 2}, DType::F64, -1, 1, 5)},
                             {}, {0});
    INFO(r.message);
    REQUIRE(r.ok);
}

TEST_CASE("gradcheck: conv_transpose2d", "[autograd][gradcheck][conv_transpose2d]") {
    struct C {
        Shape x, w;
        ops::ConvTranspose2dOptions o;
    };
    for (const C& c : {C{{2, 3, 3, 4}, {3, 2, 2, 2}, ops::ConvTranspose2dOptions::make(2)},
                       C{{1, 2, 3, 3}, {2, 3, 3, 3}, ops::ConvTranspose2dOptions::make(2, 1, 1)},
                       C{{1, 4, 3, 3}, {4, 1, 3, 3}, ops::ConvTranspose2dOptions::make(1, 1, 0, 2, 2)}}) {
        INFO("x " << shape_str(c.x) << " w " << shape_str(c.w));
        const auto r = gradcheck(
            [o = c.o](const std::vector<Variable>& v) { return F::conv_transpose2d(v[0], v[1], v[2], o); },
            {test::random_tensor(c.x, DType::F64, -1, 1, 1), test::random_tensor(c.w, DType::F64, -1, 1, 2),
             test::random_tensor({c.w[1] * c.o.conv.groups}, DType::F64, -1, 1, 3)});
        INFO(r.message);
        REQUIRE(r.ok);
    }
}
