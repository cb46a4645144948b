// CUDA fused cross-entropy / focal loss (kernels/loss/cross_entropy.h). CPU reference:
// cross_entropy_cpu.cpp.
//
// One thread per pixel, looping over the C classes. Class planes are H*W apart, so at every step
// of that loop consecutive threads read consecutive pixels of one plane: each warp load is one
// 128-byte transaction (coalesced) with no shared-memory transpose. The loop keeps an online
// max / sum-exp (a new maximum rescales the running sum), so the logits come from DRAM once; the
// gradient loop reads the same values again, from L1/L2 (a block's 256 pixels x 19 classes x 4
// bytes = 19 KiB), and writes the gradient with the same coalesced pattern.
// Reductions: each thread sums its pixels, each block tree-reduces into partials[block], and one
// block combines the partials in order (pixel_loss.cuh): deterministic, no float atomics. The
// bad-label record uses integer atomics only.
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "kernels/loss/cross_entropy.h"
#include "kernels/loss/pixel_loss.cuh"

namespace segcore::kernels {

namespace {

using cuda::convert;
using namespace loss_cuda;

constexpr int kUnroll = 4;

template <typename T, typename L>
__global__ void __launch_bounds__(kPixelBlock)
    cross_entropy_forward_kernel(CrossEntropyParams p, const T* __restrict__ x, const L* __restrict__ labels,
                                 const float* __restrict__ weight, float* __restrict__ loss_pix, float* __restrict__ py,
                                 T* __restrict__ grad, float2* __restrict__ partials, int64_t* __restrict__ bad) {
    const int64_t C = p.c, hw = p.hw, total = p.n * hw;
    const float eps = p.focal ? 0.f : float(p.label_smoothing), eps_c = eps / float(C), gamma = float(p.gamma);
    float acc_l = 0.f, acc_w = 0.f;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = i / hw, j = i - n * hw;
        const T* xp = x + n * C * hw + j;
        const int64_t v = int64_t(labels[i]);
        const bool valid = v != p.ignore_index && v >= 0 && v < C;
        if (!valid && v != p.ignore_index) record_bad_label(bad, i, total);
        float ca = 0.f, cb = 0.f, ce = 0.f, m = 0.f, ls = 0.f, l = 0.f, wt = 0.f;
        if (valid) {
            // Online max / sum-exp, started from the first class so a -inf logit needs no guard.
            m = convert<float>(xp[0]);
            float s = 1.f, sx = 0.f;               // sx = sum_c w_c (x_c - m), rescaled when m moves
            float wsx = weight ? weight[0] : 1.f;  // weights seen so far (sx's shift); W after the loop
            const auto step = [&](float xc, int64_t c) {
                const float wc = weight ? weight[c] : 1.f;
                if (xc > m) {
                    s = s * expf(m - xc) + 1.f;
                    sx += wsx * (m - xc);  // shift the old terms to the new max
                    m = xc;
                } else {
                    s += expf(xc - m);
                }
                sx += wc * (xc - m);
                wsx += wc;
            };
            // kUnroll loads issued before they are used: one outstanding load per thread cannot cover
            // HBM latency (bytes in flight per SM ~ bandwidth x latency / SMs ~ 20 KiB).
            int64_t c = 1;
            for (; c + kUnroll <= C; c += kUnroll) {
                float xv[kUnroll];
#pragma unroll
                for (int u = 0; u < kUnroll; ++u) xv[u] = convert<float>(xp[(c + u) * hw]);
#pragma unroll
                for (int u = 0; u < kUnroll; ++u) step(xv[u], c + u);
            }
            for (; c < C; ++c) step(convert<float>(xp[c * hw]), c);
            ls = logf(s);
            const float logq = (convert<float>(xp[v * hw]) - m) - ls;
            const float wy = weight ? weight[v] : (p.focal ? float(p.alpha_scalar) : 1.f);
            if (!p.focal) {
                const float wsum = wsx, smooth = wsum * ls - sx;
                l = (1.f - eps) * wy * (-logq) + eps_c * smooth;
                wt = wy;
                ca = (1.f - eps) * wy + eps_c * wsum;
                cb = (1.f - eps) * wy;
                ce = eps_c;
            } else {
                const float q = expf(logq), omq = -expm1f(logq), pw = powf(omq, gamma);
                l = -wy * pw * logq;
                wt = 1.f;
                const float t2 = (gamma != 0.f && omq > 0.f) ? gamma * q * (pw / omq) * logq : 0.f;
                ca = cb = wy * (pw - t2);
            }
            if (py) py[i] = expf(logq);
        } else if (py) {
            py[i] = __int_as_float(0x7f800000);  // +inf: never selected
        }
        if (loss_pix) loss_pix[i] = l;
        acc_l += l;
        acc_w += wt;
        if (grad) {
            T* gp = grad + n * C * hw + j;
            // An ignored pixel has ca = cb = ce = 0, so its gradient is 0 without a branch (m and ls
            // are 0 there: the exp stays finite unless the logit is inf/NaN, masked by `valid`).
            const auto grad_at = [&](float xc, int64_t c) {
                const float pc = expf((xc - m) - ls);
                const float wc = weight && !p.focal ? weight[c] : 1.f;
                const float g = pc * ca - (c == v ? cb : 0.f) - wc * ce;
                gp[c * hw] = convert<T>(valid ? g : 0.f);
            };
            int64_t c = 0;
            for (; c + kUnroll <= C; c += kUnroll) {
                float xv[kUnroll];
#pragma unroll
                for (int u = 0; u < kUnroll; ++u) xv[u] = valid ? convert<float>(xp[(c + u) * hw]) : 0.f;
#pragma unroll
                for (int u = 0; u < kUnroll; ++u) grad_at(xv[u], c + u);
            }
            for (; c < C; ++c) grad_at(valid ? convert<float>(xp[c * hw]) : 0.f, c);
        }
    }
    const float2 sum = block_sum2(acc_l, acc_w);
    if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

}  // namespace

template <typename T, typename L>
void cross_entropy_forward_cuda(const CrossEntropyParams& p, const T* x, const L* labels, const float* weight,
                                float* loss_pix, float* py, T* grad, float* totals, int64_t* bad,
                                LossReduction reduction, Stream s) {
    using D = cuda::device_t<T>;
    const cudaStream_t stream = to_cuda(s.handle);
    const unsigned blocks = pixel_loss_blocks(p.pixels());
    Tensor ws = empty({int64_t(2 * blocks) + 2}, {DType::F32, Device::cuda(current_device())});
    float2* partials = reinterpret_cast<float2*>(ws.data<float>());
    if (p.pixels() > 0) {
        cross_entropy_forward_kernel<D, L><<<blocks, kPixelBlock, 0, stream>>>(
            p, cuda::dev_ptr(x), labels, weight, loss_pix, py, cuda::dev_ptr(grad), partials, bad);
        SEGCORE_CUDA_LAUNCH_CHECK();
        launch_pixel_loss_finalize(partials, int(blocks), reduction, totals, stream);
    } else {
        SEGCORE_CUDA_CHECK(cudaMemsetAsync(totals, 0, kTotalsSize * sizeof(float), stream));
        launch_pixel_loss_finalize(partials, 0, reduction, totals, stream);
    }
    ws.record_stream(s);
}

#define SEGCORE_INSTANTIATE(T, L)                                                                               \
    template void cross_entropy_forward_cuda<T, L>(const CrossEntropyParams&, const T*, const L*, const float*, \
                                                   float*, float*, T*, float*, int64_t*, LossReduction, Stream);
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
