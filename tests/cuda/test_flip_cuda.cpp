// ops::flip on CUDA tensors against the CPU (the oracle), bit for bit.
#include <catch2/catch.hpp>

#include "core/tensor.h"
#include "kernels/shape/flip.h"
#include "tests/test_util.h"

using namespace segcore;
using segcore::test::Tolerance;

TEST_CASE("flip CUDA: matches the CPU on every dim and element size", "[cuda][flip]") {
    const DType dt = GENERATE(DType::F32, DType::BF16, DType::I64, DType::U8);
    const int64_t dim = GENERATE(0, 1, 2, 3);
    Generator gen(7);
    const Shape shape{2, 3, 37, 53};
    const Tensor x = is_floating(dt) ? randn(shape, dt, &gen) : randint(0, 100, shape, dt, &gen);
    test::poison_next_cuda_output(shape, dt);
    const Tensor out = ops::flip(x.cuda(), dim);
    REQUIRE(out.is_cuda());
    REQUIRE_CLOSE(out.cpu(), ops::flip(x, dim), (Tolerance{0, 0}));
}

TEST_CASE("flip CUDA: non-contiguous input and a large last dim", "[cuda][flip]") {
    Generator gen(8);
    const Tensor x = randn({3, 1031, 5}, {}, &gen);
    const Tensor xt = x.cuda().transpose(1, 2);  // (3, 5, 1031), not contiguous
    REQUIRE_CLOSE(ops::flip(xt, 2).cpu(), ops::flip(x.transpose(1, 2), 2), (Tolerance{0, 0}));
}
