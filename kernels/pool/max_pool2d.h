#pragma once
// max_pool2d and its inverse max_unpool2d (the SegNet decoder), as torch.nn.functional.
// docs/kernels/pool.md has the loops and the CUDA organisation.
//
// max_pool2d:
//   y[n, c, p, q] = max_{r < kh, s < kw} x[n, c, h, w],   h = p*sh - ph + r*dh,  w = q*sw - pw + s*dw
//   idx[n, c, p, q] = h*W + w of that maximum (flat index within the input plane, as PyTorch)
//   taps outside the input are skipped (padding is -inf, never selected).
//   P = floor-or-ceil((H + 2 ph - dh (kh - 1) - 1) / sh) + 1; in ceil mode the last window must
//   start inside the input or the left padding (PyTorch's pooling_output_shape).
//   Scan order is row-major over the window; a later tap replaces the running maximum when it is
//   strictly greater or NaN: ties keep the FIRST maximum, NaN propagates (the LAST NaN's index).
// max_pool2d_backward (dx OVERWRITTEN):
//   dx[n, c, h, w] = sum over outputs (p, q) with idx[n, c, p, q] == h*W + w of dy[n, c, p, q]
//   CPU: a scatter per plane in output order. CUDA: a gather, one thread per input element that
//   visits the outputs whose window covers it in (p, q) order: the same sum in the same order, no
//   atomics, deterministic.
//
// max_unpool2d (y OVERWRITTEN):  y = 0;  y[n, c, idx[n, c, i]] = x[n, c, i]   for each input i
//   y is (N, C, OH, OW) with OH, OW given. Duplicate indices (overlapping pooling windows): the
//   LAST input in scan order wins, as PyTorch's CPU loop (its CUDA kernel races); segcore's CUDA
//   kernel resolves the winner with an integer atomicMax first, so it is deterministic too.
//   Indices outside [0, OH*OW) are an error on the CPU and ignored on CUDA (no device asserts).
// max_unpool2d_backward (dx OVERWRITTEN): dx[n, c, i] = dy[n, c, idx[n, c, i]]   (a gather, as PyTorch)
//
// Shapes (NCHW): x (N, C, H, W); y, idx (N, C, P, Q); idx is i64.
// dtypes: CPU f32, f64 (f16/bf16 through f32); CUDA f32, f16, bf16 (comparisons in f32: exact).
// Inputs are made contiguous by ops::.
#include <cstdint>
#include <utility>

#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/pool/pool_params.h"

namespace segcore::kernels {

template <typename T>
void max_pool2d_forward_cpu(const Pool2dParams& p, const T* x, T* y, int64_t* idx);
template <typename T>
void max_pool2d_backward_cpu(const Pool2dParams& p, const T* dy, const int64_t* idx, T* dx);
// Unpool: p.h, p.w = the pooled (input) size, p.oh, p.ow = the unpooled (output) size.
template <typename T>
void max_unpool2d_forward_cpu(const Pool2dParams& p, const T* x, const int64_t* idx, T* y);
template <typename T>
void max_unpool2d_backward_cpu(const Pool2dParams& p, const T* dy, const int64_t* idx, T* dx);

template <typename T>
void max_pool2d_forward_cuda(const Pool2dParams& p, const T* x, T* y, int64_t* idx, Stream s);
template <typename T>
void max_pool2d_backward_cuda(const Pool2dParams& p, const T* dy, const int64_t* idx, T* dx, Stream s);
template <typename T>
void max_unpool2d_forward_cuda(const Pool2dParams& p, const T* x, const int64_t* idx, T* y, Stream s);
template <typename T>
void max_unpool2d_backward_cuda(const Pool2dParams& p, const T* dy, const int64_t* idx, T* dx, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

struct MaxPool2dOptions {
    int64_t kh = 2, kw = 2;
    int64_t stride_h = -1, stride_w = -1;  // -1: the kernel size (PyTorch's default)
    int64_t pad_h = 0, pad_w = 0;
    int64_t dil_h = 1, dil_w = 1;
    bool ceil_mode = false;
    // Square shorthand: make(kernel, stride (-1: = kernel), padding, dilation, ceil_mode).
    static MaxPool2dOptions make(int64_t kernel, int64_t stride = -1, int64_t padding = 0, int64_t dilation = 1,
                                 bool ceil_mode = false) {
        return {kernel, kernel, stride, stride, padding, padding, dilation, dilation, ceil_mode};
    }
};

// Validates and returns the kernel parameters (output size included).
kernels::Pool2dParams max_pool2d_params(const Shape& x, const MaxPool2dOptions& opt);

// Returns {values, indices (i64)}.
std::pair<Tensor, Tensor> max_pool2d(const Tensor& x, const MaxPool2dOptions& opt);
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& indices, const Shape& x_shape, const MaxPool2dOptions& opt);

// y (N, C, out_h, out_w) = zeros with x scattered to the indices.
Tensor max_unpool2d(const Tensor& x, const Tensor& indices, int64_t out_h, int64_t out_w);
Tensor max_unpool2d_backward(const Tensor& dy, const Tensor& indices);

}  // namespace segcore::ops
