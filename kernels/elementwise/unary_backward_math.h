#pragma once
// The derivative formulas of unary_backward.h, shared by the CPU reference and the CUDA kernel.
#include "kernels/elementwise/elementwise_math.h"

namespace segcore::kernels::ew {

// dx = dy * f'(s) with s = x or y (unary_backward_uses_output).
template <UnaryOp Op, typename A>
struct UnaryGradFn {
    A a, b;
    SEGCORE_HD A operator()(A dy, A s) const {
        if constexpr (Op == UnaryOp::Neg || Op == UnaryOp::RSubScalar)
            return -dy;
        else if constexpr (Op == UnaryOp::Abs)
            return s > A(0) ? dy : (s < A(0) ? -dy : A(0) * dy);
        else if constexpr (Op == UnaryOp::Exp)
            return dy * s;
        else if constexpr (Op == UnaryOp::Log)
            return dy / s;
        else if constexpr (Op == UnaryOp::Sqrt)
            return dy / (A(2) * s);
        else if constexpr (Op == UnaryOp::Rsqrt)
            return A(-0.5) * dy * s * s * s;
        else if constexpr (Op == UnaryOp::Sigmoid)
            return dy * s * (A(1) - s);
        else if constexpr (Op == UnaryOp::Tanh)
            return dy * (A(1) - s * s);
        else if constexpr (Op == UnaryOp::Relu)
            return s > A(0) ? dy : A(0);
        else if constexpr (Op == UnaryOp::Relu6)
            return (s > A(0) && s < A(6)) ? dy : A(0);
        else if constexpr (Op == UnaryOp::LeakyRelu)
            return s > A(0) ? dy : dy * a;
        else if constexpr (Op == UnaryOp::Hardswish)
            return s < A(-3) ? A(0) : (s < A(3) ? dy * (s / A(3) + A(0.5)) : dy);  // PyTorch: 1 at x = 3
        else if constexpr (Op == UnaryOp::Gelu) {
            const A cdf = A(0.5) * (A(1) + ew_erf(s * A(0.70710678118654752440)));
            const A pdf = A(0.39894228040143267794) * ew_exp(A(-0.5) * s * s);  // 1/sqrt(2 pi)
            return dy * (cdf + s * pdf);
        } else if constexpr (Op == UnaryOp::GeluTanh) {
            // PyTorch's gelu_backward(approximate='tanh').
            const A k_beta = A(0.79788456080286535588), k_kappa = A(0.044715);
            const A x2 = s * s;
            const A inner = k_beta * (s + k_kappa * x2 * s);
            const A t = ew_tanh(inner);
            const A left = A(0.5) * s, right = A(1) + t;
            const A left_d = A(0.5) * right;
            const A tanh_d = A(1) - t * t;
            const A inner_d = k_beta * (A(1) + A(3) * k_kappa * x2);
            return dy * (left_d + left * tanh_d * inner_d);
        } else if constexpr (Op == UnaryOp::Clamp)
            return (s >= a && s <= b) ? dy : A(0);
        else if constexpr (Op == UnaryOp::Pow)
            return a == A(0) ? A(0) : dy * a * ew_pow(s, a - A(1));
        else if constexpr (Op == UnaryOp::Square)
            return dy * A(2) * s;
        else if constexpr (Op == UnaryOp::AddScalar)
            return dy;
        else if constexpr (Op == UnaryOp::MulScalar)
            return dy * a;
        else if constexpr (Op == UnaryOp::DivScalar)
            return dy / a;
        else {
            static_assert(Op == UnaryOp::RDivScalar, "unhandled UnaryOp");
            return -dy * a / (s * s);
        }
    }
};

}  // namespace segcore::kernels::ew
