// CUDA max_pool2d / max_unpool2d (kernels/pool/max_pool2d.h). CPU reference: max_pool2d_cpu.cpp.
//
// Forward: one thread per output element (grid-stride, int64 index), consecutive threads take
// consecutive q so the loads of neighbouring windows coalesce. Comparisons in f32 (exact for
// f16/bf16: widening is exact and the selected value is stored back unchanged).
// Backward: a GATHER, one thread per input element. The outputs whose window can cover (h, w)
// form a small rectangle [p0, p1) x [q0, q1) (kernels/pool/pool_params.h); the thread sums dy over
// those whose saved index equals h*W + w, in (p, q) order — exactly the order of the CPU scatter,
// and no float atomics.
// Unpool forward: PyTorch's CPU loop lets the last input in scan order win on duplicate indices.
// Pass 1 records, per output slot, the largest input position writing it (an integer atomicMax:
// order-independent); pass 2 is a gather that writes every output (zero or the winner's value).
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/pool/max_pool2d.h"

namespace segcore::kernels {

namespace {

using cuda::convert;
using cuda::dacc_t;

template <typename T>
__global__ void max_pool2d_forward_kernel(Pool2dParams p, const T* __restrict__ x, T* __restrict__ y,
                                          int64_t* __restrict__ idx) {
    using A = dacc_t<T>;
    const int64_t total = p.planes() * p.out_plane();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t ox = i % p.ow, oy = (i / p.ow) % p.oh, pl = i / p.out_plane();
        const T* xp = x + pl * p.in_plane();
        int64_t h0 = oy * p.stride_h - p.pad_h, w0 = ox * p.stride_w - p.pad_w;
        while (h0 < 0) h0 += p.dil_h;
        while (w0 < 0) w0 += p.dil_w;
        const int64_t h1 = min(oy * p.stride_h - p.pad_h + (p.kh - 1) * p.dil_h + 1, p.h);
        const int64_t w1 = min(ox * p.stride_w - p.pad_w + (p.kw - 1) * p.dil_w + 1, p.w);
        A best = -INFINITY;
        int64_t best_i = h0 * p.w + w0;
        for (int64_t hh = h0; hh < h1; hh += p.dil_h)
            for (int64_t ww = w0; ww < w1; ww += p.dil_w) {
                const A v = convert<A>(xp[hh * p.w + ww]);
                if (v > best || isnan(v)) {
                    best = v;
                    best_i = hh * p.w + ww;
                }
            }
        y[i] = convert<T>(best);
        idx[i] = best_i;
    }
}

template <typename T>
__global__ void max_pool2d_backward_kernel(Pool2dParams p, const T* __restrict__ dy, const int64_t* __restrict__ idx,
                                           T* __restrict__ dx) {
    using A = dacc_t<T>;
    const int64_t total = p.planes() * p.in_plane();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t ww = i % p.w, hh = (i / p.w) % p.h, pl = i / p.in_plane();
        int64_t p0, p1, q0, q1;
        pool_covering_range(hh, p.kh, p.pad_h, p.stride_h, p.dil_h, p.oh, p0, p1);
        pool_covering_range(ww, p.kw, p.pad_w, p.stride_w, p.dil_w, p.ow, q0, q1);
        const int64_t target = hh * p.w + ww, base = pl * p.out_plane();
        A acc = A(0);
        for (int64_t oy = p0; oy < p1; ++oy)
            for (int64_t ox = q0; ox < q1; ++ox) {
                const int64_t o = base + oy * p.ow + ox;
                if (idx[o] == target) acc += convert<A>(dy[o]);
            }
        dx[i] = convert<T>(acc);
    }
}

// Pass 1 of unpool: winner[pl][j] = max input position i (within the plane) with idx == j.
__global__ void max_unpool2d_winner_kernel(Pool2dParams p, const int64_t* __restrict__ idx,
                                           unsigned long long* __restrict__ winner) {
    const int64_t in_plane = p.h * p.w, out_plane = p.oh * p.ow, total = p.planes() * in_plane;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t j = idx[i], pl = i / in_plane;
        if (j < 0 || j >= out_plane) continue;  // out of range: ignored on the device (documented)
        atomicMax(winner + pl * out_plane + j, (unsigned long long)(i % in_plane + 1));  // 0 = nobody
    }
}

// Pass 2: a gather over the output.
template <typename T>
__global__ void max_unpool2d_gather_kernel(Pool2dParams p, const T* __restrict__ x,
                                           const unsigned long long* __restrict__ winner, T* __restrict__ y) {
    const int64_t in_plane = p.h * p.w, out_plane = p.oh * p.ow, total = p.planes() * out_plane;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t w = int64_t(winner[i]), pl = i / out_plane;
        y[i] = w == 0 ? convert<T>(0.0f) : x[pl * in_plane + w - 1];
    }
}

template <typename T>
__global__ void max_unpool2d_backward_kernel(Pool2dParams p, const T* __restrict__ dy, const int64_t* __restrict__ idx,
                                             T* __restrict__ dx) {
    const int64_t in_plane = p.h * p.w, out_plane = p.oh * p.ow, total = p.planes() * in_plane;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t j = idx[i], pl = i / in_plane;
        dx[i] = (j >= 0 && j < out_plane) ? dy[pl * out_plane + j] : convert<T>(0.0f);
    }
}

}  // namespace

template <typename T>
void max_pool2d_forward_cuda(const Pool2dParams& p, const T* x, T* y, int64_t* idx, Stream st) {
    using D = cuda::device_t<T>;
    const int64_t total = p.planes() * p.out_plane();
    max_pool2d_forward_kernel<D>
        <<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(st.handle)>>>(p, cuda::dev_ptr(x), cuda::dev_ptr(y), idx);
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T>
void max_pool2d_backward_cuda(const Pool2dParams& p, const T* dy, const int64_t* idx, T* dx, Stream st) {
    using D = cuda::device_t<T>;
    const int64_t total = p.planes() * p.in_plane();
    max_pool2d_backward_kernel<D>
        <<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(st.handle)>>>(p, cuda::dev_ptr(dy), idx, cuda::dev_ptr(dx));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T>
void max_unpool2d_forward_cuda(const Pool2dParams& p, const T* x, const int64_t* idx, T* y, Stream st) {
    using D = cuda::device_t<T>;
    const cudaStream_t stream = to_cuda(st.handle);
    const int64_t out_total = p.planes() * p.oh * p.ow, in_total = p.planes() * p.h * p.w;
    Tensor winner = empty({out_total}, {DType::I64, Device::cuda(current_device())});
    auto* wp = reinterpret_cast<unsigned long long*>(winner.data<int64_t>());
    SEGCORE_CUDA_CHECK(cudaMemsetAsync(wp, 0, size_t(out_total) * sizeof(int64_t), stream));
    max_unpool2d_winner_kernel<<<cuda::grid_for(in_total), cuda::kBlock, 0, stream>>>(p, idx, wp);
    SEGCORE_CUDA_LAUNCH_CHECK();
    max_unpool2d_gather_kernel<D>
        <<<cuda::grid_for(out_total), cuda::kBlock, 0, stream>>>(p, cuda::dev_ptr(x), wp, cuda::dev_ptr(y));
    SEGCORE_CUDA_LAUNCH_CHECK();
    winner.record_stream(st);
}

template <typename T>
void max_unpool2d_backward_cuda(const Pool2dParams& p, const T* dy, const int64_t* idx, T* dx, Stream st) {
    using D = cuda::device_t<T>;
    const int64_t total = p.planes() * p.h * p.w;
    max_unpool2d_backward_kernel<D>
        <<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(st.handle)>>>(p, cuda::dev_ptr(dy), idx, cuda::dev_ptr(dx));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

#define SEGCORE_INSTANTIATE(T)                                                                             \
    template void max_pool2d_forward_cuda<T>(const Pool2dParams&, const T*, T*, int64_t*, Stream);         \
    template void max_pool2d_backward_cuda<T>(const Pool2dParams&, const T*, const int64_t*, T*, Stream);  \
    template void max_unpool2d_forward_cuda<T>(const Pool2dParams&, const T*, const int64_t*, T*, Stream); \
    template void max_unpool2d_backward_cuda<T>(const Pool2dParams&, const T*, const int64_t*, T*, Stream);
SEGCORE_INSTANTIATE(float)
SEGCORE_INSTANTIATE(Half)
SEGCORE_INSTANTIATE(BFloat16)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
