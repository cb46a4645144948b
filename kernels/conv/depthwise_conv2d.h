#pragma once
// Depthwise conv2d: the groups == C case of conv2d (each input channel has its own R x S filters,
// `multiplier` of them), the spatial half of MobileNetV2's depthwise-separable blocks.
//
//   y[n, k, p, q] = bias[k] + sum_{r, s} w[k, 0, r, s] x[n, k / m, p*sh - ph + r*dh, q*sw - pw + s*dw]
//   with K = C * m output channels (m = the channel multiplier, usually 1).
//
// im2col + GEMM is a poor fit here (a GEMM with k = R*S, i.e. 9): these kernels loop directly.
//   forward       one output element per thread (CUDA), plane by plane (CPU);
//   input grad    a gather: each input element sums the outputs whose window covers it (no atomics);
//   weight grad   per (k, r, s) a reduction over (n, p, q): one CUDA block each with a fixed-order
//                 tree, one accumulator in double on the CPU — deterministic, no float atomics.
// ops::conv2d dispatches here automatically when groups == C and K is a multiple of C (> 1 channel).
// Shapes and dtypes as conv2d (kernels/conv/conv2d.h); Conv2dParams carries the sizes.
#include "core/stream.h"
#include "kernels/conv/conv2d.h"

namespace segcore::kernels {

inline bool is_depthwise(const Conv2dParams& p) { return p.groups == p.c && p.c > 1 && p.k % p.c == 0; }

template <typename T>
void depthwise_conv2d_forward_cpu(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void depthwise_conv2d_backward_input_cpu(const Conv2dParams& p, const T* dy, const T* w, T* dx);
template <typename T>
void depthwise_conv2d_backward_weight_cpu(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* db);

template <typename T>
void depthwise_conv2d_forward_cuda(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y, Stream s);
template <typename T>
void depthwise_conv2d_backward_input_cuda(const Conv2dParams& p, const T* dy, const T* w, T* dx, Stream s);
template <typename T>
void depthwise_conv2d_backward_weight_cuda(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* db, Stream s);

}  // namespace segcore::kernels
