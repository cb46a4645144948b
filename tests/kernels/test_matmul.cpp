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

// a @ b in double with torch.matmul's rules (1-D operands, broadcast batch dims), from whatever
// layout and dtype; the result shape is worked out here, not taken from ops::matmul_shape.
Tensor naive_matmul(const Tensor& a, const Tensor& b) {
    const Tensor am = a.dim() == 1 ? a.unsqueeze(0) : a;  // (K,) -> (1, K)
    const Tensor bm = b.dim() == 1 ? b.unsqueeze(1) : b;  // (K,) -> (K, 1)
    const Shape batch = broadcast_shapes(Shape(am.shape().begin(), am.shape().end() - 2),
                                         Shape(bm.shape().begin(), bm.shape().end() - 2));
    const int64_t m = am.size(-2), k = am.size(-1), n = bm.size(-1);
    Shape sa = batch, sb = batch;
    sa.insert(sa.end(), {m, k});
    sb.insert(sb.end(), {k, n});
    const Tensor a3 = am.expand(sa).to(DType::F64).contiguous();
    const Tensor b3 = bm.expand(sb).to(DType::F64).contiguous();
    const int64_t nbatch = shape_numel(batch);
    Tensor out = zeros({nbatch, m, n}, DType::F64);
    const double* pa = a3.data<double>();
    const double* pb = b3.data<double>();
    double* po = out.data<double>();
    for (int64_t bi = 0; bi < nbatch; ++bi) {
        const double* ab = pa + bi * m * k;
        const double* bb = pb + bi * k * n;
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                double s = 0;
                for (int64_t p = 0; p < k; ++p) s += ab[i * k + p] * bb[p * n + j];
                po[(bi * m + i) * n + j] = s;
            }
    }
    Shape shape = batch;
    if (a.dim() >= 2) shape.push_back(m);
    if (b.dim() >= 2) shape.push_back(n);
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
    REQUIRE_THROWS_WITH(ops::matmul(zeros({3}), zeros({4, 2})),
                        Catch::Contains("inner dimensions") && Catch::Contains("(3,)") && Catch::Contains("(4, 2)"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({2, 3}), zeros({4})), Catch::Contains("inner dimensions") &&
                                                                 Catch::Contains("(4,)"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({3}), zeros({4})), Catch::Contains("inner dimensions"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({1, 2, 3, 4}), zeros({5, 2})),
                        Catch::Contains("(1, 2, 3, 4)") && Catch::Contains("inner dimensions"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({2, 2, 3}), zeros({3, 3, 4})), Catch::Contains("batch"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({2, 3, 5, 3}), zeros({4, 3, 7})),
                        Catch::Contains("do not broadcast") && Catch::Contains("(2, 3, 5, 3)") &&
                            Catch::Contains("(4, 3, 7)") && Catch::Contains("3 and 4"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({2, 1, 5, 3}), zeros({3, 3, 3, 7})), Catch::Contains("do not broadcast"));
    REQUIRE_THROWS_WITH(ops::matmul(zeros({}), zeros({3, 4})),
                        Catch::Contains("1 to 8 dimensions") && Catch::Contains("()"));
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

TEST_CASE("matmul: 1-D operands follow torch.matmul", "[matmul]") {
    const DType dt = GENERATE(DType::F32, DType::F64, DType::BF16);
    Generator gen(31);
    const int64_t m = 7, n = 11, k = 13, bs = 3;
    const auto tol = gemm_tolerance(dt, k);
    const Tensor v = randn({k}, dt, &gen), w = randn({k}, dt, &gen);
    SECTION("vector . vector -> 0-dim") {
        const Tensor c = ops::matmul(v, w);
        REQUIRE(c.shape() == Shape{});
        REQUIRE_CLOSE(c, naive_matmul(v, w), tol);
        // a strided vector (step 2) and a broadcast one (stride 0)
        const Tensor vs = randn({2 * k}, dt, &gen).slice(0, 0, 2 * k, 2);
        const Tensor ve = randn({1}, dt, &gen).expand({k});
        REQUIRE_CLOSE(ops::matmul(vs, ve), naive_matmul(vs, ve), tol);
    }
    SECTION("matrix . vector -> (M,)") {
        const Tensor a = randn({m, k}, dt, &gen);
        REQUIRE(ops::matmul(a, v).shape() == Shape{m});
        REQUIRE_CLOSE(ops::matmul(a, v), naive_matmul(a, v), tol);
        const Tensor at = randn({k, m}, dt, &gen).t();
        REQUIRE_CLOSE(ops::matmul(at, v), naive_matmul(at, v), tol);
    }
    SECTION("vector . matrix -> (N,)") {
        const Tensor b = randn({k, n}, dt, &gen);
        REQUIRE(ops::matmul(v, b).shape() == Shape{n});
        REQUIRE_CLOSE(ops::matmul(v, b), naive_matmul(v, b), tol);
        const Tensor bt = randn({n, k}, dt, &gen).t();
        REQUIRE_CLOSE(ops::matmul(v, bt), naive_matmul(v, bt), tol);
    }
    SECTION("batched matrix . vector and vector . batched matrix") {
        const Tensor a = randn({2, bs, m, k}, dt, &gen), b = randn({bs, k, n}, dt, &gen);
        REQUIRE(ops::matmul(a, v).shape() == Shape{2, bs, m});
        REQUIRE_CLOSE(ops::matmul(a, v), naive_matmul(a, v), tol);
        REQUIRE(ops::matmul(v, b).shape() == Shape{bs, n});
        REQUIRE_CLOSE(ops::matmul(v, b), naive_matmul(v, b), tol);
    }
    SECTION("matmul_out into 0-dim and 1-D outs, with beta") {
        Tensor o0 = full({}, 1.0, dt);
        ops::matmul_out(o0, v, w, {2.0, 3.0});
        REQUIRE(std::abs(o0.item_double() - (2.0 * naive_matmul(v, w).item_double() + 3.0)) <= 4 * tol.atol + 1e-2);
        const Tensor a = randn({m, k}, dt, &gen);
        Tensor o1 = empty({m}, dt);
        test::poison(o1);
        ops::matmul_out(o1, a, v);
        REQUIRE_CLOSE(o1, naive_matmul(a, v), tol);
        Tensor bad = empty({1, m}, dt);
        REQUIRE_THROWS_WITH(ops::matmul_out(bad, a, v), Catch::Contains("(1, 7)") && Catch::Contains("(7,)"));
    }
}

TEST_CASE("matmul: N-D batches broadcast NumPy-style", "[matmul]") {
    const DType dt = GENERATE(DType::F32, DType::F64, DType::F16);
    Generator gen(37);
    const int64_t m = 5, k = 3, n = 7;
    const auto tol = gemm_tolerance(dt, k);
    SECTION("(2, 1, 5, 3) @ (4, 3, 7) -> (2, 4, 5, 7): an interleaved broadcast") {
        const Tensor a = randn({2, 1, m, k}, dt, &gen), b = randn({4, k, n}, dt, &gen);
        const Tensor c = ops::matmul(a, b);
        REQUIRE(c.shape() == Shape{2, 4, m, n});
        REQUIRE_CLOSE(c, naive_matmul(a, b), tol);
        REQUIRE_CLOSE(ops::matmul(b.unsqueeze(0).expand({2, 4, k, n}).contiguous().transpose(2, 3),
                                  a.transpose(2, 3)),
                      naive_matmul(b.unsqueeze(0).expand({2, 4, k, n}).transpose(2, 3), a.transpose(2, 3)), tol);
    }
    SECTION("4-D @ 4-D with broadcasts on both sides") {
        const Tensor a = randn({3, 1, m, k}, dt, &gen), b = randn({1, 4, k, n}, dt, &gen);
        REQUIRE(ops::matmul(a, b).shape() == Shape{3, 4, m, n});
        REQUIRE_CLOSE(ops::matmul(a, b), naive_matmul(a, b), tol);
    }
    SECTION("4-D @ 2-D folds into one GEMM; 2-D @ 4-D broadcasts a") {
        const Tensor a = randn({2, 3, m, k}, dt, &gen), b = randn({k, n}, dt, &gen);
        REQUIRE_CLOSE(ops::matmul(a, b), naive_matmul(a, b), tol);
        const Tensor a2 = randn({m, k}, dt, &gen), b4 = randn({2, 3, k, n}, dt, &gen);
        REQUIRE(ops::matmul(a2, b4).shape() == Shape{2, 3, m, n});
        REQUIRE_CLOSE(ops::matmul(a2, b4), naive_matmul(a2, b4), tol);
    }
    SECTION("5-D @ 3-D and 5-D @ 5-D, with permuted and narrowed batch views") {
        const Tensor a = randn({2, 1, 3, m, k}, dt, &gen), b = randn({4, 1, k, n}, dt, &gen);
        REQUIRE(ops::matmul(a, b).shape() == Shape{2, 4, 3, m, n});
        REQUIRE_CLOSE(ops::matmul(a, b), naive_matmul(a, b), tol);
        const Tensor ap = randn({3, 2, 2, m, k}, dt, &gen).permute({1, 0, 2, 3, 4});  // (2, 3, 2, m, k)
        const Tensor bn = randn({2, 3, 4, k, n}, dt, &gen).narrow(2, 1, 2);           // (2, 3, 2, k, n)
        REQUIRE_CLOSE(ops::matmul(ap, bn), naive_matmul(ap, bn), tol);
        const Tensor a8 = randn({1, 2, 1, 1, 1, 1, m, k}, dt, &gen), b8 = randn({3, 1, k, n}, dt, &gen);
        REQUIRE(ops::matmul(a8, b8).shape() == Shape{1, 2, 1, 1, 3, 1, m, n});
        REQUIRE_CLOSE(ops::matmul(a8, b8), naive_matmul(a8, b8), tol);
    }
    SECTION("empty broadcast batches") {
        const Tensor a = randn({2, 1, m, k}, dt, &gen), b = randn({0, k, n}, dt, &gen);
        REQUIRE(ops::matmul(a, b).shape() == Shape{2, 0, m, n});
    }
    SECTION("matmul_out into N-D outs: in place, permuted (copy back) and accumulating") {
        const Tensor a = randn({2, 1, m, k}, dt, &gen), b = randn({4, k, n}, dt, &gen);
        const Tensor ref = naive_matmul(a, b);
        Tensor out = empty({2, 4, m, n}, dt);
        test::poison(out);
        ops::matmul_out(out, a, b);
        REQUIRE_CLOSE(out, ref, tol);
        Tensor outp = empty({4, 2, m, n}, dt).permute({1, 0, 2, 3});  // batch dims do not fold
        test::poison(outp);
        ops::matmul_out(outp, a, b);
        REQUIRE_CLOSE(outp, ref, tol);
        const Tensor c0 = randn({2, 4, m, n}, dt, &gen);
        Tensor acc = c0.clone();
        ops::matmul_out(acc, a, b, {1.0, 1.0});
        Tensor e = ref.clone();
        const Tensor c064 = c0.to(DType::F64);
        double* pe = e.data<double>();
        for (int64_t i = 0; i < e.numel(); ++i) pe[i] += c064.get_double(i);
        REQUIRE_CLOSE(acc, e, (Tolerance{tol.atol * 2, tol.rtol}));
    }
}
