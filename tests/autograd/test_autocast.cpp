// Autocast (autograd/autocast.h) on the CPU: the policy table decides each op's compute dtype,
// and gradients reach f32 master weights in f32.
#include <catch2/catch.hpp>

#include "autograd/autocast.h"
#include "autograd/functions.h"
#include "kernels/ops.h"
#include "nn/layers.h"
#include "tests/test_util.h"

using namespace segcore;
using namespace segcore::autograd;
namespace F = segcore::autograd;

TEST_CASE("the policy table", "[autograd][autocast]") {
    REQUIRE(autocast_policy("matmul") == CastPolicy::LowerPrecision);
    REQUIRE(autocast_policy("conv2d") == CastPolicy::LowerPrecision);
    REQUIRE(autocast_policy("softmax") == CastPolicy::Float32);
    REQUIRE(autocast_policy("cross_entropy") == CastPolicy::Float32);
    REQUIRE(autocast_policy("batch_norm") == CastPolicy::None);  // 16-bit input, f32 statistics inside
    REQUIRE(autocast_policy("add") == CastPolicy::Promote);
    REQUIRE(autocast_policy("relu") == CastPolicy::None);
    REQUIRE_THROWS_WITH(AutocastGuard(DType::F32), Catch::Contains("f16 or bf16"));
}

TEST_CASE("ops run in the dtype the policy says", "[autograd][autocast]") {
    for (DType half : {DType::F16, DType::BF16}) {
        INFO(dtype_name(half));
        Variable a(test::random_tensor({4, 8}, DType::F32, -1, 1, 1), true);
        Variable b(test::random_tensor({8, 3}, DType::F32, -1, 1, 2), true);
        Variable c(test::random_tensor({4, 3}, DType::F32, -1, 1, 3), true);
        {
            AutocastGuard ac(half);
            REQUIRE(autocast_enabled());
            const Variable m = F::matmul(a, b);
            REQUIRE(m.dtype() == half);                        // lower precision
            REQUIRE(F::relu(m).dtype() == half);               // not listed: input dtype
            REQUIRE(F::softmax(m, 1).dtype() == DType::F32);   // float32
            REQUIRE(F::sum(m).dtype() == DType::F32);
            const Variable mixed = F::add(m, c);               // promote: f32 wins
            REQUIRE(mixed.dtype() == DType::F32);
            {
                AutocastGuard off(half, false);
                REQUIRE(F::matmul(a, b).dtype() == DType::F32);
            }
            F::mean(F::log_softmax(mixed, 1)).backward();
        }
        REQUIRE_FALSE(autocast_enabled());
        // f32 leaves receive f32 gradients through the recorded casts, close to the f32 result.
        REQUIRE(a.grad().dtype() == DType::F32);
        REQUIRE(b.grad().dtype() == DType::F32);
        const Tensor ga = a.grad().clone(), gb = b.grad().clone();
        a.zero_grad();
        b.zero_grad();
        c.zero_grad();
        F::mean(F::log_softmax(F::add(F::matmul(a, b), c), 1)).backward();
        REQUIRE_CLOSE(ga, a.grad(), (test::Tolerance{2e-3, 2e-2}));
        REQUIRE_CLOSE(gb, b.grad(), (test::Tolerance{2e-3, 2e-2}));
    }
}

TEST_CASE("f16 with bf16 meets in f32; f64 is never cast", "[autograd][autocast]") {
    AutocastGuard ac(DType::F16);
    Variable h(ones({2}, {DType::F16})), bf(ones({2}, {DType::BF16})), d(ones({2, 2}, {DType::F64}));
    REQUIRE(F::add(h, bf).dtype() == DType::F32);
    REQUIRE(F::matmul(d, d).dtype() == DType::F64);
}

TEST_CASE("Linear runs in the autocast dtype", "[autograd][autocast]") {
    nn::Linear lin(8, 4);
    Variable x(test::random_tensor({2, 8}, DType::F32, -1, 1, 5));
    AutocastGuard ac(DType::BF16);
    const Variable y = lin(x);
    REQUIRE(y.dtype() == DType::BF16);
    F::sum(F::to(y, DType::F32)).backward();
    REQUIRE(lin.weight.grad().dtype() == DType::F32);
    REQUIRE(lin.bias.grad().dtype() == DType::F32);
}
