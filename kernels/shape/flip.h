#pragma once
// flip: reverses a tensor along one dimension (torch.flip with a single dim). Test-time
// augmentation mirrors images and logits left-right with it (seg/inference/infer.h).
//
//   x viewed as contiguous (outer, len, inner), dim being the middle one:
//   y[o, i, j] = x[o, len - 1 - i, j]
//
// y is a new contiguous tensor, OVERWRITTEN. A flip moves bits and does no arithmetic, so the
// kernels are templated on the element SIZE (1, 2, 4 or 8 bytes) rather than the dtype: every
// dtype works on both backends, and flip(flip(x)) == x bit for bit. ops:: makes x contiguous.
//
// CUDA: one thread per output element (grid-stride); consecutive threads write consecutive
// elements and read consecutive (inner > 1) or reversed-consecutive (inner == 1) ones, so both
// sides stay coalesced.
#include <cstdint>

#include "core/stream.h"
#include "core/tensor.h"

namespace segcore::kernels {

struct FlipParams {
    int64_t outer = 1, len = 1, inner = 1;
};

// Word: uint8_t, uint16_t, uint32_t or uint64_t (the element size).
template <typename Word>
void flip_cpu(const FlipParams& p, const Word* x, Word* y);
template <typename Word>
void flip_cuda(const FlipParams& p, const Word* x, Word* y, Stream s);

}  // namespace segcore::kernels

namespace segcore::ops {

// dim may be negative (counted from the end). A 0-dim tensor is returned as a copy.
Tensor flip(const Tensor& x, int64_t dim);

}  // namespace segcore::ops
