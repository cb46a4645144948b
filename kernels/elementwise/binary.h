#pragma once
// Binary elementwise ops with NumPy/PyTorch broadcasting (sizes aligned from the right, size 1
// stretches; a 0-dim tensor broadcasts to anything):
//   add: out = a + alpha*b      sub: out = a - alpha*b      mul: out = a*b      div: out = a/b
//   maximum / minimum: NaN in either operand gives NaN (torch.maximum / torch.minimum)
//   eq, ne, lt, le, gt, ge: out (bool) = a OP b
// Shapes: out has broadcast_shapes(a, b). Dtypes: a and b must match (no type promotion).
//   arithmetic: CPU f32, f64, f16, bf16; CUDA f32, f16, bf16 (16-bit computed in f32).
//   comparisons: also integer and bool dtypes (labels), on both backends (CUDA: no f64, no bool).
// Scalar forms (add(x, 2.0), ...) run the unary kernels with the scalar in the compute type.
// In-place forms (add_, ...) write into a, which may be any strided view; the broadcast shape must
// equal a's shape (PyTorch's rule: the destination is never resized or broadcast).
// The kernels OVERWRITE out; out may alias a or b exactly (in-place), not partially.
#include <cstdint>

#include "core/geometry.h"
#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::kernels {

enum class BinaryOp : uint8_t { Add, Sub, Mul, Div, Maximum, Minimum };
enum class CompareOp : uint8_t { Eq, Ne, Lt, Le, Gt, Ge };
const char* binary_op_name(BinaryOp op);    // "add", ...
const char* compare_op_name(CompareOp op);  // "eq", ...

struct BinaryParams {
    BinaryOp op = BinaryOp::Add;
    double alpha = 1.0;  // add/sub only: out = a +- alpha*b
};

// g: geometry over (out, a, b), each input expanded to the output shape (broadcast dims: stride 0).
template <typename T>
void binary_cpu(const BinaryParams& p, const StridedGeometry<3>& g, T* out, const T* a, const T* b);
template <typename T>
void binary_cuda(const BinaryParams& p, const StridedGeometry<3>& g, T* out, const T* a, const T* b, Stream s);

template <typename T>
void compare_cpu(CompareOp op, const StridedGeometry<3>& g, bool* out, const T* a, const T* b);
template <typename T>
void compare_cuda(CompareOp op, const StridedGeometry<3>& g, bool* out, const T* a, const T* b, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

Tensor binary(const Tensor& a, const Tensor& b, const kernels::BinaryParams& p);
Tensor& binary_(Tensor& a, const Tensor& b, const kernels::BinaryParams& p);  // a = a OP b
Tensor compare(const Tensor& a, const Tensor& b, kernels::CompareOp op);

Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);
Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);

// Tensor-scalar: add(x, s, alpha) = x + alpha*s, sub(x, s, alpha) = x - alpha*s.
Tensor add(const Tensor& a, double s, double alpha = 1.0);
Tensor sub(const Tensor& a, double s, double alpha = 1.0);
Tensor mul(const Tensor& a, double s);
Tensor div(const Tensor& a, double s);
Tensor rsub(const Tensor& a, double s);     // s - a
Tensor rdiv(const Tensor& a, double s);     // s / a
Tensor maximum(const Tensor& a, double s);  // clamp_min with NaN propagation
Tensor minimum(const Tensor& a, double s);

Tensor& add_(Tensor& a, const Tensor& b, double alpha = 1.0);
Tensor& sub_(Tensor& a, const Tensor& b, double alpha = 1.0);
Tensor& mul_(Tensor& a, const Tensor& b);
Tensor& div_(Tensor& a, const Tensor& b);
Tensor& maximum_(Tensor& a, const Tensor& b);
Tensor& minimum_(Tensor& a, const Tensor& b);
Tensor& add_(Tensor& a, double s, double alpha = 1.0);
Tensor& sub_(Tensor& a, double s, double alpha = 1.0);
Tensor& mul_(Tensor& a, double s);
Tensor& div_(Tensor& a, double s);

// Comparisons: a bool tensor of the broadcast shape. The scalar is converted to a's dtype first
// (eq(labels, 255) on an i64 tensor compares integers).
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, double s);
Tensor ne(const Tensor& a, double s);
Tensor lt(const Tensor& a, double s);
Tensor le(const Tensor& a, double s);
Tensor gt(const Tensor& a, double s);
Tensor ge(const Tensor& a, double s);

}  // namespace segcore::ops
