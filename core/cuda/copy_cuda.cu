// CUDA copy, fill and random fill (core/copy.h). CPU reference: core/copy_cpu.cpp.
#include <cstring>

#include "core/copy.h"
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "core/philox.h"

namespace segcore {

namespace {

using cuda::convert;
using cuda::device_t;

// One thread per element (grid-stride). The contiguous branch skips the index arithmetic so
// packed copies and casts run at memory bandwidth.
template <typename D, typename S>
__global__ void copy_kernel(StridedGeometry<2> g, D* __restrict__ dst, const S* __restrict__ src, bool contiguous) {
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
        if (contiguous) {
            dst[i] = convert<D>(src[i]);
        } else {
            int64_t off[2];
            cuda::offsets_of(g, i, off);
            dst[off[0]] = convert<D>(src[off[1]]);
        }
    }
}

template <typename T>
__global__ void fill_kernel(StridedGeometry<1> g, T* __restrict__ dst, T value) {
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
        int64_t off[1];
        cuda::offsets_of(g, i, off);
        dst[off[0]] = value;
    }
}

template <typename T>
__global__ void random_kernel(StridedGeometry<1> g, T* __restrict__ dst, RandomParams p) {
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
        int64_t off[1];
        cuda::offsets_of(g, i, off);
        T v;
        if (p.kind == RandomKind::Uniform) v = convert<T>(philox::uniform_scaled(p.seed, p.offset, i, p.a, p.b));
        else if (p.kind == RandomKind::Normal) v = convert<T>(philox::normal_scaled(p.seed, p.offset, i, p.a, p.b));
        else v = convert<T>(philox::randint_at(p.seed, p.offset, i, int64_t(p.a), int64_t(p.b)));
        dst[off[0]] = v;
    }
}

}  // namespace

void copy_cuda(const StridedGeometry<2>& g, DType dst_t, void* dst, DType src_t, const void* src, Stream s) {
    if (dst_t == src_t && g.contiguous()) {
        memcpy_device(dst, src, g.numel * int64_t(dtype_size(dst_t)), s);
        return;
    }
    visit_dtype(dst_t, [&](auto dtag) {
        using D = device_t<typename decltype(dtag)::type>;
        visit_dtype(src_t, [&](auto stag) {
            using S = device_t<typename decltype(stag)::type>;
            copy_kernel<D, S><<<cuda::grid_for(g.numel), cuda::kBlock, 0, to_cuda(s.handle)>>>(
                g, static_cast<D*>(dst), static_cast<const S*>(src), g.contiguous());
            SEGCORE_CUDA_LAUNCH_CHECK();
        });
    });
}

void fill_cuda(const StridedGeometry<1>& g, DType t, void* dst, double value, Stream s) {
    visit_dtype(t, [&](auto tag) {
        using H = typename decltype(tag)::type;
        using T = device_t<H>;
        // Convert on the host with the CPU rules, then pass the bits.
        H hv;
        if constexpr (std::is_same_v<H, bool>) hv = value != 0.0;
        else if constexpr (std::is_same_v<H, Half> || std::is_same_v<H, BFloat16>) hv = H(float(value));
        else hv = H(value);
        T v;
        std::memcpy(static_cast<void*>(&v), &hv, sizeof(T));
        fill_kernel<T><<<cuda::grid_for(g.numel), cuda::kBlock, 0, to_cuda(s.handle)>>>(g, static_cast<T*>(dst), v);
        SEGCORE_CUDA_LAUNCH_CHECK();
    });
}

void random_cuda(const StridedGeometry<1>& g, DType t, void* dst, const RandomParams& p, Stream s) {
    visit_dtype(t, [&](auto tag) {
        using T = device_t<typename decltype(tag)::type>;
        random_kernel<T><<<cuda::grid_for(g.numel), cuda::kBlock, 0, to_cuda(s.handle)>>>(g, static_cast<T*>(dst), p);
        SEGCORE_CUDA_LAUNCH_CHECK();
    });
}

void memcpy_to_device(void* dst, const void* src, int64_t nbytes, Stream s) {
    SEGCORE_CUDA_CHECK(cudaMemcpyAsync(dst, src, size_t(nbytes), cudaMemcpyHostToDevice, to_cuda(s.handle)));
}
void memcpy_to_host(void* dst, const void* src, int64_t nbytes, Stream s) {
    // The host may read dst as soon as this returns: finish the copy first.
    SEGCORE_CUDA_CHECK(cudaMemcpyAsync(dst, src, size_t(nbytes), cudaMemcpyDeviceToHost, to_cuda(s.handle)));
    SEGCORE_CUDA_CHECK(cudaStreamSynchronize(to_cuda(s.handle)));
}
void memcpy_device(void* dst, const void* src, int64_t nbytes, Stream s) {
    SEGCORE_CUDA_CHECK(cudaMemcpyAsync(dst, src, size_t(nbytes), cudaMemcpyDeviceToDevice, to_cuda(s.handle)));
}

}  // namespace segcore
