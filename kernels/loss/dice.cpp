// ops::dice_loss (kernels/loss/dice.h): validation, allocation, the one device switch, and the
// bad-label error (the kernels only report the first bad pixel's index).
#include "kernels/loss/dice.h"

#include "kernels/common/dispatch.h"
#include "kernels/loss/region_common.h"

namespace segcore::kernels {

const char* dice_variant_name(DiceVariant v) {
    switch (v) {
        case DiceVariant::Dice: return "dice";
        case DiceVariant::Generalized: return "generalized_dice";
        case DiceVariant::Tversky: return "tversky";
    }
    return "dice";
}

}  // namespace segcore::kernels

namespace segcore::ops {

namespace {

DType stats_dtype(DType x) { return x == DType::F64 ? DType::F64 : DType::F32; }

kernels::DiceParams params_of(const char* op, const region::Geometry& g, const DiceLossOptions& opt) {
    kernels::DiceParams p;
    p.n = g.n;
    p.c = g.c;
    p.hw = g.hw;
    p.ignore_index = opt.ignore_index;
    p.variant = opt.variant;
    p.smooth = opt.resolved_smooth();
    p.alpha = opt.alpha;
    p.beta = opt.beta;
    p.weight_clamp = opt.weight_clamp;
    p.include_background = opt.include_background;
    p.present_only = opt.present_only;
    SEGCORE_CHECK(p.alpha >= 0 && p.beta >= 0, op, ": tversky alpha and beta must be >= 0, got alpha ", p.alpha,
                  ", beta ", p.beta);
    SEGCORE_CHECK(p.weight_clamp > 0, op, ": weight_clamp must be positive, got ", p.weight_clamp);
    SEGCORE_CHECK(p.include_background || p.c > 1, op,
                  ": include_background = false leaves no class with C = 1 (logits have one channel)");
    return p;
}

}  // namespace

DiceLossResult dice_loss(const Tensor& logits_in, const Tensor& labels_in, const DiceLossOptions& opt) {
    const char* op = kernels::dice_variant_name(opt.variant);
    const region::Geometry g = region::check_logits_labels(op, logits_in, labels_in);
    const kernels::DiceParams p = params_of(op, g, opt);
    const Tensor x = logits_in.contiguous(), labels = labels_in.contiguous();
    const DType sd = stats_dtype(x.dtype());
    DiceLossResult r;
    r.loss = empty({}, {sd, x.device()});
    r.stats = empty({3, p.c}, {sd, x.device()});
    Tensor bad = empty({1}, {DType::I64, x.device()});
    const auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        using S = std::conditional_t<std::is_same_v<T, double>, double, float>;
        region::visit_label_dtype(labels.dtype(), op, [&](auto ltag) {
            using L = typename decltype(ltag)::type;
            if (x.is_cuda()) {
                SEGCORE_CUDA_CALL(if constexpr (!std::is_same_v<T, double>) kernels::dice_forward_cuda<T, L>(
                    p, x.data<T>(), labels.data<L>(), r.stats.data<float>(), r.loss.data<float>(),
                    bad.data<int64_t>(), current_stream()));
            } else {
                kernels::dice_forward_cpu<T, L, S>(p, x.data<T>(), labels.data<L>(), r.stats.data<S>(),
                                                   r.loss.data<S>(), bad.data<int64_t>());
            }
        });
    };
    if (x.is_cuda()) visit_cuda_float_dtype(x.dtype(), op, run);
    else visit_float_dtype(x.dtype(), op, run);
    // The device flag: one int64 read back (a sync on CUDA), never a device-side assert.
    const int64_t bad_idx = bad.cpu().data<int64_t>()[0];
    if (bad_idx >= 0) region::throw_bad_label(op, labels, bad_idx, p.c, p.ignore_index);
    return r;
}

Tensor dice_loss_backward(const Tensor& grad_loss, const Tensor& logits_in, const Tensor& labels_in,
                          const Tensor& stats, const DiceLossOptions& opt) {
    const char* op = "dice_loss_backward";
    const region::Geometry g = region::check_logits_labels(op, logits_in, labels_in);
    const kernels::DiceParams p = params_of(op, g, opt);
    const DType sd = stats_dtype(logits_in.dtype());
    check_defined(op, {&grad_loss, &stats});
    SEGCORE_CHECK(grad_loss.numel() == 1, op, ": the loss gradient must be a scalar, got ",
                  shape_str(grad_loss.shape()));
    SEGCORE_CHECK(stats.shape() == Shape({3, p.c}) && stats.dtype() == sd, op, ": stats must be ", dtype_name(sd),
                  " (3, ", p.c, "), got ", stats.meta_str());
    check_same_device(op, {&logits_in, &stats, &grad_loss});
    const Tensor x = logits_in.contiguous(), labels = labels_in.contiguous(), st = stats.contiguous();
    const Tensor go = grad_loss.to(sd).contiguous();
    Tensor dx = empty(x.shape(), {x.dtype(), x.device()});
    const auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        using S = std::conditional_t<std::is_same_v<T, double>, double, float>;
        region::visit_label_dtype(labels.dtype(), op, [&](auto ltag) {
            using L = typename decltype(ltag)::type;
            if (x.is_cuda()) {
                SEGCORE_CUDA_CALL(if constexpr (!std::is_same_v<T, double>) kernels::dice_backward_cuda<T, L>(
                    p, x.data<T>(), labels.data<L>(), st.data<float>(), go.data<float>(), dx.data<T>(),
                    current_stream()));
            } else {
                kernels::dice_backward_cpu<T, L, S>(p, x.data<T>(), labels.data<L>(), st.data<S>(),
                                                    go.data<S>()[0], dx.data<T>());
            }
        });
    };
    if (x.is_cuda()) visit_cuda_float_dtype(x.dtype(), op, run);
    else visit_float_dtype(x.dtype(), op, run);
    return dx;
}

}  // namespace segcore::ops
