#pragma once
// GEMM: the raw-pointer matrix multiply under ops::matmul (and, later, convolution and linear layers).
//
//   C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b]        for b in [0, batch)
//   op(A) (m, k), op(B) (k, n), C (m, n); everything row-major.
//
// Storage, row-major with leading dimensions (the distance in elements between rows):
//   A: trans_a ? a[p * lda + i] : a[i * lda + p]      for op(A)(i, p)
//   B: trans_b ? b[j * ldb + p] : b[p * ldb + j]      for op(B)(p, j)
//   C: c[i * ldc + j]                                  (C always has unit column stride)
//   batch b starts at a + b * stride_a, b + b * stride_b, c + b * stride_c; stride_a or stride_b
//   of 0 broadcasts one matrix over the batch (stride_c must not be 0 when batch > 1).
//
// Overwrite vs accumulate: beta == 0 OVERWRITES C and never reads it (NaN in C is ignored, as in
// BLAS); beta != 0 ACCUMULATES (autograd uses beta = 1 to add into an existing gradient).
//
// dtypes: CPU f32, f64, f16, bf16 (f16/bf16 are converted to f32, multiplied, rounded back);
// CUDA f32, f16, bf16 with f32 accumulation (f32 without TF32). alpha/beta are applied in the
// accumulation type.
//
// Backends on CUDA: gemm_cuda calls cuBLAS (the default, fastest); gemm_tiled_cuda is a readable
// shared-memory tiled kernel kept as a reference and a benchmark subject.
#include <cstdint>

#include "core/stream.h"

namespace segcore::kernels {

struct GemmParams {
    int64_t m = 0, n = 0, k = 0;
    bool trans_a = false, trans_b = false;
    int64_t lda = 0, ldb = 0, ldc = 0;  // >= the stored row length (>= 1)
    int64_t batch = 1;
    int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // batch strides in elements
    double alpha = 1.0, beta = 0.0;
};

// Throws when the leading dimensions cannot describe the matrices (a bug in the caller).
void gemm_check_params(const GemmParams& p);

template <typename T> void gemm_cpu(const GemmParams& p, const T* a, const T* b, T* c);
template <typename T> void gemm_cuda(const GemmParams& p, const T* a, const T* b, T* c, Stream s);
template <typename T> void gemm_tiled_cuda(const GemmParams& p, const T* a, const T* b, T* c, Stream s);

}  // namespace segcore::kernels
