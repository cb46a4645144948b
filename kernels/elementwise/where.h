#pragma once
// where: out = cond ? a : b, with cond (bool), a and b broadcast together (NumPy rules).
// Shapes: out has the broadcast shape of all three. Dtypes: cond is bool; a and b share a dtype,
// which out takes: CPU any dtype; CUDA f32, f16, bf16, i32, i64, u8.
// The kernel OVERWRITES out; only the selected operand is read for each element.
#include <cstdint>

#include "core/geometry.h"
#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::kernels {

// g: geometry over (out, cond, a, b), each input expanded to the output shape.
template <typename T>
void where_cpu(const StridedGeometry<4>& g, T* out, const bool* cond, const T* a, const T* b);
template <typename T>
void where_cuda(const StridedGeometry<4>& g, T* out, const bool* cond, const T* a, const T* b, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
// Scalar operands are converted to the tensor operand's dtype.
Tensor where(const Tensor& cond, const Tensor& a, double b);
Tensor where(const Tensor& cond, double a, const Tensor& b);

}  // namespace segcore::ops
