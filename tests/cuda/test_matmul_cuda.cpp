// ops::matmul on CUDA (cuBLAS and the tiled kernel) against the CPU oracle, outputs poisoned.
#include <catch2/catch.hpp>

#include <cmath>

#include "core/tensor.h"
#include "kernels/linalg/matmul.h"
#include "tests/test_util.h"

using namespace segcore;
using segcore::test::Tolerance;
using segcore::test::tolerance_for;
using ops::MatmulBackend;

namespace {

// The CPU oracle runs in f64 on the same (already rounded) inputs, so the only differences are
// the f32 accumulation order and the final rounding to the output dtype.
Tensor cpu_reference(const Tensor& a, const Tensor& b) { return ops::matmul(a.cpu().to(DType::F64), b.cpu().to(DType::F64)); }

Tolerance gemm_tolerance(DType t, int64_t k) {
    Tolerance tol = tolerance_for(t);
    tol.atol *= std::max(1.0, std::sqrt(double(k))) * 2.0;
    return tol;
}

Tensor cuda_matmul(const Tensor& a, const Tensor& b, MatmulBackend backend) {
    Tensor out = empty(ops::matmul_shape(a, b), TensorOptions(a.dtype(), a.device()));
    test::poison(out);
    ops::matmul_out(out, a, b, {1.0, 0.0, backend});
    return out;
}

struct Mnk {
    int64_t m, n, k;
};

}  // namespace

TEST_CASE("matmul CUDA: cuBLAS and tiled match the CPU on odd sizes", "[cuda][matmul]") {
    const Mnk s = GENERATE(values<Mnk>(
        {{1, 1, 1}, {17, 33, 9}, {64, 1, 65}, {127, 129, 131}, {64, 64, 16}, {65, 63, 17}, {3, 300, 1000}, {200, 70, 0}}));
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    const MatmulBackend backend = GENERATE(MatmulBackend::Default, MatmulBackend::Cublas, MatmulBackend::Tiled);
    INFO("m=" << s.m << " n=" << s.n << " k=" << s.k << " " << dtype_name(dt) << " " << ops::matmul_backend_name(backend));
    Generator gen(21);
    const Tensor a = randn({s.m, s.k}, TensorOptions(dt, Device::cuda()), &gen);
    const Tensor b = randn({s.k, s.n}, TensorOptions(dt, Device::cuda()), &gen);
    REQUIRE_CLOSE(cuda_matmul(a, b, backend), cpu_reference(a, b), gemm_tolerance(dt, s.k));
}

TEST_CASE("matmul CUDA: transposed inputs go through the transpose flags", "[cuda][matmul]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    const MatmulBackend backend = GENERATE(MatmulBackend::Cublas, MatmulBackend::Tiled);
    Generator gen(22);
    const TensorOptions opt(dt, Device::cuda());
    const int64_t m = 77, n = 45, k = 93;
    const Tensor at = randn({k, m}, opt, &gen).t(), bt = randn({n, k}, opt, &gen).t();
    const Tensor a = randn({m, k}, opt, &gen), b = randn({k, n}, opt, &gen);
    const auto tol = gemm_tolerance(dt, k);
    REQUIRE_CLOSE(cuda_matmul(at, b, backend), cpu_reference(at, b), tol);
    REQUIRE_CLOSE(cuda_matmul(a, bt, backend), cpu_reference(a, bt), tol);
    REQUIRE_CLOSE(cuda_matmul(at, bt, backend), cpu_reference(at, bt), tol);
    const Tensor ap = randn({m, k + 6}, opt, &gen).narrow(1, 2, k);  // lda > k
    REQUIRE_CLOSE(cuda_matmul(ap, bt, backend), cpu_reference(ap, bt), tol);
}

TEST_CASE("matmul CUDA: batched and broadcast batches", "[cuda][matmul]") {
    const DType dt = GENERATE(DType::F32, DType::BF16);
    const MatmulBackend backend = GENERATE(MatmulBackend::Cublas, MatmulBackend::Tiled);
    Generator gen(23);
    const TensorOptions opt(dt, Device::cuda());
    const int64_t bs = 4, m = 33, n = 65, k = 47;
    const auto tol = gemm_tolerance(dt, k);
    const Tensor a = randn({bs, m, k}, opt, &gen), b = randn({bs, k, n}, opt, &gen);
    REQUIRE_CLOSE(cuda_matmul(a, b, backend), cpu_reference(a, b), tol);
    const Tensor a1 = randn({1, m, k}, opt, &gen), b2 = randn({k, n}, opt, &gen);
    REQUIRE_CLOSE(cuda_matmul(a1, b, backend), cpu_reference(a1, b), tol);
    REQUIRE_CLOSE(cuda_matmul(a, b2, backend), cpu_reference(a, b2), tol);  // folds the batch into M
    const Tensor at = randn({bs, k, m}, opt, &gen).transpose(1, 2);
    REQUIRE_CLOSE(cuda_matmul(at, b, backend), cpu_reference(at, b), tol);
}

TEST_CASE("matmul CUDA: N-D broadcast batches and 1-D operands", "[cuda][matmul]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    const MatmulBackend backend = GENERATE(MatmulBackend::Cublas, MatmulBackend::Tiled);
    INFO(dtype_name(dt) << " " << ops::matmul_backend_name(backend));
    Generator gen(25);
    const TensorOptions opt(dt, Device::cuda());
    const int64_t m = 19, n = 37, k = 29;
    const auto tol = gemm_tolerance(dt, k);
    // (2, 1, M, K) @ (4, K, N) -> (2, 4, M, N): a's broadcast interleaves, so it is materialised.
    const Tensor a = randn({2, 1, m, k}, opt, &gen), b = randn({4, k, n}, opt, &gen);
    const Tensor c = cuda_matmul(a, b, backend);
    REQUIRE(c.shape() == Shape{2, 4, m, n});
    REQUIRE_CLOSE(c, cpu_reference(a, b), tol);
    // both sides broadcast, b transposed per matrix
    const Tensor a3 = randn({3, 1, m, k}, opt, &gen), bt = randn({1, 2, n, k}, opt, &gen).transpose(2, 3);
    REQUIRE_CLOSE(cuda_matmul(a3, bt, backend), cpu_reference(a3, bt), tol);
    // 1-D operands: batched matrix . vector, vector . matrix, vector . vector
    const Tensor v = randn({k}, opt, &gen), w = randn({k}, opt, &gen), b2 = randn({k, n}, opt, &gen);
    REQUIRE_CLOSE(cuda_matmul(a, v, backend), cpu_reference(a, v), tol);
    REQUIRE_CLOSE(cuda_matmul(v, b2, backend), cpu_reference(v, b2), tol);
    REQUIRE_CLOSE(cuda_matmul(v, w, backend), cpu_reference(v, w), tol);
}

TEST_CASE("matmul CUDA: alpha and beta accumulate like the CPU", "[cuda][matmul]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    const MatmulBackend backend = GENERATE(MatmulBackend::Cublas, MatmulBackend::Tiled);
    Generator gen(24);
    const Tensor a = randn({31, 18}, dt, &gen), b = randn({18, 50}, dt, &gen), c0 = randn({31, 50}, dt, &gen);
    Tensor expected = c0.to(DType::F64);
    ops::matmul_out(expected, a.to(DType::F64), b.to(DType::F64), {0.75, -1.5});
    Tensor out = c0.cuda();
    ops::matmul_out(out, a.cuda(), b.cuda(), {0.75, -1.5, backend});
    const Tolerance tol = gemm_tolerance(dt, 18);
    REQUIRE_CLOSE(out, expected, (Tolerance{tol.atol * 2, tol.rtol * 2}));
}

TEST_CASE("matmul CUDA: errors", "[cuda][matmul][errors]") {
    const Tensor a = zeros({2, 3}, TensorOptions(DType::F64, Device::cuda())), b = zeros({3, 4}, TensorOptions(DType::F64, Device::cuda()));
    REQUIRE_THROWS_WITH(ops::matmul(a, b), Catch::Contains("f64") && Catch::Contains("CPU"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({2, 3}, Device::cuda()), zeros({3, 4})),
                        Catch::Contains("cuda:0") && Catch::Contains("cpu"));
}
