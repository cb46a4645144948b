#pragma once
// Index arithmetic shared by the CPU convolution loops: which output positions a filter tap reaches
// inside the (unpadded) input, so inner loops run over a contiguous range with no bounds tests.
#include <algorithm>
#include <cstdint>

namespace segcore::kernels {

// The range [lo, hi] of output indices o with 0 <= o*stride - pad + off < size, where off is the
// tap's offset (r * dilation); lo > hi when the tap never lands inside. `out` is the output size.
inline void valid_range(int64_t size, int64_t out, int64_t stride, int64_t pad, int64_t off, int64_t& lo,
                        int64_t& hi) {
    const int64_t a = pad - off, b = size - 1 + pad - off;  // o*stride >= a and o*stride <= b
    lo = a <= 0 ? 0 : (a + stride - 1) / stride;
    hi = b < 0 ? -1 : std::min(out - 1, b / stride);
    if (lo > hi) lo = hi + 1;  // empty: keep [lo, hi] a well-formed empty range inside [0, out]
}

}  // namespace segcore::kernels
