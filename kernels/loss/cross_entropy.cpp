// ops::cross_entropy_fused / focal_loss_fused (kernels/loss/cross_entropy.h): validation,
// allocation, dispatch.
#include "kernels/loss/cross_entropy.h"

#include <cmath>

#include "kernels/common/dispatch.h"

namespace segcore::ops {

using namespace loss_detail;

namespace {

PixelLossResult run_pixel_loss(const char* op, const Tensor& logits_in, const Tensor& labels_in,
                               kernels::CrossEntropyParams p, const Tensor& weight_in, LossReduction reduction,
                               bool check_labels, bool want_grad, bool want_py) {
    const Geometry g = check_logits_labels(op, logits_in, labels_in);
    p.n = g.n;
    p.c = g.c;
    p.hw = g.hw;
    const Device dev = logits_in.device();
    const DType sd = loss_dtype(logits_in.dtype());
    const Tensor weight = check_class_vector(op, p.focal ? "alpha" : "weight", weight_in, p.c, sd, dev);
    const Tensor x = logits_in.contiguous(), labels = labels_in.contiguous();
    PixelLossResult r;
    r.reduction = reduction;
    r.totals = zeros({kernels::kTotalsSize}, {sd, dev});
    Shape pix_shape = labels.shape();
    Tensor loss_pix = reduction == LossReduction::None ? empty(pix_shape, {sd, dev}) : Tensor();
    if (want_py) r.py = empty(pix_shape, {sd, dev});
    if (want_grad) r.grad = empty(x.shape(), {x.dtype(), dev});
    Tensor bad = zeros({2}, {DType::I64, dev});
    const auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        using S = std::conditional_t<std::is_same_v<T, double>, double, float>;
        const S* w = weight.defined() ? weight.data<S>() : nullptr;
        S* lp = loss_pix.defined() ? loss_pix.data<S>() : nullptr;
        S* py = r.py.defined() ? r.py.data<S>() : nullptr;
        T* gr = r.grad.defined() ? r.grad.data<T>() : nullptr;
        visit_label_dtype(labels.dtype(), op, [&](auto ltag) {
            using L = typename decltype(ltag)::type;
            if (x.is_cuda()) {
                SEGCORE_CUDA_CALL(if constexpr (!std::is_same_v<T, double>) kernels::cross_entropy_forward_cuda<T, L>(
                    p, x.data<T>(), labels.data<L>(), w, lp, py, gr, r.totals.data<float>(), bad.data<int64_t>(),
                    reduction, current_stream()));
            } else {
                kernels::cross_entropy_forward_cpu<T, L, S>(p, x.data<T>(), labels.data<L>(), w, lp, py, gr,
                                                            r.totals.data<S>(), bad.data<int64_t>());
                kernels::pixel_loss_finish(reduction, r.totals.data<S>());
            }
        });
    };
    if (x.is_cuda())
        visit_cuda_float_dtype(x.dtype(), op, run);
    else
        visit_float_dtype(x.dtype(), op, run);
    if (check_labels) throw_if_bad_labels(op, bad, labels, p.c, p.ignore_index);
    r.loss = reduction == LossReduction::None ? loss_pix : r.totals.narrow(0, kernels::kTotalsLoss, 1).view({});
    return r;
}

}  // namespace

PixelLossResult cross_entropy_fused(const Tensor& logits, const Tensor& labels, const CrossEntropyOptions& opt,
                                    bool want_grad) {
    const char* op = "cross_entropy";
    SEGCORE_CHECK(opt.label_smoothing >= 0.0 && opt.label_smoothing <= 1.0, op,
                  ": label_smoothing must be in [0, 1], got ", opt.label_smoothing);
    kernels::CrossEntropyParams p;
    p.ignore_index = opt.ignore_index;
    p.label_smoothing = opt.label_smoothing;
    return run_pixel_loss(op, logits, labels, p, opt.weight, opt.reduction, opt.check_labels, want_grad, false);
}

PixelLossResult focal_loss_fused(const Tensor& logits, const Tensor& labels, const FocalLossOptions& opt,
                                 bool want_grad) {
    const char* op = "focal_loss";
    SEGCORE_CHECK(opt.gamma >= 0.0 && std::isfinite(opt.gamma), op, ": gamma must be >= 0, got ", opt.gamma);
    kernels::CrossEntropyParams p;
    p.ignore_index = opt.ignore_index;
    p.focal = true;
    p.gamma = opt.gamma;
    p.alpha_scalar = opt.alpha_scalar;
    return run_pixel_loss(op, logits, labels, p, opt.alpha, opt.reduction, opt.check_labels, want_grad, false);
}

// Used by ohem_cross_entropy.cpp: the per-pixel pass with p_y and per-pixel losses.
PixelLossResult cross_entropy_per_pixel(const char* op, const Tensor& logits, const Tensor& labels,
                                        int64_t ignore_index, const Tensor& weight, bool check_labels, bool want_grad) {
    kernels::CrossEntropyParams p;
    p.ignore_index = ignore_index;
    return run_pixel_loss(op, logits, labels, p, weight, LossReduction::None, check_labels, want_grad, true);
}

}  // namespace segcore::ops
