#pragma once
// Matrix multiply on tensors (the tensor-level face of kernels/linalg/gemm.h).
//
//   matmul(a, b) follows torch.matmul:
//     a (M, K)        @ b (K, N)        -> (M, N)
//     a (B, M, K)     @ b (B, K, N)     -> (B, M, N)
//     a (K,)          @ b (K,)          -> ()            a 0-dim tensor (the dot product)
//     a (..., M, K)   @ b (K,)          -> (..., M)      b is the column (K, 1); the 1 is removed
//     a (K,)          @ b (..., K, N)   -> (..., N)      a is the row (1, K); the 1 is removed
//     a (*ba, M, K)   @ b (*bb, K, N)   -> (*broadcast(ba, bb), M, N)
//   Operands have 1 to 8 dims. Everything before the last two dims is a batch, and the two batch
//   shapes broadcast NumPy-style (aligned from the right, a size of 1 stretches, even to 0):
//   (2, 1, 5, 3) @ (4, 3, 7) -> (2, 4, 5, 7); (M, K) @ (B, K, N) -> (B, M, N).
//   matmul_out(out, a, b, {alpha, beta}): out = alpha * a @ b + beta * out, where out has exactly
//   matmul_shape(a, b) (any rank the result has, 0-dim for vector . vector).
//
// Cost: every case runs as ONE batched GEMM over the flattened batch. The batch dims of each
// operand are folded into one batch stride without a copy whenever one stride describes them
// (every 2-D/3-D case, broadcasts where a whole operand repeats, contiguous N-D batches); when the
// broadcast interleaves (a (2, 1, M, K) against (4, K, N)) that operand is first materialised
// with contiguous() at the full broadcast batch size. out is written in place when its batch dims
// fold the same way, else through a contiguous buffer and a copy back.
//
// Overwrite vs accumulate: matmul returns a new tensor. matmul_out OVERWRITES out when beta == 0
// (out is not read, NaN in it is ignored) and ACCUMULATES into it otherwise (autograd adds
// gradients with beta = 1). out must have the result's shape, dtype and device and must not
// share memory with a or b.
//
// Layouts of each matrix (the last two dims): transposed views (x.t(), x.transpose(-2, -1)) and
// row-padded views (a narrow of the columns) go to the GEMM as transpose flags and leading
// dimensions, without a copy; any other layout (e.g. a column step > 1) is made contiguous first.
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
