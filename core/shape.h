#pragma once
// Shapes and strides are plain vectors of int64 (sizes and offsets are 64-bit everywhere).
// Strides count elements, not bytes.
#include <cstdint>
#include <string>
#include <vector>

namespace segcore {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

// The most dimensions a tensor may have; kernels keep fixed-size index arrays of this length.
inline constexpr int kMaxDims = 8;

int64_t shape_numel(const Shape& s);
Strides contiguous_strides(const Shape& s);
std::string shape_str(const Shape& s);  // "(2, 3, 4)"
// Wraps a possibly negative dim into [0, ndim); throws naming the op when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op = "dim");
// NumPy/PyTorch broadcasting: sizes are aligned from the right; 1 stretches.
Shape broadcast_shapes(const Shape& a, const Shape& b);

}  // namespace segcore
