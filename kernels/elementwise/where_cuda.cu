// CUDA where (kernels/elementwise/where.h). CPU reference: where_cpu.cpp.
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/elementwise/where.h"

namespace segcore::kernels {

namespace {

// Grid-stride over the broadcast output; the contiguous flag skips the offset arithmetic.
template <typename T>
__global__ void where_kernel(StridedGeometry<4> g, T* out, const bool* cond, const T* a, const T* b, bool contiguous) {
    const int64_t stride = int64_t(gridDim.x) * blockDim.x;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < g.numel; i += stride) {
        if (contiguous) {
            out[i] = cond[i] ? a[i] : b[i];
        } else {
            int64_t off[4];
            cuda::offsets_of(g, i, off);
            out[off[0]] = cond[off[1]] ? a[off[2]] : b[off[3]];
        }
    }
}

}  // namespace

template <typename T>
void where_cuda(const StridedGeometry<4>& g, T* out, const bool* cond, const T* a, const T* b, Stream s) {
    using D = cuda::device_t<T>;
    where_kernel<D><<<cuda::grid_for(g.numel), cuda::kBlock, 0, to_cuda(s.handle)>>>(
        g, cuda::dev_ptr(out), cond, cuda::dev_ptr(a), cuda::dev_ptr(b), g.contiguous());
    SEGCORE_CUDA_LAUNCH_CHECK();
}

#define SEGCORE_INSTANTIATE_WHERE(T) \
    template void where_cuda<T>(const StridedGeometry<4>&, T*, const bool*, const T*, const T*, Stream);
SEGCORE_INSTANTIATE_WHERE(float)
SEGCORE_INSTANTIATE_WHERE(Half)
SEGCORE_INSTANTIATE_WHERE(BFloat16)
SEGCORE_INSTANTIATE_WHERE(int32_t)
SEGCORE_INSTANTIATE_WHERE(int64_t)
SEGCORE_INSTANTIATE_WHERE(uint8_t)
#undef SEGCORE_INSTANTIATE_WHERE

}  // namespace segcore::kernels
