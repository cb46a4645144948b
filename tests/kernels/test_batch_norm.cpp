// batch_norm2d (kernels/norm/batch_norm.h) against the formulas in double: training statistics
// and running-stat updates, eval, fused ReLU/ReLU6, all gradients in both modes, 16-bit inputs
// with f32 statistics, Conv-BN folding, and bad input.
#include <catch2/catch.hpp>

#include <cmath>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using kernels::Act;

namespace {

struct Ref {
    Tensor y, mean, var_biased, dx, dgamma, dbeta;
};

// The textbook formulas, one channel at a time, in double.
Ref reference(const Tensor& x, const Tensor& gamma, const Tensor& beta, const Tensor& dy, bool training,
              const Tensor& rm, const Tensor& rv, double eps, Act act) {
    const int64_t n = x.size(0), c = x.size(1), hw = x.numel() / (n * c), m = n * hw;
    Ref r;
    r.y = empty(x.shape(), {DType::F64});
    r.dx = empty(x.shape(), {DType::F64});
    r.mean = empty({c}, {DType::F64});
    r.var_biased = empty({c}, {DType::F64});
    r.dgamma = empty({c}, {DType::F64});
    r.dbeta = empty({c}, {DType::F64});
    const auto at = [&](int64_t ni, int64_t ci, int64_t j) { return (ni * c + ci) * hw + j; };
    for (int64_t ci = 0; ci < c; ++ci) {
        double mean = 0, var = 0;
        for (int64_t ni = 0; ni < n; ++ni)
            for (int64_t j = 0; j < hw; ++j) mean += x.get_double(at(ni, ci, j));
        mean /= double(m);
        for (int64_t ni = 0; ni < n; ++ni)
            for (int64_t j = 0; j < hw; ++j) var += std::pow(x.get_double(at(ni, ci, j)) - mean, 2);
        var /= double(m);
        r.mean.data<double>()[ci] = mean;
        r.var_biased.data<double>()[ci] = var;
        const double mu = training ? mean : rm.get_double(ci), v = training ? var : rv.get_double(ci);
        const double is = 1.0 / std::sqrt(v + eps), gm = gamma.get_double(ci), bt = beta.get_double(ci);
        double sg = 0, sgx = 0;
        std::vector<double> g(static_cast<size_t>(m)), xh(static_cast<size_t>(m));
        for (int64_t ni = 0; ni < n; ++ni)
            for (int64_t j = 0; j < hw; ++j) {
                const int64_t i = at(ni, ci, j), k = ni * hw + j;
                xh[size_t(k)] = (x.get_double(i) - mu) * is;
                const double z = gm * xh[size_t(k)] + bt;
                r.y.data<double>()[i] = kernels::act_forward(act, z);
                g[size_t(k)] = kernels::act_passes(act, z) ? dy.get_double(i) : 0.0;
                sg += g[size_t(k)];
                sgx += g[size_t(k)] * xh[size_t(k)];
            }
        r.dgamma.data<double>()[ci] = sgx;
        r.dbeta.data<double>()[ci] = sg;
        for (int64_t ni = 0; ni < n; ++ni)
            for (int64_t j = 0; j < hw; ++j) {
                const int64_t k = ni * hw + j;
                r.dx.data<double>()[at(ni, ci, j)] =
                    training ? gm * is / double(m) * (double(m) * g[size_t(k)] - sg - xh[size_t(k)] * sgx)
                             : gm * is * g[size_t(k)];
            }
    }
    return r;
}

}  // namespace

TEST_CASE("batch_norm: training and eval, forward and backward, fused activations", "[kernels][batch_norm]") {
    const double eps = 1e-5, momentum = 0.1;
    for (const Shape& shape : {Shape{4, 3, 5, 7}, Shape{2, 5, 1, 1}, Shape{1, 2, 13, 3}, Shape{3, 4}}) {
        const int64_t c = shape[1];
        const Tensor x64 = test::random_tensor(shape, DType::F64, -3, 5, 1);
        const Tensor dy64 = test::random_tensor(shape, DType::F64, -1, 1, 2);
        const Tensor g64 = test::random_tensor({c}, DType::F64, 0.5, 1.5, 3);
        const Tensor b64 = test::random_tensor({c}, DType::F64, -0.5, 0.5, 4);
        const Tensor rm0 = test::random_tensor({c}, DType::F64, -1, 1, 5);
        const Tensor rv0 = test::random_tensor({c}, DType::F64, 0.5, 2, 6);
        for (Act act : {Act::None, Act::Relu, Act::Relu6})
            for (bool training : {true, false})
                for (DType dt : {DType::F64, DType::F32, DType::BF16, DType::F16}) {
                    INFO(shape_str(shape) << " " << kernels::act_name(act) << " training " << training << " "
                                          << dtype_name(dt));
                    const DType sd = dt == DType::F64 ? DType::F64 : DType::F32;
                    const Tensor x = x64.to(dt), dy = dy64.to(dt);
                    const Tensor g = g64.to(sd), b = b64.to(sd);
                    Tensor rm = rm0.to(sd).clone(), rv = rv0.to(sd).clone();  // updated in place
                    const Ref ref = reference(x.to(DType::F64), g.to(DType::F64), b.to(DType::F64),
                                              dy.to(DType::F64), training, rm0, rv0, eps, act);
                    const auto r = ops::batch_norm(x, g, b, rm, rv, training, momentum, eps, act);
                    test::Tolerance tol = dt == DType::F64 ? test::Tolerance{1e-10, 1e-10} : test::tolerance_for(dt);
                    if (dt == DType::F32) tol = {1e-5, 1e-4};
                    REQUIRE(r.y.dtype() == dt);
                    REQUIRE(r.save_mean.dtype() == sd);
                    REQUIRE_CLOSE(r.y, ref.y, tol);
                    if (training) {
                        const int64_t m = x.numel() / c;
                        const Tensor want_rm = ops::add(ops::mul(rm0, 0.9), ops::mul(ref.mean, 0.1));
                        const Tensor want_rv =
                            ops::add(ops::mul(rv0, 0.9), ops::mul(ref.var_biased, 0.1 * double(m) / double(m - 1)));
                        REQUIRE_CLOSE(rm, want_rm, (test::Tolerance{1e-6, 1e-6}));
                        REQUIRE_CLOSE(rv, want_rv, (test::Tolerance{1e-5, 1e-5}));
                    } else {
                        REQUIRE_CLOSE(rm, rm0.to(sd), (test::Tolerance{0, 0}));  // eval never updates
                    }
                    const auto grads = ops::batch_norm_backward(dy, x, r.save_mean, r.save_invstd, g, b, training, act);
                    test::Tolerance gtol = tol;
                    if (dt != DType::F64) gtol.atol *= 10;  // sums over the channel
                    REQUIRE_CLOSE(grads.dx, ref.dx, gtol);
                    REQUIRE_CLOSE(grads.dgamma, ref.dgamma, gtol);
                    REQUIRE_CLOSE(grads.dbeta, ref.dbeta, gtol);
                }
    }
}

TEST_CASE("batch_norm without affine parameters or running statistics", "[kernels][batch_norm]") {
    const Tensor x = test::random_tensor({3, 2, 4, 4}, DType::F32, -2, 2, 7);
    const auto r = ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true);
    // Normalised per channel: mean 0, biased variance 1 (up to eps).
    REQUIRE(std::fabs(ops::mean(r.y, {0, 2, 3}).get_double(0)) < 1e-5);
    REQUIRE(ops::var(r.y, {0, 2, 3}, 0).get_double(1) == Approx(1.0).epsilon(1e-3));
}

TEST_CASE("batch_norm reports bad input", "[kernels][batch_norm]") {
    const Tensor x = zeros({2, 3, 4, 4});
    REQUIRE_THROWS_WITH(ops::batch_norm(x, zeros({4}), Tensor(), Tensor(), Tensor(), true),
                        Catch::Contains("weight must be (3)"));
    REQUIRE_THROWS_WITH(ops::batch_norm(x.to(DType::BF16), zeros({3}, {DType::BF16}), Tensor(), Tensor(), Tensor(), true),
                        Catch::Contains("must be f32"));
    REQUIRE_THROWS_WITH(ops::batch_norm(zeros({1, 3, 1, 1}), Tensor(), Tensor(), Tensor(), Tensor(), true),
                        Catch::Contains("more than one value per channel"));
    REQUIRE_THROWS_WITH(ops::batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false),
                        Catch::Contains("running statistics"));
}

TEST_CASE("fused Conv-BN-ReLU inference: folding preserves the output", "[kernels][batch_norm][conv2d]") {
    const Tensor x = test::random_tensor({2, 8, 9, 11}, DType::F32, -1, 1, 8);
    const Tensor w = test::random_tensor({16, 8, 3, 3}, DType::F32, -0.3, 0.3, 9);
    const Tensor b = test::random_tensor({16}, DType::F32, -0.2, 0.2, 10);
    const Tensor gamma = test::random_tensor({16}, DType::F32, 0.5, 1.5, 11);
    const Tensor beta = test::random_tensor({16}, DType::F32, -0.5, 0.5, 12);
    const Tensor rm = test::random_tensor({16}, DType::F32, -0.5, 0.5, 13);
    const Tensor rv = test::random_tensor({16}, DType::F32, 0.2, 2.0, 14);
    const auto opt = ops::Conv2dOptions::make(2, 1);
    for (Act act : {Act::None, Act::Relu, Act::Relu6}) {
        INFO(kernels::act_name(act));
        // Unfused: conv, then BN in eval mode with the activation.
        const Tensor conv = ops::conv2d(x, w, b, opt);
        const Tensor unfused = ops::batch_norm(conv, gamma, beta, rm, rv, false, 0.1, 1e-5, act).y;
        // Fused: BN folded into the weights, activation in the conv epilogue.
        auto [wf, bf] = ops::fold_batch_norm(w, b, gamma, beta, rm, rv, 1e-5);
        const Tensor fused = ops::conv2d(x, wf, bf, opt, act);
        REQUIRE_CLOSE(fused, unfused, (test::Tolerance{1e-5, 1e-4}));
    }
    // A conv without bias folds too (b' = -mean * scale + beta).
    auto [wf, bf] = ops::fold_batch_norm(w, Tensor(), gamma, beta, rm, rv, 1e-5);
    REQUIRE_CLOSE(ops::conv2d(x, wf, bf, opt),
                  ops::batch_norm(ops::conv2d(x, w, Tensor(), opt), gamma, beta, rm, rv, false).y,
                  (test::Tolerance{1e-5, 1e-4}));
}
