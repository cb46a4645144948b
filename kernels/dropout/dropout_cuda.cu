// CUDA dropout (kernels/dropout/dropout.h). The mask kernel evaluates the same host/device
// Philox function as the CPU (core/philox.h: integer operations and one exact float scaling), so
// the masks are bitwise identical. One thread per mask entry, then one per element for the
// apply: both grid-stride loops with int64 indices; the apply is a streaming read-modify-write.
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "core/philox.h"
#include "kernels/dropout/dropout.h"

namespace segcore::kernels {

namespace {

using cuda::convert;
using cuda::dacc_t;

// One thread per four entries: they share Philox counter offset + k (philox::uniform_at).
__global__ void dropout_mask_kernel(int64_t n, float keep_prob, uint64_t seed, uint64_t offset, bool* __restrict__ mask) {
    const int64_t quads = (n + 3) / 4;
    for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < quads; k += int64_t(gridDim.x) * blockDim.x) {
        const philox::U32x4 r = philox::philox4x32(offset + uint64_t(k), 0, seed);
#pragma unroll
        for (int t = 0; t < 4; ++t)
            if (4 * k + t < n) mask[4 * k + t] = philox::uint_to_unit(r.x[t]) < keep_prob;
    }
}

template <typename T>
__global__ void dropout_apply_kernel(int64_t n, int64_t group, dacc_t<T> scale, const T* __restrict__ x,
                                     const bool* __restrict__ mask, T* __restrict__ y) {
    using A = dacc_t<T>;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        y[i] = mask[group == 1 ? i : i / group] ? convert<T>(convert<A>(x[i]) * scale) : convert<T>(0.0f);
}

}  // namespace

void dropout_mask_cuda(const DropoutParams& p, bool* mask, Stream st) {
    const int64_t n = p.mask_numel();
    dropout_mask_kernel<<<cuda::grid_for((n + 3) / 4), cuda::kBlock, 0, to_cuda(st.handle)>>>(n, p.keep_prob, p.seed, p.offset,
                                                                                    mask);
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T>
void dropout_apply_cuda(const DropoutParams& p, const T* x, const bool* mask, T* y, Stream st) {
    using D = cuda::device_t<T>;
    dropout_apply_kernel<D><<<cuda::grid_for(p.numel), cuda::kBlock, 0, to_cuda(st.handle)>>>(
        p.numel, p.group, dacc_t<D>(p.scale), cuda::dev_ptr(x), mask, cuda::dev_ptr(y));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template void dropout_apply_cuda<float>(const DropoutParams&, const float*, const bool*, float*, Stream);
template void dropout_apply_cuda<Half>(const DropoutParams&, const Half*, const bool*, Half*, Stream);
template void dropout_apply_cuda<BFloat16>(const DropoutParams&, const BFloat16*, const bool*, BFloat16*, Stream);

}  // namespace segcore::kernels
