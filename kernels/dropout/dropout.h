#pragma once
// dropout (elementwise) and dropout2d (whole channels), inverted scaling, Philox masks.
// docs/kernels/dropout.md has the details.
//
//   keep[j] = philox::uniform_at(seed, offset, j) < float(1 - p)         (j = mask entry)
//   y[i]    = keep[i / G] ? x[i] * scale : 0,   scale = 1 / (1 - p)      (y OVERWRITTEN)
//   dx[i]   = keep[i / G] ? dy[i] * scale : 0                            (dx OVERWRITTEN)
// G = 1 for dropout (mask shaped like x), G = H * W for dropout2d on (N, C, H, W) (mask (N, C, 1, 1):
// a channel is kept or zeroed as a whole). The uniform draw for entry j depends only on
// (seed, offset, j) — core/philox.h — so the CPU and every CUDA thread produce the same mask for
// the same Generator state; the generator advances by the number of mask entries.
// p = 0 returns x with an all-true mask and p = 1 zeros with an all-false mask; neither draws.
// The product x * scale is computed in f32 for f32/f16/bf16 and in f64 for f64 (as the old
// rand + where formulation: a scalar is kept in f32).
//
// dtypes: CPU f32, f64, f16, bf16 (16-bit through f32 arithmetic, element by element); CUDA f32,
// f16, bf16. The mask is a bool tensor. Inputs are made contiguous by ops::.
#include <cstdint>
#include <utility>

#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::kernels {

struct DropoutParams {
    int64_t numel = 0;  // elements of x
    int64_t group = 1;  // elements per mask entry
    float keep_prob = 1.0f;
    double scale = 1.0;
    uint64_t seed = 0, offset = 0;
    int64_t mask_numel() const { return group > 0 ? numel / group : 0; }
};

void dropout_mask_cpu(const DropoutParams& p, bool* mask);
void dropout_mask_cuda(const DropoutParams& p, bool* mask, Stream s);
// y = mask ? x * scale : 0 (forward with x, backward with dy).
template <typename T>
void dropout_apply_cpu(const DropoutParams& p, const T* x, const bool* mask, T* y);
template <typename T>
void dropout_apply_cuda(const DropoutParams& p, const T* x, const bool* mask, T* y, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

// Returns {y, mask}. gen: nullptr = the default generator.
std::pair<Tensor, Tensor> dropout(const Tensor& x, double p, Generator* gen = nullptr);
// x (N, C, H, W); the mask is (N, C, 1, 1).
std::pair<Tensor, Tensor> dropout2d(const Tensor& x, double p, Generator* gen = nullptr);
// dx = mask ? dy / (1 - p) : 0; the mask is dy's shape (dropout) or (N, C, 1, 1) (dropout2d).
Tensor dropout_backward(const Tensor& dy, const Tensor& mask, double p);

}  // namespace segcore::ops
