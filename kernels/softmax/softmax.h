#pragma once
// Softmax and log-softmax along one dim, forward and backward.
//
//   softmax:      y[o, c, i] = exp(x[o, c, i] - m) / sum_c' exp(x[o, c', i] - m),  m = max_c x[o, c, i]
//   log_softmax:  y[o, c, i] = x[o, c, i] - m - log(sum_c' exp(x[o, c', i] - m))
//   softmax backward:      dx = y * (dy - sum_c(dy * y))
//   log_softmax backward:  dx = dy - exp(y) * sum_c(dy)          (y is the log-softmax output)
// Subtracting the max keeps exp() from overflowing for any finite logits.
//
// Shapes: x viewed as contiguous (outer, dim_size, inner): for NCHW logits with dim = 1 that is
// (N, C, H*W); for the last dim inner = 1. ops:: makes inputs contiguous. Every output is
// overwritten. dtypes: CPU f32, f64, f16, bf16; CUDA f32, f16, bf16; f16/bf16 computed in f32.
//
// CUDA: inner == 1 uses a warp per row (a block per row when dim_size is large); inner > 1 uses
// one thread per (o, i) looping over c: neighbouring threads read neighbouring pixels (coalesced).
// No atomics anywhere, so results are bitwise reproducible.
#include <cstdint>

#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::kernels {

struct SoftmaxParams {
    int64_t outer = 1, dim_size = 1, inner = 1;
    bool log = false;  // log_softmax
};

template <typename T> void softmax_forward_cpu(const SoftmaxParams& p, const T* x, T* y);
template <typename T> void softmax_forward_cuda(const SoftmaxParams& p, const T* x, T* y, Stream s);
// y is the forward output (softmax or log_softmax, per p.log).
template <typename T> void softmax_backward_cpu(const SoftmaxParams& p, const T* dy, const T* y, T* dx);
template <typename T> void softmax_backward_cuda(const SoftmaxParams& p, const T* dy, const T* y, T* dx, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);
// dy: gradient w.r.t. the output y (the saved forward output); returns dx.
Tensor softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim);
Tensor log_softmax_backward(const Tensor& dy, const Tensor& y, int64_t dim);

}  // namespace segcore::ops
