// CUDA fused losses (kernels/loss/) against the CPU oracle on the same (16-bit where tested)
// inputs: cross-entropy (weights, label smoothing, every reduction), focal, distillation and OHEM
// (the radix select checked bit for bit against a sort of the device's own probabilities), over
// odd shapes and f32/f16/bf16 logits with i64/i32/u8 labels; gradients written into poisoned
// memory; results bitwise reproducible; an out-of-range label is an error that leaves the context
// usable.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <vector>

#include "core/device.h"
#include "kernels/ops.h"
#include "tests/test_util.h"

using namespace segcore;
using ops::PixelLossResult;

namespace {

Tensor random_labels(const Shape& shape, int64_t c, double ignore_frac, uint32_t seed) {
    std::mt19937 rng(seed);
    Tensor y = empty(shape, {DType::I64});
    for (int64_t i = 0; i < y.numel(); ++i)
        y.data<int64_t>()[i] =
            std::uniform_real_distribution<double>(0, 1)(rng) < ignore_frac ? 255 : int64_t(rng() % uint32_t(c));
    return y;
}

Shape label_shape(const Shape& s) {
    Shape l{s[0]};
    for (size_t d = 2; d < s.size(); ++d) l.push_back(s[d]);
    return l;
}

const std::vector<Shape>& shapes() {
    static const std::vector<Shape> v{{2, 19, 33, 47},  {1, 3, 1, 1},    {3, 5, 7, 11},
                                      {2, 150, 17, 13}, {4, 19, 64, 97}, {1, 2, 1, 257}};
    return v;
}

// dx into poisoned memory when it is large enough to be handed the poisoned block.
Tensor backward_poisoned(const Tensor& up, const PixelLossResult& r) {
    const void* poisoned = test::poison_next_cuda_output(r.grad.shape(), r.grad.dtype());
    const Tensor dx = ops::pixel_loss_backward(up, r);
    REQUIRE(dx.data_ptr() == poisoned);
    return dx;
}

test::Tolerance loss_tol() { return {1e-5, 1e-5}; }

}  // namespace

TEST_CASE("cross_entropy cuda matches the CPU", "[cuda][loss][cross_entropy]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    for (const Shape& shape : shapes()) {
        const int64_t c = shape[1];
        const Tensor x = test::random_tensor(shape, dt, -5, 5, 1);
        const Tensor y = random_labels(label_shape(shape), c, 0.2, 2);
        const Tensor w = test::random_tensor({c}, DType::F32, 0.2, 2, 3);
        for (DType ld : {DType::I64, DType::I32, DType::U8})
            for (bool weighted : {false, true})
                for (double eps : {0.0, 0.1})
                    for (LossReduction red : {LossReduction::Mean, LossReduction::Sum, LossReduction::None}) {
                        if (ld != DType::I64 && (weighted || red != LossReduction::Mean)) continue;
                        INFO(shape_str(shape) << " " << dtype_name(dt) << " labels " << dtype_name(ld) << " weighted "
                                              << weighted << " eps " << eps << " " << loss_reduction_name(red));
                        ops::CrossEntropyOptions opt;
                        opt.weight = weighted ? w : Tensor();
                        opt.label_smoothing = eps;
                        opt.reduction = red;
                        const PixelLossResult rc = ops::cross_entropy_fused(x, y.to(ld), opt, true);
                        ops::CrossEntropyOptions gopt = opt;
                        if (weighted) gopt.weight = w.cuda();
                        const Tensor xg = x.cuda(), yg = y.to(ld).cuda();
                        test::poison_next_cuda_output(shape, dt);  // the gradient buffer's size (checked below)
                        const PixelLossResult rg = ops::cross_entropy_fused(xg, yg, gopt, true);
                        REQUIRE(rg.loss.is_cuda());
                        REQUIRE_CLOSE(rg.loss, rc.loss, loss_tol());
                        REQUIRE_CLOSE(rg.grad, rc.grad, test::tolerance_for(dt));
                        const Tensor up = test::random_tensor(rc.loss.shape(), DType::F32, 0.5, 1.5, 4);
                        const Tensor dxc = ops::pixel_loss_backward(up, rc);
                        const Tensor dxg = ops::pixel_loss_backward(up.cuda(), rg);
                        REQUIRE_CLOSE(dxg, dxc, test::tolerance_for(dt));
                    }
        // Poisoned backward output, and the forward gradient buffer.
        const PixelLossResult rg = ops::cross_entropy_fused(x.cuda(), y.cuda(), {}, true);
        if (rg.grad.nbytes() >= 4096) {
            REQUIRE_CLOSE(backward_poisoned(ones({}, {DType::F32, Device::cuda()}), rg),
                          ops::pixel_loss_backward(ones({}), ops::cross_entropy_fused(x, y, {}, true)),
                          test::tolerance_for(dt));
            const Tensor xg = x.cuda(), yg = y.cuda();  // before poisoning: x.cuda() has the grad's size
            const void* poisoned = test::poison_next_cuda_output(shape, dt);
            const PixelLossResult r2 = ops::cross_entropy_fused(xg, yg, {}, true);
            REQUIRE(r2.grad.data_ptr() == poisoned);
            REQUIRE_CLOSE(r2.grad, rg.grad, (test::Tolerance{0, 0}));  // also: bitwise reproducible
            REQUIRE(r2.loss.item<float>() == rg.loss.item<float>());
        }
    }
}

TEST_CASE("focal_loss and kd_loss cuda match the CPU", "[cuda][loss][focal][kd]") {
    const DType dt = GENERATE(DType::F32, DType::F16, DType::BF16);
    for (const Shape& shape : shapes()) {
        const int64_t c = shape[1];
        INFO(shape_str(shape) << " " << dtype_name(dt));
        const Tensor x = test::random_tensor(shape, dt, -5, 5, 5), t = test::random_tensor(shape, dt, -5, 5, 6);
        const Tensor y = random_labels(label_shape(shape), c, 0.2, 7);
        for (double gamma : {0.0, 0.5, 2.0}) {
            ops::FocalLossOptions opt;
            opt.gamma = gamma;
            opt.alpha = test::random_tensor({c}, DType::F32, 0.1, 1, 8);
            const PixelLossResult rc = ops::focal_loss_fused(x, y, opt, true);
            opt.alpha = opt.alpha.cuda();
            const PixelLossResult rg = ops::focal_loss_fused(x.cuda(), y.cuda(), opt, true);
            REQUIRE_CLOSE(rg.loss, rc.loss, loss_tol());
            REQUIRE_CLOSE(ops::pixel_loss_backward(ones({}, {DType::F32, Device::cuda()}), rg),
                          ops::pixel_loss_backward(ones({}), rc), test::tolerance_for(dt));
        }
        for (double temp : {1.0, 4.0})
            for (bool masked : {false, true})
                for (LossReduction red : {LossReduction::Mean, LossReduction::None}) {
                    ops::KdLossOptions opt;
                    opt.temperature = temp;
                    opt.reduction = red;
                    const PixelLossResult rc = ops::kd_loss_fused(x, t, masked ? y : Tensor(), opt, true);
                    const PixelLossResult rg =
                        ops::kd_loss_fused(x.cuda(), t.cuda(), masked ? y.cuda() : Tensor(), opt, true);
                    REQUIRE_CLOSE(rg.loss, rc.loss, (test::Tolerance{1e-4, 1e-4}));
                    const Tensor up = ones(rc.loss.shape());
                    test::Tolerance gt = test::tolerance_for(dt);
                    gt.atol *= temp;
                    REQUIRE_CLOSE(ops::pixel_loss_backward(up.cuda(), rg), ops::pixel_loss_backward(up, rc), gt);
                }
    }
}

TEST_CASE("ohem_cross_entropy cuda: radix select and masked mean", "[cuda][loss][ohem]") {
    const DType dt = GENERATE(DType::F32, DType::BF16);
    for (const Shape& shape : {Shape{2, 19, 45, 61}, Shape{1, 4, 3, 5}, Shape{4, 7, 128, 96}}) {
        const int64_t c = shape[1];
        const Tensor x = test::random_tensor(shape, dt, -4, 4, 9);
        const Tensor y = random_labels(label_shape(shape), c, 0.15, 10);
        for (double thresh : {0.0, 0.2, 0.7, 1.5})
            for (int64_t min_kept : {int64_t(0), int64_t(7), int64_t(1000), int64_t(1) << 40}) {
                INFO(shape_str(shape) << " " << dtype_name(dt) << " thresh " << thresh << " min_kept " << min_kept);
                ops::OhemOptions opt;
                opt.thresh = thresh;
                opt.min_kept = min_kept;
                const PixelLossResult rg = ops::ohem_cross_entropy_fused(x.cuda(), y.cuda(), opt, true);
                // The threshold the device found, against a sort of the device's own probabilities.
                const Tensor q = rg.py.cpu();
                std::vector<float> v;
                for (int64_t i = 0; i < q.numel(); ++i)
                    if (std::isfinite(q.data<float>()[i])) v.push_back(q.data<float>()[i]);
                std::sort(v.begin(), v.end());
                const float min_thr =
                    v.empty() ? 0.f : v[size_t(std::min<int64_t>(min_kept * shape[0], int64_t(v.size()) - 1))];
                const float thr = std::max(min_thr, float(thresh));
                REQUIRE(rg.totals.cpu().data<float>()[kernels::kTotalsThreshold] == thr);
                const PixelLossResult rc = ops::ohem_cross_entropy_fused(x, y, opt, true);
                REQUIRE_CLOSE(rg.loss, rc.loss, (test::Tolerance{1e-4, 1e-4}));
                REQUIRE_CLOSE(ops::pixel_loss_backward(ones({}, {DType::F32, Device::cuda()}), rg),
                              ops::pixel_loss_backward(ones({}), rc), test::tolerance_for(dt));
            }
    }
    // Every pixel ignored: loss 0, zero gradient.
    const Tensor x = test::random_tensor({2, 3, 5, 5}, DType::F32, -1, 1, 11);
    const PixelLossResult r =
        ops::ohem_cross_entropy_fused(x.cuda(), full({2, 5, 5}, 255, {DType::I64, Device::cuda()}), {}, true);
    REQUIRE(r.loss.item<float>() == 0.f);
    REQUIRE_CLOSE(ops::pixel_loss_backward(ones({}, {DType::F32, Device::cuda()}), r), zeros(x.shape()),
                  (test::Tolerance{0, 0}));
}

TEST_CASE("cuda: an out-of-range label is an error, not a device assert", "[cuda][loss]") {
    const Tensor x = test::random_tensor({2, 3, 4, 5}, DType::F32, -2, 2, 12).cuda();
    Tensor y = random_labels({2, 4, 5}, 3, 0.1, 13);
    y.data<int64_t>()[7] = 7;
    y.data<int64_t>()[30] = 3;
    const Tensor yg = y.cuda();
    REQUIRE_THROWS_WITH(ops::cross_entropy(x, yg),
                        Catch::Contains("label 7 at (0, 1, 2) is outside [0, 3)") && Catch::Contains("2 pixels have"));
    REQUIRE_THROWS_WITH(ops::focal_loss(x, yg), Catch::Contains("label 7"));
    REQUIRE_THROWS_WITH(ops::ohem_cross_entropy(x, yg), Catch::Contains("label 7"));
    // The context is still usable.
    device_synchronize();
    ops::CrossEntropyOptions off;
    off.check_labels = false;  // no read-back: bad labels count as ignored
    Tensor y_ign = y.clone();
    y_ign.data<int64_t>()[7] = 255;
    y_ign.data<int64_t>()[30] = 255;
    REQUIRE_CLOSE(ops::cross_entropy(x, yg, off), ops::cross_entropy(x.cpu(), y_ign), (test::Tolerance{1e-5, 1e-5}));
    device_synchronize();
}
