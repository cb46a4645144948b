// ops:: softmax family: validate, make contiguous, view as (outer, dim_size, inner), dispatch.
#include "kernels/common/dispatch.h"
#include "kernels/softmax/softmax.h"

namespace segcore::ops {

namespace {

kernels::SoftmaxParams softmax_params(const char* op, const Tensor& x, int64_t dim, bool log) {
    kernels::SoftmaxParams p;
    p.log = log;
    if (x.dim() == 0) {  // a 0-d tensor is one row of one element, as in PyTorch
        SEGCORE_CHECK(dim == 0 || dim == -1, op, ": dim ", dim, " is out of range for a 0-d tensor");
        return p;
    }
    const int64_t d = wrap_dim(dim, x.dim(), op);
    for (int64_t k = 0; k < d; ++k) p.outer *= x.size(k);
    p.dim_size = x.size(d);
    for (int64_t k = d + 1; k < x.dim(); ++k) p.inner *= x.size(k);
    return p;
}

Tensor softmax_forward(const char* op, const Tensor& x_in, int64_t dim, bool log) {
    check_defined(op, {&x_in});
    check_floating(op, x_in, "x");
    const kernels::SoftmaxParams p = softmax_params(op, x_in, dim, log);
    const Tensor x = x_in.contiguous();
    Tensor y = empty(x.shape(), {x.dtype(), x.device()});
    if (y.numel() == 0) return y;
    if (x.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(x.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::softmax_forward_cuda<T>(p, x.data<T>(), y.data<T>(), current_stream());
        }));
    } else {
        visit_float_dtype(x.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::softmax_forward_cpu<T>(p, x.data<T>(), y.data<T>());
        });
    }
    return y;
}

Tensor softmax_backward_impl(const char* op, const Tensor& dy_in, const Tensor& y_in, int64_t dim, bool log) {
    check_defined(op, {&dy_in, &y_in});
    check_same_device(op, {&dy_in, &y_in});
    check_same_dtype(op, {&dy_in, &y_in});
    check_floating(op, y_in, "y");
    SEGCORE_CHECK(dy_in.shape() == y_in.shape(), op, ": expected dy and y of one shape, got dy ",
                  shape_str(dy_in.shape()), " and y ", shape_str(y_in.shape()));
    const kernels::SoftmaxParams p = softmax_params(op, y_in, dim, log);
    const Tensor dy = dy_in.contiguous(), y = y_in.contiguous();
    Tensor dx = empty(y.shape(), {y.dtype(), y.device()});
    if (dx.numel() == 0) return dx;
    if (y.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(y.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::softmax_backward_cuda<T>(p, dy.data<T>(), y.data<T>(), dx.data<T>(), current_stream());
        }));
    } else {
        visit_float_dtype(y.dtype(), op, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::softmax_backward_cpu<T>(p, dy.data<T>(), y.data<T>(), dx.data<T>());
        });
    }
    return dx;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_forward("softmax", x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_forward("log_softmax", x, dim, true); }
Tensor softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim) {
    return softmax_backward_impl("softmax_backward", dy, y, dim, false);
}
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim) {
    return softmax_backward_impl("log_softmax_backward", dy, y, dim, true);
}

}  // namespace segcore::ops
