// ops::ohem_cross_entropy_fused (kernels/loss/ohem_cross_entropy.h): the per-pixel cross-entropy
// pass (cross_entropy.cpp) with q_i kept, then the selection and the masked mean.
#include "kernels/loss/ohem_cross_entropy.h"

#include "kernels/common/dispatch.h"
#include "kernels/loss/cross_entropy.h"

namespace segcore::ops {

using namespace loss_detail;

// cross_entropy.cpp
PixelLossResult cross_entropy_per_pixel(const char* op, const Tensor& logits, const Tensor& labels,
                                        int64_t ignore_index, const Tensor& weight, bool check_labels, bool want_grad);

PixelLossResult ohem_cross_entropy_fused(const Tensor& logits, const Tensor& labels_in, const OhemOptions& opt,
                                         bool want_grad) {
    const char* op = "ohem_cross_entropy";
    SEGCORE_CHECK(opt.min_kept >= 0, op, ": min_kept must be >= 0, got ", opt.min_kept);
    PixelLossResult r =
        cross_entropy_per_pixel(op, logits, labels_in, opt.ignore_index, opt.weight, opt.check_labels, want_grad);
    const Geometry g = check_logits_labels(op, logits, labels_in);
    kernels::OhemParams p;
    p.n = g.n;
    p.c = g.c;
    p.hw = g.hw;
    p.kept = opt.min_kept * g.n;
    p.thresh = opt.thresh;
    const Tensor labels = labels_in.contiguous();
    const Tensor weight = opt.weight.defined() ? opt.weight.contiguous() : Tensor();
    const Tensor loss_pix = r.loss;  // per pixel ("none")
    const auto run = [&](auto tag) {
        using S = typename decltype(tag)::type;
        visit_label_dtype(labels.dtype(), op, [&](auto ltag) {
            using L = typename decltype(ltag)::type;
            const S* w = weight.defined() ? weight.data<S>() : nullptr;
            if (logits.is_cuda()) {
                SEGCORE_CUDA_CALL(if constexpr (std::is_same_v<S, float>) kernels::ohem_select_reduce_cuda<L>(
                    p, r.py.data<float>(), loss_pix.data<float>(), labels.data<L>(), w, r.totals.data<float>(),
                    current_stream()));
            } else {
                kernels::ohem_select_reduce_cpu<S, L>(p, r.py.data<S>(), loss_pix.data<S>(), labels.data<L>(), w,
                                                      r.totals.data<S>());
            }
        });
    };
    if (r.totals.dtype() == DType::F64)
        run(TypeTag<double>{});
    else
        run(TypeTag<float>{});
    r.reduction = LossReduction::Mean;
    r.loss = r.totals.narrow(0, kernels::kTotalsLoss, 1).view({});
    return r;
}

}  // namespace segcore::ops
