#pragma once
// Deterministic reductions over any set of dims: sum, mean, max, min, argmax, var/std (Welford).
//
//   sum(x, dims)      y[o] = sum_r x[o, r]                 (empty reduction: 0)
//   mean(x, dims)     y[o] = sum_r x[o, r] / R             (empty reduction: NaN)
//   max/min(x, dims)  y[o] = max_r / min_r x[o, r]; NaN propagates (PyTorch); empty is an error
//   argmax(x, dim)    y[o] = first r with x[o, r] == max_r x[o, r] (a NaN counts as the maximum,
//                     the first NaN wins, as in PyTorch); output I64; empty is an error
//   var(x, dims, c)   y[o] = sum_r (x[o, r] - mean[o])^2 / max(R - c, 0)   (c = correction; 1 =
//                     unbiased); std = sqrt(var); var_mean returns both
// where o runs over the kept dims and r over the R reduced ones. Every output is overwritten.
//
// Geometry: ops:: permutes x so kept dims come first and reduced dims last, then describes the two
// index spaces with StridedGeometry<1> (input strides, size-1 dims dropped, mergeable dims merged):
// `outer` enumerates the num_outputs kept positions in row-major order (output o is written to
// y[o], the output buffer is dense), `inner` enumerates the reduce_len reduced positions. The
// reduced index r seen by argmax is the row-major linear index over the reduced dims.
//
// Determinism: results are bitwise identical run to run and independent of the thread count (CPU)
// or of anything but the shape (CUDA). Both backends cut each reduction into fixed-size chunks of
// the reduced index (kReduceChunk), reduce each chunk in a fixed order and combine chunk results
// in chunk order; threads / blocks only decide who computes which chunk. No float atomics.
//
// Accumulation: f16/bf16 in f32, f64 in f64. f32 on the CPU: 16 f32 lanes inside 4096-element
// blocks (at most 256 sequential adds per lane), block and chunk results combined in double. f32 on
// CUDA: f32 per thread, warp-shuffle trees, chunk partials combined in f32 in chunk order.
// var/std: each block is reduced two-pass (mean, then squared deviations) and blocks, threads and
// chunks are merged with the Chan/Welford formula, so a large mean does not cancel the variance.
//
// dtypes: CPU f32, f64, f16, bf16 (max/min/argmax also i32, i64, u8); CUDA f32, f16, bf16.
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "core/geometry.h"
#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::kernels {

// Reduced elements per chunk (fixed: changing it changes the rounding of every result).
inline constexpr int64_t kReduceChunk = 65536;

enum class ReduceOp { Sum, Mean, Max, Min };

struct ReduceParams {
    int64_t num_outputs = 1;   // == outer.numel
    int64_t reduce_len = 1;    // == inner.numel
    StridedGeometry<1> outer;  // kept positions, strides of x
    StridedGeometry<1> inner;  // reduced positions, strides of x
};

// y[o] = op over r of x[o, r]; y is dense with num_outputs elements.
template <typename T> void reduce_cpu(const ReduceParams& p, ReduceOp op, const T* x, T* y);
template <typename T> void reduce_cuda(const ReduceParams& p, ReduceOp op, const T* x, T* y, Stream s);

// y[o] = reduced index of the first maximum.
template <typename T> void argmax_cpu(const ReduceParams& p, const T* x, int64_t* y);
template <typename T> void argmax_cuda(const ReduceParams& p, const T* x, int64_t* y, Stream s);

// var[o] (or std[o] when take_sqrt) and, when mean != nullptr, mean[o]. correction >= 0.
struct VarParams {
    int64_t correction = 1;
    bool take_sqrt = false;
};
template <typename T> void var_mean_cpu(const ReduceParams& p, const VarParams& v, const T* x, T* var, T* mean);
template <typename T>
void var_mean_cuda(const ReduceParams& p, const VarParams& v, const T* x, T* var, T* mean, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

// dims: any subset of [-ndim, ndim), no repeats; empty = all dims. keepdim keeps reduced dims as 1.
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor max(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor min(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
// Index along `dim`; without dim, the flat row-major index into x (keepdim then gives all-1 dims).
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
// correction 1 = unbiased (PyTorch's default), 0 = population variance.
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1, bool keepdim = false);
// (var, mean) in one pass over x, as torch.var_mean returns them (BatchNorm statistics).
std::pair<Tensor, Tensor> var_mean(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1,
                                   bool keepdim = false);
std::pair<Tensor, Tensor> std_mean(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1,
                                   bool keepdim = false);

}  // namespace segcore::ops
