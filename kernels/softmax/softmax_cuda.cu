// CUDA softmax / log_softmax, forward and backward (kernels/softmax/softmax.h).
// CPU reference: kernels/softmax/softmax_cpu.cpp. f16/bf16 are computed in f32.
#include <cstdint>

#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/softmax/softmax.h"

namespace segcore::kernels {

namespace {

using cuda::device_t;

constexpr int64_t kWarpRowMax = 1024;  // rows up to this length get a warp, longer ones a block

__device__ __forceinline__ float max_nan(float a, float v) { return (v > a || v != v) ? v : a; }

// Group-wide max / sum for a group of G threads (a warp, or the whole block when G > 32); every
// thread gets the same value: a fixed shfl_down tree, then a broadcast of lane 0's result (an
// xor butterfly could leave lanes with differently rounded sums).
template <int G, bool IsMax>
__device__ __forceinline__ float group_reduce(float v, float* smem) {
#pragma unroll
    for (int d = 16; d > 0; d /= 2) {
        const float o = __shfl_down_sync(0xffffffffu, v, d);
        v = IsMax ? max_nan(v, o) : v + o;
    }
    if constexpr (G == 32) {
        return __shfl_sync(0xffffffffu, v, 0);
    } else {
        const int warp = threadIdx.x / 32, lane = threadIdx.x & 31;
        __syncthreads();  // smem may still be read from the previous call
        if (lane == 0) smem[warp] = v;
        __syncthreads();
        if (warp == 0) {
            v = lane < G / 32 ? smem[lane] : (IsMax ? -INFINITY : 0.f);
#pragma unroll
            for (int d = 16; d > 0; d /= 2) {
                const float o = __shfl_down_sync(0xffffffffu, v, d);
                v = IsMax ? max_nan(v, o) : v + o;
            }
            if (lane == 0) smem[0] = v;
        }
        __syncthreads();
        return smem[0];
    }
}

// inner == 1: a group of G threads per contiguous row of length C.
template <typename T, int G>
__global__ void softmax_forward_row_kernel(int64_t rows, int64_t C, bool log, const T* __restrict__ x,
                                           T* __restrict__ y) {
    __shared__ float smem[32];
    constexpr int kRowsPerBlock = G == 32 ? cuda::kBlock / 32 : 1;
    const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + (G == 32 ? threadIdx.x / 32 : 0);
    if (row >= rows) return;  // G == 32 only: whole warps leave together; G == 256 grids are exact
    const int t = G == 32 ? int(threadIdx.x & 31) : int(threadIdx.x);
    const T* xr = x + row * C;
    T* yr = y + row * C;
    float m = -INFINITY;
    for (int64_t c = t; c < C; c += G) m = max_nan(m, float(xr[c]));
    m = group_reduce<G, true>(m, smem);
    float s = 0.f;
    for (int64_t c = t; c < C; c += G) s += expf(float(xr[c]) - m);
    s = group_reduce<G, false>(s, smem);
    if (log) {
        // (x - m) - log(s), not x - (m + log(s)): m + log(s) rounds at the scale of m and loses
        // the small log(s) when logits are large (1e4 in f32 has a spacing of 1e-3).
        const float log_s = logf(s);
        for (int64_t c = t; c < C; c += G) yr[c] = cuda::convert<T>((float(xr[c]) - m) - log_s);
    } else {
        const float inv = 1.f / s;
        for (int64_t c = t; c < C; c += G) yr[c] = cuda::convert<T>(expf(float(xr[c]) - m) * inv);
    }
}

template <typename T, int G>
__global__ void softmax_backward_row_kernel(int64_t rows, int64_t C, bool log, const T* __restrict__ dy,
                                            const T* __restrict__ y, T* __restrict__ dx) {
    __shared__ float smem[32];
    constexpr int kRowsPerBlock = G == 32 ? cuda::kBlock / 32 : 1;
    const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + (G == 32 ? threadIdx.x / 32 : 0);
    if (row >= rows) return;
    const int t = G == 32 ? int(threadIdx.x & 31) : int(threadIdx.x);
    const int64_t base = row * C;
    float s = 0.f;
    for (int64_t c = t; c < C; c += G) s += log ? float(dy[base + c]) : float(dy[base + c]) * float(y[base + c]);
    s = group_reduce<G, false>(s, smem);
    for (int64_t c = t; c < C; c += G) {
        const float g = float(dy[base + c]), v = float(y[base + c]);
        dx[base + c] = cuda::convert<T>(log ? g - expf(v) * s : v * (g - s));
    }
}

// inner > 1 (e.g. NCHW logits, dim 1): a thread per (o, i) loops over c with stride S; a warp
// reads 32 neighbouring pixels of one channel at a time (coalesced).
template <typename T>
__global__ void softmax_forward_strided_kernel(int64_t n, int64_t C, int64_t S, bool log, const T* __restrict__ x,
                                               T* __restrict__ y) {
    const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= n) return;
    const int64_t o = idx / S, i = idx - o * S;
    const int64_t base = o * C * S + i;
    float m = -INFINITY;
    for (int64_t c = 0; c < C; ++c) m = max_nan(m, float(x[base + c * S]));
    float s = 0.f;
    for (int64_t c = 0; c < C; ++c) s += expf(float(x[base + c * S]) - m);
    if (log) {
        const float log_s = logf(s);  // (x - m) - log(s): see softmax_forward_row_kernel
        for (int64_t c = 0; c < C; ++c) y[base + c * S] = cuda::convert<T>((float(x[base + c * S]) - m) - log_s);
    } else {
        const float inv = 1.f / s;
        for (int64_t c = 0; c < C; ++c) y[base + c * S] = cuda::convert<T>(expf(float(x[base + c * S]) - m) * inv);
    }
}

template <typename T>
__global__ void softmax_backward_strided_kernel(int64_t n, int64_t C, int64_t S, bool log, const T* __restrict__ dy,
                                                const T* __restrict__ y, T* __restrict__ dx) {
    const int64_t idx = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (idx >= n) return;
    const int64_t o = idx / S, i = idx - o * S;
    const int64_t base = o * C * S + i;
    float s = 0.f;
    for (int64_t c = 0; c < C; ++c) {
        const int64_t k = base + c * S;
        s += log ? float(dy[k]) : float(dy[k]) * float(y[k]);
    }
    for (int64_t c = 0; c < C; ++c) {
        const int64_t k = base + c * S;
        const float g = float(dy[k]), v = float(y[k]);
        dx[k] = cuda::convert<T>(log ? g - expf(v) * s : v * (g - s));
    }
}

inline unsigned blocks_for(int64_t n, int64_t per_block) { return unsigned((n + per_block - 1) / per_block); }

}  // namespace

template <typename T>
void softmax_forward_cuda(const SoftmaxParams& p, const T* x, T* y, Stream s) {
    using D = device_t<T>;
    const D* dx = cuda::dev_ptr(x);
    D* dy = cuda::dev_ptr(y);
    const cudaStream_t st = to_cuda(s.handle);
    if (p.outer * p.dim_size * p.inner == 0) return;  // a grid of 0 blocks is a launch error
    if (p.inner > 1) {
        const int64_t n = p.outer * p.inner;
        softmax_forward_strided_kernel<D><<<blocks_for(n, cuda::kBlock), cuda::kBlock, 0, st>>>(n, p.dim_size, p.inner,
                                                                                               p.log, dx, dy);
    } else if (p.dim_size <= kWarpRowMax) {
        softmax_forward_row_kernel<D, 32><<<blocks_for(p.outer, cuda::kBlock / 32), cuda::kBlock, 0, st>>>(
            p.outer, p.dim_size, p.log, dx, dy);
    } else {
        softmax_forward_row_kernel<D, 256><<<unsigned(p.outer), 256, 0, st>>>(p.outer, p.dim_size, p.log, dx, dy);
    }
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T>
void softmax_backward_cuda(const SoftmaxParams& p, const T* dy, const T* y, T* dx, Stream s) {
    using D = device_t<T>;
    const D* g = cuda::dev_ptr(dy);
    const D* yy = cuda::dev_ptr(y);
    D* out = cuda::dev_ptr(dx);
    const cudaStream_t st = to_cuda(s.handle);
    if (p.outer * p.dim_size * p.inner == 0) return;  // a grid of 0 blocks is a launch error
    if (p.inner > 1) {
        const int64_t n = p.outer * p.inner;
        softmax_backward_strided_kernel<D><<<blocks_for(n, cuda::kBlock), cuda::kBlock, 0, st>>>(n, p.dim_size, p.inner,
                                                                                                p.log, g, yy, out);
    } else if (p.dim_size <= kWarpRowMax) {
        softmax_backward_row_kernel<D, 32><<<blocks_for(p.outer, cuda::kBlock / 32), cuda::kBlock, 0, st>>>(
            p.outer, p.dim_size, p.log, g, yy, out);
    } else {
        softmax_backward_row_kernel<D, 256><<<unsigned(p.outer), 256, 0, st>>>(p.outer, p.dim_size, p.log, g, yy, out);
    }
    SEGCORE_CUDA_LAUNCH_CHECK();
}

#define SEGCORE_SOFTMAX_CUDA(T)                                                                    \
    template void softmax_forward_cuda<T>(const SoftmaxParams&, const T*, T*, Stream);             \
    template void softmax_backward_cuda<T>(const SoftmaxParams&, const T*, const T*, T*, Stream);
SEGCORE_SOFTMAX_CUDA(float)
SEGCORE_SOFTMAX_CUDA(Half)
SEGCORE_SOFTMAX_CUDA(BFloat16)
#undef SEGCORE_SOFTMAX_CUDA

}  // namespace segcore::kernels
