#pragma once
// Which implementation runs a CUDA convolution (conv2d, its gradients, and conv_transpose2d,
// which is built from them):
//   Native  segcore's own kernels (kernels/conv/conv2d_cuda.cu, depthwise_conv2d_cuda.cu);
//   Cudnn   cuDNN (kernels/conv/cuda/conv2d_cudnn.cpp): the yardstick, and an alternative;
//   Auto    per shape, time both once and keep the faster (an in-process autotune cache); each
//           choice is logged once to stderr with both timings;
//   Default (in Conv2dOptions only) defer to the global setting.
// The global setting starts as Native, or as SEGCORE_CONV_BACKEND=native|cudnn|auto from the
// environment; a layer overrides it with Conv2dOptions::backend. CPU tensors ignore all of this.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/stream.h"
#include "kernels/conv/conv2d.h"

namespace segcore::kernels {

const char* conv_backend_name(ConvBackend b);
ConvBackend parse_conv_backend(const std::string& s);  // "native", "cudnn", "auto" (throws otherwise)

void set_conv_backend(ConvBackend b);  // Default is refused
ConvBackend conv_backend();

// What the autotune cache decided, for `segcore info` and tests.
struct ConvTuneRecord {
    std::string key;  // "forward f16 x(8,64,512,1024) w(64,64,3,3) s1,1 p1,1 d1,1 g1"
    ConvBackend chosen;
    float native_ms, cudnn_ms;
};
std::vector<ConvTuneRecord> conv_tune_records();
void clear_conv_tune_cache();

enum class ConvPass : uint8_t { Forward, BackwardInput, BackwardWeight };

// Resolves `requested` (Default -> the global setting; Auto -> the cache, tuning on a miss by
// calling run(Native) and run(Cudnn) a few times with CUDA event timing). Returns Native or Cudnn.
ConvBackend resolve_conv_backend(ConvPass pass, const Conv2dParams& p, DType dtype, ConvBackend requested,
                                 const std::function<void(ConvBackend)>& run);

// cuDNN entry points (throw "built without cuDNN" when cudnn_compiled() is false). The bias and
// activation epilogue and the bias gradient use segcore's kernels (conv_epilogue_cuda below).
template <typename T>
void conv2d_forward_cudnn(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y, Stream s);
template <typename T>
void conv2d_backward_input_cudnn(const Conv2dParams& p, const T* dy, const T* w, T* dx, Stream s);
template <typename T>
void conv2d_backward_weight_cudnn(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* db, Stream s);

// From conv2d_cuda.cu: y = act(y + bias) over (N, K, P, Q), and db = sum of dy over (n, p, q).
template <typename T>
void conv_epilogue_cuda(const Conv2dParams& p, const T* bias, T* y, Stream s);
template <typename T>
void conv_bias_grad_cuda(const Conv2dParams& p, const T* dy, T* db, Stream s);

}  // namespace segcore::kernels
