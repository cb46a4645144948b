// CUDA Lovász-softmax (kernels/loss/lovasz.h). CPU reference: lovasz_cpu.cpp.
//
// 1. lovasz_count_kernel: per-class counts of the valid labels (shared-memory histogram per block,
//    then integer atomics into global: exact and order-independent) and the bad-label flag
//    (atomicMin of the flat index). The launcher reads these back once (one sync) to decide which
//    classes count; with a bad label it stops there and ops:: throws.
// 2. lovasz_softmax_stats_kernel: per pixel, the softmax max and 1 / denominator (so each class's
//    pass reads one logit per pixel, not C).
// 3. Per counted class c:
//    a. lovasz_keys_kernel: key = |fg - p_c| for valid pixels, -1 for ignored ones (they sort last
//       and are skipped), value = the pixel index;
//    b. cub::DeviceRadixSort::SortPairsDescending: a stable radix sort, so ties keep pixel order,
//       exactly as the CPU's (error desc, index asc) comparison;
//    c. lovasz_fg_kernel + cub::DeviceScan::InclusiveSum: the cumulative foreground count (int32);
//    d. lovasz_grad_kernel: J_k and J_k - J_{k-1} from the cumulative counts, dL/dp scattered back to
//       the pixel (a permutation: no conflicts), and a per-block partial of sum e_k grad_k
//       (fixed slices, a fixed tree).
// 4. lovasz_loss_kernel: the partials added in (class, block) order, divided by |K|.
// Backward: one thread per pixel, dx_c = go * p_c (q_c - sum_k p_k q_k).
#include <cub/cub.cuh>

#include <cstdint>
#include <vector>

#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/loss/lovasz.h"

namespace segcore::kernels {

namespace {

using cuda::convert;

constexpr unsigned long long kNoBad = 0x7f7f7f7f7f7f7f7fULL;  // the flag after cudaMemset(0x7f)
constexpr int kGradBlocks = 512;

template <typename L>
__global__ void lovasz_count_kernel(LovaszParams p, const L* __restrict__ labels, unsigned long long* counts,
                                    unsigned long long* bad) {
    extern __shared__ unsigned int hist[];  // C classes + the valid count
    const int64_t C = p.c, M = p.n * p.hw;
    for (int64_t k = threadIdx.x; k <= C; k += blockDim.x) hist[k] = 0;
    __syncthreads();
    for (int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; q < M; q += int64_t(gridDim.x) * blockDim.x) {
        const int64_t l = int64_t(labels[q]);
        if (l == p.ignore_index) continue;
        if (l < 0 || l >= C) {
            atomicMin(bad, static_cast<unsigned long long>(q));
            continue;
        }
        atomicAdd(&hist[l], 1u);
        atomicAdd(&hist[C], 1u);
    }
    __syncthreads();
    for (int64_t k = threadIdx.x; k <= C; k += blockDim.x)
        if (hist[k]) atomicAdd(&counts[k], static_cast<unsigned long long>(hist[k]));
}

template <typename T>
__global__ void lovasz_softmax_stats_kernel(LovaszParams p, const T* __restrict__ x, float2* __restrict__ ms) {
    const int64_t C = p.c, M = p.n * p.hw;
    for (int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; q < M; q += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = q / p.hw, j = q - n * p.hw;
        const T* px = x + n * C * p.hw + j;
        float m = -INFINITY;
        for (int64_t c = 0; c < C; ++c) m = fmaxf(m, convert<float>(px[c * p.hw]));
        float s = 0.f;
        for (int64_t c = 0; c < C; ++c) s += expf(convert<float>(px[c * p.hw]) - m);
        ms[q] = make_float2(m, 1.f / s);
    }
}

template <typename T, typename L>
__global__ void lovasz_keys_kernel(LovaszParams p, int64_t c, const T* __restrict__ x, const L* __restrict__ labels,
                                   const float2* __restrict__ ms, float* __restrict__ keys, int* __restrict__ vals) {
    const int64_t C = p.c, M = p.n * p.hw;
    for (int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; q < M; q += int64_t(gridDim.x) * blockDim.x) {
        const int64_t l = int64_t(labels[q]);
        float key = -1.f;
        if (l != p.ignore_index) {
            const int64_t n = q / p.hw, j = q - n * p.hw;
            const float2 st = ms[q];
            const float pr = expf(convert<float>(x[(n * C + c) * p.hw + j]) - st.x) * st.y;
            key = fabsf((l == c ? 1.f : 0.f) - pr);
        }
        keys[q] = key;
        vals[q] = int(q);
    }
}

template <typename L>
__global__ void lovasz_fg_kernel(LovaszParams p, int64_t c, const L* __restrict__ labels,
                                 const float* __restrict__ keys, const int* __restrict__ vals, int* __restrict__ fg) {
    const int64_t M = p.n * p.hw;
    for (int64_t k = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; k < M; k += int64_t(gridDim.x) * blockDim.x)
        fg[k] = keys[k] >= 0.f && int64_t(labels[vals[k]]) == c ? 1 : 0;
}

__global__ void lovasz_grad_kernel(LovaszParams p, int64_t c, float gts, float inv_k, const float* __restrict__ keys,
                                   const int* __restrict__ vals, const int* __restrict__ cum, float* __restrict__ dldp,
                                   float* __restrict__ partial) {
    __shared__ float sh[cuda::kBlock];
    const int64_t C = p.c, M = p.n * p.hw;
    const int64_t per = (M + gridDim.x - 1) / gridDim.x;
    const int64_t begin = int64_t(blockIdx.x) * per, end = begin + per < M ? begin + per : M;
    float acc = 0.f;
    for (int64_t k = begin + threadIdx.x; k < end; k += blockDim.x) {
        const float e = keys[k];
        if (e < 0.f) continue;  // an ignored pixel (all of them sort after the valid ones)
        const float cf = float(cum[k]), cf_prev = k > 0 ? float(cum[k - 1]) : 0.f;
        const bool fg = cf != cf_prev;
        // J_k - J_{k-1} in closed form (lovasz.h): the difference of two floats near 1 would lose
        // most of its digits at segmentation sizes.
        const float inter = gts - cf, uni = gts + float(k + 1) - cf;
        const float grad = fg ? 1.f / uni : (uni > 1.f ? inter / ((uni - 1.f) * uni) : 1.f);
        acc += e * grad;
        if (dldp) {
            const float sign = e == 0.f ? 0.f : (fg ? -1.f : 1.f);
            const int64_t q = vals[k], n = q / p.hw, j = q - n * p.hw;
            dldp[(n * C + c) * p.hw + j] = grad * sign * inv_k;
        }
    }
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) sh[threadIdx.x] += sh[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = sh[0];
}

__global__ void lovasz_loss_kernel(int64_t k, const float* __restrict__ partial, float* __restrict__ loss) {
    if (threadIdx.x != 0 || blockIdx.x != 0) return;
    double t = 0.0;
    for (int64_t i = 0; i < k * kGradBlocks; ++i) t += double(partial[i]);
    *loss = k > 0 ? float(t / double(k)) : 0.f;
}

template <typename T>
__global__ void lovasz_backward_kernel(LovaszParams p, const T* __restrict__ x, const float* __restrict__ q_in,
                                       const float* __restrict__ grad_loss, T* __restrict__ dx) {
    const int64_t C = p.c, M = p.n * p.hw;
    const float go = *grad_loss;
    for (int64_t q = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; q < M; q += int64_t(gridDim.x) * blockDim.x) {
        const int64_t n = q / p.hw, j = q - n * p.hw, base = n * C * p.hw + j;
        float m = -INFINITY;
        for (int64_t c = 0; c < C; ++c) m = fmaxf(m, convert<float>(x[base + c * p.hw]));
        float s = 0.f;
        for (int64_t c = 0; c < C; ++c) s += expf(convert<float>(x[base + c * p.hw]) - m);
        const float inv = 1.f / s;
        float dot = 0.f;
        for (int64_t c = 0; c < C; ++c)
            dot += expf(convert<float>(x[base + c * p.hw]) - m) * inv * q_in[base + c * p.hw];
        for (int64_t c = 0; c < C; ++c) {
            const float pr = expf(convert<float>(x[base + c * p.hw]) - m) * inv;
            dx[base + c * p.hw] = convert<T>(go * pr * (q_in[base + c * p.hw] - dot));
        }
    }
}

Device cuda_here() { return Device::cuda(current_device()); }

}  // namespace

template <typename T, typename L>
void lovasz_forward_cuda(const LovaszParams& p, const T* x, const L* labels, float* loss, float* dldp,
                         int64_t* bad_index, Stream s) {
    using D = cuda::device_t<T>;
    const cudaStream_t stream = to_cuda(s.handle);
    const int64_t C = p.c, M = p.n * p.hw;
    SEGCORE_CHECK(M < (int64_t(1) << 31), "lovasz_softmax: the CUDA kernel handles fewer than 2^31 pixels per batch, got ",
                  M);
    SEGCORE_CHECK(size_t(C + 1) * sizeof(unsigned) <= 48 * 1024, "lovasz_softmax: too many classes for CUDA: ", C);
    *bad_index = -1;
    SEGCORE_CUDA_CHECK(cudaMemsetAsync(loss, 0, sizeof(float), stream));
    if (dldp) SEGCORE_CUDA_CHECK(cudaMemsetAsync(dldp, 0, size_t(p.n * C * p.hw) * sizeof(float), stream));
    if (M == 0) return;
    // counts[0..C) per class, counts[C] valid pixels, counts[C + 1] the bad-label flag.
    Tensor counts = empty({C + 2}, {DType::I64, cuda_here()});
    auto* cnt = reinterpret_cast<unsigned long long*>(counts.data<int64_t>());
    SEGCORE_CUDA_CHECK(cudaMemsetAsync(cnt, 0, size_t(C + 1) * 8, stream));
    SEGCORE_CUDA_CHECK(cudaMemsetAsync(cnt + C + 1, 0x7f, 8, stream));
    lovasz_count_kernel<L><<<cuda::grid_for(M, cuda::kBlock, 1024), cuda::kBlock, size_t(C + 1) * sizeof(unsigned),
                             stream>>>(p, labels, cnt, cnt + C + 1);
    SEGCORE_CUDA_LAUNCH_CHECK();
    const Tensor host = counts.cpu();  // the one sync: which classes count, and the bad-label flag
    const int64_t* h = host.data<int64_t>();
    if (static_cast<unsigned long long>(h[C + 1]) != kNoBad) {
        *bad_index = h[C + 1];
        return;
    }
    std::vector<int64_t> classes;
    for (int64_t c = 0; c < C; ++c)
        if ((c > 0 || p.include_background) && (!p.present_only || h[c] > 0)) classes.push_back(c);
    if (h[C] == 0 || classes.empty()) return;
    const int64_t K = int64_t(classes.size());

    Tensor ms = empty({2 * M}, {DType::F32, cuda_here()});
    auto* msp = reinterpret_cast<float2*>(ms.data<float>());
    lovasz_softmax_stats_kernel<D><<<cuda::grid_for(M), cuda::kBlock, 0, stream>>>(p, cuda::dev_ptr(x), msp);
    SEGCORE_CUDA_LAUNCH_CHECK();

    Tensor keys = empty({2 * M}, {DType::F32, cuda_here()});
    Tensor vals = empty({2 * M}, {DType::I32, cuda_here()});
    Tensor fgt = empty({2 * M}, {DType::I32, cuda_here()});
    float* k_in = keys.data<float>();
    float* k_out = k_in + M;
    int* v_in = vals.data<int>();
    int* v_out = v_in + M;
    int* fg = fgt.data<int>();
    int* cum = fg + M;
    size_t sort_bytes = 0, scan_bytes = 0;
    SEGCORE_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(nullptr, sort_bytes, k_in, k_out, v_in, v_out,
                                                                 int(M), 0, 32, stream));
    SEGCORE_CUDA_CHECK(cub::DeviceScan::InclusiveSum(nullptr, scan_bytes, fg, cum, int(M), stream));
    Tensor temp = empty({int64_t(std::max(sort_bytes, scan_bytes)) + 1}, {DType::U8, cuda_here()});
    Tensor partial = empty({K * kGradBlocks}, {DType::F32, cuda_here()});
    const unsigned grid = cuda::grid_for(M);
    for (int64_t k = 0; k < K; ++k) {
        const int64_t c = classes[size_t(k)];
        lovasz_keys_kernel<D, L><<<grid, cuda::kBlock, 0, stream>>>(p, c, cuda::dev_ptr(x), labels, msp, k_in, v_in);
        SEGCORE_CUDA_LAUNCH_CHECK();
        size_t bytes = sort_bytes;
        SEGCORE_CUDA_CHECK(cub::DeviceRadixSort::SortPairsDescending(temp.data<uint8_t>(), bytes, k_in, k_out, v_in,
                                                                     v_out, int(M), 0, 32, stream));
        lovasz_fg_kernel<L><<<grid, cuda::kBlock, 0, stream>>>(p, c, labels, k_out, v_out, fg);
        SEGCORE_CUDA_LAUNCH_CHECK();
        bytes = scan_bytes;
        SEGCORE_CUDA_CHECK(cub::DeviceScan::InclusiveSum(temp.data<uint8_t>(), bytes, fg, cum, int(M), stream));
        lovasz_grad_kernel<<<kGradBlocks, cuda::kBlock, 0, stream>>>(p, c, float(h[c]), 1.f / float(K), k_out, v_out,
                                                                     cum, dldp, partial.data<float>() + k * kGradBlocks);
        SEGCORE_CUDA_LAUNCH_CHECK();
    }
    lovasz_loss_kernel<<<1, 32, 0, stream>>>(K, partial.data<float>(), loss);
    SEGCORE_CUDA_LAUNCH_CHECK();
    for (const Tensor* t : {&counts, &ms, &keys, &vals, &fgt, &temp, &partial}) t->record_stream(s);
}

template <typename T>
void lovasz_backward_cuda(const LovaszParams& p, const T* x, const float* dldp, const float* grad_loss, T* dx,
                          Stream s) {
    using D = cuda::device_t<T>;
    const int64_t M = p.n * p.hw;
    if (M == 0) return;
    lovasz_backward_kernel<D><<<cuda::grid_for(M), cuda::kBlock, 0, to_cuda(s.handle)>>>(
        p, cuda::dev_ptr(x), dldp, grad_loss, cuda::dev_ptr(dx));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

#define SEGCORE_INSTANTIATE(T, L)                                                                               \
    template void lovasz_forward_cuda<T, L>(const LovaszParams&, const T*, const L*, float*, float*, int64_t*, \
                                            Stream);
#define SEGCORE_INSTANTIATE_T(T)                                                                            \
    SEGCORE_INSTANTIATE(T, int64_t)                                                                         \
    SEGCORE_INSTANTIATE(T, int32_t)                                                                         \
    SEGCORE_INSTANTIATE(T, uint8_t)                                                                         \
    template void lovasz_backward_cuda<T>(const LovaszParams&, const T*, const float*, const float*, T*, Stream);
SEGCORE_INSTANTIATE_T(float)
SEGCORE_INSTANTIATE_T(Half)
SEGCORE_INSTANTIATE_T(BFloat16)
#undef SEGCORE_INSTANTIATE_T
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
