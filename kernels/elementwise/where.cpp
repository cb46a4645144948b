// ops::where (kernels/elementwise/where.h): validation, broadcasting, allocation and dispatch.
#include "kernels/elementwise/where.h"
#include "kernels/common/dispatch.h"
#include "kernels/elementwise/elementwise_util.h"

namespace segcore::ops {

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    const char* name = "where";
    check_defined(name, {&cond, &a, &b});
    check_same_device(name, {&cond, &a, &b});
    SEGCORE_CHECK(cond.dtype() == DType::Bool, "where: expected cond of dtype bool, got ", dtype_name(cond.dtype()));
    detail::check_same_dtype_no_promotion(name, a, b, "a", "b");
    const Shape shape = detail::elementwise_broadcast_shape(name, {&cond, &a, &b});
    Tensor out = empty(shape, {a.dtype(), a.device()});
    const Tensor ce = cond.expand(shape), ae = a.expand(shape), be = b.expand(shape);
    const StridedGeometry<4> g = make_geometry<4>(shape, {&out.strides(), &ce.strides(), &ae.strides(), &be.strides()});
    if (g.numel == 0) return out;
    if (a.is_cuda()) {
        SEGCORE_CUDA_CALL(detail::visit_cuda_select_dtype(a.dtype(), name, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::where_cuda<T>(g, out.data<T>(), cond.data<bool>(), a.data<T>(), b.data<T>(), current_stream());
        }));
    } else {
        visit_dtype(a.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::where_cpu<T>(g, out.data<T>(), cond.data<bool>(), a.data<T>(), b.data<T>());
        });
    }
    return out;
}

Tensor where(const Tensor& cond, const Tensor& a, double b) {
    check_defined("where", {&cond, &a});
    return where(cond, a, full({}, b, {a.dtype(), a.device()}));
}

Tensor where(const Tensor& cond, double a, const Tensor& b) {
    check_defined("where", {&cond, &b});
    return where(cond, full({}, a, {b.dtype(), b.device()}), b);
}

}  // namespace segcore::ops
