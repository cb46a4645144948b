// CPU softmax / log_softmax (kernels/softmax): naive loops, stability, finite-difference gradients.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "kernels/reduce/reduce.h"
#include "kernels/softmax/softmax.h"
#include "tests/test_util.h"

using namespace segcore;
using segcore::test::Tolerance;
using segcore::test::tolerance_for;

namespace {

// Naive log_softmax in double along dim d of a CPU tensor (any layout), as a contiguous f64 tensor.
Tensor naive_log_softmax(const Tensor& x_in, int64_t dim) {
    const Tensor x = x_in.to(DType::F64).contiguous();
    const int64_t d = dim < 0 ? dim + x.dim() : dim;
    int64_t outer = 1, inner = 1;
    for (int64_t k = 0; k < d; ++k) outer *= x.size(k);
    for (int64_t k = d + 1; k < x.dim(); ++k) inner *= x.size(k);
    const int64_t C = x.size(d);
    std::vector<double> out(size_t(x.numel()));
    const double* p = x.data<double>();
    for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
            double m = -INFINITY;
            for (int64_t c = 0; c < C; ++c) m = std::max(m, p[(o * C + c) * inner + i]);
            long double s = 0;
            for (int64_t c = 0; c < C; ++c) s += std::exp(p[(o * C + c) * inner + i] - m);
            for (int64_t c = 0; c < C; ++c)
                out[size_t((o * C + c) * inner + i)] = p[(o * C + c) * inner + i] - m - double(std::log(s));
        }
    return from_vector<double>(out, x.shape());
}

Tensor exp_of(const Tensor& t) {
    const Tensor c = t.to(DType::F64).contiguous();
    std::vector<double> v(size_t(c.numel()));
    for (int64_t i = 0; i < c.numel(); ++i) v[size_t(i)] = std::exp(c.data<double>()[i]);
    return from_vector<double>(v, c.shape());
}

// L(x) = sum(w * f(x)): the finite-difference gradient in f64, central differences.
template <typename F>
Tensor fd_grad(const Tensor& x, const Tensor& w, F&& f) {
    const double h = 1e-6;
    Tensor g = zeros(x.shape(), DType::F64);
    const Tensor xc = x.contiguous();
    auto loss = [&](const Tensor& xx) {
        const Tensor y = f(xx);
        double s = 0;
        for (int64_t i = 0; i < y.numel(); ++i) s += y.get_double(i) * w.get_double(i);
        return s;
    };
    for (int64_t i = 0; i < x.numel(); ++i) {
        Tensor xp = xc.clone(), xm = xc.clone();
        xp.data<double>()[i] += h;
        xm.data<double>()[i] -= h;
        g.data<double>()[i] = (loss(xp) - loss(xm)) / (2 * h);
    }
    return g;
}

}  // namespace

TEST_CASE("softmax: log_softmax and softmax match naive loops over every dim", "[softmax]") {
    const DType dt = GENERATE(DType::F32, DType::F64, DType::F16, DType::BF16);
    Generator gen(21);
    for (const Shape& shape : test::odd_shapes()) {
        const Tensor x = randn(shape, dt, &gen);
        for (int64_t d = -x.dim(); d < x.dim(); ++d) {
            INFO("shape " << shape_str(shape) << " dtype " << dtype_name(dt) << " dim " << d);
            const Tensor ref = naive_log_softmax(x, d);
            const Tensor ls = ops::log_softmax(x, d), s = ops::softmax(x, d);
            REQUIRE(ls.dtype() == dt);
            REQUIRE_CLOSE(ls, ref, tolerance_for(dt));
            REQUIRE_CLOSE(s, exp_of(ref), tolerance_for(dt));
            const Tensor row_sums = ops::sum(s.to(DType::F64), {d});
            REQUIRE_CLOSE(row_sums, ones(row_sums.shape(), DType::F64), tolerance_for(dt));
        }
    }
}

TEST_CASE("softmax: NCHW logits over channels, non-contiguous input", "[softmax]") {
    Generator gen(4);
    const Tensor x = randn({2, 19, 13, 17}, DType::F32, &gen);
    REQUIRE_CLOSE(ops::log_softmax(x, 1), naive_log_softmax(x, 1), tolerance_for(DType::F32));
    const Tensor xt = x.transpose(1, 3);  // (2, 17, 13, 19), strided
    REQUIRE_CLOSE(ops::softmax(xt, -1), exp_of(naive_log_softmax(xt, -1)), tolerance_for(DType::F32));
    REQUIRE_CLOSE(ops::log_softmax(x.slice(2, 0, 13, 2), 1), naive_log_softmax(x.slice(2, 0, 13, 2), 1),
                  tolerance_for(DType::F32));
}

TEST_CASE("softmax: large logits do not overflow", "[softmax]") {
    const Tensor x = from_vector<float>({1000, 999, -1000, 88.8f, 1e30f, 1e30f}, {3, 2});
    const Tensor s = ops::softmax(x, 1), ls = ops::log_softmax(x, 1);
    for (int64_t i = 0; i < s.numel(); ++i) {
        REQUIRE(std::isfinite(s.get_double(i)));
        REQUIRE(std::isfinite(ls.get_double(i)));
    }
    REQUIRE(s.get_double(0) == Approx(1.0 / (1.0 + std::exp(-1.0))).epsilon(1e-6));
    REQUIRE(s.get_double(4) == Approx(0.5));
    REQUIRE(ls.get_double(2) == Approx(-1088.8).epsilon(1e-6));
}

TEST_CASE("softmax: backward matches finite differences in f64", "[softmax][grad]") {
    Generator gen(8);
    for (const Shape& shape : {Shape{3, 5}, Shape{2, 4, 3, 2}, Shape{7}}) {
        const Tensor x = randn(shape, DType::F64, &gen), w = randn(shape, DType::F64, &gen);
        for (int64_t d = 0; d < int64_t(shape.size()); ++d) {
            INFO("shape " << shape_str(shape) << " dim " << d);
            const Tensor y = ops::softmax(x, d);
            const Tensor ly = ops::log_softmax(x, d);
            const Tensor g = ops::softmax_backward(w, y, d);
            const Tensor lg = ops::log_softmax_backward(w, ly, d);
            const Tolerance tol{1e-7, 1e-6};
            REQUIRE_CLOSE(g, fd_grad(x, w, [&](const Tensor& t) { return ops::softmax(t, d); }), tol);
            REQUIRE_CLOSE(lg, fd_grad(x, w, [&](const Tensor& t) { return ops::log_softmax(t, d); }), tol);
        }
    }
    // f32 backward agrees with f64
    const Tensor x = randn({4, 19, 3, 5}, DType::F32, &gen), w = randn({4, 19, 3, 5}, DType::F32, &gen);
    const Tensor g32 = ops::log_softmax_backward(w, ops::log_softmax(x, 1), 1);
    const Tensor g64 = ops::log_softmax_backward(w.to(DType::F64), ops::log_softmax(x.to(DType::F64), 1), 1);
    REQUIRE_CLOSE(g32, g64, tolerance_for(DType::F32));
}

TEST_CASE("softmax: bad arguments", "[softmax][errors]") {
    const Tensor x = ones({2, 3});
    REQUIRE_THROWS_WITH(ops::softmax(x, 2), Catch::Contains("softmax"));
    REQUIRE_THROWS_WITH(ops::log_softmax(ones({2}, DType::I64), 0), Catch::Contains("floating"));
    REQUIRE_THROWS_WITH(ops::softmax_backward(ones({2, 3}), ones({3, 2}), 1), Catch::Contains("one shape"));
    REQUIRE(ops::softmax(full({}, 3.0), 0).item<double>() == 1.0);
    REQUIRE(ops::softmax(empty({0, 4}), 1).numel() == 0);
}
