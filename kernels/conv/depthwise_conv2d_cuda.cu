// CUDA depthwise conv2d (kernels/conv/depthwise_conv2d.h). CPU reference: depthwise_conv2d_cpu.cpp.
//
// Depthwise layers are memory-bound (9 multiply-adds per loaded element for 3x3), so the kernels
// aim at coalesced access rather than arithmetic: consecutive threads own consecutive output (or
// input) columns of one plane, and the R x S filter is read through the read-only cache.
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/conv/depthwise_conv2d.h"

namespace segcore::kernels {

namespace {

using cuda::convert;

// One thread per output element y[n, k, p, q].
template <typename T>
__global__ void dw_forward_kernel(Conv2dParams p, const T* __restrict__ x, const T* __restrict__ w,
                                  const T* __restrict__ bias, T* __restrict__ y) {
    const int64_t total = p.n * p.k * p.p * p.q, m = p.k / p.c;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t q = i % p.q, pp = (i / p.q) % p.p, k = (i / (p.q * p.p)) % p.k, n = i / (p.q * p.p * p.k);
        const T* xc = x + (n * p.c + k / m) * p.h * p.w;
        const T* wk = w + k * p.r * p.s;
        float acc = bias ? convert<float>(bias[k]) : 0.f;
        for (int64_t r = 0; r < p.r; ++r) {
            const int64_t h = pp * p.stride_h - p.pad_h + r * p.dil_h;
            if (h < 0 || h >= p.h) continue;
            for (int64_t s = 0; s < p.s; ++s) {
                const int64_t ww = q * p.stride_w - p.pad_w + s * p.dil_w;
                if (ww < 0 || ww >= p.w) continue;
                acc += convert<float>(__ldg(wk + r * p.s + s)) * convert<float>(xc[h * p.w + ww]);
            }
        }
        y[i] = convert<T>(act_forward(p.act, acc));
    }
}

// One thread per input element dx[n, c, h, w]: a gather over the outputs whose window covers it.
template <typename T>
__global__ void dw_backward_input_kernel(Conv2dParams p, const T* __restrict__ dy, const T* __restrict__ w,
                                         T* __restrict__ dx) {
    const int64_t total = p.n * p.c * p.h * p.w, m = p.k / p.c;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t wc = i % p.w, h = (i / p.w) % p.h, c = (i / (p.w * p.h)) % p.c, n = i / (p.w * p.h * p.c);
        float acc = 0.f;
        for (int64_t j = 0; j < m; ++j) {
            const int64_t k = c * m + j;
            const T* g = dy + (n * p.k + k) * p.p * p.q;
            const T* wk = w + k * p.r * p.s;
            for (int64_t r = 0; r < p.r; ++r) {
                const int64_t hp = h + p.pad_h - r * p.dil_h;
                if (hp < 0 || hp % p.stride_h != 0) continue;
                const int64_t pp = hp / p.stride_h;
                if (pp >= p.p) continue;
                for (int64_t s = 0; s < p.s; ++s) {
                    const int64_t wq = wc + p.pad_w - s * p.dil_w;
                    if (wq < 0 || wq % p.stride_w != 0) continue;
                    const int64_t q = wq / p.stride_w;
                    if (q >= p.q) continue;
                    acc += convert<float>(__ldg(wk + r * p.s + s)) * convert<float>(g[pp * p.q + q]);
                }
            }
        }
        dx[i] = convert<T>(acc);
    }
}

// One block per filter tap (k, r, s): sum over (n, p, q) of dy * x, fixed-order tree reduction.
// Blocks with tap index R*S compute the bias gradient of channel k instead.
template <typename T>
__global__ void dw_backward_weight_kernel(Conv2dParams p, const T* __restrict__ x, const T* __restrict__ dy,
                                          T* __restrict__ dw, T* __restrict__ db) {
    __shared__ float partial[cuda::kBlock];
    const int64_t taps = p.r * p.s;
    const int64_t k = blockIdx.x / (taps + 1), tap = blockIdx.x % (taps + 1), m = p.k / p.c;
    const bool bias_block = tap == taps;
    if (bias_block && !db) return;
    const int64_t r = tap / p.s, s = tap % p.s, pq = p.p * p.q;
    float acc = 0.f;
    for (int64_t e = threadIdx.x; e < p.n * pq; e += blockDim.x) {
        const int64_t n = e / pq, pp = (e % pq) / p.q, q = e % p.q;
        const float g = convert<float>(dy[(n * p.k + k) * pq + pp * p.q + q]);
        if (bias_block) {
            acc += g;
            continue;
        }
        const int64_t h = pp * p.stride_h - p.pad_h + r * p.dil_h, ww = q * p.stride_w - p.pad_w + s * p.dil_w;
        if (h >= 0 && h < p.h && ww >= 0 && ww < p.w) acc += g * convert<float>(x[((n * p.c + k / m) * p.h + h) * p.w + ww]);
    }
    partial[threadIdx.x] = acc;
    __syncthreads();
    for (int st = blockDim.x / 2; st > 0; st /= 2) {
        if (threadIdx.x < st) partial[threadIdx.x] += partial[threadIdx.x + st];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        if (bias_block) db[k] = convert<T>(partial[0]);
        else dw[k * taps + tap] = convert<T>(partial[0]);
    }
}

}  // namespace

template <typename T>
void depthwise_conv2d_forward_cuda(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y, Stream s) {
    using D = cuda::device_t<T>;
    const int64_t total = p.n * p.k * p.p * p.q;
    if (total == 0) return;
    dw_forward_kernel<D><<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(s.handle)>>>(
        p, cuda::dev_ptr(x), cuda::dev_ptr(w), bias ? cuda::dev_ptr(bias) : nullptr, cuda::dev_ptr(y));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T>
void depthwise_conv2d_backward_input_cuda(const Conv2dParams& p, const T* dy, const T* w, T* dx, Stream s) {
    using D = cuda::device_t<T>;
    const int64_t total = p.n * p.c * p.h * p.w;
    if (total == 0) return;
    dw_backward_input_kernel<D><<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(s.handle)>>>(
        p, cuda::dev_ptr(dy), cuda::dev_ptr(w), cuda::dev_ptr(dx));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T>
void depthwise_conv2d_backward_weight_cuda(const Conv2dParams& p, const T* x, const T* dy, T* dw, T* db, Stream s) {
    using D = cuda::device_t<T>;
    const int64_t blocks = p.k * (p.r * p.s + 1);
    if (blocks == 0) return;
    dw_backward_weight_kernel<D><<<unsigned(blocks), cuda::kBlock, 0, to_cuda(s.handle)>>>(
        p, cuda::dev_ptr(x), cuda::dev_ptr(dy), cuda::dev_ptr(dw), db ? cuda::dev_ptr(db) : nullptr);
    SEGCORE_CUDA_LAUNCH_CHECK();
}

#define SEGCORE_INSTANTIATE(T)                                                                                       \
    template void depthwise_conv2d_forward_cuda<T>(const Conv2dParams&, const T*, const T*, const T*, T*, Stream);   \
    template void depthwise_conv2d_backward_input_cuda<T>(const Conv2dParams&, const T*, const T*, T*, Stream);      \
    template void depthwise_conv2d_backward_weight_cuda<T>(const Conv2dParams&, const T*, const T*, T*, T*, Stream);
SEGCORE_INSTANTIATE(float)
SEGCORE_INSTANTIATE(Half)
SEGCORE_INSTANTIATE(BFloat16)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
