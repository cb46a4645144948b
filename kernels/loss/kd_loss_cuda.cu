// CUDA distillation loss (kernels/loss/kd_loss.h). CPU reference: kd_loss_cpu.cpp.
//
// One thread per pixel looping over the classes (coalesced: consecutive threads, consecutive
// pixels of one class plane). Loop 1 keeps an online max / sum-exp for s/T and for t/T, reading
// each logit from DRAM once; loop 2 reads them again (L1/L2) for the KL terms and the gradient.
// Block partials and an ordered second stage (pixel_loss.cuh): deterministic, no float atomics.
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "kernels/loss/kd_loss.h"
#include "kernels/loss/pixel_loss.cuh"

namespace segcore::kernels {

namespace {

using cuda::convert;
using namespace loss_cuda;

__device__ __forceinline__ void online_add(float v, float& m, float& s) {
    if (v > m) {
        s = s * expf(m - v) + 1.f;
        m = v;
    } else {
        s += expf(v - m);
    }
}

template <typename T, typename L>
__global__ void __launch_bounds__(kPixelBlock)
    kd_loss_forward_kernel(KdParams p, const T* __restrict__ s, const T* __restrict__ t, const L* __restrict__ labels,
                           float* __restrict__ loss_pix, T* __restrict__ grad, float2* __restrict__ partials) {
    const int64_t C = p.c, hw = p.hw, total = p.n * hw;
    const float temp = float(p.temperature);
    float acc_l = 0.f, acc_w = 0.f;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / hw, j = i - n * hw, base = n * C * hw + j;
        const bool valid = !labels || int64_t(labels[i]) != p.ignore_index;
        float l = 0.f;
        if (valid) {
            float ma = convert<float>(s[base]) / temp, mb = convert<float>(t[base]) / temp, sa = 1.f, sb = 1.f;
            for (int64_t c = 1; c < C; ++c) {
                online_add(convert<float>(s[base + c * hw]) / temp, ma, sa);
                online_add(convert<float>(t[base + c * hw]) / temp, mb, sb);
            }
            const float la = logf(sa), lb = logf(sb);
            float kl = 0.f;
            for (int64_t c = 0; c < C; ++c) {
                const float logp = (convert<float>(s[base + c * hw]) / temp - ma) - la;
                const float logq = (convert<float>(t[base + c * hw]) / temp - mb) - lb;
                const float q = expf(logq);
                kl += q > 0.f ? q * (logq - logp) : 0.f;
                if (grad) grad[base + c * hw] = convert<T>(temp * (expf(logp) - q));
            }
            l = temp * temp * kl;
        } else if (grad) {
            for (int64_t c = 0; c < C; ++c) grad[base + c * hw] = convert<T>(0.f);
        }
        if (loss_pix) loss_pix[i] = l;
        acc_l += l;
        acc_w += valid ? 1.f : 0.f;
    }
    const float2 sum = block_sum2(acc_l, acc_w);
    if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

}  // namespace

template <typename T, typename L>
void kd_loss_forward_cuda(const KdParams& p, const T* s, const T* t, const L* labels, float* loss_pix, T* grad,
                          float* totals, LossReduction reduction, Stream st) {
    using D = cuda::device_t<T>;
    const cudaStream_t stream = to_cuda(st.handle);
    const unsigned blocks = pixel_loss_blocks(p.pixels());
    Tensor ws = empty({2 * int64_t(blocks)}, {DType::F32, Device::cuda(current_device())});
    float2* partials = reinterpret_cast<float2*>(ws.data<float>());
    if (p.pixels() > 0) {
        kd_loss_forward_kernel<D, L><<<blocks, kPixelBlock, 0, stream>>>(p, cuda::dev_ptr(s), cuda::dev_ptr(t), labels,
                                                                         loss_pix, cuda::dev_ptr(grad), partials);
        SEGCORE_CUDA_LAUNCH_CHECK();
    }
    launch_pixel_loss_finalize(partials, p.pixels() > 0 ? int(blocks) : 0, reduction, totals, stream);
    ws.record_stream(st);
}

#define SEGCORE_INSTANTIATE(T, L)                                                                               \
    template void kd_loss_forward_cuda<T, L>(const KdParams&, const T*, const T*, const L*, float*, T*, float*, \
                                             LossReduction, Stream);
#define SEGCORE_INSTANTIATE_LABELS(T) \
    SEGCORE_INSTANTIATE(T, int64_t)   \
    SEGCORE_INSTANTIATE(T, int32_t)   \
    SEGCORE_INSTANTIATE(T, uint8_t)
SEGCORE_INSTANTIATE_LABELS(float)
SEGCORE_INSTANTIATE_LABELS(Half)
SEGCORE_INSTANTIATE_LABELS(BFloat16)
#undef SEGCORE_INSTANTIATE_LABELS
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
