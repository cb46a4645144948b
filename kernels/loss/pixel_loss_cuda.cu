// CUDA backward of the fused per-pixel losses (kernels/loss/pixel_loss.h) and the shared
// second-stage reduction (kernels/loss/pixel_loss.cuh).
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "kernels/loss/pixel_loss.cuh"

namespace segcore::kernels {

namespace loss_cuda {

__global__ void pixel_loss_finalize_kernel(const float2* __restrict__ partials, int blocks, LossReduction r,
                                           float* __restrict__ totals) {
    __shared__ double sl[kPixelBlock], sw[kPixelBlock];
    double a = 0, b = 0;
    for (int i = threadIdx.x; i < blocks; i += blockDim.x) {
        a += double(partials[i].x);
        b += double(partials[i].y);
    }
    sl[threadIdx.x] = a;
    sw[threadIdx.x] = b;
    __syncthreads();
    for (int s = kPixelBlock / 2; s > 0; s /= 2) {
        if (int(threadIdx.x) < s) {
            sl[threadIdx.x] += sl[threadIdx.x + s];
            sw[threadIdx.x] += sw[threadIdx.x + s];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        double t[kTotalsSize] = {sl[0], sw[0], 0, 0, 0};
        pixel_loss_finish(r, t);
        totals[kTotalsSumLoss] = float(t[kTotalsSumLoss]);
        totals[kTotalsSumWeight] = float(t[kTotalsSumWeight]);
        totals[kTotalsLoss] = float(t[kTotalsLoss]);
        totals[kTotalsScale] = float(t[kTotalsScale]);
    }
}

void launch_pixel_loss_finalize(const float2* partials, int blocks, LossReduction r, float* totals,
                                cudaStream_t stream) {
    pixel_loss_finalize_kernel<<<1, kPixelBlock, 0, stream>>>(partials, blocks, r, totals);
    SEGCORE_CUDA_LAUNCH_CHECK();
}

}  // namespace loss_cuda

namespace {

using cuda::convert;

// Elementwise over (n, c, i): coalesced on grad/dx; py and a per-pixel upstream are read once per
// channel from L1/L2.
template <typename T>
__global__ void pixel_loss_backward_kernel(PixelLossBackwardParams p, const T* __restrict__ grad,
                                           const float* __restrict__ totals, const float* __restrict__ up,
                                           const float* __restrict__ py, T* __restrict__ dx) {
    const int64_t total = p.n * p.c * p.hw;
    const float scale = totals[kTotalsScale], thr = totals[kTotalsThreshold];
    const float up0 = up[0];
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t j = i % p.hw, n = i / (p.hw * p.c), pix = n * p.hw + j;
        float k = scale * (p.per_pixel_upstream ? up[pix] : up0);
        if (py && !(py[pix] < thr)) k = 0.f;
        dx[i] = convert<T>(convert<float>(grad[i]) * k);
    }
}

}  // namespace

template <typename T>
void pixel_loss_backward_cuda(const PixelLossBackwardParams& p, const T* grad, const float* totals,
                              const float* upstream, const float* py, T* dx, Stream s) {
    using D = cuda::device_t<T>;
    const int64_t total = p.n * p.c * p.hw;
    if (total == 0) return;
    pixel_loss_backward_kernel<D><<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(s.handle)>>>(
        p, cuda::dev_ptr(grad), totals, upstream, py, cuda::dev_ptr(dx));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template void pixel_loss_backward_cuda<float>(const PixelLossBackwardParams&, const float*, const float*, const float*,
                                              const float*, float*, Stream);
template void pixel_loss_backward_cuda<Half>(const PixelLossBackwardParams&, const Half*, const float*, const float*,
                                             const float*, Half*, Stream);
template void pixel_loss_backward_cuda<BFloat16>(const PixelLossBackwardParams&, const BFloat16*, const float*,
                                                 const float*, const float*, BFloat16*, Stream);

}  // namespace segcore::kernels
