// ops::matmul / matmul_out on the CPU against a naive triple loop in double.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "core/tensor.h"
#include "kernels/linalg/matmul.h"
#include "tests/test_util.h"

using namespace segcore;
using segcore::test::compare;
using segcore::test::Tolerance;
using segcore::test::tolerance_for;

namespace {

// a @ b in double, 2-D or 3-D with batch broadcasting, from whatever layout and dtype.
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
    const Shape shape = ops::matmul_shape(a, b);
    const Tensor a3 = (a.dim() == 2 ? a.unsqueeze(0) : a).to(DType::F64).contiguous();
    const Tensor b3 = (b.dim() == 2 ? b.unsqueeze(0) : b).to(DType::F64).contiguous();
    const int64_t batch = shape.size() == 3 ? shape[0] : 1;
    const int64_t m = a3.size(1), k = a3.size(2), n = b3.size(2);
    Tensor out = zeros({batch, m, n}, DType::F64);
    const double* pa = a3.data<double>();
    const double* pb = b3.data<double>();
    double* po = out.data<double>();
    for (int64_t bi = 0; bi < batch; ++bi) {
        const double* ab = pa + (a3.size(0) == 1 ? 0 : bi) * m * k;
        const double* bb = pb + (b3.size(0) == 1 ? 0 : bi) * k * n;
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                double s = 0;
                for (int64_t p = 0; p < k; ++p) s += ab[i * k + p] * bb[p * n + j];
                po[(bi * m + i) * n + j] = s;
            }
    }
    return out.reshape(shape);
}

// Products of N(0, 1) entries grow like sqrt(K), and so does the f32 accumulation error.
Tolerance gemm_tolerance(DType t, int64_t k) {
    Tolerance tol = tolerance_for(t);
    tol.atol *= std::max(1.0, std::sqrt(double(k))) * 2.0;
    return tol;
}

struct Mnk {
    int64_t m, n, k;
};

}  // namespace

TEST_CASE("matmul: 2-D matches the naive loop on odd sizes for every CPU dtype", "[matmul]") {
    const Mnk s = GENERATE(values<Mnk>({{1, 1, 1}, {17, 33, 9}, {64, 1, 65}, {127, 129, 131}, {3, 257, 40}}));
    const DType dt = GENERATE(DType::F32, DType::F64, DType::F16, DType::BF16);
    INFO("m=" << s.m << " n=" << s.n << " k=" << s.k << " dtype " << dtype_name(dt));
    Generator gen(17);
    const Tensor a = randn({s.m, s.k}, dt, &gen), b = randn({s.k, s.n}, dt, &gen);
    const Tensor c = ops::matmul(a, b);
    REQUIRE(c.dtype() == dt);
    REQUIRE(c.shape() == Shape{s.m, s.n});
    REQUIRE_CLOSE(c, naive_matmul(a, b), gemm_tolerance(dt, s.k));
}

TEST_CASE("matmul: transposed and strided views", "[matmul]") {
    const DType dt = GENERATE(DType::F32, DType::F64, DType::BF16);
    Generator gen(3);
    const int64_t m = 37, n = 29, k = 45;
    const Tensor at = randn({k, m}, dt, &gen).t();  // (m, k), column-major: transpose flag, no copy
    const Tensor bt = randn({n, k}, dt, &gen).t();  // (k, n), column-major
    const Tensor a = randn({m, k}, dt, &gen), b = randn({k, n}, dt, &gen);
    const auto tol = gemm_tolerance(dt, k);
    SECTION("A^T") { REQUIRE_CLOSE(ops::matmul(at, b), naive_matmul(at, b), tol); }
    SECTION("B^T") { REQUIRE_CLOSE(ops::matmul(a, bt), naive_matmul(a, bt), tol); }
    SECTION("A^T B^T") { REQUIRE_CLOSE(ops::matmul(at, bt), naive_matmul(at, bt), tol); }
    SECTION("row-padded views (narrowed columns) use a leading dimension") {
        const Tensor ap = randn({m, k + 7}, dt, &gen).narrow(1, 3, k);
        const Tensor bp = randn({k, n + 5}, dt, &gen).narrow(1, 5, n);
        REQUIRE_CLOSE(ops::matmul(ap, bp), naive_matmul(ap, bp), tol);
        const Tensor apt = randn({k + 2, m + 3}, dt, &gen).t().narrow(0, 1, m).narrow(1, 2, k);
        REQUIRE_CLOSE(ops::matmul(apt, bp), naive_matmul(apt, bp), tol);
    }
    SECTION("layouts without a BLAS description are made contiguous") {
        const Tensor as = randn({m, 2 * k}, dt, &gen).slice(1, 0, 2 * k, 2);  // column step 2
        const Tensor be = randn({1, n}, dt, &gen).expand({k, n});            // row stride 0
        REQUIRE_CLOSE(ops::matmul(as, be), naive_matmul(as, be), tol);
    }
}

TEST_CASE("matmul: batched, with a broadcast batch", "[matmul]") {
    const DType dt = GENERATE(DType::F32, DType::F64, DType::F16);
    Generator gen(5);
    const int64_t bs = 3, m = 19, n = 23, k = 31;
    const auto tol = gemm_tolerance(dt, k);
    SECTION("(B, M, K) @ (B, K, N)") {
        const Tensor a = randn({bs, m, k}, dt, &gen), b = randn({bs, k, n}, dt, &gen);
        const Tensor c = ops::matmul(a, b);
        REQUIRE(c.shape() == Shape{bs, m, n});
        REQUIRE_CLOSE(c, naive_matmul(a, b), tol);
    }
    SECTION("(1, M, K) @ (B, K, N) and (M, K) @ (B, K, N)") {
        const Tensor a = randn({1, m, k}, dt, &gen), b = randn({bs, k, n}, dt, &gen);
        REQUIRE_CLOSE(ops::matmul(a, b), naive_matmul(a, b), tol);
        const Tensor a2 = a.squeeze(0);
        REQUIRE(ops::matmul(a2, b).shape() == Shape{bs, m, n});
        REQUIRE_CLOSE(ops::matmul(a2, b), naive_matmul(a2, b), tol);
    }
    SECTION("(B, M, K) @ (1, K, N) and (B, M, K) @ (K, N): batches fold into M") {
        const Tensor a = randn({bs, m, k}, dt, &gen), b = randn({1, k, n}, dt, &gen);
        REQUIRE_CLOSE(ops::matmul(a, b), naive_matmul(a, b), tol);
        REQUIRE_CLOSE(ops::matmul(a, b.squeeze(0)), naive_matmul(a, b), tol);
    }
    SECTION("transposed and permuted batch views") {
        const Tensor at = randn({bs, k, m}, dt, &gen).transpose(1, 2);
        const Tensor bp = randn({k, bs, n}, dt, &gen).permute({1, 0, 2});  // batch is not the outer stride
        REQUIRE_CLOSE(ops::matmul(at, bp), naive_matmul(at, bp), tol);
        const Tensor ae = randn({1, m, k}, dt, &gen).expand({bs, m, k});  // batch stride 0
        REQUIRE_CLOSE(ops::matmul(ae, bp), naive_matmul(ae, bp), tol);
    }
}

// Splits across the pool's threads (SEGCORE_NUM_THREADS, default: every core) when there is more
// than one; the results must not depend on the split.
TEST_CASE("matmul: large enough to split across threads", "[matmul]") {
    Generator gen(9);
    SECTION("row split") {
        const Tensor a = randn({301, 257}, {}, &gen), b = randn({257, 199}, {}, &gen);
        REQUIRE_CLOSE(ops::matmul(a, b), naive_matmul(a, b), gemm_tolerance(DType::F32, 257));
    }
    SECTION("column split (few rows)") {
        const Tensor a = randn({2, 300}, {}, &gen), b = randn({300, 2000}, {}, &gen);
        REQUIRE_CLOSE(ops::matmul(a, b), naive_matmul(a, b), gemm_tolerance(DType::F32, 300));
    }
    SECTION("batched rows cross batch boundaries") {
        const Tensor a = randn({5, 67, 129}, {}, &gen), b = randn({5, 129, 100}, {}, &gen);
        REQUIRE_CLOSE(ops::matmul(a, b), naive_matmul(a, b), gemm_tolerance(DType::F32, 129));
    }
}

TEST_CASE("matmul_out: alpha and beta accumulate", "[matmul]") {
    const DType dt = GENERATE(DType::F32, DType::F64, DType::F16, DType::BF16);
    Generator gen(11);
    const int64_t m = 13, n = 21, k = 17;
    const Tensor a = randn({m, k}, dt, &gen), b = randn({k, n}, dt, &gen);
    const Tensor ref = naive_matmul(a, b);
    auto tol = gemm_tolerance(dt, k);
    SECTION("beta = 0 overwrites and never reads out (NaN is ignored)") {
        Tensor out = empty({m, n}, dt);
        test::poison(out);
        ops::matmul_out(out, a, b, {2.0, 0.0});
        Tensor e = ref.clone();
        double* pe = e.data<double>();
        for (int64_t i = 0; i < e.numel(); ++i) pe[i] *= 2.0;
        REQUIRE_CLOSE(out, e, (Tolerance{tol.atol * 2, tol.rtol}));
    }
    SECTION("out = 0.5 * a @ b + 1 * out") {
        const Tensor c0 = randn({m, n}, dt, &gen);
        Tensor out = c0.clone();
        ops::matmul_out(out, a, b, {0.5, 1.0});
        Tensor e = ref.clone();
        const Tensor c064 = c0.to(DType::F64);
        double* pe = e.data<double>();
        for (int64_t i = 0; i < e.numel(); ++i) pe[i] = 0.5 * pe[i] + c064.get_double(i);
        REQUIRE_CLOSE(out, e, tol);
    }
    SECTION("beta = -2 into a transposed (non-BLAS) out view") {
        const Tensor c0 = randn({n, m}, dt, &gen).t();  // (m, n) with column-major layout
        Tensor out = c0.clone().t().contiguous().t();  // same values, same transposed layout
        REQUIRE(!out.is_contiguous());
        ops::matmul_out(out, a, b, {1.0, -2.0});
        Tensor e = naive_matmul(a, b).clone();
        double* pe = e.data<double>();
        for (int64_t i = 0; i < e.numel(); ++i) pe[i] += -2.0 * c0.get_double(i);
        REQUIRE_CLOSE(out, e, (Tolerance{tol.atol * 3, tol.rtol}));
    }
}

TEST_CASE("matmul_out: a negative alpha", "[matmul]") {
    Generator gen(12);
    const Tensor a = randn({9, 14}, {}, &gen), b = randn({14, 6}, {}, &gen);
    Tensor out = empty({9, 6});
    test::poison(out);
    ops::matmul_out(out, a, b, {-1.5, 0.0});
    Tensor e = naive_matmul(a, b).clone();
    double* pe = e.data<double>();
    for (int64_t i = 0; i < e.numel(); ++i) pe[i] *= -1.5;
    REQUIRE_CLOSE(out, e, gemm_tolerance(DType::F32, 14));
}

TEST_CASE("matmul: empty sizes", "[matmul]") {
    Generator gen(1);
    REQUIRE(ops::matmul(randn({0, 5}, {}, &gen), randn({5, 4}, {}, &gen)).shape() == Shape{0, 4});
    REQUIRE(ops::matmul(randn({3, 5}, {}, &gen), randn({5, 0}, {}, &gen)).shape() == Shape{3, 0});
    REQUIRE(ops::matmul(randn({0, 3, 5}, {}, &gen), randn({0, 5, 4}, {}, &gen)).shape() == Shape{0, 3, 4});
    REQUIRE(ops::matmul(randn({1, 3, 5}, {}, &gen), randn({0, 5, 4}, {}, &gen)).shape() == Shape{0, 3, 4});
    // K = 0: the sum over nothing is 0, and beta still scales out.
    const Tensor z = ops::matmul(randn({3, 0}, {}, &gen), randn({0, 4}, {}, &gen));
    REQUIRE_CLOSE(z, zeros({3, 4}), (Tolerance{0, 0}));
    Tensor out = full({3, 4}, 2.0);
    ops::matmul_out(out, empty({3, 0}), empty({0, 4}), {1.0, 0.5});
    REQUIRE_CLOSE(out, full({3, 4}, 1.0), (Tolerance{0, 0}));
}

TEST_CASE("matmul: errors name the shapes, ranks, dtypes and backends", "[matmul][errors]") {
    const Tensor a = zeros({2, 3}), b = zeros({4, 5});
    REQUIRE_THROWS_WITH(ops::matmul(a, b), Catch::Contains("(2, 3)") && Catch::Contains("(4, 5)") &&
                                               Catch::Contains("inner dimensions"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({3}), zeros({3, 2})), Catch::Contains("2-D") && Catch::Contains("(3,)"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({1, 2, 3, 4}), zeros({4, 2})), Catch::Contains("(1, 2, 3, 4)"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({2, 2, 3}), zeros({3, 3, 4})), Catch::Contains("batch"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({2, 3}), zeros({3, 4}, DType::F64)),
                        Catch::Contains("f32") && Catch::Contains("f64"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({2, 3}, DType::I32), zeros({3, 4}, DType::I32)),
                        Catch::Contains("floating"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({2, 3}), zeros({3, 4}), ops::MatmulBackend::Tiled),
                        Catch::Contains("Tiled") && Catch::Contains("CUDA"));
    REQUIRE_THROWS_WITH(ops::matmul(Tensor(), zeros({3, 4})), Catch::Contains("undefined"));
    Tensor out = zeros({2, 5});
    REQUIRE_THROWS_WITH(ops::matmul_out(out, zeros({2, 3}), zeros({3, 4})),
                        Catch::Contains("(2, 5)") && Catch::Contains("(2, 4)"));
    Tensor big = zeros({4, 4});
    Tensor alias = big.narrow(0, 0, 2);
    REQUIRE_THROWS_WITH(ops::matmul_out(alias, big.narrow(0, 2, 2), zeros({4, 4})), Catch::Contains("share memory"));
}
