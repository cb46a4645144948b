#pragma once
// Cutting a tensor along a dimension into views (narrow): nothing is copied, the pieces share
// x's storage, so writing into a piece writes into x.
//
//   split(x, split_size, dim): pieces of split_size along dim, the last one smaller if it does not
//                              divide; a dim of size 0 gives one empty piece.
//   split(x, sizes, dim):      pieces of the given sizes, which must sum to x.size(dim).
//   chunk(x, chunks, dim):     split(x, ceil(size / chunks), dim), as PyTorch: may return fewer than
//                              `chunks` pieces (chunk of 5 into 4 gives sizes 2, 2, 1); a dim of size 0
//                              gives `chunks` empty pieces (PyTorch's split_with_sizes rule).
//
// Round trip: concat(split(x, s, d), d) equals x.
#include <vector>

#include "core/tensor.h"

namespace segcore::ops {

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);

}  // namespace segcore::ops
