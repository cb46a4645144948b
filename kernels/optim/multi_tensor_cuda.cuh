#pragma once
// Multi-tensor apply on CUDA: the pointers, sizes and step counts of a whole list travel in ONE
// kernel-argument struct (a chunk table), and a fixed grid of blocks walks the list's chunks
// (multi_tensor.h) in a grid-stride loop: chunk c goes to block c % gridDim.x. A block finds its
// tensor by binary search over the chunk prefix sums (a few steps for ~160 tensors, once per 16K
// elements), so one launch updates a whole parameter group however its sizes are spread.
//
// Table size: since CUDA 12.1 a kernel may take up to 32764 bytes of arguments (sm_70+). The table
// uses at most kTableBytes, which holds 465 tensors of an Adam+amsgrad update (5 lists) and 880 of
// a one-list op; a longer list is split into several launches of consecutive tensors (a ResNet-50
// has 161 parameter tensors, a DeepLabV3+ ResNet-101 ~370: one launch). The struct is passed as a
// __grid_constant__ parameter so blocks index it directly in the parameter bank (no local copy).
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "core/cuda/cuda_check.h"
#include "kernels/optim/multi_tensor.h"

namespace segcore::kernels::mt {

inline constexpr int kBlock = 256;
inline constexpr int kTableBytes = 31 * 1024;

template <int Depth>
struct ChunkTable {
    // per tensor: Depth pointers, numel, first chunk, host step count, skip counter
    static constexpr int kPerTensor = Depth * 8 + 8 + 4 + 8 + 8;
    static constexpr int kMax = (kTableBytes - 64) / kPerTensor;
    float* ptr[Depth][kMax];
    int64_t numel[kMax];
    int64_t step[kMax];
    float* skipped[kMax];
    int32_t chunk_begin[kMax + 1];  // chunk_begin[n] = total chunks
    int32_t num_tensors;
};

// The table plus the other kernel arguments must stay under CUDA's 32764-byte limit.
static_assert(sizeof(ChunkTable<1>) <= kTableBytes && sizeof(ChunkTable<2>) <= kTableBytes &&
              sizeof(ChunkTable<3>) <= kTableBytes && sizeof(ChunkTable<4>) <= kTableBytes &&
              sizeof(ChunkTable<5>) <= kTableBytes);

// Tensor owning global chunk c: the last i with chunk_begin[i] <= c.
template <int Depth>
__device__ __forceinline__ int tensor_of_chunk(const ChunkTable<Depth>& t, int32_t c) {
    int lo = 0, hi = t.num_tensors - 1;
    while (lo < hi) {
        const int mid = (lo + hi + 1) >> 1;
        if (t.chunk_begin[mid] <= c)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

inline int sm_count() {
    int dev = 0, n = 0;
    SEGCORE_CUDA_CHECK(cudaGetDevice(&dev));
    SEGCORE_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    return n;
}

// Grid for a table: every chunk gets a block when there are few; otherwise a few resident blocks
// per SM walk the chunks.
inline unsigned grid_for_chunks(int64_t chunks) {
    thread_local int cached_dev = -1, cached_sms = 0;
    int dev = 0;
    SEGCORE_CUDA_CHECK(cudaGetDevice(&dev));
    if (dev != cached_dev) {
        cached_sms = sm_count();
        cached_dev = dev;
    }
    return unsigned(std::max<int64_t>(1, std::min<int64_t>(chunks, int64_t(cached_sms) * 8)));
}

// Fills tables with consecutive non-empty tensors of `lists` (depth Depth) and calls
// launch(table, total_chunks) for each full table and the last partial one.
template <int Depth, typename Launch>
void for_each_table(const TensorLists<float>& lists, const StepCounts* steps, Launch&& launch) {
    ChunkTable<Depth> table;
    table.num_tensors = 0;
    int32_t chunks = 0;
    auto flush = [&] {
        if (table.num_tensors == 0) return;
        table.chunk_begin[table.num_tensors] = chunks;
        launch(table, chunks);
        table.num_tensors = 0;
        chunks = 0;
    };
    for (int64_t i = 0; i < lists.size(); ++i) {
        const int64_t n = lists.numel[size_t(i)];
        if (n == 0) continue;
        const int k = table.num_tensors;
        for (int d = 0; d < Depth; ++d) table.ptr[d][k] = lists.lists[size_t(d)][size_t(i)];
        table.numel[k] = n;
        table.step[k] = steps && !steps->step.empty() ? steps->step[size_t(i)] : 0;
        table.skipped[k] = steps && !steps->skipped.empty() ? steps->skipped[size_t(i)] : nullptr;
        table.chunk_begin[k] = chunks;
        chunks += int32_t((n + kMultiTensorChunk - 1) / kMultiTensorChunk);
        table.num_tensors = k + 1;
        if (table.num_tensors == ChunkTable<Depth>::kMax) flush();
    }
    flush();
}

__device__ __forceinline__ bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

// A block applies op(e) to every element of one chunk, where e[d] is the element of list d; lists
// whose bit is set in kWrite are stored back (grads, read only, are not). When every base pointer
// is 16-byte aligned (always for the caching allocator's blocks; the chunk start is a multiple of 4
// elements) thread k moves elements 4k..4k+3 with one float4 load/store per list, consecutive
// threads reading consecutive 16-byte words (coalesced); the tail and unaligned views go scalar.
template <int Depth, unsigned kWrite, typename Op>
__device__ __forceinline__ void apply_chunk(float* const (&base)[Depth], int64_t n, const Op& op) {
    bool aligned = true;
#pragma unroll
    for (int d = 0; d < Depth; ++d) aligned = aligned && aligned16(base[d]);
    int64_t done = 0;
    if (aligned) {
        const int64_t n4 = n >> 2;
        for (int64_t k = threadIdx.x; k < n4; k += blockDim.x) {
            float4 r[Depth];
#pragma unroll
            for (int d = 0; d < Depth; ++d) r[d] = reinterpret_cast<const float4*>(base[d])[k];
#pragma unroll
            for (int lane = 0; lane < 4; ++lane) {
                float e[Depth];
#pragma unroll
                for (int d = 0; d < Depth; ++d) e[d] = (&r[d].x)[lane];
                op(e);
#pragma unroll
                for (int d = 0; d < Depth; ++d) (&r[d].x)[lane] = e[d];
            }
#pragma unroll
            for (int d = 0; d < Depth; ++d)
                if (kWrite & (1u << d)) reinterpret_cast<float4*>(base[d])[k] = r[d];
        }
        done = n4 << 2;
    }
    for (int64_t j = done + threadIdx.x; j < n; j += blockDim.x) {
        float e[Depth];
#pragma unroll
        for (int d = 0; d < Depth; ++d) e[d] = base[d][j];
        op(e);
#pragma unroll
        for (int d = 0; d < Depth; ++d)
            if (kWrite & (1u << d)) base[d][j] = e[d];
    }
}

// Where chunk c of table t starts: its tensor, the element offset and the element count.
template <int Depth>
struct ChunkPos {
    int tensor;
    int64_t begin, n;
};
template <int Depth>
__device__ __forceinline__ ChunkPos<Depth> chunk_pos(const ChunkTable<Depth>& t, int32_t c) {
    const int i = tensor_of_chunk(t, c);
    const int64_t begin = int64_t(c - t.chunk_begin[i]) * kMultiTensorChunk;
    return {i, begin, t.numel[i] - begin < kMultiTensorChunk ? t.numel[i] - begin : kMultiTensorChunk};
}

// Skipped step (found_inf): one thread per tensor bumps its skip counter (multi_tensor.h, StepCounts).
template <int Depth>
__device__ __forceinline__ void count_skip(const ChunkTable<Depth>& t) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < t.num_tensors; i += gridDim.x * blockDim.x)
        if (t.skipped[i]) *t.skipped[i] += 1.0f;
}

}  // namespace segcore::kernels::mt
