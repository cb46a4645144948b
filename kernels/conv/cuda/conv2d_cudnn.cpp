// cuDNN convolutions (kernels/conv/conv_backend.h): the baseline our kernels are measured against
// and a selectable backend. Uses cuDNN's convolution API (cudnnConvolutionForward and friends,
// still shipped in cuDNN 9). Algorithms come from cuDNN's heuristics (the *_v7 queries), taking
// the first that fits the workspace limit and, for the gradients, is deterministic — so a cuDNN
// run is as reproducible as a native one. f32 uses FMA math (no TF32, matching segcore's own f32);
// f16/bf16 use tensor cores with f32 accumulation.
#include "kernels/conv/conv_backend.h"

#include "core/error.h"

#if SEGCORE_WITH_CUDNN
#include <cudnn.h>

#include <map>
#include <mutex>

#include "core/cuda/cuda_check.h"
#include "core/cuda/cudnn_check.h"
#endif

namespace segcore::kernels {

#if SEGCORE_WITH_CUDNN

namespace {

constexpr size_t kWorkspaceLimit = size_t(1) << 30;  // 1 GiB

// One handle per (thread, device): cuDNN handles are not thread-safe.
cudnnHandle_t handle_for(Stream s) {
    thread_local std::map<int, cudnnHandle_t> handles;
    const int dev = current_device();
    auto it = handles.find(dev);
    if (it == handles.end()) {
        cudnnHandle_t h;
        SEGCORE_CUDNN_CHECK(cudnnCreate(&h));
        it = handles.emplace(dev, h).first;
    }
    SEGCORE_CUDNN_CHECK(cudnnSetStream(it->second, static_cast<cudaStream_t>(s.handle)));
    return it->second;
}

template <typename T>
cudnnDataType_t cudnn_type() {
    if constexpr (std::is_same_v<T, float>) return CUDNN_DATA_FLOAT;
    else if constexpr (std::is_same_v<T, Half>) return CUDNN_DATA_HALF;
    else return CUDNN_DATA_BFLOAT16;
}

// Descriptors for one convolution, destroyed with it.
struct Descriptors {
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;

    template <typename T>
    explicit Descriptors(const Conv2dParams& p, TypeTag<T>) {
        const cudnnDataType_t t = cudnn_type<T>();
        SEGCORE_CUDNN_CHECK(cudnnCreateTensorDescriptor(&x));
        SEGCORE_CUDNN_CHECK(cudnnCreateTensorDescriptor(&y));
        SEGCORE_CUDNN_CHECK(cudnnCreateFilterDescriptor(&w));
        SEGCORE_CUDNN_CHECK(cudnnCreateConvolutionDescriptor(&conv));
        SEGCORE_CUDNN_CHECK(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, t, int(p.n), int(p.c), int(p.h), int(p.w)));
        SEGCORE_CUDNN_CHECK(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, t, int(p.n), int(p.k), int(p.p), int(p.q)));
        SEGCORE_CUDNN_CHECK(
            cudnnSetFilter4dDescriptor(w, t, CUDNN_TENSOR_NCHW, int(p.k), int(p.c / p.groups), int(p.r), int(p.s)));
        SEGCORE_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(conv, int(p.pad_h), int(p.pad_w), int(p.stride_h),
                                                            int(p.stride_w), int(p.dil_h), int(p.dil_w),
                                                            CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
        SEGCORE_CUDNN_CHECK(cudnnSetConvolutionGroupCount(conv, int(p.groups)));
        SEGCORE_CUDNN_CHECK(cudnnSetConvolutionMathType(
            conv, std::is_same_v<T, float> ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH));
    }
    ~Descriptors() {
        if (x) cudnnDestroyTensorDescriptor(x);
        if (y) cudnnDestroyTensorDescriptor(y);
        if (w) cudnnDestroyFilterDescriptor(w);
        if (conv) cudnnDestroyConvolutionDescriptor(conv);
    }
    Descriptors(const Descriptors&) = delete;
    Descriptors& operator=(const Descriptors&) = delete;
};

// The first heuristic result that succeeded, fits the workspace limit and (when asked) is deterministic.
template <typename Perf>
const Perf& pick(const Perf* perf, int count, bool need_deterministic, const char* what) {
    for (int i = 0; i < count; ++i)
        if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= kWorkspaceLimit &&
            (!need_deterministic || perf[i].determinism == CUDNN_DETERMINISTIC))
            return perf[i];
    SEGCORE_THROW("cuDNN offers no ", need_deterministic ? "deterministic " : "", "algorithm for this ", what,
                  " within a ", kWorkspaceLimit >> 20, " MiB workspace");
}

Tensor workspace(size_t bytes) {
    return empty({int64_t(bytes)}, {DType::U8, Device::cuda(current_device())});
}

void* ws_ptr(Tensor& t) { return t.numel() ? t.data_ptr() : nullptr; }

}  // namespace

template <typename T>
void conv2d_forward_cudnn(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y, Stream s) {
    cudnnHandle_t h = handle_for(s);
    Descriptors d(p, TypeTag<T>{});
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int n = 0;
    SEGCORE_CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x, d.w, d.conv, d.y,
                                                               CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &n, perf));
    const auto& algo = pick(perf, n, false, "convolution forward");
    Tensor ws = workspace(algo.memory);
    const float one = 1.f, zero = 0.f;
    SEGCORE_CUDNN_CHECK(cudnnConvolutionForward(h, &one, d.x, x, d.w, w, d.conv, algo.algo, ws_ptr(ws), algo.memory,
                                                &zero, d.y, y));
    ws.record_stream(s);
    conv_epilogue_cuda<T>(p, bias, y, s);
}

template <typename T>
void conv2d_backward_input_cudnn(const Conv2dParams& p, const T* dy, const T* w, T* dx, Stream s) {
    cudnnHandle_t h = handle_for(s);
    Descriptors d(p, TypeTag<T>{});
    cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
    int n = 0;
    SEGCORE_CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.w, d.y, d.conv, d.x,
                                                                    CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &n, perf));
    const auto& algo = pick(perf, n, true, "convolution input gradient");
    Tensor ws = workspace(algo.memory);
    const float one = 1.f, zero = 0.f;
    SEGCORE_CUDNN_CHECK(cudnnConvolutionBackwardData(h, &one, d.w, w, d.y, dy, d.conv, algo.algo, ws_ptr(ws),
                                                     algo.memory, &zero, d.x, dx));
    ws.record_stream(s);
}

template <typename T>
void conv2d_backward_weight_cudnn(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* db, Stream s) {
    cudnnHandle_t h = handle_for(s);
    Descriptors d(p, TypeTag<T>{});
    cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
    int n = 0;
    SEGCORE_CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(
        h, d.x, d.y, d.conv, d.w, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &n, perf));
    const auto& algo = pick(perf, n, true, "convolution weight gradient");
    Tensor ws = workspace(algo.memory);
    const float one = 1.f, zero = 0.f;
    SEGCORE_CUDNN_CHECK(cudnnConvolutionBackwardFilter(h, &one, d.x, x, d.y, dy, d.conv, algo.algo, ws_ptr(ws),
                                                       algo.memory, &zero, d.w, dw));
    ws.record_stream(s);
    if (db) conv_bias_grad_cuda<T>(p, dy, db, s);
}

#else  // no cuDNN in this build

#define SEGCORE_NO_CUDNN() SEGCORE_THROW("this build has no cuDNN (install libcudnn9-dev-cuda-13 and reconfigure)")
template <typename T>
void conv2d_forward_cudnn(const Conv2dParams&, const T*, const T*, const T*, T*, Stream) {
    SEGCORE_NO_CUDNN();
}
template <typename T>
void conv2d_backward_input_cudnn(const Conv2dParams&, const T*, const T*, T*, Stream) {
    SEGCORE_NO_CUDNN();
}
template <typename T>
void conv2d_backward_weight_cudnn(const Conv2dParams&, const T*, const T*, T*, T*, Stream) {
    SEGCORE_NO_CUDNN();
}
#undef SEGCORE_NO_CUDNN

#endif

#define SEGCORE_INSTANTIATE(T)                                                                                     \
    template void conv2d_forward_cudnn<T>(const Conv2dParams&, const T*, const T*, const T*, T*, Stream);          \
    template void conv2d_backward_input_cudnn<T>(const Conv2dParams&, const T*, const T*, T*, Stream);             \
    template void conv2d_backward_weight_cudnn<T>(const Conv2dParams&, const T*, const T*, T*, T*, Stream);
SEGCORE_INSTANTIATE(float)
SEGCORE_INSTANTIATE(Half)
SEGCORE_INSTANTIATE(BFloat16)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
