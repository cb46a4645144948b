// CUDA gradient helpers (kernels/optim/grad_ops.h). CPU reference: grad_ops_cpu.cpp.
//
// l2_norm: pass 1 (multi-tensor, one launch per table) writes each chunk's sum of squares to the
// workspace: f32 per thread over float4 words, then a warp-shuffle tree and a tree over the block's
// warps, in a fixed order. Pass 2, one block, sums the chunk partials in double (thread k takes
// partials k, k + 512, ... in order, then a fixed tree) and writes the norm and, when asked, the
// clip coefficient. No atomics: the result depends only on the list's sizes and values.
// non_finite_check_and_unscale: a block ORs "saw a non-finite value" over its threads
// (__syncthreads_or) and thread 0 stores 1.0f into found_inf: every writer stores the same value,
// so the plain store is not an order-dependent accumulation.
#include <cmath>
#include <type_traits>

#include "core/cuda/cuda_check.h"
#include "kernels/optim/grad_ops.h"
#include "kernels/optim/multi_tensor_cuda.cuh"

namespace segcore::kernels {

namespace {

using mt::ChunkTable;

constexpr int kFinalBlock = 512;

__global__ void __launch_bounds__(mt::kBlock)
    l2_norm_partial_kernel(const __grid_constant__ ChunkTable<1> t, int32_t chunks, float* partial) {
    __shared__ float warp_sums[mt::kBlock / 32];
    for (int32_t c = blockIdx.x; c < chunks; c += gridDim.x) {
        const auto pos = mt::chunk_pos(t, c);
        float* base[1] = {t.ptr[0][pos.tensor] + pos.begin};
        float acc = 0.0f;
        mt::apply_chunk<1, 0u>(base, pos.n, [&](float(&e)[1]) { acc += e[0] * e[0]; });
        for (int d = 16; d > 0; d >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, d);
        if ((threadIdx.x & 31) == 0) warp_sums[threadIdx.x >> 5] = acc;
        __syncthreads();
        if (threadIdx.x < 32) {
            float w = threadIdx.x < mt::kBlock / 32 ? warp_sums[threadIdx.x] : 0.0f;
            for (int d = 16; d > 0; d >>= 1) w += __shfl_down_sync(0xffffffffu, w, d);
            if (threadIdx.x == 0) partial[c] = w;
        }
        __syncthreads();  // warp_sums is reused by the next chunk
    }
}

__global__ void __launch_bounds__(kFinalBlock)
    l2_norm_final_kernel(const float* partial, int64_t n, float* norm_out, float* coef_out, double max_norm) {
    __shared__ double sums[kFinalBlock];
    double acc = 0.0;
    for (int64_t k = threadIdx.x; k < n; k += kFinalBlock) acc += double(partial[k]);
    sums[threadIdx.x] = acc;
    __syncthreads();
    for (int stride = kFinalBlock / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) sums[threadIdx.x] += sums[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        const float norm = float(sqrt(sums[0]));
        *norm_out = norm;
        if (coef_out) {
            const float coef = float(max_norm) / (norm + 1e-6f);
            *coef_out = coef > 1.0f ? 1.0f : coef;  // NaN stays NaN, as torch.clamp(max=1)
        }
    }
}

__global__ void __launch_bounds__(mt::kBlock)
    scale_kernel(const __grid_constant__ ChunkTable<1> t, int32_t chunks, const float* scale) {
    const float s = *scale;
    for (int32_t c = blockIdx.x; c < chunks; c += gridDim.x) {
        const auto pos = mt::chunk_pos(t, c);
        float* base[1] = {t.ptr[0][pos.tensor] + pos.begin};
        mt::apply_chunk<1, 1u>(base, pos.n, [&](float(&e)[1]) { e[0] = e[0] * s; });
    }
}

template <bool Unscale>
__global__ void __launch_bounds__(mt::kBlock)
    non_finite_check_and_unscale_kernel(const __grid_constant__ ChunkTable<1> t, int32_t chunks, float* found_inf,
                                        const float* inv_scale) {
    const float inv = Unscale ? *inv_scale : 1.0f;
    bool bad = false;
    for (int32_t c = blockIdx.x; c < chunks; c += gridDim.x) {
        const auto pos = mt::chunk_pos(t, c);
        float* base[1] = {t.ptr[0][pos.tensor] + pos.begin};
        mt::apply_chunk<1, Unscale ? 1u : 0u>(base, pos.n, [&](float(&e)[1]) {
            bad = bad || !isfinite(e[0]);
            if (Unscale) e[0] = e[0] * inv;  // torch multiplies even when it finds an inf
        });
    }
    if (__syncthreads_or(bad) && threadIdx.x == 0) *found_inf = 1.0f;
}

__global__ void update_scale_kernel(UpdateScaleParams p, float* scale, int32_t* growth_tracker,
                                    const float* found_inf) {
    if (*found_inf != 0.0f) {
        *scale = float(double(*scale) * p.backoff_factor);
        *growth_tracker = 0;
        return;
    }
    const int64_t successful = int64_t(*growth_tracker) + 1;
    if (successful == p.growth_interval) {
        const float grown = float(double(*scale) * p.growth_factor);
        if (isfinite(grown)) *scale = grown;
        *growth_tracker = 0;
    } else {
        *growth_tracker = int32_t(successful);
    }
}

}  // namespace

template <typename T>
void l2_norm_cuda(const TensorLists<T>& t, float* workspace, T* norm_out, T* coef_out, double max_norm, Stream s) {
    static_assert(std::is_same_v<T, float>, "the multi-tensor CUDA helpers are f32");
    const cudaStream_t st = to_cuda(s.handle);
    int64_t offset = 0;
    mt::for_each_table<1>(t, nullptr, [&](const ChunkTable<1>& table, int32_t chunks) {
        l2_norm_partial_kernel<<<mt::grid_for_chunks(chunks), mt::kBlock, 0, st>>>(table, chunks, workspace + offset);
        SEGCORE_CUDA_LAUNCH_CHECK();
        offset += chunks;
    });
    l2_norm_final_kernel<<<1, kFinalBlock, 0, st>>>(workspace, offset, norm_out, coef_out, max_norm);
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T>
void scale_cuda(const TensorLists<T>& t, const T* scale, Stream s) {
    static_assert(std::is_same_v<T, float>, "the multi-tensor CUDA helpers are f32");
    mt::for_each_table<1>(t, nullptr, [&](const ChunkTable<1>& table, int32_t chunks) {
        scale_kernel<<<mt::grid_for_chunks(chunks), mt::kBlock, 0, to_cuda(s.handle)>>>(table, chunks, scale);
        SEGCORE_CUDA_LAUNCH_CHECK();
    });
}

template <typename T>
void non_finite_check_and_unscale_cuda(const TensorLists<T>& t, float* found_inf, const float* inv_scale, Stream s) {
    static_assert(std::is_same_v<T, float>, "the multi-tensor CUDA helpers are f32");
    mt::for_each_table<1>(t, nullptr, [&](const ChunkTable<1>& table, int32_t chunks) {
        const unsigned grid = mt::grid_for_chunks(chunks);
        if (inv_scale)
            non_finite_check_and_unscale_kernel<true>
                <<<grid, mt::kBlock, 0, to_cuda(s.handle)>>>(table, chunks, found_inf, inv_scale);
        else
            non_finite_check_and_unscale_kernel<false>
                <<<grid, mt::kBlock, 0, to_cuda(s.handle)>>>(table, chunks, found_inf, inv_scale);
        SEGCORE_CUDA_LAUNCH_CHECK();
    });
}

void update_scale_cuda(const UpdateScaleParams& p, float* scale, int32_t* growth_tracker, const float* found_inf,
                       Stream s) {
    update_scale_kernel<<<1, 1, 0, to_cuda(s.handle)>>>(p, scale, growth_tracker, found_inf);
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template void l2_norm_cuda<float>(const TensorLists<float>&, float*, float*, float*, double, Stream);
template void scale_cuda<float>(const TensorLists<float>&, const float*, Stream);
template void non_finite_check_and_unscale_cuda<float>(const TensorLists<float>&, float*, const float*, Stream);

}  // namespace segcore::kernels
