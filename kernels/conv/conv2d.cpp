// ops::conv2d and its gradients (kernels/conv/conv2d.h): validation, allocation, dispatch.
//
// 16-bit dtypes: the CPU has no fast half GEMM, so f16/bf16 run in f32 there (inputs widened once,
// the result rounded once: f32 accumulation, as on the GPU). On CUDA the forward and input
// gradient run in the 16-bit dtype; the weight gradient, which sums over every image and pixel,
// accumulates in f32 (computed from widened copies) until the implicit-GEMM kernel that
// accumulates in registers lands.
//
// Depthwise layers (groups == C, K a multiple of C) go to the direct kernels of
// depthwise_conv2d.h on both devices; their weight gradient accumulates in f32 itself.
//
// On CUDA every pass first resolves its backend (native, cuDNN, or autotuned per shape:
// conv_backend.h); the 16-bit weight-gradient widening above applies to both backends.
#include "kernels/conv/conv2d.h"

#include "kernels/conv/conv_backend.h"
#include "kernels/conv/depthwise_conv2d.h"

#include "kernels/common/dispatch.h"

namespace segcore::ops {

namespace {

constexpr const char* kOp = "conv2d";


void check_inputs(const char* op, std::initializer_list<const Tensor*> ts) {
    check_defined(op, ts);
    check_same_device(op, ts);
    check_same_dtype(op, ts);
    for (const Tensor* t : ts) check_floating(op, *t, "input");
}

}  // namespace

kernels::Conv2dParams conv2d_params(const Shape& x, const Shape& w, const Conv2dOptions& o) {
    SEGCORE_CHECK(x.size() == 4, kOp, ": the input must be (N, C, H, W), got ", shape_str(x));
    SEGCORE_CHECK(w.size() == 4, kOp, ": the weight must be (K, C / groups, R, S), got ", shape_str(w));
    SEGCORE_CHECK(o.groups >= 1, kOp, ": groups must be >= 1, got ", o.groups);
    SEGCORE_CHECK(o.stride_h >= 1 && o.stride_w >= 1, kOp, ": stride must be >= 1, got (", o.stride_h, ", ",
                  o.stride_w, ")");
    SEGCORE_CHECK(o.dil_h >= 1 && o.dil_w >= 1, kOp, ": dilation must be >= 1, got (", o.dil_h, ", ", o.dil_w, ")");
    SEGCORE_CHECK(o.pad_h >= 0 && o.pad_w >= 0, kOp, ": padding must be >= 0, got (", o.pad_h, ", ", o.pad_w, ")");
    kernels::Conv2dParams p;
    p.n = x[0], p.c = x[1], p.h = x[2], p.w = x[3];
    p.k = w[0], p.r = w[2], p.s = w[3];
    p.stride_h = o.stride_h, p.stride_w = o.stride_w, p.pad_h = o.pad_h, p.pad_w = o.pad_w;
    p.dil_h = o.dil_h, p.dil_w = o.dil_w, p.groups = o.groups;
    SEGCORE_CHECK(p.c % p.groups == 0 && p.k % p.groups == 0, kOp, ": input channels (", p.c,
                  ") and output channels (", p.k, ") must both be divisible by groups (", p.groups, ")");
    SEGCORE_CHECK(w[1] == p.c / p.groups, kOp, ": the weight ", shape_str(w), " expects ", w[1] * p.groups,
                  " input channels (", w[1], " per group x ", p.groups, " groups), but the input ", shape_str(x),
                  " has ", p.c);
    SEGCORE_CHECK(p.r >= 1 && p.s >= 1 && p.k >= 1, kOp, ": empty weight ", shape_str(w));
    const int64_t eff_h = p.dil_h * (p.r - 1) + 1, eff_w = p.dil_w * (p.s - 1) + 1;
    SEGCORE_CHECK(p.h + 2 * p.pad_h >= eff_h && p.w + 2 * p.pad_w >= eff_w, kOp, ": the padded input (",
                  p.h + 2 * p.pad_h, " x ", p.w + 2 * p.pad_w, ") is smaller than the dilated kernel (", eff_h,
                  " x ", eff_w, ")");
    p.p = (p.h + 2 * p.pad_h - eff_h) / p.stride_h + 1;
    p.q = (p.w + 2 * p.pad_w - eff_w) / p.stride_w + 1;
    return p;
}

Tensor conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& bias_in, const Conv2dOptions& opt,
              kernels::Act act) {
    if (bias_in.defined()) check_inputs(kOp, {&x_in, &w_in, &bias_in});
    else check_inputs(kOp, {&x_in, &w_in});
    kernels::Conv2dParams p = conv2d_params(x_in.shape(), w_in.shape(), opt);
    p.act = act;
    if (bias_in.defined())
        SEGCORE_CHECK(bias_in.dim() == 1 && bias_in.size(0) == p.k, kOp, ": the bias must be (", p.k, "), got ",
                      shape_str(bias_in.shape()));
    if (x_in.is_cpu() && is_half(x_in.dtype()))
        return conv2d(x_in.to(DType::F32), w_in.to(DType::F32), bias_in.defined() ? bias_in.to(DType::F32) : bias_in,
                      opt, act)
            .to(x_in.dtype());
    const Tensor x = x_in.contiguous(), w = w_in.contiguous(), b = bias_in.defined() ? bias_in.contiguous() : bias_in;
    Tensor y = empty({p.n, p.k, p.p, p.q}, {x.dtype(), x.device()});
    if (y.numel() == 0) return y;
    if (x.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(x.dtype(), kOp, [&](auto tag) {
            using T = typename decltype(tag)::type;
            const T* bp = b.defined() ? b.data<T>() : nullptr;
            const auto run = [&](kernels::ConvBackend be) {
                if (be == kernels::ConvBackend::Cudnn)
                    kernels::conv2d_forward_cudnn<T>(p, x.data<T>(), w.data<T>(), bp, y.data<T>(), current_stream());
                else if (kernels::is_depthwise(p))
                    kernels::depthwise_conv2d_forward_cuda<T>(p, x.data<T>(), w.data<T>(), bp, y.data<T>(),
                                                              current_stream());
                else
                    kernels::conv2d_forward_cuda<T>(p, x.data<T>(), w.data<T>(), bp, y.data<T>(), current_stream());
            };
            run(kernels::resolve_conv_backend(kernels::ConvPass::Forward, p, x.dtype(), opt.backend, run));
        }));
    } else {
        visit_float_dtype(x.dtype(), kOp, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
                const T* bp = b.defined() ? b.data<T>() : nullptr;
                if (kernels::is_depthwise(p))
                    kernels::depthwise_conv2d_forward_cpu<T>(p, x.data<T>(), w.data<T>(), bp, y.data<T>());
                else
                    kernels::conv2d_forward_cpu<T>(p, x.data<T>(), w.data<T>(), bp, y.data<T>());
            }
        });
    }
    return y;
}

Tensor conv2d_backward_input(const Tensor& dy_in, const Tensor& w_in, const Shape& x_shape, const Conv2dOptions& opt) {
    const char* op = "conv2d_backward_input";
    check_inputs(op, {&dy_in, &w_in});
    const kernels::Conv2dParams p = conv2d_params(x_shape, w_in.shape(), opt);
    SEGCORE_CHECK(dy_in.shape() == Shape({p.n, p.k, p.p, p.q}), op, ": dy must be ",
                  shape_str({p.n, p.k, p.p, p.q}), ", got ", shape_str(dy_in.shape()));
    if (dy_in.is_cpu() && is_half(dy_in.dtype()))
        return conv2d_backward_input(dy_in.to(DType::F32), w_in.to(DType::F32), x_shape, opt).to(dy_in.dtype());
    const Tensor dy = dy_in.contiguous(), w = w_in.contiguous();
    Tensor dx = empty(x_shape, {dy.dtype(), dy.device()});
    if (dx.numel() == 0) return dx;
    if (dy.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(dy.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            const auto run = [&](kernels::ConvBackend be) {
                if (be == kernels::ConvBackend::Cudnn)
                    kernels::conv2d_backward_input_cudnn<T>(p, dy.data<T>(), w.data<T>(), dx.data<T>(), current_stream());
                else if (kernels::is_depthwise(p))
                    kernels::depthwise_conv2d_backward_input_cuda<T>(p, dy.data<T>(), w.data<T>(), dx.data<T>(),
                                                                     current_stream());
                else
                    kernels::conv2d_backward_input_cuda<T>(p, dy.data<T>(), w.data<T>(), dx.data<T>(), current_stream());
            };
            run(kernels::resolve_conv_backend(kernels::ConvPass::BackwardInput, p, dy.dtype(), opt.backend, run));
        }));
    } else {
        visit_float_dtype(dy.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
                if (kernels::is_depthwise(p))
                    kernels::depthwise_conv2d_backward_input_cpu<T>(p, dy.data<T>(), w.data<T>(), dx.data<T>());
                else
                    kernels::conv2d_backward_input_cpu<T>(p, dy.data<T>(), w.data<T>(), dx.data<T>());
            }
        });
    }
    return dx;
}

std::pair<Tensor, Tensor> conv2d_backward_weight(const Tensor& x_in, const Tensor& dy_in, const Shape& w_shape,
                                                 bool with_bias, const Conv2dOptions& opt) {
    const char* op = "conv2d_backward_weight";
    check_inputs(op, {&x_in, &dy_in});
    const kernels::Conv2dParams p = conv2d_params(x_in.shape(), w_shape, opt);
    SEGCORE_CHECK(dy_in.shape() == Shape({p.n, p.k, p.p, p.q}), op, ": dy must be ",
                  shape_str({p.n, p.k, p.p, p.q}), ", got ", shape_str(dy_in.shape()));
    const bool depthwise_cuda = x_in.is_cuda() && kernels::is_depthwise(p);
    if (is_half(x_in.dtype()) && !depthwise_cuda) {  // f32 accumulation over the batch (top of this file)
        auto [dw, db] = conv2d_backward_weight(x_in.to(DType::F32), dy_in.to(DType::F32), w_shape, with_bias, opt);
        return {dw.to(x_in.dtype()), db.defined() ? db.to(x_in.dtype()) : db};
    }
    const Tensor x = x_in.contiguous(), dy = dy_in.contiguous();
    Tensor dw = empty(w_shape, {x.dtype(), x.device()});
    Tensor db = with_bias ? empty({p.k}, {x.dtype(), x.device()}) : Tensor();
    if (x.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(x.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            T* dbp = with_bias ? db.data<T>() : nullptr;
            const auto run = [&](kernels::ConvBackend be) {
                if (be == kernels::ConvBackend::Cudnn)
                    kernels::conv2d_backward_weight_cudnn<T>(p, x.data<T>(), dy.data<T>(), dw.data<T>(), dbp,
                                                             current_stream());
                else if (depthwise_cuda)
                    kernels::depthwise_conv2d_backward_weight_cuda<T>(p, x.data<T>(), dy.data<T>(), dw.data<T>(), dbp,
                                                                      current_stream());
                else
                    kernels::conv2d_backward_weight_cuda<T>(p, x.data<T>(), dy.data<T>(), dw.data<T>(), dbp,
                                                            current_stream());
            };
            run(kernels::resolve_conv_backend(kernels::ConvPass::BackwardWeight, p, x.dtype(), opt.backend, run));
        }));
    } else {
        visit_float_dtype(x.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
                T* dbp = with_bias ? db.data<T>() : nullptr;
                if (kernels::is_depthwise(p))
                    kernels::depthwise_conv2d_backward_weight_cpu<T>(p, x.data<T>(), dy.data<T>(), dw.data<T>(), dbp);
                else
                    kernels::conv2d_backward_weight_cpu<T>(p, x.data<T>(), dy.data<T>(), dw.data<T>(), dbp);
            }
        });
    }
    return {dw, db};
}

}  // namespace segcore::ops
