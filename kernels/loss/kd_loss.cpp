// ops::kd_loss_fused (kernels/loss/kd_loss.h): validation, allocation, dispatch.
#include "kernels/loss/kd_loss.h"

#include <cmath>

#include "kernels/common/dispatch.h"

namespace segcore::ops {

using namespace loss_detail;

PixelLossResult kd_loss_fused(const Tensor& student, const Tensor& teacher, const Tensor& labels_in,
                              const KdLossOptions& opt, bool want_grad) {
    const char* op = "kd_loss";
    check_defined(op, {&student, &teacher});
    check_floating(op, student, "student logits");
    SEGCORE_CHECK(student.dim() >= 2, op, ": student logits must be (N, C, H, W), got ", shape_str(student.shape()));
    SEGCORE_CHECK(teacher.shape() == student.shape(), op, ": teacher logits ", shape_str(teacher.shape()),
                  " must match the student's ", shape_str(student.shape()));
    SEGCORE_CHECK(teacher.dtype() == student.dtype(), op, ": teacher logits are ", dtype_name(teacher.dtype()),
                  " but the student's are ", dtype_name(student.dtype()));
    SEGCORE_CHECK(teacher.device() == student.device(), op, ": teacher logits are on ", teacher.device().str(),
                  " but the student's are on ", student.device().str());
    SEGCORE_CHECK(opt.temperature > 0 && std::isfinite(opt.temperature), op, ": temperature must be > 0, got ",
                  opt.temperature);
    kernels::KdParams p;
    if (labels_in.defined()) {
        const Geometry g = check_logits_labels(op, student, labels_in);
        p.n = g.n, p.c = g.c, p.hw = g.hw;
    } else {
        p.n = student.size(0);
        p.c = student.size(1);
        p.hw = 1;
        for (int64_t d = 2; d < student.dim(); ++d) p.hw *= student.size(d);
    }
    p.temperature = opt.temperature;
    p.ignore_index = opt.ignore_index;
    const Device dev = student.device();
    const DType sd = loss_dtype(student.dtype());
    const Tensor s = student.contiguous(), t = teacher.contiguous();
    const Tensor labels = labels_in.defined() ? labels_in.contiguous() : Tensor();
    Shape pix_shape{p.n};
    for (int64_t d = 2; d < student.dim(); ++d) pix_shape.push_back(student.size(d));
    PixelLossResult r;
    r.reduction = opt.reduction;
    r.totals = zeros({kernels::kTotalsSize}, {sd, dev});
    Tensor loss_pix = opt.reduction == LossReduction::None ? empty(pix_shape, {sd, dev}) : Tensor();
    if (want_grad) r.grad = empty(s.shape(), {s.dtype(), dev});
    const auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        using S = std::conditional_t<std::is_same_v<T, double>, double, float>;
        S* lp = loss_pix.defined() ? loss_pix.data<S>() : nullptr;
        T* gr = r.grad.defined() ? r.grad.data<T>() : nullptr;
        const auto go = [&](auto ltag) {
            using L = typename decltype(ltag)::type;
            const L* lab = labels.defined() ? labels.data<L>() : nullptr;
            if (s.is_cuda()) {
                SEGCORE_CUDA_CALL(if constexpr (!std::is_same_v<T, double>) kernels::kd_loss_forward_cuda<T, L>(
                    p, s.data<T>(), t.data<T>(), lab, lp, gr, r.totals.data<float>(), opt.reduction, current_stream()));
            } else {
                kernels::kd_loss_forward_cpu<T, L, S>(p, s.data<T>(), t.data<T>(), lab, lp, gr, r.totals.data<S>());
                kernels::pixel_loss_finish(opt.reduction, r.totals.data<S>());
            }
        };
        if (labels.defined())
            visit_label_dtype(labels.dtype(), op, go);
        else
            go(TypeTag<int64_t>{});
    };
    if (s.is_cuda())
        visit_cuda_float_dtype(s.dtype(), op, run);
    else
        visit_float_dtype(s.dtype(), op, run);
    r.loss = opt.reduction == LossReduction::None ? loss_pix : r.totals.narrow(0, kernels::kTotalsLoss, 1).view({});
    return r;
}

}  // namespace segcore::ops
