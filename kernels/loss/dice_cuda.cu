// CUDA Dice / Generalised Dice / Tversky (kernels/loss/dice.h). CPU reference: dice_cpu.cpp.
//
// Forward, two kernels, deterministic (no float atomics):
//   1. dice_partial_kernel, grid of B blocks x 256 threads. Block b owns a contiguous slice of the
//      N*HW pixels; each warp takes groups of 32 consecutive pixels (one per lane, so every class
//      plane is read coalesced). A lane computes its pixel's softmax max and denominator, then for
//      each class the warp reduces (p, p*g) with a fixed shuffle tree and counts g with a ballot;
//      lane 0 adds the warp's sums into its own shared-memory row. At the end the block adds its
//      8 warp rows in order and writes one partial (I, P, G) per (block, class).
//   2. dice_finalize_kernel, one block: thread c adds class c's B partials in block order (double),
//      writes stats, and thread 0 evaluates the formula (dice_finish) into the loss.
// Labels outside [0, C) that are not ignore_index are treated as ignored and their smallest flat
// index goes to a device flag with atomicMin (an integer: the result does not depend on order);
// ops:: reads the flag after the kernels and throws.
// Backward: a one-thread kernel turns the stats into the per-class coefficients (a_c, b_c) times
// the upstream gradient (a device scalar: no host sync), then one thread per pixel recomputes the
// softmax and writes dx_c = p_c (q_c - sum_k p_k q_k) for every class.
#include <cstdint>

#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/loss/dice.h"

namespace segcore::kernels {

namespace {

using cuda::convert;

constexpr int kThreads = 256, kWarps = kThreads / 32;
constexpr unsigned kFull = 0xffffffffu;
constexpr unsigned long long kNoBad = 0x7f7f7f7f7f7f7f7fULL;  // the flag after cudaMemset(0x7f): no bad label

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o /= 2) v += __shfl_down_sync(kFull, v, o);
    return v;  // lane 0 holds the total
}

template <typename T, typename L>
__global__ void dice_partial_kernel(DiceParams p, const T* __restrict__ x, const L* __restrict__ labels,
                                    float* __restrict__ partial, unsigned long long* __restrict__ bad) {
    extern __shared__ float sh[];  // [3][kWarps][C]: I, P, G per warp
    const int64_t C = p.c, M = p.n * p.hw;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    for (int64_t k = threadIdx.x; k < 3 * kWarps * C; k += blockDim.x) sh[k] = 0.f;
    __syncthreads();
    // The block's slice, a multiple of 32 pixels long so groups never straddle two blocks.
    const int64_t per = ((M + gridDim.x - 1) / gridDim.x + 31) / 32 * 32;
    const int64_t begin = int64_t(blockIdx.x) * per, end = begin + per < M ? begin + per : M;
    float* si = sh + warp * C;
    float* sp = sh + (kWarps + warp) * C;
    float* sg = sh + (2 * kWarps + warp) * C;
    for (int64_t g0 = begin + int64_t(warp) * 32; g0 < end; g0 += int64_t(kWarps) * 32) {
        const int64_t q = g0 + lane;
        bool valid = false;
        int64_t l = -1;
        const T* px = x;
        if (q < end) {
            l = int64_t(labels[q]);
            valid = l != p.ignore_index;
            if (valid && (l < 0 || l >= C)) {
                atomicMin(bad, static_cast<unsigned long long>(q));
                valid = false;
            }
            const int64_t n = q / p.hw, j = q - n * p.hw;
            px = x + n * C * p.hw + j;
        }
        float m = -INFINITY, inv = 0.f;
        if (valid) {
            for (int64_t c = 0; c < C; ++c) m = fmaxf(m, convert<float>(px[c * p.hw]));
            float s = 0.f;
            for (int64_t c = 0; c < C; ++c) s += expf(convert<float>(px[c * p.hw]) - m);
            inv = 1.f / s;
        }
        for (int64_t c = 0; c < C; ++c) {
            const float pr = valid ? expf(convert<float>(px[c * p.hw]) - m) * inv : 0.f;
            const bool is_c = valid && l == c;
            const float tp = warp_sum(is_c ? pr : 0.f);
            const float tpp = warp_sum(pr);
            const unsigned cnt = __popc(__ballot_sync(kFull, is_c));
            if (lane == 0) {
                si[c] += tp;
                sp[c] += tpp;
                sg[c] += float(cnt);
            }
        }
    }
    __syncthreads();
    for (int64_t c = threadIdx.x; c < C; c += blockDim.x) {
        float ti = 0.f, tpp = 0.f, tg = 0.f;
        for (int w = 0; w < kWarps; ++w) {
            ti += sh[w * C + c];
            tpp += sh[(kWarps + w) * C + c];
            tg += sh[(2 * kWarps + w) * C + c];
        }
        float* out = partial + int64_t(blockIdx.x) * 3 * C;
        out[c] = ti;
        out[C + c] = tpp;
        out[2 * C + c] = tg;
    }
}

__global__ void dice_finalize_kernel(DiceParams p, int blocks, const float* __restrict__ partial,
                                     float* __restrict__ stats, float* __restrict__ loss,
                                     const unsigned long long* __restrict__ bad, int64_t* __restrict__ bad_index) {
    const int64_t C = p.c;
    for (int64_t k = threadIdx.x; k < 3 * C; k += blockDim.x) {
        double t = 0.0;  // the second stage adds up to ~1000 partials; double keeps the counts exact
        for (int b = 0; b < blocks; ++b) t += double(partial[int64_t(b) * 3 * C + k]);
        stats[k] = float(t);
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        *loss = dice_finish<float>(p, stats, nullptr);
        const unsigned long long b = *bad;
        *bad_index = b == kNoBad ? -1 : int64_t(b);
    }
}

__global__ void dice_coef_kernel(DiceParams p, const float* __restrict__ stats, const float* __restrict__ grad_loss,
                                 float* __restrict__ coef) {
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    dice_finish<float>(p, stats, coef);
    const float go = *grad_loss;
    for (int64_t k = 0; k < 2 * p.c; ++k) coef[k] *= go;
}

template <typename T, typename L>
__global__ void dice_backward_kernel(DiceParams p, const T* __restrict__ x, const L* __restrict__ labels,
                                     const float* __restrict__ coef, T* __restrict__ dx) {
    extern __shared__ float shc[];  // a_c then b_c
    const int64_t C = p.c, M = p.n * p.hw;
    for (int64_t k = threadIdx.x; k < 2 * C; k += blockDim.x) shc[k] = coef[k];
    __syncthreads();
    for (int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; q < M; q += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = q / p.hw, j = q - n * p.hw;
        const T* px = x + n * C * p.hw + j;
        T* pd = dx + n * C * p.hw + j;
        const int64_t l = int64_t(labels[q]);
        if (l == p.ignore_index || l < 0 || l >= C) {
            for (int64_t c = 0; c < C; ++c) pd[c * p.hw] = convert<T>(0.f);
            continue;
        }
        float m = -INFINITY;
        for (int64_t c = 0; c < C; ++c) m = fmaxf(m, convert<float>(px[c * p.hw]));
        float s = 0.f;
        for (int64_t c = 0; c < C; ++c) s += expf(convert<float>(px[c * p.hw]) - m);
        const float inv = 1.f / s;
        float dot = 0.f;
        for (int64_t c = 0; c < C; ++c) {
            const float pr = expf(convert<float>(px[c * p.hw]) - m) * inv;
            dot += pr * ((l == c ? shc[c] : 0.f) + shc[C + c]);
        }
        for (int64_t c = 0; c < C; ++c) {
            const float pr = expf(convert<float>(px[c * p.hw]) - m) * inv;
            pd[c * p.hw] = convert<T>(pr * ((l == c ? shc[c] : 0.f) + shc[C + c] - dot));
        }
    }
}

int blocks_for(int64_t pixels) {
    return int(std::max<int64_t>(1, std::min<int64_t>((pixels + 2047) / 2048, 1024)));
}

// Shared memory of the partial kernel: 3 rows of C floats per warp.
size_t partial_smem(int64_t c) { return size_t(3 * kWarps * c) * sizeof(float); }

}  // namespace

template <typename T, typename L>
void dice_forward_cuda(const DiceParams& p, const T* x, const L* labels, float* stats, float* loss,
                       int64_t* bad_index, Stream s) {
    using D = cuda::device_t<T>;
    const cudaStream_t stream = to_cuda(s.handle);
    SEGCORE_CHECK(partial_smem(p.c) <= 48 * 1024, "dice_loss: the CUDA kernel supports up to ",
                  48 * 1024 / (3 * kWarps * sizeof(float)), " classes, got ", p.c);
    const int64_t pixels = p.n * p.hw;
    const int blocks = blocks_for(pixels);
    // Workspace: the bad-label flag (one 64-bit word, first so it is 8-byte aligned), then the partials.
    Tensor ws = empty({2 + int64_t(blocks) * 3 * p.c}, {DType::F32, Device::cuda(current_device())});
    auto* bad = reinterpret_cast<unsigned long long*>(ws.data<float>());
    float* partial = ws.data<float>() + 2;
    SEGCORE_CUDA_CHECK(cudaMemsetAsync(bad, 0x7f, sizeof(unsigned long long), stream));
    if (pixels > 0) {
        dice_partial_kernel<D, L><<<unsigned(blocks), kThreads, partial_smem(p.c), stream>>>(p, cuda::dev_ptr(x), labels,
                                                                                           partial, bad);
        SEGCORE_CUDA_LAUNCH_CHECK();
    } else {
        SEGCORE_CUDA_CHECK(cudaMemsetAsync(partial, 0, size_t(blocks) * 3 * size_t(p.c) * sizeof(float), stream));
    }
    dice_finalize_kernel<<<1, 256, 0, stream>>>(p, blocks, partial, stats, loss, bad, bad_index);
    SEGCORE_CUDA_LAUNCH_CHECK();
    ws.record_stream(s);
}

template <typename T, typename L>
void dice_backward_cuda(const DiceParams& p, const T* x, const L* labels, const float* stats, const float* grad_loss,
                        T* dx, Stream s) {
    using D = cuda::device_t<T>;
    const cudaStream_t stream = to_cuda(s.handle);
    const int64_t pixels = p.n * p.hw;
    if (pixels == 0) return;
    Tensor ws = empty({2 * p.c}, {DType::F32, Device::cuda(current_device())});
    dice_coef_kernel<<<1, 32, 0, stream>>>(p, stats, grad_loss, ws.data<float>());
    SEGCORE_CUDA_LAUNCH_CHECK();
    SEGCORE_CHECK(size_t(2 * p.c) * sizeof(float) <= 48 * 1024, "dice_loss_backward: too many classes for CUDA: ", p.c);
    dice_backward_kernel<D, L><<<cuda::grid_for(pixels), cuda::kBlock, size_t(2 * p.c) * sizeof(float), stream>>>(
        p, cuda::dev_ptr(x), labels, ws.data<float>(), cuda::dev_ptr(dx));
    SEGCORE_CUDA_LAUNCH_CHECK();
    ws.record_stream(s);
}

#define SEGCORE_INSTANTIATE(T, L)                                                                                 \
    template void dice_forward_cuda<T, L>(const DiceParams&, const T*, const L*, float*, float*, int64_t*, Stream); \
    template void dice_backward_cuda<T, L>(const DiceParams&, const T*, const L*, const float*, const float*, T*,  \
                                           Stream);
#define SEGCORE_INSTANTIATE_L(T)  \
    SEGCORE_INSTANTIATE(T, int64_t) \
    SEGCORE_INSTANTIATE(T, int32_t) \
    SEGCORE_INSTANTIATE(T, uint8_t)
SEGCORE_INSTANTIATE_L(float)
SEGCORE_INSTANTIATE_L(Half)
SEGCORE_INSTANTIATE_L(BFloat16)
#undef SEGCORE_INSTANTIATE_L
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
