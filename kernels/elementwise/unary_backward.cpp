// ops::unary_backward (kernels/elementwise/unary_backward.h): validation, allocation, dispatch.
#include "kernels/elementwise/unary_backward.h"
#include "kernels/common/dispatch.h"

namespace segcore {

namespace kernels {
bool unary_backward_uses_output(UnaryOp op) {
    return op == UnaryOp::Exp || op == UnaryOp::Sqrt || op == UnaryOp::Rsqrt || op == UnaryOp::Sigmoid ||
           op == UnaryOp::Tanh;
}
}  // namespace kernels

namespace ops {

Tensor unary_backward(const Tensor& dy, const Tensor& saved, const kernels::UnaryParams& p) {
    const char* name = "unary_backward";
    check_defined(name, {&dy, &saved});
    check_same_device(name, {&dy, &saved});
    check_same_dtype(name, {&dy, &saved});
    check_floating(name, dy, "dy");
    SEGCORE_CHECK(dy.shape() == saved.shape(), name, "(", kernels::unary_op_name(p.op), "): dy ",
                  shape_str(dy.shape()), " and the saved tensor ", shape_str(saved.shape()),
                  " must have one shape");
    Tensor dx = empty(dy.shape(), {dy.dtype(), dy.device()});
    const StridedGeometry<3> g = make_geometry<3>(dy.shape(), {&dx.strides(), &dy.strides(), &saved.strides()});
    if (g.numel == 0) return dx;
    if (dy.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(dy.dtype(), name, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::unary_backward_cuda<T>(p, g, dx.data<T>(), dy.data<T>(), saved.data<T>(), current_stream());
        }));
    } else {
        visit_float_dtype(dy.dtype(), name, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::unary_backward_cpu<T>(p, g, dx.data<T>(), dy.data<T>(), saved.data<T>());
        });
    }
    return dx;
}

}  // namespace ops
}  // namespace segcore
