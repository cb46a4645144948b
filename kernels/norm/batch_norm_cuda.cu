// CUDA batch_norm2d (kernels/norm/batch_norm.h). CPU reference: batch_norm_cpu.cpp.
//
// Statistics are per channel over M = N * H * W elements that are not contiguous (one plane of
// H * W per image). Two stages keep every SM busy even with few channels, and stay deterministic:
//   1. grid (splits, C): each block reduces one contiguous slice of the channel's M elements
//      (Welford per thread, then a fixed tree over the block) into a partial (count, mean, M2);
//   2. one thread per channel combines its partials in split order (Chan et al.'s formula),
//      writes mean / invstd and updates the running statistics;
//   3. an elementwise pass applies y = act(x * scale_c + shift_c).
// The backward pass has the same shape: partial sums of g and g * xhat, a combine, then dx.
#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/norm/batch_norm.h"

namespace segcore::kernels {

namespace {

using cuda::convert;

// No default member initialisers: the type lives in __shared__ memory, which allows no constructors.
struct Welford {
    float count, mean, m2;
    __device__ void add(float v) {
        count += 1.f;
        const float d = v - mean;
        mean += d / count;
        m2 += d * (v - mean);
    }
    __device__ void merge(const Welford& o) {
        if (o.count == 0.f) return;
        if (count == 0.f) {
            *this = o;
            return;
        }
        const float n = count + o.count, d = o.mean - mean;
        mean += d * (o.count / n);
        m2 += o.m2 + d * d * (count * o.count / n);
        count = n;
    }
};

__device__ __forceinline__ int64_t elem_offset(const BatchNormParams& p, int64_t c, int64_t e) {
    return ((e / p.hw) * p.c + c) * p.hw + e % p.hw;
}


// The slice [begin, end) of channel c's M elements handled by block x of gridDim.x.
__device__ __forceinline__ void slice_of(int64_t m, int64_t& begin, int64_t& end) {
    const int64_t per = (m + gridDim.x - 1) / gridDim.x;
    begin = int64_t(blockIdx.x) * per;
    end = begin + per < m ? begin + per : m;
}

template <typename T>
__global__ void bn_partial_stats_kernel(BatchNormParams p, const T* __restrict__ x, Welford* __restrict__ partial) {
    __shared__ Welford sh[cuda::kBlock];
    const int64_t c = blockIdx.y, m = p.n * p.hw;
    int64_t begin, end;
    slice_of(m, begin, end);
    Welford w{0.f, 0.f, 0.f};
    for (int64_t e = begin + threadIdx.x; e < end; e += blockDim.x) w.add(convert<float>(x[elem_offset(p, c, e)]));
    sh[threadIdx.x] = w;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) sh[threadIdx.x].merge(sh[threadIdx.x + s]);
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[c * gridDim.x + blockIdx.x] = sh[0];
}

template <typename S>
__global__ void bn_finalize_stats_kernel(BatchNormParams p, int splits, const Welford* __restrict__ partial,
                                         S* save_mean, S* save_invstd, S* running_mean, S* running_var) {
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= p.c) return;
    Welford w{0.f, 0.f, 0.f};
    for (int g = 0; g < splits; ++g) w.merge(partial[c * splits + g]);
    const float var = w.count > 0.f ? w.m2 / w.count : 0.f;
    save_mean[c] = S(w.mean);
    save_invstd[c] = S(rsqrtf(var + float(p.eps)));
    const float mom = float(p.momentum);
    if (running_mean) running_mean[c] = S((1.f - mom) * float(running_mean[c]) + mom * w.mean);
    if (running_var) {
        const float unbiased = w.count > 1.f ? w.m2 / (w.count - 1.f) : var;
        running_var[c] = S((1.f - mom) * float(running_var[c]) + mom * unbiased);
    }
}

template <typename T, typename S>
__global__ void bn_apply_kernel(BatchNormParams p, const T* __restrict__ x, const S* __restrict__ mean,
                                const S* __restrict__ invstd, const S* __restrict__ gamma, const S* __restrict__ beta,
                                T* __restrict__ y) {
    const int64_t total = p.n * p.c * p.hw;
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = (i / p.hw) % p.c;
        const float scale = float(invstd[c]) * (gamma ? float(gamma[c]) : 1.f);
        const float shift = (beta ? float(beta[c]) : 0.f) - float(mean[c]) * scale;
        y[i] = convert<T>(act_forward(p.act, convert<float>(x[i]) * scale + shift));
    }
}

// Partial (sum g, sum g * xhat) per (channel, slice), g = dy masked by the activation.
template <typename T, typename S>
__global__ void bn_partial_grad_kernel(BatchNormParams p, const T* __restrict__ dy, const T* __restrict__ x,
                                       const S* __restrict__ mean, const S* __restrict__ invstd,
                                       const S* __restrict__ gamma, const S* __restrict__ beta,
                                       float2* __restrict__ partial) {
    __shared__ float2 sh[cuda::kBlock];
    const int64_t c = blockIdx.y, m = p.n * p.hw;
    const float mu = float(mean[c]), is = float(invstd[c]);
    const float gm = gamma ? float(gamma[c]) : 1.f, bt = beta ? float(beta[c]) : 0.f;
    int64_t begin, end;
    slice_of(m, begin, end);
    float2 acc = make_float2(0.f, 0.f);
    for (int64_t e = begin + threadIdx.x; e < end; e += blockDim.x) {
        const int64_t o = elem_offset(p, c, e);
        const float xhat = (convert<float>(x[o]) - mu) * is;
        const float g = act_passes(p.act, gm * xhat + bt) ? convert<float>(dy[o]) : 0.f;
        acc.x += g;
        acc.y += g * xhat;
    }
    sh[threadIdx.x] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s /= 2) {
        if (threadIdx.x < s) {
            sh[threadIdx.x].x += sh[threadIdx.x + s].x;
            sh[threadIdx.x].y += sh[threadIdx.x + s].y;
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[c * gridDim.x + blockIdx.x] = sh[0];
}

// sums[c] = (sum g, sum g xhat) combined over slices in order; also writes dgamma / dbeta.
template <typename S>
__global__ void bn_finalize_grad_kernel(int64_t channels, int splits, float2* __restrict__ partial, S* dgamma,
                                        S* dbeta) {
    const int64_t c = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (c >= channels) return;
    float2 s = make_float2(0.f, 0.f);
    for (int g = 0; g < splits; ++g) {
        s.x += partial[c * splits + g].x;
        s.y += partial[c * splits + g].y;
    }
    partial[c * splits] = s;  // slot 0 keeps the total for the dx pass
    if (dgamma) dgamma[c] = S(s.y);
    if (dbeta) dbeta[c] = S(s.x);
}

template <typename T, typename S>
__global__ void bn_dx_kernel(BatchNormParams p, bool training, int splits, const T* __restrict__ dy,
                             const T* __restrict__ x, const S* __restrict__ mean, const S* __restrict__ invstd,
                             const S* __restrict__ gamma, const S* __restrict__ beta, const float2* __restrict__ sums,
                             T* __restrict__ dx) {
    const int64_t total = p.n * p.c * p.hw;
    const float m = float(p.n * p.hw);
    for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < total; i += int64_t(gridDim.x) * blockDim.x) {
        const int64_t c = (i / p.hw) % p.c;
        const float is = float(invstd[c]), gm = gamma ? float(gamma[c]) : 1.f, bt = beta ? float(beta[c]) : 0.f;
        const float xhat = (convert<float>(x[i]) - float(mean[c])) * is;
        const float g = act_passes(p.act, gm * xhat + bt) ? convert<float>(dy[i]) : 0.f;
        const float k = gm * is;
        const float2 s = sums[c * splits];
        dx[i] = convert<T>(training ? k / m * (m * g - s.x - xhat * s.y) : k * g);
    }
}

// Slices per channel: enough blocks to fill the device (~1000), each slice at least 4096 elements.
int splits_for(const BatchNormParams& p) {
    const int64_t m = p.n * p.hw;
    const int64_t by_size = (m + 4095) / 4096, by_device = (1024 + p.c - 1) / std::max<int64_t>(p.c, 1);
    return int(std::max<int64_t>(1, std::min<int64_t>({by_size, by_device, 256})));
}

Tensor float_workspace(int64_t floats) { return empty({floats}, {DType::F32, Device::cuda(current_device())}); }

}  // namespace

template <typename T, typename S>
void batch_norm_apply_cuda(const BatchNormParams& p, const T* x, const S* mean, const S* invstd, const S* gamma,
                           const S* beta, T* y, Stream s) {
    using D = cuda::device_t<T>;
    const int64_t total = p.n * p.c * p.hw;
    if (total == 0) return;
    bn_apply_kernel<D, S><<<cuda::grid_for(total), cuda::kBlock, 0, to_cuda(s.handle)>>>(
        p, cuda::dev_ptr(x), mean, invstd, gamma, beta, cuda::dev_ptr(y));
    SEGCORE_CUDA_LAUNCH_CHECK();
}

template <typename T, typename S>
void batch_norm_train_forward_cuda(const BatchNormParams& p, const T* x, const S* gamma, const S* beta, T* y,
                                   S* save_mean, S* save_invstd, S* running_mean, S* running_var, Stream s) {
    using D = cuda::device_t<T>;
    if (p.c == 0) return;
    const cudaStream_t stream = to_cuda(s.handle);
    const int splits = splits_for(p);
    Tensor ws = float_workspace(3 * p.c * splits);  // Welford is 3 floats
    auto* partial = reinterpret_cast<Welford*>(ws.data<float>());
    bn_partial_stats_kernel<D><<<dim3(unsigned(splits), unsigned(p.c)), cuda::kBlock, 0, stream>>>(
        p, cuda::dev_ptr(x), partial);
    SEGCORE_CUDA_LAUNCH_CHECK();
    bn_finalize_stats_kernel<S><<<unsigned((p.c + 127) / 128), 128, 0, stream>>>(p, splits, partial, save_mean,
                                                                               save_invstd, running_mean, running_var);
    SEGCORE_CUDA_LAUNCH_CHECK();
    ws.record_stream(s);
    batch_norm_apply_cuda<T, S>(p, x, save_mean, save_invstd, gamma, beta, y, s);
}

template <typename T, typename S>
void batch_norm_backward_cuda(const BatchNormParams& p, bool training, const T* dy, const T* x, const S* mean,
                              const S* invstd, const S* gamma, const S* beta, T* dx, S* dgamma, S* dbeta, Stream s) {
    using D = cuda::device_t<T>;
    if (p.c == 0) return;
    const cudaStream_t stream = to_cuda(s.handle);
    const int splits = splits_for(p);
    Tensor ws = float_workspace(2 * p.c * splits);
    auto* partial = reinterpret_cast<float2*>(ws.data<float>());
    bn_partial_grad_kernel<D, S><<<dim3(unsigned(splits), unsigned(p.c)), cuda::kBlock, 0, stream>>>(
        p, cuda::dev_ptr(dy), cuda::dev_ptr(x), mean, invstd, gamma, beta, partial);
    SEGCORE_CUDA_LAUNCH_CHECK();
    bn_finalize_grad_kernel<S><<<unsigned((p.c + 127) / 128), 128, 0, stream>>>(p.c, splits, partial, dgamma, dbeta);
    SEGCORE_CUDA_LAUNCH_CHECK();
    const int64_t total = p.n * p.c * p.hw;
    if (dx && total > 0) {
        bn_dx_kernel<D, S><<<cuda::grid_for(total), cuda::kBlock, 0, stream>>>(
            p, training, splits, cuda::dev_ptr(dy), cuda::dev_ptr(x), mean, invstd, gamma, beta, partial,
            cuda::dev_ptr(dx));
        SEGCORE_CUDA_LAUNCH_CHECK();
    }
    ws.record_stream(s);
}

#define SEGCORE_INSTANTIATE(T)                                                                                      \
    template void batch_norm_train_forward_cuda<T, float>(const BatchNormParams&, const T*, const float*,           \
                                                          const float*, T*, float*, float*, float*, float*, Stream); \
    template void batch_norm_apply_cuda<T, float>(const BatchNormParams&, const T*, const float*, const float*,     \
                                                  const float*, const float*, T*, Stream);                          \
    template void batch_norm_backward_cuda<T, float>(const BatchNormParams&, bool, const T*, const T*, const float*, \
                                                     const float*, const float*, const float*, T*, float*, float*,  \
                                                     Stream);
SEGCORE_INSTANTIATE(float)
SEGCORE_INSTANTIATE(Half)
SEGCORE_INSTANTIATE(BFloat16)
#undef SEGCORE_INSTANTIATE

}  // namespace segcore::kernels
