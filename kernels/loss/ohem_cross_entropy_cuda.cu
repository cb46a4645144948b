// CUDA OHEM selection and masked mean (kernels/loss/ohem_cross_entropy.h), with no host
// synchronisation: everything the later kernels need (the digit prefix, the remaining rank, the
// threshold) stays in a small device state block.
//
// Radix select of the k-th smallest q (0-based) on its f32 bits: q >= 0, so the unsigned bit
// patterns order like the values. Digits of 11, 11 and 10 bits (bits 31..21, 20..10, 9..0):
//   hist pass d:  every valid pixel whose higher digits equal the prefix found so far adds 1 to
//                 bin (digit d of its bits): a 2048-bin histogram in shared memory (integer
//                 atomics), flushed to global memory with integer atomics (exact, order-free);
//   scan pass d:  one block finds the bin holding rank k, appends it to the prefix and subtracts
//                 the counts below it from k.
// Pass 0 also counts q < thresh: when that count exceeds k, q_(k) < thresh, the threshold is thresh
// and passes 1-2 return at once (the common case late in training costs one read of q).
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "kernels/loss/ohem_cross_entropy.h"
#include "kernels/loss/pixel_loss.cuh"

namespace segcore::kernels {

namespace {

using namespace loss_cuda;

constexpr int kBins = 2048;

struct SelectState {
    unsigned long long valid;  // V (pass 0)
    unsigned long long below;  // #{q < thresh} (pass 0)
    unsigned long long k;      // rank still to find inside the current prefix
    unsigned int prefix;       // the bits found so far
    unsigned int done;         // threshold known
    unsigned int hist[3][kBins];
};

__device__ __forceinline__ int digit_shift(int d) { return d == 0 ? 21 : (d == 1 ? 10 : 0); }
__device__ __forceinline__ unsigned digit_mask(int d) { return d == 2 ? 0x3ffu : 0x7ffu; }

__global__ void __launch_bounds__(kPixelBlock)
    ohem_hist_kernel(int d, int64_t total, float thresh, const float* __restrict__ py, SelectState* st) {
    if (d > 0 && st->done) return;
    __shared__ unsigned int h[kBins];
    __shared__ unsigned long long cnt[2];
    for (int b = threadIdx.x; b < kBins; b += blockDim.x) h[b] = 0;
    if (threadIdx.x < 2) cnt[threadIdx.x] = 0;
    __syncthreads();
    const int shift = digit_shift(d);
    const unsigned mask = digit_mask(d);
    // Bits above this digit must match the prefix.
    const int hi_shift = shift + (d == 2 ? 10 : 11);
    const unsigned prefix = d == 0 ? 0u : st->prefix;
    unsigned long long valid = 0, below = 0;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const float q = py[i];
        if (!(q <= 3.4e38f)) continue;  // +inf: ignored pixel (NaN: never selected either)
        const unsigned bits = __float_as_uint(q);
        if (d == 0) {
            ++valid;
            below += q < thresh;
        } else if ((bits >> hi_shift) != (prefix >> hi_shift)) {
            continue;
        }
        atomicAdd(&h[(bits >> shift) & mask], 1u);
    }
    if (d == 0) {
        atomicAdd(&cnt[0], valid);
        atomicAdd(&cnt[1], below);
    }
    __syncthreads();
    for (int b = threadIdx.x; b < kBins; b += blockDim.x)
        if (h[b]) atomicAdd(&st->hist[d][b], h[b]);
    if (d == 0 && threadIdx.x == 0) {
        atomicAdd(&st->valid, cnt[0]);
        atomicAdd(&st->below, cnt[1]);
    }
}

// One block of kPixelBlock threads, each owning kBins / kPixelBlock consecutive bins.
__global__ void ohem_scan_kernel(int d, int64_t kept, float thresh, SelectState* st, float* totals) {
    constexpr int kPer = kBins / kPixelBlock;
    __shared__ unsigned long long part[kPixelBlock];
    if (st->done) return;
    const unsigned int* h = st->hist[d];
    unsigned long long s = 0;
    for (int b = 0; b < kPer; ++b) s += h[threadIdx.x * kPer + b];
    part[threadIdx.x] = s;
    __syncthreads();
    if (threadIdx.x != 0) return;
    if (d == 0) {
        const unsigned long long v = st->valid;
        if (v == 0) {  // nothing valid: mmseg's min_threshold = 0
            st->done = 1;
            totals[kTotalsThreshold] = fmaxf(0.f, thresh);
            return;
        }
        st->k = (unsigned long long)kept < v - 1 ? (unsigned long long)kept : v - 1;
        if (st->below > st->k) {  // q_(k) < thresh
            st->done = 1;
            totals[kTotalsThreshold] = thresh;
            return;
        }
    }
    unsigned long long k = st->k, before = 0;
    int t = 0;
    while (t < kPixelBlock - 1 && before + part[t] <= k) before += part[t++];
    int b = t * kPer;
    while (b < kBins - 1 && before + h[b] <= k) before += h[b++];
    st->k = k - before;
    st->prefix |= unsigned(b) << digit_shift(d);
    if (d == 2) {
        st->done = 1;
        totals[kTotalsThreshold] = fmaxf(__uint_as_float(st->prefix), thresh);
    }
}

template <typename L>
__global__ void __launch_bounds__(kPixelBlock)
    ohem_masked_sum_kernel(int64_t total, const float* __restrict__ py, const float* __restrict__ loss_pix,
                           const L* __restrict__ labels, const float* __restrict__ weight,
                           const float* __restrict__ totals, float2* __restrict__ partials) {
    const float thr = totals[kTotalsThreshold];
    float sl = 0.f, sw = 0.f;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        if (!(py[i] < thr)) continue;
        sl += loss_pix[i];
        sw += weight ? weight[int64_t(labels[i])] : 1.f;
    }
    const float2 sum = block_sum2(sl, sw);
    if (threadIdx.x == 0) partials[blockIdx.x] = sum;
}

}  // namespace

template <typename L>
void ohem_select_reduce_cuda(const OhemParams& p, const float* py, const float* loss_pix, const L* labels,
                             const float* weight, float* totals, Stream s) {
    const cudaStream_t stream = to_cuda(s.handle);
    const int64_t total = p.pixels();
    const unsigned blocks = pixel_loss_blocks(total);
    const int64_t state_floats = int64_t((sizeof(SelectState) + sizeof(float) - 1) / sizeof(float));
    Tensor ws = empty({state_floats + 1 + 2 * int64_t(blocks)}, {DType::F32, Device::cuda(current_device())});
    auto* st = reinterpret_cast<SelectState*>(ws.data<float>());
    auto* partials = reinterpret_cast<float2*>(ws.data<float>() + state_floats + (state_floats & 1));
    SEGCORE_CUDA_CHECK(cudaMemsetAsync(st, 0, sizeof(SelectState), stream));
    const float thresh = float(p.thresh);
    for (int d = 0; d < 3; ++d) {
        ohem_hist_kernel<<<blocks, kPixelBlock, 0, stream>>>(d, total, thresh, py, st);
        SEGCORE_CUDA_LAUNCH_CHECK();
        ohem_scan_kernel<<<1, kPixelBlock, 0, stream>>>(d, p.kept, thresh, st, totals);
        SEGCORE_CUDA_LAUNCH_CHECK();
    }
    ohem_masked_sum_kernel<L>
        <<<blocks, kPixelBlock, 0, stream>>>(total, py, loss_pix, labels, weight, totals, partials);
    SEGCORE_CUDA_LAUNCH_CHECK();
    launch_pixel_loss_finalize(partials, int(blocks), LossReduction::Mean, totals, stream);
    ws.record_stream(s);
}

template void ohem_select_reduce_cuda<int64_t>(const OhemParams&, const float*, const float*, const int64_t*,
                                               const float*, float*, Stream);
template void ohem_select_reduce_cuda<int32_t>(const OhemParams&, const float*, const float*, const int32_t*,
                                               const float*, float*, Stream);
template void ohem_select_reduce_cuda<uint8_t>(const OhemParams&, const float*, const float*, const uint8_t*,
                                               const float*, float*, Stream);

}  // namespace segcore::kernels
