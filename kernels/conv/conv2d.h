#pragma once
// conv2d: 2-D cross-correlation with stride, zero padding, dilation (atrous) and groups, as
// torch.nn.functional.conv2d. docs/kernels/conv2d.md has the derivation and the loop nests.
//
//   y[n, k, p, q] = bias[k] + sum_{c in group(k), r, s} w[k, c', r, s] * x[n, c, h, w]
//       h = p * stride_h - pad_h + r * dil_h,  w = q * stride_w - pad_w + s * dil_w  (0 outside)
//       P = (H + 2 pad_h - dil_h (R - 1) - 1) / stride_h + 1   (and Q likewise)
//
// Shapes (NCHW): x (N, C, H, W); w (K, C / groups, R, S); bias (K) or none; y (N, K, P, Q).
// Gradients:
//   dx = conv_transpose of dy with w           (conv2d_backward_input,  dx OVERWRITTEN)
//   dw = sum_n dy[n] (x) im2col(x[n])^T        (conv2d_backward_weight, dw OVERWRITTEN)
//   db = sum_{n, p, q} dy                      (conv2d_backward_weight, db OVERWRITTEN)
// The weight gradient sums images in a fixed order: deterministic.
// Epilogue: y = act(y + bias) in the pass that adds the bias (Act::None, Relu, Relu6).
//
// Algorithm (CPU and, for now, CUDA): im2col + GEMM. For each image and group, the input patches
// under every output position form a (C/g * R * S) x (P * Q) matrix; y = W (K/g x C/g R S) @ col.
// The column matrix is built in bands of output rows so it stays within a few MiB (a 1024 x 512
// input with 64 channels and 3 x 3 taps would need 1.2 GiB at once). 1 x 1 stride-1 unpadded
// convolutions skip im2col: x[n] already is the column matrix.
// dtypes: CPU f32, f64, f16, bf16 (16-bit through f32 GEMM); CUDA f32, f16, bf16 (f32 accumulate).
#include <cstdint>

#include "core/host_device.h"
#include "core/stream.h"
#include "core/tensor.h"
#include "kernels/common/activation.h"

namespace segcore::kernels {

// Which implementation runs CUDA convolutions (kernels/conv/conv_backend.h).
enum class ConvBackend : uint8_t { Default, Native, Cudnn, Auto };

struct Conv2dParams {
    int64_t n = 0, c = 0, h = 0, w = 0;  // input
    int64_t k = 0, r = 0, s = 0;         // output channels, kernel height, width
    int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
    int64_t groups = 1;
    int64_t p = 0, q = 0;  // output height, width
    Act act = Act::None;   // forward epilogue after the bias (fused Conv-BN-ReLU inference)

    SEGCORE_HOST_DEVICE int64_t c_per_group() const { return c / groups; }
    SEGCORE_HOST_DEVICE int64_t k_per_group() const { return k / groups; }
    SEGCORE_HOST_DEVICE int64_t col_rows() const { return c_per_group() * r * s; }  // rows of the im2col matrix
    SEGCORE_HOST_DEVICE bool is_pointwise() const {  // 1x1, stride 1, no padding: x is its own column matrix
        return r == 1 && s == 1 && stride_h == 1 && stride_w == 1 && pad_h == 0 && pad_w == 0;
    }
};

// All pointers are contiguous NCHW / KCRS buffers. bias and db may be null.
template <typename T>
void conv2d_forward_cpu(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void conv2d_backward_input_cpu(const Conv2dParams& p, const T* dy, const T* w, T* dx);
template <typename T>
void conv2d_backward_weight_cpu(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* db);

template <typename T>
void conv2d_forward_cuda(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y, Stream s);
template <typename T>
void conv2d_backward_input_cuda(const Conv2dParams& p, const T* dy, const T* w, T* dx, Stream s);
template <typename T>
void conv2d_backward_weight_cuda(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* db, Stream s);
// Tensor-core implicit GEMM forward (conv2d_implicit_gemm_cuda.cu) for f16/bf16 with groups == 1;
// returns false without doing anything for other cases. conv2d_forward_cuda tries it first.
template <typename T>
bool conv2d_forward_implicit_gemm_cuda(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

struct Conv2dOptions {
    int64_t stride_h = 1, stride_w = 1;
    int64_t pad_h = 0, pad_w = 0;
    int64_t dil_h = 1, dil_w = 1;
    int64_t groups = 1;
    // CUDA only: Default follows the global setting (kernels/conv/conv_backend.h).
    kernels::ConvBackend backend = kernels::ConvBackend::Default;
    // Square shorthands: Conv2dOptions::make(stride, padding, dilation, groups).
    static Conv2dOptions make(int64_t stride = 1, int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1) {
        return {stride, stride, padding, padding, dilation, dilation, groups, kernels::ConvBackend::Default};
    }
};

// Validates shapes and returns the kernel parameters (output size included); errors name the
// offending sizes.
kernels::Conv2dParams conv2d_params(const Shape& x, const Shape& w, const Conv2dOptions& opt);

// act: an activation applied in the same pass as the bias (inference: fold_batch_norm the BN into
// w and bias, then conv2d(..., Act::Relu) is Conv-BN-ReLU in one kernel epilogue). Not differentiable
// here; autograd::conv2d always passes Act::None.
Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& bias, const Conv2dOptions& opt = {},
              kernels::Act act = kernels::Act::None);
Tensor conv2d_backward_input(const Tensor& dy, const Tensor& w, const Shape& x_shape, const Conv2dOptions& opt = {});
// Returns {dw, db}; db is undefined when with_bias is false.
std::pair<Tensor, Tensor> conv2d_backward_weight(const Tensor& x, const Tensor& dy, const Shape& w_shape,
                                                 bool with_bias, const Conv2dOptions& opt = {});

}  // namespace segcore::ops
