// ops:: entry points of the unary elementwise family (kernels/elementwise/unary.h): validation,
// allocation and backend dispatch.
#include "kernels/elementwise/unary.h"
#include "kernels/common/dispatch.h"

namespace segcore {

namespace kernels {
const char* unary_op_name(UnaryOp op) {
    switch (op) {
        case UnaryOp::Neg:
            return "neg";
        case UnaryOp::Abs:
            return "abs";
        case UnaryOp::Exp:
            return "exp";
        case UnaryOp::Log:
            return "log";
        case UnaryOp::Sqrt:
            return "sqrt";
        case UnaryOp::Rsqrt:
            return "rsqrt";
        case UnaryOp::Sigmoid:
            return "sigmoid";
        case UnaryOp::Tanh:
            return "tanh";
        case UnaryOp::Relu:
            return "relu";
        case UnaryOp::Relu6:
            return "relu6";
        case UnaryOp::LeakyRelu:
            return "leaky_relu";
        case UnaryOp::Hardswish:
            return "hardswish";
        case UnaryOp::Gelu:
            return "gelu";
        case UnaryOp::GeluTanh:
            return "gelu(tanh)";
        case UnaryOp::Clamp:
            return "clamp";
        case UnaryOp::Pow:
            return "pow";
        case UnaryOp::Square:
            return "square";
        case UnaryOp::AddScalar:
            return "add(scalar)";
        case UnaryOp::MulScalar:
            return "mul(scalar)";
        case UnaryOp::DivScalar:
            return "div(scalar)";
        case UnaryOp::RSubScalar:
            return "rsub(scalar)";
        case UnaryOp::RDivScalar:
            return "rdiv(scalar)";
    }
    return "unary";
}
}  // namespace kernels

namespace ops {

namespace {

using kernels::UnaryOp;
using kernels::UnaryParams;

// y = f(x); y is either a fresh tensor of x's shape or x itself.
void run_unary(const char* name, const UnaryParams& p, const Tensor& y, const Tensor& x) {
    const StridedGeometry<2> g = make_geometry<2>(x.shape(), {&y.strides(), &x.strides()});
    if (g.numel == 0) return;
    if (x.is_cuda()) {
        SEGCORE_CUDA_CALL(visit_cuda_float_dtype(x.dtype(), name, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::unary_cuda<T>(p, g, y.data<T>(), x.data<T>(), current_stream());
        }));
    } else {
        visit_float_dtype(x.dtype(), name, [&](auto tag) {
            using T = typename decltype(tag)::type;
            kernels::unary_cpu<T>(p, g, y.data<T>(), x.data<T>());
        });
    }
}

UnaryParams params(UnaryOp op, double a = 0, double b = 0) { return UnaryParams{op, a, b}; }

// PyTorch computes pow(x, 0.5) as sqrt(x) and pow(x, -0.5) as rsqrt(x), on every backend and dtype
// but its f16 CPU kernel, and that differs from C's pow at the edges: pow(-0, -0.5) = +inf but
// rsqrt(-0) = -inf, pow(-inf, +-0.5) = +inf / +0 but sqrt / rsqrt(-inf) = NaN. Pin PyTorch's
// results (tests/kernels/test_golden_foundation.cpp) for both backends by rewriting the op here.
UnaryParams canonical(const UnaryParams& p) {
    if (p.op == UnaryOp::Pow && p.a == 0.5) return params(UnaryOp::Sqrt);
    if (p.op == UnaryOp::Pow && p.a == -0.5) return params(UnaryOp::Rsqrt);
    return p;
}

}  // namespace

Tensor unary(const Tensor& x, const UnaryParams& p) {
    const char* name = kernels::unary_op_name(p.op);
    check_defined(name, {&x});
    check_floating(name, x, "x");
    Tensor y = empty(x.shape(), {x.dtype(), x.device()});
    run_unary(name, canonical(p), y, x);
    return y;
}

Tensor& unary_(Tensor& x, const UnaryParams& p) {
    const char* name = kernels::unary_op_name(p.op);
    check_defined(name, {&x});
    check_floating(name, x, "x");
    run_unary(name, canonical(p), x, x);
    return x;
}

Tensor neg(const Tensor& x) { return unary(x, params(UnaryOp::Neg)); }
Tensor abs(const Tensor& x) { return unary(x, params(UnaryOp::Abs)); }
Tensor exp(const Tensor& x) { return unary(x, params(UnaryOp::Exp)); }
Tensor log(const Tensor& x) { return unary(x, params(UnaryOp::Log)); }
Tensor sqrt(const Tensor& x) { return unary(x, params(UnaryOp::Sqrt)); }
Tensor rsqrt(const Tensor& x) { return unary(x, params(UnaryOp::Rsqrt)); }
Tensor sigmoid(const Tensor& x) { return unary(x, params(UnaryOp::Sigmoid)); }
Tensor tanh(const Tensor& x) { return unary(x, params(UnaryOp::Tanh)); }
Tensor relu(const Tensor& x) { return unary(x, params(UnaryOp::Relu)); }
Tensor relu6(const Tensor& x) { return unary(x, params(UnaryOp::Relu6)); }
Tensor leaky_relu(const Tensor& x, double negative_slope) {
    return unary(x, params(UnaryOp::LeakyRelu, negative_slope));
}
Tensor hardswish(const Tensor& x) { return unary(x, params(UnaryOp::Hardswish)); }
Tensor gelu(const Tensor& x, bool tanh_approximation) {
    return unary(x, params(tanh_approximation ? UnaryOp::GeluTanh : UnaryOp::Gelu));
}
Tensor clamp(const Tensor& x, double min, double max) { return unary(x, params(UnaryOp::Clamp, min, max)); }
Tensor clamp_min(const Tensor& x, double min) {
    return unary(x, params(UnaryOp::Clamp, min, std::numeric_limits<double>::infinity()));
}
Tensor clamp_max(const Tensor& x, double max) {
    return unary(x, params(UnaryOp::Clamp, -std::numeric_limits<double>::infinity(), max));
}
Tensor pow(const Tensor& x, double exponent) { return unary(x, params(UnaryOp::Pow, exponent)); }
Tensor square(const Tensor& x) { return unary(x, params(UnaryOp::Square)); }

Tensor& neg_(Tensor& x) { return unary_(x, params(UnaryOp::Neg)); }
Tensor& exp_(Tensor& x) { return unary_(x, params(UnaryOp::Exp)); }
Tensor& sqrt_(Tensor& x) { return unary_(x, params(UnaryOp::Sqrt)); }
Tensor& sigmoid_(Tensor& x) { return unary_(x, params(UnaryOp::Sigmoid)); }
Tensor& tanh_(Tensor& x) { return unary_(x, params(UnaryOp::Tanh)); }
Tensor& relu_(Tensor& x) { return unary_(x, params(UnaryOp::Relu)); }
Tensor& relu6_(Tensor& x) { return unary_(x, params(UnaryOp::Relu6)); }
Tensor& leaky_relu_(Tensor& x, double negative_slope) { return unary_(x, params(UnaryOp::LeakyRelu, negative_slope)); }
Tensor& hardswish_(Tensor& x) { return unary_(x, params(UnaryOp::Hardswish)); }
Tensor& gelu_(Tensor& x, bool tanh_approximation) {
    return unary_(x, params(tanh_approximation ? UnaryOp::GeluTanh : UnaryOp::Gelu));
}
Tensor& clamp_(Tensor& x, double min, double max) { return unary_(x, params(UnaryOp::Clamp, min, max)); }
Tensor& pow_(Tensor& x, double exponent) { return unary_(x, params(UnaryOp::Pow, exponent)); }

}  // namespace ops

}  // namespace segcore
