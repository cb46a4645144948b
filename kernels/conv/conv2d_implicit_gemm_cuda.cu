// Implicit-GEMM conv2d forward on tensor cores (f16/bf16 in, f32 accumulate), used by
// conv2d_forward_cuda for 16-bit dense (groups == 1) convolutions. docs/kernels/conv2d.md.
//
// The convolution is the GEMM  Y (M x K) = A (M x CRS) · B (CRS x K)  with
//   M   = N·P·Q output pixels,  K = output channels,  CRS = C·R·S filter taps,
//   A[m][t] = x[n, c, h, w] for pixel m = (n, p, q) and tap t = (c, r, s) (0 in the padding),
//   B[t][k] = w[k, c, r, s].
// "Implicit": A is never materialised. Each block computes a 64 x 64 tile of Y: it walks the CRS
// dimension 32 taps at a time, gathering its A tile straight from x (the im2col address math per
// element) and its B tile from w into shared memory, and four warps multiply them with WMMA
// 16x16x16 fragments (each warp a 32 x 32 quarter, 2 x 2 fragments, f32 accumulators in
// registers). The epilogue stages the tile through shared memory to write NCHW with bias and
// activation, coalesced along q.
//
// This is the first, plain version: no cp.async double buffering, no swizzled layouts. It removes
// the im2col buffer and its round trip through HBM; the pipelined version is the next step and is
// measured against cuDNN in bench/cuda/bench_conv_cuda.cpp.
#include <mma.h>

#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "core/cuda/launch.cuh"
#include "kernels/conv/conv2d.h"

namespace segcore::kernels {

namespace {

using namespace nvcuda;
using cuda::convert;

constexpr int kTileM = 64, kTileN = 64, kTileK = 32;
constexpr int kThreads = 128;         // 4 warps in a 2 x 2 grid, each 32 x 32 of the tile
constexpr int kLdA = kTileK + 8;      // padded leading dims: fewer bank conflicts; WMMA needs
constexpr int kLdB = kTileN + 8;      // multiples of 8 halves / 4 floats
constexpr int kLdC = kTileN + 4;

template <typename D>
__global__ void __launch_bounds__(kThreads)
    conv2d_implicit_gemm_kernel(Conv2dParams p, const D* __restrict__ x, const D* __restrict__ w,
                                const D* __restrict__ bias, D* __restrict__ y) {
    __shared__ __align__(32) D As[kTileM * kLdA];
    __shared__ __align__(32) D Bs[kTileK * kLdB];
    __shared__ __align__(32) float Cs[kTileM * kLdC];

    const int64_t M = p.n * p.p * p.q, crs = p.c * p.r * p.s, pq = p.p * p.q;
    const int64_t m0 = int64_t(blockIdx.x) * kTileM, n0 = int64_t(blockIdx.y) * kTileN;
    const int tid = threadIdx.x, warp = tid / 32;
    const int wm = warp / 2, wn = warp % 2;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    for (int64_t k0 = 0; k0 < crs; k0 += kTileK) {
        // A tile: consecutive threads take consecutive pixels (coalesced along q when stride 1).
        for (int i = tid; i < kTileM * kTileK; i += kThreads) {
            const int mi = i % kTileM, ki = i / kTileM;
            const int64_t m = m0 + mi, t = k0 + ki;
            D v = convert<D>(0.0f);
            if (m < M && t < crs) {
                const int64_t n = m / pq, rem = m % pq, pp = rem / p.q, q = rem % p.q;
                const int64_t c = t / (p.r * p.s), rs = t % (p.r * p.s), r = rs / p.s, s = rs % p.s;
                const int64_t h = pp * p.stride_h - p.pad_h + r * p.dil_h, ww = q * p.stride_w - p.pad_w + s * p.dil_w;
                if (h >= 0 && h < p.h && ww >= 0 && ww < p.w) v = x[((n * p.c + c) * p.h + h) * p.w + ww];
            }
            As[mi * kLdA + ki] = v;
        }
        // B tile: consecutive threads take consecutive taps of one filter (contiguous in w).
        for (int i = tid; i < kTileK * kTileN; i += kThreads) {
            const int ki = i % kTileK, ni = i / kTileK;
            const int64_t t = k0 + ki, k = n0 + ni;
            Bs[ki * kLdB + ni] = (t < crs && k < p.k) ? w[k * crs + t] : convert<D>(0.0f);
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < kTileK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, D, wmma::row_major> a[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, D, wmma::row_major> b[2];
#pragma unroll
            for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(a[i], As + (wm * 32 + i * 16) * kLdA + kk, kLdA);
#pragma unroll
            for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(b[j], Bs + kk * kLdB + wn * 32 + j * 16, kLdB);
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
        }
        __syncthreads();
    }

    // Epilogue: fragments -> shared (row = pixel, column = channel) -> NCHW with bias + activation.
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
            wmma::store_matrix_sync(Cs + (wm * 32 + i * 16) * kLdC + wn * 32 + j * 16, acc[i][j], kLdC,
                                    wmma::mem_row_major);
    __syncthreads();
    for (int i = tid; i < kTileM * kTileN; i += kThreads) {
        const int mi = i % kTileM, ni = i / kTileM;
        const int64_t m = m0 + mi, k = n0 + ni;
        if (m >= M || k >= p.k) continue;
        const int64_t n = m / pq, rem = m % pq;
        float v = Cs[mi * kLdC + ni] + (bias ? convert<float>(bias[k]) : 0.0f);
        y[(n * p.k + k) * pq + rem] = convert<D>(act_forward(p.act, v));
    }
}

}  // namespace

// Returns false (and does nothing) when the shape is not one this kernel handles.
template <typename T>
bool conv2d_forward_implicit_gemm_cuda(const Conv2dParams& p, const T* x, const T* w, const T* bias, T* y, Stream s) {
    if constexpr (std::is_same_v<T, float>) {
        return false;  // f32 stays on the im2col + cuBLAS path (no TF32)
    } else {
        if (p.groups != 1) return false;
        using D = cuda::device_t<T>;
        const int64_t M = p.n * p.p * p.q;
        if (M == 0 || p.k == 0) return true;
        const dim3 grid(unsigned((M + kTileM - 1) / kTileM), unsigned((p.k + kTileN - 1) / kTileN));
        SEGCORE_CHECK(grid.y <= 65535, "conv2d: too many output channels (", p.k, ") for the implicit-GEMM grid");
        conv2d_implicit_gemm_kernel<D><<<grid, kThreads, 0, to_cuda(s.handle)>>>(
            p, cuda::dev_ptr(x), cuda::dev_ptr(w), bias ? cuda::dev_ptr(bias) : nullptr, cuda::dev_ptr(y));
        SEGCORE_CUDA_LAUNCH_CHECK();
        return true;
    }
}

template bool conv2d_forward_implicit_gemm_cuda<float>(const Conv2dParams&, const float*, const float*, const float*,
                                                       float*, Stream);
template bool conv2d_forward_implicit_gemm_cuda<Half>(const Conv2dParams&, const Half*, const Half*, const Half*, Half*,
                                                      Stream);
template bool conv2d_forward_implicit_gemm_cuda<BFloat16>(const Conv2dParams&, const BFloat16*, const BFloat16*,
                                                          const BFloat16*, BFloat16*, Stream);

}  // namespace segcore::kernels
