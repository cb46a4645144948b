// CUDA GEMM through cuBLAS (kernels/linalg/gemm.h). CPU reference: kernels/linalg/gemm_cpu.cpp.
//
// cuBLAS is column-major. A row-major (m, n) C is the column-major (n, m) matrix C^T, and
// C^T = op(B)^T op(A)^T, so we pass B first and A second with the same transpose flags and the
// same leading dimensions: no data moves.
#include <cublas_v2.h>

#include <algorithm>
#include <climits>
#include <type_traits>

#include "core/cuda/cuda_check.h"
#include "core/half.h"
#include "kernels/linalg/gemm.h"

namespace segcore::kernels {

namespace {

template <typename T> constexpr cudaDataType_t cuda_data_type();
template <> constexpr cudaDataType_t cuda_data_type<float>() { return CUDA_R_32F; }
template <> constexpr cudaDataType_t cuda_data_type<Half>() { return CUDA_R_16F; }
template <> constexpr cudaDataType_t cuda_data_type<BFloat16>() { return CUDA_R_16BF; }

// Older cuBLAS releases limit the batch of one strided-batched call to the grid's y/z range.
constexpr int64_t kMaxBatchPerCall = 65535;

int checked_int(int64_t v, const char* what) {
    SEGCORE_CHECK(v <= INT_MAX, "gemm (cuBLAS): ", what, " = ", v, " does not fit cuBLAS's 32-bit int");
    return int(v);
}

}  // namespace

template <typename T>
void gemm_cuda(const GemmParams& p, const T* a, const T* b, T* c, Stream s) {
    gemm_check_params(p);
    if (p.m == 0 || p.n == 0 || p.batch == 0) return;
    // K = 0 leaves C = beta * C; the tiled kernel does exactly that for every beta, without relying
    // on how each cuBLAS version treats an empty inner dimension.
    if (p.k == 0) {
        gemm_tiled_cuda(p, a, b, c, s);
        return;
    }
    cublasHandle_t h = cublas_handle();
    SEGCORE_CUBLAS_CHECK(cublasSetStream(h, to_cuda(s.handle)));
    const int m = checked_int(p.m, "m"), n = checked_int(p.n, "n"), k = checked_int(p.k, "k");
    const int lda = checked_int(p.lda, "lda"), ldb = checked_int(p.ldb, "ldb"), ldc = checked_int(p.ldc, "ldc");
    const cublasOperation_t op_a = p.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_b = p.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    // f32 accumulation for every dtype. f32 uses CUBLAS_COMPUTE_32F (exact f32 FMA, no TF32);
    // f16/bf16 inputs run on tensor cores with f32 accumulation under the same compute type.
    const float alpha = float(p.alpha), beta = float(p.beta);
    const cudaDataType_t dt = cuda_data_type<T>();
    const cublasComputeType_t compute = CUBLAS_COMPUTE_32F;
    if (p.batch == 1) {
        SEGCORE_CUBLAS_CHECK(cublasGemmEx(h, op_b, op_a, n, m, k, &alpha, b, dt, ldb, a, dt, lda, &beta, c, dt, ldc,
                                          compute, CUBLAS_GEMM_DEFAULT));
        return;
    }
    for (int64_t b0 = 0; b0 < p.batch; b0 += kMaxBatchPerCall) {
        const int nb = int(std::min(kMaxBatchPerCall, p.batch - b0));
        SEGCORE_CUBLAS_CHECK(cublasGemmStridedBatchedEx(
            h, op_b, op_a, n, m, k, &alpha, b + b0 * p.stride_b, dt, ldb, (long long)p.stride_b, a + b0 * p.stride_a, dt,
            lda, (long long)p.stride_a, &beta, c + b0 * p.stride_c, dt, ldc, (long long)p.stride_c, nb, compute,
            CUBLAS_GEMM_DEFAULT));
    }
}

template void gemm_cuda<float>(const GemmParams&, const float*, const float*, float*, Stream);
template void gemm_cuda<Half>(const GemmParams&, const Half*, const Half*, Half*, Stream);
template void gemm_cuda<BFloat16>(const GemmParams&, const BFloat16*, const BFloat16*, BFloat16*, Stream);

}  // namespace segcore::kernels
