#pragma once
// Helpers shared by the elementwise CUDA kernels: 16-byte packs for the contiguous fast path.
#include <cstdint>

#include "core/cuda/launch.cuh"

namespace segcore::kernels::ew {

// 16 bytes of T (4 floats, 8 halves): one 128-bit load/store per thread per step, which keeps
// more bytes in flight per instruction than scalar accesses and is what reaches HBM bandwidth.
template <typename T>
struct alignas(16) Pack16 {
    static constexpr int kSize = 16 / int(sizeof(T));
    T v[kSize];
};

// Whether every pointer is 16-byte aligned, so the packed path may reinterpret them.
inline bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15u) == 0; }

}  // namespace segcore::kernels::ew
