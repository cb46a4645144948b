#pragma once
// Joining tensors along a dimension.
//
//   concat(ts, dim): ts[i] (..., n_i, ...) -> (..., sum n_i, ...); every size but `dim` must agree.
//   stack(ts, dim):  ts[i] of one shape S -> S with a new dim of size ts.size() inserted at `dim`.
//
// Both return a new contiguous tensor (they copy; nothing is accumulated). Each input is copied
// into a narrow() view of the output with Tensor::copy_, so any dtype, either device and
// non-contiguous inputs work. Inputs share one dtype and one device; tensors with a zero size
// along `dim` are allowed when their other sizes match. dim may be negative (counted from the
// end; stack counts over the result's rank).
#include <vector>

#include "core/tensor.h"

namespace segcore::ops {

Tensor concat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);

}  // namespace segcore::ops
