// CUDA flip (kernels/shape/flip.h). CPU reference: flip_cpu.cpp.
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/shape/flip.h"

namespace segcore::kernels {

namespace {

// One thread per output element, int64 indices (activations pass 2^31 elements).
template <typename Word>
__global__ void flip_kernel(FlipParams p, const Word* x, Word* y, int64_t numel) {
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    const int64_t row = p.len * p.inner;
    for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < numel; k += stride) {
        const int64_t o = k / row;
        const int64_t r = k - o * row;
        const int64_t i = r / p.inner;
        const int64_t j = r - i * p.inner;
        y[k] = x[o * row + (p.len - 1 - i) * p.inner + j];
    }
}

}  // namespace

template <typename Word>
void flip_cuda(const FlipParams& p, const Word* x, Word* y, Stream s) {
    const int64_t numel = p.outer * p.len * p.inner;
    flip_kernel<Word><<<cuda::grid_for(numel), cuda::kBlock, 0, to_cuda(s.handle)>>>(p, x, y, numel);
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template void flip_cuda<uint8_t>(const FlipParams&, const uint8_t*, uint8_t*, Stream);
template void flip_cuda<uint16_t>(const FlipParams&, const uint16_t*, uint16_t*, Stream);
template void flip_cuda<uint32_t>(const FlipParams&, const uint32_t*, uint32_t*, Stream);
template void flip_cuda<uint64_t>(const FlipParams&, const uint64_t*, uint64_t*, Stream);

}  // namespace segcore::kernels
