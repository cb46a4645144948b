// ops::concat / stack / split / chunk on the CPU.
#include <catch2/catch.hpp>

#include "core/tensor.h"
#include "kernels/shape/concat.h"
#include "kernels/shape/split.h"
#include "tests/test_util.h"

using namespace segcore;
using segcore::test::Tolerance;

namespace {

const Tolerance kExact{0, 0};

Tensor random_of(const Shape& shape, DType dt, Generator& gen) {
    if (is_floating(dt)) return randn(shape, dt, &gen);
    return randint(0, 100, shape, dt, &gen);
}

// Each input must reappear, exactly, in its slot of the output.
void require_concat_of(const Tensor& out, const std::vector<Tensor>& ins, int64_t dim) {
    const int64_t d = dim < 0 ? dim + out.dim() : dim;
    int64_t offset = 0;
    for (const Tensor& t : ins) {
        REQUIRE_CLOSE(out.narrow(d, offset, t.size(d)), t, kExact);
        offset += t.size(d);
    }
    REQUIRE(offset == out.size(d));
}

}  // namespace

TEST_CASE("concat: along every dim, for several dtypes", "[concat]") {
    const DType dt = GENERATE(DType::F32, DType::F64, DType::F16, DType::BF16, DType::I64, DType::U8);
    const int64_t dim = GENERATE(0, 1, 2, -1);
    Generator gen(1);
    Shape s0{2, 3, 5}, s1{2, 3, 5}, s2{2, 3, 5};
    const int64_t d = dim < 0 ? dim + 3 : dim;
    s1[size_t(d)] = 1;
    s2[size_t(d)] = 4;
    const std::vector<Tensor> ins{random_of(s0, dt, gen), random_of(s1, dt, gen), random_of(s2, dt, gen)};
    const Tensor out = ops::concat(ins, dim);
    Shape expect = s0;
    expect[size_t(d)] = s0[size_t(d)] + 1 + 4;
    REQUIRE(out.shape() == expect);
    REQUIRE(out.dtype() == dt);
    REQUIRE(out.is_contiguous());
    require_concat_of(out, ins, dim);
}

TEST_CASE("concat: non-contiguous and empty inputs", "[concat]") {
    Generator gen(2);
    const Tensor t = randn({5, 4}, {}, &gen).t();                          // (4, 5) transposed
    const Tensor s = randn({4, 10}, {}, &gen).slice(1, 0, 10, 2);          // (4, 5) column step 2
    const Tensor e = randn({1, 5}, {}, &gen).expand({3, 5});               // (3, 5) broadcast rows
    const Tensor empty_rows = randn({0, 5}, {}, &gen);
    const std::vector<Tensor> ins{t, empty_rows, s, e};
    const Tensor out = ops::concat(ins, 0);
    REQUIRE(out.shape() == Shape{11, 5});
    require_concat_of(out, ins, 0);
    // Every input empty: an empty result of the right shape.
    REQUIRE(ops::concat({randn({2, 0}, {}, &gen), randn({2, 0}, {}, &gen)}, 1).shape() == Shape{2, 0});
    REQUIRE(ops::concat({randn({0, 3}, {}, &gen), randn({0, 3}, {}, &gen)}, 1).shape() == Shape{0, 6});
    // One tensor: a copy, not a view.
    const Tensor one = ops::concat({t}, 1);
    REQUIRE(!one.shares_storage(t));
    REQUIRE_CLOSE(one, t, kExact);
}

TEST_CASE("stack: a new dim at any position", "[concat]") {
    const int64_t dim = GENERATE(0, 1, 2, -1, -3);
    Generator gen(3);
    const std::vector<Tensor> ins{randn({3, 4}, {}, &gen), randn({4, 3}, {}, &gen).t(), randn({3, 4}, {}, &gen)};
    const Tensor out = ops::stack(ins, dim);
    const int64_t d = dim < 0 ? dim + 3 : dim;
    Shape expect{3, 4};
    expect.insert(expect.begin() + d, 3);
    REQUIRE(out.shape() == expect);
    for (int64_t i = 0; i < 3; ++i) REQUIRE_CLOSE(out.select(d, i), ins[size_t(i)], kExact);
}

TEST_CASE("split and chunk: views that cover the input", "[concat]") {
    Generator gen(4);
    const Tensor x = randn({7, 10}, {}, &gen);
    SECTION("split_size, last piece smaller") {
        const auto parts = ops::split(x, 3, 1);
        REQUIRE(parts.size() == 4);
        REQUIRE(parts[0].shape() == Shape{7, 3});
        REQUIRE(parts[3].shape() == Shape{7, 1});
        for (const Tensor& p : parts) REQUIRE(p.shares_storage(x));
        REQUIRE_CLOSE(parts[2], x.narrow(1, 6, 3), kExact);
    }
    SECTION("explicit sizes, zero sizes allowed") {
        const auto parts = ops::split(x, std::vector<int64_t>{2, 0, 5}, 0);
        REQUIRE(parts.size() == 3);
        REQUIRE(parts[1].shape() == Shape{0, 10});
        REQUIRE_CLOSE(parts[2], x.narrow(0, 2, 5), kExact);
    }
    SECTION("writing into a piece writes into the input") {
        Tensor y = x.clone();
        auto parts = ops::split(y, 5, -1);
        parts[1].fill_(7.0);
        REQUIRE(y.get_double(9) == 7.0);
        REQUIRE(y.get_double(0) == x.get_double(0));
    }
    SECTION("chunk follows PyTorch: 5 into 4 gives 2, 2, 1") {
        const auto parts = ops::chunk(randn({5, 2}, {}, &gen), 4, 0);
        REQUIRE(parts.size() == 3);
        REQUIRE(parts[0].size(0) == 2);
        REQUIRE(parts[2].size(0) == 1);
        REQUIRE(ops::chunk(x, 2, 1).size() == 2);
        REQUIRE(ops::chunk(x, 20, 1).size() == 10);
        REQUIRE(ops::chunk(randn({0, 3}, {}, &gen), 3, 0).size() == 3);  // PyTorch: `chunks` empty pieces
    }
}

TEST_CASE("split then concat is the identity", "[concat]") {
    const int64_t dim = GENERATE(0, 1, 2, 3);
    const int64_t size = GENERATE(1, 2, 3, 7);
    Generator gen(5);
    const Tensor x = randn({4, 6, 5, 3}, {}, &gen).permute({0, 2, 1, 3});  // non-contiguous input
    REQUIRE_CLOSE(ops::concat(ops::split(x, size, dim), dim), x, kExact);
    REQUIRE_CLOSE(ops::concat(ops::chunk(x, size, dim), dim), x, kExact);
}

TEST_CASE("concat, stack, split: errors say what was expected", "[concat][errors]") {
    REQUIRE_THROWS_WITH(ops::concat({}, 0), Catch::Contains("at least one tensor"));
    REQUIRE_THROWS_WITH(ops::concat({zeros({2, 3}), zeros({2, 4})}, 0),
                        Catch::Contains("(2, 3)") && Catch::Contains("(2, 4)"));
    REQUIRE_THROWS_WITH(ops::concat({zeros({2, 3}), zeros({2, 3, 1})}, 0), Catch::Contains("(2, 3, 1)"));
    REQUIRE_THROWS_WITH(ops::concat({zeros({2, 3}), zeros({2, 3}, DType::F64)}, 0),
                        Catch::Contains("f32") && Catch::Contains("f64"));
    REQUIRE_THROWS_WITH(ops::concat({zeros({2, 3}), zeros({2, 3})}, 2), Catch::Contains("concat"));
    REQUIRE_THROWS_WITH(ops::concat({zeros({}), zeros({})}, 0), Catch::Contains("zero-dimensional"));
    REQUIRE_THROWS_WITH(ops::concat({zeros({2}), Tensor()}, 0), Catch::Contains("tensor 1 is undefined"));
    REQUIRE_THROWS_WITH(ops::stack({zeros({2, 3}), zeros({3, 2})}, 0),
                        Catch::Contains("(2, 3)") && Catch::Contains("(3, 2)"));
    REQUIRE_THROWS_WITH(ops::stack({}, 0), Catch::Contains("at least one tensor"));
    REQUIRE_THROWS_WITH(ops::split(zeros({2, 5}), std::vector<int64_t>{2, 2}, 1),
                        Catch::Contains("sum to 4") && Catch::Contains("size 5"));
    REQUIRE_THROWS_WITH(ops::split(zeros({2, 5}), 0, 1), Catch::Contains("positive"));
    REQUIRE_THROWS_WITH(ops::chunk(zeros({2, 5}), 0, 1), Catch::Contains("positive"));
    REQUIRE_THROWS_WITH(ops::split(zeros({2, 5}), 2, 3), Catch::Contains("split"));
}
