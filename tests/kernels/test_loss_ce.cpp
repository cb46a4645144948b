// Fused cross-entropy, focal, OHEM and distillation losses (kernels/loss/) against naive loops in
// double: the loss and the gradient (through ops::pixel_loss_backward with a random upstream
// gradient) for every option combination and dtype, plus the edge cases (all pixels ignored, one
// class present, 1x1 images, one class), i32/u8 labels, and the bad-label error.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <functional>
#include <random>
#include <vector>

#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using ops::PixelLossResult;

namespace {

// Labels in [0, C) with about `ignore_frac` of the pixels set to ignore_index.
Tensor random_labels(const Shape& shape, int64_t c, double ignore_frac, uint32_t seed, int64_t ignore = 255) {
    std::mt19937 rng(seed);
    Tensor y = empty(shape, {DType::I64});
    for (int64_t i = 0; i < y.numel(); ++i) {
        const double u = std::uniform_real_distribution<double>(0, 1)(rng);
        y.data<int64_t>()[i] = u < ignore_frac ? ignore : int64_t(rng() % uint32_t(c));
    }
    return y;
}

struct Geo {
    int64_t n, c, hw;
};
Geo geo_of(const Tensor& x) { return {x.size(0), x.size(1), x.numel() / (x.size(0) * x.size(1))}; }

// Per pixel: log-softmax in double.
std::vector<double> log_softmax_at(const Tensor& x, const Geo& g, int64_t n, int64_t j) {
    std::vector<double> v(size_t(g.c));
    double m = -INFINITY;
    for (int64_t c = 0; c < g.c; ++c) {
        v[size_t(c)] = x.get_double((n * g.c + c) * g.hw + j);
        m = std::max(m, v[size_t(c)]);
    }
    double s = 0;
    for (double t : v) s += std::exp(t - m);
    for (double& t : v) t = t - m - std::log(s);
    return v;
}

struct Ref {
    Tensor loss;  // 0-dim or (N, d...), f64
    Tensor dx;    // logits' shape, f64, for upstream `up`
};

Ref reduce_ref(const Tensor& x, const Tensor& labels, LossReduction red, const Tensor& up,
               const std::function<bool(const std::vector<double>&, int64_t, int64_t, int64_t, double&, double&,
                                        std::vector<double>&)>& pixel) {
    const Geo g = geo_of(x);
    Tensor lp = zeros({g.n * g.hw}, {DType::F64});
    std::vector<double> wts(size_t(g.n * g.hw), 0.0);
    Tensor dl = zeros(x.shape(), {DType::F64});
    double sl = 0, sw = 0;
    std::vector<double> grad(size_t(g.c));
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t j = 0; j < g.hw; ++j) {
            const std::vector<double> logp = log_softmax_at(x, g, n, j);
            double l = 0, w = 0;
            std::fill(grad.begin(), grad.end(), 0.0);
            if (pixel(logp, n, j, n * g.hw + j, l, w, grad)) {
                for (int64_t c = 0; c < g.c; ++c) dl.data<double>()[(n * g.c + c) * g.hw + j] = grad[size_t(c)];
            }
            lp.data<double>()[n * g.hw + j] = l;
            sl += l;
            sw += w;
        }
    Ref r;
    double scale = 1;
    if (red == LossReduction::None) {
        Shape pix{x.size(0)};
        for (int64_t d = 2; d < x.dim(); ++d) pix.push_back(x.size(d));
        r.loss = lp.view(pix);
    } else {
        r.loss = full({}, red == LossReduction::Mean ? (sw != 0 ? sl / sw : 0.0) : sl, {DType::F64});
        if (red == LossReduction::Mean) scale = sw != 0 ? 1 / sw : 0;
    }
    const Tensor up64 = up.to(DType::F64);
    r.dx = zeros(x.shape(), {DType::F64});
    for (int64_t n = 0; n < g.n; ++n)
        for (int64_t c = 0; c < g.c; ++c)
            for (int64_t j = 0; j < g.hw; ++j) {
                const int64_t i = (n * g.c + c) * g.hw + j;
                const double u = red == LossReduction::None ? up64.get_double(n * g.hw + j) : up64.get_double(0);
                r.dx.data<double>()[i] = dl.data<double>()[i] * scale * u;
            }
    return r;
}

// PyTorch's cross-entropy: l = -sum_c w_c t_c logp_c with t = (1 - eps) onehot + eps / C; weight w_y.
Ref ce_ref(const Tensor& x, const Tensor& labels, const Tensor& weight, double eps, int64_t ignore, LossReduction red,
           const Tensor& up) {
    const Geo g = geo_of(x);
    return reduce_ref(x, labels, red, up,
                      [&](const std::vector<double>& logp, int64_t, int64_t, int64_t i, double& l, double& w,
                          std::vector<double>& grad) {
                          const int64_t y = int64_t(labels.get_double(i));
                          if (y == ignore) return false;
                          const auto wc = [&](int64_t c) { return weight.defined() ? weight.get_double(c) : 1.0; };
                          double tw = 0;
                          for (int64_t c = 0; c < g.c; ++c) {
                              const double t = (c == y ? 1 - eps : 0.0) + eps / double(g.c);
                              l -= wc(c) * t * logp[size_t(c)];
                              tw += wc(c) * t;
                          }
                          w = wc(y);
                          for (int64_t c = 0; c < g.c; ++c) {
                              const double t = (c == y ? 1 - eps : 0.0) + eps / double(g.c);
                              grad[size_t(c)] = std::exp(logp[size_t(c)]) * tw - wc(c) * t;
                          }
                          return true;
                      });
}

// Focal loss; the gradient by central differences of the per-pixel loss in double.
Ref focal_ref(const Tensor& x, const Tensor& labels, const Tensor& alpha, double alpha_scalar, double gamma,
              int64_t ignore, LossReduction red, const Tensor& up) {
    const Geo g = geo_of(x);
    return reduce_ref(x, labels, red, up,
                      [&](const std::vector<double>& logp, int64_t, int64_t, int64_t i, double& l, double& w,
                          std::vector<double>& grad) {
                          const int64_t y = int64_t(labels.get_double(i));
                          if (y == ignore) return false;
                          const double a = alpha.defined() ? alpha.get_double(y) : alpha_scalar;
                          const auto fl = [&](const std::vector<double>& lp) {
                              return -a * std::pow(1 - std::exp(lp[size_t(y)]), gamma) * lp[size_t(y)];
                          };
                          l = fl(logp);
                          w = 1;
                          // logits up to the per-pixel constant: logp itself (softmax is shift-invariant).
                          for (int64_t c = 0; c < g.c; ++c) {
                              const double h = 1e-6;
                              std::vector<double> zp = logp, zm = logp;
                              zp[size_t(c)] += h;
                              zm[size_t(c)] -= h;
                              const auto renorm = [](std::vector<double>& z) {
                                  double m = -INFINITY, s = 0;
                                  for (double t : z) m = std::max(m, t);
                                  for (double t : z) s += std::exp(t - m);
                                  for (double& t : z) t = t - m - std::log(s);
                              };
                              renorm(zp);
                              renorm(zm);
                              grad[size_t(c)] = (fl(zp) - fl(zm)) / (2 * h);
                          }
                          return true;
                      });
}

// T^2 KL(softmax(t/T) || softmax(s/T)); gradient T (p - q).
Ref kd_ref(const Tensor& s, const Tensor& t, const Tensor& labels, double temp, int64_t ignore, LossReduction red,
           const Tensor& up) {
    const Geo g = geo_of(s);
    const Tensor ss = ops::div(s.to(DType::F64), temp), ts = ops::div(t.to(DType::F64), temp);
    return reduce_ref(ss, labels, red, up,
                      [&](const std::vector<double>& logp, int64_t n, int64_t j, int64_t i, double& l, double& w,
                          std::vector<double>& grad) {
                          if (labels.defined() && int64_t(labels.get_double(i)) == ignore) return false;
                          const std::vector<double> logq = log_softmax_at(ts, g, n, j);
                          double kl = 0;
                          for (int64_t c = 0; c < g.c; ++c) {
                              const double q = std::exp(logq[size_t(c)]);
                              kl += q > 0 ? q * (logq[size_t(c)] - logp[size_t(c)]) : 0.0;
                              grad[size_t(c)] = temp * (std::exp(logp[size_t(c)]) - q);
                          }
                          l = temp * temp * kl;
                          w = 1;
                          return true;
                      });
}

// A random upstream gradient of the loss's shape (f32, or f64 for f64 logits).
Tensor upstream_like(const Tensor& loss, uint32_t seed) {
    return test::random_tensor(loss.shape(), loss.dtype(), 0.5, 1.5, seed);
}

test::Tolerance loss_tol(DType dt) {
    return dt == DType::F64 ? test::Tolerance{1e-11, 1e-10} : test::Tolerance{2e-5, 2e-5};
}
test::Tolerance grad_tol(DType dt) {
    switch (dt) {
        case DType::F64:
            return {1e-11, 1e-9};
        case DType::F32:
            return {1e-6, 1e-4};
        default: {
            test::Tolerance t = test::tolerance_for(dt);  // buffer rounded to 16 bits, then scaled
            return {t.atol * 0.1, t.rtol * 2};
        }
    }
}

}  // namespace

TEST_CASE("cross_entropy: loss and gradient vs naive loops, every option", "[kernels][loss][cross_entropy]") {
    for (const Shape& shape : {Shape{2, 5, 3, 7}, Shape{1, 3, 1, 1}, Shape{3, 4, 13}, Shape{2, 19, 8, 9}}) {
        const int64_t c = shape[1];
        Shape ls{shape[0]};
        for (size_t d = 2; d < shape.size(); ++d) ls.push_back(shape[d]);
        const Tensor x64 = test::random_tensor(shape, DType::F64, -4, 4, 11);
        const Tensor labels = random_labels(ls, c, 0.2, 12);
        const Tensor w64 = test::random_tensor({c}, DType::F64, 0.2, 2.0, 13);
        for (DType dt : {DType::F64, DType::F32, DType::F16, DType::BF16})
            for (bool weighted : {false, true})
                for (double eps : {0.0, 0.1})
                    for (LossReduction red : {LossReduction::Mean, LossReduction::Sum, LossReduction::None}) {
                        INFO(shape_str(shape) << " " << dtype_name(dt) << " weighted " << weighted << " eps " << eps
                                              << " " << loss_reduction_name(red));
                        const DType sd = dt == DType::F64 ? DType::F64 : DType::F32;
                        const Tensor x = x64.to(dt);
                        ops::CrossEntropyOptions opt;
                        opt.weight = weighted ? w64.to(sd) : Tensor();
                        opt.label_smoothing = eps;
                        opt.reduction = red;
                        const PixelLossResult r = ops::cross_entropy_fused(x, labels, opt, true);
                        REQUIRE(r.loss.dtype() == sd);
                        const Tensor up = upstream_like(r.loss, 14);
                        const Ref ref = ce_ref(x.to(DType::F64), labels, opt.weight.defined() ? opt.weight : Tensor(),
                                               eps, 255, red, up);
                        REQUIRE_CLOSE(r.loss, ref.loss, loss_tol(dt));
                        // The loss without a gradient is the same.
                        REQUIRE_CLOSE(ops::cross_entropy(x, labels, opt), r.loss, (test::Tolerance{0, 0}));
                        const Tensor dx = ops::pixel_loss_backward(up, r);
                        REQUIRE(dx.dtype() == dt);
                        REQUIRE_CLOSE(dx, ref.dx, grad_tol(dt));
                    }
    }
}

TEST_CASE("focal_loss: loss and gradient vs naive loops", "[kernels][loss][focal]") {
    const Shape shape{2, 6, 5, 7};
    const Tensor x64 = test::random_tensor(shape, DType::F64, -4, 4, 21);
    const Tensor labels = random_labels({2, 5, 7}, 6, 0.2, 22);
    const Tensor a64 = test::random_tensor({6}, DType::F64, 0.1, 1.0, 23);
    for (DType dt : {DType::F64, DType::F32, DType::BF16})
        for (double gamma : {0.0, 0.5, 2.0})
            for (bool per_class : {false, true})
                for (LossReduction red : {LossReduction::Mean, LossReduction::Sum, LossReduction::None}) {
                    INFO(dtype_name(dt) << " gamma " << gamma << " per-class alpha " << per_class << " "
                                        << loss_reduction_name(red));
                    const DType sd = dt == DType::F64 ? DType::F64 : DType::F32;
                    const Tensor x = x64.to(dt);
                    ops::FocalLossOptions opt;
                    opt.gamma = gamma;
                    opt.alpha = per_class ? a64.to(sd) : Tensor();
                    opt.alpha_scalar = 0.25;
                    opt.reduction = red;
                    const PixelLossResult r = ops::focal_loss_fused(x, labels, opt, true);
                    const Tensor up = upstream_like(r.loss, 24);
                    const Ref ref = focal_ref(x.to(DType::F64), labels, opt.alpha, 0.25, gamma, 255, red, up);
                    REQUIRE_CLOSE(r.loss, ref.loss, loss_tol(dt));
                    test::Tolerance gt = grad_tol(dt);
                    if (dt == DType::F64) gt = {1e-8, 1e-6};  // finite differences
                    REQUIRE_CLOSE(ops::pixel_loss_backward(up, r), ref.dx, gt);
                }
    // gamma = 0, alpha = 1 is cross-entropy.
    const Tensor x = x64.to(DType::F32);
    ops::FocalLossOptions f;
    f.gamma = 0;
    f.alpha_scalar = 1;
    REQUIRE_CLOSE(ops::focal_loss(x, labels, f), ops::cross_entropy(x, labels), (test::Tolerance{1e-6, 1e-6}));
}

TEST_CASE("kd_loss: loss and gradient vs naive loops", "[kernels][loss][kd]") {
    const Shape shape{2, 7, 4, 5};
    const Tensor s64 = test::random_tensor(shape, DType::F64, -5, 5, 31);
    const Tensor t64 = test::random_tensor(shape, DType::F64, -5, 5, 32);
    const Tensor labels = random_labels({2, 4, 5}, 7, 0.3, 33);
    for (DType dt : {DType::F64, DType::F32, DType::F16})
        for (double temp : {1.0, 4.0})
            for (bool masked : {false, true})
                for (LossReduction red : {LossReduction::Mean, LossReduction::Sum, LossReduction::None}) {
                    INFO(dtype_name(dt) << " T " << temp << " masked " << masked << " " << loss_reduction_name(red));
                    ops::KdLossOptions opt;
                    opt.temperature = temp;
                    opt.reduction = red;
                    const Tensor lab = masked ? labels : Tensor();
                    const PixelLossResult r = ops::kd_loss_fused(s64.to(dt), t64.to(dt), lab, opt, true);
                    const Tensor up = upstream_like(r.loss, 34);
                    const Ref ref =
                        kd_ref(s64.to(dt).to(DType::F64), t64.to(dt).to(DType::F64), lab, temp, 255, red, up);
                    REQUIRE_CLOSE(r.loss, ref.loss, loss_tol(dt));
                    test::Tolerance gt = grad_tol(dt);
                    if (dt != DType::F64) gt.atol *= temp;
                    REQUIRE_CLOSE(ops::pixel_loss_backward(up, r), ref.dx, gt);
                }
    // Identical student and teacher: zero loss and gradient.
    const Tensor s = s64.to(DType::F32);
    const PixelLossResult r = ops::kd_loss_fused(s, s, Tensor(), {}, true);
    REQUIRE(std::abs(r.loss.item<float>()) < 1e-6);
    REQUIRE_CLOSE(ops::pixel_loss_backward(ones({}), r), zeros(shape), (test::Tolerance{1e-7, 0}));
}

namespace {

// OHEM in double: mmseg's selection rule, then the weighted mean of the selected pixels.
Ref ohem_ref(const Tensor& x, const Tensor& labels, const Tensor& weight, double thresh, int64_t min_kept) {
    const Geo g = geo_of(x);
    std::vector<double> q;
    for (int64_t i = 0; i < g.n * g.hw; ++i) {
        const int64_t y = int64_t(labels.get_double(i));
        if (y == 255) continue;
        const int64_t n = i / g.hw, j = i % g.hw;
        q.push_back(std::exp(log_softmax_at(x, g, n, j)[size_t(y)]));
    }
    std::vector<double> sorted = q;
    std::sort(sorted.begin(), sorted.end());
    const double min_thr =
        sorted.empty() ? 0.0 : sorted[size_t(std::min<int64_t>(min_kept * g.n, int64_t(sorted.size()) - 1))];
    const double thr = std::max(min_thr, thresh);
    return reduce_ref(x, labels, LossReduction::Mean, ones({}, {DType::F64}),
                      [&](const std::vector<double>& logp, int64_t, int64_t, int64_t i, double& l, double& w,
                          std::vector<double>& grad) {
                          const int64_t y = int64_t(labels.get_double(i));
                          if (y == 255 || !(std::exp(logp[size_t(y)]) < thr)) return false;
                          const double wy = weight.defined() ? weight.get_double(y) : 1.0;
                          l = -wy * logp[size_t(y)];
                          w = wy;
                          for (int64_t c = 0; c < g.c; ++c)
                              grad[size_t(c)] = wy * (std::exp(logp[size_t(c)]) - (c == y ? 1.0 : 0.0));
                          return true;
                      });
}

}  // namespace

TEST_CASE("ohem_cross_entropy: selection rule, loss and gradient vs naive loops", "[kernels][loss][ohem]") {
    const Shape shape{2, 5, 9, 11};
    const Tensor x64 = test::random_tensor(shape, DType::F64, -3, 3, 41);
    const Tensor labels = random_labels({2, 9, 11}, 5, 0.15, 42);
    const Tensor w64 = test::random_tensor({5}, DType::F64, 0.5, 2, 43);
    for (DType dt : {DType::F64, DType::F32})
        for (double thresh : {0.0, 0.3, 0.7, 1.5})
            for (int64_t min_kept : {int64_t(0), int64_t(10), int64_t(60), int64_t(1000)})
                for (bool weighted : {false, true}) {
                    INFO(dtype_name(dt) << " thresh " << thresh << " min_kept " << min_kept << " weighted "
                                        << weighted);
                    const DType sd = dt == DType::F64 ? DType::F64 : DType::F32;
                    ops::OhemOptions opt;
                    opt.thresh = thresh;
                    opt.min_kept = min_kept;
                    opt.weight = weighted ? w64.to(sd) : Tensor();
                    const PixelLossResult r = ops::ohem_cross_entropy_fused(x64.to(dt), labels, opt, true);
                    const Ref ref = ohem_ref(x64.to(dt).to(DType::F64), labels, opt.weight, thresh, min_kept);
                    REQUIRE_CLOSE(r.loss, ref.loss, loss_tol(dt));
                    REQUIRE_CLOSE(ops::pixel_loss_backward(ones({}, {sd}), r), ref.dx, grad_tol(dt));
                }
}

TEST_CASE("ohem_cross_entropy: ties with the k-th probability are all left out", "[kernels][loss][ohem]") {
    // Two classes, logits (0, d): q = sigmoid(+-d). Pixels with equal logits tie exactly.
    const int64_t hw = 10;
    Tensor x = zeros({1, 2, 1, hw}, {DType::F32});
    Tensor y = zeros({1, 1, hw}, {DType::I64});
    const float d[hw] = {-2, -1, -1, -1, 0, 1, 2, 2, 3, 4};  // q_i = sigmoid(d_i) for label 1
    for (int64_t j = 0; j < hw; ++j) {
        x.data<float>()[hw + j] = d[j];
        y.data<int64_t>()[j] = 1;
    }
    ops::OhemOptions opt;
    opt.thresh = 0.0;
    const auto selected = [&](int64_t min_kept) {
        opt.min_kept = min_kept;
        const PixelLossResult r = ops::ohem_cross_entropy_fused(x, y, opt, true);
        const Tensor dx = ops::pixel_loss_backward(ones({}), r);
        int64_t k = 0;
        for (int64_t j = 0; j < hw; ++j) k += dx.data<float>()[hw + j] != 0.f;
        return k;
    };
    REQUIRE(selected(0) == 0);    // threshold = q_(0): nothing is strictly below
    REQUIRE(selected(1) == 1);    // q_(1) = sigmoid(-1): only the -2 pixel
    REQUIRE(selected(2) == 1);    // q_(2) ties with q_(1): still one
    REQUIRE(selected(4) == 4);    // q_(4) = sigmoid(0): -2, -1, -1, -1
    REQUIRE(selected(7) == 6);    // q_(7) = sigmoid(2) ties with q_(6)
    REQUIRE(selected(100) == 9);  // k = V - 1: all but the largest
    opt.thresh = 0.6;             // sigmoid(0) = 0.5 < 0.6 < sigmoid(1)
    REQUIRE(selected(2) == 5);
}

TEST_CASE("pixel losses: edge cases", "[kernels][loss]") {
    SECTION("all pixels ignored: loss 0, gradient 0") {
        const Tensor x = test::random_tensor({2, 3, 4, 5}, DType::F32, -2, 2, 51);
        const Tensor y = full({2, 4, 5}, 255, {DType::I64});
        for (LossReduction red : {LossReduction::Mean, LossReduction::Sum}) {
            ops::CrossEntropyOptions opt;
            opt.reduction = red;
            opt.weight = ones({3});
            opt.label_smoothing = 0.1;
            const PixelLossResult r = ops::cross_entropy_fused(x, y, opt, true);
            REQUIRE(r.loss.item<float>() == 0.f);
            REQUIRE_CLOSE(ops::pixel_loss_backward(ones({}), r), zeros(x.shape()), (test::Tolerance{0, 0}));
            ops::FocalLossOptions f;
            f.reduction = red;
            const PixelLossResult rf = ops::focal_loss_fused(x, y, f, true);
            REQUIRE(rf.loss.item<float>() == 0.f);
            REQUIRE_CLOSE(ops::pixel_loss_backward(ones({}), rf), zeros(x.shape()), (test::Tolerance{0, 0}));
        }
        const PixelLossResult ro = ops::ohem_cross_entropy_fused(x, y, {}, true);
        REQUIRE(ro.loss.item<float>() == 0.f);
        REQUIRE_CLOSE(ops::pixel_loss_backward(ones({}), ro), zeros(x.shape()), (test::Tolerance{0, 0}));
        const PixelLossResult rk = ops::kd_loss_fused(x, ops::mul(x, 2.0), y, {}, true);
        REQUIRE(rk.loss.item<float>() == 0.f);
        REQUIRE_CLOSE(ops::pixel_loss_backward(ones({}), rk), zeros(x.shape()), (test::Tolerance{0, 0}));
    }
    SECTION("one class present, 1x1 images, a single class") {
        for (const Shape& shape : {Shape{3, 4, 5, 6}, Shape{4, 3, 1, 1}, Shape{2, 1, 3, 3}}) {
            INFO(shape_str(shape));
            const Tensor x = test::random_tensor(shape, DType::F64, -3, 3, 52);
            Shape ls{shape[0], shape[2], shape[3]};
            const Tensor y = full(ls, double(shape[1] - 1), {DType::I64});
            ops::CrossEntropyOptions opt;
            opt.label_smoothing = 0.2;
            const PixelLossResult r = ops::cross_entropy_fused(x, y, opt, true);
            const Ref ref = ce_ref(x, y, Tensor(), 0.2, 255, LossReduction::Mean, ones({}, {DType::F64}));
            REQUIRE_CLOSE(r.loss, ref.loss, loss_tol(DType::F64));
            REQUIRE_CLOSE(ops::pixel_loss_backward(ones({}, {DType::F64}), r), ref.dx, grad_tol(DType::F64));
        }
        // One class: log-softmax is 0, so the loss and the gradient are 0.
        const Tensor x = test::random_tensor({2, 1, 3, 3}, DType::F32, -3, 3, 53);
        const PixelLossResult r = ops::cross_entropy_fused(x, zeros({2, 3, 3}, {DType::I64}), {}, true);
        REQUIRE(r.loss.item<float>() == 0.f);
    }
    SECTION("an empty batch: loss 0") {
        const Tensor x = zeros({0, 3, 4, 5});
        const Tensor y = zeros({0, 4, 5}, {DType::I64});
        REQUIRE(ops::cross_entropy(x, y).item<float>() == 0.f);
        REQUIRE(ops::ohem_cross_entropy(x, y).item<float>() == 0.f);
        REQUIRE(ops::kd_loss(x, x).item<float>() == 0.f);
        ops::CrossEntropyOptions none;
        none.reduction = LossReduction::None;
        REQUIRE(ops::cross_entropy(x, y, none).shape() == Shape{0, 4, 5});
    }
    SECTION("i32 and u8 labels give the i64 result") {
        const Tensor x = test::random_tensor({2, 4, 6, 5}, DType::F32, -2, 2, 54);
        const Tensor y = random_labels({2, 6, 5}, 4, 0.2, 55);
        ops::CrossEntropyOptions opt;
        opt.label_smoothing = 0.05;
        const PixelLossResult r = ops::cross_entropy_fused(x, y, opt, true);
        const Tensor dx = ops::pixel_loss_backward(ones({}), r);
        for (DType ld : {DType::I32, DType::U8}) {
            const PixelLossResult r2 = ops::cross_entropy_fused(x, y.to(ld), opt, true);
            REQUIRE_CLOSE(r2.loss, r.loss, (test::Tolerance{0, 0}));
            REQUIRE_CLOSE(ops::pixel_loss_backward(ones({}), r2), dx, (test::Tolerance{0, 0}));
            REQUIRE_CLOSE(ops::focal_loss(x, y.to(ld)), ops::focal_loss(x, y), (test::Tolerance{0, 0}));
            REQUIRE_CLOSE(ops::ohem_cross_entropy(x, y.to(ld)), ops::ohem_cross_entropy(x, y), (test::Tolerance{0, 0}));
        }
    }
    SECTION("non-contiguous logits") {
        const Tensor base = test::random_tensor({2, 5, 4, 3}, DType::F32, -2, 2, 56);
        const Tensor x = base.permute({0, 1, 3, 2});  // (2, 5, 3, 4), not contiguous
        const Tensor y = random_labels({2, 3, 4}, 5, 0.1, 57);
        REQUIRE_CLOSE(ops::cross_entropy(x, y), ops::cross_entropy(x.contiguous(), y), (test::Tolerance{0, 0}));
    }
    SECTION("large logits do not overflow") {
        Tensor x = test::random_tensor({1, 4, 2, 3}, DType::F32, -1, 1, 58);
        x = ops::add(x, 1e4);
        const Tensor y = random_labels({1, 2, 3}, 4, 0.0, 59);
        const Ref ref = ce_ref(x.to(DType::F64), y, Tensor(), 0.1, 255, LossReduction::Mean, ones({}, {DType::F64}));
        ops::CrossEntropyOptions opt;
        opt.label_smoothing = 0.1;
        REQUIRE_CLOSE(ops::cross_entropy(x, y, opt), ref.loss, (test::Tolerance{1e-5, 1e-5}));
    }
}

TEST_CASE("pixel losses: out-of-range labels are a clear error", "[kernels][loss]") {
    const Tensor x = test::random_tensor({2, 3, 4, 5}, DType::F32, -2, 2, 61);
    Tensor y = random_labels({2, 4, 5}, 3, 0.1, 62);
    y.data<int64_t>()[7] = 7;  // (0, 1, 2)
    y.data<int64_t>()[25] = -1;
    REQUIRE_THROWS_WITH(ops::cross_entropy(x, y), Catch::Contains("label 7 at (0, 1, 2) is outside [0, 3)") &&
                                                      Catch::Contains("ignore_index 255") &&
                                                      Catch::Contains("2 pixels have"));
    REQUIRE_THROWS_WITH(ops::focal_loss(x, y), Catch::Contains("focal_loss: label 7"));
    REQUIRE_THROWS_WITH(ops::ohem_cross_entropy(x, y), Catch::Contains("ohem_cross_entropy: label 7"));
    // u8: 200 is out of range, 255 is ignored.
    Tensor y8 = zeros({2, 4, 5}, {DType::U8});
    y8.data<uint8_t>()[3] = 255;
    y8.data<uint8_t>()[4] = 200;
    REQUIRE_THROWS_WITH(ops::cross_entropy(x, y8),
                        Catch::Contains("label 200 at (0, 0, 4)") && Catch::Contains("1 pixel has"));
    // check_labels = false: bad labels count as ignored.
    ops::CrossEntropyOptions off;
    off.check_labels = false;
    Tensor y_ign = y.clone();
    y_ign.data<int64_t>()[7] = 255;
    y_ign.data<int64_t>()[25] = 255;
    REQUIRE_CLOSE(ops::cross_entropy(x, y, off), ops::cross_entropy(x, y_ign), (test::Tolerance{0, 0}));
    // Shape / dtype errors.
    REQUIRE_THROWS_WITH(ops::cross_entropy(x, zeros({2, 4, 4}, {DType::I64})),
                        Catch::Contains("labels must be (2, 4, 5)"));
    REQUIRE_THROWS_WITH(ops::cross_entropy(x, zeros({2, 4, 5}, {DType::F32})),
                        Catch::Contains("labels must be i64, i32 or u8"));
    ops::CrossEntropyOptions bad_w;
    bad_w.weight = ones({4});
    REQUIRE_THROWS_WITH(ops::cross_entropy(x, y_ign, bad_w), Catch::Contains("weight must be (3)"));
    REQUIRE_THROWS_WITH(ops::kd_loss(x, x.to(DType::F64)), Catch::Contains("teacher logits are f64"));
}
