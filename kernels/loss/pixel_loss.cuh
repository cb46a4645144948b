#pragma once
// Device helpers shared by the fused per-pixel loss kernels (cross_entropy_cuda.cu,
// ohem_cross_entropy_cuda.cu, kd_loss_cuda.cu, pixel_loss_cuda.cu).
//
// Deterministic sums without float atomics: every per-pixel kernel runs a fixed grid
// (pixel_loss_blocks, which depends only on the problem size, never on the device), each thread
// accumulates its grid-stride pixels in order, each block reduces its threads with a fixed tree
// into partials[block] = (sum loss, sum weight), and pixel_loss_finalize_kernel combines the
// partials in block order (in double) and writes totals (kernels/loss/pixel_loss.h).
#include <cuda_runtime.h>

#include <cstdint>

#include "core/cuda/launch.cuh"
#include "kernels/loss/pixel_loss.h"

namespace segcore::kernels::loss_cuda {

inline constexpr int kPixelBlock = 256;
inline constexpr int64_t kMaxPixelBlocks = 1024;

// One thread per pixel up to 1024 blocks; beyond that threads loop (the partials stay small and
// the second stage stays one block).
inline unsigned pixel_loss_blocks(int64_t pixels) {
    const int64_t b = (pixels + kPixelBlock - 1) / kPixelBlock;
    return unsigned(b < 1 ? 1 : (b > kMaxPixelBlocks ? kMaxPixelBlocks : b));
}

// Tree-reduces (a, b) over the block (blockDim.x == kPixelBlock) into thread 0's return value.
__device__ __forceinline__ float2 block_sum2(float a, float b) {
    __shared__ float2 sh[kPixelBlock];
    sh[threadIdx.x] = make_float2(a, b);
    __syncthreads();
    for (int s = kPixelBlock / 2; s > 0; s /= 2) {
        if (int(threadIdx.x) < s) {
            sh[threadIdx.x].x += sh[threadIdx.x + s].x;
            sh[threadIdx.x].y += sh[threadIdx.x + s].y;
        }
        __syncthreads();
    }
    return sh[0];
}

// One block: totals[kTotalsSumLoss], totals[kTotalsSumWeight] from the partials in block order, then the
// reduced loss and the backward scale (pixel_loss_cuda.cu).
void launch_pixel_loss_finalize(const float2* partials, int blocks, LossReduction r, float* totals,
                                cudaStream_t stream);

// A label outside [0, C) that is not ignore_index: counted, and the smallest flat index kept as
// the largest key = total - index (integer atomics: the result does not depend on the order).
__device__ __forceinline__ void record_bad_label(int64_t* bad, int64_t i, int64_t total) {
    atomicAdd(reinterpret_cast<unsigned long long*>(bad), 1ull);
    atomicMax(reinterpret_cast<unsigned long long*>(bad + 1), (unsigned long long)(total - i));
}

}  // namespace segcore::kernels::loss_cuda
