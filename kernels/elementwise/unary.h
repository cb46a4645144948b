#pragma once
// Unary elementwise ops: y = f(x) for tensors of any shape and layout, f one of
//   neg, abs, exp, log, sqrt, rsqrt = 1/sqrt(x), sigmoid = 1/(1+exp(-x)), tanh,
//   relu = max(x, 0), relu6 = min(max(x, 0), 6), leaky_relu = x > 0 ? x : slope*x,
//   hardswish = x * relu6(x + 3) / 6, gelu = x/2 * (1 + erf(x/sqrt(2)))  (PyTorch's default),
//   gelu tanh approximation = x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3))),
//   clamp(lo, hi) = min(max(x, lo), hi)  (lo > hi gives hi everywhere, as in PyTorch),
//   pow(x, e), square = x*x, and the tensor-scalar arithmetic x+s, x*s, x/s, s-x, s/x.
// pow(x, 0.5) is sqrt(x) and pow(x, -0.5) is rsqrt(x), as in PyTorch (so pow(-0, -0.5) = -inf and
// pow(-inf, +-0.5) = NaN, where C's pow gives +inf, +inf and 0); ops:: rewrites them before dispatch.
// NaN inputs propagate through relu/relu6/clamp/hardswish (PyTorch semantics).
//
// Shapes: y has the shape of x. Dtypes: CPU f32, f64, f16, bf16; CUDA f32, f16, bf16. f16/bf16
// are computed in f32 (acc_t) and rounded once on store; scalar parameters are converted to the
// compute type (f32 for f16/bf16, so x * 0.1 on an f16 tensor does not round 0.1 to f16).
// The kernels OVERWRITE y; y may alias x exactly (in-place ops), not partially.
#include <cstdint>
#include <limits>

#include "core/geometry.h"
#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::kernels {

enum class UnaryOp : uint8_t {
    Neg,
    Abs,
    Exp,
    Log,
    Sqrt,
    Rsqrt,
    Sigmoid,
    Tanh,
    Relu,
    Relu6,
    LeakyRelu,
    Hardswish,
    Gelu,
    GeluTanh,
    Clamp,  // a = min, b = max
    Pow,    // a = exponent
    Square,
    AddScalar,   // x + a
    MulScalar,   // x * a
    DivScalar,   // x / a
    RSubScalar,  // a - x
    RDivScalar,  // a / x
};
const char* unary_op_name(UnaryOp op);  // "relu", "clamp", ...

struct UnaryParams {
    UnaryOp op = UnaryOp::Neg;
    double a = 0;  // leaky_relu slope, clamp min, pow exponent, the scalar of the *Scalar ops
    double b = 0;  // clamp max
};

// g: geometry over (y, x), built by make_geometry over x's shape.
template <typename T>
void unary_cpu(const UnaryParams& p, const StridedGeometry<2>& g, T* y, const T* x);
template <typename T>
void unary_cuda(const UnaryParams& p, const StridedGeometry<2>& g, T* y, const T* x, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

// Generic entry points: a new tensor (contiguous, x's dtype and device), or x overwritten in place.
Tensor unary(const Tensor& x, const kernels::UnaryParams& p);
Tensor& unary_(Tensor& x, const kernels::UnaryParams& p);

Tensor neg(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor relu6(const Tensor& x);
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
Tensor hardswish(const Tensor& x);
Tensor gelu(const Tensor& x, bool tanh_approximation = false);
Tensor clamp(const Tensor& x, double min, double max);
Tensor clamp_min(const Tensor& x, double min);
Tensor clamp_max(const Tensor& x, double max);
Tensor pow(const Tensor& x, double exponent);
Tensor square(const Tensor& x);

Tensor& neg_(Tensor& x);
Tensor& exp_(Tensor& x);
Tensor& sqrt_(Tensor& x);
Tensor& sigmoid_(Tensor& x);
Tensor& tanh_(Tensor& x);
Tensor& relu_(Tensor& x);
Tensor& relu6_(Tensor& x);
Tensor& leaky_relu_(Tensor& x, double negative_slope = 0.01);
Tensor& hardswish_(Tensor& x);
Tensor& gelu_(Tensor& x, bool tanh_approximation = false);
Tensor& clamp_(Tensor& x, double min, double max);
Tensor& pow_(Tensor& x, double exponent);

}  // namespace segcore::ops
