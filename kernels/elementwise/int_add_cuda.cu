// CUDA side of ops::int_add_ (kernels/elementwise/int_add.h).
#include "core/cuda/cuda_check.h"
#include "core/cuda/launch.cuh"
#include "kernels/elementwise/int_add.h"

namespace segcore::kernels {

namespace {
template <typename I>
__global__ void int_add_kernel(I* t, int64_t n, int64_t v) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        t[i] = I(t[i] + v);
}
}  // namespace

template <typename I>
void int_add_cuda(I* t, int64_t n, int64_t v, Stream s) {
    if (n == 0) return;
    int_add_kernel<I><<<cuda::grid_for(n), cuda::kBlock, 0, to_cuda(s.handle)>>>(t, n, v);
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template void int_add_cuda<int32_t>(int32_t*, int64_t, int64_t, Stream);
template void int_add_cuda<int64_t>(int64_t*, int64_t, int64_t, Stream);

}  // namespace segcore::kernels
