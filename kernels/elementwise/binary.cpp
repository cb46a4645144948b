// ops:: entry points of the binary elementwise family and comparisons (kernels/elementwise/binary.h):
// validation, broadcasting, allocation and backend dispatch. Tensor-scalar forms reuse the unary
// kernels (kernels/elementwise/unary.h) so the scalar never goes through a device tensor.
#include <cmath>
#include <limits>

#include "kernels/common/dispatch.h"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/elementwise_util.h"
#include "kernels/elementwise/unary.h"

namespace segcore {

namespace kernels {
const char* binary_op_name(BinaryOp op) {
    switch (op) {
        case BinaryOp::Add:
            return "add";
        case BinaryOp::Sub:
            return "sub";
        case BinaryOp::Mul:
            return "mul";
        case BinaryOp::Div:
            return "div";
        case BinaryOp::Maximum:
            return "maximum";
        case BinaryOp::Minimum:
            return "minimum";
    }
    return "binary";
}
const char* compare_op_name(CompareOp op) {
    switch (op) {
        case CompareOp::Eq:
            return "eq";
        case CompareOp::Ne:
            return "ne";
        case CompareOp::Lt:
            return "lt";
        case CompareOp::Le:
            return "le";
        case CompareOp::Gt:
            return "gt";
        case CompareOp::Ge:
            return "ge";
    }
    return "compare";
}
}  // namespace kernels

namespace ops {

namespace {

using kernels::BinaryOp;
using kernels::BinaryParams;
using kernels::CompareOp;
using kernels::UnaryOp;
using kernels::UnaryParams;

void check_operands(const char* name, const Tensor& a, const Tensor& b) {
    check_defined(name, {&a, &b});
    check_same_device(name, {&a, &b});
    detail::check_same_dtype_no_promotion(name, a, b, "a", "b");
}

// Geometry over (out, a, b) with a and b expanded to out's shape (broadcast dims get stride 0).
StridedGeometry<3> binary_geometry(const Tensor& out, const Tensor& a, const Tensor& b) {
    const Tensor ae = a.expand(out.shape()), be = b.expand(out.shape());
    return make_geometry<3>(out.shape(), {&out.strides(), &ae.strides(), &be.strides()});
}

void run_binary(const char* name, const BinaryParams& p, const Tensor& out, const Tensor& a, const Tensor& b) {
    const StridedGeometry<3> g = binary_geometry(out, a, b);
    if (g.numel == 0) return;
    if (a.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(a.dtype(), name, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::binary_cuda<T>(p, g, out.data<T>(), a.data<T>(), b.data<T>(), current_stream());
        }));
    } else {
        visit_float_dtype(a.dtype(), name, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::binary_cpu<T>(p, g, out.data<T>(), a.data<T>(), b.data<T>());
        });
    }
}

BinaryParams params(BinaryOp op, double alpha = 1.0) { return BinaryParams{op, alpha}; }
UnaryParams scalar(UnaryOp op, double s, double b = 0) { return UnaryParams{op, s, b}; }
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

Tensor binary(const Tensor& a, const Tensor& b, const BinaryParams& p) {
    const char* name = kernels::binary_op_name(p.op);
    check_operands(name, a, b);
    const Shape shape = detail::elementwise_broadcast_shape(name, {&a, &b});
    Tensor out = empty(shape, {a.dtype(), a.device()});
    run_binary(name, p, out, a, b);
    return out;
}

Tensor& binary_(Tensor& a, const Tensor& b, const BinaryParams& p) {
    const char* name = kernels::binary_op_name(p.op);
    check_operands(name, a, b);
    detail::check_inplace_shape(name, a, detail::elementwise_broadcast_shape(name, {&a, &b}));
    run_binary(name, p, a, a, b);
    return a;
}

Tensor compare(const Tensor& a, const Tensor& b, CompareOp op) {
    const char* name = kernels::compare_op_name(op);
    check_operands(name, a, b);
    const Shape shape = detail::elementwise_broadcast_shape(name, {&a, &b});
    Tensor out = empty(shape, {DType::Bool, a.device()});
    const StridedGeometry<3> g = binary_geometry(out, a, b);
    if (g.numel == 0) return out;
    if (a.is_cuda()) {
        SEGCORE_CUDA_CALL(detail::visit_cuda_select_dtype(a.dtype(), name, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::compare_cuda<T>(op, g, out.data<bool>(), a.data<T>(), b.data<T>(), current_stream());
        }));
    } else {
        visit_dtype(a.dtype(), [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::compare_cpu<T>(op, g, out.data<bool>(), a.data<T>(), b.data<T>());
        });
    }
    return out;
}

Tensor add(const Tensor& a, const Tensor& b, double alpha) { return binary(a, b, params(BinaryOp::Add, alpha)); }
Tensor sub(const Tensor& a, const Tensor& b, double alpha) { return binary(a, b, params(BinaryOp::Sub, alpha)); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(a, b, params(BinaryOp::Mul)); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(a, b, params(BinaryOp::Div)); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary(a, b, params(BinaryOp::Maximum)); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary(a, b, params(BinaryOp::Minimum)); }

Tensor add(const Tensor& a, double s, double alpha) { return unary(a, scalar(UnaryOp::AddScalar, alpha * s)); }
Tensor sub(const Tensor& a, double s, double alpha) { return unary(a, scalar(UnaryOp::AddScalar, -alpha * s)); }
Tensor mul(const Tensor& a, double s) { return unary(a, scalar(UnaryOp::MulScalar, s)); }
Tensor div(const Tensor& a, double s) { return unary(a, scalar(UnaryOp::DivScalar, s)); }
Tensor rsub(const Tensor& a, double s) { return unary(a, scalar(UnaryOp::RSubScalar, s)); }
Tensor rdiv(const Tensor& a, double s) { return unary(a, scalar(UnaryOp::RDivScalar, s)); }
Tensor maximum(const Tensor& a, double s) { return unary(a, scalar(UnaryOp::Clamp, s, kInf)); }
Tensor minimum(const Tensor& a, double s) { return unary(a, scalar(UnaryOp::Clamp, -kInf, s)); }

Tensor& add_(Tensor& a, const Tensor& b, double alpha) { return binary_(a, b, params(BinaryOp::Add, alpha)); }
Tensor& sub_(Tensor& a, const Tensor& b, double alpha) { return binary_(a, b, params(BinaryOp::Sub, alpha)); }
Tensor& mul_(Tensor& a, const Tensor& b) { return binary_(a, b, params(BinaryOp::Mul)); }
Tensor& div_(Tensor& a, const Tensor& b) { return binary_(a, b, params(BinaryOp::Div)); }
Tensor& maximum_(Tensor& a, const Tensor& b) { return binary_(a, b, params(BinaryOp::Maximum)); }
Tensor& minimum_(Tensor& a, const Tensor& b) { return binary_(a, b, params(BinaryOp::Minimum)); }
Tensor& add_(Tensor& a, double s, double alpha) { return unary_(a, scalar(UnaryOp::AddScalar, alpha * s)); }
Tensor& sub_(Tensor& a, double s, double alpha) { return unary_(a, scalar(UnaryOp::AddScalar, -alpha * s)); }
Tensor& mul_(Tensor& a, double s) { return unary_(a, scalar(UnaryOp::MulScalar, s)); }
Tensor& div_(Tensor& a, double s) { return unary_(a, scalar(UnaryOp::DivScalar, s)); }

namespace {
Tensor scalar_like(const Tensor& a, double s) {
    check_defined("compare", {&a});
    return full({}, s, {a.dtype(), a.device()});
}

// Integer tensor vs a double scalar, with PyTorch's result (it promotes to float): the scalar is
// never converted to the integer type, where 2.5 would become 2 and 300 would not fit a u8.
// Instead the comparison is rewritten exactly: x < 2.5 is x < 3, x == 2.5 is always false, and a
// bound outside the dtype's range makes the answer the same for every element.
Tensor compare_integer_scalar(const Tensor& a, double s, CompareOp op) {
    double lo = 0, hi = 0;
    switch (a.dtype()) {
        case DType::U8: lo = 0; hi = 255; break;
        case DType::I32: lo = -2147483648.0; hi = 2147483647.0; break;
        case DType::I64: lo = -9223372036854775808.0; hi = 9223372036854775807.0; break;
        default: lo = 0; hi = 1; break;  // bool
    }
    const auto constant = [&](bool v) { return full(a.shape(), v ? 1.0 : 0.0, {DType::Bool, a.device()}); };
    if (std::isnan(s)) return constant(op == CompareOp::Ne);
    const double fl = std::floor(s), ce = std::ceil(s);
    switch (op) {
        case CompareOp::Eq:
        case CompareOp::Ne:
            if (fl != s || s < lo || s > hi) return constant(op == CompareOp::Ne);
            return compare(a, scalar_like(a, s), op);
        case CompareOp::Lt:  // x < s  <=>  x < ceil(s)
            if (ce > hi) return constant(true);
            if (ce <= lo) return constant(false);
            return compare(a, scalar_like(a, ce), CompareOp::Lt);
        case CompareOp::Le:  // x <= s  <=>  x <= floor(s)
            if (fl >= hi) return constant(true);
            if (fl < lo) return constant(false);
            return compare(a, scalar_like(a, fl), CompareOp::Le);
        case CompareOp::Gt:  // x > s  <=>  x > floor(s)
            if (fl >= hi) return constant(false);
            if (fl < lo) return constant(true);
            return compare(a, scalar_like(a, fl), CompareOp::Gt);
        case CompareOp::Ge:  // x >= s  <=>  x >= ceil(s)
            if (ce <= lo) return constant(true);
            if (ce > hi) return constant(false);
            return compare(a, scalar_like(a, ce), CompareOp::Ge);
    }
    SEGCORE_THROW("compare: unknown comparison");
}

Tensor compare_scalar(const Tensor& a, double s, CompareOp op) {
    check_defined("compare", {&a});
    if (!is_floating(a.dtype())) return compare_integer_scalar(a, s, op);
    return compare(a, scalar_like(a, s), op);
}
}  // namespace

Tensor eq(const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Eq); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Ne); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Lt); }
Tensor le(const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Le); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Gt); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare(a, b, CompareOp::Ge); }
Tensor eq(const Tensor& a, double s) { return compare_scalar(a, s, CompareOp::Eq); }
Tensor ne(const Tensor& a, double s) { return compare_scalar(a, s, CompareOp::Ne); }
Tensor lt(const Tensor& a, double s) { return compare_scalar(a, s, CompareOp::Lt); }
Tensor le(const Tensor& a, double s) { return compare_scalar(a, s, CompareOp::Le); }
Tensor gt(const Tensor& a, double s) { return compare_scalar(a, s, CompareOp::Gt); }
Tensor ge(const Tensor& a, double s) { return compare_scalar(a, s, CompareOp::Ge); }

}  // namespace ops

}  // namespace segcore
