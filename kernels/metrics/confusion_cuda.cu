// CUDA confusion-matrix update (kernels/metrics/confusion.h). CPU reference: confusion_cpu.cpp.
// docs/kernels/confusion.md explains the organisation and has the measured numbers.
//
// One thread per pixel (grid-stride over the flat N * H * W pixels): it reads the target, and for
// logits input walks the C channels of its pixel (consecutive threads read consecutive w of one
// channel plane: every load of a warp is one coalesced 128-byte line for f32), keeping the first
// maximum (NaN counts as the maximum, the first NaN wins); the pixel then adds 1 to bin t * C + p.
//
// Where the counts go:
//   - shared path (C * C 32-bit counters fit in the block's shared memory with at least 1024
//     threads per SM still resident: C up to ~165 on an H100/H200, so Cityscapes' 19 and ADE20K's
//     150 classes): every block owns a private histogram in shared memory, zeroed at start; at
//     the end its non-zero bins are added to the global i64 matrix with one 64-bit atomicAdd
//     each. The global matrix sees (blocks x non-zero bins) atomics instead of one per pixel. A
//     block counts at most total / gridDim pixels, far below 2^32.
//   - global path (larger C): 64-bit atomicAdd straight into the matrix.
// Both paths first combine the lanes of a warp that hit the same bin (__match_any_sync: one
// atomic by the lowest lane, adding the popcount). Neighbouring pixels mostly share their
// (target, prediction) pair — a warp covers 32 consecutive pixels of one row — so this removes
// most of the same-address serialisation on the few hot (diagonal) bins.
// Integer atomics commute: the result is exact and identical to the CPU's, run after run.
#include <cuda_runtime.h>

#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/metrics/confusion.h"

namespace segcore::kernels {

namespace {

using ull = unsigned long long;

// The prediction of pixel i (image n, offset j in the image) from logits: first maximum over C.
template <typename T>
struct LogitsSource {
    const T* __restrict__ x;
    __device__ __forceinline__ int64_t operator()(const ConfusionParams& p, int64_t i, int64_t n, int64_t j) const {
        using A = cuda::dacc_t<T>;
        const T* px = x + n * p.c * p.hw + j;
        A best = cuda::convert<A>(px[0]);
        int32_t arg = 0;
#pragma unroll 8
        for (int32_t k = 1; k < int32_t(p.c); ++k) {
            const A v = cuda::convert<A>(px[int64_t(k) * p.hw]);
            if (v > best || (v != v && best == best)) {
                best = v;
                arg = k;
            }
        }
        return arg;
    }
};

template <typename P>
struct LabelSource {
    const P* __restrict__ pred;
    __device__ __forceinline__ int64_t operator()(const ConfusionParams&, int64_t i, int64_t, int64_t) const {
        return int64_t(pred[i]);
    }
};

__device__ __forceinline__ void record_bad(int64_t* status, int which, int64_t i) {
    if (!status) return;
    atomicAdd(reinterpret_cast<ull*>(status + which), 1ull);
    atomicMin(reinterpret_cast<ull*>(status + which + 1), ull(i));
}

// use_shared: the dynamic shared memory holds c * c 32-bit counters.
template <typename Src, typename L>
__global__ void confusion_update_kernel(ConfusionParams p, Src src, const L* __restrict__ target,
                                        int64_t* __restrict__ conf, int64_t* __restrict__ status, bool use_shared) {
    extern __shared__ unsigned int hist[];
    const int64_t bins = p.c * p.c;
    if (use_shared) {
        for (int64_t b = threadIdx.x; b < bins; b += blockDim.x) hist[b] = 0u;
        __syncthreads();
    }
    const int64_t total = p.n * p.hw;
    const int lane = threadIdx.x & 31;
    // The loop bound is uniform over the block, so every lane of a warp reaches __match_any_sync.
    for (int64_t base = int64_t(blockIdx.x) * blockDim.x; base < total; base += int64_t(gridDim.x) * blockDim.x) {
        const int64_t i = base + threadIdx.x;
        int32_t bin = -1;
        if (i < total) {
            const int64_t t = int64_t(target[i]);
            if (t != p.ignore_index) {
                if (t < 0 || t >= p.c) {
                    record_bad(status, kBadTargetCount, i);
                } else {
                    const int64_t n = i / p.hw;
                    const int64_t q = src(p, i, n, i - n * p.hw);
                    if (q < 0 || q >= p.c)
                        record_bad(status, kBadPredCount, i);
                    else
                        bin = int32_t(t * p.c + q);
                }
            }
        }
        const unsigned peers = __match_any_sync(0xffffffffu, bin);
        if (bin >= 0 && lane == __ffs(peers) - 1) {
            const unsigned cnt = unsigned(__popc(peers));
            if (use_shared)
                atomicAdd(&hist[bin], cnt);
            else
                atomicAdd(reinterpret_cast<ull*>(conf + bin), ull(cnt));
        }
    }
    if (use_shared) {
        __syncthreads();
        for (int64_t b = threadIdx.x; b < bins; b += blockDim.x)
            if (hist[b]) atomicAdd(reinterpret_cast<ull*>(conf + b), ull(hist[b]));
    }
}

__global__ void confusion_add_kernel(int64_t* __restrict__ conf, const int64_t* __restrict__ other, int64_t n) {
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
        conf[i] += other[i];
}

__global__ void confusion_naive_kernel(ConfusionParams p, const int64_t* __restrict__ pred,
                                       const int64_t* __restrict__ target, int64_t* __restrict__ conf) {
    const int64_t total = p.n * p.hw;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t t = target[i], q = pred[i];
        if (t != p.ignore_index && t >= 0 && t < p.c && q >= 0 && q < p.c)
            atomicAdd(reinterpret_cast<ull*>(conf + t * p.c + q), 1ull);
    }
}

template <typename Src, typename L>
void launch_update(const ConfusionParams& p, Src src, const L* target, int64_t* conf, int64_t* status, Stream s) {
    const int64_t total = p.n * p.hw;
    if (total == 0) return;
    int dev = 0, sms = 0, smem_optin = 0;
    SEGCORE_CUDA_CHECK(cudaGetDevice(&dev));
    SEGCORE_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, dev));
    SEGCORE_CUDA_CHECK(cudaDeviceGetAttribute(&smem_optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    const auto kernel = confusion_update_kernel<Src, L>;
    constexpr int kThreads = 512;
    // The shared path needs C * C counters per block and must still leave at least 1024 resident
    // threads per SM: the argmax is a stream of independent loads, and below ~32 warps per SM
    // too few bytes are in flight to cover DRAM latency (Little's law), which would cost more than
    // the global atomics the privatisation saves. So: shared for C up to ~165 (ADE20K's 150),
    // global above.
    const int64_t smem = p.c * p.c * int64_t(sizeof(unsigned int));
    bool use_shared = smem <= int64_t(smem_optin);
    int per_sm = 0;
    if (use_shared) {
        if (smem > 48 * 1024)
            SEGCORE_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(smem)));
        SEGCORE_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, size_t(smem)));
        use_shared = per_sm * kThreads >= 1024;
    }
    const size_t dyn = use_shared ? size_t(smem) : 0;
    if (!use_shared) SEGCORE_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, kThreads, 0));
    // Enough blocks to fill the device once; more would only add histogram flushes.
    const int64_t want = (total + kThreads - 1) / kThreads;
    const unsigned grid = unsigned(std::max<int64_t>(1, std::min<int64_t>(want, int64_t(std::max(per_sm, 1)) * sms)));
    kernel<<<grid, kThreads, dyn, to_cuda(s.handle)>>>(p, src, target, conf, status, use_shared);
    SEGCORE_CUDA_LAUNCH_CHECK();
}

}  // namespace

template <typename T, typename L>
void confusion_from_logits_cuda(const ConfusionParams& p, const T* logits, const L* target, int64_t* conf,
                                int64_t* status, Stream s) {
    using D = cuda::device_t<T>;
    launch_update(p, LogitsSource<D>{cuda::dev_ptr(logits)}, target, conf, status, s);
}

template <typename P, typename L>
void confusion_from_labels_cuda(const ConfusionParams& p, const P* pred, const L* target, int64_t* conf,
                                int64_t* status, Stream s) {
    launch_update(p, LabelSource<P>{pred}, target, conf, status, s);
}

void confusion_add_cuda(int64_t* conf, const int64_t* other, int64_t n, Stream s) {
    if (n == 0) return;
    confusion_add_kernel<<<cuda::grid_for(n), cuda::kBlock, 0, to_cuda(s.handle)>>>(conf, other, n);
    SEGCORE_CUDA_LAUNCH_CHECK();
}

void confusion_naive_from_labels_cuda(const ConfusionParams& p, const int64_t* pred, const int64_t* target,
                                      int64_t* conf, Stream s) {
    const int64_t total = p.n * p.hw;
    if (total == 0) return;
    confusion_naive_kernel<<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(s.handle)>>>(p, pred, target, conf);
    SEGCORE_CUDA_LAUNCH_CHECK();
}

#define SEGCORE_CONFUSION_CUDA(L)                                                                                      \
    template void confusion_from_logits_cuda<float, L>(const ConfusionParams&, const float*, const L*, int64_t*,       \
                                                       int64_t*, Stream);                                              \
    template void confusion_from_logits_cuda<Half, L>(const ConfusionParams&, const Half*, const L*, int64_t*,         \
                                                      int64_t*, Stream);                                               \
    template void confusion_from_logits_cuda<BFloat16, L>(const ConfusionParams&, const BFloat16*, const L*, int64_t*, \
                                                          int64_t*, Stream);                                           \
    template void confusion_from_labels_cuda<int64_t, L>(const ConfusionParams&, const int64_t*, const L*, int64_t*,   \
                                                         int64_t*, Stream);                                            \
    template void confusion_from_labels_cuda<int32_t, L>(const ConfusionParams&, const int32_t*, const L*, int64_t*,   \
                                                         int64_t*, Stream);                                            \
    template void confusion_from_labels_cuda<uint8_t, L>(const ConfusionParams&, const uint8_t*, const L*, int64_t*,   \
                                                         int64_t*, Stream);
SEGCORE_CONFUSION_CUDA(int64_t)
SEGCORE_CONFUSION_CUDA(int32_t)
SEGCORE_CONFUSION_CUDA(uint8_t)
#undef SEGCORE_CONFUSION_CUDA

}  // namespace segcore::kernels
