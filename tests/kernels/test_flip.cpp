// ops::flip on the CPU: every slice lands, bit for bit, at its mirrored position.
#include <catch2/catch.hpp>

#include "core/tensor.h"
#include "kernels/shape/flip.h"
#include "tests/test_util.h"

using namespace segcore;
using segcore::test::Tolerance;

namespace {

const Tolerance kExact{0, 0};

Tensor random_of(const Shape& shape, DType dt, Generator& gen) {
    if (is_floating(dt)) return randn(shape, dt, &gen);
    return randint(0, 100, shape, dt, &gen);
}

// The reference: slice i of the output along d is slice len - 1 - i of the input.
void require_flipped(const Tensor& out, const Tensor& x, int64_t d) {
    REQUIRE(out.shape() == x.shape());
    REQUIRE(out.dtype() == x.dtype());
    const int64_t len = x.size(d);
    for (int64_t i = 0; i < len; ++i) REQUIRE_CLOSE(out.narrow(d, i, 1), x.narrow(d, len - 1 - i, 1), kExact);
}

}  // namespace

TEST_CASE("flip: every dim of an odd 4-D shape, every element size", "[kernels][flip]") {
    const DType dt = GENERATE(DType::F32, DType::F64, DType::F16, DType::I64, DType::U8);
    const int64_t dim = GENERATE(0, 1, 2, 3);
    Generator gen(5);
    const Tensor x = random_of({3, 5, 7, 11}, dt, gen);
    const Tensor y = ops::flip(x, dim);
    require_flipped(y, x, dim);
    REQUIRE_CLOSE(ops::flip(y, dim), x, kExact);  // an involution
}

TEST_CASE("flip: negative dims, non-contiguous inputs, sizes 1 and 0", "[kernels][flip]") {
    Generator gen(6);
    const Tensor x = randn({2, 3, 9, 4}, {}, &gen);
    require_flipped(ops::flip(x, -1), x, 3);
    require_flipped(ops::flip(x, -4), x, 0);

    const Tensor t = randn({4, 9, 6}, {}, &gen).transpose(1, 2);  // (4, 6, 9), not contiguous
    REQUIRE_FALSE(t.is_contiguous());
    require_flipped(ops::flip(t, 2), t, 2);
    require_flipped(ops::flip(t, 1), t, 1);

    const Tensor one = randn({3, 1, 5}, {}, &gen);
    REQUIRE_CLOSE(ops::flip(one, 1), one, kExact);
    const Tensor none = empty({3, 0, 5});
    REQUIRE(ops::flip(none, 2).shape() == none.shape());

    const Tensor scalar = full({}, 2.5);
    REQUIRE(ops::flip(scalar, 0).item_double() == 2.5);
}

TEST_CASE("flip: a bad dim is an error naming the tensor", "[kernels][flip]") {
    const Tensor x = zeros({2, 3});
    REQUIRE_THROWS_WITH(ops::flip(x, 2), Catch::Contains("dim 2 is out of range") && Catch::Contains("(2, 3)"));
    REQUIRE_THROWS_WITH(ops::flip(x, -3), Catch::Contains("out of range"));
}
