// Shared parts of the fused per-pixel losses (kernels/loss/pixel_loss.h): reduction names, the
// (logits, labels) checks, the bad-label error, and the backward op.
#include "kernels/loss/pixel_loss.h"

#include <sstream>

#include "kernels/common/dispatch.h"

namespace segcore {

const char* loss_reduction_name(LossReduction r) {
    switch (r) {
        case LossReduction::None:
            return "none";
        case LossReduction::Mean:
            return "mean";
        case LossReduction::Sum:
            return "sum";
    }
    return "?";
}

LossReduction parse_loss_reduction(const std::string& s) {
    if (s == "none") return LossReduction::None;
    if (s == "mean") return LossReduction::Mean;
    if (s == "sum") return LossReduction::Sum;
    SEGCORE_THROW("unknown loss reduction \"", s, "\" (expected \"mean\", \"sum\" or \"none\")");
}

}  // namespace segcore

namespace segcore::ops {

namespace loss_detail {

Geometry check_logits_labels(const char* op, const Tensor& logits, const Tensor& labels) {
    check_defined(op, {&logits, &labels});
    check_floating(op, logits, "logits");
    SEGCORE_CHECK(logits.dim() >= 2, op, ": logits must be (N, C, H, W) (or (N, C, d...)), got ",
                  shape_str(logits.shape()));
    SEGCORE_CHECK(labels.dtype() == DType::I64 || labels.dtype() == DType::I32 || labels.dtype() == DType::U8, op,
                  ": labels must be i64, i32 or u8 class indices, got ", dtype_name(labels.dtype()));
    Shape want{logits.size(0)};
    for (int64_t d = 2; d < logits.dim(); ++d) want.push_back(logits.size(d));
    SEGCORE_CHECK(labels.shape() == want, op, ": labels must be ", shape_str(want), " for logits ",
                  shape_str(logits.shape()), ", got ", shape_str(labels.shape()));
    SEGCORE_CHECK(labels.device() == logits.device(), op, ": labels are on ", labels.device().str(),
                  " but the logits are on ", logits.device().str());
    SEGCORE_CHECK(logits.size(1) > 0, op, ": logits need at least one class, got ", shape_str(logits.shape()));
    Geometry g;
    g.n = logits.size(0);
    g.c = logits.size(1);
    g.hw = 1;
    for (int64_t d = 2; d < logits.dim(); ++d) g.hw *= logits.size(d);
    return g;
}

Tensor check_class_vector(const char* op, const char* name, const Tensor& t, int64_t c, DType s, Device d) {
    if (!t.defined()) return t;
    SEGCORE_CHECK(t.dim() == 1 && t.size(0) == c, op, ": ", name, " must be (", c, ") (one per class), got ",
                  shape_str(t.shape()));
    SEGCORE_CHECK(t.dtype() == s, op, ": ", name, " must be ", dtype_name(s), " (the loss dtype), got ",
                  dtype_name(t.dtype()));
    SEGCORE_CHECK(t.device() == d, op, ": ", name, " is on ", t.device().str(), " but the logits are on ", d.str());
    return t.contiguous();
}

void throw_if_bad_labels(const char* op, const Tensor& bad, const Tensor& labels, int64_t c, int64_t ignore_index) {
    const Tensor b = bad.cpu();  // CUDA: the one synchronisation of the validation path
    const int64_t count = b.data<int64_t>()[0], key = b.data<int64_t>()[1];
    if (count == 0) return;
    const int64_t total = labels.numel(), idx = total - key;
    const Tensor flat = labels.contiguous().view({total});
    const int64_t value = int64_t(flat.narrow(0, idx, 1).cpu().get_double(0));
    std::ostringstream pos;
    int64_t rem = idx;
    Shape at(labels.shape().size());
    for (int64_t d = labels.dim() - 1; d >= 0; --d) {
        at[size_t(d)] = rem % labels.size(d);
        rem /= labels.size(d);
    }
    SEGCORE_THROW(op, ": label ", value, " at ", shape_str(at), " is outside [0, ", c, ") and is not the ignore_index ",
                  ignore_index, " (", count, count == 1 ? " pixel has" : " pixels have",
                  " an out-of-range label; check the dataset's label remapping and num_classes)");
}

}  // namespace loss_detail

Tensor pixel_loss_backward(const Tensor& dloss_in, const PixelLossResult& r) {
    const char* op = "pixel_loss_backward";
    check_defined(op, {&dloss_in, &r.grad, &r.totals});
    SEGCORE_CHECK(dloss_in.shape() == r.loss.shape(), op, ": the upstream gradient must have the loss's shape ",
                  shape_str(r.loss.shape()), ", got ", shape_str(dloss_in.shape()));
    const Tensor grad = r.grad;  // contiguous (allocated by the forward)
    const DType sd = r.totals.dtype();
    const Tensor up = dloss_in.to(grad.device(), sd).contiguous();
    kernels::PixelLossBackwardParams p;
    p.n = grad.size(0);
    p.c = grad.size(1);
    p.hw = p.n * p.c > 0 ? grad.numel() / (p.n * p.c) : 0;
    p.per_pixel_upstream = r.reduction == LossReduction::None;
    Tensor dx = empty(grad.shape(), {grad.dtype(), grad.device()});
    const auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        using S = std::conditional_t<std::is_same_v<T, double>, double, float>;
        const S* py = r.py.defined() ? r.py.data<S>() : nullptr;
        if (grad.is_cuda()) {
            SEGCORE_CUDA_CALL(if constexpr (!std::is_same_v<T, double>) kernels::pixel_loss_backward_cuda<T>(
                p, grad.data<T>(), r.totals.data<float>(), up.data<float>(), py, dx.data<T>(), current_stream()));
        } else {
            kernels::pixel_loss_backward_cpu<T, S>(p, grad.data<T>(), r.totals.data<S>(), up.data<S>(), py,
                                                   dx.data<T>());
        }
    };
    if (grad.is_cuda())
        visit_cuda_float_dtype(grad.dtype(), op, run);
    else
        visit_float_dtype(grad.dtype(), op, run);
    return dx;
}

}  // namespace segcore::ops
