// ops::concat / stack / split on CUDA tensors against the same ops on the CPU.
#include <catch2/catch.hpp>

#include "core/tensor.h"
#include "kernels/shape/concat.h"
#include "kernels/shape/split.h"
#include "tests/test_util.h"

using namespace segcore;
using segcore::test::Tolerance;

TEST_CASE("concat CUDA: matches the CPU on every dim, with non-contiguous inputs", "[cuda][concat]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16, DType::I64);
    const int64_t dim = GENERATE(0, 1, 2);
    Generator gen(31);
    Shape s{3, 17, 9};
    std::vector<Tensor> cpu_in;
    for (int64_t extra : {1, 0, 5}) {
        Shape si = s;
        si[size_t(dim)] = extra;
        cpu_in.push_back(is_floating(dt) ? randn(si, dt, &gen) : randint(0, 50, si, dt, &gen));
    }
    Shape st = s;
    std::swap(st[1], st[2]);
    st[size_t(dim == 1 ? 2 : dim == 2 ? 1 : 0)] = 4;
    cpu_in.push_back((is_floating(dt) ? randn(st, dt, &gen) : randint(0, 50, st, dt, &gen)).transpose(1, 2));
    std::vector<Tensor> cuda_in;
    for (const Tensor& t : cpu_in) cuda_in.push_back(t.cuda().transpose(1, 2).contiguous().transpose(1, 2));
    const Tensor out = ops::concat(cuda_in, dim);
    REQUIRE(out.is_cuda());
    REQUIRE_CLOSE(out, ops::concat(cpu_in, dim), (Tolerance{0, 0}));
}

TEST_CASE("stack and split CUDA: round trip on the device", "[cuda][concat]") {
    Generator gen(32);
    const Tensor x = randn({6, 10, 7}, TensorOptions(DType::F32, Device::cuda()), &gen);
    const auto parts = ops::split(x, 3, 1);
    REQUIRE(parts.size() == 4);
    for (const Tensor& p : parts) REQUIRE(p.is_cuda());
    REQUIRE_CLOSE(ops::concat(parts, 1), x, (Tolerance{0, 0}));
    const Tensor s = ops::stack(ops::chunk(x, 3, 0), 1);
    REQUIRE(s.shape() == Shape{2, 3, 10, 7});
    REQUIRE_CLOSE(s.cpu(), ops::stack(ops::chunk(x.cpu(), 3, 0), 1), (Tolerance{0, 0}));
}

TEST_CASE("concat CUDA: mixed devices are an error", "[cuda][concat][errors]") {
    REQUIRE_THROWS_WITH(ops::concat({zeros({2, 3}, Device::cuda()), zeros({2, 3})}, 0),
                        Catch::Contains("cuda:0") && Catch::Contains("cpu"));
}
