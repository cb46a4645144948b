// f64 gradcheck of batch_norm through autograd: input, weight and bias gradients with batch
// statistics (training) and with running statistics (eval), with and without the fused
// activations (inputs are shifted so no pre-activation sits on a kink).
#include <catch2/catch.hpp>

#include "autograd/functions.h"
#include "autograd/gradcheck.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::autograd;
namespace F = segcore::autograd;
using kernels::Act;

TEST_CASE("gradcheck: batch_norm", "[autograd][gradcheck][batch_norm]") {
    const Tensor rm = test::random_tensor({3}, DType::F64, -0.5, 0.5, 4);
    const Tensor rv = test::random_tensor({3}, DType::F64, 0.5, 1.5, 5);
    for (bool training : {true, false})
        for (Act act : {Act::None, Act::Relu}) {
            INFO("training " << training << " act " << kernels::act_name(act));
            const auto r = gradcheck(
                [&](const std::vector<Variable>& v) {
                    Tensor m = rm.clone(), var = rv.clone();  // running stats are updated in place
                    return F::batch_norm(v[0], v[1], v[2], m, var, training, 0.1, 1e-5, act);
                },
                {test::random_tensor({3, 3, 2, 3}, DType::F64, -2, 2, 1),
                 test::random_tensor({3}, DType::F64, 0.5, 1.5, 2), test::random_tensor({3}, DType::F64, -0.3, 0.3, 3)});
            INFO(r.message);
            REQUIRE(r.ok);
        }
    // No affine parameters.
    const auto r = gradcheck(
        [](const std::vector<Variable>& v) {
            return F::batch_norm(v[0], Variable(), Variable(), Tensor(), Tensor(), true);
        },
        {test::random_tensor({4, 2, 3}, DType::F64, -2, 2, 6)});
    INFO(r.message);
    REQUIRE(r.ok);
}
