#pragma once
// avg_pool2d and adaptive_avg_pool2d, as torch.nn.functional. docs/kernels/pool.md has the loops.
//
// avg_pool2d:
//   y[n, c, p, q] = (1 / D) sum_{h in [h0, h1), w in [w0, w1)} x[n, c, h, w]
//   window before clipping: h0 = p*sh - ph, h1 = min(h0 + kh, H + ph) (columns likewise);
//   D = (h1 - h0)(w1 - w0) of that padded window when count_include_pad, else the number of real
//   pixels after clipping to [0, H) x [0, W) (PyTorch's rule; kernels/pool/pool_params.h avg_window).
//   P as max_pool2d with dilation 1 (floor or ceil mode).
// avg_pool2d_backward (dx OVERWRITTEN): dx[n, c, h, w] = sum over windows (p, q) containing (h, w)
//   of dy[n, c, p, q] / D(p, q).
//
// adaptive_avg_pool2d to (P, Q): output i averages rows [floor(i H / P), ceil((i + 1) H / P)) and
//   likewise columns (PyTorch's bins; they overlap when P does not divide H). P = Q = 1 is global
//   average pooling; PSPNet uses 1, 2, 3, 6.
// adaptive_avg_pool2d_backward (dx OVERWRITTEN): each input pixel gathers dy / bin size from the
//   bins that contain it ([floor(h P / H), ceil((h + 1) P / H)) rows of bins).
//
// Shapes (NCHW): x (N, C, H, W), y (N, C, P, Q). dtypes: CPU f32, f64 (f16/bf16 through f32);
// CUDA f32, f16, bf16 with f32 sums. Backward kernels are gathers on CUDA (deterministic, no
// atomics); large adaptive bins (global pooling) use one block per output with a fixed-order
// tree reduction. Inputs are made contiguous by ops::.
#include <cstdint>

#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/pool/pool_params.h"

namespace segcore::kernels {

template <typename T>
void avg_pool2d_forward_cpu(const Pool2dParams& p, const T* x, T* y);
template <typename T>
void avg_pool2d_backward_cpu(const Pool2dParams& p, const T* dy, T* dx);
// Adaptive: only n, c, h, w, oh, ow of the params are used.
template <typename T>
void adaptive_avg_pool2d_forward_cpu(const Pool2dParams& p, const T* x, T* y);
template <typename T>
void adaptive_avg_pool2d_backward_cpu(const Pool2dParams& p, const T* dy, T* dx);

template <typename T>
void avg_pool2d_forward_cuda(const Pool2dParams& p, const T* x, T* y, Stream s);
template <typename T>
void avg_pool2d_backward_cuda(const Pool2dParams& p, const T* dy, T* dx, Stream s);
template <typename T>
void adaptive_avg_pool2d_forward_cuda(const Pool2dParams& p, const T* x, T* y, Stream s);
template <typename T>
void adaptive_avg_pool2d_backward_cuda(const Pool2dParams& p, const T* dy, T* dx, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

struct AvgPool2dOptions {
    int64_t kh = 2, kw = 2;
    int64_t stride_h = -1, stride_w = -1;  // -1: the kernel size (PyTorch's default)
    int64_t pad_h = 0, pad_w = 0;
    bool ceil_mode = false;
    bool count_include_pad = true;
    static AvgPool2dOptions make(int64_t kernel, int64_t stride = -1, int64_t padding = 0, bool ceil_mode = false,
                                 bool count_include_pad = true) {
        return {kernel, kernel, stride, stride, padding, padding, ceil_mode, count_include_pad};
    }
};

kernels::Pool2dParams avg_pool2d_params(const Shape& x, const AvgPool2dOptions& opt);
Tensor avg_pool2d(const Tensor& x, const AvgPool2dOptions& opt);
Tensor avg_pool2d_backward(const Tensor& dy, const Shape& x_shape, const AvgPool2dOptions& opt);

kernels::Pool2dParams adaptive_avg_pool2d_params(const Shape& x, int64_t out_h, int64_t out_w);
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);
Tensor adaptive_avg_pool2d_backward(const Tensor& dy, const Shape& x_shape);

}  // namespace segcore::ops
