// CUDA conv2d (kernels/conv/conv2d.h): im2col / col2im kernels around cuBLAS GEMMs
// (kernels/linalg/gemm.h), the classic Caffe formulation. It is the correctness baseline on the
// device; the implicit-GEMM tensor-core kernel and the cuDNN backend of the Network kernels issue
// replace it for speed. CPU reference: conv2d_cpu.cpp.
//
// col2im is a gather (one thread per input element sums the column entries that read it), so
// the input gradient is deterministic without atomics.
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/conv/conv2d.h"
#include "kernels/conv/conv2d_gemm_plan.h"
#include "kernels/conv/conv_backend.h"
#include "kernels/linalg/gemm.h"

namespace segcore::kernels {

namespace {

using cuda::convert;
using cuda::dacc_t;

// Column buffers: a band of output rows at a time, at most this many bytes (larger than the CPU's:
// the GEMMs need enough columns to fill the device).
constexpr int64_t kColBytes = int64_t(64) << 20;


// One thread per column element: col[row][(pp - p0) * Q + qq].
template <typename T>
__global__ void im2col_kernel(Conv2dParams p, const T* __restrict__ x, int64_t p0, int64_t p1, T* __restrict__ col) {
    const int64_t cols = (p1 - p0) * p.q, total = p.col_rows() * cols;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t row = i / cols, j = i % cols;
        const int64_t pp = p0 + j / p.q, qq = j % p.q;
        const int64_t s = row % p.s, r = (row / p.s) % p.r, c = row / (p.s * p.r);
        const int64_t h = pp * p.stride_h - p.pad_h + r * p.dil_h, w = qq * p.stride_w - p.pad_w + s * p.dil_w;
        col[i] = (h >= 0 && h < p.h && w >= 0 && w < p.w) ? x[(c * p.h + h) * p.w + w] : convert<T>(0.0f);
    }
}

// One thread per input element of one group: dx[c][h][w] (+)= sum of the column entries that read
// it in output rows [p0, p1). `accumulate` is false for the first band.
template <typename T>
__global__ void col2im_kernel(Conv2dParams p, const T* __restrict__ col, int64_t p0, int64_t p1, T* __restrict__ dx,
                              bool accumulate) {
    using A = dacc_t<T>;
    const int64_t cols = (p1 - p0) * p.q, total = p.c_per_group() * p.h * p.w;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t w = i % p.w, h = (i / p.w) % p.h, c = i / (p.w * p.h);
        A acc = accumulate ? convert<A>(dx[i]) : A(0);
        for (int64_t r = 0; r < p.r; ++r) {
            const int64_t hp = h + p.pad_h - r * p.dil_h;  // = pp * stride_h
            if (hp < 0 || hp % p.stride_h != 0) continue;
            const int64_t pp = hp / p.stride_h;
            if (pp < p0 || pp >= p1) continue;
            for (int64_t s = 0; s < p.s; ++s) {
                const int64_t wq = w + p.pad_w - s * p.dil_w;
                if (wq < 0 || wq % p.stride_w != 0) continue;
                const int64_t qq = wq / p.stride_w;
                if (qq >= p.q) continue;
                acc += convert<A>(col[((c * p.r + r) * p.s + s) * cols + (pp - p0) * p.q + qq]);
            }
        }
        dx[i] = convert<T>(acc);
    }
}

// The epilogue: y = act(y + bias) (bias may be null).
template <typename T>
__global__ void bias_act_kernel(int64_t total, int64_t pq, int64_t k, const T* __restrict__ bias, Act act,
                                T* __restrict__ y) {
    using A = dacc_t<T>;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const A b = bias ? convert<A>(bias[(i / pq) % k]) : A(0);
        y[i] = convert<T>(act_forward(act, convert<A>(y[i]) + b));
    }
}

// One block per output channel: a fixed-order tree reduction over (n, pixel) — deterministic.
template <typename T>
__global__ void bias_grad_kernel(int64_t n, int64_t k, int64_t pq, const T* __restrict__ dy, T* __restrict__ db) {
    __shared__ float partial[cuda::kBlock];
    const int64_t ch = blockIdx.x;
    float acc = 0.f;
    for (int64_t img = 0; img < n; ++img) {
        const T* d = dy + (img * k + ch) * pq;
        for (int64_t j = threadIdx.x; j < pq; j += blockDim.x) acc += convert<float>(d[j]);
    }
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) db[ch] = convert<T>(partial[0]);
}

// The im2col primitive of conv2d_gemm_plan.h on `stream`.
template <typename T>
auto im2col_launcher(const Conv2dParams& p, cudaStream_t stream) {
    return [&p, stream](const T* xg, int64_t p0, int64_t p1, T* c) {
        using D = cuda::device_t<T>;
        im2col_kernel<D><<<cuda::grid_for(p.col_rows() * (p1 - p0) * p.q), cuda::kBlock, 0, stream>>>(
            p, cuda::dev_ptr(xg), p0, p1, cuda::dev_ptr(c));
        SEGCORE_CUDA_LAUNCH_CHECK();
    };
}

template <typename T>
Tensor workspace(int64_t elems) {
    return empty({elems}, {dtype_of<T>, Device::cuda(current_device())});
}

}  // namespace

template <typename T>
void conv2d_forward_cuda(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y, Stream st) {
    // 16-bit dense convolutions run on tensor cores without an im2col buffer.
    if (conv2d_forward_implicit_gemm_cuda<T>(p, x, w, bias, y, st)) return;
    using D = cuda::device_t<T>;
    const cudaStream_t stream = to_cuda(st.handle);
    const int64_t pq = p.p * p.q, band = conv_plan::band_rows(p, sizeof(T), kColBytes);
    Tensor col = p.is_pointwise() ? Tensor() : workspace<T>(p.col_rows() * band * p.q);
    conv_plan::forward(
        p, band, x, w, y, col.defined() ? col.data<T>() : nullptr,
        im2col_launcher<T>(p, stream),
        [&](const GemmParams& gp, const T* a, const T* b, T* c) { gemm_cuda<T>(gp, a, b, c, st); });
    if (bias || p.act != Act::None) {
        const int64_t total = p.n * p.k * pq;
        bias_act_kernel<D><<<cuda::grid_for(total), cuda::kBlock, 0, stream>>>(
            total, pq, p.k, bias ? cuda::dev_ptr(bias) : nullptr, p.act, cuda::dev_ptr(y));
        SEGCORE_CUDA_LAUNCH_CHECK();
    }
    if (!col.defined()) return;
    col.record_stream(st);  // the workspace is reused only after this stream's kernels finish
}

template <typename T>
void conv2d_backward_input_cuda(const Conv2dParams& p, const T* dy, const T* w, T* dx, Stream st) {
    using D = cuda::device_t<T>;
    const cudaStream_t stream = to_cuda(st.handle);
    const int64_t band = conv_plan::band_rows(p, sizeof(T), kColBytes);
    Tensor col = p.is_pointwise() ? Tensor() : workspace<T>(p.col_rows() * band * p.q);
    conv_plan::backward_input(
        p, band, dy, w, dx, col.defined() ? col.data<T>() : nullptr,
        [&](const T* c, int64_t p0, int64_t p1, T* dxg, bool first_band) {
            const int64_t elems = p.c_per_group() * p.h * p.w;
            col2im_kernel<D><<<cuda::grid_for(elems), cuda::kBlock, 0, stream>>>(p, cuda::dev_ptr(c), p0, p1,
                                                                                 cuda::dev_ptr(dxg), !first_band);
            SEGCORE_CUDA_LAUNCH_CHECK();
        },
        [&](const GemmParams& gp, const T* a, const T* b, T* c) { gemm_cuda<T>(gp, a, b, c, st); });
    if (col.defined()) col.record_stream(st);
}

template <typename T>
void conv2d_backward_weight_cuda(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* db, Stream st) {
    using D = cuda::device_t<T>;
    const cudaStream_t stream = to_cuda(st.handle);
    const int64_t pq = p.p * p.q, band = conv_plan::band_rows(p, sizeof(T), kColBytes);
    Tensor col = p.is_pointwise() ? Tensor() : workspace<T>(p.col_rows() * band * p.q);
    const bool any = conv_plan::backward_weight(
        p, band, x, dy, dw, col.defined() ? col.data<T>() : nullptr,
        im2col_launcher<T>(p, stream),
        [&](const GemmParams& gp, const T* a, const T* b, T* c) { gemm_cuda<T>(gp, a, b, c, st); });
    if (!any) SEGCORE_CUDA_CHECK(cudaMemsetAsync(dw, 0, size_t(p.k * p.col_rows()) * sizeof(T), stream));  // empty batch
    if (db) {
        bias_grad_kernel<D><<<unsigned(p.k), cuda::kBlock, 0, stream>>>(p.n, p.k, pq, cuda::dev_ptr(dy),
                                                                       cuda::dev_ptr(db));
        SEGCORE_CUDA_LAUNCH_CHECK();
    }
    if (col.defined()) col.record_stream(st);
}

template <typename T>
void conv_epilogue_cuda(const Conv2dParams& p, const T* bias, T* y, Stream st) {
    using D = cuda::device_t<T>;
    const int64_t total = p.n * p.k * p.p * p.q;
    if ((!bias && p.act == Act::None) || total == 0) return;
    bias_act_kernel<D><<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(st.handle)>>>(
        total, p.p * p.q, p.k, bias ? cuda::dev_ptr(bias) : nullptr, p.act, cuda::dev_ptr(y));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T>
void conv_bias_grad_cuda(const Conv2dParams& p, const T* dy, T* db, Stream st) {
    using D = cuda::device_t<T>;
    if (p.k == 0) return;
    bias_grad_kernel<D><<<unsigned(p.k), cuda::kBlock, 0, to_cuda(st.handle)>>>(p.n, p.k, p.p * p.q, cuda::dev_ptr(dy),
                                                                               cuda::dev_ptr(db));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

#define SEGCORE_INSTANTIATE(T)                                                                                \
    template void conv_epilogue_cuda<T>(const Conv2dParams&, const T*, T*, Stream);                           \
    template void conv_bias_grad_cuda<T>(const Conv2dParams&, const T*, T*, Stream);                          \
    template void conv2d_forward_cuda<T>(const Conv2dParams&, const T*, const T*, const T*, T*, Stream);      \
    template void conv2d_backward_input_cuda<T>(const Conv2dParams&, const T*, const T*, T*, Stream);         \
    template void conv2d_backward_weight_cuda<T>(const Conv2dParams&, const T*, const T*, T*, T*, Stream);
SEGCORE_INSTANTIATE(float)
SEGCORE_INSTANTIATE(Half)
SEGCORE_INSTANTIATE(BFloat16)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
