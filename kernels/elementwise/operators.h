#pragma once
// Arithmetic operators on Tensor, thin aliases of the ops:: functions (a + b is ops::add(a, b)),
// found by argument-dependent lookup. Comparison operators are deliberately absent: == on a
// tensor handle reads as identity; use ops::eq / ops::lt for elementwise masks.
#include "core/tensor.h"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/unary.h"

namespace segcore {

inline Tensor operator-(const Tensor& a) { return ops::neg(a); }

inline Tensor operator+(const Tensor& a, const Tensor& b) { return ops::add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return ops::sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return ops::mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return ops::div(a, b); }

inline Tensor operator+(const Tensor& a, double s) { return ops::add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return ops::sub(a, s); }
inline Tensor operator*(const Tensor& a, double s) { return ops::mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return ops::div(a, s); }
inline Tensor operator+(double s, const Tensor& a) { return ops::add(a, s); }
inline Tensor operator-(double s, const Tensor& a) { return ops::rsub(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return ops::mul(a, s); }
inline Tensor operator/(double s, const Tensor& a) { return ops::rdiv(a, s); }

// Compound assignment writes into a's storage (a may be a view; b must broadcast to a's shape).
inline Tensor& operator+=(Tensor& a, const Tensor& b) { return ops::add_(a, b); }
inline Tensor& operator-=(Tensor& a, const Tensor& b) { return ops::sub_(a, b); }
inline Tensor& operator*=(Tensor& a, const Tensor& b) { return ops::mul_(a, b); }
inline Tensor& operator/=(Tensor& a, const Tensor& b) { return ops::div_(a, b); }
inline Tensor& operator+=(Tensor& a, double s) { return ops::add_(a, s); }
inline Tensor& operator-=(Tensor& a, double s) { return ops::sub_(a, s); }
inline Tensor& operator*=(Tensor& a, double s) { return ops::mul_(a, s); }
inline Tensor& operator/=(Tensor& a, double s) { return ops::div_(a, s); }

}  // namespace segcore
