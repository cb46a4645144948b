#pragma once
// Launch helpers shared by core's and kernels' CUDA code: grid sizing and the device-side offset
// calculator for a StridedGeometry.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "core/geometry.h"

namespace segcore::cuda {

inline constexpr int kBlock = 256;

// Grid for a grid-stride loop over n elements: enough blocks to fill the device, capped so huge
// tensors loop instead of launching billions of blocks.
inline unsigned grid_for(int64_t n, int block = kBlock, int64_t max_blocks = 65535LL * 32) {
    const int64_t blocks = (n + block - 1) / block;
    return unsigned(std::max<int64_t>(1, std::min<int64_t>(blocks, max_blocks)));
}

// Offsets of operand k for linear index i: one div/mod per dim, int64 throughout (an activation
// of 16 x 64 x 1024 x 2048 has more than 2^31 elements).
template <int N>
__device__ __forceinline__ void offsets_of(const StridedGeometry<N>& g, int64_t i, int64_t (&off)[N]) {
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = 0;
    for (int d = g.ndim - 1; d >= 0; --d) {
        const int64_t size = g.sizes[d];
        const int64_t idx = i % size;
        i /= size;
#pragma unroll
        for (int k = 0; k < N; ++k) off[k] += idx * g.strides[k][d];
    }
}

}  // namespace segcore::cuda
