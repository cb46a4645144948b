// ops::lovasz_softmax (kernels/loss/lovasz.h): validation, allocation, dispatch, bad-label error.
#include "kernels/loss/lovasz.h"

#include "kernels/common/dispatch.h"
#include "kernels/loss/region_common.h"

namespace segcore::ops {

namespace {

constexpr const char* kOp = "lovasz_softmax";

DType stats_dtype(DType x) { return x == DType::F64 ? DType::F64 : DType::F32; }

kernels::LovaszParams params_of(const region::Geometry& g) {
    kernels::LovaszParams p;
    p.n = g.n;
    p.c = g.c;
    p.hw = g.hw;
    return p;
}

}  // namespace

LovaszResult lovasz_softmax(const Tensor& logits_in, const Tensor& labels_in, const LovaszOptions& opt,
                            bool with_grad) {
    const region::Geometry g = region::check_logits_labels(kOp, logits_in, labels_in);
    kernels::LovaszParams p = params_of(g);
    p.ignore_index = opt.ignore_index;
    p.present_only = opt.present_only;
    p.include_background = opt.include_background;
    SEGCORE_CHECK(p.include_background || p.c > 1, kOp,
                  ": include_background = false leaves no class with C = 1 (logits have one channel)");
    const Tensor x = logits_in.contiguous(), labels = labels_in.contiguous();
    const DType sd = stats_dtype(x.dtype());
    LovaszResult r;
    r.loss = empty({}, {sd, x.device()});
    if (with_grad) r.dldp = empty(x.shape(), {sd, x.device()});
    int64_t bad = -1;
    const auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        using S = std::conditional_t<std::is_same_v<T, double>, double, float>;
        region::visit_label_dtype(labels.dtype(), kOp, [&](auto ltag) {
            using L = typename decltype(ltag)::type;
            S* dldp = with_grad ? r.dldp.data<S>() : nullptr;
            if (x.is_cuda()) {
                SEGCORE_CUDA_CALL(if constexpr (!std::is_same_v<T, double>) kernels::lovasz_forward_cuda<T, L>(
                    p, x.data<T>(), labels.data<L>(), r.loss.data<float>(), dldp, &bad, current_stream()));
            } else {
                kernels::lovasz_forward_cpu<T, L, S>(p, x.data<T>(), labels.data<L>(), r.loss.data<S>(), dldp, &bad);
            }
        });
    };
    if (x.is_cuda()) visit_cuda_float_dtype(x.dtype(), kOp, run);
    else visit_float_dtype(x.dtype(), kOp, run);
    if (bad >= 0) region::throw_bad_label(kOp, labels, bad, p.c, p.ignore_index);
    return r;
}

Tensor lovasz_softmax_backward(const Tensor& grad_loss, const Tensor& logits_in, const Tensor& dldp_in) {
    const char* op = "lovasz_softmax_backward";
    check_defined(op, {&grad_loss, &logits_in, &dldp_in});
    check_floating(op, logits_in, "logits");
    SEGCORE_CHECK(logits_in.dim() >= 2, op, ": logits must be (N, C, ...), got ", shape_str(logits_in.shape()));
    const DType sd = stats_dtype(logits_in.dtype());
    SEGCORE_CHECK(dldp_in.shape() == logits_in.shape() && dldp_in.dtype() == sd, op, ": dldp must be ",
                  dtype_name(sd), " ", shape_str(logits_in.shape()), ", got ", dldp_in.meta_str());
    SEGCORE_CHECK(grad_loss.numel() == 1, op, ": the loss gradient must be a scalar, got ",
                  shape_str(grad_loss.shape()));
    check_same_device(op, {&logits_in, &dldp_in, &grad_loss});
    kernels::LovaszParams p;
    p.n = logits_in.size(0);
    p.c = logits_in.size(1);
    p.hw = 1;
    for (int64_t d = 2; d < logits_in.dim(); ++d) p.hw *= logits_in.size(d);
    const Tensor x = logits_in.contiguous(), q = dldp_in.contiguous(), go = grad_loss.to(sd).contiguous();
    Tensor dx = empty(x.shape(), {x.dtype(), x.device()});
    const auto run = [&](auto tag) {
        using T = typename decltype(tag)::type;
        using S = std::conditional_t<std::is_same_v<T, double>, double, float>;
        if (x.is_cuda()) {
            SEGCORE_CUDA_CALL(if constexpr (!std::is_same_v<T, double>) kernels::lovasz_backward_cuda<T>(
                p, x.data<T>(), q.data<float>(), go.data<float>(), dx.data<T>(), current_stream()));
        } else {
            kernels::lovasz_backward_cpu<T, S>(p, x.data<T>(), q.data<S>(), go.data<S>()[0], dx.data<T>());
        }
    };
    if (x.is_cuda()) visit_cuda_float_dtype(x.dtype(), op, run);
    else visit_float_dtype(x.dtype(), op, run);
    return dx;
}

}  // namespace segcore::ops
