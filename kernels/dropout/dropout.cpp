// ops::dropout / dropout2d / dropout_backward (kernels/dropout/dropout.h): validation, the
// generator draw, dispatch.
#include "kernels/dropout/dropout.h"

#include "kernels/common/dispatch.h"

namespace segcore::ops {

namespace {

void check_p(const char* op, double p) { SEGCORE_CHECK(p >= 0.0 && p <= 1.0, op, ": p must be in [0, 1], got ", p); }

kernels::DropoutParams params_for(int64_t numel, int64_t group, double p) {
    kernels::DropoutParams kp;
    kp.numel = numel;
    kp.group = group;
    kp.keep_prob = float(1.0 - p);
    kp.scale = p < 1.0 ? 1.0 / (1.0 - p) : 0.0;
    return kp;
}

void apply(const char* op, const kernels::DropoutParams& kp, const Tensor& x, const Tensor& mask, Tensor& y) {
    if (x.numel() == 0) return;
    if (x.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(x.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::dropout_apply_cuda<T>(kp, x.data<T>(), mask.data<bool>(), y.data<T>(), current_stream());
        }));
    } else {
        visit_float_dtype(x.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::dropout_apply_cpu<T>(kp, x.data<T>(), mask.data<bool>(), y.data<T>());
        });
    }
}

std::pair<Tensor, Tensor> run(const char* op, const Tensor& x_in, double p, Generator* gen, const Shape& mask_shape,
                              int64_t group) {
    const Tensor x = x_in.contiguous();
    if (p == 0.0 || p == 1.0) {  // no draw: identity or zeros
        Tensor y = p == 0.0 ? x_in : zeros(x.shape(), {x.dtype(), x.device()});
        return {y, full(mask_shape, p == 0.0 ? 1.0 : 0.0, {DType::Bool, x.device()})};
    }
    Tensor y = empty(x.shape(), {x.dtype(), x.device()});  // first: tests hand the output a poisoned block
    Tensor mask = empty(mask_shape, {DType::Bool, x.device()});
    kernels::DropoutParams kp = params_for(x.numel(), group, p);
    Generator& g = gen ? *gen : default_generator();
    kp.seed = g.seed();
    kp.offset = g.advance(uint64_t(mask.numel()));
    if (mask.numel() > 0) {
        if (x.is_cuda())
            SEGCORE_CUDA_CALL(kernels::dropout_mask_cuda(kp, mask.data<bool>(), current_stream()));
        else
            kernels::dropout_mask_cpu(kp, mask.data<bool>());
    }
    apply(op, kp, x, mask, y);
    return {y, mask};
}

}  // namespace

std::pair<Tensor, Tensor> dropout(const Tensor& x, double p, Generator* gen) {
    const char* op = "dropout";
    check_defined(op, {&x});
    check_floating(op, x, "input");
    check_p(op, p);
    return run(op, x, p, gen, x.shape(), 1);
}

std::pair<Tensor, Tensor> dropout2d(const Tensor& x, double p, Generator* gen) {
    const char* op = "dropout2d";
    check_defined(op, {&x});
    check_floating(op, x, "input");
    check_p(op, p);
    SEGCORE_CHECK(x.dim() == 4, op, ": the input must be (N, C, H, W), got ", shape_str(x.shape()));
    return run(op, x, p, gen, {x.size(0), x.size(1), 1, 1}, x.size(2) * x.size(3));
}

Tensor dropout_backward(const Tensor& dy_in, const Tensor& mask_in, double p) {
    const char* op = "dropout_backward";
    check_defined(op, {&dy_in, &mask_in});
    check_floating(op, dy_in, "dy");
    check_p(op, p);
    SEGCORE_CHECK(mask_in.dtype() == DType::Bool, op, ": the mask must be bool, got ", dtype_name(mask_in.dtype()));
    SEGCORE_CHECK(mask_in.device() == dy_in.device(), op, ": the mask is on ", mask_in.device().str(), " but dy is on ",
                  dy_in.device().str());
    int64_t group = 1;
    if (mask_in.shape() != dy_in.shape()) {
        SEGCORE_CHECK(dy_in.dim() == 4 && mask_in.shape() == Shape({dy_in.size(0), dy_in.size(1), 1, 1}), op,
                      ": the mask must be dy's shape ", shape_str(dy_in.shape()),
                      " (dropout) or (N, C, 1, 1) (dropout2d), got ", shape_str(mask_in.shape()));
        group = dy_in.size(2) * dy_in.size(3);
    }
    const Tensor dy = dy_in.contiguous(), mask = mask_in.contiguous();
    Tensor dx = empty(dy.shape(), {dy.dtype(), dy.device()});
    if (group == 0) return dx;
    apply(op, params_for(dy.numel(), group, p), dy, mask, dx);
    return dx;
}

}  // namespace segcore::ops
