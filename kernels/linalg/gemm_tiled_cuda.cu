// Hand-written tiled CUDA GEMM (kernels/linalg/gemm.h): the readable reference next to cuBLAS
// and a benchmark subject. CPU reference: kernels/linalg/gemm_cpu.cpp.
//
// Each 256-thread block computes a 64x64 tile of C. It walks K in steps of 16: the block stages a
// 64x16 slab of op(A) and a 16x64 slab of op(B) in shared memory (converted to f32), then each
// thread accumulates a 4x4 micro-tile in registers, so one shared-memory load feeds four FMAs.
// Thread (ty, tx) owns rows ty + 16*i and columns tx + 16*j: neighbouring threads read neighbouring
// shared-memory columns (no bank conflicts) and write neighbouring C columns (coalesced stores).
// Tiles overhanging M, N or K are zero-filled on load and masked on store, so any size works.
#include <algorithm>

#include "core/cuda/cuda_check.h"
#include "core/cuda/cuda_types.cuh"
#include "kernels/linalg/gemm.h"

namespace segcore::kernels {

namespace {

using cuda::convert;
using cuda::device_t;

constexpr int kTileM = 64, kTileN = 64, kTileK = 16;
constexpr int kThreads = 256;  // 16 x 16 threads, 4 x 4 outputs each
constexpr int kMicro = 4;
constexpr int kPad = 4;  // keeps the transposed stores of A/B slabs from hitting one bank

// TransA/TransB are template parameters so each loader picks the thread mapping that reads global
// memory along the stored rows (coalesced) without a branch in the inner loop.
template <typename T, bool TransA, bool TransB>
__global__ void __launch_bounds__(kThreads) gemm_tiled_kernel(GemmParams p, const T* __restrict__ a,
                                                              const T* __restrict__ b, T* __restrict__ c) {
    __shared__ float as[kTileK][kTileM + kPad];  // as[p][i] = op(A)(m0 + i, k0 + p)
    __shared__ float bs[kTileK][kTileN + kPad];  // bs[p][j] = op(B)(k0 + p, n0 + j)

    const int tid = threadIdx.x;
    const int tx = tid % 16, ty = tid / 16;
    const int64_t m0 = int64_t(blockIdx.x) * kTileM, n0 = int64_t(blockIdx.y) * kTileN;

    for (int64_t batch = blockIdx.z; batch < p.batch; batch += gridDim.z) {
        const T* ab = a + batch * p.stride_a;
        const T* bb = b + batch * p.stride_b;
        T* cb = c + batch * p.stride_c;

        float acc[kMicro][kMicro] = {};
        for (int64_t k0 = 0; k0 < p.k; k0 += kTileK) {
            // Each thread loads 4 elements of each slab (64 * 16 = 1024 = 4 * 256).
#pragma unroll
            for (int it = 0; it < (kTileM * kTileK) / kThreads; ++it) {
                const int l = tid + it * kThreads;
                int i, q;  // row of op(A) within the tile, k within the slab
                if (TransA) { i = l % kTileM; q = l / kTileM; }  // stored (k, m): consecutive threads walk m
                else { q = l % kTileK; i = l / kTileK; }          // stored (m, k): consecutive threads walk k
                const int64_t gi = m0 + i, gq = k0 + q;
                float v = 0.0f;
                if (gi < p.m && gq < p.k) v = convert<float>(TransA ? ab[gq * p.lda + gi] : ab[gi * p.lda + gq]);
                as[q][i] = v;
            }
#pragma unroll
            for (int it = 0; it < (kTileN * kTileK) / kThreads; ++it) {
                const int l = tid + it * kThreads;
                int j, q;  // column of op(B) within the tile, k within the slab
                if (TransB) { q = l % kTileK; j = l / kTileK; }  // stored (n, k): consecutive threads walk k
                else { j = l % kTileN; q = l / kTileN; }          // stored (k, n): consecutive threads walk n
                const int64_t gj = n0 + j, gq = k0 + q;
                float v = 0.0f;
                if (gj < p.n && gq < p.k) v = convert<float>(TransB ? bb[gj * p.ldb + gq] : bb[gq * p.ldb + gj]);
                bs[q][j] = v;
            }
            __syncthreads();
#pragma unroll
            for (int q = 0; q < kTileK; ++q) {
                float ra[kMicro], rb[kMicro];
#pragma unroll
                for (int r = 0; r < kMicro; ++r) ra[r] = as[q][ty + 16 * r];
#pragma unroll
                for (int r = 0; r < kMicro; ++r) rb[r] = bs[q][tx + 16 * r];
#pragma unroll
                for (int r = 0; r < kMicro; ++r)
#pragma unroll
                    for (int s = 0; s < kMicro; ++s) acc[r][s] = fmaf(ra[r], rb[s], acc[r][s]);
            }
            __syncthreads();  // the next slab overwrites as/bs
        }

        const float alpha = float(p.alpha), beta = float(p.beta);
#pragma unroll
        for (int r = 0; r < kMicro; ++r) {
            const int64_t gi = m0 + ty + 16 * r;
            if (gi >= p.m) continue;
#pragma unroll
            for (int s = 0; s < kMicro; ++s) {
                const int64_t gj = n0 + tx + 16 * s;
                if (gj >= p.n) continue;
                T* out = cb + gi * p.ldc + gj;
                float v = alpha * acc[r][s];
                if (beta != 0.0f) v += beta * convert<float>(*out);  // beta == 0 never reads C
                *out = convert<T>(v);
            }
        }
    }
}

template <typename T, bool TransA, bool TransB>
void launch(const GemmParams& p, const T* a, const T* b, T* c, cudaStream_t stream) {
    const int64_t tiles_m = (p.m + kTileM - 1) / kTileM, tiles_n = (p.n + kTileN - 1) / kTileN;
    SEGCORE_CHECK(tiles_n <= 65535, "gemm (tiled): n = ", p.n, " needs more than 65535 column tiles");
    SEGCORE_CHECK(tiles_m <= INT32_MAX, "gemm (tiled): m = ", p.m, " is too large");
    const dim3 grid(unsigned(tiles_m), unsigned(tiles_n), unsigned(std::min<int64_t>(p.batch, 65535)));
    gemm_tiled_kernel<T, TransA, TransB><<<grid, kThreads, 0, stream>>>(p, a, b, c);
    SEGCORE_CUDA_LAUNCH_CHECK();
}

}  // namespace

template <typename T>
void gemm_tiled_cuda(const GemmParams& p, const T* a, const T* b, T* c, Stream s) {
    gemm_check_params(p);
    if (p.m == 0 || p.n == 0 || p.batch == 0) return;
    using D = device_t<T>;
    const D* da = cuda::dev_ptr(a);
    const D* db = cuda::dev_ptr(b);
    D* dc = cuda::dev_ptr(c);
    const cudaStream_t st = to_cuda(s.handle);
    if (p.trans_a && p.trans_b) launch<D, true, true>(p, da, db, dc, st);
    else if (p.trans_a) launch<D, true, false>(p, da, db, dc, st);
    else if (p.trans_b) launch<D, false, true>(p, da, db, dc, st);
    else launch<D, false, false>(p, da, db, dc, st);
}

template void gemm_tiled_cuda<float>(const GemmParams&, const float*, const float*, float*, Stream);
template void gemm_tiled_cuda<Half>(const GemmParams&, const Half*, const Half*, Half*, Stream);
template void gemm_tiled_cuda<BFloat16>(const GemmParams&, const BFloat16*, const BFloat16*, BFloat16*, Stream);

}  // namespace segcore::kernels
