#pragma once
// Matrix multiply on tensors (the tensor-level face of kernels/linalg/gemm.h).
//
//   matmul(a, b):              a (M, K)    @ b (K, N)    -> (M, N)
//                              a (B, M, K) @ b (B, K, N) -> (B, M, N)
//   A batch of 1, or a 2-D operand, broadcasts over the other's batch: (1, M, K) @ (B, K, N),
//   (M, K) @ (B, K, N) and (B, M, K) @ (K, N) all give (B, M, N).
//   matmul_out(out, a, b, {alpha, beta}): out = alpha * a @ b + beta * out.
//
// Overwrite vs accumulate: matmul returns a new tensor. matmul_out OVERWRITES out when beta == 0
// (out is not read, NaN in it is ignored) and ACCUMULATES into it otherwise (autograd adds
// gradients with beta = 1). out must have the result's shape, dtype and device and must not
// share memory with a or b.
//
// Layouts: transposed views (x.t(), x.transpose(1, 2)) and row-padded views (a narrow of the
// columns) go to the GEMM as transpose flags and leading dimensions, without a copy; any other
// layout (e.g. a column step > 1) is made contiguous first.
//
// dtypes: a and b share one floating dtype. CPU: f32, f64, f16, bf16 (16-bit types computed in f32).
// CUDA: f32, f16, bf16 with f32 accumulation; f32 stays exact f32 (no TF32).
#include "core/tensor.h"

namespace segcore::ops {

enum class MatmulBackend {
    Default,  // the vendor library: Eigen on the CPU, cuBLAS on CUDA
    Cublas,   // cuBLAS (CUDA tensors only)
    Tiled,    // the hand-written tiled CUDA kernel in gemm_tiled_cuda.cu (CUDA tensors only)
};
const char* matmul_backend_name(MatmulBackend b);

struct MatmulOptions {
    double alpha = 1.0;
    double beta = 0.0;
    MatmulBackend backend = MatmulBackend::Default;
};

Tensor matmul(const Tensor& a, const Tensor& b, MatmulBackend backend = MatmulBackend::Default);
Tensor& matmul_out(Tensor& out, const Tensor& a, const Tensor& b, const MatmulOptions& opt = {});

// The result shape of matmul(a, b); throws with both shapes when they do not multiply.
Shape matmul_shape(const Tensor& a, const Tensor& b);

}  // namespace segcore::ops
