#pragma once
// Gradient of the unary elementwise ops (kernels/elementwise/unary.h), in one fused pass:
//
//   dx[i] = dy[i] * f'(s[i])                                   (dx overwritten)
//
// where the saved tensor s is the op's input x or its output y, whichever the derivative is
// cheaper from (unary_backward_uses_output). PyTorch's conventions at the kinks:
//   relu      x > 0 ? dy : 0                 relu6     0 < x < 6 ? dy : 0
//   abs       dy * sign(x), sign(0) = 0      clamp     min <= x <= max ? dy : 0
//   hardswish x < -3: 0; x < 3: dy*(2x+3)/6; else dy   (pinned by tests/golden/autograd_grads)
//   pow       dy * e * x^(e-1) (0 when e == 0)
// Shapes: dx, dy, s have one shape (no broadcasting); any layout. Dtypes: CPU f32/f64/f16/bf16,
// CUDA f32/f16/bf16, computed in f32 (f64 on the CPU for f64).
#include "core/geometry.h"
#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/elementwise/unary.h"

namespace segcore::kernels {

// Whether f' is computed from the output y (exp, sqrt, rsqrt, sigmoid, tanh) rather than x.
bool unary_backward_uses_output(UnaryOp op);

template <typename T>
void unary_backward_cpu(const UnaryParams& p, const StridedGeometry<3>& g, T* dx, const T* dy, const T* s);
template <typename T>
void unary_backward_cuda(const UnaryParams& p, const StridedGeometry<3>& g, T* dx, const T* dy, const T* s,
                         Stream st);

}  // namespace segcore::kernels

namespace segcore::ops {
// dy: gradient of the op's output; saved: x or y per unary_backward_uses_output(p.op).
Tensor unary_backward(const Tensor& dy, const Tensor& saved, const kernels::UnaryParams& p);
}  // namespace segcore::ops
