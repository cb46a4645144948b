// CUDA avg_pool2d / adaptive_avg_pool2d (kernels/pool/avg_pool2d.h). CPU reference:
// avg_pool2d_cpu.cpp.
//
// Forward: one thread per output element (consecutive threads, consecutive q: coalesced window
// loads), f32 sums. Global / coarse adaptive pooling (a 512 x 1024 plane into 1 x 1) would leave
// one thread summing half a million pixels, so bins of at least kBlockBin pixels get one block per
// output: threads stride the bin and combine in a fixed shared-memory tree (deterministic).
// Backward: GATHERS, one thread per input element. The windows covering (h, w) form a rectangle
// of outputs computable from (h, w) alone (pool_covering_range / adaptive_covering_range); the
// thread adds dy / D over it in (p, q) order — the CPU scatter's order, no atomics.
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/pool/avg_pool2d.h"

namespace segcore::kernels {

namespace {

using cuda::convert;
using cuda::dacc_t;

constexpr int64_t kBlockBin = 1024;

template <typename T>
__global__ void avg_pool2d_forward_kernel(Pool2dParams p, const T* __restrict__ x, T* __restrict__ y) {
    using A = dacc_t<T>;
    const int64_t total = p.planes() * p.out_plane();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t ox = i % p.ow, oy = (i / p.ow) % p.oh, pl = i / p.out_plane();
        const T* xp = x + pl * p.in_plane();
        const AvgWindow win = avg_window(p, oy, ox);
        A sum = A(0);
        for (int64_t h = win.h0; h < win.h1; ++h)
            for (int64_t w = win.w0; w < win.w1; ++w) sum += convert<A>(xp[h * p.w + w]);
        y[i] = convert<T>(sum / A(win.divisor));
    }
}

template <typename T>
__global__ void avg_pool2d_backward_kernel(Pool2dParams p, const T* __restrict__ dy, T* __restrict__ dx) {
    using A = dacc_t<T>;
    const int64_t total = p.planes() * p.in_plane();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t w = i % p.w, h = (i / p.w) % p.h, pl = i / p.in_plane();
        int64_t p0, p1, q0, q1;
        pool_covering_range(h, p.kh, p.pad_h, p.stride_h, 1, p.oh, p0, p1);
        pool_covering_range(w, p.kw, p.pad_w, p.stride_w, 1, p.ow, q0, q1);
        const T* dyp = dy + pl * p.out_plane();
        A acc = A(0);
        for (int64_t oy = p0; oy < p1; ++oy)
            for (int64_t ox = q0; ox < q1; ++ox) {
                const AvgWindow win = avg_window(p, oy, ox);
                if (h < win.h0 || h >= win.h1 || w < win.w0 || w >= win.w1) continue;
                acc += convert<A>(dyp[oy * p.ow + ox]) / A(win.divisor);
            }
        dx[i] = convert<T>(acc);
    }
}

// Small bins: one thread per output.
template <typename T>
__global__ void adaptive_avg_pool2d_forward_kernel(Pool2dParams p, const T* __restrict__ x, T* __restrict__ y) {
    using A = dacc_t<T>;
    const int64_t total = p.planes() * p.out_plane();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t ox = i % p.ow, oy = (i / p.ow) % p.oh, pl = i / p.out_plane();
        const int64_t h0 = adaptive_start(oy, p.h, p.oh), h1 = adaptive_end(oy, p.h, p.oh);
        const int64_t w0 = adaptive_start(ox, p.w, p.ow), w1 = adaptive_end(ox, p.w, p.ow);
        const T* xp = x + pl * p.in_plane();
        A sum = A(0);
        for (int64_t h = h0; h < h1; ++h)
            for (int64_t w = w0; w < w1; ++w) sum += convert<A>(xp[h * p.w + w]);
        y[i] = convert<T>(sum / A((h1 - h0) * (w1 - w0)));
    }
}

// Large bins: one block per output, threads stride the bin's pixels, fixed tree combine.
template <typename T>
__global__ void adaptive_avg_pool2d_forward_block_kernel(Pool2dParams p, const T* __restrict__ x, T* __restrict__ y) {
    using A = dacc_t<T>;
    __shared__ A partial[cuda::kBlock];
    const int64_t total = p.planes() * p.out_plane();
    for (int64_t i = blockIdx.x; i < total; i += gridDim.x) {
        const int64_t ox = i % p.ow, oy = (i / p.ow) % p.oh, pl = i / p.out_plane();
        const int64_t h0 = adaptive_start(oy, p.h, p.oh), h1 = adaptive_end(oy, p.h, p.oh);
        const int64_t w0 = adaptive_start(ox, p.w, p.ow), w1 = adaptive_end(ox, p.w, p.ow);
        const int64_t bw = w1 - w0, count = (h1 - h0) * bw;
        const T* xp = x + pl * p.in_plane();
        A sum = A(0);
        for (int64_t j = threadIdx.x; j < count; j += blockDim.x)
            sum += convert<A>(xp[(h0 + j / bw) * p.w + w0 + j % bw]);
        partial[threadIdx.x] = sum;
        __syncthreads();
        for (int s = blockDim.x / 2; s > 0; s /= 2) {
            if (threadIdx.x < s) partial[threadIdx.x] += partial[threadIdx.x + s];
            __syncthreads();
        }
        if (threadIdx.x == 0) y[i] = convert<T>(partial[0] / A(count));
        __syncthreads();  // partial[] is reused by the next output
    }
}

template <typename T>
__global__ void adaptive_avg_pool2d_backward_kernel(Pool2dParams p, const T* __restrict__ dy, T* __restrict__ dx) {
    using A = dacc_t<T>;
    const int64_t total = p.planes() * p.in_plane();
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t w = i % p.w, h = (i / p.w) % p.h, pl = i / p.in_plane();
        int64_t p0, p1, q0, q1;
        adaptive_covering_range(h, p.h, p.oh, p0, p1);
        adaptive_covering_range(w, p.w, p.ow, q0, q1);
        const T* dyp = dy + pl * p.out_plane();
        A acc = A(0);
        for (int64_t oy = p0; oy < p1; ++oy) {
            const int64_t h0 = adaptive_start(oy, p.h, p.oh), h1 = adaptive_end(oy, p.h, p.oh);
            if (h < h0 || h >= h1) continue;
            for (int64_t ox = q0; ox < q1; ++ox) {
                const int64_t w0 = adaptive_start(ox, p.w, p.ow), w1 = adaptive_end(ox, p.w, p.ow);
                if (w < w0 || w >= w1) continue;
                acc += convert<A>(dyp[oy * p.ow + ox]) / A((h1 - h0) * (w1 - w0));
            }
        }
        dx[i] = convert<T>(acc);
    }
}

}  // namespace

template <typename T>
void avg_pool2d_forward_cuda(const Pool2dParams& p, const T* x, T* y, Stream st) {
    using D = cuda::device_t<T>;
    const int64_t total = p.planes() * p.out_plane();
    avg_pool2d_forward_kernel<D>
        <<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(st.handle)>>>(p, cuda::dev_ptr(x), cuda::dev_ptr(y));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T>
void avg_pool2d_backward_cuda(const Pool2dParams& p, const T* dy, T* dx, Stream st) {
    using D = cuda::device_t<T>;
    const int64_t total = p.planes() * p.in_plane();
    avg_pool2d_backward_kernel<D>
        <<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(st.handle)>>>(p, cuda::dev_ptr(dy), cuda::dev_ptr(dx));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T>
void adaptive_avg_pool2d_forward_cuda(const Pool2dParams& p, const T* x, T* y, Stream st) {
    using D = cuda::device_t<T>;
    const cudaStream_t stream = to_cuda(st.handle);
    const int64_t total = p.planes() * p.out_plane();
    const int64_t max_bin = ((p.h + p.oh - 1) / p.oh + 1) * ((p.w + p.ow - 1) / p.ow + 1);
    if (max_bin >= kBlockBin) {
        const unsigned blocks = unsigned(std::min<int64_t>(total, 65535LL * 32));
        adaptive_avg_pool2d_forward_block_kernel<D>
            <<<blocks, cuda::kBlock, 0, stream>>>(p, cuda::dev_ptr(x), cuda::dev_ptr(y));
    } else {
        adaptive_avg_pool2d_forward_kernel<D>
            <<<cuda::grid_for(total), cuda::kBlock, 0, stream>>>(p, cuda::dev_ptr(x), cuda::dev_ptr(y));
    }
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T>
void adaptive_avg_pool2d_backward_cuda(const Pool2dParams& p, const T* dy, T* dx, Stream st) {
    using D = cuda::device_t<T>;
    const int64_t total = p.planes() * p.in_plane();
    adaptive_avg_pool2d_backward_kernel<D>
        <<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(st.handle)>>>(p, cuda::dev_ptr(dy), cuda::dev_ptr(dx));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

#define SEGCORE_INSTANTIATE(T)                                                                    \
    template void avg_pool2d_forward_cuda<T>(const Pool2dParams&, const T*, T*, Stream);          \
    template void avg_pool2d_backward_cuda<T>(const Pool2dParams&, const T*, T*, Stream);         \
    template void adaptive_avg_pool2d_forward_cuda<T>(const Pool2dParams&, const T*, T*, Stream); \
    template void adaptive_avg_pool2d_backward_cuda<T>(const Pool2dParams&, const T*, T*, Stream);
SEGCORE_INSTANTIATE(float)
SEGCORE_INSTANTIATE(Half)
SEGCORE_INSTANTIATE(BFloat16)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
